"""The Explain page (AppTest): methods side by side, the card, contrast, sanity checks, a model without conv."""

from __future__ import annotations

import pytest

from tests.page_util import open_page, saved_run


def _texts(at) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.subheader])


def test_explain_page_compares_methods_and_runs_the_checks(app, home):
    rec = saved_run("cnn")
    at = open_page(app, "pages/explain.py", timeout=120, run_id=rec.id)
    assert at.title[0].value == "Explain"
    assert at.subheader[0].value.startswith("Why ")  # "Why 3?" for the model's own answer
    text = _texts(at)
    for method in ("Saliency", "Integrated Gradients", "Grad-CAM", "Occlusion"):  # the default four, timed
        assert f"{method}: " in text and " ms" in text, method
    assert len(at.get("plotly_chart")) >= 2  # probabilities and the comparison
    verdicts = ("Explanation passed its checks", "Explanation: read with care", "Explanation not reliable")
    assert any(v in text for v in verdicts), "the card's verdict badge"
    assert "No sanity check has been run yet." in text and "Explanation: read with care" in text  # until checked
    # the first question, apart from the second: a test image has a true label to compare with
    assert "Is the model right? " in text and ("the true label is" in text)
    # the sanity checks run on demand and explain themselves in one line each
    at.button(key="_exp_run_checks").click().run(timeout=120)
    assert not at.exception, at.exception
    text = _texts(at)
    assert "Completeness check" in text and "Randomisation check" in text and "Deletion and insertion check" in text
    assert "signed" in text and "absolute" in text and "a map of the image alone" in text  # both, and the reference
    assert "Infidelity" in text and "Sensitivity" in text and "for a random map" in text
    assert at.button(key="_exp_data_random")  # the data-randomisation test, one click


def test_contrast_and_a_model_without_conv_layers(app, home):
    rec = saved_run("mlp")
    at = open_page(app, "pages/explain.py", timeout=120, run_id=rec.id)
    assert "no convolution layer" in _texts(at)
    assert "grad_cam" not in at.multiselect(key="_expw_methods_en").value  # not offered by default
    at.multiselect(key="_expw_methods_en").set_value(["saliency", "grad_cam"]).run(timeout=120)
    assert not at.exception, at.exception
    assert any("needs a convolution layer" in w.value for w in at.warning)  # says why, page goes on
    target = at.subheader[0].value.removeprefix("Why ").rstrip("?")
    other = next(i for i in range(10) if str(i) != target)
    at.selectbox(key="_expw_contrast_en").set_value(other).run(timeout=120)
    assert not at.exception, at.exception
    assert at.subheader[0].value == f"Why {target} and not {other}?"


def test_explain_page_in_chinese(app, home):
    rec = saved_run("cnn")
    at = open_page(app, "pages/explain.py", timeout=120, run_id=rec.id, lang="zh")
    assert at.title[0].value == "解释"
    assert at.subheader[0].value.startswith("为什么是")
    from dlviz.explain import warm

    assert ("process",) in warm._DONE  # the app started the explanation warm-up before anyone asked


def test_a_blank_input_says_the_explanation_is_empty_and_why(app, home):
    import torch

    from dlviz.ui.inspect_state import InputImage

    rec = saved_run("cnn")
    blank = InputImage(x=torch.zeros(1, 28, 28), label=None, caption="Your drawing", source="drawn")
    at = open_page(
        app,
        "pages/explain.py",
        timeout=120,
        run_id=rec.id,
        _insp_input=blank,
        _insp_mode="draw",
        _exp_methods=["integrated_gradients", "input_x_gradient"],
    )
    infos = " ".join(i.value for i in at.info)
    assert "Integrated Gradients is empty" in infos and "an image with no ink has nothing to compare" in infos
    assert "Input x Gradient is empty" in infos
    text = _texts(at)
    assert "Explanation not reliable" in text  # the card's verdict on an empty explanation
    assert "Is the model right? Unknown: this is your drawing" in text


def test_explain_page_on_a_text_dataset_colours_the_words(app, home):
    from text_page_util import open_text_page, text_run

    rec = text_run("lstm")
    at = open_text_page(app, "pages/explain.py", run_id=rec.id, dataset="rt-polarity")
    assert at.title[0].value == "Explain"
    chips = " ".join(h.proto.body for h in at.get("html"))
    assert "<span" in chips  # the words as coloured chips
    at.text_area[0].set_value("<script>alert(1)</script> a wonderful film").run()
    assert not at.exception, at.exception
    chips = " ".join(h.proto.body for h in at.get("html"))
    assert "&lt;" in chips and "<script>" not in chips  # typed markup shown, never run


def test_text_explain_survives_a_changed_answer_label(app, home):
    """Issue 14 item 7: typing a sentence on the Explain page first crashed with "'<=' not supported between
    'int' and 'str'". Streamlit keeps a selectbox's value as its label; "negative (the model's answer)" is no
    label of the next run once the answer changes, so the box hands back that string instead of -1."""
    from text_page_util import open_text_page, text_run

    rec = text_run("lstm")
    # what the browser hands back after the answer changed: the old label, which matches no option now
    at = open_text_page(
        app,
        "pages/explain.py",
        run_id=rec.id,
        dataset="rt-polarity",
        _exp_txtw_target_en="negative (the model's answer)",
        _exp_txtw_contrast_en="positive",
    )
    assert at.subheader[0].value.startswith("Why ")
    assert "(the model's answer)" in at.selectbox(key="_exp_txtw_target_en").format_func(
        at.selectbox(key="_exp_txtw_target_en").value
    )


