"""MNIST — the handwritten digits the slides train on, read from torchvision's layout.

The four original IDX files live in ``ROOT/MNIST/raw/`` (what
``torchvision.datasets.MNIST(ROOT, download=True)`` leaves behind), plain or
``.gz``. ``ROOT`` is the ``root`` argument, else ``$DLREF_DATA_DIR``, else
``./data``. ``load_mnist`` holds them in memory as tensors:

    train_images (60000, 28, 28) uint8    train_labels (60000,) int64
    test_images  (10000, 28, 28) uint8    test_labels  (10000,) int64

``normalize`` turns images into ``(N, 1, 28, 28)`` float32 with the training
set's mean and std. ``download_mnist`` (or ``dlref-download``) fetches missing
files from public mirrors with urllib, checks each file's MD5 and only then
moves it into place.
Torch twin: ``torchvision.datasets.MNIST(ROOT).data`` / ``.targets``.
"""

import argparse
import gzip
import hashlib
import http.client
import io
import os
import sys
import tempfile
import urllib.request
import zlib
from pathlib import Path
from typing import NamedTuple

import torch

from .idx import GZIP_MAGIC, IDXError, read_idx

MNIST_MEAN = 0.1307  # training pixels on the 0..1 scale
MNIST_STD = 0.3081
ENV_VAR = "DLREF_DATA_DIR"
DEFAULT_DATA_DIR = "data"
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
# MD5 of the uncompressed files, as in torchvision and ../shared/data/MNIST/MD5SUMS.
MD5 = {
    TRAIN_IMAGES: "6bbc9ace898e44ae57da46a324031adb",
    TRAIN_LABELS: "a25bea736e30d166cdddb491f175f624",
    TEST_IMAGES: "2646ac647ad5339dbf082846283269ea",
    TEST_LABELS: "27ae3e4e09519cfbb04c329615203637",
}
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")  # NAME.gz
HOW_TO_GET = (
    "download them with `dlref-download --root {root}` or "
    "`torchvision.datasets.MNIST('{root}', download=True)`, or point dlref at a folder that has "
    f"MNIST/raw/ with {ENV_VAR}=FOLDER or --data.data_dir FOLDER"
)


class MNIST(NamedTuple):
    """The four MNIST arrays, as ``load_mnist`` returns them."""

    train_images: torch.Tensor  # (60000, 28, 28) uint8
    train_labels: torch.Tensor  # (60000,) int64
    test_images: torch.Tensor  # (10000, 28, 28) uint8
    test_labels: torch.Tensor  # (10000,) int64


class MNISTNotFoundError(FileNotFoundError):
    """Some of the four MNIST files are not in ``ROOT/MNIST/raw/``."""


class MNISTDownloadError(OSError):
    """No mirror gave a file whose MD5 matched."""


def data_dir(root=None) -> Path:
    """``root`` if given, else ``$DLREF_DATA_DIR``, else ``./data``."""
    return Path(root if root is not None else os.environ.get(ENV_VAR) or DEFAULT_DATA_DIR).expanduser()


def raw_dir(root=None) -> Path:
    """``ROOT/MNIST/raw``, the folder that holds the four IDX files."""
    return data_dir(root) / "MNIST" / "raw"


def normalize(images: torch.Tensor) -> torch.Tensor:
    """``(N, 28, 28)`` uint8 pixels -> ``(N, 1, 28, 28)`` float32, ``(x / 255 - MNIST_MEAN) / MNIST_STD``."""
    return images.float().div_(255).sub_(MNIST_MEAN).div_(MNIST_STD).unsqueeze(1)  # in place: one copy, not three


def _find(folder: Path, name: str) -> Path | None:
    for path in (folder / name, folder / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def _not_found(root, missing: list[str]) -> MNISTNotFoundError:
    folder = raw_dir(root).resolve()
    root = folder.parent.parent
    hint = ""  # the usual slip: a data folder one level off
    if root.name == "raw" and root.parent.name == "MNIST" and _find(root, missing[0]):
        hint = f" (they are in {root}: pass the folder above MNIST/, {root.parent.parent}, as the data folder)"
    elif near := next((d for d in (root, root / "MNIST") if _find(d, missing[0])), None):
        hint = f" (found {missing[0]} in {near}: move the files into {folder})"
    return MNISTNotFoundError(
        f"MNIST files are missing: expected {', '.join(missing)} (plain or .gz) in {folder}, found no such "
        f"file{'s' if len(missing) > 1 else ''}{hint}; {HOW_TO_GET.format(root=root)}."
    )


def _images(path: Path) -> torch.Tensor:
    X = read_idx(path)
    if X.dtype != torch.uint8 or X.dim() != 3 or tuple(X.shape[1:]) != (28, 28):
        raise IDXError(
            f"{path} holds {X.dtype} of shape {tuple(X.shape)}, expected uint8 images of shape (N, 28, 28); "
            "check that the file is the MNIST images file, or delete it and download it again."
        )
    return X


def _labels(path: Path) -> torch.Tensor:
    t = read_idx(path)
    if t.dtype != torch.uint8 or t.dim() != 1:
        raise IDXError(
            f"{path} holds {t.dtype} of shape {tuple(t.shape)}, expected uint8 labels of shape (N,); "
            "check that the file is the MNIST labels file, or delete it and download it again."
        )
    if len(t) and t.max() > 9:
        raise IDXError(
            f"{path} holds labels {int(t.min())}..{int(t.max())}, expected digits 0..9; "
            "delete it and download it again."
        )
    return t.long()


def _pair(images: Path, labels: Path) -> tuple[torch.Tensor, torch.Tensor]:
    X, t = _images(images), _labels(labels)
    if len(X) != len(t):
        raise IDXError(
            f"{images} holds {len(X)} images but {labels} holds {len(t)} labels, expected as many of each; "
            "delete both and download them again."
        )
    return X, t


def load_mnist(root=None) -> MNIST:
    """The four MNIST arrays from ``ROOT/MNIST/raw/`` (see the module docstring for shapes)."""
    folder = raw_dir(root)
    paths = {name: _find(folder, name) for name in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)}
    missing = [name for name, path in paths.items() if path is None]
    if missing:
        raise _not_found(root, missing)
    return MNIST(*_pair(paths[TRAIN_IMAGES], paths[TRAIN_LABELS]), *_pair(paths[TEST_IMAGES], paths[TEST_LABELS]))


