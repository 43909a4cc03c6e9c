import functools
import gzip
import hashlib
import os
import re
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from dlref.data import mnist as M
from dlref.data.idx import IDXError, write_idx
from dlref.data.mnist import (
    MD5,
    MNIST,
    MNIST_MEAN,
    MNIST_STD,
    MNISTDownloadError,
    MNISTNotFoundError,
    data_dir,
    download_mnist,
    load_mnist,
    normalize,
)

NAMES = [M.TRAIN_IMAGES, M.TRAIN_LABELS, M.TEST_IMAGES, M.TEST_LABELS]


def synthetic(n_train=12, n_test=5, seed=0) -> MNIST:
    g = torch.Generator().manual_seed(seed)
    return MNIST(torch.randint(0, 256, (n_train, 28, 28), generator=g, dtype=torch.uint8),
                 torch.randint(0, 10, (n_train,), generator=g),
                 torch.randint(0, 256, (n_test, 28, 28), generator=g, dtype=torch.uint8),
                 torch.randint(0, 10, (n_test,), generator=g))


def write_mnist(folder, data: MNIST, compress=False, names=NAMES):
    """The four IDX files of ``data`` in ``folder``, named NAME or NAME.gz as torchvision and the mirrors have them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, X in zip(names, data):
        write_idx(folder / (name + ".gz" if compress else name), X.to(torch.uint8), compress=compress)


# --- the real data ------------------------------------------------------------------------------------------------


def test_load_mnist_gives_the_known_shapes_counts_and_statistics(mnist):
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == torch.uint8
    assert mnist.test_images.shape == (10000, 28, 28) and mnist.test_images.dtype == torch.uint8
    assert mnist.train_labels.dtype == mnist.test_labels.dtype == torch.int64
    assert mnist.train_labels.bincount().tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert mnist.test_labels.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_md5_table_matches_the_real_files(mnist_root):
    for name in NAMES:
        assert hashlib.md5((mnist_root / "MNIST" / "raw" / name).read_bytes()).hexdigest() == MD5[name]


def test_normalize_uses_the_training_mean_and_std(mnist):
    X = normalize(mnist.train_images[:100])
    assert X.shape == (100, 1, 28, 28) and X.dtype == torch.float32
    assert torch.equal(X[:, 0], (mnist.train_images[:100].float() / 255 - MNIST_MEAN) / MNIST_STD)
    # the normalised training pixels have mean 0 and std 1, computed from the histogram of the 256 values
    values = normalize(torch.arange(256, dtype=torch.uint8).view(1, 16, 16)).flatten().double()
    counts = torch.bincount(mnist.train_images.flatten(), minlength=256).double()
    mean = (counts * values).sum() / counts.sum()
    std = ((counts * (values - mean) ** 2).sum() / counts.sum()).sqrt()
    assert mean.item() == pytest.approx(0, abs=1e-3) and std.item() == pytest.approx(1, abs=1e-3)


def test_mnist_subset_fixture(mnist_subset, mnist):
    assert mnist_subset.train_images.shape == (2000, 1, 28, 28) and mnist_subset.test_images.shape == (1000, 1, 28, 28)
    assert mnist_subset.train_images.dtype == torch.float32 and mnist_subset.train_labels.dtype == torch.int64
    assert torch.equal(mnist_subset.test_labels, mnist.test_labels[:1000])
    assert set(mnist_subset.train_labels.tolist()) == set(range(10))


def test_equals_torchvision_where_it_imports(mnist_root, mnist):
    try:
        datasets = pytest.importorskip("torchvision.datasets")
    except (OSError, RuntimeError) as e:  # torchvision built for another torch fails at import
        pytest.skip(f"torchvision does not import here: {type(e).__name__}: {e}")
    for train, X, t in [(True, mnist.train_images, mnist.train_labels), (False, mnist.test_images, mnist.test_labels)]:
        twin = datasets.MNIST(str(mnist_root), train=train, download=False)
        assert torch.equal(twin.data, X) and torch.equal(twin.targets, t)


# --- where the data is looked for, and what is said when it is not there -------------------------------------------


def test_the_package_exports_the_mnist_names():
    import dlref.data

    assert dlref.data.load_mnist is load_mnist and dlref.data.MNIST_MEAN == MNIST_MEAN
    assert all(hasattr(dlref.data, name) for name in dlref.data.__all__)


def test_data_dir_is_the_argument_else_the_environment_else_data(monkeypatch, tmp_path):
    monkeypatch.delenv(M.ENV_VAR, raising=False)
    assert data_dir() == M.Path("data")
    monkeypatch.setenv(M.ENV_VAR, str(tmp_path))
    assert data_dir() == tmp_path
    assert data_dir(tmp_path / "x") == tmp_path / "x"
    assert M.raw_dir(tmp_path) == tmp_path / "MNIST" / "raw"


def test_load_mnist_reads_the_environment_folder_and_gz_files(monkeypatch, tmp_path):
    data = synthetic()
    write_mnist(tmp_path / "MNIST" / "raw", data, compress=True)  # only NAME.gz, as after an interrupted torchvision
    monkeypatch.setenv(M.ENV_VAR, str(tmp_path))
    loaded = load_mnist()
    for a, b in zip(loaded, data):
        assert torch.equal(a, b)
    assert loaded.train_labels.dtype == torch.int64


def test_missing_files_say_which_where_and_how_to_get_them(tmp_path):
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert all(name in message for name in NAMES)
    assert str((tmp_path / "MNIST" / "raw").resolve()) in message
    for how in ("dlref-download", "torchvision.datasets.MNIST", "DLREF_DATA_DIR",
                "--data.data_dir"):
        assert how in message
    write_mnist(tmp_path / "MNIST" / "raw", synthetic())
    os.remove(tmp_path / "MNIST" / "raw" / M.TEST_LABELS)
    with pytest.raises(MNISTNotFoundError, match=rf"expected {M.TEST_LABELS} \(plain or .gz\) in .*no such file;"):
        load_mnist(tmp_path)


def test_a_root_one_level_off_is_pointed_out(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", synthetic())
    with pytest.raises(MNISTNotFoundError, match=re.escape(f"pass the folder above MNIST/, {tmp_path.resolve()}")):
        load_mnist(tmp_path / "MNIST" / "raw")


@pytest.mark.parametrize("change,message", [
    (lambda d: d._replace(train_labels=d.train_labels[:-1]),
     f"{M.TRAIN_IMAGES} holds 12 images but .*{M.TRAIN_LABELS} holds 11 labels"),
    (lambda d: d._replace(test_labels=torch.tensor([0, 1, 10, 3, 4])),
     f"{M.TEST_LABELS} holds labels 0..10, expected digits"),
    (lambda d: d._replace(test_images=d.test_labels),
     rf"{M.TEST_IMAGES} holds .* of shape \(5,\), expected uint8 images"),
    (lambda d: d._replace(train_labels=d.train_images), f"{M.TRAIN_LABELS} holds .* expected uint8 labels"),
    (lambda d: d._replace(train_images=torch.zeros(12, 32, 32)), rf"{M.TRAIN_IMAGES} holds .*\(12, 32, 32\)"),
])
def test_inconsistent_files_raise_idx_error_naming_them(tmp_path, change, message):
    write_mnist(tmp_path / "MNIST" / "raw", change(synthetic()))
    with pytest.raises(IDXError, match=message):
        load_mnist(tmp_path)


# --- the downloader, against a local server ----------------------------------------------------------------------


class Mirror(SimpleHTTPRequestHandler):
    requests: list  # (path, status) of every request, set per server

    def log_request(self, code="-", size="-"):
        self.requests.append((self.path, int(code)))

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """``(base_url, requests)`` of an HTTP server on 127.0.0.1 serving ``tmp_path / "www"``."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    (tmp_path / "www").mkdir()
    requests = []
    handler = type("LoggedMirror", (Mirror,), {"requests": requests})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(tmp_path / "www")))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", requests
    httpd.shutdown()
    httpd.server_close()


