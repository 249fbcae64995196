"""Trace.check(): the chain rule recomputed from a trace's factors, against what backward
wrote. A learner's sanity check that the factors shown multiply to the gradients used.

Checked, for every neuron, parameter and hidden layer:

    dE/dnet = dE/dout * dout/dnet                       against backward's dZ[0, j]
    dE/dw   = dE/dout * dout/dnet * dnet/dw             against backward's dW[j, k] (db[j])
    dnet/dw = the output (or input) the weight reads    against the previous layer's out
    dE/dout = sum over the next layer's neurons k of dE/dnet_k * w_kj
                                                        against what backward brought there
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ULPS = 256  # products of three factors and sums in another order: a few ulps apart, not 256


@dataclass
class TraceCheck:
    """The result of Trace.check(): true when every recomputed value agrees with backward.

    ``failures`` names each quantity that does not, with both values; ``checked`` counts
    the comparisons made.
    """

    rtol: float
    checked: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            return (f"trace check passed: {self.checked} products and sums agree with "
                    f"backward (rtol {self.rtol:.3g})")
        return "\n".join([f"trace check FAILED: {len(self.failures)} of {self.checked} "
                          f"disagree with backward (rtol {self.rtol:.3g}):",
                          *(f"  {failure}" for failure in self.failures)])

    def compare(self, name: str, recomputed: float, recorded: float, how: str, where: str,
                scale: float | None = None) -> None:
        """Count one comparison; a failure when |recomputed - recorded| > rtol * scale
        (scale: the larger magnitude of the two, or the sum of a sum's |terms|)."""
        self.checked += 1
        scale = max(abs(recomputed), abs(recorded)) if scale is None else scale
        if not abs(recomputed - recorded) <= self.rtol * scale:  # NaN fails too
            self.failures.append(f"{name}: {where} is {recorded!r}, but {how} gives "
                                 f"{recomputed!r}")


def check_trace(trace, rtol: float | None = None) -> TraceCheck:
    """Every comparison of the module docstring over ``trace``."""
    if rtol is None:
        rtol = ULPS * float(np.finfo(np.dtype(trace.dtype)).eps)
    report = TraceCheck(rtol)
    for s, layer in enumerate(trace.layers):
        before = trace.inputs if s == 0 else [n.out for n in trace.layers[s - 1].neurons]
        before_names = (trace.input_names if s == 0
                        else [n.out_name for n in trace.layers[s - 1].neurons])
        _check_neurons(report, layer)
        _check_parameters(report, layer, before, before_names)
        if s + 1 < len(trace.layers):
            _check_sums(report, layer, trace.layers[s + 1])
    return report


def _check_neurons(report: TraceCheck, layer) -> None:
    for n in layer.neurons:
        report.compare(f"dE/d{n.net_name}", n.dE_dout * n.dout_dnet, n.dE_dnet,
                       f"dE/d{n.out_name} * d{n.out_name}/d{n.net_name}", "backward's dZ")


def _check_parameters(report: TraceCheck, layer, before: list[float],
                      before_names: list[str]) -> None:
    for index, p in enumerate(layer.parameters):
        n = layer.neurons[p.neuron]
        report.compare(f"dE/d{p.name}", n.dE_dout * n.dout_dnet * p.dnet_dparam, p.gradient,
                       f"dE/d{n.out_name} * d{n.out_name}/d{n.net_name} * d{n.net_name}/d{p.name}",
                       f"backward's {_gradient_place(p.place)}")
        if p.is_weight:
            k = index % len(before)
            report.compare(f"d{n.net_name}/d{p.name}", before[k], p.dnet_dparam,
                           f"{before_names[k]} (what {p.name} multiplies)", "the layer's X")


def _check_sums(report: TraceCheck, layer, after) -> None:
    for j, n in enumerate(layer.neurons):
        terms = [m.dE_dnet * after.weight(k, j).value for k, m in enumerate(after.neurons)]
        report.compare(f"dE/d{n.out_name}", sum(terms), n.dE_dout,
                       f"the sum over {after.position}'s neurons of dE/dnet * w",
                       "the gradient backward brought there",
                       scale=sum(abs(t) for t in terms))


def _gradient_place(place: str) -> str:
    """model[1].W[0, 2] -> model[1].dW[0, 2]; model[1].b[0] -> model[1].db[0]."""
    return place.replace(".W[", ".dW[").replace(".b[", ".db[")
