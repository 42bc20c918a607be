"""Widgets for the Build page: preset picker, layer editor, model summary, export and import.

Every change to the model goes through :func:`dlviz.ui.set_spec` from a widget callback, so the page
renders the new model in the same run. Widget keys carry a revision number that changes whenever
the spec changes by any road other than the setting widget itself (add, move, remove, preset, undo,
import, another page), so a widget never shows the value of the layer that used to sit at its index.
"""

from __future__ import annotations

import copy
import json

import streamlit as st

from dlviz.classroom.pushed import FILTER_PARAM
from dlviz.errors import DlvizError, SpecError
from dlviz.glossary import help_text
from dlviz.modality import modality_of, modality_of_spec
from dlviz.models import (
    LAYER_TYPES,
    PRESETS,
    Built,
    LayerRow,
    build,
    fmt_shape,
    insert_layer,
    layer_type,
    move_layer,
    normalize,
    remove_layer,
    to_json,
    to_pytorch,
)
from dlviz.models.builder import MAX_LAYERS
from dlviz.models.codegen import writes_script
from dlviz.models.presets import fit_classes
from dlviz.train.script import to_script
from dlviz.ui import keys as K
from dlviz.ui.class_locks import lock_help, locked
from dlviz.ui.kinds import kind_of
from dlviz.ui.plain import plain
from dlviz.ui.state import set_spec, t, undo_spec

CATEGORIES = {
    "core": "Core",
    "conv": "Convolution",
    "activation": "Activation",
    "regularise": "Regularisation",
    "sequence": "Sequence",
}
# friendlier labels than the JSON keys; the key itself is shown in the help
PARAM_LABELS = {
    "units": "Units",
    "bias": "Bias",
    "out": "Number of filters",
    "kernel": "Kernel size",
    "stride": "Stride",
    "padding": "Padding",
    "size": "Window size",
    "channels": "Channels",
    "p": "Drop rate",
    "slope": "Negative slope",
    "hidden": "Hidden size",
    "layers": "Stacked layers",
    "bidirectional": "Bidirectional",
    "return_sequence": "Return every step",
    "vocab": "Vocabulary",
    "dim": "Vector size",
    "mode": "Mode",
}
GLOSSARY = {"stride": "stride", "padding": "padding", "p": "dropout", "kernel": "convolution", "out": "convolution"}
ADD_ORDER = [k for cat in CATEGORIES for k, lt in LAYER_TYPES.items() if lt.category == cat]


# --------------------------------------------------------------------------- state
def revision() -> int:
    """The key revision: bumped whenever the spec differs from the one the widgets were drawn for."""
    ss = st.session_state
    if ss.get(K.BUILD_SEEN) != ss[K.SPEC]:
        ss[K.BUILD_REV] = ss.get(K.BUILD_REV, 0) + 1
        ss[K.BUILD_SEEN] = copy.deepcopy(ss[K.SPEC])
        ss[K.BUILD_OPEN] = None
    return ss.get(K.BUILD_REV, 0)


def _layers() -> list:
    layers = st.session_state[K.SPEC].get("layers")
    return layers if isinstance(layers, list) else []


def _set_setting(i: int, name: str, key: str) -> None:
    ss = st.session_state
    spec = copy.deepcopy(ss[K.SPEC])
    if 0 <= i < len(spec.get("layers", [])):
        spec["layers"][i][name] = ss[key]
        set_spec(spec)
        ss[K.BUILD_SEEN] = copy.deepcopy(spec)  # the widget already shows this value: keep its key
        ss[K.BUILD_OPEN] = i  # its label changes, which redraws the expander: keep it open


def _set_name(key: str) -> None:
    name = st.session_state[key].strip()
    if name:
        set_spec({**copy.deepcopy(st.session_state[K.SPEC]), "name": name})


def _edit(op, *args) -> None:
    """Apply ``op(spec, *args)`` (move_layer, remove_layer, insert_layer) to the model, undoably."""
    set_spec(op(st.session_state[K.SPEC], *args))