def publish(www, data: MNIST):
    """Gzipped IDX files of ``data`` on the mirror folder ``www`` and their MD5 table (uncompressed, as ``MD5``)."""
    write_mnist(www, data, compress=True)
    return {name: hashlib.md5(gzip.decompress((www / f"{name}.gz").read_bytes())).hexdigest() for name in NAMES}


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name not in NAMES)


def test_download_falls_back_to_the_next_mirror_verifies_and_places_the_files(tmp_path, server):
    base, requests = server
    data = synthetic()
    md5 = publish(tmp_path / "www" / "b", data)
    done = download_mnist(tmp_path / "data", mirrors=[base + "a/", base + "b"], md5=md5, timeout=5)
    assert done == {name: f"downloaded {base}b/{name}.gz" for name in NAMES}
    assert requests[:2] == [(f"/a/{M.TRAIN_IMAGES}.gz", 404), (f"/b/{M.TRAIN_IMAGES}.gz", 200)]
    assert leftovers(tmp_path / "data" / "MNIST" / "raw") == []  # no temporary files, no .gz kept
    for a, b in zip(load_mnist(tmp_path / "data"), data):
        assert torch.equal(a, b)


@pytest.mark.parametrize("damage", ["content", "gzip"])
def test_a_corrupt_download_never_takes_the_final_name(tmp_path, server, damage):
    base, requests = server
    www = tmp_path / "www"
    md5 = publish(www, synthetic())
    served = www / f"{M.TRAIN_LABELS}.gz"
    if damage == "content":  # a valid gzip of the wrong bytes
        served.write_bytes(gzip.compress(gzip.decompress(served.read_bytes())[:-1] + b"\x09"))
    else:  # a gzip stream cut short
        served.write_bytes(served.read_bytes()[:-12])
    root = tmp_path / "data"
    with pytest.raises(MNISTDownloadError, match="MD5 mismatch" if damage == "content" else "Compressed file ended") \
            as info:
        download_mnist(root, mirrors=[base], md5=md5, timeout=5)
    message = str(info.value)
    assert f"{base}{M.TRAIN_LABELS}.gz" in message and "offline" in message
    assert str((root / "MNIST" / "raw").resolve()) in message
    raw = root / "MNIST" / "raw"
    assert not (raw / M.TRAIN_LABELS).exists()
    assert (raw / M.TRAIN_IMAGES).exists() and leftovers(raw) == []


