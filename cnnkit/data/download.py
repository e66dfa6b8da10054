"""Checksums and downloads: never leave a half-written or unverified file under a final name."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .sources import ENV_ROOT, offline_reason

__all__ = ["DownloadError", "DataUnavailable", "ChecksumError", "CorruptDataError", "md5sum", "verify_md5",
           "download", "USER_AGENT", "TIMEOUT"]

# Some publishers answer urllib's default agent with 403 Forbidden.
USER_AGENT = "cnnkit (course data loader; python urllib)"
TIMEOUT = 30.0  # seconds without data before a mirror is given up
_CHUNK = 1 << 20


class CorruptDataError(ValueError):
    """A data file exists but its content is not what the data set publishes."""


class ChecksumError(CorruptDataError):
    """A file's MD5 differs from the published one."""


class DownloadError(OSError):
    """No mirror delivered a file with the published checksum."""


class DataUnavailable(FileNotFoundError):
    """A data set's files are not in the data root and there is no network to download them from
    (`$CNNKIT_OFFLINE` or `$CNNKIT_GRADING` is set): its message starts with "no data:"."""


# (resolved path, inode, size, mtime_ns) -> MD5 hex digest; hashing a 26 MB file on every load would
# cost more than the load itself, and a file changed on disk gets a new key.
_md5_cache: dict[tuple[str, int, int], str] = {}


def md5sum(path: str | os.PathLike) -> str:
    """MD5 hex digest of a file, remembered per process until the file changes."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_ino, st.st_size, st.st_mtime_ns)
    digest = _md5_cache.get(key)
    if digest is None:
        h = hashlib.md5(usedforsecurity=False)
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
        digest = h.hexdigest()
        _md5_cache[key] = digest
    return digest


def clear_md5_cache() -> None:
    _md5_cache.clear()


def verify_md5(path: str | os.PathLike, expected: str | None) -> None:
    """Raise `ChecksumError` naming the file and both digests unless its MD5 is `expected`.

    `expected=None` means no published checksum: nothing is checked.
    """
    if expected is None:
        return
    actual = md5sum(path)
    if actual != expected.lower():
        raise ChecksumError(
            f"{path}: MD5 is {actual}, expected the published {expected}. The file is corrupt, "
            f"truncated or not the published one; delete it and load again to download a fresh copy.")


def _fetch(url: str, dest: Path, expected_md5: str | None, progress: bool) -> None:
    """Download `url` into a temporary file beside `dest`, check it, then rename it to `dest`."""
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h = hashlib.md5(usedforsecurity=False)
        received = 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=TIMEOUT) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                      desc=dest.name, disable=not progress) as bar:
                for chunk in iter(lambda: resp.read(_CHUNK), b""):
                    out.write(chunk)
                    h.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if total is not None and received != total:
            raise DownloadError(f"connection closed after {received} of {total} bytes")
        digest = h.hexdigest()
        if expected_md5 is not None and digest != expected_md5.lower():
            raise ChecksumError(f"downloaded file has MD5 {digest}, expected the published "
                                f"{expected_md5} ({received} bytes received)")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    st = dest.stat()
    _md5_cache[(str(dest.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)] = digest


def download(filename: str, folder: str | os.PathLike, mirrors, expected_md5: str | None,
             progress: bool = True) -> Path:
    """Fetch `filename` from the first mirror that delivers it with the expected MD5.

    Mirrors are base URLs tried in order; the file lands in `folder/filename` only once complete
    and verified. Raises `DownloadError` listing every URL tried and why each failed.
    """
    folder = Path(folder)
    reason = offline_reason()
    if reason is not None:
        raise DataUnavailable(
            f"no data: {filename} is not in {folder} and there is no network ({reason}, so nothing is "
            f"downloaded); put the file there or set ${ENV_ROOT} to a folder that holds it")
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK):
        # Otherwise every mirror would be reported as failing with the same permission error.
        raise PermissionError(f"cannot download {filename}: {folder} is not writable; "
                              f"choose a writable data root (root=... or $CNNKIT_DATA)")
    dest = folder / filename
    failures = []
    for base in mirrors:
        url = base + filename
        try:
            _fetch(url, dest, expected_md5, progress)
            return dest
        except urllib.error.HTTPError as e:
            failures.append(f"{url}: HTTP {e.code} {e.reason}")
        except urllib.error.URLError as e:
            failures.append(f"{url}: {e.reason}")
        except (OSError, ValueError, http.client.HTTPException) as e:
            # timeouts, resets, cut transfers, checksum mismatches, malformed URLs
            own = isinstance(e, (CorruptDataError, DownloadError))
            failures.append(f"{url}: {e}" if own else f"{url}: {type(e).__name__}: {e}")
    tried = "\n  ".join(failures) if failures else "(no mirror given)"
    raise DownloadError(
        f"could not download {filename} into {folder}; tried:\n  {tried}\n"
        f"If this machine has no internet access, copy the file there by hand "
        f"or point the loader at a folder that holds it (root=... or $CNNKIT_DATA).")
