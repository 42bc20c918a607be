"""The Compress page's parts: the run picker, the settings, the work under a progress bar, the chart, what pruning
did to the filters and what int8 did to each layer; and the note every look-inside page shows for a compressed run."""

from __future__ import annotations

import streamlit as st

from dlviz.compress import (
    Request,
    chart_points,
    check_run,
    compress_run,
    compression_of,
    is_int8,
    label_text,
    origin_of,
    student_presets,
    variants,
)
from dlviz.compress.quant import DYNAMIC, FLOAT, STATIC
from dlviz.errors import DlvizError
from dlviz.inspect.filters import conv_layers, filters
from dlviz.modality import IMAGE, modality_of
from dlviz.models import PRESETS
from dlviz.plots.compress import compression_chart, sparsity_bars
from dlviz.plots.filters import filter_grid
from dlviz.runs import RunRecord, load_state_into
from dlviz.tasks import CLASSIFICATION, task_of_spec
from dlviz.ui import keys as K
from dlviz.ui.classroom import me
from dlviz.ui.run_widgets import run_title
from dlviz.ui.state import get_store, open_run, t
from dlviz.ui.widgets import show_error

RUN = "_compress_run"
SHARE = "_compress_share"
WAY = "_compress_way"
INT8 = "_compress_int8"
STUDENT = "_compress_student"
EPOCHS = "_compress_epochs"
RESULT = "_compress_result"
PRUNED_PICK = "_compress_pruned_pick"
CHART = "_compress_chart"
NONE = "-"


def _lang() -> str:
    return st.session_state.get(K.LANG, "en")


def compressible_runs() -> list[RunRecord]:
    """Finished image classifiers with weights that are not themselves compressed variants, newest first."""
    store = get_store()
    person = me()
    return [
        r
        for r in store.list(skip_damaged=True, owner=None if person.sees_all else person.id)
        if r.status in ("finished", "stopped")
        and not compression_of(r)
        and modality_of(r) is IMAGE
        and task_of_spec(r.spec) is CLASSIFICATION
        and store.has_weights(r.id)
    ]


def pick_run() -> RunRecord | None:
    runs = compressible_runs()
    if not runs:
        st.info(
            t("Train an image classifier first (the CNN on MNIST is a good start): compression starts from a run."),
            icon=":material/info:",
        )
        st.page_link("pages/train.py", label=t("Go to Train"), icon=":material/monitoring:")
        return None
    by_id = {r.id: r for r in runs}
    ss = st.session_state
    open_id = ss.get(K.RUN_ID)
    if open_id and open_id not in by_id:  # the open run is a variant: its original
        try:
            open_id = origin_of(get_store().get(open_id))
        except DlvizError:
            open_id = None
    if ss.get(RUN) not in by_id:
        ss[RUN] = open_id if open_id in by_id else runs[0].id

    def label(rid: str) -> str:
        r = by_id[rid]
        acc = "" if r.test_accuracy is None else f" · {r.test_accuracy:.1%}"
        return f"{run_title(r)}{acc} · {rid}"

    rid = st.selectbox(t("Run to compress"), list(by_id), key=RUN, format_func=label)
    return by_id[rid]


def settings(run: RunRecord) -> Request:
    ss = st.session_state
    c1, c2 = st.columns(2)
    with c1:
        share = st.slider(
            t("Prune: share of the weights set to zero"),
            0.0,
            0.95,
            value=ss.get(SHARE, 0.5),
            step=0.05,
            key=SHARE,
            format="%.2f",
            help=t(
                "Magnitude pruning: the smallest weights of the Conv and Dense layers become exactly zero. "
                "0 prunes nothing."
            ),
        )
        ways = {
            "global": t("all layers together (global)"),
            "layer": t("each layer alone (the same share in every layer)"),
            "filters": t("whole filters, each layer alone (structured)"),
        }
        way = st.radio(
            t("Which weights compete"),
            list(ways),
            format_func=ways.get,  # labels fixed now: AppTest formats outside the run
            key=WAY,
            help=t(
                "Single weights leave every filter in place with holes in it; whole filters removes the weakest "
                "filters (and Dense units) entirely, which a smaller network could then drop."
            ),
        )
    with c2:
        int8 = st.checkbox(
            t("Quantise to int8"),
            value=ss.get(INT8, True),
            key=INT8,
            help=t(
                "Weights (and, in a network with convolutions, activations) stored as 8-bit integers with a scale: "
                "a quarter of the size. The activations' ranges are measured on 300 training images."
            ),
        )
        students = {NONE: t("no student")}
        students.update({k: t(PRESETS[k].title) for k in student_presets() if k != run.spec.get("name")})
        student = st.selectbox(
            t("Distil a student"),
            list(students),
            key=STUDENT,
            format_func=students.get,
            help=t(
                "A second, usually smaller network learns from this run's probabilities at temperature 4 "
                "(what it thinks of every class), not only from the labels."
            ),
        )
        epochs = st.number_input(t("Student epochs"), 1, 10, value=ss.get(EPOCHS, 3), key=EPOCHS)
    return Request(
        run_id=run.id,
        prune=float(share),
        per_layer=way == "layer",
        structured=way == "filters",
        quantize="int8" if int8 else None,
        distil=None if student == NONE else student,
        distil_epochs=int(epochs),
        data_dir=ss.get(K.DATA_DIR) or None,
        owner=me().id,
    )


