"""cnnkit.data on small files written in the publishers' formats: parsing, layout, validation.

The writers below produce the real formats (gzip IDX, CIFAR-10 pickles and archive) at a few
examples per split; `SOURCES` is replaced by records describing these files (their MD5s and
counts), so the loaders run the same checks as on the real data.
"""

import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnkit.data as data
from cnnkit.data import datasets, download, formats, sources
from cnnkit.data import ChecksumError, CorruptDataError

IDX_NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
COUNTS = {"train": 6, "test": 4}


# ---------------------------------------------------------------------------------------------
# writers of the real formats


def idx_bytes(arr, type_code=0x08):
    arr = np.asarray(arr)
    header = bytes([0, 0, type_code, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_idx_set(folder, seed=0, counts=COUNTS, shape=(28, 28)):
    """The four gzip IDX files of an MNIST-like set; returns {split: (images, labels)}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, (img_name, lbl_name) in IDX_NAMES.items():
        x = rng.integers(0, 256, (counts[split], *shape), dtype=np.uint8)
        y = rng.integers(0, 10, counts[split], dtype=np.uint8)
        (folder / img_name).write_bytes(gzip.compress(idx_bytes(x)))
        (folder / lbl_name).write_bytes(gzip.compress(idx_bytes(y)))
        out[split] = (x, y.astype(np.int64))
    return out


def describe(monkeypatch, name, folder, counts=COUNTS, files=None):
    """Replace the SOURCES record of `name` by one describing the files now in `folder`."""
    src = sources.SOURCES[name]
    files = src.downloads if files is None else files
    table = {f: md5(folder / f) for f in files if (folder / f).is_file()}
    monkeypatch.setitem(sources.SOURCES, name, dataclasses.replace(src, md5=table, counts=dict(counts)))
    return table


def cifar_rows(images_hwc):
    """HWC images as the published rows: R plane, G plane, B plane of 32×32 each."""
    return images_hwc.transpose(0, 3, 1, 2).reshape(len(images_hwc), 3072)


def cifar_batch_bytes(rows, labels, protocol=2, str_keys=False):
    batch = {b"batch_label": b"synthetic batch", b"labels": [int(v) for v in labels],
             b"data": rows, b"filenames": [b"img_%d.png" % i for i in range(len(rows))]}
    if str_keys:
        batch = {k.decode(): v for k, v in batch.items()}
    return pickle.dumps(batch, protocol=protocol)


CIFAR_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
CIFAR_PER_BATCH = 3


def cifar_images(seed=0):
    """{batch name: (HWC images, labels)} for five train batches and one test batch."""
    rng = np.random.default_rng(seed)
    return {name: (rng.integers(0, 256, (CIFAR_PER_BATCH, 32, 32, 3), dtype=np.uint8),
                   rng.integers(0, 10, CIFAR_PER_BATCH))
            for names in CIFAR_BATCHES.values() for name in names}


def write_cifar_folder(batch_dir, batches, protocol=2):
    batch_dir.mkdir(parents=True, exist_ok=True)
    for name, (x, y) in batches.items():
        (batch_dir / name).write_bytes(cifar_batch_bytes(cifar_rows(x), y, protocol))


def write_cifar_archive(path, batches):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, (x, y) in batches.items():
            blob = cifar_batch_bytes(cifar_rows(x), y)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def split_of(batches, split):
    x = np.concatenate([batches[n][0] for n in CIFAR_BATCHES[split]])
    y = np.concatenate([batches[n][1] for n in CIFAR_BATCHES[split]])
    return x, y


CIFAR_COUNTS = {"train": 5 * CIFAR_PER_BATCH, "test": CIFAR_PER_BATCH}


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    # A course machine may set these; the tests below choose roots and mirrors themselves.
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    monkeypatch.delenv("CNNKIT_DATA_MIRROR", raising=False)
    data.clear_cache()
    yield
    data.clear_cache()


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """A data root with a synthetic MNIST described by SOURCES; returns (root, arrays)."""
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    arrays = write_idx_set(tmp_path / "mnist")
    describe(monkeypatch, "mnist", tmp_path / "mnist")
    return tmp_path, arrays


# ---------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST


@pytest.mark.parametrize("split", ["train", "test"])
def test_mnist_reads_idx_files_as_published(fake_mnist, split):
    root, arrays = fake_mnist
    x, y = data.load_mnist(split, root=root, download=False)
    assert x.dtype == np.uint8 and x.shape == (COUNTS[split], 28, 28)
    assert y.dtype == np.int64 and y.shape == (COUNTS[split],)
    np.testing.assert_array_equal(x, arrays[split][0])
    np.testing.assert_array_equal(y, arrays[split][1])


def test_fashion_mnist_reads_its_own_folder(tmp_path, monkeypatch):
    arrays = write_idx_set(tmp_path / "fashion-mnist", seed=3)
    describe(monkeypatch, "fashion-mnist", tmp_path / "fashion-mnist")
    x, y = data.load_fashion_mnist("test", root=tmp_path, download=False)
    np.testing.assert_array_equal(x, arrays["test"][0])
    np.testing.assert_array_equal(y, arrays["test"][1])
    x2, _ = data.load("Fashion_MNIST", "test", root=tmp_path, download=False)
    np.testing.assert_array_equal(x2, x)


def test_results_are_private_copies_of_the_cache(fake_mnist, monkeypatch):
    root, arrays = fake_mnist
    x, y = data.load_mnist(root=root)
    assert x.flags.writeable and y.flags.writeable
    x[:] = 0
    y[:] = -1
    # A second load must come from the cache (the parser is gone) and be unaffected.
    monkeypatch.setattr(datasets, "read_idx", lambda path: pytest.fail("parsed twice"))
    x2, y2 = data.load_mnist(root=root)
    np.testing.assert_array_equal(x2, arrays["train"][0])
    np.testing.assert_array_equal(y2, arrays["train"][1])
    assert not np.shares_memory(x, x2)


def test_checksums_are_computed_once_per_process(fake_mnist, monkeypatch):
    root, _ = fake_mnist
    data.load_mnist(root=root)
    datasets._cache.clear()  # parsed arrays gone, remembered checksums kept

    def no_hashing(*a, **k):
        raise AssertionError("file hashed again")

    monkeypatch.setattr(download.hashlib, "md5", no_hashing)
    data.load_mnist(root=root)


def test_a_file_replaced_on_disk_is_read_again(fake_mnist, monkeypatch):
    root, arrays = fake_mnist
    data.load_mnist("test", root=root)
    new = write_idx_set(root / "mnist", seed=42)
    describe(monkeypatch, "mnist", root / "mnist")
    x, _ = data.load_mnist("test", root=root)
    np.testing.assert_array_equal(x, new["test"][0])


def test_published_checksum_mismatch_names_file_and_digests(fake_mnist, monkeypatch):
    root, _ = fake_mnist
    name = "train-labels-idx1-ubyte.gz"
    actual = md5(root / "mnist" / name)
    table = dict(sources.SOURCES["mnist"].md5, **{name: "0" * 32})
    monkeypatch.setitem(sources.SOURCES, "mnist", dataclasses.replace(sources.SOURCES["mnist"], md5=table))
    with pytest.raises(ChecksumError, match=rf"{name}.*MD5 is {actual}, expected the published 0{{32}}"):
        data.load_mnist(root=root)


def test_real_checksum_table_rejects_a_synthetic_file(fake_mnist, monkeypatch):
    root, _ = fake_mnist
    monkeypatch.undo()  # the published MD5s again
    with pytest.raises(ChecksumError, match="f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        data.load_mnist(root=root)


def rewrite(folder, name, content, monkeypatch):
    """Overwrite one file and describe it (MD5 accepted) so the structural checks are reached."""
    (folder / name).write_bytes(content)
    describe(monkeypatch, "mnist", folder)


def test_truncated_gzip(fake_mnist, monkeypatch):
    root, _ = fake_mnist
    name = "train-images-idx3-ubyte.gz"
    whole = (root / "mnist" / name).read_bytes()
    rewrite(root / "mnist", name, whole[: len(whole) // 2], monkeypatch)
    with pytest.raises(CorruptDataError, match=f"{name}: truncated gzip"):
        data.load_mnist(root=root)


def test_truncated_gzip_against_the_published_checksum(fake_mnist, monkeypatch):
    root, _ = fake_mnist
    name = "train-images-idx3-ubyte.gz"
    whole = (root / "mnist" / name).read_bytes()
    (root / "mnist" / name).write_bytes(whole[:-100])
    with pytest.raises(ChecksumError, match=f"{name}: MD5 is"):
        data.load_mnist(root=root)


def test_not_a_gzip_file(fake_mnist, monkeypatch):
    root, _ = fake_mnist
    rewrite(root / "mnist", "t10k-labels-idx1-ubyte.gz", b"<html>404 Not Found</html>", monkeypatch)
    with pytest.raises(CorruptDataError, match="t10k-labels-idx1-ubyte.gz: not a valid gzip file"):
        data.load_mnist("test", root=root)


def test_truncated_idx_payload(fake_mnist, monkeypatch):
    root, arrays = fake_mnist
    raw = idx_bytes(arrays["train"][0])[:-5]
    rewrite(root / "mnist", "train-images-idx3-ubyte.gz", gzip.compress(raw), monkeypatch)
    with pytest.raises(CorruptDataError, match=r"train-images-idx3-ubyte.gz: truncated IDX data.*\(6, 28, 28\)"):
        data.load_mnist(root=root)


def test_trailing_bytes_after_idx_payload(fake_mnist, monkeypatch):
    root, arrays = fake_mnist
    raw = idx_bytes(arrays["train"][1].astype(np.uint8)) + b"\0\0\0"
    rewrite(root / "mnist", "train-labels-idx1-ubyte.gz", gzip.compress(raw), monkeypatch)
    with pytest.raises(CorruptDataError, match="3 unexpected bytes"):
        data.load_mnist(root=root)


def test_bad_magic_number(fake_mnist, monkeypatch):
    root, arrays = fake_mnist
    raw = b"\x08\x03" + idx_bytes(arrays["train"][0])[2:]
    rewrite(root / "mnist", "train-images-idx3-ubyte.gz", gzip.compress(raw), monkeypatch)
    with pytest.raises(CorruptDataError, match="bad IDX magic number 0x0803"):
        data.load_mnist(root=root)


@pytest.mark.parametrize("split, name, arr, message", [
    ("train", "train-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.uint8),
     r"expected MNIST train images as uint8 of shape \(6, 28, 28\), found uint8 of shape \(5, 28, 28\)"),
    ("train", "train-images-idx3-ubyte.gz", np.zeros((6, 28, 27), np.uint8), r"shape \(6, 28, 27\)"),
    ("train", "train-images-idx3-ubyte.gz", np.zeros((6, 28, 28), ">i4"), "found int32"),
    ("test", "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8),
     r"expected MNIST test labels as uint8 of shape \(4,\)"),
    ("test", "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 10, 2], np.uint8),
     "t10k-labels-idx1-ubyte.gz: labels must lie in 0..9, found values from 0 to 10"),
])
def test_idx_structure_is_checked(fake_mnist, monkeypatch, split, name, arr, message):
    root, _ = fake_mnist
    code = 0x0C if arr.dtype.itemsize == 4 else 0x08
    rewrite(root / "mnist", name, gzip.compress(idx_bytes(arr, code)), monkeypatch)
    with pytest.raises(CorruptDataError, match=message):
        data.load_mnist(split, root=root)


def test_split_must_be_train_or_test(fake_mnist):
    root, _ = fake_mnist
    for load in (data.load_mnist, data.load_fashion_mnist, data.load_cifar10):
        with pytest.raises(ValueError, match=r"split must be one of 'train', 'test', got 'valid'"):
            load("valid", root=root)


def test_unknown_data_set_name():
    with pytest.raises(ValueError, match="unknown data set 'svhn'.*'mnist', 'fashion-mnist', 'cifar10'"):
        data.load("svhn")


def test_missing_file_without_download(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    with pytest.raises(FileNotFoundError) as info:
        data.load_mnist("test", root=tmp_path, download=False)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "mnist") in message and "the root argument" in message
    assert "download=True" in message and "ossci-datasets" in message


def test_missing_file_names_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"\$CNNKIT_DATA"):
        data.load_fashion_mnist(download=False)


def test_root_from_environment_variable(fake_mnist, monkeypatch):
    root, arrays = fake_mnist
    monkeypatch.setenv("CNNKIT_DATA", str(root))
    x, _ = data.load_mnist("test", download=False)
    np.testing.assert_array_equal(x, arrays["test"][0])
    assert data.data_root() == root
    assert data.data_root(root / "elsewhere") == root / "elsewhere"


def test_default_root_is_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.data_root() == tmp_path / "xdg" / "cnnkit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.data_root() == tmp_path / "home" / ".cache" / "cnnkit"
    with pytest.raises(FileNotFoundError, match="default cache folder"):
        data.load_mnist(download=False)


@given(st.integers(1, 3).flatmap(lambda nd: st.lists(st.integers(0, 5), min_size=nd, max_size=nd)),
       st.sampled_from([(0x08, "u1"), (0x09, "i1"), (0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")]),
       st.data())
def test_idx_round_trip_and_every_truncation_is_caught(shape, code_dtype, draw):
    code, dtype = code_dtype
    arr = (np.arange(int(np.prod(shape))).reshape(shape) % 100).astype(dtype)
    raw = idx_bytes(arr, code)
    out = formats.parse_idx(raw)
    assert out.shape == tuple(shape) and out.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(out, arr)
    cut = draw.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(CorruptDataError):
        formats.parse_idx(raw[:cut], "cut.idx")


# ---------------------------------------------------------------------------------------------
# CIFAR-10


@pytest.fixture
def fake_cifar(tmp_path, monkeypatch):
    """A data root with an extracted synthetic CIFAR-10; returns (root, batches)."""
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    batches = cifar_images()
    write_cifar_folder(tmp_path / "cifar-10" / "cifar-10-batches-py", batches)
    monkeypatch.setitem(sources.SOURCES, "cifar10",
                        dataclasses.replace(sources.SOURCES["cifar10"], counts=CIFAR_COUNTS))
    return tmp_path, batches


@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar_batches_become_hwc_images(fake_cifar, split):
    root, batches = fake_cifar
    x, y = data.load_cifar10(split, root=root, download=False)
    want_x, want_y = split_of(batches, split)
    assert x.dtype == np.uint8 and x.shape == (CIFAR_COUNTS[split], 32, 32, 3)
    assert y.dtype == np.int64 and y.shape == (CIFAR_COUNTS[split],)
    assert x.flags.c_contiguous and x.flags.writeable
    np.testing.assert_array_equal(x, want_x)
    np.testing.assert_array_equal(y, want_y)


def test_cifar_row_is_red_then_green_then_blue_planes(tmp_path, monkeypatch):
    # Each plane has its own constant offset and a position ramp, so any mix-up of channels,
    # rows or columns shows.
    ramp = np.arange(1024).reshape(32, 32) % 50
    row = np.concatenate([(ramp + 0).ravel(), (ramp + 100).ravel(), (ramp + 200).ravel()]).astype(np.uint8)
    folder = tmp_path / "cifar-10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    (folder / "test_batch").write_bytes(cifar_batch_bytes(row[None], [7]))
    monkeypatch.setitem(sources.SOURCES, "cifar10",
                        dataclasses.replace(sources.SOURCES["cifar10"], counts={"train": 0, "test": 1}))
    x, y = data.load_cifar10("test", root=tmp_path)
    assert y.tolist() == [7]
    np.testing.assert_array_equal(x[0, :, :, 0], ramp)
    np.testing.assert_array_equal(x[0, :, :, 1], ramp + 100)
    np.testing.assert_array_equal(x[0, :, :, 2], ramp + 200)
    assert x[0, 0, 1].tolist() == [1, 101, 201] and x[0, 1, 0].tolist() == [32, 132, 232]


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("str_keys", [False, True])
def test_cifar_batches_in_any_pickle_protocol(protocol, str_keys):
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    x, y = formats.parse_cifar_batch(cifar_batch_bytes(rows, [0, 9, 3, 3], protocol, str_keys))
    np.testing.assert_array_equal(x, rows)
    assert y.dtype == np.int64 and y.tolist() == [0, 9, 3, 3]


@pytest.mark.parametrize("batch, message", [
    ({b"data": np.zeros((3, 3072), np.uint8)}, r"lacks the key\(s\) \['labels'\]"),
    ({b"data": np.zeros((3, 3071), np.uint8), b"labels": [0, 1, 2]},
     r"'data' must be a uint8 array of shape \(n, 3072\), found uint8 array of shape \(3, 3071\)"),
    ({b"data": np.zeros((3, 3072), np.float32), b"labels": [0, 1, 2]}, "found float32"),
    ({b"data": [[0] * 3072] * 3, b"labels": [0, 1, 2]}, "found list"),
    ({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1]}, "'labels' must be 3 integers"),
    ({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1, 10]}, r"labels must lie in 0..9"),
    ({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1, -1]}, r"labels must lie in 0..9"),
    ([1, 2, 3], "a CIFAR-10 batch is a dict, found list"),
])
def test_cifar_batch_structure_is_checked(batch, message):
    with pytest.raises(CorruptDataError, match=message):
        formats.parse_cifar_batch(pickle.dumps(batch, protocol=2), "data_batch_9")


def test_corrupt_cifar_pickle_names_the_file(fake_cifar):
    root, _ = fake_cifar
    path = root / "cifar-10" / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CorruptDataError, match=r"data_batch_3: not a readable CIFAR-10 batch .*corrupt or truncated"):
        data.load_cifar10("train", root=root)


def test_a_pickle_cannot_run_code():
    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    blob = pickle.dumps({b"data": Exploit(), b"labels": []}, protocol=2)
    with pytest.raises(CorruptDataError, match=r"refusing to load (posix|os|nt)\.system"):
        formats.parse_cifar_batch(blob, "test_batch")


@given(st.data())
def test_every_truncated_cifar_pickle_is_caught(draw):
    blob = cifar_batch_bytes(np.zeros((2, 3072), np.uint8), [1, 2], protocol=draw.draw(st.sampled_from([2, 5])))
    cut = draw.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(CorruptDataError):
        formats.parse_cifar_batch(blob[:cut])


def test_cifar_counts_are_checked(fake_cifar, monkeypatch):
    root, _ = fake_cifar
    monkeypatch.setitem(sources.SOURCES, "cifar10",
                        dataclasses.replace(sources.SOURCES["cifar10"], counts={"train": 50_000, "test": 10_000}))
    with pytest.raises(CorruptDataError, match="CIFAR-10 train split has 15 images, expected 50000"):
        data.load_cifar10(root=root)


def test_cifar_batches_meta_is_optional_and_unchecked(fake_cifar):
    root, _ = fake_cifar
    (root / "cifar-10" / "cifar-10-batches-py" / "batches.meta").write_bytes(b"not even a pickle")
    data.load_cifar10("test", root=root)


def test_cifar_from_the_archive_is_extracted_once(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    batches = cifar_images(seed=5)
    folder = tmp_path / "cifar-10"
    write_cifar_archive(folder / "cifar-10-python.tar.gz", batches)
    src = sources.SOURCES["cifar10"]
    monkeypatch.setitem(sources.SOURCES, "cifar10", dataclasses.replace(
        src, counts=CIFAR_COUNTS, md5={"cifar-10-python.tar.gz": md5(folder / "cifar-10-python.tar.gz")}))
    x, y = data.load_cifar10("test", root=tmp_path, download=False)
    np.testing.assert_array_equal(x, split_of(batches, "test")[0])
    extracted = folder / "cifar-10-batches-py"
    assert sorted(p.name for p in extracted.iterdir()) == sorted(batches)
    assert sorted(p.name for p in folder.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    # The train split now comes from the extracted folder, not the archive.
    monkeypatch.setattr(datasets, "_read_archive", lambda *a: pytest.fail("archive read again"))
    x, y = data.load_cifar10("train", root=tmp_path, download=False)
    np.testing.assert_array_equal(x, split_of(batches, "train")[0])
    np.testing.assert_array_equal(y, split_of(batches, "train")[1])


def test_cifar_archive_on_a_read_only_root_is_read_directly(tmp_path, monkeypatch):
    batches = cifar_images(seed=6)
    archive = tmp_path / "cifar-10" / "cifar-10-python.tar.gz"
    write_cifar_archive(archive, batches)
    monkeypatch.setitem(sources.SOURCES, "cifar10", dataclasses.replace(
        sources.SOURCES["cifar10"], counts=CIFAR_COUNTS, md5={archive.name: md5(archive)}))

    def read_only(members, batch_dir):
        raise PermissionError(13, "Permission denied", str(batch_dir))

    monkeypatch.setattr(datasets, "_extract", read_only)
    x, _ = data.load_cifar10("train", root=tmp_path)
    np.testing.assert_array_equal(x, split_of(batches, "train")[0])
    assert not (tmp_path / "cifar-10" / "cifar-10-batches-py").exists()


def test_cifar_archive_checksum_is_checked(tmp_path, monkeypatch):
    archive = tmp_path / "cifar-10" / "cifar-10-python.tar.gz"
    write_cifar_archive(archive, cifar_images())
    with pytest.raises(ChecksumError, match=r"cifar-10-python.tar.gz: MD5 is .*c58f30108f718f92721af3b95e74349a"):
        data.load_cifar10(root=tmp_path)


def test_cifar_archive_missing_a_batch(tmp_path, monkeypatch):
    batches = cifar_images()
    del batches["data_batch_4"]
    archive = tmp_path / "cifar-10" / "cifar-10-python.tar.gz"
    write_cifar_archive(archive, batches)
    monkeypatch.setitem(sources.SOURCES, "cifar10", dataclasses.replace(
        sources.SOURCES["cifar10"], counts=CIFAR_COUNTS, md5={archive.name: md5(archive)}))
    with pytest.raises(CorruptDataError, match=r"lacks cifar-10-batches-py/\['data_batch_4'\]"):
        data.load_cifar10("test", root=tmp_path)


def test_incomplete_cifar_folder_falls_back_to_the_archive(fake_cifar, monkeypatch):
    root, batches = fake_cifar
    (root / "cifar-10" / "cifar-10-batches-py" / "data_batch_2").unlink()
    with pytest.raises(FileNotFoundError, match=r"\['data_batch_2'\].*cifar-10-python.tar.gz"):
        data.load_cifar10("train", root=root, download=False)
    data.load_cifar10("test", root=root, download=False)  # the test split is complete
    archive = root / "cifar-10" / "cifar-10-python.tar.gz"
    write_cifar_archive(archive, batches)
    monkeypatch.setitem(sources.SOURCES, "cifar10", dataclasses.replace(
        sources.SOURCES["cifar10"], md5={archive.name: md5(archive)}))
    x, _ = data.load_cifar10("train", root=root, download=False)
    np.testing.assert_array_equal(x, split_of(batches, "train")[0])
    assert not (root / "cifar-10" / "cifar-10-batches-py" / "data_batch_2").exists()


def test_cifar_missing_everything_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"CIFAR-10: the batch files .*test_batch.*cifar-10-python.tar.gz"
                                                r".*download=True.*www.cs.toronto.edu"):
        data.load_cifar10("test", root=tmp_path, download=False)


# ---------------------------------------------------------------------------------------------
# the package itself


def test_public_names():
    for name in data.__all__:
        assert getattr(data, name) is not None, name
    assert set(data.NORMALIZATION) == {"mnist", "fashion-mnist", "cifar10"}
    assert len(data.CIFAR10_MEAN) == len(data.CIFAR10_STD) == 3


def test_importing_cnnkit_data_does_not_import_torch():
    code = "import sys, cnnkit.data; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
