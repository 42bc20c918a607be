""" "Which words mattered": the text branch of the Explain page (and a compact view for the Attention page).

``words_that_mattered(ctx)`` (``ctx`` from ``dlviz.ui.text_state.text_header()``) draws, for its sentence:
class pickers ("explain the class", "...and not"), the methods to compare with their settings, one row of
coloured word chips per method (blue for the class, vermillion against, every word escaped), a plain-language
card with the completeness check and a verdict, the randomisation and deletion/insertion checks on demand,
and a PNG and a one-page HTML handout. ``compact=True`` draws only the Integrated Gradients chips for the
model's answer and the card's lines about the words. Attributions are cached in this session's state, keyed
by everything that changes them; the cache key names the model by run id and replay point.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import streamlit as st
import torch

from dlviz.errors import DlvizError
from dlviz.explain.batch import explain_many
from dlviz.explain.card import randomisation_sentence, verdict_title
from dlviz.explain.checks import completeness, mean_agreement, rank_agreement
from dlviz.explain.handout import text_handout_html
from dlviz.explain.text import (
    BASELINE_TITLES,
    FILL_TITLES,
    MIN_WORDS_TO_RANK,
    TEXT_METHODS,
    EncodedText,
    attribute_text,
    text_card,
    text_data_randomisation,
    text_fidelity,
    text_randomisation,
    word_curves,
)
from dlviz.plots.explain import randomisation_figure
from dlviz.plots.text import chips_html, chips_png, comparison_html, lines_html, word_curves_figure
from dlviz.ui.plain import plain
from dlviz.ui.state import t
from dlviz.ui.widgets import show_error

ss = st.session_state
DEFAULT_METHODS = ("integrated_gradients", "occlusion")
PREFERRED_CHECK = ("integrated_gradients", "occlusion", "input_x_gradient", "saliency")
CACHE = 64  # sentence attributions kept per session (a few dozen floats each)
VERDICT = {
    "trust": ("blue", ":material/verified:"),
    "caution": ("orange", ":material/warning:"),
    "doubt": ("red", ":material/report:"),
}


@dataclass
class TextChecks:
    method: str
    randomisation: object = None  # dlviz.explain.checks.Randomisation | None (None: too few words)
    curves: object = None  # dlviz.explain.checks.Curves | None
    too_short: bool = False
    fidelity: object = None  # dlviz.explain.checks.Fidelity: captum's infidelity and sensitivity, beside random
    data_randomisation: object = None  # Randomisation against a shuffled-label model (on demand)


SHUFFLED_SENTENCES = 3000  # training sentences for the shuffled-label model (a few thousand: well under a minute)


@dataclass
class TextExplained:
    encoded: EncodedText
    probs: torch.Tensor
    target: int
    contrast: int | None
    maps: dict = field(default_factory=dict)  # method -> TextAttribution
    errors: dict = field(default_factory=dict)  # method -> DlvizError
    checks: TextChecks | None = None  # the sanity checks, once run


def _w(key: str, name: str) -> str:
    """A widget key naming the language (a keyed widget keeps its old label after a language switch)."""
    return f"{key}w_{name}_{ss.get('lang', 'en')}"


def _keep(widget_key: str, keep_key: str) -> None:
    ss[keep_key] = ss[widget_key]


def _remember(widget_key: str, keep_key: str, default):
    if widget_key not in ss:
        ss[widget_key] = ss.get(keep_key, default)


def valid_pick(value, allowed, default):
    """``value`` when it is one of the ints in ``allowed``, else ``default`` (a stale label, a bool, None)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value in allowed
    return value if ok else default


def _class_name(classes, i: int) -> str:
    return t(str(classes[i])) if 0 <= i < len(classes) else str(i)


def predict_text(model, ids: torch.Tensor) -> torch.Tensor:
    """The model's class probabilities (K,) for one sentence of ids (L,)."""
    with torch.no_grad():
        return torch.softmax(model(ids.unsqueeze(0)).float(), 1)[0]


