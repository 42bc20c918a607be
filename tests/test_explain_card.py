"""The plain-language card and the handout: known answers for the words, the verdict rules, escaping."""

from __future__ import annotations

import base64
import html
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from PIL import Image

from dlviz.explain import attribute
from dlviz.explain.card import Card, evidence_words, ink_share, make_card, region_shares
from dlviz.explain.checks import Completeness, Curves, Randomisation
from dlviz.explain.handout import handout_html
from dlviz.explain.registry import Attribution
from dlviz.models import PRESETS, build

CJK = re.compile(r"[\u4e00-\u9fff]")
CLASSES = [str(i) for i in range(10)]


def _digit() -> torch.Tensor:
    """A 28x28 image with ink in the top-left block only."""
    img = torch.zeros(28, 28)
    img[2:8, 2:8] = 1.0
    return img


def _attr(
    amap: torch.Tensor, method: str = "integrated_gradients", target: int = 3, contrast=None, signed: bool | None = None
) -> Attribution:
    from dlviz.explain import METHODS

    signed = METHODS[method].is_signed() if signed is None else signed
    return Attribution(method, target, amap.unsqueeze(0).float(), 0.01, {}, contrast, signed=signed)


def _probs(top: int = 3, p: float = 0.97, runner_up: int = 8) -> torch.Tensor:
    probs = torch.full((10,), (1 - p - 0.01) / 8)
    probs[top], probs[runner_up] = p, 0.01
    return probs


def _passed():
    return (
        Completeness(1.0, 1.0, 0.0, 0.0, True),
        Randomisation("integrated_gradients", ["dense_2", "conv2d_1"], [0.6, 0.2], [], True, 0.1),
        Curves([0, 0.5, 1], [0.9, 0.1, 0.0], [0.1, 0.9, 1.0], 0.2, 0.8, 0.5, 0.5, True, 0.1),
    )


# --------------------------------------------------------------------------------------------
# Where the evidence is


def test_region_shares_known_answer():
    amap = torch.zeros(28, 28)
    amap[0, 0] = 2.0  # top-left cell
    amap[27, 27] = 1.0  # bottom-right cell
    amap[14, 14] = -5.0  # negative: not evidence for
    shares = region_shares(amap)
    assert shares.shape == (9,) and shares.sum() == pytest.approx(1.0)
    assert shares[0] == pytest.approx(2 / 3) and shares[8] == pytest.approx(1 / 3) and shares[4] == 0


def test_top_left_on_the_ink():
    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0
    words = evidence_words(amap, _digit())
    assert "top-left" in words and "stroke" in words
    assert words.startswith("mostly")
    assert ink_share(amap, _digit()) == pytest.approx(1.0)


def test_bottom_right_on_the_empty_paper_is_a_missing_stroke():
    amap = torch.zeros(28, 28)
    amap[22:27, 22:27] = 1.0
    words = evidence_words(amap, _digit())
    assert "bottom-right" in words and "empty paper" in words and "missing stroke" in words
    assert "top-left" not in words


def test_two_regions_are_named_and_an_even_spread_is_said():
    amap = torch.zeros(28, 28)
    amap[0:9, 10:18] = 1.0  # top
    amap[10:18, 10:18] = 1.0  # centre
    words = evidence_words(amap, torch.zeros(28, 28))
    assert "the top and the centre" in words
    assert "spread over the whole image" in evidence_words(torch.ones(28, 28), _digit())


def test_half_on_ink_says_both():
    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0  # on ink
    amap[3:7, 9:13] = 1.0  # the paper beside it
    assert "strokes and the empty paper" in evidence_words(amap, _digit())


def test_no_positive_evidence():
    assert evidence_words(-torch.ones(28, 28), _digit()).startswith("nowhere")
    assert evidence_words(torch.zeros(28, 28), _digit()).startswith("nowhere")


def test_evidence_words_in_chinese():
    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0
    words = evidence_words(amap, _digit(), lang="zh")
    assert "左上方" in words and "笔画" in words and "top" not in words


# --------------------------------------------------------------------------------------------
# The card


def test_headline_and_evidence_line():
    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0
    card = make_card(CLASSES, _probs(), 3, None, _digit(), {"integrated_gradients": _attr(amap)}, None)
    assert isinstance(card, Card)
    assert card.headline == "The model says 3 (97% sure)."
    assert any(line.startswith("Evidence for 3:") and "top-left" in line for line in card.lines)
    assert any("Only one method" in line for line in card.lines)


