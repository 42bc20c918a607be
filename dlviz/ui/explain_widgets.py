"""The Explain page's widgets, for every kind of input: which class, which methods and settings, cached
attributions, the card, the sanity checks (with the data-randomisation test), a picture and a handout.

The page asks its dataset's modality (``explain_page(dataset)``): ``modality.view`` names the inputs the
methods read (``dlviz.explain.methods_for``: "image" or "tokens") and the view that shows the maps (an image
with a map per method; rows of coloured word chips). Everything else (the pickers, the settings, the cache,
the checks, the data-randomisation test, the downloads) is written once here. ``words_that_mattered(ctx)`` is
the word view alone, also used on the Attention and Sequence pages.

Attributions are cached in this session's state, keyed by everything that changes them (run, replay point,
input, target, contrast, method, settings), so moving a slider elsewhere on the page does not recompute
them. Settings are mirrored into plain keys because Streamlit forgets widget values on pages that are not
shown: a widget ``{prefix}w_{name}_{lang}`` keeps its value in ``{prefix}_{name}``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import streamlit as st
import torch

from dlviz.errors import DlvizError
from dlviz.explain import conv_layers, methods_for
from dlviz.explain.batch import Explained, explain_many
from dlviz.explain.card import make_card, randomisation_sentence, verdict_title
from dlviz.explain.checks import completeness, data_randomisation_test, mean_agreement, rank_agreement
from dlviz.explain.handout import handout_html, text_handout_html
from dlviz.explain.text import (
    MIN_WORDS_TO_RANK,
    EncodedText,
    text_card,
    text_data_randomisation,
    text_fidelity,
    text_randomisation,
    word_curves,
)
from dlviz.glossary import help_text
from dlviz.modality import modality_of
from dlviz.plots import probability_bars
from dlviz.plots.explain import (
    agreement_heatmap,
    comparison_figure,
    comparison_png,
    curves_figure,
    randomisation_figure,
)
from dlviz.plots.text import chips_html, chips_png, comparison_html, lines_html, word_curves_figure
from dlviz.ui.cache import run_dict
from dlviz.ui.plain import plain
from dlviz.ui.state import t
from dlviz.ui.widgets import show_error

ss = st.session_state
METHODS = methods_for("image")
WORD_METHODS = methods_for("tokens")
DEFAULT_METHODS = ("saliency", "integrated_gradients", "grad_cam", "occlusion")
DEFAULT_WORD_METHODS = ("integrated_gradients", "occlusion")
FILES_KEPT = 8  # explanations' files (a picture and a handout) kept for a lesson's run, for the whole class
CACHE = 48  # attributions kept per session (a 28x28 map each)
MAPS = "_exp_cache"  # where the image page keeps them (``run_dict``)
WORD_CACHE = 64  # sentence attributions kept per session (a few dozen floats each)
PREFERRED_CHECK = ("integrated_gradients", "deeplift", "kernel_shap", "gradient_shap", "occlusion")
PREFERRED_WORD_CHECK = ("integrated_gradients", "occlusion", "input_x_gradient", "saliency")
SHUFFLED_IMAGES = 3000  # training images for the shuffled-label model (a few thousand: under a minute)
SHUFFLED_SENTENCES = 3000  # training sentences for the shuffled-label model (a few thousand: well under a minute)
SHUFFLED_EPOCHS = 2
VERDICT = {
    "trust": ("blue", ":material/verified:"),
    "caution": ("orange", ":material/warning:"),
    "doubt": ("red", ":material/report:"),
}
NO_BAR = {"displayModeBar": False}


# --------------------------------------------------------------------------------------------
# Shared: pickers and settings


def _w(prefix: str, name: str) -> str:
    """A widget key that names the language: the browser keeps a keyed widget's old label when the labels
    are translated anew, so each language gets its own widget (the value lives in ``{prefix}_{name}``)."""
    return f"{prefix}w_{name}_{ss.get('lang', 'en')}"


def _keep(widget_key: str, keep_key: str) -> None:
    ss[keep_key] = ss[widget_key]


def _remember(prefix: str, name: str, default) -> dict:
    """The keyword arguments of a widget that remembers its value in ``{prefix}_{name}`` (set to ``default``
    the first time)."""
    wkey, kkey = _w(prefix, name), f"{prefix}_{name}"
    if wkey not in ss:
        ss[wkey] = ss.get(kkey, default)
    return dict(key=wkey, on_change=_keep, args=(wkey, kkey))


def valid_pick(value, allowed, default):
    """``value`` when it is one of the ints in ``allowed``, else ``default`` (a stale label, a bool, None)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value in allowed
    return value if ok else default


