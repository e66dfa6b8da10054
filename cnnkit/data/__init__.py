"""MNIST, Fashion-MNIST and CIFAR-10 for the course, as NumPy arrays or PyTorch tensors.

    images, labels = load_mnist("train")        # uint8 (60000, 28, 28), int64 (60000,)
    images, labels = load_cifar10("test")       # uint8 (10000, 32, 32, 3) in HWC/RGB order
    train, test = dataloaders("cifar10", 128)   # whole set on the GPU when there is one

Files are looked for under a data root: the `root` argument, else `$CNNKIT_DATA`, else
`$XDG_CACHE_HOME/cnnkit` (or `~/.cache/cnnkit`), in the publishers' layout:

    mnist/train-images-idx3-ubyte.gz, ...       (the four published .gz files)
    fashion-mnist/train-images-idx3-ubyte.gz, ...
    cifar-10/cifar-10-batches-py/data_batch_1, ..., test_batch
    cifar-10/cifar-10-python.tar.gz             (used, and extracted, when the folder is absent)

Missing files are downloaded from the publishers (or from the `mirrors=` given, or from
`$CNNKIT_DATA_MIRROR`) and used only once their MD5 matches the published one; with no network
(`$CNNKIT_OFFLINE=1`, or `$CNNKIT_GRADING=1` while a notebook is graded) nothing is downloaded. The
published `.gz` and `.tar.gz` files are checked against their MD5 (once per process); every file is
checked for structure, shapes, counts and label range. Problems raise `CorruptDataError` (a
ValueError), `FileNotFoundError` (missing file, `download=False`), `DataUnavailable` (a
FileNotFoundError: missing file and no network; its message starts with "no data:") or
`DownloadError` (an OSError).

Loaded arrays are cached in memory per process; each call returns fresh writable copies
(`clear_cache()` frees the memory). The PyTorch helpers (`to_tensors`, `TensorLoader`,
`ImageDataset`, `dataloaders`, ...) import torch only when first used.
"""

from .datasets import clear_cache, load, load_cifar10, load_fashion_mnist, load_mnist
from .download import ChecksumError, CorruptDataError, DataUnavailable, DownloadError
from .sources import (CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, FASHION_MNIST_CLASSES,
                      FASHION_MNIST_MEAN, FASHION_MNIST_STD, MNIST_MEAN, MNIST_STD, NORMALIZATION,
                      SOURCES, data_root)

_TORCH_NAMES = ("default_device", "images_to_tensor", "to_tensors", "TensorLoader", "ImageDataset",
                "dataloaders", "Loaders")

__all__ = [
    "load_mnist", "load_fashion_mnist", "load_cifar10", "load", "clear_cache", "data_root",
    "CorruptDataError", "ChecksumError", "DownloadError", "DataUnavailable", "SOURCES",
    "MNIST_MEAN", "MNIST_STD", "FASHION_MNIST_MEAN", "FASHION_MNIST_STD",
    "CIFAR10_MEAN", "CIFAR10_STD", "NORMALIZATION", "CIFAR10_CLASSES", "FASHION_MNIST_CLASSES",
    *_TORCH_NAMES,
]


def __getattr__(name):
    # Importing torch takes seconds; the NumPy loaders must not pay for it.
    if name in _TORCH_NAMES:
        from . import loaders
        return getattr(loaders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