def test_contrast_headline():
    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0
    card = make_card(
        CLASSES, _probs(), 3, 8, _digit(), {"input_x_gradient": _attr(amap, "input_x_gradient", 3, 8)}, None
    )
    assert card.headline.startswith("Why 3 and not 8?")
    assert "The model says 3 (97% sure)" in card.headline
    assert "3 gets 97%, 8 gets 1%." in card.lines
    assert any(line.startswith("Evidence for 3 rather than 8:") for line in card.lines)


def test_evidence_against_is_named_for_signed_maps():
    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0
    amap[22:27, 22:27] = -1.0
    card = make_card(CLASSES, _probs(), 3, None, _digit(), {"integrated_gradients": _attr(amap)}, None)
    against = [line for line in card.lines if line.startswith("Evidence against 3:")]
    assert len(against) == 1 and "bottom-right" in against[0]


def test_probabilities_never_claim_certainty():
    probs = torch.zeros(10)
    probs[3] = 0.9997
    probs[5] = 0.0003
    card = make_card(CLASSES, probs, 3, None, _digit(), {}, None)
    assert card.headline == "The model says 3 (>99% sure)."
    unsure = make_card(CLASSES, _probs(p=0.4), 3, None, _digit(), {}, None)
    assert any("unsure" in line and "40%" in line for line in unsure.lines)


def test_target_other_than_the_prediction_is_said():
    amap = torch.ones(28, 28)
    card = make_card(CLASSES, _probs(), 8, None, _digit(), {"x": _attr(amap, target=8)}, None)
    assert any("This explains class 8 (1%)" in line for line in card.lines)


def test_agreement_in_words():
    amap = torch.ones(28, 28)
    two = {"a": _attr(amap, "saliency"), "b": _attr(amap)}
    line = lambda r: [
        x
        for x in make_card(CLASSES, _probs(), 3, None, _digit(), two, r).lines  # noqa: E731
        if "methods" in x
    ][0]
    assert line(0.72) == "The methods agree (0.72)."
    assert "partly agree (0.40)" in line(0.4)
    assert line(0.1) == "The methods disagree (0.10): read with care."


@pytest.mark.parametrize(
    "agreement, checks, verdict",
    [
        (0.8, "none", "caution"),  # nothing checked yet
        (0.8, "all passed", "trust"),
        (None, "all passed", "trust"),  # one method: nothing to disagree with
        (0.1, "all passed", "caution"),  # the methods disagree
        (0.8, "completeness failed", "caution"),
        (0.8, "curves failed", "caution"),
        (0.8, "randomisation failed", "doubt"),
        (0.8, "completeness and curves failed", "doubt"),
    ],
)
def test_verdict_rules(agreement, checks, verdict):
    comp, rand, curves = _passed()
    if checks == "none":
        comp = rand = curves = None
    if "completeness" in checks:
        comp = Completeness(1.0, 2.0, -1.0, 0.5, False)
    if "curves" in checks:
        curves = Curves([0, 1], [0.9, 0.9], [0.1, 0.1], 0.9, 0.1, 0.5, 0.5, False, 0.1)
    if "randomisation" in checks:
        rand = Randomisation("integrated_gradients", ["dense_2"], [0.97], [], False, 0.1)
    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0
    card = make_card(
        CLASSES, _probs(), 3, None, _digit(), {"integrated_gradients": _attr(amap)}, agreement, comp, rand, curves
    )
    assert card.verdict == verdict
    assert card.lines[-1] == card.verdict_line
    assert card.verdict_line.startswith(
        "About the explanation, not the answer: "
        + {"trust": "passed its checks", "caution": "read it with care", "doubt": "not reliable"}[verdict]
    )
    ran = [c for c in (comp, rand, curves) if c is not None]
    assert len(card.check_lines) == max(1, len(ran))  # one line per check, or "not run yet"
    assert all(line in card.lines for line in card.check_lines)
    for c, word in ((comp, "Completeness"), (rand, "Randomisation"), (curves, "Deletion and insertion")):
        if c is not None:
            expected = f"{word} check {'passed' if c.passed else 'failed'}"
            assert sum(line.startswith(expected) for line in card.lines) == 1


def test_empty_maps_give_an_empty_explanation_and_doubt():
    card = make_card(CLASSES, _probs(), 3, None, _digit(), {"integrated_gradients": _attr(torch.zeros(28, 28))}, None)
    assert card.verdict == "doubt"
    assert any("The explanation is empty" in line for line in card.lines)