def class_pickers(names: list[str], pred: int, prefix: str, contrast_help: str) -> tuple[int, int | None]:
    """ "Explain the class" (default: the model's answer, whatever the input) and "...and not" (default: none).
    ``names``: the class names as shown."""
    answer, none = -1, -1
    c1, c2 = st.columns(2)
    kw = _remember(prefix, "target", answer)
    # Streamlit keeps a selectbox's value as its label and hands back the label itself when it matches no option
    # any more: "negative (the model's answer)" after a new input changed the answer (issue 14)
    ss[kw["key"]] = valid_pick(ss[kw["key"]], range(-1, len(names)), answer)
    pick = c1.selectbox(
        t("Explain the class"),
        [answer] + list(range(len(names))),
        format_func=lambda i: t("{name} (the model's answer)", name=names[pred]) if i == answer else names[i],
        help=t("Which class's score to explain. The model's own answer is the usual question."),
        **kw,
    )
    pick = valid_pick(pick, range(-1, len(names)), answer)
    target = pred if pick == answer else int(pick)
    kw = _remember(prefix, "contrast", none)
    if valid_pick(ss[kw["key"]], range(-1, len(names)), none) in (none, target):
        ss[kw["key"]] = ss[f"{prefix}_contrast"] = none
    contrast = c2.selectbox(
        t("...and not"),
        [none] + [i for i in range(len(names)) if i != target],
        format_func=lambda i: t("(no contrast)") if i == none else names[i],
        help=contrast_help,
        **kw,
    )
    contrast = valid_pick(contrast, [i for i in range(len(names)) if i != target], none)
    return target, (None if contrast == none else int(contrast))


def method_picker(shelf: dict, default: list[str], prefix: str, help: str) -> list[str]:
    """The methods to compare, from ``shelf`` (the registry's methods for this kind of input)."""
    kw = _remember(prefix, "methods", list(default))
    ss[kw["key"]] = [m for m in ss[kw["key"]] if m in shelf]
    return st.multiselect(
        t("Methods to compare"), list(shelf), format_func=lambda k: t(shelf[k].title), help=help, **kw
    )


def _choice_title(s, shelf: dict, value) -> str:
    if s.labels is not None:
        return t(s.labels[list(s.choices).index(value)])
    return t(shelf[value].title) if value in shelf else t(str(value))


def _setting_widget(prefix: str, method: str, name: str, s, shelf: dict, model):
    title = t(s.title) if s.title else name
    kw = _remember(prefix, f"{method}_{name}", s.default)
    kw["help"] = t(s.help) if s.help else None
    if name == "layer":  # Grad-CAM: any conv layer of this model
        layers = [""] + conv_layers(model)
        if ss[kw["key"]] not in layers:
            ss[kw["key"]] = ""
        return st.selectbox(title, layers, format_func=lambda n: n or t("the last conv layer"), **kw)
    if s.kind == "bool":
        return st.toggle(title, **kw)
    if s.kind == "choice":
        return st.selectbox(title, list(s.choices), format_func=lambda c: _choice_title(s, shelf, c), **kw)
    if s.kind == "int":
        return int(st.slider(title, int(s.lo), int(s.hi), step=1, **kw))
    if s.kind == "float":
        return float(st.slider(title, float(s.lo), float(s.hi), step=(float(s.hi) - float(s.lo)) / 100, **kw))
    return st.text_input(title, **kw)


def settings_panel(chosen: list[str], shelf: dict, prefix: str, model=None) -> dict[str, dict]:
    """One popover per chosen method with all its settings; returns method -> settings."""
    out: dict[str, dict] = {}
    # one row that wraps, each button as wide as its label: in fixed columns the labels were cut ("Integrat…")
    row = st.container(horizontal=True, gap="small", key=f"{prefix}_settings_row")
    for m in chosen:
        meth = shelf[m]
        if not meth.settings:
            out[m] = {}
            continue
        with row.popover(
            t(meth.title), icon=":material/tune:", width="content", help=t("{method} settings", method=t(meth.title))
        ):
            st.caption(t(meth.blurb))
            out[m] = {name: _setting_widget(prefix, m, name, s, shelf, model) for name, s in meth.settings.items()}
    return out


def explain_chosen(model, x, target, contrast, chosen: dict, shelf: dict, slot: str, base: str, limit: int, run=None):
    """Every chosen method's attribution (cached in ``ss[slot]``; for a lesson's run in one cache for every session,
    ``run_dict``), with a progress bar while any is computed. ``base`` names the run, its weights and the input."""
    cache = run_dict(slot, run)
    todo = [m for m in chosen if (base, target, contrast, m, repr(sorted(chosen[m].items()))) not in cache]
    bar = st.progress(0.0, text=t("Computing the explanations...")) if todo else None

    def on_method(i: int, m: str) -> None:
        bar.progress(i / len(chosen), text=t("Computing {method}...", method=t(shelf[m].title)))

    res = explain_many(model, x, target, contrast, chosen, cache, base, on_method=on_method, limit=limit)
    if bar:
        bar.empty()
    for m, e in res.errors.items():
        st.warning(f"**{t(shelf[m].title)}**: {e.message(ss.get('lang', 'en'), escape=plain)}", icon=":material/info:")
    return res


