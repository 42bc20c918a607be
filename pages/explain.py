"""Explain page: pick a decision, ask why; several methods side by side, sanity checks, a card, a handout.

For a text dataset the page explains a text run's decision as coloured words (dlviz.ui.text_explain_widgets).
"""

import streamlit as st

from dlviz.ui import ensure_app

ensure_app()

from dlviz.data import get_info
from dlviz.errors import DlvizError
from dlviz.explain import METHODS
from dlviz.explain.card import make_card, randomisation_sentence, verdict_title
from dlviz.explain.checks import data_randomisation_test, mean_agreement, rank_agreement
from dlviz.explain.handout import handout_html
from dlviz.glossary import help_text
from dlviz.plots import probability_bars
from dlviz.plots.explain import (
    agreement_heatmap,
    comparison_figure,
    comparison_png,
    curves_figure,
    randomisation_figure,
)
from dlviz.ui import show_error, t
from dlviz.ui.explain_widgets import (
    SHUFFLED_IMAGES,
    cached_checks,
    check_lines,
    check_method,
    class_pickers,
    explain_all,
    input_key,
    method_picker,
    predict,
    randomisation_numbers,
    run_checks,
    settings_panel,
    shuffled_model,
)
from dlviz.ui.input_widgets import input_picker
from dlviz.ui.inspect_state import inspect_header
from dlviz.ui.plain import plain

ss = st.session_state
VERDICT = {
    "trust": ("blue", ":material/verified:"),
    "caution": ("orange", ":material/warning:"),
    "doubt": ("red", ":material/report:"),
}

st.title(t("Explain"))
if getattr(get_info(ss.dataset), "kind", "image") == "text":  # a text dataset: explain a text run's words
    st.caption(
        t(
            "Why did the model decide this? Type a sentence, and several explanation methods show which words "
            "pushed the decision, side by side, with checks that say how far to trust them."
        )
    )
    from dlviz.ui.text_explain_widgets import words_that_mattered
    from dlviz.ui.text_state import one_thread, show_prediction, text_header
    from dlviz.ui.text_state import predict as predict_text

    tctx = text_header()
    if tctx is None or tctx.sentence is None:
        st.stop()
    with one_thread():  # one short sentence: a second OpenMP thread only waits on a busy CPU
        show_prediction(tctx, predict_text(tctx, tctx.sentence), key="_exp_txt_probs")
        words_that_mattered(tctx, key="_exp_txt")
    st.stop()
st.caption(
    t(
        "Why did the model decide this? Pick an input, and several explanation methods show which pixels pushed "
        "the decision, side by side, with checks that say how far to trust them."
    )
)
ctx = inspect_header()
if ctx is None:
    st.caption(t("Explaining a text model? Choose its dataset (rt-polarity or zh-reviews) in the sidebar."))
    st.stop()

# the panel's label never changes with the input: Streamlit folds an expander whose label changed, so the panel
# closed after every pick (issue 13); what is being explained is said in the caption below it
with st.expander(t("Input: pick a test image, draw or upload"), icon=":material/image:", key="_exp_input_panel"):
    inp = input_picker(ctx)
st.caption(t("Explaining: {caption}", caption=inp.caption))
probs = predict(ctx, inp)
pred = int(probs.argmax())
image = inp.x[0]

left, right = st.columns([2, 3])
with left:
    st.plotly_chart(
        probability_bars(probs.tolist(), inp.label, ctx.classes, tr=t),
        width="stretch",
        config={"displayModeBar": False},
        key="_exp_probs",
    )
with right:
    target, contrast = class_pickers(ctx, pred)
    chosen = method_picker(ctx.model)
    settings = settings_panel(chosen, ctx.model)
if not chosen:
    st.info(t("Choose at least one method."), icon=":material/info:")
    st.stop()

res = explain_all(ctx, inp, target, contrast, settings)
for m, e in res.errors.items():
    st.warning(f"**{t(METHODS[m].title)}**: {e.message(ss.get('lang', 'en'), escape=plain)}", icon=":material/info:")
if not res.maps:
    st.stop()
titles = {m: t(METHODS[m].title) for m in res.maps}
names = [str(c) for c in ctx.classes]
question = (
    t("Why {a} and not {b}?", a=names[target], b=names[contrast])
    if contrast is not None
    else t("Why {a}?", a=names[target])
)
st.subheader(question)
st.plotly_chart(
    comparison_figure(image, res.maps, titles, tr=t),
    width="stretch",
    config={"displayModeBar": False},
    key="_exp_compare",
)
st.caption(" · ".join(t("{method}: {ms:.0f} ms", method=titles[m], ms=a.seconds * 1000) for m, a in res.maps.items()))
for m, a in res.maps.items():
    if a.empty:
        st.info(
            t(
                "{method} is empty: every pixel gets zero. With a black baseline an image with no ink has nothing "
                "to compare, so there is nothing to explain.",
                method=titles[m],
            )
            if float(image.abs().max()) == 0
            else t("{method} is empty: every pixel gets zero, so this method sees no evidence here.", method=titles[m]),
            icon=":material/info:",
        )

# like with like: two signed maps as signed numbers, a pair with an unsigned map as |map|
agree_names, matrix = rank_agreement(
    {titles[m]: a.map for m, a in res.maps.items()}, {titles[m]: a.signed for m, a in res.maps.items()}
)
agreement = mean_agreement(matrix)

