"""What the course knows about each data set: file names, checksums, sizes, mirrors, statistics.

Every published fact the loaders check lives in one `Source` record per data set, kept in
`SOURCES`. The loaders look the record up at call time, so a test (or a course running its own
variant of a data set) can put a different record in its place, e.g. one describing small
synthetic files::

    monkeypatch.setitem(SOURCES, "mnist", dataclasses.replace(SOURCES["mnist"], md5=..., counts=...))

This module imports neither torch nor anything slow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

__all__ = [
    "Source", "SOURCES", "source", "data_root", "resolve_root", "default_cache_dir", "mirrors_for",
    "ENV_ROOT", "ENV_MIRROR", "ENV_OFFLINE", "ENV_GRADING", "offline", "offline_reason",
    "MNIST_MEAN", "MNIST_STD", "FASHION_MNIST_MEAN", "FASHION_MNIST_STD",
    "CIFAR10_MEAN", "CIFAR10_STD", "NORMALIZATION",
    "CIFAR10_CLASSES", "FASHION_MNIST_CLASSES",
]

ENV_ROOT = "CNNKIT_DATA"
ENV_MIRROR = "CNNKIT_DATA_MIRROR"
# no network: missing files are never downloaded (the grading sandbox sets both)
ENV_OFFLINE = "CNNKIT_OFFLINE"
ENV_GRADING = "CNNKIT_GRADING"


@dataclass(frozen=True)
class Source:
    """The published description of one data set.

    Attributes:
        name: canonical name ("mnist", "fashion-mnist", "cifar10").
        title: name for messages ("MNIST", ...).
        folder: sub-folder of the data root holding its files.
        files: split -> file names the split is read from. For MNIST-style sets the
            (images, labels) IDX files; for CIFAR-10 the batch files inside the extracted folder.
        downloads: the files fetched from a mirror, in the order they are needed.
        md5: file name -> published MD5 of the downloadable files. A file absent from this table
            (or mapped to None) is not checksummed, only structurally checked.
        counts: split -> number of examples.
        mirrors: base URLs tried in order; a file's URL is `base + file name`.
        homepage: where a person can read about the data set and fetch it by hand.
    """

    name: str
    title: str
    folder: str
    files: Mapping[str, tuple[str, ...]]
    downloads: tuple[str, ...]
    md5: Mapping[str, str | None]
    counts: Mapping[str, int]
    mirrors: tuple[str, ...]
    homepage: str = ""
    image_shape: tuple[int, ...] = field(default=(28, 28))

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.files)


_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IDX_DOWNLOADS = _IDX_FILES["train"] + _IDX_FILES["test"]

CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_BATCH_FOLDER = "cifar-10-batches-py"

SOURCES: dict[str, Source] = {
    "mnist": Source(
        name="mnist",
        title="MNIST",
        folder="mnist",
        files=MappingProxyType(_IDX_FILES),
        downloads=_IDX_DOWNLOADS,
        md5=MappingProxyType({
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        }),
        counts=MappingProxyType({"train": 60_000, "test": 10_000}),
        # Yann LeCun's site has been unreliable for years; the PyTorch copy comes first.
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        homepage="http://yann.lecun.com/exdb/mnist/",
        image_shape=(28, 28),
    ),
    "fashion-mnist": Source(
        name="fashion-mnist",
        title="Fashion-MNIST",
        folder="fashion-mnist",
        files=MappingProxyType(_IDX_FILES),
        downloads=_IDX_DOWNLOADS,
        md5=MappingProxyType({
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        }),
        counts=MappingProxyType({"train": 60_000, "test": 10_000}),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        image_shape=(28, 28),
    ),
    "cifar10": Source(
        name="cifar10",
        title="CIFAR-10",
        folder="cifar-10",
        files=MappingProxyType({
            "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
            "test": ("test_batch",),
        }),
        downloads=(CIFAR10_ARCHIVE,),
        # Only the archive is checksummed: extracted batches are checked by structure, because
        # re-packed copies (same pixels, different pickles) are common and legitimate.
        md5=MappingProxyType({CIFAR10_ARCHIVE: "c58f30108f718f92721af3b95e74349a"}),
        counts=MappingProxyType({"train": 50_000, "test": 10_000}),
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        image_shape=(32, 32, 3),
    ),
}

_ALIASES = {
    "mnist": "mnist",
    "fashionmnist": "fashion-mnist",
    "fmnist": "fashion-mnist",
    "cifar10": "cifar10",
}


def source(name: str) -> Source:
    """The `Source` record of a data set; `name` is case-, dash- and underscore-insensitive."""
    key = _ALIASES.get(str(name).lower().replace("-", "").replace("_", ""))
    if key is None:
        raise ValueError(
            f"unknown data set {name!r}; choose one of 'mnist', 'fashion-mnist', 'cifar10'")
    return SOURCES[key]


# Per-channel statistics of the training splits on the [0, 1] scale (population mean and std
# over every pixel of the split). The often-quoted CIFAR-10 std (0.2023, 0.1994, 0.2010) is an
# average of per-image stds, not the std of the data set; the values here are the latter.
MNIST_MEAN = (0.1307,)
MNIST_STD = (0.3081,)
FASHION_MNIST_MEAN = (0.2860,)
FASHION_MNIST_STD = (0.3530,)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

NORMALIZATION = MappingProxyType({
    "mnist": (MNIST_MEAN, MNIST_STD),
    "fashion-mnist": (FASHION_MNIST_MEAN, FASHION_MNIST_STD),
    "cifar10": (CIFAR10_MEAN, CIFAR10_STD),
})

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/cnnkit`, else `~/.cache/cnnkit`."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "cnnkit"


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root the loaders use: `root` if given, else `$CNNKIT_DATA`, else
    `default_cache_dir()`."""
    return resolve_root(root)[0]