def pick_check_method(maps: dict, preferred: tuple) -> str | None:
    """The method whose sanity checks feed the card: the first of ``preferred`` with a map that is not empty."""
    ranked = [m for m in preferred if m in maps] + [m for m in maps if m not in preferred]
    return next((m for m in ranked if not maps[m].empty), ranked[0] if ranked else None)


def agreement_of(maps: dict) -> tuple[list[str], object, float | None]:
    """(names, the rank-agreement matrix, its mean): like with like, signed where both maps are signed."""
    names, matrix = rank_agreement({m: a.map for m, a in maps.items()}, {m: a.signed for m, a in maps.items()})
    return names, matrix, mean_agreement(matrix)


@dataclass
class Checks:
    method: str
    completeness: object = None  # checks.Completeness | None
    randomisation: object = None  # checks.Randomisation (None: not run, or a sentence too short)
    curves: object = None  # checks.Curves
    lines: list = field(default_factory=list)
    fidelity: object = None  # checks.Fidelity (captum's infidelity and sensitivity, beside a random map)
    data_randomisation: object = None  # checks.Randomisation against a shuffled-label model (on demand)
    too_short: bool = False  # a sentence with fewer than 3 words: no randomisation nor deletion check


def checks_key(base: str, target: int, contrast: int | None, method: str, settings: dict) -> tuple:
    return (base, target, contrast, method, repr(sorted(settings.items())))


def _run_cached(slot: str, key: tuple, keep: int, run) -> Checks:
    cache: dict = ss.setdefault(slot, {})
    if key not in cache:
        c = run()
        while len(cache) >= keep:
            cache.pop(next(iter(cache)))
        cache[key] = c
    return cache[key]


def card_args(checks: Checks | None) -> dict:
    """The checks as the card builder takes them (None: not run yet)."""
    c = checks
    return dict(
        randomisation=c.randomisation if c else None,
        curves=c.curves if c else None,
        data_randomisation=c.data_randomisation if c else None,
        fidelity=c.fidelity if c else None,
    )


def show_card(card, lines_as_html: bool, hide: list[str] = ()) -> None:
    """The card in a bordered box: the badge (about the explanation, never the answer) and its lines."""
    colour, icon = VERDICT.get(card.verdict, ("gray", ":material/help:"))
    lang = ss.get("lang", "en")
    if lines_as_html:  # the lines quote the user's words: lines_html escapes every one
        st.badge(verdict_title(card.verdict, lang), icon=icon, color=colour)
        st.html(lines_html(card.headline, card.lines))
        return
    st.markdown(f"#### {card.headline}")
    st.badge(verdict_title(card.verdict, lang), icon=icon, color=colour)
    st.markdown("\n".join(f"- {line}" for line in card.lines if line not in hide))


def data_randomisation_section(c: Checks, caption: str, key: str, unit: str, run) -> None:
    """The data-randomisation test (Adebayo et al. 2018): only a tool that trains can run it. ``run()`` trains
    (or gives back) the shuffled-label model and returns the comparison; the button shows while it has not run."""
    st.markdown(f"**{t('Data randomisation')}**")
    st.caption(caption)
    if c.data_randomisation is None:
        if st.button(t("Train on shuffled labels and compare"), icon=":material/shuffle:", key=key):
            try:
                c.data_randomisation = run()
            except DlvizError as e:
                show_error(e)
            else:
                st.rerun()
        return
    st.markdown(f"- {randomisation_sentence(c.data_randomisation, ss.get('lang', 'en'), unit)}")
    if unit == "pixels":
        st.caption(randomisation_numbers(c.data_randomisation))


def downloads(slot: str, fkey: tuple, make, stem: str, prefix: str, run=None) -> None:
    """The picture (PNG) and the one-page handout (HTML). They are built once per explanation, language and checks
    (``make()`` -> (png, html)), then served from the session (for a lesson's run, from one cache for every session:
    ``run_dict``; ``fkey`` names the run and the input): a deferred download callable was dropped now and then when
    the click raced a rerun on a busy machine."""
    files = run_dict(slot, run)
    got = files.get(fkey)
    if got is None:
        shared = getattr(files, "get_or_make", None)  # a lesson's run: one session builds them, the others wait
        got = shared(fkey, make) if shared is not None else make()
        kept = FILES_KEPT if shared is not None else 1  # a session keeps only the files it shows now
        while len(files) >= kept:
            files.pop(next(iter(files)), None)
        files[fkey] = got
    png, page = got
    files_out = (
        (t("Picture (PNG)"), png, "png", "image/png", ":material/download:"),
        (t("One-page handout (HTML)"), page, "html", "text/html", ":material/description:"),
    )
    for col, (label, data, ext, mime, icon) in zip(st.columns(2), files_out):
        kw = dict(file_name=f"{stem}.{ext}", mime=mime, icon=icon, width="stretch", key=f"{prefix}_{ext}")
        col.download_button(label, data, **kw)


