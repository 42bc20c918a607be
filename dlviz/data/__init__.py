"""Datasets: registry, IDX reader, download + cache, offline fallbacks, splits, text and tokens.

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
from dlviz.data.split import class_counts, split_indices
from dlviz.data.text import TextData, load_csv_dataset, load_text_dataset, stratified_split
from dlviz.data.tokenize import PAD, UNK, Vocab, build_vocab, detect_language, encode_batch, tokenizer

__all__ = [
    "ALL_DATASETS",
    "DATASETS",
    "DatasetInfo",
    "DownloadError",
    "FASHION_MNIST",
    "IDX_FILES",
    "ImageData",
    "MNIST",
    "PAD",
    "ProgressFn",
    "RT_POLARITY",
    "Source",
    "TEXT_DATASETS",
    "TextData",
    "UNK",
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
    "write_idx",
]
