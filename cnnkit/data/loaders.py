"""The PyTorch side of `cnnkit.data`: tensors, a whole-data-set-on-device loader, a Dataset.

MNIST and CIFAR-10 fit in a few hundred megabytes as float32, so the fastest way to train on them
is to put the whole set on the device once and cut batches by indexing (`TensorLoader`); a
`torch.utils.data.DataLoader` spends most of its time collating single images on the CPU. The
classic path (`ImageDataset` + `DataLoader`) is here too, for the lessons that teach it.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import torch

from .datasets import load
from .sources import NORMALIZATION, source

__all__ = ["default_device", "images_to_tensor", "to_tensors", "TensorLoader", "ImageDataset",
           "dataloaders", "Loaders"]


def default_device() -> torch.device:
    """`cuda` when a GPU is present, else `cpu`."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _channel_stats(values, channels: int, name: str, dtype, device) -> torch.Tensor:
    t = torch.as_tensor(values, dtype=dtype, device=device).flatten()
    if t.numel() == 1:
        t = t.expand(channels)
    if t.numel() != channels:
        raise ValueError(f"{name} must have one value per channel ({channels}), got {values!r}")
    return t.view(1, channels, 1, 1)


def images_to_tensor(images, *, mean=None, std=None, device=None, dtype=torch.float32) -> torch.Tensor:
    """uint8 images as a float tensor (N, C, H, W) scaled to [0, 1], optionally normalised.

    Args:
        images: uint8 array or tensor (N, H, W) (one channel) or (N, H, W, C) (channels last, as
            `load_cifar10` returns them).
        mean, std: per-channel values on the [0, 1] scale (a number or one per channel), e.g.
            `CIFAR10_MEAN`, `CIFAR10_STD`; the result is `(x / 255 - mean) / std`. Both or neither.
        device: where the result lives; default the device of `images` (CPU for NumPy input).
            The uint8 data is moved first and converted there, a quarter of the traffic.
        dtype: a floating dtype, float32 by default.
    """
    if (mean is None) != (std is None):
        raise ValueError("images_to_tensor: give both mean and std, or neither")
    if isinstance(images, np.ndarray):
        # torch warns about read-only arrays; nothing here writes to them, but a copy of the
        # uint8 data is cheap next to the float result.
        images = torch.from_numpy(np.array(images, copy=None if images.flags.writeable else True, order="C"))
    elif not isinstance(images, torch.Tensor):
        raise ValueError(f"images_to_tensor: images must be a NumPy array or a tensor, got {type(images).__name__}")
    if images.dtype != torch.uint8:
        raise ValueError(f"images_to_tensor: images must be uint8 (0..255), got {images.dtype}")
    if images.ndim == 3:
        images = images.unsqueeze(1)
    elif images.ndim == 4 and images.shape[-1] in (1, 3):
        images = images.permute(0, 3, 1, 2)
    else:
        raise ValueError(f"images_to_tensor: images must have shape (N, H, W) or (N, H, W, C) with "
                         f"C in (1, 3), got {tuple(images.shape)}")
    if device is not None:
        images = images.to(device)
    x = images.to(dtype, memory_format=torch.contiguous_format).div_(255)
    if mean is not None:
        c = x.shape[1]
        m = _channel_stats(mean, c, "mean", x.dtype, x.device)
        s = _channel_stats(std, c, "std", x.dtype, x.device)
        if not bool((s > 0).all()):
            raise ValueError(f"images_to_tensor: std must be positive, got {std!r}")
        x.sub_(m).div_(s)
    return x


def to_tensors(images, labels, *, mean=None, std=None, device=None, dtype=torch.float32):
    """`(x, y)`: images as by `images_to_tensor`, float (N, C, H, W); labels int64 (N,).

    Both end up on `device` (default: where `images` are).
    """
    x = images_to_tensor(images, mean=mean, std=std, device=device, dtype=dtype)
    y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"to_tensors: labels must have shape ({len(x)},), got {tuple(y.shape)}")
    return x, y.to(device=x.device, dtype=torch.int64)