primary = check_method(res.maps)
checks = cached_checks(ctx, inp, target, contrast, primary, settings[primary])
card = make_card(
    ctx.classes,
    probs,
    target,
    contrast,
    image,
    res.maps,
    agreement,
    completeness=checks.completeness if checks else None,
    randomisation=checks.randomisation if checks else None,
    curves=checks.curves if checks else None,
    lang=ss.get("lang", "en"),
    label=inp.label if inp.source == "test" else None,
    source=inp.source,
    data_randomisation=checks.data_randomisation if checks else None,
    fidelity=checks.fidelity if checks else None,
)
c1, c2 = st.columns([3, 2])
with c1.container(border=True):
    colour, icon = VERDICT.get(card.verdict, ("gray", ":material/help:"))
    st.markdown(f"#### {card.headline}")
    # the badge rates the explanation, never the answer (whether the answer is right is the card's first line)
    st.badge(verdict_title(card.verdict, ss.get("lang", "en")), icon=icon, color=colour)
    # the checks' own lines appear, with their numbers and pictures, under "Can we trust it?"
    hide = card.check_lines if checks else []
    st.markdown("\n".join(f"- {line}" for line in card.lines if line not in hide))
with c2:
    if agreement is None:
        st.caption(t("Choose two or more methods to see whether they agree."))
    else:
        st.metric(
            t("Agreement between the methods"),
            f"{agreement:.2f}",
            help=t(
                "How alike the maps are, from 1 (the same pixels in the same order) through 0 (unrelated) to -1 "
                "(opposite): the mean rank correlation (Spearman) of each pair, signed where both maps are "
                "signed, by strength where either has no sign."
            ),
        )
        with st.expander(t("Agreement of each pair")):
            st.plotly_chart(
                agreement_heatmap(agree_names, matrix, tr=t),
                width="stretch",
                config={"displayModeBar": False},
                key="_exp_agree",
            )

st.subheader(t("Can we trust it?"))
st.caption(
    t(
        "Checks from the research literature, run on {method}: do the parts add up, does the map depend on the "
        "trained weights and on the real labels, does it point at the pixels the model really needs, and does "
        "it predict what small changes do?",
        method=titles[primary],
    ),
    help=help_text("completeness", "randomisation", "deletion", lang=st.session_state.get("lang", "en")),
)
if checks is None:
    if st.button(t("Run the sanity checks"), icon=":material/fact_check:", key="_exp_run_checks"):
        try:
            checks = run_checks(ctx, inp, target, contrast, primary, settings[primary], res.maps[primary])
        except DlvizError as e:
            show_error(e)
        else:
            st.rerun()
else:
    for line in check_lines(checks, data=False):
        st.markdown(f"- {line}")
    st.caption(
        randomisation_numbers(checks.randomisation)
        + " "
        + t("The rule is fixed and written down in docs/explain-checks.md.")
    )
    g1, g2 = st.columns(2)
    g1.plotly_chart(
        curves_figure(checks.curves, tr=t), width="stretch", config={"displayModeBar": False}, key="_exp_curves"
    )
    g2.plotly_chart(
        randomisation_figure(checks.randomisation, tr=t),
        width="stretch",
        config={"displayModeBar": False},
        key="_exp_random",
    )
    # the data-randomisation test (Adebayo et al. 2018): only a tool that trains can run it
    st.markdown(f"**{t('Data randomisation')}**")
    st.caption(
        t(
            "Train the same network on {n:,} training images whose labels were shuffled, so there is nothing "
            "real to learn, and compare its map with this one. A faithful map should look different.",
            n=SHUFFLED_IMAGES,
        )
    )
    if checks.data_randomisation is None:
        if st.button(t("Train on shuffled labels and compare"), icon=":material/shuffle:", key="_exp_data_random"):
            try:
                shuffled, acc, n = shuffled_model(ctx)
                checks.data_randomisation = data_randomisation_test(
                    ctx.model, shuffled, inp.x, target, primary, contrast=contrast, **settings[primary]
                )
            except DlvizError as e:
                show_error(e)
            else:
                st.rerun()
    else:
        st.markdown(f"- {randomisation_sentence(checks.data_randomisation, ss.get('lang', 'en'))}")
        st.caption(randomisation_numbers(checks.data_randomisation))

st.subheader(t("Take it with you"))
st.caption(
    t(
        "The picture is for slides; the handout is one page with the image, the maps and the card, and opens "
        "offline in any browser."
    )
)
d1, d2 = st.columns(2)
stem = f"dlviz-{ctx.run.id}-{'-'.join(res.maps)}"
lang, lines = ss.get("lang", "en"), check_lines(checks) if checks else []
# built once per explanation, language and checks (about 0.3 s together), then served from the session;
# a deferred callable was dropped now and then when the click raced a rerun on a busy machine
files = ss.setdefault("_exp_files", {})
fkey = (
    input_key(ctx, inp),
    target,
    contrast,
    repr([(m, sorted(settings[m].items())) for m in res.maps]),
    lang,
    checks is not None,
)
if fkey not in files:
    files.clear()
    files[fkey] = (
        comparison_png(image, res.maps, titles, tr=t),
        handout_html(question, image, res.maps, titles, card, lines, lang=lang),
    )
png, html_page = files[fkey]
d1.download_button(
    t("Picture (PNG)"),
    png,
    file_name=f"{stem}.png",
    mime="image/png",
    icon=":material/download:",
    width="stretch",
    key="_exp_png",
)
d2.download_button(
    t("One-page handout (HTML)"),
    html_page,
    file_name=f"{stem}.html",
    mime="text/html",
    icon=":material/description:",
    width="stretch",
    key="_exp_html",
)