def _class_pickers(classes, pred: int, key: str) -> tuple[int, int | None]:
    answer, none = -1, -1
    c1, c2 = st.columns(2)
    wt, kt = _w(key, "target"), f"{key}_target"
    _remember(wt, kt, answer)
    # Streamlit keeps a selectbox's value as its label and hands back the label itself when it matches no
    # option any more: "negative (the model's answer)" after a new sentence changed the answer (issue 14)
    ss[wt] = valid_pick(ss[wt], range(-1, len(classes)), answer)
    pick = c1.selectbox(
        t("Explain the class"),
        [answer] + list(range(len(classes))),
        key=wt,
        on_change=_keep,
        args=(wt, kt),
        format_func=lambda i: (
            t("{name} (the model's answer)", name=_class_name(classes, pred))
            if i == answer
            else _class_name(classes, i)
        ),
        help=t("Which class's score to explain. The model's own answer is the usual question."),
    )
    pick = valid_pick(pick, range(-1, len(classes)), answer)
    target = pred if pick == answer else int(pick)
    wc, kc = _w(key, "contrast"), f"{key}_contrast"
    _remember(wc, kc, none)
    if valid_pick(ss[wc], range(-1, len(classes)), none) in (none, target):
        ss[wc] = ss[kc] = none
    contrast = c2.selectbox(
        t("...and not"),
        [none] + [i for i in range(len(classes)) if i != target],
        key=wc,
        on_change=_keep,
        args=(wc, kc),
        format_func=lambda i: t("(no contrast)") if i == none else _class_name(classes, i),
        help=t(
            "'Why positive and not negative?' explains the difference between the two "
            "scores, so only the words that tell the two classes apart show."
        ),
    )
    contrast = valid_pick(contrast, [i for i in range(len(classes)) if i != target], none)
    return target, (None if contrast == none else int(contrast))


def _method_picker(key: str) -> list[str]:
    wm, km = _w(key, "methods"), f"{key}_methods"
    _remember(wm, km, list(DEFAULT_METHODS))
    ss[wm] = [m for m in ss[wm] if m in TEXT_METHODS]
    return st.multiselect(
        t("Methods to compare"),
        list(TEXT_METHODS),
        key=wm,
        on_change=_keep,
        args=(wm, km),
        format_func=lambda k: t(TEXT_METHODS[k].title),
        help=t("Each method answers 'which words mattered?' in its own way. Where they agree, trust grows."),
    )


def _choice_title(method: str, name: str, value) -> str:
    table = BASELINE_TITLES if name == "baseline" else FILL_TITLES if name == "fill" else {}
    return t(table[value]) if value in table else str(value)


def _settings_panel(chosen: list[str], key: str) -> dict[str, dict]:
    out: dict[str, dict] = {m: {} for m in chosen}
    with_settings = [m for m in chosen if TEXT_METHODS[m].settings]
    # one row that wraps, each button as wide as its label (fixed columns cut the labels: "Integrat…")
    row = st.container(horizontal=True, gap="small", key=f"{key}_settings_row")
    for m in with_settings:
        meth = TEXT_METHODS[m]
        with row.popover(
            t(meth.title), icon=":material/tune:", width="content", help=t("{method} settings", method=t(meth.title))
        ):
            st.caption(t(meth.blurb))
            for name, s in meth.settings.items():
                wk, kk = _w(key, f"{m}_{name}"), f"{key}_{m}_{name}"
                _remember(wk, kk, s.default)
                kw = dict(key=wk, on_change=_keep, args=(wk, kk), help=t(s.help) if s.help else None)
                title = t(s.title) if s.title else name
                if s.choices is not None:
                    out[m][name] = st.selectbox(
                        title, list(s.choices), format_func=lambda c, m=m, n=name: _choice_title(m, n, c), **kw
                    )
                else:
                    out[m][name] = int(st.slider(title, int(s.lo), int(s.hi), step=1, **kw))
    return out


