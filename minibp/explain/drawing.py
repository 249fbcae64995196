"""draw: the network as the chapter's figures draw it, rendered with matplotlib (the ``plot``
extra). Where everything goes is decided by minibp.explain.diagram_layout.layout; this module
only paints that plan, so it imports matplotlib when it draws and never before.
"""

from __future__ import annotations

from pathlib import Path

from minibp.explain.diagram_layout import TITLE_SPACE, Layout, layout

__all__ = ["draw", "layout", "render", "DPI", "FORMATS"]

DPI = 100                                   # a PNG is figsize * DPI pixels, exactly
FORMATS = {".png": "png", ".svg": "svg"}    # the suffixes draw writes, and their format
FILL = {"input": "#d9f0d3", "hidden": "#d6e6f5", "output": "#fde0c5", "bias": "#eeeeee"}
COLORMAP = "viridis"                        # a sample's activations, over [min(0, lo), max(1, hi)]


def draw(model, path=None, *, weights: bool = True, gradients: bool = False, sample=None):
    """Draw ``model`` as the chapter does: neurons as circles in columns (inputs first), a
    bias unit "1" under every column but the last, the weights written on the edges.

    Parameters
    ----------
    model : Sequential
        Dense layers, and elementwise layers (Tanh(), ...) that join the column before them.
    path : str or Path, optional
        Where to save: a ``.png`` (DPI 100) or a ``.svg`` file, by its suffix; anything else
        is refused. None returns the Figure instead (not shown, not kept by pyplot).
    weights : bool, default True
        Write each edge's W or b entry, with 3 significant digits (0.15, 0.359, 1e-05).
    gradients : bool, default False
        Also (or, with weights=False, only) write its gradient dW or db as "∇0.0822";
        needs a backward first (model.gradients(X, Y, loss), or forward then backward),
        else RuntimeError.
    sample : array_like, optional
        One input row x, shape (in,) or (1, in): each circle is coloured by, and shows,
        that row's activation, from the layers' own forward (what predict computes).

    Columns wider than 8 show their first 4 and last 3 neurons around an ellipsis; edges
    join the drawn neurons only (docs/explain.md).

    Returns
    -------
    The Path written, or the matplotlib Figure when path is None.
    """
    suffix = _suffix(path)
    figure_class, colormaps = _matplotlib()
    figure = render(layout(model, weights=weights, gradients=gradients, sample=sample),
                    figure_class, colormaps)
    if path is None:
        return figure
    figure.savefig(path, format=FORMATS[suffix], dpi=DPI)
    return Path(path)


def render(plan: Layout, figure_class=None, colormaps=None):
    """The matplotlib Figure of a layout: one axes filling the figure, in inches."""
    if figure_class is None:
        figure_class, colormaps = _matplotlib()
    figure = figure_class(figsize=(plan.width, plan.height), dpi=DPI)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axes.set_xlim(0.0, plan.width)
    axes.set_ylim(0.0, plan.height)
    axes.set_axis_off()
    title_y = plan.height - 0.5 * TITLE_SPACE
    for column in plan.columns:
        axes.text(column.x, title_y, column.title, ha="center", va="center", fontsize=7)
    _edges(axes, plan)
    _circles(axes, plan, colormaps[COLORMAP])
    for gap in plan.gaps:
        axes.text(gap.x, gap.y, "⋮", ha="center", va="center", fontsize=16)
        axes.text(gap.x + 0.2, gap.y, gap.text, ha="left", va="center", fontsize=7,
                  color="#555555")
    return figure


def _edges(axes, plan: Layout) -> None:
    for edge in plan.edges:
        x0, y0, x1, y1 = edge.xy
        bias = edge.parameter.endswith(".b")
        axes.plot([x0, x1], [y0, y1], color="#9a9a9a" if bias else "#555555",
                  linewidth=0.8, linestyle="--" if bias else "-", zorder=1)
        if edge.label:
            axes.text(*edge.label_xy, edge.label, ha="center", va="center", fontsize=6.5,
                      zorder=3, bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                                      "edgecolor": "none", "alpha": 0.85})


def _circles(axes, plan: Layout, colormap) -> None:
    from matplotlib.patches import Circle

    values = [c.value for c in plan.circles if c.kind != "bias" and c.value is not None]
    low, high = min([0.0, *values]), max([1.0, *values])
    for circle in plan.circles:
        fill, ink = FILL[circle.kind], "black"
        if circle.kind != "bias" and circle.value is not None:
            fill = colormap((circle.value - low) / (high - low))
            ink = "black" if _luminance(fill) > 0.45 else "white"
        axes.add_patch(Circle((circle.x, circle.y), plan.radius, facecolor=fill,
                              edgecolor="#333333", linewidth=1.0, zorder=2))
        axes.text(circle.x, circle.y, circle.text, ha="center", va="center", zorder=4,
                  fontsize=7 if "\n" in circle.text else 8, color=ink)


def _luminance(rgba) -> float:
    red, green, blue = rgba[:3]
    return 0.299 * red + 0.587 * green + 0.114 * blue


def _suffix(path) -> str | None:
    if path is None:
        return None
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"minibp.explain.draw: path must end in .png or .svg, got "
                         f"{str(path)!r}; those are the formats it writes")
    return suffix


def _matplotlib():
    """matplotlib's Figure class and colormap registry, or an ImportError naming the extra.
    A bare Figure (not pyplot's) is never shown and never held by pyplot's figure list."""
    try:
        from matplotlib import colormaps
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("minibp.explain.draw needs matplotlib, which minibp installs with "
                          "the 'plot' extra: pip install 'minibp[plot]'") from None
    return Figure, colormaps