def test_blank_image_with_a_black_baseline_says_why_it_is_empty():
    """The real thing: Integrated Gradients of an all-black image against a black baseline is zero."""
    model = build(PRESETS["cnn"].spec, seed=0).module.eval()
    x = torch.zeros(1, 28, 28)
    a = attribute(model, x, 3, "integrated_gradients", steps=8, baseline_kind="black")
    assert a.empty
    with torch.no_grad():
        probs = torch.softmax(model(x[None]), 1)[0]
    card = make_card(CLASSES, probs, 3, None, x[0], {"integrated_gradients": a}, None)
    assert card.verdict == "doubt"
    empty = [line for line in card.lines if "The explanation is empty" in line]
    assert len(empty) == 1 and "blank" in empty[0] and "black baseline" in empty[0]
    zh = make_card(CLASSES, probs, 3, None, x[0], {"integrated_gradients": a}, None, lang="zh")
    assert any("解释是空的" in line for line in zh.lines)


def test_one_empty_map_among_others_is_named():
    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0
    atts = {"saliency": _attr(amap, "saliency"), "integrated_gradients": _attr(torch.zeros(28, 28))}
    card = make_card(CLASSES, _probs(), 3, None, _digit(), atts, 0.8)
    assert "Integrated Gradients gave an empty map (zero everywhere)." in card.lines
    assert card.verdict == "caution"


def test_the_card_in_chinese():
    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0
    comp, rand, curves = _passed()
    card = make_card(
        CLASSES,
        _probs(),
        3,
        8,
        _digit(),
        {"integrated_gradients": _attr(amap, contrast=8)},
        0.72,
        comp,
        rand,
        curves,
        lang="zh",
    )
    assert "为什么是 3 而不是 8" in card.headline
    assert card.verdict == "trust"
    for line in [card.headline, *card.lines]:
        assert CJK.search(line), line  # every sentence translated
        assert not re.search(r"\b(the|and|check|passed|failed)\b", line), line


# --------------------------------------------------------------------------------------------
# Two questions: is the model right? is the explanation faithful? (issue 12, item 1)


def _checked_card(label, source="test", p=0.97, lang="en"):
    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0
    comp, rand, curves = _passed()
    return make_card(
        CLASSES,
        _probs(p=p),
        3,
        None,
        _digit(),
        {"integrated_gradients": _attr(amap)},
        None,
        comp,
        rand,
        curves,
        lang=lang,
        label=label,
        source=source,
    )


def test_a_wrong_answer_with_a_faithful_explanation_is_not_called_right():
    card = _checked_card(label=5)
    assert card.verdict == "trust" and card.correct is False
    assert card.correctness == "Is the model right? No: the true label is 5, the model says 3."
    assert "The model is wrong here: these maps show why it made this mistake." in card.lines
    assert card.lines.index(card.correctness) == 0  # the first question, first
    # nothing about the explanation can be read as "the answer is right"
    from dlviz.explain.card import verdict_title

    badge = verdict_title(card.verdict)
    assert badge.startswith("Explanation") and not re.search(r"(?i)\b(trust|right|correct|show this)\b", badge)
    assert "not the answer" in card.verdict_line


def test_a_right_answer_and_an_input_nobody_labelled():
    right = _checked_card(label=3)
    assert right.correct is True and right.correctness == "Is the model right? Yes: the true label is 3."
    assert not any("wrong" in line for line in right.lines)
    drawn = _checked_card(label=None, source="drawn")
    assert drawn.correct is None
    assert drawn.correctness == (
        "Is the model right? Unknown: this is your drawing, so there is no true answer to compare with."
    )
    assert "an uploaded image" in _checked_card(label=None, source="upload").correctness
    unsure = _checked_card(label=3, p=0.4)
    assert any(line.startswith("The model is unsure here") for line in unsure.lines)
    zh = _checked_card(label=5, lang="zh")
    assert CJK.search(zh.correctness) and CJK.search(zh.verdict_line) and "5" in zh.correctness


def test_badges_in_both_languages_speak_of_the_explanation():
    from dlviz.explain.card import BADGES, verdict_title

    for v in BADGES:
        assert "Explanation" in verdict_title(v)
        assert "解释" in verdict_title(v, "zh")


# --------------------------------------------------------------------------------------------
# Unsigned maps are never "for" or "against" (issue 12, item 2)


