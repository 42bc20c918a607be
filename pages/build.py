"""Build page: start from a preset, edit the layers, see shapes, parameters and a diagram; export/import."""

import streamlit as st

from dlviz.data import get_info
from dlviz.errors import DlvizError
from dlviz.models import fmt_shape, to_dot
from dlviz.tasks import task_of_spec
from dlviz.ui import ensure_app, show_error, t
from dlviz.ui import keys as K
from dlviz.ui.build_widgets import (
    add_layer,
    export_panel,
    import_panel,
    kind_mismatch,
    layer_editor,
    name_input,
    preset_bar,
    revision,
    summary,
    try_build,
)
from dlviz.ui.kinds import IMAGE_KIND, kind_of

ensure_app()  # a first deep link to /build runs this file alone: go through app.py
ss = st.session_state
st.title(t("Build a network"))
try:
    info, info_error = get_info(ss[K.DATASET]), None
except DlvizError as e:
    info, info_error = None, e
# what goes in (an image, a sentence as token ids) is the dataset's kind's to say; an unknown dataset: images
st.markdown(t((IMAGE_KIND if info is None else kind_of(info)).build_intro))
st.page_link("pages/train.py", label=t("Happy with it? Go and train it"), icon=":material/monitoring:")

if info_error is not None:
    show_error(info_error)
    st.stop()
input_shape, num_classes = tuple(info.input_shape), info.num_classes

kind = kind_of(info)
preset_bar(kind.modality.name, num_classes)
kind_mismatch(ss[K.SPEC], kind.modality.name)
rev = revision()
spec = ss[K.SPEC]
try:  # what the model must end in: one score per class, or (an autoencoder) the input's own shape
    task = task_of_spec(spec)
except DlvizError as e:  # a task this version does not know
    show_error(e)
    st.stop()
outputs = task.classes(info)
built, err, rows = try_build(spec, input_shape, outputs)
if built is not None and outputs is None:
    try:
        task.check_output(built.table[-1].output_shape, input_shape)
    except DlvizError as e:
        built, err = None, e

left, right = st.columns(2, gap="large")
with left:
    st.subheader(t("Layers"))
    st.caption(
        t(
            kind.build_input,
            dataset=t(info.title),
            shape=fmt_shape(input_shape),
            L=input_shape[0],
            k=num_classes,
        )
    )
    name_input(rev)
    layer_editor(rev, rows, err)
    add_layer(rev)
with right:
    st.subheader(t("Shapes and parameters"))
    if err is not None:
        show_error(err)
    summary(built, rows, input_shape)
    if built is not None:
        st.subheader(t("Diagram"))
        with st.container(horizontal=True, horizontal_alignment="center"):
            st.graphviz_chart(to_dot(built, lang=ss.get(K.LANG, "en")))

st.divider()
tab_export, tab_import = st.tabs([t("Export"), t("Import")])
with tab_export:
    export_panel(spec, input_shape, outputs, ok=built is not None)
with tab_import:
    import_panel(input_shape, num_classes)
