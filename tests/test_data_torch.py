"""cnnkit.data's PyTorch helpers: tensors, TensorLoader, ImageDataset, dataloaders."""

import numpy as np
import pytest
import torch

import cnnkit.data as data
from test_data import describe, write_idx_set
from conftest import DEVICES



def mnist_like(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


def cifar_like(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


@pytest.mark.parametrize("device", DEVICES)
def test_gray_images_get_one_channel_scaled_to_unit_range(device):
    images, labels = mnist_like()
    x, y = data.to_tensors(images, labels, device=device)
    assert x.shape == (10, 1, 28, 28) and x.dtype == torch.float32 and x.device.type == device
    assert y.shape == (10,) and y.dtype == torch.int64 and y.device.type == device
    np.testing.assert_allclose(x[:, 0].cpu().numpy(), images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y.cpu().numpy(), labels)


@pytest.mark.parametrize("device", DEVICES)
def test_hwc_images_become_chw_and_normalised(device):
    images, labels = cifar_like()
    mean, std = data.CIFAR10_MEAN, data.CIFAR10_STD
    x, _ = data.to_tensors(images, labels, mean=mean, std=std, device=device)
    assert x.shape == (10, 3, 32, 32) and x.is_contiguous()
    want = (images.transpose(0, 3, 1, 2) / 255.0 - np.reshape(mean, (1, 3, 1, 1))) / np.reshape(std, (1, 3, 1, 1))
    np.testing.assert_allclose(x.cpu().numpy(), want, rtol=1e-5, atol=1e-5)


def test_float64_and_scalar_statistics():
    images, _ = mnist_like(3)
    x = data.images_to_tensor(torch.from_numpy(images), mean=0.5, std=0.25, dtype=torch.float64)
    assert x.dtype == torch.float64
    np.testing.assert_allclose(x[:, 0].numpy(), (images / 255.0 - 0.5) / 0.25)


@pytest.mark.parametrize("kwargs, message", [
    (dict(images=np.zeros((2, 28, 28), np.float32)), "images must be uint8"),
    (dict(images=np.zeros((2, 28), np.uint8)), r"got \(2, 28\)"),
    (dict(images=np.zeros((2, 8, 8, 5), np.uint8)), r"C in \(1, 3\)"),
    (dict(images=np.zeros((2, 8, 8, 3), np.uint8), mean=(0.5, 0.5), std=(1, 1)), "mean must have one value per channel"),
    (dict(images=np.zeros((2, 8, 8), np.uint8), mean=0.5), "both mean and std"),
    (dict(images=np.zeros((2, 8, 8), np.uint8), mean=0.5, std=0.0), "std must be positive"),
])
def test_images_to_tensor_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.images_to_tensor(**kwargs)


def test_to_tensors_checks_label_count():
    images, labels = mnist_like()
    with pytest.raises(ValueError, match=r"labels must have shape \(10,\)"):
        data.to_tensors(images, labels[:9])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("n, batch, drop_last, lengths", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (5, 8, False, [5]),
    (5, 8, True, []),
])
def test_tensor_loader_batches(device, n, batch, drop_last, lengths):
    x = torch.arange(n, dtype=torch.float32).view(n, 1) * 10
    y = torch.arange(n)
    for shuffle in (False, True):
        loader = data.TensorLoader(x, y, batch, shuffle=shuffle, device=device, drop_last=drop_last, seed=0)
        assert len(loader) == len(lengths)
        got = list(loader)
        assert [len(b[1]) for b in got] == lengths
        for xb, yb in got:
            assert xb.device.type == device and yb.device.type == device
            torch.testing.assert_close(xb[:, 0], yb.float() * 10)  # pairs stay together
        seen = torch.cat([yb for _, yb in got]).cpu() if got else torch.empty(0, dtype=torch.int64)
        if not shuffle:
            assert seen.tolist() == list(range(len(seen)))
        else:
            assert len(set(seen.tolist())) == len(seen)
        if not drop_last:
            assert sorted(seen.tolist()) == list(range(n))


def test_tensor_loader_shuffles_reproducibly_and_differently_each_epoch():
    x, y = torch.zeros(100, 1), torch.arange(100)

    def epochs(loader, k=2):
        return [torch.cat([yb for _, yb in loader]).tolist() for _ in range(k)]

    a = epochs(data.TensorLoader(x, y, 10, device="cpu", seed=7))
    b = epochs(data.TensorLoader(x, y, 10, device="cpu", generator=torch.Generator().manual_seed(7)))
    assert a == b and a[0] != a[1] and a[0] != list(range(100))
    torch.manual_seed(3)
    c = epochs(data.TensorLoader(x, y, 10, device="cpu"))
    torch.manual_seed(3)
    assert epochs(data.TensorLoader(x, y, 10, device="cpu")) == c


def test_tensor_loader_transform_and_validation():
    x, y = torch.ones(6, 1, 2, 2), torch.arange(6)
    loader = data.TensorLoader(x, y, 4, shuffle=False, device="cpu", transform=lambda t: t * 2)
    assert all(bool((xb == 2).all()) for xb, _ in loader)
    assert "batch_size=4" in repr(loader) and loader.num_examples == 6
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="batch_size must be a positive int"):
            data.TensorLoader(x, y, bad)
    with pytest.raises(ValueError, match="same first dimension"):
        data.TensorLoader(x, y[:5], 2, device="cpu")
    with pytest.raises(ValueError, match="generator or seed"):
        data.TensorLoader(x, y, 2, seed=1, generator=torch.Generator())


