"""Explain page widgets: which class, which methods and settings, cached attributions, sanity checks, export.

Attributions are cached in this session's state, keyed by everything that changes them (run, replay
point, input pixels, target, contrast, method, settings), so moving a slider elsewhere on the page
does not recompute them. Settings are mirrored into plain keys because Streamlit forgets widget
values on pages that are not shown.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import streamlit as st
import torch

from dlviz.explain import METHODS, attribute, conv_layers
from dlviz.explain.batch import Explained, explain_many
from dlviz.ui.inspect_state import InputImage, InspectCtx
from dlviz.ui.state import t
from dlviz.ui.text_explain_widgets import valid_pick

ss = st.session_state
DEFAULT_METHODS = ("saliency", "integrated_gradients", "grad_cam", "occlusion")
CACHE = 48  # attributions kept per session (a 28x28 map each)
PREFERRED_CHECK = ("integrated_gradients", "deeplift", "kernel_shap", "gradient_shap", "occlusion")


def input_key(ctx: InspectCtx, inp: InputImage) -> str:
    h = hashlib.sha1(inp.x.numpy().tobytes()).hexdigest()[:16]
    return f"{ctx.run.id}|{ctx.tag}|{h}"


def predict(ctx: InspectCtx, inp: InputImage) -> torch.Tensor:
    with torch.no_grad():
        return torch.softmax(ctx.model(inp.x.unsqueeze(0)), 1)[0]


def _w(name: str) -> str:
    """A widget key that names the language: the browser keeps a keyed widget's old label when the labels
    are translated anew, so each language gets its own widget (the value lives in a plain key)."""
    return f"{name}_{ss.get('lang', 'en')}"


def _keep(widget_key: str, keep_key: str) -> None:
    ss[keep_key] = ss[widget_key]


def _remember(widget_key: str, keep_key: str, default):
    if widget_key not in ss:
        ss[widget_key] = ss.get(keep_key, default)


def class_pickers(ctx: InspectCtx, pred: int) -> tuple[int, int | None]:
    """ "Explain the class" (default: the model's answer, whatever the input) and "...and not" (default: none)."""
    names = [str(c) for c in ctx.classes]
    answer, none = -1, -1
    c1, c2 = st.columns(2)
    _remember(_w("_expw_target"), "_exp_target", answer)
    # a stale label (the answer changed with the input) comes back as a string: back to the model's answer
    ss[_w("_expw_target")] = valid_pick(ss[_w("_expw_target")], range(-1, len(names)), answer)
    pick = c1.selectbox(
        t("Explain the class"),
        [answer] + list(range(len(names))),
        key=_w("_expw_target"),
        on_change=_keep,
        args=(_w("_expw_target"), "_exp_target"),
        format_func=lambda i: t("{name} (the model's answer)", name=names[pred]) if i == answer else names[i],
        help=t("Which class's score to explain. The model's own answer is the usual question."),
    )
    pick = valid_pick(pick, range(-1, len(names)), answer)
    target = pred if pick == answer else int(pick)
    _remember(_w("_expw_contrast"), "_exp_contrast", none)
    if valid_pick(ss[_w("_expw_contrast")], range(-1, len(names)), none) in (none, target):
        ss[_w("_expw_contrast")] = ss["_exp_contrast"] = none
    options = [none] + [i for i in range(len(names)) if i != target]
    contrast = c2.selectbox(
        t("...and not"),
        options,
        key=_w("_expw_contrast"),
        on_change=_keep,
        args=(_w("_expw_contrast"), "_exp_contrast"),
        format_func=lambda i: t("(no contrast)") if i == none else names[i],
        help=t(
            "'Why 3 and not 8?' explains the difference between the two scores, so only "
            "the evidence that tells the two classes apart shows."
        ),
    )
    contrast = valid_pick(contrast, [i for i in range(len(names)) if i != target], none)
    return target, (None if contrast == none else int(contrast))


def method_picker(model) -> list[str]:
    has_conv = bool(conv_layers(model))
    default = [m for m in DEFAULT_METHODS if m in METHODS and (has_conv or not METHODS[m].needs_conv)]
    _remember(_w("_expw_methods"), "_exp_methods", default)
    ss[_w("_expw_methods")] = [m for m in ss[_w("_expw_methods")] if m in METHODS]
    chosen = st.multiselect(
        t("Methods to compare"),
        list(METHODS),
        key=_w("_expw_methods"),
        format_func=lambda k: t(METHODS[k].title),
        on_change=_keep,
        args=(_w("_expw_methods"), "_exp_methods"),
        help=t("Each method answers 'which pixels mattered?' in its own way. Where they agree, trust grows."),
    )
    if not has_conv:
        st.caption(
            t(
                "This model has no convolution layer, so Grad-CAM and Guided Grad-CAM have nothing to look at; "
                "the gradient and perturbation methods work on any model."
            )
        )
    return chosen


def _setting_widget(method: str, name: str, s, model):
    title = t(s.title) if s.title else name
    help_ = t(s.help) if s.help else None
    wkey, kkey = _w(f"_expw_{method}_{name}"), f"_exp_{method}_{name}"
    _remember(wkey, kkey, s.default)
    kw = dict(key=wkey, on_change=_keep, args=(wkey, kkey), help=help_)
    if name == "layer":  # Grad-CAM: any conv layer of this model
        layers = [""] + conv_layers(model)
        if ss[wkey] not in layers:
            ss[wkey] = ""
        return st.selectbox(title, layers, format_func=lambda n: n or t("the last conv layer"), **kw)
    if s.choices is not None:
        if set(s.choices) == {True, False}:
            return st.toggle(title, **kw)
        return st.selectbox(
            title, list(s.choices), format_func=lambda c: t(METHODS[c].title) if c in METHODS else t(str(c)), **kw
        )
    if s.lo is not None:
        if isinstance(s.default, int):
            return int(st.slider(title, int(s.lo), int(s.hi), step=1, **kw))
        return float(st.slider(title, float(s.lo), float(s.hi), step=(float(s.hi) - float(s.lo)) / 100, **kw))
    return st.text_input(title, **kw)


def settings_panel(chosen: list[str], model) -> dict[str, dict]:
    """One popover per chosen method with all its settings; returns method -> settings."""
    out: dict[str, dict] = {}
    # one row that wraps, each button as wide as its label: in fixed columns the labels were cut ("Integrat…")
    row = st.container(horizontal=True, gap="small", key="_exp_settings_row")
    for m in chosen:
        meth = METHODS[m]
        if not meth.settings:
            out[m] = {}
            continue
        with row.popover(
            t(meth.title), icon=":material/tune:", width="content", help=t("{method} settings", method=t(meth.title))
        ):
            st.caption(t(meth.blurb))
            out[m] = {name: _setting_widget(m, name, s, model) for name, s in meth.settings.items()}
    return out


def explain_all(
    ctx: InspectCtx, inp: InputImage, target: int, contrast: int | None, chosen: dict[str, dict]
) -> Explained:
    """Every chosen method's attribution (cached), with a progress bar while any is computed."""
    cache: dict = ss.setdefault("_exp_cache", {})
    base = input_key(ctx, inp)
    todo = [m for m in chosen if (base, target, contrast, m, repr(sorted(chosen[m].items()))) not in cache]
    bar = st.progress(0.0, text=t("Computing the explanations...")) if todo else None

    def on_method(i: int, m: str) -> None:
        bar.progress(i / len(chosen), text=t("Computing {method}...", method=t(METHODS[m].title)))

    res = explain_many(ctx.model, inp.x, target, contrast, chosen, cache, base, attribute, on_method, CACHE)
    if bar:
        bar.empty()
    return res


def check_method(maps: dict) -> str | None:
    """The method whose sanity checks feed the card: a method with a completeness property first."""
    for m in PREFERRED_CHECK:
        if m in maps:
            return m
    return next(iter(maps), None)


@dataclass
class Checks:
    method: str
    completeness: object = None  # checks.Completeness | None
    randomisation: object = None  # checks.Randomisation
    curves: object = None  # checks.Curves
    lines: list = field(default_factory=list)  # one plain line each, already translated
    fidelity: object = None  # checks.Fidelity (captum's infidelity and sensitivity, beside a random map)
    data_randomisation: object = None  # checks.Randomisation against a shuffled-label model (on demand)


def checks_key(
    ctx: InspectCtx, inp: InputImage, target: int, contrast: int | None, method: str, settings: dict
) -> tuple:
    return (input_key(ctx, inp), target, contrast, method, repr(sorted(settings.items())))


def check_lines(c: Checks, data: bool = True) -> list[str]:
    """One plain line per sanity check, in this session's language: what it means first, the numbers after
    (``data=False``: without the data-randomisation line, which the page shows in its own section)."""
    from dlviz.explain.card import completeness_sentence, curves_sentence, fidelity_sentences, randomisation_sentence

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


def run_checks(
    ctx: InspectCtx, inp: InputImage, target: int, contrast: int | None, method: str, settings: dict, attr
) -> Checks:
    """All three sanity checks for one method (cached); a progress bar while they run."""
    from dlviz.explain import checks

    cache: dict = ss.setdefault("_exp_checks", {})
    key = checks_key(ctx, inp, target, contrast, method, settings)
    if key not in cache:
        bar = st.progress(0.1, text=t("Randomising the model layer by layer..."))
        c = Checks(method, completeness=checks.completeness(attr))
        c.randomisation = checks.randomisation_test(ctx.model, inp.x, target, method, **settings)
        bar.progress(0.6, text=t("Deleting and inserting pixels..."))
        c.curves = checks.deletion_insertion(ctx.model, inp.x, target, attr.map)
        bar.progress(0.7, text=t("Measuring infidelity and sensitivity..."))
        c.fidelity = checks.fidelity(ctx.model, inp.x, target, method, attr.map, contrast=contrast, **settings)
        bar.empty()
        while len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[key] = c
    return cache[key]


def cached_checks(
    ctx: InspectCtx, inp: InputImage, target: int, contrast: int | None, method: str, settings: dict
) -> Checks | None:
    return ss.get("_exp_checks", {}).get(checks_key(ctx, inp, target, contrast, method, settings))


SHUFFLED_IMAGES = 3000  # training images for the shuffled-label model (a few thousand: under a minute)
SHUFFLED_EPOCHS = 2


def shuffled_model(ctx: InspectCtx):
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