# What a failed mirror or a damaged file raises: URLError/HTTPError/timeouts (OSError), a cut connection
# (HTTPException), a damaged gzip stream (EOFError, zlib.error, BadGzipFile), an MD5 mismatch (ValueError).
_FAILURES = (OSError, http.client.HTTPException, EOFError, zlib.error, ValueError)


def _unzipped(source):
    """``source`` (a binary stream), gunzipped on the fly if it starts with the gzip magic bytes."""
    source = source if hasattr(source, "peek") else io.BufferedReader(source)
    return gzip.GzipFile(fileobj=source) if source.peek(2)[:2] == GZIP_MAGIC else source


def _md5(path: Path) -> str | None:
    """MD5 of the file's uncompressed bytes; ``None`` if it cannot be read."""
    digest = hashlib.md5()
    try:
        with open(path, "rb") as f:
            source = _unzipped(f)
            while chunk := source.read(1 << 20):
                digest.update(chunk)
    except _FAILURES:
        return None
    return digest.hexdigest()


def _install(source, final: Path, md5: str) -> None:
    """Gunzip (if gzip) ``source`` into a temporary file beside ``final``; move it there only if the MD5 matches."""
    source = _unzipped(source)
    fd, part = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.part-")
    try:
        digest = hashlib.md5()
        with os.fdopen(fd, "wb") as f:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                f.write(chunk)
        if digest.hexdigest() != md5:
            raise ValueError(f"MD5 mismatch: expected {md5}, found {digest.hexdigest()}")
        if final.exists():  # never lose what the user had: keep the old file beside the new one
            os.replace(final, final.with_name(f"{final.name}.replaced"))
        os.replace(part, final)  # atomic: the final name only ever holds a verified file
    finally:
        if os.path.exists(part):
            os.remove(part)


def _fetch(final: Path, md5: str, mirrors, timeout: float, log) -> str:
    """Put a verified ``final`` in place from ``final.gz`` beside it or the first mirror that works."""
    if (final.parent / f"{final.name}.gz").is_file():
        try:
            with open(final.parent / f"{final.name}.gz", "rb") as f:
                _install(f, final, md5)
            return f"unpacked {final.name}.gz"
        except _FAILURES:
            pass  # a damaged .gz: download instead
    tried = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + f"/{final.name}.gz"
        log(f"downloading {url}")
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "dlref"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                _install(response, final, md5)
            return f"downloaded {url}"
        except _FAILURES as e:
            tried.append(f"{url} ({e})")
    raise MNISTDownloadError(
        f"Could not download {final.name}: expected a gzip file with MD5 {md5} (uncompressed) from a mirror, "
        f"found {'; '.join(tried) or 'no mirrors to try'}; check the connection (or HTTPS_PROXY) and rerun, "
        f"or, offline, copy the files from a machine that has them into {final.parent.resolve()}."
    )


def download_mnist(root=None, mirrors=MIRRORS, md5=None, timeout: float = 30.0, log=None) -> dict[str, str]:
    """Fetch each file of ``md5`` (default ``MD5``) missing from ``ROOT/MNIST/raw/``; return what was done per file.

    A file already there with the right MD5 is left untouched. A lone ``NAME.gz`` is unpacked locally. Otherwise
    the mirrors are tried in order (``MIRROR + NAME + ".gz"``); a download is streamed to a temporary file in the
    same folder and renamed into place only after its MD5 matches, so no partial file ever has the final name.
    """
    md5 = MD5 if md5 is None else md5
    mirrors = (mirrors,) if isinstance(mirrors, str) else mirrors
    log = log or (lambda message: None)
    folder = raw_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    done = {}
    for name, expected in md5.items():
        final = folder / name
        if final.is_file() and _md5(final) == expected:
            done[name] = "present"
        else:
            if final.is_file():
                log(f"{final}: MD5 is not {expected}; a verified copy will take its name, "
                    f"the old file is kept as {final.name}.replaced")
            done[name] = _fetch(final, expected, mirrors, timeout, log)
        log(f"{final}: {done[name]}")
    return done


def main(argv=None) -> int:
    """``dlref-download [--check] [--root ROOT]``: fetch the missing files (or only check them), print their state."""
    parser = argparse.ArgumentParser(prog="dlref-download", description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=None, help=f"data folder holding MNIST/raw/ (default: ${ENV_VAR} or ./data)")
    parser.add_argument("--check", action="store_true", help="only check the files; download nothing")
    args = parser.parse_args(argv)
    folder = raw_dir(args.root).resolve()
    try:
        if not args.check:
            download_mnist(args.root, log=print)
        for name, expected in MD5.items():
            path = _find(folder, name)
            state = "missing" if path is None else "MD5 ok" if _md5(path) == expected else "MD5 mismatch"
            print(f"{path or folder / name}: {state}")
        data = load_mnist(args.root)
    except (MNISTNotFoundError, MNISTDownloadError, IDXError) as e:
        print(e, file=sys.stderr)
        return 1
    print(f"MNIST ready in {folder}: train {tuple(data.train_images.shape)}, test {tuple(data.test_images.shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