def train_shuffled(model, x: torch.Tensor, y: torch.Tensor, transform, bar):
    """(a fresh copy of ``model``'s architecture trained SHUFFLED_EPOCHS epochs on ``x`` with the labels ``y``
    shuffled, its training accuracy); ``bar`` (a st.progress) shows the training and is emptied after."""
    from dlviz.explain.checks import shuffled_label_model
    from dlviz.train import DeviceData

    device = next(model.parameters()).device
    x, y = x.to(device), y.to(device)
    data = DeviceData(x, y, x[:0], y[:0], x[:0], y[:0], transform)

    def progress(p):
        done = min(1.0, float(getattr(p, "step", 0)) / max(1, int(getattr(p, "total_steps", 1) or 1)))
        bar.progress(done, text=t("Training on shuffled labels: {pct:.0%}", pct=done))

    out = shuffled_label_model(model, data, epochs=SHUFFLED_EPOCHS, on_progress=progress)
    bar.empty()
    return out


def randomisation_numbers(r) -> str:
    """The randomisation check's numbers in one line: signed, absolute, the model-free reference and the bar."""
    ref = "–" if r.reference is None else f"{r.reference:.2f}"
    return t(
        "Rank similarity to the original map after randomising: signed {s:.2f}, absolute {a:.2f}; a map of "
        "the image alone (no model) scores {ref}. Passing needs both below {bar:.2f}.",
        s=r.signed[-1],
        a=r.absolute[-1],
        ref=ref,
        bar=r.bar,
    )


def explain_page(dataset) -> None:
    """The Explain page for ``dataset``: the view of its modality's inputs (an image, or a sentence's words)."""
    VIEWS[modality_of(dataset).view]()


# --------------------------------------------------------------------------------------------
# Images: a test image, a drawing or an upload; a map per method over it


def input_key(ctx, inp) -> str:
    return _input_key(ctx.run.id, ctx.tag, inp.x)


def _input_key(run_id: str, tag: str | None, x: torch.Tensor) -> str:
    h = hashlib.sha1(x.numpy().tobytes()).hexdigest()[:16]
    return f"{run_id}|{tag}|{h}"


def default_settings(method: str) -> dict:
    """The settings ``method`` starts with on this page, as its widgets return them (what a student who touched
    nothing explains with)."""
    out = {}
    for name, s in METHODS[method].settings.items():
        value = s.default
        if name == "layer":
            value = value or ""  # "the last conv layer"
        elif s.kind == "int":
            value = int(value)
        elif s.kind == "float":
            value = float(value)
        elif s.kind == "bool":
            value = bool(value)
        out[name] = value
    return out


def warm_lesson_maps(run, model, data, methods, index: int = 0) -> int:
    """For a lesson's snapshot run, ahead of any student (a background thread, no Streamlit): the maps the Explain
    page shows first (test image ``index``, the model's answer, no contrast, each of ``methods`` with its starting
    settings) into the cache every session shares (``run_dict``). The first student's Explain step then costs what
    the next one's does (issue 18: its first open took 1.7-2.3 s on a warm server, 0.6-0.8 s with this).
    ``model``: the run's final weights, in eval mode. Returns how many of ``methods`` this model can explain (and
    now are)."""
    from dlviz.ui.cache import shared_run_dict
    from dlviz.ui.inspect_state import nth_test_image

    has_conv = bool(conv_layers(model))
    chosen = {m: default_settings(m) for m in methods if m in METHODS and (has_conv or not METHODS[m].needs_conv)}
    if not chosen:
        return 0
    _, x = nth_test_image(data, index)
    with torch.no_grad():
        target = int(model(x.unsqueeze(0)).argmax())  # the page's default question: the model's answer
    explain_many(model, x, target, None, chosen, shared_run_dict(MAPS, run), _input_key(run.id, None, x), limit=CACHE)
    return len(chosen)


def predict(ctx, inp) -> torch.Tensor:
    with torch.no_grad():
        return torch.softmax(ctx.model(inp.x.unsqueeze(0)), 1)[0]


def image_method_picker(model) -> list[str]:
    has_conv = bool(conv_layers(model))
    default = [m for m in DEFAULT_METHODS if m in METHODS and (has_conv or not METHODS[m].needs_conv)]
    help_ = t("Each method answers 'which pixels mattered?' in its own way. Where they agree, trust grows.")
    chosen = method_picker(METHODS, default, "_exp", help_)
    if not has_conv:
        st.caption(
            t(
                "This model has no convolution layer, so Grad-CAM and Guided Grad-CAM have nothing to look at; "
                "the gradient and perturbation methods work on any model."
            )
        )
    return chosen


def explain_all(ctx, inp, target: int, contrast: int | None, chosen: dict[str, dict]) -> Explained:
    """Every chosen method's attribution of the image (cached), with a progress bar while any is computed."""
    return explain_chosen(
        ctx.model, inp.x, target, contrast, chosen, METHODS, MAPS, input_key(ctx, inp), CACHE, ctx.run
    )