def run_compression(req: Request) -> None:
    """The button, and the work under a progress bar when pressed."""
    pressed = st.button(t("Compress"), type="primary", icon=":material/compress:", key="compress_btn")
    if req.distil:
        st.caption(
            t(
                "Distilling trains a second network on every training image: several minutes on a CPU. Stay on this "
                "page while it works; leaving it stops the work."
            )
        )
    if not pressed:
        return
    bar = st.progress(0.0, text=t("Starting..."))

    def progress(share: float, template: str, args: dict) -> None:
        shown = {k: t(v) if k == "how" else v for k, v in args.items()}
        bar.progress(min(1.0, max(0.0, share)), text=t(template, **shown))

    try:
        check_run(get_store(), req.run_id)
        st.session_state[RESULT] = compress_run(req, get_store(), progress)
    except DlvizError as e:
        bar.empty()
        show_error(e)
        return
    bar.empty()
    st.success(
        t("Done: every variant is saved as a run of its own (see the Runs page)."), icon=":material/check_circle:"
    )


def chart(run: RunRecord) -> None:
    store = get_store()
    points = chart_points(store, run.id)
    if len(points) < 2:
        st.info(t("No variants of this run yet: choose the settings above and press Compress."), icon=":material/info:")
        return
    labels = {}
    for r in variants(store, run.id):
        labels[r.id] = label_text(compression_of(r), _lang())
    labels[run.id] = t("original")
    st.plotly_chart(compression_chart(points, tr=t, labels=labels), width="stretch", key=CHART)
    threads = {p.get("threads") for p in points}
    st.caption(
        t(
            "Each point is one model, measured on the whole test set ({n} images). Size: the bytes of its saved file "
            "(a pruned file is as large as the original, as zeros take as much room as other numbers; the hover "
            "says how small it zips). Time: the median of {repeats} calls with one image on the CPU, "
            "{threads} torch thread(s).",
            n=points[0].get("test_size", "?"),
            repeats=points[0].get("latency_repeats", 50),
            threads=", ".join(str(x) for x in sorted(threads, key=str)),
        )
    )
    rows = []
    for p in points:
        rows.append(
            {
                t("variant"): labels.get(p["run_id"], p["label"]),
                t("accuracy"): f"{p['accuracy']:.2%}",
                t("file (bytes)"): f"{p['size_bytes']:,}",
                t("zipped (bytes)"): f"{p.get('zipped_bytes', 0):,}",
                t("nonzero parameters"): f"{p.get('nonzero_params', 0):,}",
                t("ms per image"): f"{p['latency_ms']:.3f}",
                t("run"): p["run_id"],
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")
    ids = [r.id for r in variants(store, run.id)]
    if ids:
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        pick = c1.selectbox(
            t("Open a variant in the look-inside pages"),
            ids,
            format_func=lambda i: labels.get(i, i),
            key="_compress_open",
        )
        if c2.button(t("Open this run"), icon=":material/open_in_new:"):
            open_run(pick)
            st.success(t("Opened: the look-inside pages now show this variant."), icon=":material/check_circle:")


def pruning_view(run: RunRecord) -> None:
    """The first convolution's filters before and after pruning, and each layer's share of zeros."""
    store = get_store()
    pruned = [r for r in variants(store, run.id) if compression_of(r).get("prune") and not is_int8(r)]
    if not pruned:
        return
    st.subheader(t("What pruning did to the filters"))
    names = {r.id: label_text(compression_of(r), _lang()) for r in reversed(pruned)}  # fixed now: AppTest formats
    pick = st.selectbox(t("Pruned variant"), list(names), format_func=names.get, key=PRUNED_PICK)
    rec = store.get(pick)
    comp = compression_of(rec)
    try:
        before, after = _model(run), _model(rec)
    except DlvizError as e:
        show_error(e)
        return
    convs = [name for name, _ in conv_layers(before)]
    if convs:
        name = convs[0]
        c1, c2 = st.columns(2)
        c1.image(filter_grid(filters(before, name).numpy(), size=40, cols=8), caption=t("Before: {name}", name=name))
        c2.image(filter_grid(filters(after, name).numpy(), size=40, cols=8), caption=t("After: {name}", name=name))
        st.caption(
            t(
                "Each square is one weight on the same colour scale as the Filters page: white is zero. The pruned "
                "filters are the ones now entirely white: the weakest filters (smallest L2 norm) are gone, the "
                "others are untouched."
            )
            if comp.get("structured")
            else t(
                "Each square is one weight on the same colour scale as the Filters page: white is zero. The pruned "
                "weights are the new white squares; the strongest weights, which carry the filter's pattern, stay."
            )
        )
    else:
        st.caption(t("This model has no convolution layers: the bars below show what pruning took from each layer."))
    sp = comp.get("sparsity") or {}
    if sp:
        st.plotly_chart(sparsity_bars(sp, tr=t), width="stretch", key="_compress_sparsity")
        st.caption(
            t(
                "Whole-filter pruning takes the same share of filters (or units) from each layer; the output layer, "
                "one unit per class, keeps all of them."
            )
            if comp.get("structured")
            else t(
                "Global pruning ranks all weights together, so a layer with many small weights (usually the big "
                "Dense layer) loses more than its share; per-layer pruning takes the same share from each."
            )
        )


def int8_view(run: RunRecord) -> None:
    """Which layers int8 runs as static int8, dynamic int8 or float, and why."""
    store = get_store()
    q = [r for r in variants(store, run.id) if is_int8(r)]
    if not q:
        return
    comp = compression_of(q[-1])
    st.subheader(t("What int8 did to each layer"))
    how = {
        STATIC: t("static int8 (weights and activations)"),
        DYNAMIC: t("dynamic int8 (weights; activations at each call)"),
        FLOAT: t("float"),
    }
    rows = []
    for layer in comp.get("layers", []):
        why = ""
        if layer.get("how") == FLOAT:
            why = next((f["why"] for f in comp.get("float_layers", []) if f["name"] == layer["name"]), "")
        rows.append(
            {
                t("layer"): layer["name"],
                t("type"): layer["kind"],
                t("runs as"): how.get(layer["how"], layer["how"]),
                t("why"): t(why) if why else "",
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(
        t(
            "Engine: {engine}; {n} training images calibrated the activations' ranges. PyTorch says these "
            "torch.ao.quantization calls will move to the torchao package; they work on this version.",
            engine=comp.get("engine", "?"),
            n=comp.get("calibration_images", 0),
        )
    )


def _model(rec: RunRecord):
    from dlviz.data.loader import get_info
    from dlviz.models import build

    info = get_info(rec.dataset)
    model = build(rec.spec, info.input_shape, info.num_classes, budget=False).module.eval()
    load_state_into(model, get_store().load_weights(rec.id))
    return model


def compressed_note(run: RunRecord) -> None:
    """On a look-inside page, what a compressed run is and what the page shows of it."""
    comp = compression_of(run)
    if not comp:
        return
    name = label_text(comp, _lang())
    parent = comp.get("origin", "?")
    if is_int8(run):
        st.info(
            t(
                "{name}: an int8 copy of run {parent}. The int8 model computes in 8-bit integers and has no gradients, "
                "so this page shows its stand-in: the same model with the int8 weights turned back into float numbers "
                "(integer x scale). Feature maps and explanations are those of the stand-in (its activations are not "
                "rounded to int8); the int8 model's own accuracy, size and speed are on the Compress page.",
                name=name,
                parent=parent,
            ),
            icon=":material/memory:",
        )
    elif comp.get("distil"):
        st.info(
            t(
                "{name}: a student network distilled from run {parent}. It has no training curves or gradient record.",
                name=name,
                parent=parent,
            ),
            icon=":material/school:",
        )
    else:
        share = (comp.get("sparsity") or {}).get("all", comp.get("prune", 0))
        st.info(
            t(
                "{name}: run {parent} with {share} of its Conv and Dense weights set to zero. Zero weights show white "
                "on the Filters page. It has no training curves or gradient record of its own.",
                name=name,
                parent=parent,
                share=f"{float(share):.0%}",
            ),
            icon=":material/content_cut:",
        )