def resolve_root(root: str | os.PathLike | None = None) -> tuple[Path, str]:
    """`data_root(root)` and, for messages, where that choice came from."""
    if root is not None:
        return Path(root).expanduser(), "the root argument"
    env = os.environ.get(ENV_ROOT, "").strip()
    if env:
        return Path(env).expanduser(), f"${ENV_ROOT}"
    return default_cache_dir(), f"the default cache folder, as ${ENV_ROOT} is not set"


def mirrors_for(src: Source, mirrors=None) -> tuple[str, ...]:
    """The base URLs to try, in order, for the files of `src`.

    `mirrors` (a URL or a sequence of URLs, each the folder holding the files) wins. Otherwise
    `CNNKIT_DATA_MIRROR`, a whitespace-separated list of URLs of servers laid out like a data root
    (`<url>/mnist/...`, `<url>/cifar-10/cifar-10-python.tar.gz`), so one folder served over HTTP
    can stand in for every publisher, e.g. on a classroom network. Otherwise the publishers' own.
    """
    if mirrors is not None:
        urls = (mirrors,) if isinstance(mirrors, str) else tuple(mirrors)
        if not urls or not all(isinstance(u, str) and u for u in urls):
            raise ValueError(f"mirrors must be a URL or a non-empty sequence of URLs, got {mirrors!r}")
    else:
        env = os.environ.get(ENV_MIRROR, "").split()
        if env:
            urls = tuple(u.rstrip("/") + "/" + src.folder for u in env)
        else:
            urls = src.mirrors
    return tuple(u if u.endswith("/") else u + "/" for u in urls)


def offline_reason() -> str | None:
    """Why there is no network to download from ("$CNNKIT_OFFLINE is 1", ...), or None when downloads
    are allowed: `$CNNKIT_OFFLINE` or `$CNNKIT_GRADING` set to anything but "", "0", "false", "no" or
    "off"."""
    for name in (ENV_OFFLINE, ENV_GRADING):
        value = os.environ.get(name, "").strip()
        if value.lower() not in ("", "0", "false", "no", "off"):
            what = " (the notebook is being graded)" if name == ENV_GRADING else ""
            return f"${name} is {value}{what}"
    return None


def offline() -> bool:
    """Whether downloads are off (`offline_reason()` says why)."""
    return offline_reason() is not None