def check_lines(c: Checks, data: bool = True) -> list[str]:
    """One plain line per sanity check, in this session's language: what it means first, the numbers after
    (``data=False``: without the data-randomisation line, which the page shows in its own section)."""
    from dlviz.explain.card import completeness_sentence, curves_sentence, fidelity_sentences

    lang = ss.get("lang", "en")
    out = []
    if c.completeness is not None:
        out.append(completeness_sentence(c.completeness, lang))
    if c.randomisation is not None:
        out.append(randomisation_sentence(c.randomisation, lang))
    if data and c.data_randomisation is not None:
        out.append(randomisation_sentence(c.data_randomisation, lang))
    if c.curves is not None:
        out.append(curves_sentence(c.curves, lang))
    if c.fidelity is not None:
        out += fidelity_sentences(c.fidelity, lang)
    return out


def run_checks(ctx, inp, target: int, contrast: int | None, method: str, settings: dict, attr) -> Checks:
    """All the sanity checks for one method (cached); a progress bar while they run."""
    from dlviz.explain import checks

    def run() -> Checks:
        bar = st.progress(0.1, text=t("Randomising the model layer by layer..."))
        c = Checks(method, completeness=checks.completeness(attr))
        c.randomisation = checks.randomisation_test(ctx.model, inp.x, target, method, **settings)
        bar.progress(0.6, text=t("Deleting and inserting pixels..."))
        c.curves = checks.deletion_insertion(ctx.model, inp.x, target, attr.map)
        bar.progress(0.7, text=t("Measuring infidelity and sensitivity..."))
        c.fidelity = checks.fidelity(ctx.model, inp.x, target, method, attr.map, contrast=contrast, **settings)
        bar.empty()
        return c

    return _run_cached("_exp_checks", checks_key(input_key(ctx, inp), target, contrast, method, settings), 8, run)


def cached_checks(ctx, inp, target: int, contrast: int | None, method: str, settings: dict) -> Checks | None:
    return ss.get("_exp_checks", {}).get(checks_key(input_key(ctx, inp), target, contrast, method, settings))


def shuffled_model(ctx):
    """The same architecture trained on SHUFFLED_IMAGES training images with their labels shuffled (for the
    data-randomisation test), kept in this session per run; a progress bar while it trains."""
    from dlviz.train import image_transform
    from dlviz.ui.state import get_data

    store = ss.setdefault("_exp_shuffled", {})
    if ctx.run.id not in store:
        bar = st.progress(0.0, text=t("Loading {n} training images...", n=SHUFFLED_IMAGES))
        d = get_data(ctx.run.dataset)
        n = min(SHUFFLED_IMAGES, len(d.train_y))
        model, acc = train_shuffled(ctx.model, d.train_x[:n], d.train_y[:n], image_transform, bar)
        store.clear()
        store[ctx.run.id] = (model, acc, n)
    return store[ctx.run.id]


