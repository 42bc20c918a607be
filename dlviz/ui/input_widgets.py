"""The input picker of the Inspect page: a test image, a drawing, or an uploaded picture.

The chosen input is stored with ``inspect_state.set_input`` (read by ``current_input(ctx)`` on every
inspection page). The raw drawing and upload live in session state (``_insp_drawing``,
``_insp_upload``) and are processed from there on every run, so a page test can set them directly.
Widget values are mirrored into plain keys, because Streamlit forgets a widget's value on pages
that do not draw it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import streamlit as st

from dlviz.errors import DlvizError
from dlviz.i18n import N_
from dlviz.limits import MB, limits
from dlviz.modality.image import as_picture
from dlviz.modality.preprocess import Processed, open_image, to_colour, to_mnist
from dlviz.ui import keys as K
from dlviz.ui.cache import session_cache
from dlviz.ui.inspect_state import InputImage, InspectCtx, current_input, set_input, test_input
from dlviz.ui.state import input_snapshot, save_session, t
from dlviz.ui.widgets import show_error

MODES = ("test", "draw", "upload")
UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]
CANVAS = 280  # canvas size in screen pixels (10x MNIST)
STROKE = 22  # about 2 MNIST pixels after the 20/ink-size scaling, like MNIST's pen
SHOW = 168  # displayed size of the 28x28 input (6x, nearest neighbour)


def _remember(widget_key: str, keep_key: str, default):
    """Give a widget its remembered value on every run. Only "not in session state" was not enough: after
    another page (Inspect -> Explain) the old page's widget value is still there under the same key, yet the
    new page's widget (another page, another widget id) ignored it and showed its default, image 0."""
    ss = st.session_state
    if keep_key in ss:
        ss[widget_key] = ss[keep_key]
    elif widget_key not in ss:
        ss[widget_key] = default


def _keep(widget_key: str, keep_key: str) -> None:
    st.session_state[keep_key] = st.session_state[widget_key]