def explain_text(
    model,
    encoded: EncodedText,
    target: int,
    contrast: int | None,
    chosen: dict[str, dict],
    probs: torch.Tensor,
    cache_key: str,
) -> TextExplained:
    """Every chosen method's word scores (cached), with a progress bar while any is computed."""
    cache: dict = ss.setdefault("_txe_cache", {})
    ids_key = hashlib.sha1(encoded.ids.numpy().tobytes()).hexdigest()[:16]
    base = f"{cache_key}|{ids_key}"
    todo = [m for m in chosen if (base, target, contrast, m, repr(sorted(chosen[m].items()))) not in cache]
    bar = st.progress(0.0, text=t("Computing the explanations...")) if todo else None

    def on_method(i: int, m: str) -> None:
        bar.progress(i / len(chosen), text=t("Computing {method}...", method=t(TEXT_METHODS[m].title)))

    got = explain_many(model, encoded.ids, target, contrast, chosen, cache, base, attribute_text, on_method, CACHE)
    if bar:
        bar.empty()
    return TextExplained(encoded, probs, target, contrast, got.maps, got.errors)


def check_method(maps: dict) -> str | None:
    """The method whose sanity checks feed the card: Integrated Gradients first, an empty map last."""
    ranked = [m for m in PREFERRED_CHECK if m in maps] + [m for m in maps if m not in PREFERRED_CHECK]
    return next((m for m in ranked if not maps[m].empty), ranked[0] if ranked else None)


def _checks_key(
    cache_key: str, encoded: EncodedText, target: int, contrast: int | None, method: str, settings: dict
) -> tuple:
    ids_key = hashlib.sha1(encoded.ids.numpy().tobytes()).hexdigest()[:16]
    return (cache_key, ids_key, target, contrast, method, repr(sorted(settings.items())))


def run_text_checks(
    model, encoded: EncodedText, target: int, contrast: int | None, method: str, settings: dict, attr, cache_key: str
) -> TextChecks:
    """The randomisation test and the word deletion/insertion curves for one method (cached; progress shown)."""
    cache: dict = ss.setdefault("_txe_checks", {})
    key = _checks_key(cache_key, encoded, target, contrast, method, settings)
    if key not in cache:
        c = TextChecks(method, too_short=len(encoded.words) < MIN_WORDS_TO_RANK)
        if not c.too_short:
            bar = st.progress(0.1, text=t("Randomising the model layer by layer..."))
            c.randomisation = text_randomisation(model, encoded.ids, target, method, contrast=contrast, **settings)
            bar.progress(0.6, text=t("Removing and putting back words..."))
            c.curves = word_curves(model, encoded.ids, target, attr.scores)
            bar.progress(0.7, text=t("Measuring infidelity and sensitivity..."))
            c.fidelity = text_fidelity(model, encoded.ids, target, method, attr.scores, contrast=contrast, **settings)
            bar.empty()
        while len(cache) >= 16:
            cache.pop(next(iter(cache)))
        cache[key] = c
    return cache[key]


def _checks_section(
    model, res: TextExplained, chosen: dict, cache_key: str, key: str, method: str, shuffled=None
) -> None:
    """ "Can we trust it?": a button that runs the checks, then their figures (the lines are in the card)."""
    st.subheader(t("Can we trust it?"))
    st.caption(
        t(
            "Two checks from the research literature, run on {method}: do the word scores depend on the trained "
            "weights, and does removing the top-scored words lower the class's probability faster than removing "
            "random words?",
            method=t(TEXT_METHODS[method].title),
        )
    )
    if len(res.encoded.words) < MIN_WORDS_TO_RANK:
        st.caption(
            t("The sentence is too short for the randomisation and deletion checks (they need at least 3 words).")
        )
        return
    if res.checks is None:
        if st.button(t("Run the sanity checks"), icon=":material/fact_check:", key=f"{key}_run_checks"):
            try:
                run_text_checks(
                    model, res.encoded, res.target, res.contrast, method, chosen[method], res.maps[method], cache_key
                )
            except DlvizError as e:
                show_error(e)
            else:
                st.rerun()
        return
    c = res.checks
    if c.too_short:
        return
    g1, g2 = st.columns(2)
    if c.curves is not None:
        g1.plotly_chart(
            word_curves_figure(c.curves, tr=t), width="stretch", config={"displayModeBar": False}, key=f"{key}_curves"
        )
    if c.randomisation is not None:
        g2.plotly_chart(
            randomisation_figure(c.randomisation, tr=t),
            width="stretch",
            config={"displayModeBar": False},
            key=f"{key}_random",
        )
    if shuffled is None:
        return
    # the data-randomisation test (Adebayo et al. 2018): only a tool that trains can run it
    st.markdown(f"**{t('Data randomisation')}**")
    st.caption(
        t(
            "Train the same network on {n:,} training sentences whose labels were shuffled, so there is nothing "
            "real to learn, and compare its word scores with these. Faithful scores should look different.",
            n=SHUFFLED_SENTENCES,
        )
    )
    if c.data_randomisation is None:
        if st.button(t("Train on shuffled labels and compare"), icon=":material/shuffle:", key=f"{key}_data_random"):
            try:
                other, _acc, _n = shuffled()
                c.data_randomisation = text_data_randomisation(
                    model, other, res.encoded.ids, res.target, method, contrast=res.contrast, **chosen[method]
                )
            except DlvizError as e:
                show_error(e)
            else:
                st.rerun()
    else:
        st.markdown(f"- {randomisation_sentence(c.data_randomisation, ss.get('lang', 'en'), 'words')}")


