"""What a Sequential prints about itself: the summary table and the chapter-style inspect."""

from __future__ import annotations


def summary_text(layers) -> str:
    """A table of layers, output shapes and parameter counts, then the totals."""
    rows = [("#", "layer", "output shape", "parameters")]
    total = frozen = 0
    for i, layer in enumerate(layers):
        count = sum(p.value.size for p in layer.parameters())
        n_frozen = sum(p.value.size for p in layer.parameters() if p.frozen)
        total, frozen = total + count, frozen + n_frozen
        note = f" ({n_frozen} frozen)" if n_frozen else ""
        rows.append((str(i), repr(layer), _output_shape_text(layers, i), f"{count}{note}"))
    widths = [max(len(row[c]) for row in rows) for c in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.append(f"Total parameters: {total} ({total - frozen} trainable, {frozen} frozen)")
    return "\n".join(lines)


def inspect_lines(layers) -> list[str]:
    """Every weight and bias, neuron by neuron, like the chapter's inspect()."""
    widths = (getattr(layer, "in_features", None) for layer in layers)
    lines = ["------", f"* Inputs: {next((w for w in widths if w is not None), '?')}"]
    for i, layer in enumerate(layers):
        lines += ["------", f"model[{i}] {layer!r}"]
        params = {p.name: p for p in layer.parameters()}
        if "W" not in params:
            continue
        lines.append(f"Neurons: {params['W'].value.shape[0]}")
        for j, row in enumerate(params["W"].value):
            lines.append(f" Neuron {j}")
            lines += [f"  Weight: {float(w)!r}" for w in row]
            if "b" in params:
                note = " (frozen)" if params["b"].frozen else ""
                lines.append(f"  Bias: {float(params['b'].value[j])!r}{note}")
    return lines + ["------"]


def _output_shape_text(layers, i: int) -> str:
    for layer in layers[i::-1]:
        width = getattr(layer, "out_features", None) or getattr(layer, "in_features", None)
        if width is not None:
            return f"(batch, {width})"
    return "(batch, ?)"