def image_page() -> None:
    """The Explain page for an image model: an input, the methods side by side, the card, the checks, the files."""
    from dlviz.ui.input_widgets import input_picker
    from dlviz.ui.inspect_state import inspect_header

    st.caption(
        t(
            "Why did the model decide this? Pick an input, and several explanation methods show which pixels "
            "pushed the decision, side by side, with checks that say how far to trust them."
        )
    )
    ctx = inspect_header()
    if ctx is None:
        st.caption(t("Explaining a text model? Choose its dataset (rt-polarity or zh-reviews) in the sidebar."))
        st.stop()
    # the panel's label never changes with the input: Streamlit folds an expander whose label changed, so the
    # panel closed after every pick (issue 13); what is being explained is said in the caption below it
    photos = getattr(ctx.data.info, "channels", 1) == 3  # a colour model: no drawing (the picker says why)
    title = t("Input: pick a test image or upload a photo") if photos else t("Input: pick a test image, draw or upload")
    with st.expander(title, icon=":material/image:", key="_exp_input_panel"):
        inp = input_picker(ctx)
    st.caption(t("Explaining: {caption}", caption=inp.caption))
    probs = predict(ctx, inp)
    pred = int(probs.argmax())
    image = inp.x[0] if inp.x.shape[0] == 1 else inp.x  # (H, W) grey; a colour photo stays (3, H, W)
    names = [str(c) for c in ctx.classes]

    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(
            probability_bars(probs.tolist(), inp.label, ctx.classes, tr=t),
            width="stretch",
            config=NO_BAR,
            key="_exp_probs",
        )
    with right:
        contrast_help = t(
            "'Why 3 and not 8?' explains the difference between the two scores, so only "
            "the evidence that tells the two classes apart shows."
        )
        target, contrast = class_pickers(names, pred, "_exp", contrast_help)
        chosen = image_method_picker(ctx.model)
        settings = settings_panel(chosen, METHODS, "_exp", ctx.model)
    if not chosen:
        st.info(t("Choose at least one method."), icon=":material/info:")
        st.stop()

    res = explain_all(ctx, inp, target, contrast, settings)
    if not res.maps:
        st.stop()
    titles = {m: t(METHODS[m].title) for m in res.maps}
    question = (
        t("Why {a} and not {b}?", a=names[target], b=names[contrast])
        if contrast is not None
        else t("Why {a}?", a=names[target])
    )
    st.subheader(question)
    st.plotly_chart(
        comparison_figure(image, res.maps, titles, tr=t), width="stretch", config=NO_BAR, key="_exp_compare"
    )
    st.caption(
        " · ".join(t("{method}: {ms:.0f} ms", method=titles[m], ms=a.seconds * 1000) for m, a in res.maps.items())
    )
    for m, a in res.maps.items():
        if a.empty:
            st.info(
                t(
                    "{method} is empty: every pixel gets zero. With a black baseline an image with no ink has "
                    "nothing to compare, so there is nothing to explain.",
                    method=titles[m],
                )
                if float(image.abs().max()) == 0
                else t(
                    "{method} is empty: every pixel gets zero, so this method sees no evidence here.",
                    method=titles[m],
                ),
                icon=":material/info:",
            )

    agree_names, matrix, agreement = agreement_of({titles[m]: a for m, a in res.maps.items()})
    primary = pick_check_method(res.maps, PREFERRED_CHECK)
    checks = cached_checks(ctx, inp, target, contrast, primary, settings[primary])
    lang = ss.get("lang", "en")
    card = make_card(
        ctx.classes,
        probs,
        target,
        contrast,
        image,
        res.maps,
        agreement,
        checks.completeness if checks else None,
        lang=lang,
        label=inp.label if inp.source == "test" else None,
        source=inp.source,
        **card_args(checks),
    )
    c1, c2 = st.columns([3, 2])
    with c1.container(border=True):
        # the checks' own lines appear, with their numbers and pictures, under "Can we trust it?"
        show_card(card, lines_as_html=False, hide=card.check_lines if checks else [])
    with c2:
        if agreement is None:
            st.caption(t("Choose two or more methods to see whether they agree."))
        else:
            st.metric(
                t("Agreement between the methods"),
                f"{agreement:.2f}",
                help=t(
                    "How alike the maps are, from 1 (the same pixels in the same order) through 0 (unrelated) to "
                    "-1 (opposite): the mean rank correlation (Spearman) of each pair, signed where both maps are "
                    "signed, by strength where either has no sign."
                ),
            )
            with st.expander(t("Agreement of each pair")):
                st.plotly_chart(
                    agreement_heatmap(agree_names, matrix, tr=t), width="stretch", config=NO_BAR, key="_exp_agree"
                )

    st.subheader(t("Can we trust it?"))
    st.caption(
        t(
            "Checks from the research literature, run on {method}: do the parts add up, does the map depend on "
            "the trained weights and on the real labels, does it point at the pixels the model really needs, and "
            "does it predict what small changes do?",
            method=titles[primary],
        ),
        help=help_text("completeness", "randomisation", "deletion", lang=lang),
    )
    if checks is None:
        if st.button(t("Run the sanity checks"), icon=":material/fact_check:", key="_exp_run_checks"):
            try:
                run_checks(ctx, inp, target, contrast, primary, settings[primary], res.maps[primary])
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
        g1.plotly_chart(curves_figure(checks.curves, tr=t), width="stretch", config=NO_BAR, key="_exp_curves")
        g2.plotly_chart(
            randomisation_figure(checks.randomisation, tr=t), width="stretch", config=NO_BAR, key="_exp_random"
        )

        def data_test():
            shuffled, _acc, _n = shuffled_model(ctx)
            return data_randomisation_test(
                ctx.model, shuffled, inp.x, target, primary, contrast=contrast, **settings[primary]
            )

        caption = t(
            "Train the same network on {n:,} training images whose labels were shuffled, so there is nothing "
            "real to learn, and compare its map with this one. A faithful map should look different.",
            n=SHUFFLED_IMAGES,
        )
        data_randomisation_section(checks, caption, "_exp_data_random", "pixels", data_test)

    st.subheader(t("Take it with you"))
    st.caption(
        t(
            "The picture is for slides; the handout is one page with the image, the maps and the card, and opens "
            "offline in any browser."
        )
    )
    lines = check_lines(checks) if checks else []
    fkey = (
        input_key(ctx, inp),
        target,
        contrast,
        repr([(m, sorted(settings[m].items())) for m in res.maps]),
        lang,
        checks is not None,
    )

    def files() -> tuple[bytes, str]:
        png = comparison_png(image, res.maps, titles, tr=t)  # drawn once: the download and the handout's picture
        return png, handout_html(question, image, res.maps, titles, card, lines, lang=lang, png=png)

    downloads(
        "_exp_files",
        fkey,
        files,
        f"dlviz-{ctx.run.id}-{'-'.join(res.maps)}",
        "_exp",
        ctx.run if checks is None else None,  # shared for a lesson's run only before this session's own checks
    )


# --------------------------------------------------------------------------------------------
# Words: a typed sentence; a row of coloured word chips per method