def big(x) -> np.ndarray:
    """A (1, 28, 28) float image as a (168, 168) uint8 picture, each pixel a 6x6 square; a colour (3, 32, 32) one as
    (160, 160, 3) RGB, each pixel 5x5."""
    a = as_picture(np.asarray(x, dtype=np.float32))
    a = (a * 255 + 0.5).clip(0, 255).astype(np.uint8)
    k = max(1, SHOW // a.shape[0])
    return a.repeat(k, 0).repeat(k, 1)


def colour(ctx: InspectCtx) -> bool:
    """Whether the run's images are colour photos (CIFAR-10): no drawing, uploads kept in colour."""
    return getattr(ctx.data.info, "channels", 1) == 3


NO_DRAWING = N_(
    "Drawing is for digits: this model reads colour photos ({name}), and a drawing in a box is no photo of an "
    "aeroplane or a cat. Upload a photo instead, or pick a test image."
)


def _test_picker(ctx: InspectCtx) -> InputImage:
    ss = st.session_state
    names = [t("any class")] + [str(c) for c in ctx.classes]
    _remember(K.INSPW_CLASS, K.INSP_CLASS, 0)
    _remember(K.INSPW_POS, K.INSP_POS, 0)
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    cls = c1.selectbox(
        t("Class"),
        range(len(names)),
        format_func=names.__getitem__,
        key=K.INSPW_CLASS,
        on_change=_keep,
        args=(K.INSPW_CLASS, K.INSP_CLASS),
    )
    ys = ctx.data.test_y
    pool = np.arange(len(ys)) if cls == 0 else (ys == cls - 1).nonzero().flatten().numpy()
    if ss[K.INSPW_POS] >= len(pool):
        ss[K.INSPW_POS] = ss[K.INSP_POS] = 0
    if c3.button(t("Random"), icon=":material/shuffle:", key=K.INSPW_RANDOM):
        ss[K.INSPW_POS] = ss[K.INSP_POS] = int(np.random.randint(len(pool)))
    pos = c2.number_input(
        t("Image number (of {n})", n=f"{len(pool):,}"),
        0,
        max(0, len(pool) - 1),
        step=1,
        key=K.INSPW_POS,
        on_change=_keep,
        args=(K.INSPW_POS, K.INSP_POS),
    )
    inp = test_input(ctx, int(pool[int(pos)]))
    set_input(inp)
    return inp


def _clear_drawing() -> None:
    ss = st.session_state
    ss[K.INSP_DRAWING] = None
    ss[K.INSP_DRAWING_JSON] = None
    ss[K.INSP_CANVAS_N] = ss.get(K.INSP_CANVAS_N, 0) + 1  # a new key gives an empty canvas


def _draw_picker() -> np.ndarray | None:
    from streamlit_drawable_canvas import st_canvas

    ss = st.session_state
    st.caption(t("Draw one digit, large, in the middle of the black square. The page updates when you let go."))
    # initial_drawing: the strokes come back after a visit to another page (the canvas itself forgets them)
    res = st_canvas(
        stroke_width=STROKE,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=CANVAS,
        width=CANVAS,
        drawing_mode="freedraw",
        return_image_data=True,
        initial_drawing=ss.get(K.INSP_DRAWING_JSON),
        key=K.canvas(ss.get(K.INSP_CANVAS_N, 0)),
    )
    data = res.image_data if res is not None else None
    if data is not None:
        ss[K.INSP_DRAWING] = np.asarray(data)  # (280, 280, 4) RGBA: white strokes on opaque black
        ss[K.INSP_DRAWING_JSON] = res.json_data
    st.button(t("Clear"), icon=":material/ink_eraser:", key=K.INSPW_CLEAR, on_click=_clear_drawing)
    return ss.get(K.INSP_DRAWING)


def _upload_changed() -> None:
    f = st.session_state.get(K.INSPW_UPLOAD)
    st.session_state[K.INSP_UPLOAD] = (f.name, f.getvalue()) if f is not None else None


EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
EXAMPLE_PHOTOS = {
    "photo-3.jpg": N_("A 3 on plain paper"),
    "photo-7-squared-paper.jpg": N_("A 7 on squared paper"),
    "photo-2.jpg": N_("A tilted 2"),
}


def _use_example(name: str) -> None:
    st.session_state[K.INSP_UPLOAD] = (name, (EXAMPLES / name).read_bytes())


def _upload_picker(photos: bool = False):
    if photos:  # a colour model: any photo, kept in colour; the digit examples do not apply
        st.file_uploader(
            t("Upload a photo"),
            type=UPLOAD_TYPES,
            key=K.INSPW_UPLOAD,
            on_change=_upload_changed,
            max_upload_size=max(1, math.ceil(limits().upload_bytes / MB)),
            help=t(
                "It is kept in colour and made 32 x 32 pixels (its middle square), the size of the training photos."
            ),
        )
        return st.session_state.get(K.INSP_UPLOAD)
    st.file_uploader(
        t("Upload a picture of a digit"),
        type=UPLOAD_TYPES,
        key=K.INSPW_UPLOAD,
        on_change=_upload_changed,
        max_upload_size=max(1, math.ceil(limits().upload_bytes / MB)),
        help=t(
            "A photo or scan works too: it is turned gray, inverted if the paper is light, cropped "
            "and centred the way MNIST was made."
        ),
    )
    # phone photos of handwritten digits, shipped in assets/examples: the upload road works with no file at hand
    row = st.container(horizontal=True, vertical_alignment="center")
    row.caption(t("Or an example photo:"))
    for name, label in EXAMPLE_PHOTOS.items():
        if (EXAMPLES / name).is_file():
            row.button(
                t(label),
                key=K.example_photo(name),
                icon=":material/photo_camera:",
                type="tertiary",
                on_click=_use_example,
                args=(name,),
            )
    return st.session_state.get(K.INSP_UPLOAD)


def _process(source: str, raw, size: tuple[int, int] | None = None) -> tuple[Processed, str | None]:
    """(processed input, a notice) from a drawing array or an upload (name, bytes), cached per content. ``size``:
    (H, W) of a colour model's photos (the upload is kept in colour at that size), None for a digit model."""
    key = (source, raw[0], len(raw[1]), hash(raw[1])) if source == "upload" else (source, hash(raw.tobytes()))
    key = (*key, size)

    def make():  # a picture that cannot be read keeps its error: it is not read again on every rerun
        try:
            if source == "upload":
                img, notice = open_image(raw[1])
                return (to_colour(img, size) if size else to_mnist(img)), notice
            return to_mnist(raw), None
        except DlvizError as e:
            return e

    out = session_cache(K.INSP_PROCESSED, 1).get_or_make(key, make)
    if isinstance(out, DlvizError):
        raise out
    return out


def _show_pair(original: np.ndarray | None, inp: InputImage) -> None:
    """The picture as given (uploads only: a drawing is on the canvas already) beside the model's input."""
    if inp.x.shape[0] == 3:
        sees = t("What the model sees ({h} x {w}, colour)", h=inp.x.shape[1], w=inp.x.shape[2])
    else:
        sees = t("What the model sees (28 x 28)")
    images, captions = [big(inp.x)], [sees]
    if original is not None:
        images.insert(0, original)
        captions.insert(0, t("What you gave"))
    st.image(images, caption=captions, width=SHOW)


def input_picker(ctx: InspectCtx) -> InputImage:
    """``_input_picker``, then the choice saved with the session when it changed: a refresh or a server
    restart keeps the test image, the drawing (its strokes and its 28 x 28 digit) or the uploaded digit."""
    inp = _input_picker(ctx)
    if input_snapshot() != st.session_state.get(K.INSP_SAVED_INPUT):
        save_session()
    return inp


def _input_picker(ctx: InspectCtx) -> InputImage:
    """Choose the input (test image, drawing or upload); show it as given and as the model sees it.

    Returns the input to look at. A blank drawing or a bad file shows a plain message and keeps the
    previous input (said so under the message), so the rest of the page keeps working.
    """
    labels = {"test": t("Test image"), "draw": t("Draw"), "upload": t("Upload")}
    photos = colour(ctx)
    modes = tuple(m for m in MODES if not (photos and m == "draw"))
    if st.session_state.get(K.INSP_MODE) not in modes:
        st.session_state[K.INSP_MODE] = "test"
    _remember(K.INSPW_MODE, K.INSP_MODE, "test")
    mode = st.radio(
        t("Input"),
        modes,
        format_func=labels.get,
        horizontal=True,
        key=K.INSPW_MODE,
        on_change=_keep,
        args=(K.INSPW_MODE, K.INSP_MODE),
        label_visibility="collapsed",
    )
    if photos:
        st.caption(t(NO_DRAWING, name=ctx.data.info.name))
    if mode == "test":
        inp = _test_picker(ctx)
        _show_pair(None, inp)
        return inp
    left, right = st.columns([1, 1])
    with left:
        raw = _draw_picker() if mode == "draw" else _upload_picker(photos)
    with right:
        shown = current_input(ctx)
        if raw is None and mode == "draw" and shown.source == "drawn":
            # the drawing kept from before a refresh (its strokes are on the canvas again), or a digit a lesson
            # put here (a test image with its planted mark): its caption says which, above the canvas's invitation
            if shown.caption:
                st.caption(shown.caption)
            _show_pair(None, shown)
            return shown
        if raw is None:
            st.info(
                t("Draw a digit in the box.") if mode == "draw" else t("Choose an image file."),
                icon=":material/edit:" if mode == "draw" else ":material/upload:",
            )
        else:
            try:
                size = tuple(ctx.data.info.image_shape) if photos else None
                processed, notice = _process("drawn" if mode == "draw" else "upload", raw, size)
            except DlvizError as e:
                show_error(e)
            else:
                caption = t("Your drawing") if mode == "draw" else t("Uploaded: {name}", name=raw[0])
                shown = InputImage(
                    x=processed.x, label=None, caption=caption, source="drawn" if mode == "draw" else "upload"
                )
                set_input(shown)
                for n in ([notice] if notice else []) + list(processed.notices):
                    st.caption(t(n))
                _show_pair(processed.original if mode == "upload" else None, shown)
                return shown
        st.caption(t("Still showing: {caption}.", caption=shown.caption))
        _show_pair(None, shown)
    return shown


def open_test_image(ctx: InspectCtx, index: int, where: str) -> None:
    """Make test image ``index`` the input of Inspect and Explain (their pickers show it: any class, that
    number), as a click on the Errors or Embeddings page does. Call before those pickers are drawn in this run."""
    ss = st.session_state
    inp = test_input(ctx, index)
    for widget, keep, value in (
        (K.INSPW_MODE, K.INSP_MODE, "test"),
        (K.INSPW_CLASS, K.INSP_CLASS, 0),
        (K.INSPW_POS, K.INSP_POS, int(inp.index or 0)),
    ):
        ss[keep] = value
        ss[widget] = value
    set_input(inp)
    ss[K.INSP_OPENED] = (int(inp.index or 0), where)


def opened_note(inp: InputImage) -> None:
    """On Inspect and Explain, after a click on another page: which image, from where, and the other page."""
    ss = st.session_state
    opened = ss.get(K.INSP_OPENED)
    if not opened or inp.source != "test" or inp.index != opened[0]:
        return
    st.caption(
        t(
            "Opened from the {page} page: test image {i}. Inspect and Explain both show it now.",
            page=t(opened[1]),
            i=opened[0],
        )
    )