def _load_preset(key: str, num_classes: int | None = None) -> None:
    """Choosing a preset loads it (undoable), its last layer fitted to the dataset's classes (a 3-class CSV);
    the picker then clears, so any preset can be chosen again."""
    ss = st.session_state
    chosen = ss.get(key)
    if chosen in PRESETS:
        set_spec(fit_classes(PRESETS[chosen].copy_spec(), num_classes))
        ss[K.BUILD_PRESET_LOADED] = chosen
    ss[key] = None


def try_build(spec: dict, input_shape, num_classes) -> tuple[Built | None, SpecError | None, list[LayerRow]]:
    """``(built, None, rows)``, or ``(None, error, rows)`` where ``rows`` are the shapes that could be inferred."""
    try:
        built = build(spec, input_shape, num_classes)
        return built, None, built.table
    except SpecError as e:
        err = e
    rows: list[LayerRow] = []
    try:
        rows = build(spec, input_shape, None).table  # only the class count is wrong
    except SpecError as e2:
        if e2.layer:
            try:
                rows = build({"layers": list(spec["layers"])[: e2.layer]}, input_shape, None).table
            except (SpecError, KeyError, TypeError):
                pass
    return None, err, rows


# --------------------------------------------------------------------------- widgets
def preset_bar(kind: str = "image", num_classes: int | None = None) -> None:
    """Presets for this kind of data (a modality's name: "image", "text")."""
    with st.container(border=True):
        c = st.columns([3, 4, 3], vertical_alignment="bottom")
        keys = [k for k, p in PRESETS.items() if getattr(p, "kind", "image") == kind]
        titles = {k: t(PRESETS[k].title) for k in keys}  # labels fixed now: AppTest formats outside the run
        wkey = kind_of(kind).preset_key
        if st.session_state.get(wkey) not in keys:
            st.session_state[wkey] = None
        c[0].selectbox(
            t("Start from a preset"),
            keys,
            format_func=titles.get,
            key=wkey,
            index=None,
            placeholder=t("Choose one to load it"),
            on_change=_load_preset,
            args=(wkey, num_classes),
            help=lock_help("model", t("Replaces the current model (you can undo this).")),
            disabled=locked("model"),
        )
        ss = st.session_state
        shown = next((k for k in (ss.get(K.BUILD_PRESET_LOADED), ss[K.SPEC].get("name")) if k in keys), keys[0])
        c[1].caption(t(PRESETS[shown].description))
        with c[2].container(horizontal=True, horizontal_alignment="right"):
            st.button(
                t("Undo"),
                icon=":material/undo:",
                key=K.BUILD_UNDO,
                on_click=undo_spec,
                disabled=not st.session_state.get(K.SPEC_UNDO) or locked("model"),
                help=t("Go back to the model before the last change."),
            )


def _setting(p, value, key: str, i: int):
    label = t(PARAM_LABELS.get(p.name, p.name.replace("_", " ").capitalize()))
    help_ = f"{t(p.help)} (`{p.name}`)"
    if p.name in GLOSSARY:  # the word's plain sentence and where the glossary is
        help_ += "\n\n" + help_text(GLOSSARY[p.name], lang=st.session_state.get(K.LANG, "en"))
    # in a class the teacher may lock the model and leave the number of filters to the students (or lock only that)
    control = "filters" if p.name == FILTER_PARAM else "model"
    kw = dict(
        key=key,
        help=lock_help(control, help_),
        on_change=_set_setting,
        args=(i, p.name, key),
        disabled=locked(control),
    )
    if p.kind == "bool":
        return st.toggle(label, value=bool(value), **kw)
    if p.kind == "choice":
        idx = p.choices.index(value) if value in p.choices else 0
        return st.selectbox(label, p.choices, index=idx, format_func={c: t(c) for c in p.choices}.get, **kw)
    if p.kind == "int":
        lo, hi = int(p.min), int(p.max)
        return st.number_input(label, lo, hi, min(max(int(value), lo), hi), step=1, **kw)
    lo, hi = float(p.min), float(p.max)
    return st.number_input(label, lo, hi, min(max(float(value), lo), hi), step=0.01, format="%.2f", **kw)


