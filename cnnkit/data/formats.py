"""Readers for the two file formats of the course's data sets: IDX (MNIST) and CIFAR-10 pickles.

Both readers check structure and raise `CorruptDataError` (a `ValueError`) naming the file rather
than return an array that only looks right.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zlib
from pathlib import Path

import numpy as np

from .download import CorruptDataError

__all__ = ["read_idx", "parse_idx", "read_cifar_batch", "parse_cifar_batch"]

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _gunzip(raw: bytes, name) -> bytes:
    try:
        return gzip.decompress(raw)
    except EOFError as e:
        raise CorruptDataError(f"{name}: truncated gzip file ({e}); delete it and download it again") from e
    except (OSError, zlib.error) as e:  # BadGzipFile is an OSError
        raise CorruptDataError(f"{name}: not a valid gzip file ({e})") from e


def parse_idx(data: bytes, name="<bytes>") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file.

    Returns a read-only array of the shape and dtype the header declares (uint8 for the MNIST
    files). The payload must be exactly as long as the header says.
    """
    if len(data) < 4:
        raise CorruptDataError(f"{name}: only {len(data)} bytes, too short for an IDX header")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise CorruptDataError(
            f"{name}: bad IDX magic number 0x{data[:4].hex()} (expected 0x0000TTNN with a known "
            f"type code TT such as 08 for unsigned bytes); not an IDX file")
    dtype = _IDX_DTYPES[data[2]]
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise CorruptDataError(f"{name}: truncated IDX header ({len(data)} bytes, {ndim} dimensions declared)")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual < expected:
        raise CorruptDataError(
            f"{name}: truncated IDX data: the header declares shape {dims} ({expected} bytes) "
            f"but only {actual} bytes follow it")
    if actual > expected:
        raise CorruptDataError(
            f"{name}: {actual - expected} unexpected bytes after the IDX data of shape {dims}")
    arr = np.frombuffer(data, dtype, offset=header).reshape(dims)
    if not dtype.isnative and dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
        arr.flags.writeable = False
    return arr


def read_idx(path) -> np.ndarray:
    """Read an IDX file, gzip-compressed if its name ends in `.gz`. See `parse_idx`."""
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = _gunzip(raw, path)
    return parse_idx(raw, path)


# The only globals a CIFAR-10 batch pickle needs. Unpickling runs whatever a pickle names, so
# anything else is refused: a data file must not be able to run code on a student's machine.
def _allowed_globals():
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray, numeric
    import codecs

    allowed = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,
    }
    for mod in ("numpy.core", "numpy._core"):
        allowed[(mod + ".multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(mod + ".multiarray", "scalar")] = multiarray.scalar
        if hasattr(numeric, "_frombuffer"):
            allowed[(mod + ".numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


class _BatchUnpickler(pickle.Unpickler):
    _allowed = None

    def find_class(self, module, name):
        if _BatchUnpickler._allowed is None:
            _BatchUnpickler._allowed = _allowed_globals()
        try:
            return _BatchUnpickler._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR-10 batch holds only arrays, "
                f"lists and numbers") from None


def parse_cifar_batch(data: bytes, name="<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """Parse the bytes of one CIFAR-10 "python version" batch file.

    Returns `(data, labels)`: `data` uint8 of shape (n, 3072), each row the R, G and B planes of a
    32×32 image; `labels` int64 of shape (n,) in 0..9.
    """
    try:
        batch = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as e:  # a damaged pickle can fail in many ways; all mean the same here
        raise CorruptDataError(
            f"{name}: not a readable CIFAR-10 batch ({type(e).__name__}: {e}); "
            f"the file is corrupt or truncated") from e
    if not isinstance(batch, dict):
        raise CorruptDataError(f"{name}: a CIFAR-10 batch is a dict, found {type(batch).__name__}")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    missing = [k for k in ("data", "labels") if k not in batch]
    if missing:
        raise CorruptDataError(f"{name}: CIFAR-10 batch lacks the key(s) {missing}; found {sorted(map(str, batch))}")
    x = batch["data"]
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3072:
        desc = f"{x.dtype} array of shape {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
        raise CorruptDataError(f"{name}: 'data' must be a uint8 array of shape (n, 3072), found {desc}")
    try:
        y = np.asarray(batch["labels"])
    except Exception as e:
        raise CorruptDataError(f"{name}: 'labels' is not a list of integers ({e})") from e
    if y.ndim != 1 or len(y) != len(x) or (y.size and y.dtype.kind not in "iu"):
        raise CorruptDataError(
            f"{name}: 'labels' must be {len(x)} integers (one per row of 'data'), "
            f"found {y.dtype} array of shape {y.shape}")
    y = y.astype(np.int64)
    _check_labels(y, name)
    return x, y


def read_cifar_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """Read one extracted CIFAR-10 batch file. See `parse_cifar_batch`."""
    path = Path(path)
    return parse_cifar_batch(path.read_bytes(), path)


def _check_labels(y: np.ndarray, name, classes: int = 10) -> None:
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise CorruptDataError(
            f"{name}: labels must lie in 0..{classes - 1}, found values from {y.min()} to {y.max()}")
