"""The chapter's numbers, typed in once from ../shared/CHAPTER.md: the independent reference
that tests/test_chapter.py (the demo, the framework) and tests/explain/test_trace.py (the
trace) check minibp against, to 1e-12."""

# CHAPTER.md, "Values computed in float64 by the chapter's own algorithm".
GOLDEN = {
    "net_h1": 0.3775, "out_h1": 0.5932699921071872,
    "net_h2": 0.39249999999999996, "out_h2": 0.596884378259767,
    "net_o1": 1.10590596705977, "out_o1": 0.7513650695523157,
    "net_o2": 1.2249214040964653, "out_o2": 0.7729284653214625,
    "E_o1": 0.274811083176155, "E_o2": 0.023560025583847746, "E_total": 0.2983711087600027,
    "dE/dout_o1": 0.7413650695523157, "dout_o1/dnet_o1": 0.18681560180895948,
    "dE/dw5": 0.08216704056423078,
    "w5+": 0.35891647971788465, "w6+": 0.4086661860762334,
    "w7+": 0.5113012702387375, "w8+": 0.5613701211079891,
    "dE/dout_h1": 0.036350306393144675, "dout_h1/dnet_h1": 0.24130070857232525,
    "dE/dw1": 0.00043856773447434674,
    "w1+": 0.1497807161327628, "w2+": 0.19956143226552567,
    "w3+": 0.24975114363236958, "w4+": 0.29950228726473915,
    "E_total after 1 step": 0.29102777369359933,
    "E_total after 10,000 steps": 3.510187782978859e-05,
    "out_o1 after 10,000 steps": 0.01591362044355068,
    "out_o2 after 10,000 steps": 0.9840642735146238,
}