def _title(lt, short: str) -> str:
    """``Dense 128``: the translated title and the diagram label without its first word, when that names the type."""
    head, _, rest = short.partition(" ")
    if short == lt.title:
        return t(lt.title)
    if rest and head.lower() in lt.title.lower():
        return f"{t(lt.title)} {rest}"
    return f"{t(lt.title)} · {short}" if short else t(lt.title)


def layer_editor(rev: int, rows: list[LayerRow], err: SpecError | None) -> None:
    """One expander per layer (number, type, label, output shape) with up / down / remove beside it."""
    layers = _layers()
    bad = err.layer if err is not None else None
    frozen = locked("model")
    for i, layer in enumerate(layers):
        try:
            lt = layer_type(layer.get("type"), i)
            values = {**lt.defaults(), **layer}
            short = lt.short(values)
        except (SpecError, AttributeError, KeyError, TypeError, ValueError):
            lt, values, short = None, {}, ""
        label = f"**{i + 1}.** {_title(lt, short) if lt else str(layer)}"
        if i < len(rows):
            label += f" → `{fmt_shape(rows[i].output_shape)}`"
        if i == bad:
            label = f":red[{label}]"
        is_open = i in (bad, st.session_state.get(K.BUILD_OPEN))
        with st.container(horizontal=True, vertical_alignment="top", gap="small"):
            with st.expander(label, expanded=is_open, icon=":material/error:" if i == bad else None):
                if i == bad:
                    st.error(err.message(st.session_state[K.LANG], escape=plain))
                if lt:
                    st.caption(t(lt.help))
                    numbers = [p for p in lt.params if p.kind != "bool"]  # two per row; switches below
                    cols = st.columns(2) if numbers else []
                    for j, p in enumerate(numbers):
                        with cols[j % 2]:
                            _setting(p, values[p.name], K.build_param(rev, i, p.name), i)
                    for p in lt.params:
                        if p.kind == "bool":
                            _setting(p, values[p.name], K.build_param(rev, i, p.name), i)
            st.button(
                "",
                icon=":material/arrow_upward:",
                key=K.build_row("up", rev, i),
                type="tertiary",
                disabled=i == 0 or frozen,
                help=t("Move up"),
                on_click=_edit,
                args=(move_layer, i, -1),
            )
            st.button(
                "",
                icon=":material/arrow_downward:",
                key=K.build_row("down", rev, i),
                type="tertiary",
                disabled=i == len(layers) - 1 or frozen,
                help=t("Move down"),
                on_click=_edit,
                args=(move_layer, i, 1),
            )
            st.button(
                "",
                icon=":material/delete:",
                key=K.build_row("rm", rev, i),
                type="tertiary",
                disabled=frozen,
                help=t("Remove"),
                on_click=_edit,
                args=(remove_layer, i),
            )


def _add(type_key: str, pos_key: str) -> None:
    ss = st.session_state
    set_spec(insert_layer(ss[K.SPEC], ss[pos_key], ss[type_key]))


def add_layer(rev: int) -> None:
    layers = _layers()
    n = len(layers)

    def where(k: int) -> str:
        if k == n:
            return t("At the end")
        if k == 0:
            return t("At the start")
        lt = LAYER_TYPES.get(str(layers[k - 1].get("type")))
        return t("After layer {n}: {title}", n=k, title=t(lt.title) if lt else "?")

    places = {k: where(k) for k in range(n + 1)}
    kinds = {k: f"{t(CATEGORIES[LAYER_TYPES[k].category])} · {t(LAYER_TYPES[k].title)}" for k in ADD_ORDER}
    with st.container(border=True):
        st.markdown(f"**{t('Add a layer')}**")
        c = st.columns(2)
        kind = c[0].selectbox(t("Layer type"), ADD_ORDER, key=K.BUILD_ADD_TYPE, format_func=kinds.get)
        c[1].selectbox(
            t("Where"),
            list(range(n + 1)),
            index=max(n - 1, 0) if n >= 2 else n,
            format_func=places.get,
            key=K.build_row("add_pos", rev),
            help=t("By default a new layer goes before the last one: the last Dense layer gives the class scores."),
        )
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption(t(LAYER_TYPES[kind].help), width="stretch")
            st.button(
                t("Add"),
                icon=":material/add:",
                type="primary",
                key=K.BUILD_ADD,
                disabled=n >= MAX_LAYERS or locked("model"),
                help=lock_help("model"),
                on_click=_add,
                args=(K.BUILD_ADD_TYPE, K.build_row("add_pos", rev)),
            )


