"""What the pages say and offer for each kind of data: the UI side of :mod:`dlviz.modality`.

A page never asks "is this text?": it asks ``kind_of(dataset or run)`` for its words (English templates,
translated where shown) and its look-inside pages. Adding a kind of data is one more :class:`Kind` in
:data:`KINDS`, under the name of its :class:`~dlviz.modality.Modality`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dlviz.i18n import N_
from dlviz.modality import IMAGE, TEXT, Modality, modality_of
from dlviz.ui import keys as K
from dlviz.ui.data_widgets import image_data_page, image_preview
from dlviz.ui.text_data_widgets import sentence_preview, text_data_page


@dataclass(frozen=True)
class Kind:
    modality: Modality
    looks: tuple[tuple[str, str, str], ...]  # (page, label, icon): the look-inside pages for its runs
    elsewhere: str  # said on another kind's look-inside page when the open run is of this kind ({name})
    preset_key: str  # the Build page's preset box (one per kind: each lists its own presets)
    intro: str  # the Start page's first paragraph
    data_step: str  # the Start page's "1. Data" card
    data_hint: str  # the Data page, when the dataset cannot be read
    build_intro: str  # the Build page's first paragraph
    build_input: str  # the Build page's input line ({dataset}, {shape}, {L}, {k})
    train_intro: str  # the Train page's caption
    data_page: Callable[[object], None]  # draws the Data page for a loaded dataset
    preview: Callable[[object, dict], None]  # draws a run's saved test preview (run, metrics["test_preview"])
    setting_labels: dict[str, str] = field(default_factory=dict)  # the Runs table's labels this kind words its own


IMAGE_KIND = Kind(
    modality=IMAGE,
    looks=(
        ("pages/inspect.py", N_("Inspect a digit"), ":material/visibility:"),
        ("pages/gradients.py", N_("Gradients"), ":material/show_chart:"),
        ("pages/errors.py", N_("Errors"), ":material/rule:"),
        ("pages/explain.py", N_("Explain a decision"), ":material/lightbulb:"),
    ),
    elsewhere=N_(
        "The open run, {name}, reads images: this page looks inside text models. Its images are on "
        "Inspect, Gradients and Errors."
    ),
    preset_key=K.BUILD_PRESET,
    intro=N_(
        "Build a network in the browser, train it live on real handwritten digits, and see how well it "
        "does. Everything runs on this computer, on the GPU when there is one."
    ),
    data_step=N_("Look at the images and how many there are of each class."),
    data_hint=N_(
        "Check the \"Data folder\" field in the sidebar: name a folder that holds the four dataset files, "
        "or leave it empty to use the local cache, a download or the offline subset."
    ),
    build_intro=N_(
        "A network is a stack of layers: the image goes in at the top, every layer transforms it, and the "
        "last layer gives one score per class. Start from a preset, then add, remove, reorder or change "
        "layers. The shapes and the number of parameters update as you edit, and a mistake is explained "
        "in plain words."
    ),
    build_input=N_("Input: {dataset} images of shape {shape}, {k} classes."),
    train_intro=N_(
        "The network learns from the training images; after every epoch it is checked on the validation "
        "images it never trains on, and at the end on the test set."
    ),
    data_page=image_data_page,
    preview=image_preview,
)

TEXT_KIND = Kind(
    modality=TEXT,
    looks=(
        ("pages/attention.py", N_("Attention"), ":material/hub:"),
        ("pages/sequence.py", N_("Sequence"), ":material/timeline:"),
        ("pages/explain.py", N_("Explain a decision"), ":material/lightbulb:"),
    ),
    elsewhere=N_(
        "The open run, {name}, reads sentences: this page looks inside image models. Its sentences "
        "are on Attention and Sequence."
    ),
    preset_key=K.BUILD_PRESET_TEXT,
    intro=N_(
        "Build a network in the browser, train it live on real review sentences, and see how well it "
        "does. Everything runs on this computer, on the GPU when there is one."
    ),
    data_step=N_("Look at the sentences and how many there are of each class."),
    data_hint=N_(
        "Check the \"Data folder\" field in the sidebar: name a folder that holds this dataset's files "
        "(the message above names them), or leave it empty to use the local cache or a download."
    ),
    build_intro=N_(
        "A network is a stack of layers: the sentence goes in at the top as token ids, every layer "
        "transforms it, and the last layer gives one score per class. Start from a preset, then add, "
        "remove, reorder or change layers. The shapes and the number of parameters update as you edit, "
        "and a mistake is explained in plain words."
    ),
    build_input=N_("Input: {dataset} sentences, each as {L} token ids (vocabulary of at most 10,000), {k} classes."),
    train_intro=N_(
        "The network learns from the training sentences; after every epoch it is checked on the "
        "validation sentences it never trains on, and at the end on the test set."
    ),
    data_page=text_data_page,
    preview=sentence_preview,
    setting_labels={
        "train_size": N_("Training sentences"),
        "val_size": N_("Validation sentences"),
        "limit": N_("Sentence limit"),
    },
)

KINDS: dict[str, Kind] = {k.modality.name: k for k in (IMAGE_KIND, TEXT_KIND)}

# a dataset whose Start-page paragraph names what it holds more closely than its kind's does
DATASET_INTROS = {
    "fashion-mnist": N_(
        "Build a network in the browser, train it live on real pictures of clothing, and see how well "
        "it does. Everything runs on this computer, on the GPU when there is one."
    ),
}


def kind_of_settings(settings: dict) -> Kind:
    """The :class:`Kind` a run's saved settings name (``settings["kind"]``); runs saved before the kind was
    recorded read images."""
    return KINDS.get((settings or {}).get("kind"), IMAGE_KIND)


def kind_of(what) -> Kind:
    """The :class:`Kind` of a dataset name, a DatasetInfo, a loaded dataset, a run or a modality
    (:func:`dlviz.modality.modality_of`; raises its DataError for an unknown dataset)."""
    return KINDS[modality_of(what).name]
