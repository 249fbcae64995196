"""Where draw puts every circle, edge, label and ellipsis: pure Python over the model's own
arrays, no matplotlib, so the tests check the diagram's numbers, not its pixels. Inches.

Columns: the inputs, then one per Dense layer; a weightless elementwise layer (Tanh(), ...)
joins the column before it. Neurons are named as in the chapter: i1, i2 (inputs), h1, h2 (one
hidden layer; with several, h1_3 is neuron 3 of hidden layer 1), o1, o2 (outputs); each
column but the last has a bias unit b1, b2, ... (the constant 1) feeding the next. A column
of n > MAX_CIRCLES neurons shows its first HEAD and last TAIL around an ellipsis standing for
the other n - 7; edges join drawn neurons only. Numbers have DIGITS significant digits
(format(value, ".3g")): 0.15, 0.359, 0.000439, -1.23e+03.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from minibp.errors import ShapeError, as_numeric, check_finite, shown
from minibp.explain.diagram_labels import place

MAX_CIRCLES = 8     # a column never takes more slots than this ...
HEAD, TAIL = 4, 3   # ... so a wider one shows 4 neurons, an ellipsis, 3 neurons
DIGITS = 3          # significant digits of every number written on the diagram
GRADIENT_MARK = "∇"  # before a gradient on an edge: "∇0.0822" is dE/dw = 0.0822
# Multiples of 1/4 inch, exact in binary: the picture is exactly figsize * dpi pixels.
COLUMN_GAP, ROW_GAP, RADIUS = 2.5, 0.75, 0.25
MARGIN_X, MARGIN_Y, TITLE_SPACE = 1.0, 0.5, 0.75


@dataclass(frozen=True)
class Circle:
    """A neuron (index: its row in the layer, from 0) or a bias unit (index None)."""

    x: float
    y: float
    column: int
    index: int | None
    kind: str              # "input", "hidden", "output" or "bias"
    name: str              # "i1", "h2", "o1", "b1"
    value: float | None    # the sample's activation; 1.0 for a bias unit; None without one
    text: str              # written inside: the name, then the value when there is a sample


@dataclass(frozen=True)
class Edge:
    """One weight (W[index], index (j, i): into neuron j from i) or bias (b[index], (j,))."""

    source: str            # the circles' names
    target: str
    xy: tuple[float, float, float, float]  # x0, y0, x1, y1: source centre to target centre
    parameter: str         # "model[0].W" or "model[0].b"
    index: tuple[int, ...]
    weight: float
    gradient: float | None  # the matching dW or db entry when gradients were asked for
    label: str              # what is written on the edge ("" when nothing was asked for)
    label_xy: tuple[float, float]


@dataclass(frozen=True)
class Gap:
    """An ellipsis standing for the ``hidden`` neurons of a column that are not drawn."""

    x: float
    y: float
    column: int
    hidden: int
    text: str


@dataclass(frozen=True)
class Column:
    x: float
    title: str
    width: int                  # neurons in the layer
    shown: tuple[int, ...]      # the indices drawn


@dataclass
class Layout:
    """Everything draw renders. width, height: the figure's size in inches."""

    width: float
    height: float
    radius: float
    columns: list[Column] = field(default_factory=list)
    circles: list[Circle] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    def circle(self, name: str) -> Circle:
        return next(c for c in self.circles if c.name == name)

    def edge(self, source: str, target: str) -> Edge:
        return next(e for e in self.edges if e.source == source and e.target == target)


def number(value) -> str:
    """A value as written on the diagram: DIGITS significant digits."""
    return format(float(value), f".{DIGITS}g")


def shown_rows(width: int) -> list[int]:
    """The neurons drawn of a column of ``width``: all of them, or the first HEAD and last TAIL."""
    if width <= MAX_CIRCLES:
        return list(range(width))
    return [*range(HEAD), *range(width - TAIL, width)]


