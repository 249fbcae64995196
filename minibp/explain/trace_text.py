"""A trace as text and as Markdown: the chapter's walk-through, section by section.

Each section (forward; backward through each layer, output first; the update) is a list of
rows (name, formula, value, note). In the chapter's notation the formula shows how the value
is made (``dE/dw5 = dE/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5``); in the index notation of
larger networks it is left out. Every value shown is the framework's own (backward's dW for
dE/dw5), never the trace's recomputation, which only Trace.check() uses.
"""

from __future__ import annotations

from minibp.explain.trace_records import term_name

SLOPES = {"sigmoid": "{out} * (1 - {out})", "tanh": "1 - {out}^2",
          "relu": "1 if {out} > 0 else 0"}


def as_text(trace, limit: int | None) -> str:
    lines = _header(trace, limit)
    for title, rows in sections(trace, limit):
        lines += ["", title]
        for name, formula, value, note in rows:
            if value is None:
                lines.append(f"  {note}")
                continue
            shown = f"{name} = {formula} = {value!r}" if formula else f"{name} = {value!r}"
            lines.append(f"  {shown}  ({note})" if note else f"  {shown}")
    return "\n".join(lines)


def as_markdown(trace, limit: int | None) -> str:
    header = _header(trace, limit)
    lines = [f"### {header[0]}", "", *(f"{line}  " for line in header[1:])]
    for title, rows in sections(trace, limit):
        lines += ["", f"#### {title}", "", "| quantity | = | value | note |",
                  "| --- | --- | --- | --- |"]
        for name, formula, value, note in rows:
            cells = (f"`{name}`" if name else "", f"`{formula}`" if formula else "",
                     "" if value is None else repr(value), note)
            lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


def named_values(trace) -> dict[str, float]:
    """Every named value of every section (no limit), the inputs and the parameters."""
    values = dict(zip(trace.input_names, trace.inputs))
    for layer in trace.layers:
        values.update((p.name, p.value) for p in layer.parameters)
    for _, rows in sections(trace, None):
        values.update((name, value) for name, _, value, _ in rows if value is not None)
    return values


def sections(trace, limit: int | None) -> list[tuple[str, list[tuple]]]:
    chapter = trace.notation == "chapter"
    found = [("Forward", _forward(trace, limit, chapter))]
    for s in reversed(range(len(trace.layers))):
        found.append((_backward_title(trace, s), _backward(trace, s, limit, chapter)))
    if trace.optimizer is not None:
        found.append((f"Update: {trace.optimizer}", _updates(trace, limit)))
    return found


def _header(trace, limit) -> list[str]:
    widths = [len(trace.inputs)] + [len(layer.neurons) for layer in trace.layers]
    layers = ", ".join(f"{layer.position} {layer.description}" for layer in trace.layers)
    notation = ("the chapter's notation: inputs i, hidden h, outputs o, weights w1, w2, ... "
                "row by row" if trace.notation == "chapter" else "index notation: Z is net, A is "
                "out, model[i][j] is neuron j of model[i]")
    optimizer = f"; optimizer {trace.optimizer}" if trace.optimizer else ""
    inputs = _cut([f"{n} = {v!r}" for n, v in zip(trace.input_names, trace.inputs)], limit)
    targets = _cut([repr(t) for t in trace.targets], limit)
    return [f"Trace of one sample through {'-'.join(map(str, widths))}: {layers}",
            f"Loss {trace.loss}{optimizer}; {notation}",
            f"Inputs {', '.join(inputs)}; targets {', '.join(targets)}"]


def _forward(trace, limit, chapter: bool) -> list[tuple]:
    rows = []
    for layer in trace.layers:
        for j, n in _limited(layer.neurons, limit, rows, f"neurons in {layer.position}"):
            parts = [p for p in layer.parameters if p.neuron == j]
            net = " + ".join(f"{p.name}*{p.source}" if p.is_weight else p.name for p in parts)
            rows.append((n.net_name, net if chapter else "", n.net, ""))
            one = chapter and "," not in layer.activation  # "relu, then sigmoid": no formula
            rows.append((n.out_name, f"{layer.activation}({n.net_name})" if one else "", n.out,
                         ""))
    outputs = trace.layers[-1].neurons
    for _, (n, target) in _limited(list(zip(outputs, trace.targets)), limit, rows,
                                   "loss terms"):
        if n.loss is not None:
            rows.append((n.loss_name, "", n.loss, f"target {target!r}"))
    rows.append(("E_total", _total_formula(trace) if chapter else "", trace.loss_total,
                 trace.loss))
    return rows


