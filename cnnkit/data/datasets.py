"""The loaders: MNIST, Fashion-MNIST and CIFAR-10 as NumPy arrays.

Parsed arrays are kept in memory per process (keyed by the files' paths, sizes and modification
times), so a notebook that loads a data set in several cells pays for the parsing once. Every call
returns fresh copies: students may scale, shuffle or overwrite them in place without changing
what the next load returns. Copying is cheap next to parsing (tens of milliseconds for the
CIFAR-10 training set); `clear_cache()` frees the memory.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

import numpy as np

from . import download as _dl
from .download import CorruptDataError, DataUnavailable, verify_md5
from .formats import _check_labels, parse_cifar_batch, read_cifar_batch, read_idx
from .sources import (CIFAR10_ARCHIVE, CIFAR10_BATCH_FOLDER, ENV_ROOT, Source, mirrors_for,
                      offline_reason, resolve_root, source)

__all__ = ["load_mnist", "load_fashion_mnist", "load_cifar10", "load", "clear_cache"]

# (data set, split, ((path, inode, size, mtime_ns), ...)) -> (source record, images, labels)
_cache: dict[tuple, tuple[Source, np.ndarray, np.ndarray]] = {}


def clear_cache() -> None:
    """Forget every parsed array and remembered checksum of this process."""
    _cache.clear()
    _dl.clear_md5_cache()


def _signature(paths) -> tuple:
    out = []
    for p in paths:
        st = os.stat(p)
        out.append((str(Path(p).resolve()), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def _check_split(src: Source, split, fn: str) -> None:
    if split not in src.files:
        choices = ", ".join(repr(s) for s in src.files)
        raise ValueError(f"{fn}: split must be one of {choices}, got {split!r}")


def _missing(src: Source, fn: str, what: str, filename: str, folder: Path, root: Path,
             origin: str, mirrors) -> FileNotFoundError:
    url = mirrors_for(src, mirrors)[0] + filename
    return FileNotFoundError(
        f"{src.title}: {what} not found in {folder} (data root {root}, from {origin}). "
        f"Call {fn}(..., download=True) to download it from {url}, or copy the "
        f"publisher's files there by hand ({src.homepage}), or set root=... or ${ENV_ROOT} "
        f"to a folder that holds {src.folder}/.")


def _unavailable(src: Source, split: str, what: str, folder: Path, root: Path, origin: str,
                 reason: str) -> DataUnavailable:
    """The error for files that are missing when there is no network to download them from."""
    wanted = (f"{CIFAR10_ARCHIVE}, or the {CIFAR10_BATCH_FOLDER}/ folder it holds" if src.name == "cifar10"
              else ", ".join(src.files[split]))
    return DataUnavailable(
        f"no data: there is no copy of {src.title}'s {split} split in {folder} ({what} missing; data root "
        f"{root}, from {origin}) and no network to download it from ({reason}). Put the publisher's files "
        f"there ({wanted}, from {src.homepage}), or set ${ENV_ROOT} to a folder that holds them "
        f"in {src.folder}/.")


def _fetch_if_missing(src, fn, filename, folder, root, origin, download, mirrors, progress, split):
    path = folder / filename
    if path.is_file():
        return path
    reason = offline_reason()
    if reason is not None:
        raise _unavailable(src, split, f"{filename!r} is", folder, root, origin, reason)
    if not download:
        raise _missing(src, fn, f"file {filename!r}", filename, folder, root, origin, mirrors)
    return _dl.download(filename, folder, mirrors_for(src, mirrors), src.md5.get(filename), progress)


def _cached(key, src):
    hit = _cache.get(key)
    # The record is compared by identity so that a replaced record (other checksums or counts)
    # is never answered with arrays validated against the old one.
    if hit is not None and hit[0] is src:
        return hit[1].copy(), hit[2].copy()
    return None


def _store(key, src, images, labels):
    images.flags.writeable = False
    labels.flags.writeable = False
    _cache[key] = (src, images, labels)
    return images.copy(), labels.copy()


# --------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST: IDX files, gzip-compressed


def _load_idx_set(name: str, fn: str, split, root, download, mirrors, progress):
    src = source(name)
    _check_split(src, split, fn)
    root, origin = resolve_root(root)
    folder = root / src.folder
    image_file, label_file = src.files[split]
    paths = [_fetch_if_missing(src, fn, f, folder, root, origin, download, mirrors, progress, split)
             for f in (image_file, label_file)]
    key = (src.name, split, _signature(paths))
    hit = _cached(key, src)
    if hit is not None:
        return hit
    for p in paths:
        verify_md5(p, src.md5.get(p.name))
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    n = src.counts[split]
    shape = (n, *src.image_shape)
    if images.dtype != np.uint8 or images.shape != shape:
        raise CorruptDataError(
            f"{paths[0]}: expected {src.title} {split} images as uint8 of shape {shape}, "
            f"found {images.dtype} of shape {images.shape}")
    if labels.dtype != np.uint8 or labels.shape != (n,):
        raise CorruptDataError(
            f"{paths[1]}: expected {src.title} {split} labels as uint8 of shape {(n,)}, "
            f"found {labels.dtype} of shape {labels.shape}")
    labels = labels.astype(np.int64)
    _check_labels(labels, paths[1])
    return _store(key, src, images, labels)


def load_mnist(split="train", root=None, download=True, *, mirrors=None, progress=True):
    """MNIST handwritten digits.

    Args:
        split: "train" (60,000 images) or "test" (10,000).
        root: data root holding `mnist/` with the four published `.gz` files; default
            `$CNNKIT_DATA`, else `$XDG_CACHE_HOME/cnnkit` or `~/.cache/cnnkit`.
        download: fetch missing files (with a progress bar) from the mirrors; if False a missing
            file raises `FileNotFoundError`.
        mirrors: base URL or list of base URLs to download from instead of the publishers'
            (see `cnnkit.data.sources.mirrors_for`; `$CNNKIT_DATA_MIRROR` also works).
        progress: show a progress bar while downloading.

    Returns:
        `(images, labels)`: uint8 array (N, 28, 28), white digits on black (0..255), and int64
        array (N,) of digits 0..9. Fresh, writable copies on every call.

    Raises:
        ValueError: unknown split; `CorruptDataError` (a ValueError) when a file's checksum or
            structure is wrong. FileNotFoundError: missing file and `download=False`.
            DataUnavailable (a FileNotFoundError): missing file and no network (`$CNNKIT_OFFLINE`
            or `$CNNKIT_GRADING` set), whatever `download` says.
            DownloadError (an OSError): no mirror delivered the file.
    """
    return _load_idx_set("mnist", "load_mnist", split, root, download, mirrors, progress)


def load_fashion_mnist(split="train", root=None, download=True, *, mirrors=None, progress=True):
    """Fashion-MNIST: Zalando's article images, a drop-in replacement for MNIST.

    Same files, format and arguments as `load_mnist`, under `fashion-mnist/` in the data root.

    Returns:
        `(images, labels)`: uint8 array (N, 28, 28) and int64 array (N,) of classes 0..9
        (names in `cnnkit.data.FASHION_MNIST_CLASSES`); N is 60,000 (train) or 10,000 (test).
    """
    return _load_idx_set("fashion-mnist", "load_fashion_mnist", split, root, download, mirrors, progress)


# --------------------------------------------------------------------------------------------
# CIFAR-10: pickled batches, extracted from the published archive


def _assemble(batches, src: Source, split: str, where):
    """Stack (data, labels) batches into HWC images; check the total count."""
    n = sum(len(x) for x, _ in batches)
    if n != src.counts[split]:
        raise CorruptDataError(
            f"{where}: {src.title} {split} split has {n} images, expected {src.counts[split]}")
    images = np.empty((n, 32, 32, 3), np.uint8)
    labels = np.empty(n, np.int64)
    flat = images.reshape(n, 1024, 3)
    i = 0
    for x, y in batches:
        planes = x.reshape(len(x), 3, 1024)
        # One strided copy per channel is several times faster than a transposed copy.
        for c in range(3):
            flat[i:i + len(x), :, c] = planes[:, c]
        labels[i:i + len(x)] = y
        i += len(x)
    return images, labels


_ARCHIVE_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                  "data_batch_5", "test_batch", "batches.meta", "readme.html")


def _read_archive(archive: Path, wanted) -> dict[str, bytes]:
    """The batch files of the published archive, by file name, read into memory.

    Members are read by name rather than extracted, so a crafted archive cannot write outside
    the data root.
    """
    out = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for m in tar:
                folder, _, base = m.name.rpartition("/")
                if m.isfile() and folder.endswith(CIFAR10_BATCH_FOLDER) and base in _ARCHIVE_FILES:
                    out[base] = tar.extractfile(m).read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise CorruptDataError(f"{archive}: not a readable CIFAR-10 archive ({e}); "
                               f"delete it and load again to download a fresh copy") from e
    missing = [w for w in wanted if w not in out]
    if missing:
        raise CorruptDataError(f"{archive}: the archive lacks {CIFAR10_BATCH_FOLDER}/{missing}")
    return out


def _extract(members: dict[str, bytes], batch_dir: Path) -> None:
    """Write the batches to `batch_dir` atomically: a temporary folder renamed into place."""
    tmp = Path(tempfile.mkdtemp(dir=batch_dir.parent, prefix=f".{batch_dir.name}."))
    try:
        for name, data in members.items():
            (tmp / name).write_bytes(data)
        os.rename(tmp, batch_dir)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not batch_dir.is_dir():  # not just another process extracting at the same time
            raise


def load_cifar10(split="train", root=None, download=True, *, mirrors=None, progress=True):
    """CIFAR-10: 32×32 colour images in 10 classes.

    Reads `cifar-10/cifar-10-batches-py/` under the data root (the extracted "python version";
    its batches are checked by structure, not checksum). If that folder is missing, the published
    archive `cifar-10/cifar-10-python.tar.gz` is used (checked against its MD5, downloaded first
    if missing and `download` is true) and extracted beside it; if the root is read-only, the
    batches are read straight from the archive. Arguments as for `load_mnist`.

    Returns:
        `(images, labels)`: uint8 array (N, 32, 32, 3) in height, width, RGB order (the published
        rows hold R, G and B planes; they are transposed here), and int64 array (N,) of classes
        0..9 (names in `cnnkit.data.CIFAR10_CLASSES`); N is 50,000 (train) or 10,000 (test).
        Fresh, writable copies on every call.
    """
    fn = "load_cifar10"
    src = source("cifar10")
    _check_split(src, split, fn)
    root, origin = resolve_root(root)
    folder = root / src.folder
    batch_dir = folder / CIFAR10_BATCH_FOLDER
    names = src.files[split]

    paths = [batch_dir / n for n in names]
    if all(p.is_file() for p in paths):
        key = (src.name, split, _signature(paths))
        hit = _cached(key, src)
        if hit is not None:
            return hit
        batches = [read_cifar_batch(p) for p in paths]
        return _store(key, src, *_assemble(batches, src, split, batch_dir))

    archive = folder / CIFAR10_ARCHIVE
    reason = offline_reason()
    if not archive.is_file() and (not download or reason is not None):
        present = [p.name for p in paths if p.is_file()]
        what = (f"the batch files {[n for n in names if n not in present]} (in {batch_dir}) "
                f"and the archive {CIFAR10_ARCHIVE!r}")
        if reason is not None:
            raise _unavailable(src, split, what + " are", folder, root, origin, reason)
        raise _missing(src, fn, what, CIFAR10_ARCHIVE, folder, root, origin, mirrors)
    archive = _fetch_if_missing(src, fn, CIFAR10_ARCHIVE, folder, root, origin, download,
                                mirrors, progress, split)
    key = (src.name, split, _signature([archive]))
    hit = _cached(key, src)
    if hit is not None:
        return hit
    verify_md5(archive, src.md5.get(archive.name))
    every = [n for s in src.files.values() for n in s]
    members = _read_archive(archive, every)
    batches = [parse_cifar_batch(members[n], f"{archive}:{CIFAR10_BATCH_FOLDER}/{n}") for n in names]
    result = _assemble(batches, src, split, archive)
    if not batch_dir.exists():
        try:
            _extract(members, batch_dir)
        except OSError:
            pass  # a read-only root: reading from the archive each time still works
    return _store(key, src, *result)


_LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist, "cifar10": load_cifar10}


def load(name: str, split="train", root=None, download=True, **kwargs):
    """Load a data set by name ("mnist", "fashion-mnist", "cifar10"; case, "-" and "_" ignored).

    Same arguments and results as `load_mnist`, `load_fashion_mnist` and `load_cifar10`.
    """
    return _LOADERS[source(name).name](split, root, download, **kwargs)