def test_an_unsigned_map_is_never_called_evidence_for_or_against():
    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0
    card = make_card(CLASSES, _probs(), 3, None, _digit(), {"saliency": _attr(amap, "saliency")}, None)
    text = " ".join(card.lines)
    assert "Evidence for" not in text and "Evidence against" not in text
    assert any(line.startswith("Where it matters, either way") for line in card.lines)
    # beside a signed map: the unsigned one stays out of the for/against words and the card says so
    signed = amap.clone()
    signed[20:24, 20:24] = -2.0
    both = make_card(
        CLASSES,
        _probs(),
        3,
        None,
        _digit(),
        {"saliency": _attr(amap.abs(), "saliency"), "integrated_gradients": _attr(signed)},
        0.5,
    )
    assert any(line.startswith("Evidence against 3") for line in both.lines)
    assert any(
        line.startswith("Saliency shows how much each pixel matters, not which way, so it is") for line in both.lines
    )
    two = make_card(
        CLASSES,
        _probs(),
        3,
        None,
        _digit(),
        {
            "saliency": _attr(amap.abs(), "saliency"),
            "occlusion": _attr(amap.abs(), "occlusion", signed=False),
            "integrated_gradients": _attr(signed),
        },
        0.5,
    )
    assert any(" show how much each pixel matters, not which way, so they are" in line for line in two.lines)


def test_every_method_declares_whether_its_map_is_signed():
    from dlviz.explain import METHODS, attribute

    model = build(PRESETS["cnn"].spec, seed=0).module.eval()
    x = torch.rand(1, 28, 28)
    expected = {
        "saliency": False,
        "grad_cam": False,
        "smoothgrad": False,
        "integrated_gradients": True,
        "input_x_gradient": True,
        "deeplift": True,
        "gradient_shap": True,
        "guided_grad_cam": True,
        "occlusion": True,
        "kernel_shap": True,
        "lime": True,
    }
    assert set(expected) == set(METHODS)
    for key, signed in expected.items():
        assert METHODS[key].is_signed() is signed, key
    assert METHODS["saliency"].is_signed({"absolute": False}) is True
    assert METHODS["smoothgrad"].is_signed({"base": "integrated_gradients"}) is True
    assert METHODS["smoothgrad"].is_signed({"base": "integrated_gradients", "average": "squared"}) is False
    for key in ("saliency", "grad_cam", "integrated_gradients"):
        a = attribute(model, x, 3, key)
        assert a.signed is expected[key]
        if not a.signed:
            assert float(a.map.min()) >= 0  # unsigned by construction
    assert attribute(model, x, 3, "saliency", absolute=False).signed is True


def test_agreement_compares_like_with_like():
    from dlviz.explain.checks import rank_agreement

    a = torch.randn(28, 28, generator=torch.Generator().manual_seed(0))
    maps = {"s1": a, "s2": -a, "u": a.abs()}
    names, m = rank_agreement(maps, {"s1": True, "s2": True, "u": False})
    assert m[0, 1] == pytest.approx(-1.0)  # two signed maps: opposite signs disagree completely
    assert m[0, 2] == pytest.approx(1.0)  # signed against unsigned: |s1| against u
    _, old = rank_agreement(maps)  # no signs given: everything as |map|
    assert old[0, 1] == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------
# The handout


def _handout(title="Why 3?", classes=CLASSES, lang="en", checks_lines=None):
    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0
    amap[20:24, 20:24] = -0.5
    atts = {"integrated_gradients": _attr(amap), "saliency": _attr(amap.abs(), "saliency")}
    comp, rand, curves = _passed()
    card = make_card(classes, _probs(), 3, None, _digit(), atts, 0.72, comp, rand, curves, lang=lang)
    titles = {"integrated_gradients": "Integrated Gradients", "saliency": "Saliency"}
    page = handout_html(
        title,
        _digit(),
        atts,
        titles,
        card,
        card.check_lines if checks_lines is None else checks_lines,
        lang=lang,
        date="2025-01-31",
    )
    return page, card


def test_handout_is_self_contained():
    page, card = _handout()
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    assert "http" not in page.lower()  # nothing to fetch: no links, no remote sources
    assert "<script" not in page.lower() and "@import" not in page
    assert re.search(r"@page\s*\{\s*size:\s*A4", page)
    assert "2025-01-31" in page and card.headline in page
    srcs = re.findall(r'src="([^"]*)"', page)
    assert len(srcs) == 1 and srcs[0].startswith("data:image/png;base64,")
    png = Image.open(io.BytesIO(base64.b64decode(srcs[0].split(",", 1)[1])))
    assert png.format == "PNG" and png.width >= 3 * 224
    for line in card.check_lines:
        assert page.count(html.escape(line)) == 1  # each check once, in the checks section
    assert "How to read this" in page


