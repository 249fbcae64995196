"""Gradient checking: every gradient backward computes, against central differences.

The public function is ``minibp.gradcheck`` (this package is named check, not gradcheck, so
that the function does not shadow it). It works through the public layer protocol only:
forward, backward, parameters, astype where a layer has it, and gradcheck_kinks where a
layer's derivative jumps.

- ``checker``: gradcheck and gradcheck_sweep, modes, tolerances, culprits.
- ``target``: the float64 copy of what is checked, and its tensors.
- ``scalar``: the scalar s differentiated, the decoy pass, kinks.
- ``differences``: central and directional differences.
- ``report`` and ``report_text``: what was found, and its text.
"""

from minibp.check.checker import gradcheck, gradcheck_sweep
from minibp.check.report import EpsSweep, GradcheckError, GradcheckReport, TensorCheck

__all__ = ["gradcheck", "gradcheck_sweep", "GradcheckReport", "GradcheckError", "TensorCheck",
           "EpsSweep"]
