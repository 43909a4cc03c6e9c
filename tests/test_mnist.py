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
import torchvision

from dlref.data import mnist as M
from dlref.data.download import download_mnist, main
from dlref.data.idx import IDXError, write_idx
from dlref.data.mnist import (
    MNIST,
    MNIST_MEAN,
    MNIST_STD,
    MNISTDownloadError,
    MNISTNotFoundError,
    data_dir,
    load_mnist,
    normalize,
    pixel_stats,
)
from dlref.lightning import MNISTDataModule

NAMES = list(M.FILES)


def synthetic(n_train=12, n_test=5, seed=0) -> MNIST:
    g = torch.Generator().manual_seed(seed)
    return MNIST(torch.randint(0, 256, (n_train, 28, 28), generator=g, dtype=torch.uint8),
                 torch.randint(0, 10, (n_train,), generator=g),
                 torch.randint(0, 256, (n_test, 28, 28), generator=g, dtype=torch.uint8),
                 torch.randint(0, 10, (n_test,), generator=g))


def write_mnist(folder, data: MNIST):
    """The four IDX files of ``data`` in ``folder``, named as torchvision leaves them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, X in zip(NAMES, data):
        write_idx(folder / name, X.to(torch.uint8))


# --- the real data ------------------------------------------------------------------------------------------------


def test_load_mnist_gives_the_known_shapes_counts_and_statistics(mnist):
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == torch.uint8
    assert mnist.test_images.shape == (10000, 28, 28) and mnist.test_images.dtype == torch.uint8
    assert mnist.train_labels.dtype == mnist.test_labels.dtype == torch.int64
    assert mnist.train_labels.bincount().tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert mnist.test_labels.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    mean, std = pixel_stats(mnist.train_images)
    assert mean == pytest.approx(MNIST_MEAN, abs=5e-5) and std == pytest.approx(MNIST_STD, abs=5e-5)


def test_the_tensors_are_the_files_bytes_and_torchvisions_data(mnist_root, mnist):
    raw = mnist_root / "MNIST" / "raw"
    for name, X, offset in [(M.TRAIN_IMAGES, mnist.train_images, 16), (M.TEST_LABELS, mnist.test_labels, 8)]:
        data = (raw / name).read_bytes()
        assert torch.equal(X.to(torch.uint8).flatten(), torch.frombuffer(bytearray(data[offset:]), dtype=torch.uint8))
    twin = torchvision.datasets.MNIST(str(mnist_root), train=False)
    assert torch.equal(twin.data, mnist.test_images) and torch.equal(twin.targets, mnist.test_labels)


def test_normalize_uses_the_training_mean_and_std(mnist):
    X = normalize(mnist.train_images[:100])
    assert X.shape == (100, 1, 28, 28) and X.dtype == torch.float32
    assert torch.equal(X[:, 0], (mnist.train_images[:100].float() / 255 - MNIST_MEAN) / MNIST_STD)
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


# --- torchvision's other datasets of the same format -------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["FashionMNIST", "KMNIST"])
def test_fashion_and_kuzushiji_mnist_load_from_their_own_folders(tmp_path, dataset):
    data = synthetic(n_train=40, seed=3)
    write_mnist(tmp_path / dataset / "raw", data)
    for a, b in zip(load_mnist(tmp_path, dataset), data):
        assert torch.equal(a, b)
    other = "KMNIST" if dataset == "FashionMNIST" else "FashionMNIST"
    with pytest.raises(MNISTNotFoundError, match=f"{other} files are missing.*{other}/raw.*--dataset {other}"):
        load_mnist(tmp_path, other)
    dm = MNISTDataModule(str(tmp_path), dataset=dataset, val_size=10)
    dm.setup("fit")
    assert len(dm.train_X) + len(dm.val_X) == 40
    mean, std = pixel_stats(data.train_images)  # normalised with this dataset's own statistics
    assert (dm.mean, dm.std) == (mean, std) and mean != pytest.approx(MNIST_MEAN, abs=1e-3)
    X = torch.cat([dm.train_X, dm.val_X])
    assert X.mean().item() == pytest.approx(0, abs=1e-5) and X.std().item() == pytest.approx(1, abs=1e-3)


def test_an_unknown_dataset_is_one_sentence(tmp_path):
    with pytest.raises(ValueError, match=r"expected a dataset in \('MNIST', .*'KMNIST'\), found 'EMNIST'"):
        load_mnist(tmp_path, "EMNIST")


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


def test_load_mnist_reads_the_environment_folder(monkeypatch, tmp_path):
    data = synthetic()
    write_mnist(tmp_path / "MNIST" / "raw", data)
    monkeypatch.setenv(M.ENV_VAR, str(tmp_path))
    for a, b in zip(load_mnist(), data):
        assert torch.equal(a, b)


def test_missing_files_say_which_where_and_how_to_get_them(tmp_path):
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert all(name in message for name in NAMES)
    assert str((tmp_path / "MNIST" / "raw").resolve()) in message
    for how in ("dlref-download", "--data.download=true", "DLREF_DATA_DIR", "--data.data_dir"):
        assert how in message
    assert "Dataset not found" not in message  # torchvision's own words never reach the user
    write_mnist(tmp_path / "MNIST" / "raw", synthetic())
    os.remove(tmp_path / "MNIST" / "raw" / M.TEST_LABELS)
    with pytest.raises(MNISTNotFoundError, match=rf"expected {M.TEST_LABELS} in .*no such file;"):
        load_mnist(tmp_path)


def test_a_root_one_level_off_and_a_packed_file_are_pointed_out(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", synthetic())
    with pytest.raises(MNISTNotFoundError, match=re.escape(f"pass the folder above MNIST/, {tmp_path.resolve()}")
                       ) as found:
        load_mnist(tmp_path / "MNIST" / "raw")
    assert f"dlref-download --root {tmp_path.resolve()}`" in str(found.value)  # the folder above, not raw/
    raw = tmp_path / "MNIST" / "raw"
    (raw / f"{M.TRAIN_IMAGES}.gz").write_bytes(gzip.compress((raw / M.TRAIN_IMAGES).read_bytes()))
    os.remove(raw / M.TRAIN_IMAGES)
    with pytest.raises(MNISTNotFoundError, match=rf"found {M.TRAIN_IMAGES}.gz: dlref-download unpacks it"):
        load_mnist(tmp_path)


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


# --- torchvision's download, against a local server --------------------------------------------------------------


class Mirror(SimpleHTTPRequestHandler):
    requests: list  # (path, status) of every request, set per server
    cut: set  # paths whose body is cut off halfway, as by a dropped connection

    def log_request(self, code="-", size="-"):
        self.requests.append((self.path, int(code)))

    def log_message(self, *args):
        pass

    def copyfile(self, source, outputfile):
        data = source.read()
        outputfile.write(data[: len(data) // 2] if self.path in self.cut else data)


@pytest.fixture
def server(tmp_path, monkeypatch):
    """``(base_url, requests, cut)`` of an HTTP server on 127.0.0.1 serving ``tmp_path / "www"``."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    (tmp_path / "www").mkdir()
    requests, cut = [], set()
    handler = type("LoggedMirror", (Mirror,), {"requests": requests, "cut": cut})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(tmp_path / "www")))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", requests, cut
    httpd.shutdown()
    httpd.server_close()