def _total_formula(trace) -> str:
    """E_o1 + E_o2 when E_total is the sum of the terms, (E_o1 + E_o2) / 2 for their mean."""
    neurons = trace.layers[-1].neurons
    if any(n.loss is None for n in neurons):
        return ""
    total, names = sum(n.loss for n in neurons), " + ".join(n.loss_name for n in neurons)
    if abs(total - trace.loss_total) <= 1e-12 * abs(total):
        return names
    if abs(total / len(neurons) - trace.loss_total) <= 1e-12 * abs(total):
        return f"({names}) / {len(neurons)}"
    return ""


def _backward_title(trace, s: int) -> str:
    layer = trace.layers[s]
    role = "output layer" if s == len(trace.layers) - 1 else "hidden layer"
    return f"Backward, {role} {layer.position} {layer.description}"


def _backward(trace, s: int, limit, chapter: bool) -> list[tuple]:
    layer, rows = trace.layers[s], []
    how = (lambda text: text) if chapter else (lambda text: "")
    for j, n in _limited(layer.neurons, limit, rows, f"neurons in {layer.position}"):
        out, net = n.out_name, n.net_name
        if n.terms is None:
            rows.append((f"dE/d{out}", "", n.dE_dout, "from the loss's backward"))
        else:
            rows += _sum_rows(trace.layers[s + 1], j, n, limit, how)
        slope = SLOPES.get(layer.activation, "").format(out=out)
        rows.append((f"d{out}/d{net}", how(slope), n.dout_dnet, ""))
        rows.append((f"dE/d{net}", how(f"dE/d{out} * d{out}/d{net}"), n.dE_dnet, "delta"))
        parts = [p for p in layer.parameters if p.neuron == j]
        for _, p in _limited(parts, limit, rows, f"parameters of {n.name}"):
            rows += _parameter_rows(n, p, how)
    return rows


def _sum_rows(after, j: int, n, limit, how) -> list[tuple]:
    """A hidden neuron's dE/dout: each term through the next layer, then their sum."""
    rows = []
    for k, (m, term) in _limited(list(zip(after.neurons, n.terms)), limit, rows, "terms"):
        rows.append((term_name(m, n), how(f"dE/d{m.net_name} * {after.weight(k, j).name}"),
                     term, ""))
    rows.append((f"dE/d{n.out_name}", how(" + ".join(term_name(m, n) for m in after.neurons)),
                 n.dE_dout, "" if how("chapter") else f"sum over {after.position}"))
    return rows


def _parameter_rows(n, p, how) -> list[tuple]:
    """dnet/dw (weights only) and dE/dw for one parameter of neuron n."""
    out, net = n.out_name, n.net_name
    frozen = "frozen" if p.frozen else ""
    if not p.is_weight:
        return [(f"dE/d{p.name}", how(f"dE/d{net} * 1"), p.gradient, frozen)]
    return [(f"d{net}/d{p.name}", how(p.source), p.dnet_dparam, ""),
            (f"dE/d{p.name}", how(f"dE/d{out} * d{out}/d{net} * d{net}/d{p.name}"),
             p.gradient, frozen)]


def _updates(trace, limit) -> list[tuple]:
    rows = []
    for layer in trace.layers:
        for _, p in _limited(layer.parameters, limit, rows, f"parameters in {layer.position}"):
            rows.append((f"{p.name}+", "", p.updated, "frozen: unchanged" if p.frozen else ""))
    rows.append(("E_total+", "", trace.loss_after, "E_total after the step, same sample"))
    return rows


def _limited(items: list, limit: int | None, rows: list, what: str):
    """enumerate(items[:limit]), then a "... N more" row in ``rows`` for the rest."""
    yield from enumerate(items if limit is None else items[:limit])
    if limit is not None and len(items) > limit:
        rows.append(("", "", None, f"... {len(items) - limit} more {what} (trace.to_dict() "
                     "has every value)"))


def _cut(texts: list[str], limit: int | None) -> list[str]:
    if limit is None or len(texts) <= limit:
        return texts
    return texts[:limit] + [f"... {len(texts) - limit} more"]