def as_encoded(sentence) -> EncodedText:
    """A dlviz.ui.text_state.Sentence (or an EncodedText) as the EncodedText the explanations use."""
    if isinstance(sentence, EncodedText):
        return sentence
    return EncodedText(
        sentence.text,
        sentence.ids,
        [str(w) for w in sentence.tokens],
        list(sentence.unknown),
        bool(sentence.truncated),
        int(sentence.total),
    )


def words_that_mattered(ctx, key: str = "_txe", compact: bool = False) -> TextExplained | None:
    """The whole "which words mattered" view for the text page context ``ctx`` (dlviz.ui.text_state.TextCtx:
    model, classes, run, tag, sentence). Nothing is drawn when ``ctx.sentence`` is None (the sentence box
    has already said why). ``key`` prefixes every widget key: use a different one on each page."""
    if ctx is None or getattr(ctx, "sentence", None) is None:
        return None
    return words_panel(
        ctx.model,
        as_encoded(ctx.sentence),
        ctx.classes,
        cache_key=f"{ctx.run.id}|{ctx.tag}",
        key=key,
        compact=compact,
        shuffled=lambda: shuffled_text_model(ctx),
    )


def shuffled_text_model(ctx):
    """The same architecture trained on SHUFFLED_SENTENCES training sentences (encoded with the run's own
    vocabulary and length) with their labels shuffled, for the data-randomisation test; kept in this session
    per run and replay point; a progress bar while it loads and trains."""
    from dlviz.data.tokenize import encode_batch
    from dlviz.train.runner import text_transform
    from dlviz.ui.explain_widgets import train_shuffled
    from dlviz.ui.state import get_data

    store = ss.setdefault("_txe_shuffled", {})
    key = (ctx.run.id, ctx.tag)
    if key not in store:
        bar = st.progress(0.0, text=t("Loading {n} training sentences...", n=SHUFFLED_SENTENCES))
        d = get_data(ctx.run.dataset)
        n = min(SHUFFLED_SENTENCES, len(d.train_y))
        ids, _, _ = encode_batch(list(d.train_texts[:n]), ctx.vocab, ctx.max_len)
        model, acc = train_shuffled(ctx.model, ids.long(), d.train_y[:n], text_transform, bar)
        store.clear()
        store[key] = (model, acc, n)
    return store[key]


