"""Datasets: registry, IDX reader, download + cache, offline fallbacks, splits, text and tokens.

Modules, lowest first: ``registry`` (what datasets exist), ``idx`` / ``tokenize`` / ``split`` (formats,
tokens, the splits and their defaults), ``download`` and ``sources`` (what every kind of data's sources
share), ``images``, ``cifar`` (CIFAR-10's binary batches) and ``text`` (each kind's files), ``user_csv`` (a user's CSV), and ``loader``
(``load_dataset`` by name, the entry point). Imports run one way, down this list.

Plain PyTorch/NumPy: nothing here imports streamlit.
"""

from dlviz.data.download import DownloadError, ProgressFn, download_files
from dlviz.data.idx import md5_uncompressed, read_idx, write_idx
from dlviz.data.loader import (
    ImageData,
    Source,
    cache_dir,
    dlviz_home,
    downloads_allowed,
    get_info,
    load_dataset,
)
from dlviz.data.registry import (
    ALL_DATASETS,
    CIFAR10,
    DATASETS,
    FASHION_MNIST,
    IDX_FILES,
    MNIST,
    RT_POLARITY,
    TEXT_DATASETS,
    ZH_REVIEWS,
    DatasetInfo,
    list_datasets,
)
from dlviz.data.split import (
    SPLIT_SEED,
    TEST_FRACTION,
    VAL_FRACTION,
    class_counts,
    split_indices,
    stratified_split,
    val_fraction_of,
)
from dlviz.data.text import TextData, load_text_dataset
from dlviz.data.tokenize import PAD, UNK, Vocab, build_vocab, detect_language, encode_batch, tokenizer
from dlviz.data.user_csv import load_csv_dataset

__all__ = [
    "ALL_DATASETS",
    "DATASETS",
    "DatasetInfo",
    "DownloadError",
    "CIFAR10",
    "FASHION_MNIST",
    "IDX_FILES",
    "ImageData",
    "MNIST",
    "PAD",
    "ProgressFn",
    "RT_POLARITY",
    "SPLIT_SEED",
    "Source",
    "TEST_FRACTION",
    "TEXT_DATASETS",
    "TextData",
    "UNK",
    "VAL_FRACTION",
    "Vocab",
    "ZH_REVIEWS",
    "build_vocab",
    "cache_dir",
    "class_counts",
    "detect_language",
    "dlviz_home",
    "download_files",
    "downloads_allowed",
    "encode_batch",
    "get_info",
    "list_datasets",
    "load_csv_dataset",
    "load_dataset",
    "load_text_dataset",
    "md5_uncompressed",
    "read_idx",
    "split_indices",
    "stratified_split",
    "tokenizer",
    "val_fraction_of",
    "write_idx",
]