def publish(www, data: MNIST, monkeypatch, mirrors, dataset="MNIST"):
    """Gzipped IDX files of ``data`` in ``www``; torchvision's mirror list and MD5 table pointed at them."""
    www.mkdir(parents=True, exist_ok=True)
    resources = []
    for name, X in zip(NAMES, data):
        packed = gzip.compress(write_idx(www / name, X.to(torch.uint8)).read_bytes(), mtime=0)
        (www / f"{name}.gz").write_bytes(packed)
        os.remove(www / name)
        resources.append((f"{name}.gz", hashlib.md5(packed).hexdigest()))
    cls = getattr(torchvision.datasets, dataset)
    monkeypatch.setattr(cls, "mirrors", mirrors)  # torchvision's public class attributes
    monkeypatch.setattr(cls, "resources", resources)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name not in NAMES)


def test_download_falls_back_to_the_next_mirror_verifies_and_places_the_files(tmp_path, server, monkeypatch):
    base, requests, _ = server
    data = synthetic()
    publish(tmp_path / "www" / "b", data, monkeypatch, [base + "a/", base + "b/"])
    assert download_mnist(tmp_path / "data", log=lambda _: None) == dict.fromkeys(NAMES, "downloaded")
    assert (f"/a/{M.TRAIN_IMAGES}.gz", 404) in requests and (f"/b/{M.TRAIN_IMAGES}.gz", 200) in requests
    assert leftovers(tmp_path / "data" / "MNIST" / "raw") == []  # no staging folder, no .gz kept
    for a, b in zip(load_mnist(tmp_path / "data"), data):
        assert torch.equal(a, b)