def layout(model, *, weights: bool = True, gradients: bool = False, sample=None) -> Layout:
    """The diagram of ``model`` (a Sequential of Dense and elementwise layers).

    Edge labels are the model's W and b entries (weights=True) and/or their gradients dW and
    db (gradients=True, after a backward). With ``sample`` (one input row, shape (in,) or
    (1, in)) each circle holds that row's activation, computed by the layers' own ``infer``.
    """
    who = "minibp.explain.draw"
    for name, flag in (("weights", weights), ("gradients", gradients)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{who}: {name} must be True or False, got {shown(flag)}")
    groups = _groups(model, who)
    if gradients:
        _check_gradients([g[0][1] for g in groups[1:]], who)
    values = _activations(groups, sample, who)
    widths = [groups[1][0][1].in_features] + [g[0][1].out_features for g in groups[1:]]
    slots = [min(w, MAX_CIRCLES) + (c < len(widths) - 1) for c, w in enumerate(widths)]  # + bias
    height = TITLE_SPACE + 2 * MARGIN_Y + (max(slots) - 1) * ROW_GAP
    plan = Layout(2 * MARGIN_X + (len(widths) - 1) * COLUMN_GAP, height, RADIUS)
    middle = MARGIN_Y + (max(slots) - 1) * ROW_GAP / 2
    for c, width in enumerate(widths):
        _place_column(plan, c, width, groups[c], values[c], len(widths), middle, slots[c])
    for c in range(1, len(widths)):
        _connect(plan, c, groups[c][0], weights, gradients)
    return plan


def _groups(model, who: str) -> list[list[tuple[int, object]]]:
    """The layers by column: [leading weightless layers], then [Dense, weightless after it]."""
    layers = getattr(model, "layers", None)
    if not isinstance(layers, list):
        raise TypeError(f"{who}: model must be a minibp Sequential, got {shown(model)}")
    groups: list[list] = [[]]
    for i, layer in enumerate(layers):
        if isinstance(getattr(layer, "W", None), np.ndarray) and np.ndim(layer.W) == 2:
            groups.append([(i, layer)])
        elif layer.parameters() or getattr(layer, "out_features", None) is not None:
            raise TypeError(f"{who}: model[{i}] {layer!r} is neither a Dense layer nor an "
                            "elementwise one; the diagram draws only those")
        else:
            groups[-1].append((i, layer))
    if len(groups) == 1:
        raise ValueError(f"{who}: the model has no Dense layer, so no neurons to draw")
    return groups


def _check_gradients(denses, who: str) -> None:
    """Refuse gradients=True when no backward has run: every dW and db still all zeros."""
    if all(getattr(d, "dZ", None) is None and not (d.dW.any() or d.db.any()) for d in denses):
        raise RuntimeError(f"{who}: gradients=True, but no backward has run on this model "
                           "(every dW and db is still zero); call model.gradients(X, Y, "
                           "loss), or model.forward(X) then model.backward(dA), first")


def _activations(groups, sample, who: str) -> list[np.ndarray | None]:
    """Per column, the sample's activations (n,), each layer's infer applied in turn."""
    if sample is None:
        return [None] * len(groups)
    width = groups[1][0][1].in_features
    A = as_numeric(sample, "sample", who)
    if A.shape not in ((width,), (1, width)):
        raise ShapeError(f"{who}: sample must be one input row, shape ({width},) or "
                         f"(1, {width}), got {A.shape}; pass one row, e.g. X[0]")
    check_finite(A, "sample", who)
    A = A.reshape(1, width).astype(np.float64, copy=False)
    values = []
    for group in groups:
        for _, layer in group:
            A = layer.infer(A) if hasattr(layer, "infer") else layer.forward(A)
        values.append(A[0])
    return values


def _title(c: int, group, width: int) -> str:
    if c == 0:
        return f"inputs ({width})"
    return "\n".join(f"{'' if k == 0 else '+ '}model[{i}] {layer!r}"
                     for k, (i, layer) in enumerate(group))


def _kind_and_prefix(c: int, count: int) -> tuple[str, str]:
    if c == 0:
        return "input", "i"
    if c == count - 1:
        return "output", "o"
    return "hidden", "h" if count == 3 else f"h{c}_"


def _place_column(plan, c, width, group, values, count, middle, slots) -> None:
    """The column's title, circles, ellipsis and bias unit, centred on ``middle``."""
    x = MARGIN_X + c * COLUMN_GAP
    shown_ = shown_rows(width)
    plan.columns.append(Column(x, _title(c, group, width), width, tuple(shown_)))
    kind, prefix = _kind_and_prefix(c, count)
    top = middle + (slots - 1) * ROW_GAP / 2
    slot = 0
    for k, index in enumerate(shown_):
        if k == HEAD and width > MAX_CIRCLES:  # the ellipsis takes the slot after the head
            hidden = width - HEAD - TAIL
            plan.gaps.append(Gap(x, top - slot * ROW_GAP, c, hidden, f"{hidden} more"))
            slot += 1
        name = f"{prefix}{index + 1}"
        value = None if values is None else float(values[index])
        text = name if value is None else f"{name}\n{number(value)}"
        plan.circles.append(Circle(x, top - slot * ROW_GAP, c, index, kind, name, value, text))
        slot += 1
    if c < count - 1:
        plan.circles.append(Circle(x, top - slot * ROW_GAP, c, None, "bias", f"b{c + 1}",
                                   1.0, "1"))


def _connect(plan, c, entry, weights, gradients) -> None:
    """Edges into column c from column c - 1's drawn neurons and its bias unit, labelled."""
    position, dense = entry
    sources = [s for s in plan.circles if s.column == c - 1]  # neurons, then the bias unit
    targets = [t for t in plan.circles if t.column == c and t.kind != "bias"]
    # The preferred place of a label, (source rank - target rank) mod k of k places: the
    # labels leaving one circle, or reaching one, then start apart (diagram_labels).
    k = max(len(sources), len(targets))
    found = []
    for s_rank, source in enumerate(sources):
        for t_rank, target in enumerate(targets):
            j = target.index
            if source.index is None:
                name, index, value, grad = "b", (j,), dense.b[j], dense.db[j]
            else:
                name, index = "W", (j, source.index)
                value, grad = dense.W[index], dense.dW[index]
            parts = ([number(value)] if weights else []) + (
                [GRADIENT_MARK + number(grad)] if gradients else [])
            found.append((source, target, name, index, float(value),
                          float(grad) if gradients else None, "\n".join(parts),
                          0.2 + 0.6 * ((s_rank - t_rank) % k) / k))
    segments = [(s.x, s.y, t.x, t.y) for s, t, *_ in found]
    circles = [(x.x, x.y, 2 * plan.radius, 2 * plan.radius) for x in [*sources, *targets]]
    centres = place(segments, [f[6] for f in found], [f[7] for f in found], circles)
    for (source, target, name, index, value, grad, label, _), segment, centre in zip(
            found, segments, centres):
        plan.edges.append(Edge(source.name, target.name, segment, f"model[{position}].{name}",
                               index, value, grad, label, centre))
