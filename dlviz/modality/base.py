"""The :class:`Modality` type: what every kind of data (images, text; colour images next) answers.

A modality is one object that knows how to

* **load** its datasets (:meth:`Modality.datasets`, :meth:`Modality.load`, through :mod:`dlviz.data`),
* **encode** one user input into what its models read (:meth:`Modality.encode`: a drawn or uploaded
  picture, a typed sentence),
* **batch** stored examples for a model (:meth:`Modality.transform`: uint8 images -> floats in [0, 1],
  token ids as they are) and build a model's dry-run input (:meth:`Modality.input_shape`,
  :attr:`Modality.input_dtype`),
* **show** one example (:attr:`Modality.view` and :meth:`Modality.example`: the figure itself is built in
  :mod:`dlviz.plots`),
* **name** its parts for people (:attr:`Modality.part` / :attr:`Modality.parts`: "pixel"/"pixels",
  "word"/"words", English templates marked with ``N_``: translate them to show).

Callers never branch on the kind of data: they ask ``modality_of(dataset).something``. Adding a kind
of data is one new module here (a subclass and an instance registered in :data:`dlviz.modality.MODALITIES`)
plus its datasets in :mod:`dlviz.data.registry` (``DatasetInfo.kind`` = the modality's :attr:`name`).

Layering: this package may import :mod:`dlviz.data`, :mod:`dlviz.models`, :mod:`dlviz.errors` and
:mod:`dlviz.i18n`; never the features (train, inspect, explain), the UI or streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch

from dlviz.data.download import ProgressFn
from dlviz.data.registry import DatasetInfo, list_datasets
from dlviz.errors import DataError


@dataclass(frozen=True)
class Example:
    """One stored example as a view needs it (see :meth:`Modality.example`).

    ``view`` is the modality's :attr:`Modality.view`; ``value`` the thing to draw: an (H, W) uint8
    array for an image, the text as written for text. ``parts`` are the named parts a figure labels
    (the tokens the model reads, for text; empty for images, whose parts are the pixels of ``value``).
    """

    view: str
    label: int
    value: Any
    parts: tuple[str, ...] = ()


class Modality:
    """One kind of data. Subclasses set the class attributes and implement :meth:`encode`,
    :meth:`transform`, :meth:`input_shape` and :meth:`example`; one instance of each is registered."""

    name: ClassVar[str]  # the key: DatasetInfo.kind, a preset's ``input``, a text run's settings["kind"]
    title: ClassVar[str]  # N_("Images"): translatable, for pickers and headings
    part: ClassVar[str]  # N_("pixel"): one part of an input, as an explanation names it
    parts: ClassVar[str]  # N_("pixels")
    view: ClassVar[str]  # "image" | "tokens": the kind of figure that shows one input (dlviz.plots)
    input_dtype: ClassVar[torch.dtype]  # what the model's first layer reads
    default_preset: ClassVar[str]  # the preset offered when a model does not fit this kind of data
    wrong_model: ClassVar[str]  # N_(...): what to say when this kind of data meets a model of another kind
    # a classic (not deep) baseline is trained beside every model of this kind unless a job says otherwise, on the
    # same split (text: TF-IDF + logistic regression; images' pipelines only when asked): dlviz.train.runner's
    # BASELINES; the CLI's train --json then always carries baseline_test_accuracy
    has_baseline: ClassVar[bool] = False
    # training batches may be shifted, rotated, noised... on the device (dlviz.train.augment); whether a mirror
    # image is still of its class is the dataset's to say (DatasetInfo.flips)
    augmentable: ClassVar[bool] = False

    # ---------------------------------------------------------------- datasets

    def datasets(self) -> list[DatasetInfo]:
        """The registered datasets of this modality, in registry order (a user's CSVs not included)."""
        return list_datasets(self.name)

    def owns(self, info: DatasetInfo) -> bool:
        return info.kind == self.name

    def load(
        self,
        name: str,
        data_dir: str | Path | None = None,
        *,
        home: str | Path | None = None,
        allow_download: bool | None = None,
        progress: ProgressFn | None = None,
        mirrors=None,
        **options,
    ):
        """Dataset ``name`` from the first source that has it (:func:`dlviz.data.load_dataset`); a
        DataError if ``name`` is a dataset of another modality. ``options``: the modality's own
        (text: ``max_len``, ``max_vocab``)."""
        from dlviz.data.loader import get_info, load_dataset

        info = get_info(name)
        if not self.owns(info):
            raise DataError(
                "{name} is not a dataset of {kind}; it holds {other}.", name=info.name, kind=self.name, other=info.kind
            )
        return load_dataset(
            name, data_dir, home=home, allow_download=allow_download, progress=progress, mirrors=mirrors, **options
        )

    # ---------------------------------------------------------------- one user input and batches

    def encode(self, raw, **context):
        """One user input (a picture, a typed sentence) as the model reads it; see the subclass."""
        raise NotImplementedError

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """A batch as stored (on any device) -> the model's input."""
        raise NotImplementedError

    def input_shape(self, info: DatasetInfo, max_len: int | None = None) -> tuple[int, ...]:
        """The shape of one model input (no batch dimension) for dataset ``info``."""
        raise NotImplementedError

    def example(self, data, index: int, part: str = "train") -> Example:
        """Example ``index`` of ``data``'s ``part`` ("train" or "test") as a view shows it."""
        raise NotImplementedError

    # ---------------------------------------------------------------- training and saved runs
    # What dlviz.train asks so that one training path serves every kind of data. The defaults suit images.

    def load_options(self, spec: dict) -> dict:
        """Options for :meth:`load` that the model to train decides (text: the vocabulary its Embedding holds)."""
        return {}

    def fit_model(self, spec: dict, data) -> tuple[dict, object]:
        """(spec, data) made to fit each other before training (text: the Embedding sized to the vocabulary);
        images: as they are."""
        return spec, data

    def run_settings(self, data) -> dict:
        """What a run records about its data beside its training settings, to be read without the dataset."""
        return {}

    def save_with_run(self, store, run_id: str, data) -> None:
        """Saves beside a run's weights what reading a new input needs (text: the vocabulary); images: nothing."""

    def load_with_run(self, store, rec):
        """What :meth:`save_with_run` saved with run ``rec`` (a DlvizError if it is missing or damaged); None
        for images."""
        return None

    def run_input(self, rec) -> tuple[tuple[int, ...], int]:
        """(one input's shape, number of classes) the model of saved run ``rec`` was built for."""
        from dlviz.data.loader import get_info

        info = get_info(rec.dataset)
        return self.input_shape(info), info.num_classes

    def test_inputs(self, data, rec, saved) -> torch.Tensor:
        """Loaded ``data``'s test inputs as run ``rec`` reads them (``saved``: :meth:`load_with_run`'s)."""
        return data.test_x

    def preview(self, data, indices: list[int]) -> dict:
        """What a run's result view shows of test examples ``indices`` beyond their labels (text: the
        sentences); images: nothing (the page draws them from the dataset)."""
        return {}

    def __repr__(self) -> str:
        return f"<modality {self.name}>"