def test_handout_embeds_the_picture_it_is_given_instead_of_drawing_it_again(monkeypatch):
    """The Explain page draws the comparison once, for its download and for the handout."""
    from dlviz.explain import handout

    drawn = []
    real = handout.comparison_png
    monkeypatch.setattr(handout, "comparison_png", lambda *a, **k: drawn.append(1) or real(*a, **k))
    _handout()
    assert drawn == [1]  # nothing given: drawn here
    picture = real(_digit(), {"saliency": _attr(torch.ones(28, 28), "saliency")}, {"saliency": "Saliency"})
    amap = torch.zeros(28, 28)
    atts = {"saliency": _attr(amap.abs(), "saliency")}
    comp, rand, curves = _passed()
    card = make_card(CLASSES, _probs(), 3, None, _digit(), atts, 0.72, comp, rand, curves)
    page = handout.handout_html("Why 3?", _digit(), atts, {"saliency": "Saliency"}, card, [], png=picture)
    assert drawn == [1]  # given: not drawn again
    assert base64.b64encode(picture).decode("ascii") in page


def test_handout_escapes_every_user_string():
    evil = "<script>alert(1)</script>"
    page, _ = _handout(
        title=evil, classes=[evil if i == 3 else str(i) for i in range(10)], checks_lines=[f"check {evil}"]
    )
    assert "<script>" not in page and "alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("&lt;script&gt;") >= 4  # <title>, <h1>, the headline, a check line


def test_handout_in_chinese():
    page, card = _handout(lang="zh")
    assert '<html lang="zh-CN">' in page
    assert "如何解读" in page and "合理性检查" in page and card.headline in page


def test_handout_prints_on_one_a4_page(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    page, _ = _handout(lang="zh")
    html_file, pdf = tmp_path / "handout.html", tmp_path / "handout.pdf"
    html_file.write_text(page, encoding="utf-8")
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            html_file.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    if not pdf.exists():
        pytest.skip("chromium could not print here")
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert pages == 1
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45]", data)  # A4: 595 x 842 points


def test_chinese_explain_strings_use_one_name_for_the_checks_and_full_width_punctuation():
    """Issue 13: 运行可信度检验 on the button, 合理性检查 in the card; half-width punctuation in Chinese sentences."""
    import json

    from dlviz.i18n import translate

    root = Path(__file__).resolve().parents[1] / "dlviz" / "i18n" / "zh"
    entries = {}
    for name in (
        "explain.json",
        "explain_card.json",
        "explain_checks.json",
        "explain_page.json",
        "explain_methods.json",
        "explain_cam.json",
        "explain_perturb.json",
        "text_explain.json",
    ):
        entries.update(json.loads((root / name).read_text(encoding="utf-8")))
    for en, zh in entries.items():
        if "sanity check" in en.lower():
            assert "合理性检查" in zh, (en, zh)
        assert not re.search(r"(可信度|完备性|随机化|删除|插入)检验", zh), (en, zh)  # a check is a 检查
        half = re.findall(r"[\u4e00-\u9fff][,:;?!]|[,:;?!(][\u4e00-\u9fff]", zh.replace("f(", ""))
        assert not half, (en, zh, half)
    assert translate("Run the sanity checks", "zh") == "运行合理性检查"


def test_a_failed_data_randomisation_makes_the_explanation_unreliable():
    from dlviz.explain.checks import judge

    amap = torch.zeros(28, 28)
    amap[3:7, 3:7] = 1.0
    comp, rand, curves = _passed()
    data = judge("integrated_gradients", ["shuffled labels"], [(0.2, 0.97)], [], 0.95, {}, 1.0, kind="data")
    card = make_card(
        CLASSES,
        _probs(),
        3,
        None,
        _digit(),
        {"integrated_gradients": _attr(amap)},
        None,
        comp,
        rand,
        curves,
        label=3,
        data_randomisation=data,
    )
    assert card.verdict == "doubt"
    assert any(
        line.startswith("Data randomisation check failed: a model trained on shuffled labels gives much the same map")
        for line in card.check_lines
    )