def test_image_explain_survives_a_changed_answer_label(app, home):
    rec = saved_run("mlp")
    at = open_page(
        app,
        "pages/explain.py",
        timeout=120,
        run_id=rec.id,
        _exp_methods=["saliency"],
        _expw_target_en="3 (the model's answer)",
        _expw_contrast_en="5",
    )
    assert at.subheader[0].value.startswith("Why ")


def test_data_randomisation_is_one_click_with_progress(app, home, monkeypatch):
    """Issue 12 item 3: retrain the same architecture on shuffled labels (dlviz.train.fit), compare the maps."""
    from dlviz.ui import explain_widgets

    monkeypatch.setattr(explain_widgets, "SHUFFLED_IMAGES", 400)
    rec = saved_run("mlp")
    at = open_page(app, "pages/explain.py", timeout=120, run_id=rec.id, _exp_methods=["saliency"])
    at.button(key="_exp_run_checks").click().run(timeout=120)
    assert not at.exception, at.exception
    at.button(key="_exp_data_random").click().run(timeout=180)
    assert not at.exception, at.exception
    text = _texts(at)
    assert "Data randomisation check" in text and "shuffled labels" in text
    assert "rank similarity" in text.lower()


def _popovers(node, parent=None, out=None):
    out = [] if out is None else out
    for c in getattr(node, "children", {}).values():
        p = getattr(c, "proto", None)
        if p is not None and hasattr(p, "HasField") and "popover" in [f.name for f, _ in p.ListFields()]:
            out.append((p, parent))
        _popovers(c, p, out)
    return out


def test_settings_labels_are_whole_and_the_input_panel_keeps_its_label(app, home):
    """Issue 13: popover labels were cut off ("Integrat…") in four fixed columns, and the input panel closed
    after every change because its label carried the input's caption (a new label is a new expander)."""
    import torch

    from dlviz.ui.inspect_state import InputImage

    rec = saved_run("cnn")
    at = open_page(app, "pages/explain.py", timeout=120, run_id=rec.id)
    pops = _popovers(at.main)
    assert [p.popover.label for p, _ in pops] == ["Saliency", "Integrated Gradients", "Grad-CAM", "Occlusion"]
    for p, parent in pops:
        assert p.width_config.use_content  # as wide as the whole label
        assert parent.flex_container.direction == parent.flex_container.HORIZONTAL and parent.flex_container.wrap
    label = at.expander[0].label
    drawn = InputImage(x=torch.rand(1, 28, 28), label=None, caption="Your drawing", source="drawn")
    at.session_state["_insp_input"] = drawn
    at.radio(key="_inspw_mode").set_value("draw").run(timeout=120)
    assert not at.exception, at.exception
    assert at.expander[0].label == label  # the same panel: it stays open
    assert any("Explaining: Your drawing" in c.value for c in at.caption)


def test_the_text_explain_subtitle_speaks_of_words(app, home):
    from text_page_util import open_text_page, text_run

    rec = text_run("lstm")
    at = open_text_page(app, "pages/explain.py", run_id=rec.id, dataset="rt-polarity")
    sub = at.caption[0].value
    assert "words" in sub and "pixels" not in sub


def test_the_agreement_on_the_page_compares_signed_maps_as_signed(app, home):
    """Issue 12 item 2: the page compared every pair as |map|; two signed maps must be compared with their signs."""
    import torch

    from dlviz.explain import attribute
    from dlviz.explain.checks import mean_agreement, rank_agreement
    from dlviz.models import PRESETS, build
    from dlviz.ui.inspect_state import InputImage

    rec = saved_run("cnn")
    x = torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(3))
    drawn = InputImage(x=x, label=None, caption="Your drawing", source="drawn")
    methods = ["integrated_gradients", "input_x_gradient", "occlusion"]
    at = open_page(
        app, "pages/explain.py", timeout=120, run_id=rec.id, _insp_input=drawn, _insp_mode="draw", _exp_methods=methods
    )
    model = build(PRESETS["cnn"].spec, seed=0).module.eval()
    with torch.no_grad():
        target = int(model(x[None]).argmax())
    maps = {m: attribute(model, x, target, m).map for m in methods}
    signed = mean_agreement(rank_agreement(maps, {m: True for m in methods})[1])
    magnitudes = mean_agreement(rank_agreement(maps)[1])
    assert abs(signed - magnitudes) > 0.01  # the test can tell the two apart
    assert at.metric[0].value == f"{signed:.2f}"


def test_text_page_has_data_randomisation_and_captum_metrics(app, home, monkeypatch):
    """Issue 12: the text Explain page runs infidelity and sensitivity (beside random scores) with its checks, and
    the data-randomisation test (retrain on shuffled labels) in one click, as the image page does."""
    from pathlib import Path

    from text_page_util import open_text_page, text_run

    from dlviz.ui import explain_widgets

    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (data / "rt-polarity" / "rt-polarity.pos").exists():
        pytest.skip("../shared/data/rt-polarity is not present")
    monkeypatch.setattr(explain_widgets, "SHUFFLED_SENTENCES", 200)
    rec = text_run("lstm")
    at = open_text_page(app, "pages/explain.py", run_id=rec.id, dataset="rt-polarity", data_dir=str(data))
    at.text_area[0].set_value("a wonderful moving film but the ending is boring").run()
    at.button(key="_exp_txt_run_checks").click().run(timeout=180)
    assert not at.exception, at.exception
    text = " ".join(h.proto.body for h in at.get("html"))
    assert "Infidelity (how badly the word scores" in text and "for random scores" in text
    at.button(key="_exp_txt_data_random").click().run(timeout=180)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    text = " ".join(h.proto.body for h in at.get("html")) + " ".join(m.value for m in at.markdown)
    assert "Data randomisation check" in text