def name_input(rev: int) -> None:
    st.text_input(
        t("Model name"),
        value=str(st.session_state[K.SPEC].get("name") or "model"),
        key=K.build_row("name", rev),
        on_change=_set_name,
        args=(K.build_row("name", rev),),
        max_chars=60,
        disabled=locked("model"),
        help=lock_help("model"),
    )


TABLE_WIDTHS = (95, 135, 88, 80)  # Name, Layer, Output shape, Parameters, in pixels: 398 in all


def summary(built: Built | None, rows: list[LayerRow], input_shape) -> None:
    """Metrics and the layer table (what could be inferred, when the model cannot be built)."""
    if built is not None:
        c = st.columns([2, 1, 1.3])  # room for "1,234,567"
        c[0].metric(
            t("Parameters"),
            f"{built.params:,}",
            help=t("Numbers the network learns: weights and biases of every layer."),
        )
        c[1].metric(t("Layers"), len(built.table))
        c[2].metric(t("Output shape"), fmt_shape(built.table[-1].output_shape), help=t("One score per class."))
    elif rows:
        st.caption(t("Shapes up to the first problem:"))
    if not rows:
        return
    data = {
        t("Name"): ["input"] + [r.name for r in rows],
        t("Layer"): [t("Input")] + [r.label if r.label != r.title else t(r.title) for r in rows],
        t("Output shape"): [fmt_shape(tuple(input_shape))] + [fmt_shape(r.output_shape) for r in rows],
        t("Parameters"): [0] + [r.params for r in rows],
    }
    # widths that fit half the page at 1280 px (about 410 px): left to size themselves, the four columns were 13 px
    # too wide there and the table cut off "Parameters" and "640,000"; a long layer label is cut (…) instead
    cc = st.column_config
    st.dataframe(
        data,
        hide_index=True,
        height=min(35 * (len(rows) + 2) + 3, 740),
        width="stretch",
        column_config={
            t("Name"): cc.TextColumn(width=TABLE_WIDTHS[0]),
            t("Layer"): cc.TextColumn(width=TABLE_WIDTHS[1]),
            t("Output shape"): cc.TextColumn(width=TABLE_WIDTHS[2]),
            t("Parameters"): cc.NumberColumn(format="localized", width=TABLE_WIDTHS[3]),
        },
    )


@st.cache_data(max_entries=64, show_spinner=False)
def _code(spec_json: str, input_shape: tuple, num_classes: int, recipe_json: str = "{}") -> str:
    if len(input_shape) == 3:  # an image model: the script also reads MNIST's files and trains with the recipe
        return to_script(json.loads(spec_json), input_shape, num_classes, json.loads(recipe_json))  # colour: code
    return to_pytorch(json.loads(spec_json), input_shape, num_classes)


def _recipe(spec: dict) -> dict:
    """The Train page's settings for this model (or the preset's recipe before the Train page was opened)."""
    from dlviz.train import recipe_for

    ss = st.session_state
    saved = dict(ss.get(K.TRAIN_SETTINGS) or {})
    if saved.get("for_model") != f"{spec.get('name')}@{ss.get(K.DATASET)}":
        saved = {k: v for k, v in saved.items() if k not in ("epochs", "lr", "batch_size")}
        saved.update(recipe_for(spec.get("name"), ss.get(K.DATASET)))
    keep = ("optimizer", "lr", "batch_size", "epochs", "weight_decay", "seed", "val_fraction", "schedule", "limit")
    return {k: saved[k] for k in keep if k in saved}


