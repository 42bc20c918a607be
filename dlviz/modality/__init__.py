"""The kinds of data dlviz handles, as objects: ``modality_of(dataset).load / encode / transform / view / parts``.

:data:`MODALITIES` maps a modality's name (``DatasetInfo.kind``) to its one instance; :func:`modality_of`
finds the modality of a dataset name, a :class:`~dlviz.data.registry.DatasetInfo`, a loaded dataset or a
saved run; :func:`modality_of_spec` the one a model's first layer reads. See :mod:`dlviz.modality.base`
for what a modality answers and how a new one is added.
"""

from __future__ import annotations

from dlviz.data.registry import DatasetInfo
from dlviz.errors import DataError, DlvizError
from dlviz.modality.base import Example, Modality
from dlviz.modality.image import IMAGE, ImageModality, image_transform
from dlviz.modality.text import TEXT, EncodedText, TextModality, encode_sentence

MODALITIES: dict[str, Modality] = {m.name: m for m in (IMAGE, TEXT)}


def _by_name(kind: str) -> Modality:
    try:
        return MODALITIES[kind]
    except KeyError:
        raise DataError(
            "Unknown kind of data {kind}. Choose one of: {choices}.", kind=str(kind), choices=", ".join(MODALITIES)
        ) from None


def modality_of(what) -> Modality:
    """The modality of ``what``: a dataset name ("mnist", "rt-polarity", "csv-..."), a
    :class:`DatasetInfo`, a loaded dataset (anything with ``.info``), a saved run (a record with
    ``.dataset`` and ``.settings``) or a modality name ("image", "text").

    An unknown dataset name is a DataError that lists the choices. A saved run whose dataset is no longer
    known (a deleted CSV) reads as its saved ``settings["kind"]``, else as an image run.
    """
    if isinstance(what, Modality):
        return what
    if isinstance(what, DatasetInfo):
        return _by_name(what.kind)
    info = getattr(what, "info", None)
    if isinstance(info, DatasetInfo):
        return _by_name(info.kind)
    if hasattr(what, "dataset") and hasattr(what, "settings"):  # a RunRecord
        saved = (what.settings or {}).get("kind")
        if saved in MODALITIES:
            return MODALITIES[saved]
        try:
            return modality_of(what.dataset)
        except DlvizError:
            return IMAGE
    name = str(what)
    if name in MODALITIES:
        return MODALITIES[name]
    from dlviz.data.loader import get_info

    return _by_name(get_info(name).kind)


def modality_of_spec(spec) -> Modality:
    """The modality a model reads, told by its first layer (:func:`dlviz.models.builder.reads`): a model
    that starts with an Embedding reads text. A SpecError for a spec that does not parse."""
    from dlviz.models.builder import reads

    return _by_name(reads(spec).kind)


__all__ = [
    "IMAGE",
    "MODALITIES",
    "TEXT",
    "EncodedText",
    "Example",
    "ImageModality",
    "Modality",
    "TextModality",
    "encode_sentence",
    "image_transform",
    "modality_of",
    "modality_of_spec",
]
