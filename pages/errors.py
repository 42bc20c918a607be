"""Errors page: the confusion matrix; a cell opens the test images behind it."""

import streamlit as st

from dlviz.inspect.errors import cell_indices, confusion, top_confusions
from dlviz.plots import prediction_gallery
from dlviz.plots.errors import confusion_grid
from dlviz.ui import ensure_app, t
from dlviz.ui import keys as K
from dlviz.ui.errors_widgets import picked_cell, test_probs
from dlviz.ui.input_widgets import open_test_image
from dlviz.ui.inspect_state import inspect_header

ensure_app()
ss = st.session_state
PAGE = 12

st.title(t("Errors"))
st.caption(
    t(
        "Which digits does the model get wrong, and what does it mistake them for? Click a square to see the "
        "test images behind it."
    )
)
ctx = inspect_header()
if ctx is None:
    st.stop()
probs = test_probs(ctx)
y = ctx.data.test_y
pred = probs.argmax(1)
k = len(ctx.classes)
conf = confusion(y, pred, k)
wrong = int((pred != y).sum())
top = top_confusions(conf, 3)
st.markdown(
    t(
        "**{acc:.2%}** of the {n:,} test images are right; **{wrong:,}** are wrong.",
        acc=1 - wrong / len(y),
        n=len(y),
        wrong=wrong,
    )
)
if top:
    tr_, pr_, c = top[0]
    st.markdown(
        t(
            "It most often mistakes **{true}** for **{pred}** ({n} times).",
            true=ctx.classes[tr_],
            pred=ctx.classes[pr_],
            n=c,
        )
    )

default = (top[0][0], top[0][1]) if top else (0, 0)
left, right = st.columns([5, 6])
with left:
    cell = picked_cell(default)
    st.plotly_chart(
        confusion_grid(conf.numpy(), ctx.classes, t, cell),
        on_select="rerun",
        selection_mode="points",
        key=K.ERR_GRID,
        width="stretch",
        config={"displayModeBar": False},
    )  # no zoom here (dragmode off); the bar hid the axis title
    options = [(a, b) for a in range(k) for b in range(k)]
    chosen = st.selectbox(
        t("Or choose a cell"),
        options,
        index=options.index(cell),
        key=K.err_pick(cell),
        format_func=lambda c: t(
            "true {true}, predicted {pred}: {n} images", true=ctx.classes[c[0]], pred=ctx.classes[c[1]], n=int(conf[c])
        ),
    )
    if chosen != cell:
        ss[K.ERR_CELL] = chosen
        st.rerun()
with right:
    true, guess = cell
    idx = cell_indices(y, probs, true, guess)
    if true == guess:
        st.subheader(t("{true} recognised correctly: {n} images", true=ctx.classes[true], n=len(idx)))
        st.caption(t("The least confident right answers come last; they are the closest calls."))
    else:
        st.subheader(
            t("{true} taken for {pred}: {n} images", true=ctx.classes[true], pred=ctx.classes[guess], n=len(idx))
        )
        st.caption(t("Most confident mistakes first. Blue is the true class, vermillion the model's answer."))
    if len(idx) == 0:
        st.info(t("No test image falls in this square."), icon=":material/info:")
    else:
        pages = (len(idx) - 1) // PAGE + 1
        page = st.number_input(t("Page (of {n})", n=pages), 1, pages, 1, key=K.err_page(cell)) if pages > 1 else 1
        show = idx[(page - 1) * PAGE : page * PAGE]
        fig = prediction_gallery(ctx.data.test_x[show].numpy(), probs[show].numpy(), y[show].tolist(), ctx.classes, t)
        st.plotly_chart(fig, width="stretch", key=K.ERR_GALLERY)
        pick_key = K.err_open(cell[0], cell[1], page)

        def open_picked(key: str = pick_key) -> None:
            chosen = ss.get(key)
            if chosen is not None:
                open_test_image(ctx, int(chosen), "Errors")
                ss[key] = None
                ss[K.ERR_GOTO] = "pages/inspect.py"

        st.pills(
            t("Open one on Inspect and Explain (test image numbers, in the order above):"),
            [int(i) for i in show],
            format_func=lambda i: f"#{i}",
            key=pick_key,
            on_change=open_picked,
            help=t(
                "One click opens that image on the Inspect page, every layer's view of it; the Explain "
                "page shows the same image."
            ),
        )
        if ss.pop(K.ERR_GOTO, None):
            st.switch_page("pages/inspect.py")