def export_panel(spec: dict, input_shape, num_classes: int, ok: bool) -> None:
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(spec.get("name") or "model")) or "model"
    if not ok:
        st.info(t("Fix the model first: only a model that can be built is exported."), icon=":material/info:")
        return
    spec_json = to_json(spec)
    try:
        code = _code(spec_json, tuple(input_shape), num_classes, json.dumps(_recipe(spec), sort_keys=True))
    except DlvizError:  # a recipe the Train page would refuse too: export the model alone
        code = _code(spec_json, tuple(input_shape), num_classes)
    row = st.container(horizontal=True)
    for label, data, ext, mime, icon, key in (
        (t("Download JSON"), spec_json, "json", "application/json", ":material/data_object:", K.BUILD_DL_JSON),
        (t("Download PyTorch code"), code, "py", "text/x-python", ":material/code:", K.BUILD_DL_PY),
    ):
        row.download_button(label, data, file_name=f"{name}.{ext}", mime=mime, icon=icon, key=key, on_click="ignore")
    if writes_script(spec, input_shape):
        st.caption(
            t(
                "Plain PyTorch: this script runs without dlviz. It builds the model, reads MNIST from a "
                "folder you name (`python {file} DATA_FOLDER`) and trains it with the recipe on the Train "
                "page; its weights' names match dlviz's.",
                file=f"{name}.py",
            )
        )
    else:
        st.caption(t("Plain PyTorch: this code runs without dlviz and its weights' names match dlviz's."))
    st.code(code, language="python", height=420)


def _import(text: str | bytes, input_shape, num_classes) -> None:
    ss = st.session_state
    ss.pop(K.BUILD_IMPORT_OK, None)
    try:
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise SpecError("This file is not a text file. Choose a .json file exported from dlviz.") from None
        if not str(text).strip():
            raise SpecError("Paste the JSON of a model first.")
        spec = normalize(text)
        build(spec, input_shape, num_classes)
    except SpecError as e:
        ss[K.BUILD_IMPORT_ERR] = e
        return
    ss.pop(K.BUILD_IMPORT_ERR, None)
    ss[K.BUILD_IMPORT_OK] = spec["name"]
    set_spec(spec)


def _import_file(key: str, input_shape, num_classes) -> None:
    f = st.session_state.get(key)
    if f is not None:
        _import(f.getvalue(), input_shape, num_classes)


def import_panel(input_shape, num_classes: int) -> None:
    ss = st.session_state
    st.caption(
        t("Load a model saved as JSON. It is checked first: if it cannot be built, your current model stays as it is.")
    )
    c = st.columns(2)
    c[0].file_uploader(
        t("Upload a .json file"),
        type=["json"],
        key=K.BUILD_IMPORT_FILE,
        max_upload_size=1,
        disabled=locked("model"),
        on_change=_import_file,
        args=(K.BUILD_IMPORT_FILE, input_shape, num_classes),
    )
    with c[1]:
        st.text_area(
            t("…or paste JSON"),
            key=K.BUILD_IMPORT_TEXT,
            height=120,
            placeholder='{"layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}',
        )
        st.button(
            t("Import JSON"),
            icon=":material/upload:",
            key=K.BUILD_IMPORT_BTN,
            disabled=locked("model"),
            on_click=lambda: _import(ss.get(K.BUILD_IMPORT_TEXT, ""), input_shape, num_classes),
        )
    err = ss.pop(K.BUILD_IMPORT_ERR, None)
    if err is not None:
        st.error(t("Not imported: {reason}", reason=err.message(ss[K.LANG], escape=plain)), icon=":material/error:")
    name = ss.pop(K.BUILD_IMPORT_OK, None)
    if name is not None:
        st.success(
            t("Imported the model '{name}'. Undo brings back the previous one.", name=plain(name)),
            icon=":material/check_circle:",
        )


def kind_mismatch(spec: dict, kind: str) -> None:
    """When the draft model reads images but the dataset is text (or the other way), say so and offer a fix."""
    try:
        model_reads = modality_of_spec(spec)
    except SpecError:
        return
    data = modality_of(kind)
    if model_reads is data:
        return
    fix = data.default_preset
    with st.container(border=True):
        st.warning(t(data.wrong_model), icon=":material/swap_horiz:")
        st.button(
            t("Start from the {preset} preset", preset=t(PRESETS[fix].title)),
            icon=":material/library_add:",
            key=K.BUILD_FIX_KIND,
            disabled=locked("model"),
            on_click=lambda: set_spec(PRESETS[fix].copy_spec()),
            help=t("Replaces the current model (you can undo this)."),
        )