@pytest.mark.parametrize("damage", ["content", "cut"])
def test_a_corrupt_or_interrupted_download_leaves_nothing_a_later_run_reads(tmp_path, server, monkeypatch, damage):
    base, requests, cut = server
    www = tmp_path / "www"
    publish(www, synthetic(), monkeypatch, [base])
    served = www / f"{M.TRAIN_LABELS}.gz"
    if damage == "content":  # a valid gzip of the wrong bytes: its MD5 is not torchvision's
        served.write_bytes(gzip.compress(gzip.decompress(served.read_bytes())[:-1] + b"\x09"))
    else:  # the connection drops halfway through the file
        cut.add(f"/{M.TRAIN_LABELS}.gz")
    root = tmp_path / "data"
    with pytest.raises(MNISTDownloadError, match="could not download MNIST: expected files whose MD5") as info:
        download_mnist(root, log=lambda _: None)
    assert base in str(info.value) and "offline" in str(info.value)
    raw = root / "MNIST" / "raw"
    assert leftovers(raw) == [] and not any((raw / name).exists() for name in NAMES)  # all or nothing
    with pytest.raises(MNISTNotFoundError):
        load_mnist(root)
    cut.clear()
    publish(www, synthetic(), monkeypatch, [base])  # the mirror is fixed: the next run succeeds
    download_mnist(root, log=lambda _: None)
    assert torch.equal(load_mnist(root).train_labels, synthetic().train_labels)


def test_files_already_there_are_never_touched(tmp_path, server, monkeypatch):
    base, requests, _ = server
    data = synthetic()
    publish(tmp_path / "www", data, monkeypatch, [base])
    raw = tmp_path / "data" / "MNIST" / "raw"
    write_mnist(raw, data)
    damaged = (raw / M.TEST_IMAGES).read_bytes()[:-5]
    (raw / M.TEST_IMAGES).write_bytes(damaged)  # the user's own (damaged) file
    os.remove(raw / M.TRAIN_LABELS)
    for name in (M.TRAIN_IMAGES, M.TEST_IMAGES):
        os.utime(raw / name, (1_000_000_000, 1_000_000_000))
    done = download_mnist(tmp_path / "data", log=lambda _: None)
    assert done[M.TRAIN_LABELS] == "downloaded" and done[M.TEST_IMAGES] == done[M.TRAIN_IMAGES] == "present"
    assert (raw / M.TEST_IMAGES).read_bytes() == damaged
    assert all((raw / name).stat().st_mtime == 1_000_000_000 for name in (M.TRAIN_IMAGES, M.TEST_IMAGES))
    expected = write_idx(tmp_path / "expected", data.train_labels.to(torch.uint8)).read_bytes()
    assert (raw / M.TRAIN_LABELS).read_bytes() == expected  # the missing file arrived whole
    with pytest.raises(IDXError, match=f"{M.TEST_IMAGES} is truncated.*move it away"):
        load_mnist(tmp_path / "data")
    assert download_mnist(tmp_path / "data", log=lambda _: None) == dict.fromkeys(NAMES, "present")


def test_a_packed_file_the_user_has_is_used_without_the_network(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port that was free a moment ago: every request is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    raw = tmp_path / "data" / "MNIST" / "raw"
    publish(raw, synthetic(), monkeypatch, [f"http://127.0.0.1:{port}/"])
    assert download_mnist(tmp_path / "data", log=lambda _: None) == dict.fromkeys(NAMES, "downloaded")
    assert torch.equal(load_mnist(tmp_path / "data").test_images, synthetic().test_images)
    assert sorted(p.name for p in raw.iterdir()) == sorted(NAMES + [f"{n}.gz" for n in NAMES])  # .gz kept


def test_unreachable_mirrors_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mirrors = [f"http://127.0.0.1:{port}/one/", f"http://127.0.0.1:{port}/two/"]
    publish(tmp_path / "www", synthetic(), monkeypatch, mirrors)
    with pytest.raises(MNISTDownloadError, match="could not download MNIST") as info:
        download_mnist(tmp_path, log=lambda _: None)
    assert all(mirror in str(info.value) for mirror in mirrors)
    assert leftovers(tmp_path / "MNIST" / "raw") == []


def test_main_says_what_is_missing(tmp_path, capsys):
    assert main(["--check", "--root", str(tmp_path)]) == 1
    _, err = capsys.readouterr()
    assert f"{M.TRAIN_IMAGES}" in err and "dlref-download" in err and "Traceback" not in err


def test_main_checks_the_real_files(capsys, mnist_root):
    assert main(["--check", "--root", str(mnist_root)]) == 0
    out, _ = capsys.readouterr()
    assert "MNIST ready" in out and "(60000, 28, 28)" in out