def words_panel(
    model, encoded: EncodedText, classes, cache_key: str, key: str = "_txe", compact: bool = False, shuffled=None
) -> TextExplained | None:
    """Draw "which words mattered" for one encoded sentence and return what was computed. ``model`` is the
    text model in eval mode (left unchanged), ``classes`` its class names, ``cache_key`` names the model
    (run id and replay point) for the cache; ``shuffled()`` trains (or gives back) the shuffled-label model of the
    data-randomisation test (None: no such test here). ``compact``: only Integrated Gradients for the model's answer,
    with the words for and against in one or two lines (for the Attention page)."""
    lang = ss.get("lang", "en")
    probs = predict_text(model, encoded.ids)
    pred = int(probs.argmax())
    if compact:
        target, contrast = pred, None
        chosen = {"integrated_gradients": {}}
    else:
        target, contrast = _class_pickers(classes, pred, key)
        methods = _method_picker(key)
        if not methods:
            st.info(t("Choose at least one method."), icon=":material/info:")
            return None
        chosen = _settings_panel(methods, key)
    res = explain_text(model, encoded, target, contrast, chosen, probs, cache_key)
    for m, e in res.errors.items():
        st.warning(f"**{t(TEXT_METHODS[m].title)}**: {e.message(lang, escape=plain)}", icon=":material/info:")
    if not res.maps:
        return res
    names = [_class_name(classes, i) for i in range(len(probs))]
    ig = res.maps.get("integrated_gradients")
    check = completeness(ig) if ig is not None else None
    agreement = None
    if len(res.maps) >= 2:
        agreement = mean_agreement(
            rank_agreement({m: a.scores for m, a in res.maps.items()}, {m: a.signed for m, a in res.maps.items()})[1]
        )
    method = check_method(res.maps)
    res.checks = ss.get("_txe_checks", {}).get(
        _checks_key(cache_key, encoded, target, contrast, method, chosen[method])
    )
    c = res.checks
    card = text_card(
        names,
        probs,
        target,
        contrast,
        encoded,
        res.maps,
        agreement,
        check,
        randomisation=c.randomisation if c else None,
        curves=c.curves if c else None,
        too_short=bool(c and c.too_short),
        lang=lang,
        data_randomisation=c.data_randomisation if c else None,
        fidelity=c.fidelity if c else None,
    )
    titles = {m: t(TEXT_METHODS[m].title) for m in res.maps}
    if compact:
        a = next(iter(res.maps.values()))
        st.markdown(f"**{t('Which words mattered')}**")
        st.html(chips_html(encoded.words, a.scores, encoded.unknown, a.signed, tr=t))
        st.html(lines_html(card.headline, card.word_lines))
        return res
    question = (
        t("Why {a} and not {b}?", a=plain(names[target]), b=plain(names[contrast]))
        if contrast is not None
        else t("Why {a}?", a=plain(names[target]))
    )
    st.subheader(question)
    st.html(comparison_html(encoded.words, res.maps, titles, encoded.unknown, tr=t))
    with st.container(border=True):
        colour, icon = VERDICT.get(card.verdict, ("gray", ":material/help:"))
        # the badge rates the explanation, never the answer (a typed sentence has no known answer: the card says so)
        st.badge(verdict_title(card.verdict, lang), icon=icon, color=colour)
        st.html(lines_html(card.headline, card.lines))
    _checks_section(model, res, chosen, cache_key, key, method, shuffled)
    # the files are built once per explanation, language and checks, then served from the session (a deferred
    # download callable can be dropped when the click races a rerun on a busy machine)
    files = ss.setdefault("_txe_files", {})
    fkey = (
        cache_key,
        repr(encoded.ids.tolist()),
        target,
        contrast,
        repr([(m, sorted(chosen[m].items())) for m in res.maps]),
        lang,
        c is not None,
        c is not None and c.data_randomisation is not None,
    )
    if fkey not in files:
        files.clear()
        rows = {titles[m]: (a.scores, a.signed) for m, a in res.maps.items()}
        files[fkey] = (
            chips_png(encoded.words, rows, encoded.unknown, tr=t, title=question),
            text_handout_html(question, encoded.words, res.maps, titles, card, encoded.unknown, lang=lang),
        )
    png, page = files[fkey]
    stem = f"dlviz-words-{'-'.join(res.maps)}"
    d1, d2 = st.columns(2)
    d1.download_button(
        t("Picture (PNG)"),
        png,
        file_name=f"{stem}.png",
        mime="image/png",
        icon=":material/download:",
        width="stretch",
        key=f"{key}_png",
    )
    d2.download_button(
        t("One-page handout (HTML)"),
        page,
        file_name=f"{stem}.html",
        mime="text/html",
        icon=":material/description:",
        width="stretch",
        key=f"{key}_html",
    )
    return res
