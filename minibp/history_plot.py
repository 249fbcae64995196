"""History.plot: the training curves, drawn with matplotlib (the ``plot`` extra)."""

from __future__ import annotations


def plot_history(history, path=None):
    """One panel per quantity (loss, then each metric), the training curve and its val_ twin
    together; saved as a PNG at ``path`` when given. Returns the matplotlib Figure."""
    plt = _pyplot()
    names = [n for n in history.history if not n.startswith("val_")]
    extra = [n[4:] for n in history.history if n.startswith("val_") and n[4:] not in names]
    names += extra
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    for axis, name in zip(axes[0], names):
        for key, label in ((name, "training"), (f"val_{name}", "validation")):
            values = history.history.get(key)
            if values:
                axis.plot(history.epoch[:len(values)], values, label=label)
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.legend()
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, format="png")
    return figure


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("History.plot needs matplotlib, which minibp installs with the "
                          "'plot' extra: pip install 'minibp[plot]'") from None
    return plt
