"""minibp.explain.draw and its layout, against the chapter's numbers typed in by hand and
plain NumPy written here; pictures are checked as files (header, size, XML), not pixels."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from blocked_imports import block_imports  # tests/support

import minibp
from minibp.errors import ShapeError
from minibp.explain.diagram_layout import layout
from minibp.nn import Dense, Tanh

ROOT = Path(__file__).resolve().parents[2]
# The chapter's figure: each edge and the value written on it (w1..w8, b1 = 0.35, b2 = 0.60).
CHAPTER_EDGES = {
    ("i1", "h1"): "0.15", ("i2", "h1"): "0.2", ("i1", "h2"): "0.25", ("i2", "h2"): "0.3",
    ("h1", "o1"): "0.4", ("h2", "o1"): "0.45", ("h1", "o2"): "0.5", ("h2", "o2"): "0.55",
    ("b1", "h1"): "0.35", ("b1", "h2"): "0.35", ("b2", "o1"): "0.6", ("b2", "o2"): "0.6",
}


def chapter_with_gradients():
    model = minibp.examples.chapter_network()
    X, Y = minibp.examples.chapter_data()
    model.gradients(X, Y, minibp.SquaredError(), engine="numpy")
    return model


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


# -- layout: the numbers on the diagram ------------------------------------------------------
def test_chapter_layout_has_the_figures_circles_and_weights():
    plan = layout(minibp.examples.chapter_network())
    assert [c.name for c in plan.circles] == ["i1", "i2", "b1", "h1", "h2", "b2", "o1", "o2"]
    assert [c.kind for c in plan.circles] == ["input", "input", "bias", "hidden", "hidden",
                                              "bias", "output", "output"]
    assert {(e.source, e.target): e.label for e in plan.edges} == CHAPTER_EDGES
    w3 = plan.edge("i1", "h2")  # into h2 from i1: W[1, 0]
    assert (w3.parameter, w3.index, w3.weight) == ("model[0].W", (1, 0), 0.25)
    assert plan.edge("b2", "o1").parameter == "model[1].b"
    assert [c.text for c in plan.circles if c.kind == "bias"] == ["1", "1"]
    assert plan.circle("i1").x < plan.circle("h1").x < plan.circle("o1").x
    assert plan.circle("i1").y > plan.circle("i2").y > plan.circle("b1").y  # inputs first


def test_every_label_lies_on_its_edge_away_from_the_circles():
    plan = layout(chapter_with_gradients(), gradients=True)
    for edge in plan.edges:
        x0, y0, x1, y1 = edge.xy
        x, y = edge.label_xy
        along = (x - x0) / (x1 - x0)
        assert 0.1 < along < 0.9 and y == pytest.approx(y0 + along * (y1 - y0))
    assert len({e.label_xy for e in plan.edges}) == len(plan.edges)


def test_labels_are_rounded_to_three_significant_digits():
    dense = Dense(2, 2, W=[[0.123456, -1234.5], [1e-5, 2.0]], b=[0.99951, -0.0])
    plan = layout(minibp.Sequential(dense))
    labels = {(e.source, e.target): e.label for e in plan.edges}
    assert labels == {("i1", "o1"): "0.123", ("i2", "o1"): "-1.23e+03", ("i1", "o2"): "1e-05",
                      ("i2", "o2"): "2", ("b1", "o1"): "1", ("b1", "o2"): "-0"}
    assert plan.edge("i2", "o1").weight == -1234.5  # the value itself stays exact


def test_gradients_on_the_edges_are_the_chapters_dE_dw():
    model = chapter_with_gradients()
    plan = layout(model, weights=False, gradients=True)
    w5, w1 = plan.edge("h1", "o1"), plan.edge("i1", "h1")
    assert w5.gradient == pytest.approx(0.08216704056423078, abs=1e-12)
    assert w1.gradient == pytest.approx(0.00043856773447434674, abs=1e-12)
    assert (w5.label, w1.label) == ("∇0.0822", "∇0.000439")
    both = layout(model, gradients=True)
    assert both.edge("h1", "o1").label == "0.4\n∇0.0822"
    for edge in both.edges:  # every gradient is the layer's own dW or db entry
        layer = model[int(edge.parameter[6])]
        grads = layer.dW if edge.parameter.endswith(".W") else layer.db
        assert edge.gradient == grads[edge.index]


def test_no_labels_when_neither_weights_nor_gradients():
    plan = layout(minibp.examples.chapter_network(), weights=False)
    assert len(plan.edges) == 12 and {e.label for e in plan.edges} == {""}


def test_gradients_before_any_backward_are_refused():
    with pytest.raises(RuntimeError, match="no backward has run"):
        layout(minibp.examples.chapter_network(), gradients=True)


def test_sample_activations_are_the_chapters_forward_values():
    model = minibp.examples.chapter_network()
    X, _ = minibp.examples.chapter_data()
    plan = layout(model, sample=X[0])
    expected = {"i1": 0.05, "i2": 0.10, "h1": 0.5932699921071872, "h2": 0.596884378259767,
                "o1": 0.7513650695523157, "o2": 0.7729284653214625}
    for name, value in expected.items():
        assert plan.circle(name).value == pytest.approx(value, abs=1e-12)
    outputs = [plan.circle("o1").value, plan.circle("o2").value]
    np.testing.assert_allclose(outputs, model.predict(X, engine="numpy")[0], rtol=0, atol=1e-12)
    assert plan.circle("h1").text == "h1\n0.593"
    assert layout(model, sample=X).circle("o2").value == plan.circle("o2").value  # (1, 2) too
    assert model[0].A is None  # drawing a sample keeps nothing in the layers


def test_sample_through_an_activation_layer_matches_plain_numpy():
    rng = np.random.default_rng(3)
    first, second = Dense(3, 4, seed=1), Dense(4, 2, "sigmoid", seed=2)
    model = minibp.Sequential(first, Tanh(), second)
    x = rng.normal(size=3)
    plan = layout(model, sample=x)
    hidden = np.tanh(first.W @ x + first.b)  # Tanh() joins model[0]'s column
    out = 1.0 / (1.0 + np.exp(-(second.W @ hidden + second.b)))
    assert [c.name for c in plan.circles if c.kind == "hidden"] == ["h1", "h2", "h3", "h4"]
    np.testing.assert_allclose([plan.circle(f"h{k}").value for k in (1, 2, 3, 4)], hidden,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose([plan.circle("o1").value, plan.circle("o2").value], out,
                               rtol=0, atol=1e-12)
    assert plan.columns[1].title == "model[0] Dense(3 -> 4)\n+ model[1] Tanh()"


def test_wide_columns_show_four_an_ellipsis_and_three():
    model = minibp.mlp([20, 9, 8, 3], "tanh", "sigmoid", seed=0)
    x = np.linspace(-1.0, 1.0, 20)
    plan = layout(model, sample=x)
    assert [c.shown for c in plan.columns] == [(0, 1, 2, 3, 17, 18, 19),
                                               (0, 1, 2, 3, 6, 7, 8), tuple(range(8)), (0, 1, 2)]
    assert [(g.column, g.hidden, g.text) for g in plan.gaps] == [(0, 13, "13 more"),
                                                                 (1, 2, "2 more")]
    names = [c.name for c in plan.circles if c.column == 0]
    assert names == ["i1", "i2", "i3", "i4", "i18", "i19", "i20", "b1"]
    gap = plan.gaps[0]
    assert plan.circle("i4").y > gap.y > plan.circle("i18").y and gap.x == plan.circle("i4").x
    # edges join drawn neurons only: (7 + bias) * 7, (7 + bias) * 8, (8 + bias) * 3
    assert len(plan.edges) == 8 * 7 + 8 * 8 + 9 * 3
    for edge in plan.edges:
        layer = model[int(edge.parameter[6])]
        value = layer.W[edge.index] if edge.parameter.endswith(".W") else layer.b[edge.index]
        assert edge.label == format(value, ".3g") and edge.weight == value
    assert plan.edge("i18", "h1_9").index == (8, 17)
    hidden = np.tanh(model[0].W @ x + model[0].b)
    assert plan.circle("h1_9").value == pytest.approx(hidden[8], abs=1e-12)
    assert plan.circle("i18").value == x[17]


def test_a_column_of_exactly_eight_is_drawn_whole():
    plan = layout(minibp.mlp([8, 9], seed=0))
    assert [len(c.shown) for c in plan.columns] == [8, 7] and len(plan.gaps) == 1


@pytest.mark.parametrize("kwargs, error, words", [
    ({"sample": [[0.1, 0.2], [0.3, 0.4]]}, ShapeError, "one input row, shape (2,) or (1, 2)"),
    ({"sample": [0.1, 0.2, 0.3]}, ShapeError, "got (3,)"),
    ({"sample": [0.1, float("nan")]}, ValueError, "NaN"),
    ({"weights": "yes"}, TypeError, "weights must be True or False"),
])
def test_bad_arguments_are_refused_with_what_came(kwargs, error, words):
    with pytest.raises(error) as caught:
        layout(minibp.examples.chapter_network(), **kwargs)
    assert words in str(caught.value)


def test_models_it_cannot_draw_are_refused():
    with pytest.raises(TypeError, match="must be a minibp Sequential"):
        layout([Dense(2, 2)])
    with pytest.raises(ValueError, match="no Dense layer"):
        layout(minibp.Sequential(Tanh()))


# -- rendering: files and figures ------------------------------------------------------------
def test_draw_writes_a_png_of_figsize_times_dpi(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "chapter.png"
    assert minibp.explain.draw(minibp.examples.chapter_network(), path) == path
    plan = layout(minibp.examples.chapter_network())
    assert png_size(path) == (round(plan.width * 100), round(plan.height * 100)) == (700, 325)
    import matplotlib.image

    assert matplotlib.image.imread(path).shape[:2] == (325, 700)


def test_draw_writes_an_svg_with_the_figures_size_in_points(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "chapter.SVG"
    minibp.explain.draw(chapter_with_gradients(), path, gradients=True, sample=[0.05, 0.1])
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert (root.get("width"), root.get("height")) == ("504pt", "234pt")  # 7 x 3.25 inches


def test_without_a_path_draw_returns_the_figure_with_the_labels_written():
    pytest.importorskip("matplotlib")
    figure = minibp.explain.draw(minibp.examples.chapter_network(), sample=[0.05, 0.1])
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert set(CHAPTER_EDGES.values()) <= set(texts) and "o1\n0.751" in texts
    assert tuple(figure.get_size_inches()) == (7.0, 3.25)


def test_other_suffixes_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"must end in \.png or \.svg, got '.*net\.pdf'"):
        minibp.explain.draw(minibp.examples.chapter_network(), tmp_path / "net.pdf")
    assert not (tmp_path / "net.pdf").exists()


def test_draw_without_matplotlib_names_the_extra(monkeypatch):
    block_imports(monkeypatch, "matplotlib")
    with pytest.raises(ImportError, match=r"pip install 'minibp\[plot\]'"):
        minibp.explain.draw(minibp.examples.chapter_network())


def test_importing_minibp_and_draw_does_not_import_matplotlib():
    code = ("import sys, minibp; minibp.explain.draw; "
            "from minibp.explain.diagram_layout import layout; "
            "layout(minibp.examples.chapter_network()); print('matplotlib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip() == "False"


def test_the_docs_picture_script_writes_the_committed_picture(tmp_path):
    pytest.importorskip("matplotlib")
    script = ROOT / "docs" / "examples" / "draw_chapter.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True,
                   capture_output=True, cwd=tmp_path)
    fresh, committed = tmp_path / "explain_chapter.png", ROOT / "docs" / "explain_chapter.png"
    assert png_size(fresh) == png_size(committed) == (700, 325)
    assert committed.stat().st_size < 200_000
    assert "](explain_chapter.png)" in (ROOT / "docs" / "explain.md").read_text(encoding="utf-8")
