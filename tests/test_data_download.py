"""Downloads against a local HTTP server: mirrors in order, checksums, nothing half-written kept."""

import dataclasses
import functools
import http.server
import shutil
import socket
import threading

import numpy as np
import pytest

import cnnkit.data as data
from cnnkit.data import download
from cnnkit.data import DataUnavailable, DownloadError, sources
from test_data import (CIFAR_COUNTS, cifar_images, describe, md5, split_of, write_cifar_archive,
                       write_idx_set)

MNIST_TRAIN = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        if self.path.startswith("/cut/"):
            # Promises more bytes than it sends, then hangs up: a dropped connection.
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + b"\0" * 100)
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """Downloads allowed, whatever the environment the tests run in."""
    monkeypatch.delenv("CNNKIT_OFFLINE", raising=False)
    monkeypatch.delenv("CNNKIT_GRADING", raising=False)


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder): an HTTP server on 127.0.0.1 serving `tmp_path/www`."""
    www = tmp_path / "www"
    www.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", www
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def mirror(server, tmp_path, monkeypatch):
    """Synthetic MNIST files served under /good/, corrupt copies under /bad/, nothing under /none/.

    SOURCES describes the good files, so their MD5s are the "published" ones.
    """
    data.clear_cache()
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    monkeypatch.delenv("CNNKIT_DATA_MIRROR", raising=False)
    url, www = server
    arrays = write_idx_set(www / "good")
    describe(monkeypatch, "mnist", www / "good")
    (www / "bad").mkdir()
    for name in MNIST_TRAIN:
        blob = bytearray((www / "good" / name).read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        (www / "bad" / name).write_bytes(bytes(blob))
    yield url, www, arrays
    data.clear_cache()


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_skips_a_404_mirror(mirror, tmp_path, capsys):
    url, _, arrays = mirror
    root = tmp_path / "root"
    x, y = data.load_mnist(root=root, mirrors=[f"{url}/none/", f"{url}/good"])
    np.testing.assert_array_equal(x, arrays["train"][0])
    np.testing.assert_array_equal(y, arrays["train"][1])
    assert leftovers(root / "mnist") == sorted(MNIST_TRAIN)  # only the split asked for, no temp files
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err  # the progress bar


def test_a_corrupt_download_is_never_kept(mirror, tmp_path):
    url, _, _ = mirror
    root = tmp_path / "root"
    with pytest.raises(DownloadError) as info:
        data.load_mnist(root=root, mirrors=f"{url}/bad/", progress=False)
    message = str(info.value)
    assert f"{url}/bad/train-images-idx3-ubyte.gz" in message
    assert "MD5" in message and sources.SOURCES["mnist"].md5["train-images-idx3-ubyte.gz"] in message
    assert leftovers(root / "mnist") == []


def test_a_corrupt_mirror_falls_through_to_a_good_one(mirror, tmp_path):
    url, _, arrays = mirror
    root = tmp_path / "root"
    x, _ = data.load_mnist(root=root, mirrors=[f"{url}/bad/", f"{url}/good/"], progress=False)
    np.testing.assert_array_equal(x, arrays["train"][0])
    assert leftovers(root / "mnist") == sorted(MNIST_TRAIN)


def test_a_dropped_connection_is_reported_and_not_kept(mirror, tmp_path):
    url, _, _ = mirror
    root = tmp_path / "root"
    with pytest.raises(DownloadError, match=r"/cut/train-images-idx3-ubyte.gz: .*(IncompleteRead|100000)"):
        data.load_mnist(root=root, mirrors=f"{url}/cut/", progress=False)
    assert leftovers(root / "mnist") == []


def test_no_network_names_every_url_tried(mirror, tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    urls = [f"http://127.0.0.1:{port}/a/", f"http://127.0.0.1:{port}/b/"]
    with pytest.raises(DownloadError) as info:
        data.load_mnist("test", root=tmp_path / "root", mirrors=urls, progress=False)
    message = str(info.value)
    assert all(u + "t10k-images-idx3-ubyte.gz" in message for u in urls)
    assert "refused" in message.lower() and "no internet access" in message


def test_files_already_there_are_not_downloaded(mirror, tmp_path):
    url, www, arrays = mirror
    root = tmp_path / "root"
    shutil.copytree(www / "good", root / "mnist")
    x, _ = data.load_mnist("test", root=root, mirrors=f"{url}/none/")
    np.testing.assert_array_equal(x, arrays["test"][0])


def test_environment_variables_for_root_and_mirror(mirror, tmp_path, monkeypatch):
    # A mirror named by $CNNKIT_DATA_MIRROR is laid out like a data root: <url>/mnist/<file>.
    url, www, arrays = mirror
    (www / "good").rename(www / "mnist")
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path / "envroot"))
    monkeypatch.setenv("CNNKIT_DATA_MIRROR", f"{url}/nothing-here {url}")
    x, y = data.load_mnist("test", progress=False)
    np.testing.assert_array_equal(x, arrays["test"][0])
    assert leftovers(tmp_path / "envroot" / "mnist") == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_default_mirrors_are_the_publishers(monkeypatch):
    monkeypatch.delenv("CNNKIT_DATA_MIRROR", raising=False)
    assert sources.mirrors_for(sources.source("mnist")) == (
        "https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
    assert sources.mirrors_for(sources.source("fashion-mnist")) == (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    assert [m + f for m in sources.mirrors_for(sources.source("cifar10"))
            for f in sources.source("cifar10").downloads] == ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    assert sources.SOURCES["cifar10"].md5["cifar-10-python.tar.gz"] == "c58f30108f718f92721af3b95e74349a"
    with pytest.raises(ValueError, match="mirrors must be"):
        sources.mirrors_for(sources.source("mnist"), [])


def test_cifar_archive_is_downloaded_then_extracted(server, tmp_path, monkeypatch):
    data.clear_cache()
    url, www = server
    batches = cifar_images(seed=9)
    write_cifar_archive(www / "cifar-10-python.tar.gz", batches)
    monkeypatch.setitem(sources.SOURCES, "cifar10", dataclasses.replace(
        sources.SOURCES["cifar10"], counts=CIFAR_COUNTS,
        md5={"cifar-10-python.tar.gz": md5(www / "cifar-10-python.tar.gz")}))
    root = tmp_path / "root"
    x, y = data.load_cifar10("test", root=root, mirrors=[url + "/missing/", url], progress=False)
    want_x, want_y = split_of(batches, "test")
    np.testing.assert_array_equal(x, want_x)
    np.testing.assert_array_equal(y, want_y)
    assert leftovers(root / "cifar-10") == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    data.clear_cache()


# ----------------------------------------------------------------------------- no network

class Requests(Handler):
    """Counts every request it answers (a download that should never have been tried)."""
    seen = []

    def do_GET(self):
        Requests.seen.append(self.path)
        super().do_GET()


@pytest.fixture
def counted(tmp_path):
    """(base URL, served folder, requests seen) of a server whose every request is noted."""
    www = tmp_path / "www"
    www.mkdir()
    Requests.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Requests, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", www, Requests.seen
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.mark.parametrize("variable", ["CNNKIT_OFFLINE", "CNNKIT_GRADING"])
def test_offline_a_missing_data_set_is_no_data_and_nothing_is_downloaded(counted, tmp_path, monkeypatch, variable):
    url, www, seen = counted
    data.clear_cache()
    write_idx_set(www / "mnist")
    describe(monkeypatch, "mnist", www / "mnist")
    monkeypatch.setenv("CNNKIT_DATA_MIRROR", url)          # it would work, were downloads allowed
    monkeypatch.setenv(variable, "1")
    root = tmp_path / "root"
    monkeypatch.setenv("CNNKIT_DATA", str(root))
    for allowed in (True, False):
        with pytest.raises(DataUnavailable) as info:
            data.load_mnist("train", download=allowed, progress=False)
        message = str(info.value)
        assert isinstance(info.value, FileNotFoundError)
        assert message.startswith("no data:")
        assert f"no copy of MNIST's train split in {root / 'mnist'}" in message
        assert "no network" in message and f"${variable} is 1" in message
        assert "train-images-idx3-ubyte.gz" in message and "http://yann.lecun.com/exdb/mnist/" in message
        assert "set $CNNKIT_DATA to a folder that holds them" in message
    assert seen == [] and not (root / "mnist").exists()      # no request, no folder made


def test_offline_a_missing_split_of_cifar_is_no_data(counted, tmp_path, monkeypatch):
    """The grading sandbox's copy of CIFAR-10 holds the training batches only."""
    url, www, seen = counted
    data.clear_cache()
    batches = cifar_images(seed=3)
    write_cifar_archive(www / "cifar-10" / "cifar-10-python.tar.gz", batches)
    monkeypatch.setitem(sources.SOURCES, "cifar10", dataclasses.replace(sources.SOURCES["cifar10"], counts=CIFAR_COUNTS))
    root = tmp_path / "root"
    from test_data import write_cifar_folder
    write_cifar_folder(root / "cifar-10" / "cifar-10-batches-py",
                       {n: b for n, b in batches.items() if n != "test_batch"})
    monkeypatch.setenv("CNNKIT_DATA_MIRROR", url)
    monkeypatch.setenv("CNNKIT_OFFLINE", "1")
    x, y = data.load_cifar10("train", root=root)
    np.testing.assert_array_equal(x, split_of(batches, "train")[0])
    with pytest.raises(DataUnavailable, match=r"^no data: there is no copy of CIFAR-10's test split in ") as info:
        data.load_cifar10("test", root=root)
    message = str(info.value)
    assert str(root / "cifar-10") in message and "test_batch" in message and "cifar-10-python.tar.gz" in message
    assert "no network" in message and "$CNNKIT_OFFLINE is 1" in message and "$CNNKIT_DATA" in message
    assert seen == []
    data.clear_cache()


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_offline_switches_that_are_off_allow_downloads(mirror, tmp_path, monkeypatch, value):
    url, _, arrays = mirror
    monkeypatch.setenv("CNNKIT_OFFLINE", value)
    monkeypatch.setenv("CNNKIT_GRADING", value)
    x, _ = data.load_mnist(root=tmp_path / "root", mirrors=f"{url}/good/", progress=False)
    np.testing.assert_array_equal(x, arrays["train"][0])


def test_download_itself_refuses_when_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_OFFLINE", "1")
    with pytest.raises(DataUnavailable, match="^no data: x.gz is not in"):
        download.download("x.gz", tmp_path / "nowhere", ["http://127.0.0.1:9/"], None, progress=False)
    assert not (tmp_path / "nowhere").exists()
