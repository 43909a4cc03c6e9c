"""Shared fixtures: the real MNIST (skipped when it is absent), a small normalised subset, a small MNIST of the
suite's own for the command line's wiring, and the markers.

The real data is looked for in ``$DLREF_DATA_DIR``, then in ``../shared/data``
beside the repository (where CI keeps it); tests that need it are skipped,
with the reason, when neither holds ``MNIST/raw/``.
"""

import os
from pathlib import Path

import pytest
import torch

from dlref.data import mnist as layout
from dlref.data import write_idx
from dlref.data.mnist import ENV_VAR, MNIST, MNISTNotFoundError, load_mnist, normalize

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"  # ../shared/data from the repo root
SUBSET_TRAIN, SUBSET_TEST = 2000, 1000


@pytest.fixture
def one_thread():
    """Tiny batches run faster on one thread, and far faster on a busy machine than on two that wait for each other.

    Use it for a whole file with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs ``-n 2``) each worker gets its share of the cores: one thread each on
    a 2-core machine, for torch here and, through ``OMP_NUM_THREADS``, for the processes its tests start."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


# On one pytest-xdist worker, in this order: the site (tests/test_site.py) is built from the lessons' notebooks that
# tests/test_lessons.py has just run, rather than running all five again.
TOGETHER = ("tests/test_lessons.py::", "tests/test_site.py::")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's default distribution (each test to whichever worker is free), but ``TOGETHER`` as one unit,
    handed out first as the longest. (Its own ``--dist loadgroup`` marks are lost under pytest 9, which ignores the
    node ids it rewrites.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Together(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "together" if nodeid.startswith(TOGETHER) else nodeid

    return Together(config, log)


def pytest_runtest_setup(item):
    if item.get_closest_marker("gpu") and not torch.cuda.is_available():
        pytest.skip("needs CUDA and torch.cuda.is_available() is False")


def _candidates() -> list[Path]:
    roots = [Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []
    return roots + ([SHARED_DATA] if SHARED_DATA.is_dir() else [])


@pytest.fixture(scope="session")
def _real_mnist() -> tuple[Path, MNIST]:
    for root in _candidates():
        try:
            return root.resolve(), load_mnist(root)  # absolute: subprocesses run in other folders
        except MNISTNotFoundError:  # a damaged file (IDXError) fails the tests instead
            pass
    env = f"{ENV_VAR}={os.environ[ENV_VAR]}" if os.environ.get(ENV_VAR) else f"{ENV_VAR} unset"
    shared = f"{SHARED_DATA} {'incomplete' if SHARED_DATA.is_dir() else 'absent'}"
    missing = pytest.fail if os.environ.get("CI") else pytest.skip  # CI always has it: never pass by skipping
    missing(
        f"real MNIST not found ({env}, {shared}); "
        f"set {ENV_VAR} to a folder holding MNIST/raw/, or run dlref-download"
    )


@pytest.fixture(scope="session")
def mnist_root(_real_mnist) -> Path:
    """The data folder (holding ``MNIST/raw/``) that ``mnist`` was read from."""
    return _real_mnist[0]


@pytest.fixture(scope="session")
def mnist(_real_mnist) -> MNIST:
    """The real MNIST as ``load_mnist`` returns it; shared by the session, so never modify it in place."""
    return _real_mnist[1]


@pytest.fixture
def mnist_subset(mnist) -> MNIST:
    """First 2000 training and 1000 test examples: images ``(N, 1, 28, 28)`` float32 normalised, labels int64."""
    return MNIST(
        normalize(mnist.train_images[:SUBSET_TRAIN]), mnist.train_labels[:SUBSET_TRAIN].clone(),
        normalize(mnist.test_images[:SUBSET_TEST]), mnist.test_labels[:SUBSET_TEST].clone(),
    )


def write_digits(root: Path, n_train: int, n_test: int) -> Path:
    """A small MNIST in ``root/MNIST/raw``: digit d is a bright row (row 4 + 2·d) in noise, learned in an epoch."""
    raw, g = root / "MNIST" / "raw", torch.Generator().manual_seed(0)
    raw.mkdir(parents=True)
    for n, images, labels in ((n_train, layout.TRAIN_IMAGES, layout.TRAIN_LABELS),
                              (n_test, layout.TEST_IMAGES, layout.TEST_LABELS)):
        t = torch.arange(n) % 10
        X = torch.randint(0, 60, (n, 28, 28), generator=g, dtype=torch.uint8)
        X[torch.arange(n), 4 + 2 * t] = 255
        write_idx(raw / images, X)
        write_idx(raw / labels, t.to(torch.uint8))
    return root


@pytest.fixture(scope="session")
def digits_root(tmp_path_factory) -> Path:
    """The data folder of a small MNIST of the suite's own (``write_digits``: 700 training and 100 test images):
    for tests of the command line's wiring (exit codes, sentences, folders, resumes), which need no real digits.
    Shared by the session: read it, never write into it (``--data.limit`` takes fewer)."""
    return write_digits(tmp_path_factory.mktemp("digits"), 700, 100)


@pytest.fixture(scope="session")
def rendered_lessons(tmp_path_factory) -> Path:
    """A folder for the lessons' executed notebooks, filled by tests/test_lessons.py as ``make lessons`` fills
    ``lessons/rendered/``; tests/test_site.py builds the site's lesson pages from it when it holds all of them."""
    return tmp_path_factory.mktemp("rendered")