def test_existing_valid_files_are_neither_downloaded_nor_touched(tmp_path, server):
    base, requests = server
    data = synthetic()
    md5 = publish(tmp_path / "www", data)
    raw = tmp_path / "data" / "MNIST" / "raw"
    write_mnist(raw, data)
    for name in NAMES:
        os.utime(raw / name, (1_000_000_000, 1_000_000_000))
    assert download_mnist(tmp_path / "data", mirrors=[base], md5=md5, timeout=5) == dict.fromkeys(NAMES, "present")
    assert requests == []
    assert all((raw / name).stat().st_mtime == 1_000_000_000 for name in NAMES)


def test_an_existing_corrupt_file_is_replaced_by_a_verified_one_and_kept_aside(tmp_path, server):
    base, requests = server
    data = synthetic()
    md5 = publish(tmp_path / "www", data)
    raw = tmp_path / "data" / "MNIST" / "raw"
    write_mnist(raw, data)
    damaged = (raw / M.TEST_IMAGES).read_bytes()[:-5]
    (raw / M.TEST_IMAGES).write_bytes(damaged)
    done = download_mnist(tmp_path / "data", mirrors=[base], md5=md5, timeout=5)
    assert (raw / f"{M.TEST_IMAGES}.replaced").read_bytes() == damaged  # nothing the user had is lost
    assert done[M.TEST_IMAGES] == f"downloaded {base}{M.TEST_IMAGES}.gz" and done[M.TRAIN_IMAGES] == "present"
    assert [path for path, _ in requests] == [f"/{M.TEST_IMAGES}.gz"]
    assert torch.equal(load_mnist(tmp_path / "data").test_images, data.test_images)


def test_a_lone_gz_is_unpacked_without_the_network(tmp_path):
    data = synthetic()
    md5 = publish(tmp_path / "data" / "MNIST" / "raw", data)
    done = download_mnist(tmp_path / "data", mirrors=[], md5=md5)
    assert done == {name: f"unpacked {name}.gz" for name in NAMES}
    assert all((tmp_path / "data" / "MNIST" / "raw" / name).is_file() for name in NAMES)


def test_unreachable_mirrors_are_all_listed(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mirrors = [f"http://127.0.0.1:{port}/one/", f"http://127.0.0.1:{port}/two/"]
    with pytest.raises(MNISTDownloadError, match=f"Could not download {M.TRAIN_IMAGES}") as info:
        download_mnist(tmp_path, mirrors=mirrors, md5=MD5, timeout=5)
    assert all(f"{mirror}{M.TRAIN_IMAGES}.gz" in str(info.value) for mirror in mirrors)
    assert leftovers(tmp_path / "MNIST" / "raw") == []


def test_main_says_what_is_missing(tmp_path, capsys):
    assert M.main(["--check", "--root", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert f"{M.TRAIN_IMAGES}: missing" in out and "dlref-download" in err


def test_main_checks_the_real_files(capsys, mnist_root):
    assert M.main(["--check", "--root", str(mnist_root)]) == 0
    out, _ = capsys.readouterr()
    assert out.count("MD5 ok") == 4 and "MNIST ready" in out
