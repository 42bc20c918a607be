"""Explanation pictures: one diverging scale, colours where the evidence is, the PNG for slides, the checks' plots."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image

from dlviz.explain.checks import RANDOMISATION_THRESHOLD, Curves, Randomisation
from dlviz.plots import explain as px
from dlviz.plots.explain import (
    agreement_heatmap,
    comparison_figure,
    comparison_png,
    curves_figure,
    randomisation_figure,
    scaled,
)


def _att(amap) -> SimpleNamespace:
    return SimpleNamespace(map=torch.as_tensor(amap, dtype=torch.float32).unsqueeze(0))


def _maps():
    a = torch.zeros(28, 28)
    a[2:8, 2:8] = 4.0  # top-left: for
    a[20:26, 20:26] = -2.0  # bottom-right: against
    b = torch.zeros(28, 28)
    b[10:18, 10:18] = 0.01  # a weak map still reaches the full colour: its own scale
    return {"ig": _att(a), "sal": _att(b), "empty": _att(torch.zeros(28, 28))}


TITLES = {"ig": "Integrated Gradients", "sal": "Saliency", "empty": "DeepLift"}


def test_each_map_is_scaled_by_its_own_strongest_value():
    s = scaled(torch.tensor([[[2.0, -4.0], [0.0, 1.0]]]))
    assert np.allclose(s, [[0.5, -1.0], [0.0, 0.25]])
    assert np.all(scaled(torch.zeros(3, 3)) == 0)


def test_comparison_figure_one_scale_titles_and_overlays():
    fig = comparison_figure(torch.rand(28, 28), _maps(), TITLES)
    heat = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert len(heat) == 4 + 3  # a grey digit under every panel, one overlay per method
    overlays = [t for t in heat if t.zmin == -1]
    assert len(overlays) == 3 and all(t.zmax == 1 for t in overlays)
    assert [float(np.abs(np.asarray(t.z)).max()) for t in overlays] == [1.0, 1.0, 0.0]
    assert sum(bool(t.showscale) for t in heat) == 1  # ONE colour bar for all
    bar = overlays[0].colorbar
    assert "strongest value" in bar.title.text
    assert list(bar.ticktext) == ["evidence against", "0", "evidence for"]
    scale = overlays[0].colorscale
    assert scale[0][1].startswith("rgba(213,94,0,") and scale[-1][1].startswith("rgba(0,114,178,")
    middle = [c for v, c in scale if abs(v - 0.5) < 1e-9][0]
    assert middle.endswith(",0.000)")  # transparent at zero
    titles = [a.text for a in fig.layout.annotations]
    assert titles[:4] == ["Input", "Integrated Gradients", "Saliency", "DeepLift (empty)"]


def test_comparison_figure_wraps_and_translates():
    maps = {str(i): _att(torch.rand(28, 28) - 0.5) for i in range(7)}
    fig = comparison_figure(torch.rand(28, 28), maps, {}, tr=lambda s, **k: s.format(**k).upper())
    ys = sorted({round(a.y, 3) for a in fig.layout.annotations if a.text})
    assert len(ys) == 2  # 8 panels: two rows of at most 5
    assert fig.layout.annotations[0].text == "INPUT"


def _png(maps, titles=TITLES, **kw) -> Image.Image:
    data = comparison_png(torch.zeros(28, 28), maps, titles, **kw)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data)).convert("RGB")


def test_comparison_png_size_and_colours():
    img = _png(_maps())
    assert img.width == 2 * 20 + 4 * 224 + 3 * 18  # 4 panels of 224 px in one row
    a = np.asarray(img).astype(int)
    blue = a[..., 2] > a[..., 0] + 100
    red = a[..., 0] > a[..., 2] + 100
    assert blue.sum() > 2 * 48 * 48 * 0.5  # the top-left block (48 px square) of two maps
    assert red.sum() > 48 * 48 * 0.5  # the bottom-right block of the first map


def test_panel_pixels_known_answer():
    s = torch.zeros(28, 28)
    s[0:14, :] = 1.0
    s[14:, :] = -1.0
    panel = np.asarray(px._panel(np.zeros((28, 28), np.float32), s.unsqueeze(0))).astype(int)
    assert panel.shape == (224, 224, 3)
    expect_for = np.rint(255 * (1 - px.MAX_ALPHA) + np.array(px.FOR_RGB) * px.MAX_ALPHA)
    expect_against = np.rint(255 * (1 - px.MAX_ALPHA) + np.array(px.AGAINST_RGB) * px.MAX_ALPHA)
    assert np.abs(panel[20, 100] - expect_for).max() <= 1
    assert np.abs(panel[200, 100] - expect_against).max() <= 1
    plain = np.asarray(px._panel(np.zeros((28, 28), np.float32), torch.zeros(1, 28, 28)))
    assert (plain == 255).all()  # zero evidence: the paper shows through


def test_digit_upscaled_with_sharp_pixels():
    img = np.zeros((28, 28), np.float32)
    img[0, 0] = 1.0
    panel = np.asarray(px._panel(img)).astype(int)
    assert (panel[:8, :8] == px.INK_RGB).all() and (panel[:8, 8:16] == 255).all()


def test_chinese_titles_render_with_a_cjk_font():
    """On any machine, CJK fonts installed or not: dlviz ships its own (assets/fonts)."""
    from dlviz.plots.fonts import font_file

    assert font_file()[0].endswith("assets/fonts/NotoSansSC-dlviz.otf")
    f = px.font(20)

    def ink(text):
        im = Image.new("L", (40, 40), 0)
        px.ImageDraw.Draw(im).text((4, 4), text, fill=255, font=f)
        return np.asarray(im)

    # a font without Chinese draws the same .notdef box for both; a CJK font draws two different glyphs
    assert ink("积").any() and not np.array_equal(ink("积"), ink("分"))
    img = _png({"ig": _maps()["ig"]}, {"ig": "积分梯度"}, tr=lambda s, **k: {"Input": "输入"}.get(s, s))
    assert img.width == 2 * 20 + 2 * 224 + 18


def test_long_titles_wrap_inside_the_panel():
    draw = px.ImageDraw.Draw(Image.new("RGB", (1, 1)))
    f = px.font(18)
    lines = px.wrap(
        draw, "Guided Grad-CAM on conv2d_2 with a very long name indeed, longer than two lines allow", f, 224
    )
    assert 1 < len(lines) <= 2 and lines[-1].endswith("…")
    assert all(draw.textlength(line, font=f) <= 224 for line in lines)
    assert px.wrap(draw, "积分梯度" * 12, f, 224)[0] != "积分梯度" * 12  # CJK breaks without spaces


def test_agreement_heatmap_prints_values():
    m = np.array([[1.0, 0.72, np.nan], [0.72, 1.0, -0.2], [np.nan, -0.2, 1.0]])
    fig = agreement_heatmap(["A", "B", "C"], m)
    t = fig.data[0]
    assert t.zmin == -1 and t.zmax == 1 and list(t.x) == ["A", "B", "C"]
    assert [list(r) for r in t.text] == [["1.00", "0.72", "–"], ["0.72", "1.00", "-0.20"], ["–", "-0.20", "1.00"]]
    assert t.colorscale[0][1] == px.AGAINST and t.colorscale[-1][1] == px.FOR


def _curves(**extra):
    c = Curves([0.0, 0.5, 1.0], [0.9, 0.2, 0.0], [0.1, 0.8, 1.0], 0.33, 0.68, 0.45, 0.52, True, 0.1)
    return SimpleNamespace(**vars(c), **extra) if extra else c


def test_curves_figure_dashed_random_and_areas_in_the_legend():
    fig = curves_figure(_curves())
    assert len(fig.data) == 4
    names = [t.name for t in fig.data]
    # the area under a probability curve read as what it is: the average probability (issue 13: "area 0.06")
    assert "(on average 33%)" in names[0] and "(on average 45%)" in names[1] and "(on average 68%)" in names[2]
    assert "(on average 52%)" in names[3] and not any("area" in n for n in names)
    dashed = [t for t in fig.data if t.line.dash == "dash"]
    assert len(dashed) == 2 and list(dashed[0].y) == [0.45] * 3  # no random curves: their average level
    real = curves_figure(_curves(random_deletion=[0.9, 0.5, 0.0], random_insertion=[0.1, 0.5, 1.0]))
    assert list(real.data[1].y) == [0.9, 0.5, 0.0] and "its average" not in real.data[1].name


def test_randomisation_figure_threshold_line():
    r = Randomisation("saliency", ["dense_2", "dense_1", "conv2d_1"], [0.8, 0.5, 0.1], [], True, 1.0)
    fig = randomisation_figure(r)
    assert list(fig.data[0].x) == ["trained weights", "+ dense_2", "+ dense_1", "+ conv2d_1"]
    assert list(fig.data[0].y) == [1.0, 0.8, 0.5, 0.1]
    assert fig.data[0].line.color == px.FOR
    assert [s.y0 for s in fig.layout.shapes] == [RANDOMISATION_THRESHOLD]
    failed = randomisation_figure(Randomisation("x", ["d"], [0.99], [], False, 1.0))
    assert failed.data[0].line.color == px.AGAINST


def test_randomisation_figure_shows_signed_absolute_reference_and_the_rules_line():
    from dlviz.explain.checks import judge

    r = judge(
        "integrated_gradients", ["dense_2", "dense_1"], [(0.3, 0.98), (0.1, 0.99)], [], 0.95, {"input": 0.95}, 1.0
    )
    assert not r.passed and r.bar == 0.5
    fig = randomisation_figure(r)
    assert [list(d.y) for d in fig.data] == [[1.0, 0.98, 0.99], [1.0, 0.3, 0.1]]
    assert [d.name for d in fig.data] == ["absolute (|map|)", "signed"]
    assert sorted(s.y0 for s in fig.layout.shapes) == [0.5, 0.95]
    texts = [a.text for a in fig.layout.annotations]
    assert "pass below 0.50" in texts and "a map of the input alone: 0.95" in texts


def test_unsigned_maps_get_a_one_sided_scale_and_their_own_legend():
    """Issue 12 item 2: Saliency (|gradient|) was drawn as blue "evidence for" everywhere."""
    import io

    import numpy as np
    import torch
    from PIL import Image

    from dlviz.explain.registry import Attribution
    from dlviz.plots.explain import comparison_png

    img = torch.zeros(28, 28)
    img[10:18, 10:18] = 1.0
    amap = torch.zeros(1, 28, 28)
    amap[0, 10:18, 10:18] = 1.0
    atts = {
        "saliency": Attribution("saliency", 3, amap, 0.0, {}, signed=False),
        "integrated_gradients": Attribution("integrated_gradients", 3, amap, 0.0, {}, signed=True),
    }
    fig = comparison_figure(img, atts, {"saliency": "Saliency", "integrated_gradients": "IG"})
    heat = [d for d in fig.data if d.name in ("Saliency", "IG")]
    sal, ig = heat
    assert (sal.zmin, sal.zmax) == (0, 1) and (ig.zmin, ig.zmax) == (-1, 1)
    assert "204,121,167" in sal.colorscale[-1][1] and "0,114,178" in ig.colorscale[-1][1]
    assert sal.showscale and ig.showscale
    assert "either way" in sal.colorbar.title.text and "evidence for" not in list(sal.colorbar.ticktext)
    png = np.asarray(
        Image.open(io.BytesIO(comparison_png(img, {"saliency": atts["saliency"]}, {"saliency": "Saliency"}))).convert(
            "RGB"
        )
    ).astype(int)
    blue = (np.abs(png - np.array([0, 114, 178])).sum(-1) < 60).sum()
    assert blue == 0  # no "for" blue anywhere for an unsigned map


def test_randomisation_figure_marks_the_lower_pass_line_when_a_map_reverses():
    """The rule reads |similarity|: a map whose last step is -0.58 fails against a bar of 0.41. The chart
    then shows the band's lower edge too, so a line far below zero does not look like a pass."""
    from dlviz.explain.checks import judge

    r = judge(
        "integrated_gradients",
        ["dense_1", "transformer_1", "embedding_1"],
        [(0.47, 0.70), (0.38, 0.05), (-0.03, -0.58)],
        [],
        0.51,
        {"input": 0.51},
        1.0,
    )
    assert not r.passed and abs(r.bar - 0.41) < 1e-9
    fig = randomisation_figure(r)
    assert sorted(round(s.y0, 2) for s in fig.layout.shapes) == [-0.41, 0.41, 0.51]
    texts = [a.text for a in fig.layout.annotations]
    assert "pass below 0.41" in texts and "and above -0.41" in texts
    # a map that stays above the lower edge keeps the single line (the usual case)
    kept = judge("integrated_gradients", ["d"], [(0.3, 0.2)], [], 0.95, {"input": 0.95}, 1.0)
    assert [a.text for a in randomisation_figure(kept).layout.annotations].count("and above -0.50") == 0