class TensorLoader:
    """Mini-batches of tensors held entirely on one device.

    Iterating yields `(x[idx], y[idx])` for consecutive batches of indices, a fresh permutation
    each epoch when `shuffle` is true. Batches are cut by indexing tensors already on the device,
    so nothing is copied from the CPU during training.

    Args:
        x, y: tensors (or arrays) with the same first dimension N.
        batch_size: examples per batch (the last one may be smaller unless `drop_last`).
        shuffle: a new random order every epoch.
        device: where the data is kept; default the best available device (`cuda` when present).
        drop_last: skip a final incomplete batch.
        generator: a CPU `torch.Generator` for the permutations; or
        seed: an int to build one from. With neither, torch's global random state is used, so
            `torch.manual_seed` makes runs repeatable as with a DataLoader.
        transform: optional function applied to each batch of `x` (e.g. augmentation on the GPU).
    """

    def __init__(self, x, y, batch_size, shuffle=True, device=None, drop_last=False, *,
                 generator=None, seed=None, transform=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"TensorLoader: batch_size must be a positive int, got {batch_size!r}")
        if generator is not None and seed is not None:
            raise ValueError("TensorLoader: give generator or seed, not both")
        device = default_device() if device is None else torch.device(device)
        x = torch.as_tensor(x).to(device)
        y = torch.as_tensor(y).to(device)
        if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
            raise ValueError(f"TensorLoader: x and y must have the same first dimension, got "
                             f"shapes {tuple(x.shape)} and {tuple(y.shape)}")
        if seed is not None:
            generator = torch.Generator().manual_seed(seed)
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.device = device
        self.generator = generator
        self.transform = transform

    def __len__(self) -> int:
        n = len(self.x)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n, bs = len(self.x), self.batch_size
        stop = len(self) * bs
        perm = None
        if self.shuffle:
            perm = torch.randperm(n, generator=self.generator).to(self.device)
        for start in range(0, min(stop, n), bs):
            if perm is None:
                xb, yb = self.x[start:start + bs], self.y[start:start + bs]
            else:
                idx = perm[start:start + bs]
                xb, yb = self.x[idx], self.y[idx]
            if self.transform is not None:
                xb = self.transform(xb)
            yield xb, yb

    @property
    def num_examples(self) -> int:
        return len(self.x)

    def __repr__(self):
        return (f"TensorLoader(N={len(self.x)}, x={tuple(self.x.shape[1:])}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, device={self.device})")


class ImageDataset(torch.utils.data.Dataset):
    """A `torch.utils.data.Dataset` over uint8 images, for the classic `DataLoader` path.

    Item `i` is `(image, label)`: a float32 tensor (C, H, W) in [0, 1] (normalised if `mean`/`std`
    are given, then passed through `transform`) and an int label (through `target_transform`).

    Args:
        images: uint8 array (N, H, W) or (N, H, W, C), as the `load_*` functions return.
        labels: int array (N,).
    """

    def __init__(self, images, labels, *, mean=None, std=None, transform=None, target_transform=None):
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise ValueError(f"ImageDataset: images must be uint8 of shape (N, H, W) or (N, H, W, C), "
                             f"got {images.dtype} {images.shape}")
        if labels.shape != (len(images),):
            raise ValueError(f"ImageDataset: labels must have shape ({len(images)},), got {labels.shape}")
        if (mean is None) != (std is None):
            raise ValueError("ImageDataset: give both mean and std, or neither")
        self.images, self.labels = images, labels
        channels = 1 if images.ndim == 3 else images.shape[-1]
        self._mean = self._std = None
        if mean is not None:
            self._mean = _channel_stats(mean, channels, "mean", torch.float32, "cpu")[0]
            self._std = _channel_stats(std, channels, "std", torch.float32, "cpu")[0]
        self.transform = transform
        self.target_transform = target_transform

    @classmethod
    def from_name(cls, name, split="train", root=None, download=True, *, normalize=False, **kwargs):
        """The split of a named data set (see `cnnkit.data.load`); `normalize=True` applies the
        standard mean and std of that data set. Other keywords go to `ImageDataset`."""
        images, labels = load(name, split, root, download)
        if normalize:
            kwargs["mean"], kwargs["std"] = NORMALIZATION[source(name).name]
        return cls(images, labels, **kwargs)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        img = torch.tensor(self.images[i])  # a copy: the array may be read-only
        img = img.unsqueeze(0) if img.ndim == 2 else img.permute(2, 0, 1)
        x = img.to(torch.float32, memory_format=torch.contiguous_format).div_(255)
        if self._mean is not None:
            x.sub_(self._mean).div_(self._std)
        if self.transform is not None:
            x = self.transform(x)
        y = int(self.labels[i])
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y


Loaders = namedtuple("Loaders", ["train", "test"])


def dataloaders(name, batch_size, root=None, device=None, *, normalize=True, shuffle=True,
                drop_last=False, seed=None, generator=None, test_batch_size=None, transform=None,
                download=True, **load_kwargs) -> Loaders:
    """Train and test `TensorLoader`s of a named data set, the whole set on `device`.

    Args:
        name: "mnist", "fashion-mnist" or "cifar10".
        batch_size: training batch size; `test_batch_size` defaults to it.
        root, download, **load_kwargs: as for `cnnkit.data.load` (e.g. `mirrors=`).
        device: default the best available device (`cuda` when present).
        normalize: subtract the data set's standard mean and divide by its std per channel
            (`cnnkit.data.NORMALIZATION`); False leaves pixels in [0, 1].
        shuffle, drop_last, seed, generator, transform: for the training loader only; the test
            loader keeps the published order and every example.

    Returns:
        `Loaders(train, test)`, a named pair; batches are float32 (B, C, H, W) and int64 (B,).
    """
    src = source(name)
    device = default_device() if device is None else torch.device(device)
    mean, std = NORMALIZATION[src.name] if normalize else (None, None)
    out = []
    for split in ("train", "test"):
        images, labels = load(src.name, split, root, download, **load_kwargs)
        x, y = to_tensors(images, labels, mean=mean, std=std, device=device)
        del images, labels
        if split == "train":
            out.append(TensorLoader(x, y, batch_size, shuffle=shuffle, device=device,
                                    drop_last=drop_last, generator=generator, seed=seed,
                                    transform=transform))
        else:
            out.append(TensorLoader(x, y, test_batch_size or batch_size, shuffle=False, device=device))
    return Loaders(*out)
