"""History.plot and History.plot_diagnostics, drawn with matplotlib (the ``plot`` extra)."""

from __future__ import annotations

import re
from pathlib import Path

# what minibp.explain.Diagnostics records, "model[i].<figure>": title and y scale of each
DIAGNOSTIC = re.compile(r"^model\[(\d+)\]\.(\w+)$")
PANELS = {
    "grad_norm": ("gradient norm on the probe batch", "log"),
    "update_ratio": ("epoch's update / weight norm", "log"),
    "saturated": ("saturated units (sigmoid, tanh)", "fraction"),
    "dead": ("dead units (relu)", "fraction"),
}


def plot_history(history, path=None):
    """One panel per quantity (loss, then each metric), the training curve and its val_ twin
    together; saved as a PNG at ``path`` when given. Returns the matplotlib Figure.
    Diagnostics' per-layer figures are left to plot_diagnostics."""
    plt = _pyplot()
    curves = [n for n in history.history if not DIAGNOSTIC.match(n)]
    names = [n for n in curves if not n.startswith("val_")]
    extra = [n[4:] for n in curves if n.startswith("val_") and n[4:] not in names]
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


def plot_diagnostics(history, path=None):
    """One panel per figure Diagnostics recorded (gradient norm, update ratio, saturated,
    dead), one line per layer against the epoch; saved at ``path`` when given, as SVG when
    its suffix is .svg and as PNG otherwise. Returns the matplotlib Figure."""
    layers: dict[str, list[str]] = {}       # figure -> its keys, in layer order
    for key in history.history:
        found = DIAGNOSTIC.match(key)
        if found:
            layers.setdefault(found.group(2), []).append(key)
    if not layers:
        raise ValueError("History.plot_diagnostics: this History has no diagnostics; fit "
                         "with callbacks=[minibp.explain.Diagnostics()] to record them")
    plt = _pyplot()
    kinds = [k for k in PANELS if k in layers] + [k for k in layers if k not in PANELS]
    figure, axes = plt.subplots(1, len(kinds), figsize=(4.5 * len(kinds), 3.5),
                                squeeze=False)
    for axis, kind in zip(axes[0], kinds):
        title, scale = PANELS.get(kind, (kind, "linear"))
        for key in layers[kind]:
            values = history.history[key]
            axis.plot(history.epoch[:len(values)], values, label=key.split(".")[0])
        if scale == "log":
            _log_with_zero(axis, [history.history[key] for key in layers[kind]])
        elif scale == "fraction":
            axis.set_ylim(-0.05, 1.05)      # of a layer's units
        axis.set_xlabel("epoch")
        axis.set_title(title)
        axis.legend()
    figure.tight_layout()
    if path is not None:
        suffix = Path(path).suffix.lower()
        figure.savefig(path, format="svg" if suffix == ".svg" else "png")
    return figure


def _log_with_zero(axis, columns) -> None:
    """A log scale that still shows 0 (a dead layer's gradient): symlog, linear below the
    smallest positive value."""
    positive = [v for values in columns for v in values if v > 0]
    if positive:
        axis.set_yscale("symlog", linthresh=min(positive), linscale=0.5)


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("History.plot needs matplotlib, which minibp installs with the "
                          "'plot' extra: pip install 'minibp[plot]'") from None
    return plt