def test_tensor_loader_defaults_to_the_best_device():
    loader = data.TensorLoader(np.zeros((4, 2), np.float32), np.arange(4), 2)
    assert loader.x.device.type == data.default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_image_dataset_with_a_dataloader_matches_to_tensors():
    images, labels = cifar_like(7)
    images.flags.writeable = False
    ds = data.ImageDataset(images, labels, mean=data.CIFAR10_MEAN, std=data.CIFAR10_STD)
    assert len(ds) == 7
    x0, y0 = ds[0]
    assert x0.shape == (3, 32, 32) and x0.dtype == torch.float32 and isinstance(y0, int)
    xs, ys = zip(*torch.utils.data.DataLoader(ds, batch_size=3, shuffle=False))
    want_x, want_y = data.to_tensors(images, labels, mean=data.CIFAR10_MEAN, std=data.CIFAR10_STD)
    torch.testing.assert_close(torch.cat(xs), want_x)
    torch.testing.assert_close(torch.cat(ys), want_y)


def test_image_dataset_gray_and_transforms():
    images, labels = mnist_like(4)
    ds = data.ImageDataset(images, labels, transform=lambda t: t.flip(-1), target_transform=lambda v: v + 100)
    x, y = ds[2]
    assert x.shape == (1, 28, 28)
    np.testing.assert_allclose(x[0].numpy(), images[2, :, ::-1] / 255.0, rtol=1e-6)
    assert y == labels[2] + 100
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        data.ImageDataset(images, labels[:3])
    with pytest.raises(ValueError, match="images must be uint8"):
        data.ImageDataset(images.astype(np.float32), labels)


@pytest.fixture
def fake_mnist_root(tmp_path, monkeypatch):
    data.clear_cache()
    arrays = write_idx_set(tmp_path / "mnist", seed=11, counts={"train": 50, "test": 20})
    describe(monkeypatch, "mnist", tmp_path / "mnist", counts={"train": 50, "test": 20})
    yield tmp_path, arrays
    data.clear_cache()


@pytest.mark.parametrize("device", DEVICES)
def test_dataloaders_give_normalised_train_and_test_loaders(fake_mnist_root, device):
    root, arrays = fake_mnist_root
    train, test = data.dataloaders("MNIST", 16, root=root, device=device, seed=0, test_batch_size=100)
    assert isinstance(train, data.TensorLoader) and len(train) == 4 and len(test) == 1
    xb, yb = next(iter(test))
    assert xb.shape == (20, 1, 28, 28) and xb.device.type == device
    want = (arrays["test"][0] / 255.0 - data.MNIST_MEAN[0]) / data.MNIST_STD[0]
    np.testing.assert_allclose(xb[:, 0].cpu().numpy(), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(yb.cpu().numpy(), arrays["test"][1])
    assert sum(len(b) for _, b in train) == 50


def test_dataloaders_without_normalisation_and_dropping_the_last_batch(fake_mnist_root):
    root, _ = fake_mnist_root
    loaders = data.dataloaders("mnist", 16, root=root, device="cpu", normalize=False, drop_last=True)
    assert len(loaders.train) == 3 and len(loaders.test) == 2
    xb, _ = next(iter(loaders.train))
    assert 0.0 <= float(xb.min()) and float(xb.max()) <= 1.0


def test_image_dataset_from_name(fake_mnist_root):
    root, arrays = fake_mnist_root
    ds = data.ImageDataset.from_name("mnist", "test", root=root, normalize=True)
    x, y = ds[5]
    np.testing.assert_allclose(x[0].numpy(), (arrays["test"][0][5] / 255.0 - 0.1307) / 0.3081, rtol=1e-5, atol=1e-5)
    assert y == arrays["test"][1][5]
