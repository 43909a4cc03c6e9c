"""``dlref-download`` — MNIST's four files fetched with torchvision's download, placed so that none is ever half there.

``download_mnist`` is torchvision's download (its mirrors, its MD5 check of each ``.gz``), run in a temporary folder
beside ``raw/``: only when every file has arrived and been unpacked are the missing ones moved into ``raw/``, each
with one atomic rename. An interrupted or corrupted download leaves nothing under a name a later run reads, and a
file already in ``raw/`` is never touched. ``dlref-download --check`` only checks the files.
"""

import argparse
import http.client
import os
import shutil
import sys
import tempfile
import zlib
from pathlib import Path

from .idx import IDXError
from .mnist import DATASETS, ENV_VAR, FILES, MNISTDownloadError, MNISTNotFoundError, dataset_class, load_mnist, raw_dir

# What a failed download raises: torchvision's "File not found or corrupted" (an MD5 mismatch) and its
# "Error downloading" (every mirror failed) are RuntimeErrors; a cut connection is an HTTPException;
# URLError, timeouts and a full disk are OSErrors; a damaged gzip stream is EOFError or zlib.error.
_FAILURES = (RuntimeError, OSError, http.client.HTTPException, EOFError, zlib.error)


def download_mnist(root=None, dataset: str = "MNIST", log=print) -> dict[str, str]:
    """Put each missing file of ``ROOT/<dataset>/raw/`` in place with torchvision's verified download.

    Returns what was done per file: ``present`` or ``downloaded``. A ``NAME.gz`` already in ``raw/`` is
    used instead of the network when its MD5 is right. Nothing in ``raw/`` is ever overwritten.
    """
    cls, folder = dataset_class(dataset), raw_dir(root, dataset)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if not missing:
        return dict.fromkeys(FILES, "present")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=".download-"))
    except OSError as error:
        raise MNISTDownloadError(f"could not download into {folder.resolve()}: expected a writable folder, found "
                                 f"{error.strerror or error}; pass a writable data folder.") from None
    try:
        staged = staging / dataset / "raw"
        staged.mkdir(parents=True)
        for name in FILES:  # packed files the user already has: torchvision checks their MD5 and skips them
            if (folder / f"{name}.gz").is_file():
                shutil.copyfile(folder / f"{name}.gz", staged / f"{name}.gz")
        log(f"downloading {dataset} with torchvision into {folder.resolve()} (missing: {', '.join(missing)})")
        try:
            cls(str(staging), train=True, download=True)
        except _FAILURES as error:
            found = " ".join(str(error).split())[:300]
            raise MNISTDownloadError(
                f"could not download {dataset}: expected files whose MD5 matches torchvision's from "
                f"{', '.join(cls.mirrors)}, found {type(error).__name__}: {found}; check the connection (or "
                f"HTTPS_PROXY) and rerun, or, offline, copy the four files into {folder.resolve()}."
            ) from None
        for name in missing:
            if not (folder / name).exists():  # another process may have placed it meanwhile: keep theirs
                os.replace(staged / name, folder / name)  # atomic: the name only ever holds a whole file
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {name: "downloaded" if name in missing else "present" for name in FILES}


def main(argv=None) -> int:
    """``dlref-download [--dataset NAME] [--root ROOT] [--check]``: fetch the missing files (or only check them)."""
    parser = argparse.ArgumentParser(prog="dlref-download", description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=None, help=f"data folder holding MNIST/raw/ (default: ${ENV_VAR} or ./data)")
    parser.add_argument("--dataset", choices=DATASETS, default="MNIST", help="which dataset (default: MNIST)")
    parser.add_argument("--check", action="store_true", help="only check the files; download nothing")
    args = parser.parse_args(argv)
    try:
        if not args.check:
            download_mnist(args.root, args.dataset)
        data = load_mnist(args.root, args.dataset)
    except (MNISTNotFoundError, MNISTDownloadError, IDXError) as error:
        print(f"dlref-download: error: {error}", file=sys.stderr)
        return 1
    print(f"{args.dataset} ready in {raw_dir(args.root, args.dataset).resolve()}: train "
          f"{tuple(data.train_images.shape)}, test {tuple(data.test_images.shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
