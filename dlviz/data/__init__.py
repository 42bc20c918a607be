"""Datasets: registry, IDX reader, download + cache, offline fallbacks, splits.

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
from dlviz.data.registry import DATASETS, FASHION_MNIST, IDX_FILES, MNIST, DatasetInfo, list_datasets
from dlviz.data.split import class_counts, split_indices

__all__ = [
    "DATASETS",
    "FASHION_MNIST",
    "IDX_FILES",
    "MNIST",
    "DatasetInfo",
    "DownloadError",
    "ImageData",
    "ProgressFn",
    "Source",
    "cache_dir",
    "class_counts",
    "dlviz_home",
    "download_files",
    "downloads_allowed",
    "get_info",
    "list_datasets",
    "load_dataset",
    "md5_uncompressed",
    "read_idx",
    "split_indices",
    "write_idx",
]