@dataclass
class TextExplained:
    encoded: EncodedText
    probs: torch.Tensor
    target: int
    contrast: int | None
    maps: dict = field(default_factory=dict)  # method -> TextAttribution
    errors: dict = field(default_factory=dict)  # method -> DlvizError
    checks: Checks | None = None  # the sanity checks, once run


def predict_text(model, ids: torch.Tensor) -> torch.Tensor:
    """The model's class probabilities (K,) for one sentence of ids (L,)."""
    with torch.no_grad():
        return torch.softmax(model(ids.unsqueeze(0)).float(), 1)[0]


def _words_base(cache_key: str, encoded: EncodedText) -> str:
    return f"{cache_key}|{hashlib.sha1(encoded.ids.numpy().tobytes()).hexdigest()[:16]}"


def explain_text(
    model, encoded: EncodedText, target, contrast, chosen: dict, probs, cache_key: str, run=None
) -> TextExplained:
    """Every chosen method's word scores (cached; ``run``: the run ``cache_key`` names, shared for a lesson's run),
    with a progress bar while any is computed."""
    base = _words_base(cache_key, encoded)
    got = explain_chosen(
        model, encoded.ids, target, contrast, chosen, WORD_METHODS, "_txe_cache", base, WORD_CACHE, run
    )
    return TextExplained(encoded, probs, target, contrast, got.maps, got.errors)


def run_text_checks(
    model, encoded: EncodedText, target: int, contrast: int | None, method: str, settings: dict, attr, cache_key: str
) -> Checks:
    """The randomisation test, the word deletion/insertion curves and captum's infidelity and sensitivity for one
    method (cached; progress shown)."""

    def run() -> Checks:
        c = Checks(method, too_short=len(encoded.words) < MIN_WORDS_TO_RANK)
        if not c.too_short:
            bar = st.progress(0.1, text=t("Randomising the model layer by layer..."))
            c.randomisation = text_randomisation(model, encoded.ids, target, method, contrast=contrast, **settings)
            bar.progress(0.6, text=t("Removing and putting back words..."))
            c.curves = word_curves(model, encoded.ids, target, attr.scores)
            bar.progress(0.7, text=t("Measuring infidelity and sensitivity..."))
            c.fidelity = text_fidelity(model, encoded.ids, target, method, attr.scores, contrast=contrast, **settings)
            bar.empty()
        return c

    key = checks_key(_words_base(cache_key, encoded), target, contrast, method, settings)
    return _run_cached("_txe_checks", key, 16, run)


def _word_checks(model, res: TextExplained, chosen: dict, cache_key: str, key: str, method: str, shuffled=None):
    """ "Can we trust it?": a button that runs the checks, then their figures (the lines are in the card)."""
    st.subheader(t("Can we trust it?"))
    st.caption(
        t(
            "Two checks from the research literature, run on {method}: do the word scores depend on the trained "
            "weights, and does removing the top-scored words lower the class's probability faster than removing "
            "random words?",
            method=t(WORD_METHODS[method].title),
        )
    )
    if len(res.encoded.words) < MIN_WORDS_TO_RANK:
        st.caption(
            t("The sentence is too short for the randomisation and deletion checks (they need at least 3 words).")
        )
        return
    c = res.checks
    if c is None:
        if st.button(t("Run the sanity checks"), icon=":material/fact_check:", key=f"{key}_run_checks"):
            try:
                attr = res.maps[method]
                run_text_checks(model, res.encoded, res.target, res.contrast, method, chosen[method], attr, cache_key)
            except DlvizError as e:
                show_error(e)
            else:
                st.rerun()
        return
    if c.too_short:
        return
    g1, g2 = st.columns(2)
    if c.curves is not None:
        g1.plotly_chart(word_curves_figure(c.curves, tr=t), width="stretch", config=NO_BAR, key=f"{key}_curves")
    if c.randomisation is not None:
        g2.plotly_chart(
            randomisation_figure(c.randomisation, tr=t), width="stretch", config=NO_BAR, key=f"{key}_random"
        )
    if shuffled is None:
        return

    def data_test():
        other, _acc, _n = shuffled()
        return text_data_randomisation(
            model, other, res.encoded.ids, res.target, method, contrast=res.contrast, **chosen[method]
        )

    caption = t(
        "Train the same network on {n:,} training sentences whose labels were shuffled, so there is nothing "
        "real to learn, and compare its word scores with these. Faithful scores should look different.",
        n=SHUFFLED_SENTENCES,
    )
    data_randomisation_section(c, caption, f"{key}_data_random", "words", data_test)


def as_encoded(sentence) -> EncodedText:
    """The page context's sentence (an EncodedText, or anything with its fields) as an EncodedText."""
    if isinstance(sentence, EncodedText):
        return sentence
    fields = ("text", "ids", "tokens", "unknown", "truncated", "total")
    return EncodedText(*(getattr(sentence, f) for f in fields))


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
        run=ctx.run,
    )


