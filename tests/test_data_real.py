"""cnnkit.data on the real MNIST, Fashion-MNIST and CIFAR-10 files (CNNKIT_DATA or ../shared/data).

Every call passes download=False: these tests must never reach for the network.
"""

import pickle

import numpy as np
import pytest

import cnnkit.data as data

pytestmark = pytest.mark.realdata

MNIST_COUNTS = {
    "train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}

# loader, split, N, first ten labels, per-channel pixel means (0..255), label counts per class
CASES = [
    ("mnist", "train", 60_000, [5, 0, 4, 1, 9, 2, 1, 3, 1, 4], [33.318], MNIST_COUNTS["train"]),
    ("mnist", "test", 10_000, [7, 2, 1, 0, 4, 1, 4, 9, 5, 9], [33.791], MNIST_COUNTS["test"]),
    ("fashion-mnist", "train", 60_000, [9, 0, 0, 3, 0, 2, 7, 2, 5, 5], [72.940], [6000] * 10),
    ("fashion-mnist", "test", 10_000, [9, 2, 1, 1, 6, 1, 4, 6, 5, 7], [73.146], [1000] * 10),
    ("cifar10", "train", 50_000, [6, 9, 9, 4, 1, 1, 2, 7, 8, 3], [125.307, 122.950, 113.865], [5000] * 10),
    ("cifar10", "test", 10_000, [3, 8, 8, 0, 6, 6, 1, 6, 3, 1], [126.025, 123.709, 114.854], [1000] * 10),
]
LOADERS = {"mnist": data.load_mnist, "fashion-mnist": data.load_fashion_mnist, "cifar10": data.load_cifar10}


def channel_stats(images):
    """Exact per-channel mean and std (0..255) from pixel histograms, without float copies."""
    planes = [images] if images.ndim == 3 else [images[..., c] for c in range(images.shape[-1])]
    means, stds = [], []
    for plane in planes:
        hist = np.bincount(plane.ravel(), minlength=256).astype(np.float64)
        v = np.arange(256.0)
        mean = hist @ v / hist.sum()
        means.append(mean)
        stds.append(np.sqrt(hist @ (v - mean) ** 2 / hist.sum()))
    return np.array(means), np.array(stds)


@pytest.mark.parametrize("name, split, n, first, means, per_class", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_real_data_sets(data_root, name, split, n, first, means, per_class):
    x, y = LOADERS[name](split, root=data_root, download=False)
    shape = (n, 28, 28) if name != "cifar10" else (n, 32, 32, 3)
    assert x.shape == shape and x.dtype == np.uint8 and x.flags.c_contiguous
    assert y.shape == (n,) and y.dtype == np.int64
    assert y[:10].tolist() == first
    assert np.bincount(y, minlength=10).tolist() == per_class
    got_mean, got_std = channel_stats(x)
    np.testing.assert_allclose(got_mean, means, atol=1e-3)
    if split == "train":  # the published normalisation constants are these statistics
        mean, std = data.NORMALIZATION[name]
        np.testing.assert_allclose(got_mean / 255, mean, atol=1e-4)
        np.testing.assert_allclose(got_std / 255, std, atol=1e-4)


def test_cifar_pixels_are_hwc_rgb(data_root):
    x, _ = data.load_cifar10("train", root=data_root, download=False)
    # The first training image (a frog): its first row of pixels as (R, G, B).
    assert x[0, 0, :3].tolist() == [[59, 62, 63], [43, 46, 45], [50, 48, 43]]


def test_cifar_class_names_match_batches_meta(data_root):
    with open(data_root / "cifar-10" / "cifar-10-batches-py" / "batches.meta", "rb") as f:
        meta = pickle.load(f, encoding="latin1")
    assert tuple(meta["label_names"]) == data.CIFAR10_CLASSES


def test_root_from_the_environment_variable(data_root, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA", str(data_root))
    x, y = data.load_mnist("test", download=False)
    x2, y2 = data.load("mnist", "test", root=data_root, download=False)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


def test_a_pass_over_mnist_with_tensor_loaders(data_root):
    import torch

    device = data.default_device()
    train, test = data.dataloaders("mnist", 1000, root=data_root, device=device, seed=0, download=False)
    assert len(train) == 60 and len(test) == 10
    total, s, s2 = 0, 0.0, 0.0
    counts = torch.zeros(10, dtype=torch.int64, device=device)
    for xb, yb in train:
        assert xb.shape[1:] == (1, 28, 28) and xb.device.type == device.type
        total += len(yb)
        s += float(xb.sum())
        s2 += float((xb.double() ** 2).sum())
        counts += torch.bincount(yb, minlength=10)
    pixels = total * 28 * 28
    assert total == 60_000 and counts.tolist() == MNIST_COUNTS["train"]
    assert abs(s / pixels) < 1e-3 and abs(s2 / pixels - 1) < 1e-3  # normalised: mean 0, std 1
    first = next(iter(test))[1].tolist()
    assert first[:10] == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the test loader keeps the published order


def test_a_pass_over_cifar_test_with_a_tensor_loader(data_root):
    import torch

    images, labels = data.load_cifar10("test", root=data_root, download=False)
    x, y = data.to_tensors(images, labels, mean=data.CIFAR10_MEAN, std=data.CIFAR10_STD,
                           device=data.default_device())
    loader = data.TensorLoader(x, y, 256, seed=1)
    seen = torch.cat([yb for _, yb in loader])
    assert len(loader) == 40 and torch.bincount(seen, minlength=10).tolist() == [1000] * 10