def shuffled_text_model(ctx):
    """The same architecture trained on SHUFFLED_SENTENCES training sentences (encoded with the run's own
    vocabulary and length) with their labels shuffled, for the data-randomisation test; kept in this session
    per run and replay point; a progress bar while it loads and trains."""
    from dlviz.data.tokenize import encode_batch
    from dlviz.modality import TEXT
    from dlviz.ui.state import get_data

    store = ss.setdefault("_txe_shuffled", {})
    key = (ctx.run.id, ctx.tag)
    if key not in store:
        bar = st.progress(0.0, text=t("Loading {n} training sentences...", n=SHUFFLED_SENTENCES))
        d = get_data(ctx.run.dataset)
        n = min(SHUFFLED_SENTENCES, len(d.train_y))
        ids, _, _ = encode_batch(list(d.train_texts[:n]), ctx.vocab, ctx.max_len)
        model, acc = train_shuffled(ctx.model, ids.long(), d.train_y[:n], TEXT.transform, bar)
        store.clear()
        store[key] = (model, acc, n)
    return store[key]


def words_panel(
    model,
    encoded: EncodedText,
    classes,
    cache_key: str,
    key: str = "_txe",
    compact: bool = False,
    shuffled=None,
    run=None,
) -> TextExplained | None:
    """Draw "which words mattered" for one encoded sentence and return what was computed. ``model`` is the
    text model in eval mode (left unchanged), ``classes`` its class names, ``cache_key`` names the model
    (run id and replay point) for the cache; ``shuffled()`` trains (or gives back) the shuffled-label model of the
    data-randomisation test (None: no such test here). ``compact``: only Integrated Gradients for the model's
    answer, with the words for and against in one or two lines (for the Attention page)."""
    lang = ss.get("lang", "en")
    probs = predict_text(model, encoded.ids)
    pred = int(probs.argmax())
    names = [t(str(c)) for c in classes] + [str(i) for i in range(len(classes), len(probs))]
    if compact:
        target, contrast = pred, None
        chosen = {"integrated_gradients": {}}
    else:
        contrast_help = t(
            "'Why positive and not negative?' explains the difference between the two "
            "scores, so only the words that tell the two classes apart show."
        )
        target, contrast = class_pickers(names, pred, key, contrast_help)
        help_ = t("Each method answers 'which words mattered?' in its own way. Where they agree, trust grows.")
        methods = method_picker(WORD_METHODS, DEFAULT_WORD_METHODS, key, help_)
        if not methods:
            st.info(t("Choose at least one method."), icon=":material/info:")
            return None
        chosen = settings_panel(methods, WORD_METHODS, key)
    res = explain_text(model, encoded, target, contrast, chosen, probs, cache_key, run)
    if not res.maps:
        return res
    ig = res.maps.get("integrated_gradients")
    agreement = agreement_of(res.maps)[2] if len(res.maps) >= 2 else None
    method = pick_check_method(res.maps, PREFERRED_WORD_CHECK)
    base = _words_base(cache_key, encoded)
    res.checks = c = ss.get("_txe_checks", {}).get(checks_key(base, target, contrast, method, chosen[method]))
    card = text_card(
        names,
        probs,
        target,
        contrast,
        encoded,
        res.maps,
        agreement,
        completeness(ig) if ig is not None else None,
        too_short=bool(c and c.too_short),
        lang=lang,
        **card_args(c),
    )
    titles = {m: t(WORD_METHODS[m].title) for m in res.maps}
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
        # the badge rates the explanation, never the answer (a typed sentence has no known answer: the card says so)
        show_card(card, lines_as_html=True)
    _word_checks(model, res, chosen, cache_key, key, method, shuffled)
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

    def make():
        rows = {titles[m]: (a.scores, a.signed) for m, a in res.maps.items()}
        return (
            chips_png(encoded.words, rows, encoded.unknown, tr=t, title=question),
            text_handout_html(question, encoded.words, res.maps, titles, card, encoded.unknown, lang=lang),
        )

    # shared for a lesson's run only while no sanity check has run (their numbers are this session's own)
    downloads("_txe_files", fkey, make, f"dlviz-words-{'-'.join(res.maps)}", key, run if c is None else None)
    return res


def words_page() -> None:
    """The Explain page for a text model: a typed sentence, its prediction, and which words mattered."""
    from dlviz.ui.text_state import one_thread, show_prediction, text_header
    from dlviz.ui.text_state import predict as predict_sentence

    st.caption(
        t(
            "Why did the model decide this? Type a sentence, and several explanation methods show which words "
            "pushed the decision, side by side, with checks that say how far to trust them."
        )
    )
    ctx = text_header()
    if ctx is None or ctx.sentence is None:
        st.stop()
    with one_thread():  # one short sentence: a second OpenMP thread only waits on a busy CPU
        show_prediction(ctx, predict_sentence(ctx, ctx.sentence), key="_exp_txt_probs")
        words_that_mattered(ctx, key="_exp_txt")


VIEWS = {"image": image_page, "tokens": words_page}  # a modality's view -> its Explain page
