"""memory: peak resident memory of ``make train`` (FCN) and of the anchor, each a process of its own.

``make train`` runs ``configs/fcn.yaml`` in full, then tests its best checkpoint (quick: one short
epoch: memory is about the data, which is read and held whole either way). The anchor,
``scripts/pytorch_examples_mnist.py``, runs one epoch and its test (quick: ``--dry-run``, one batch).
"""

import sys
import tempfile

from .harness import ANCHOR, Settings, figure, run_measured

LIMIT = 1000  # MB that `make train` is to stay under


def run(settings: Settings, device="cpu") -> list[dict]:
    settings.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-train-", dir=settings.out) as runs:  # its checkpoints and logs
        options = f"--trainer.default_root_dir={runs}"
        if settings.quick:
            options += " --trainer.max_epochs=1 --trainer.limit_train_batches=20 --trainer.limit_val_batches=2"
        code, wall, peak = run_measured(["make", "--no-print-directory", "train", "MODEL=fcn", f"ARGS={options}"],
                                        settings.out / "make-train.log")
    rows = [figure(f"peak resident memory of `make train` (FCN{', 1 short epoch' if settings.quick else ''})",
                   f"{peak:,.0f} MB" if code == 0 else f"failed (exit {code}, see make-train.log)",
                   f"< {LIMIT:,} MB (the pytorch/examples recipe's)", code == 0 and peak < LIMIT,
                   f"{wall:.0f} s wall, including the test of the best checkpoint")]
    epochs = ["--epochs", "1"] + (["--dry-run"] if settings.quick else [])
    code, wall, peak = run_measured([sys.executable, ANCHOR, *epochs], settings.out / "anchor-memory.log")
    what = "--dry-run: one batch" if settings.quick else "1 epoch"
    rows.append(figure(f"peak resident memory of the pytorch/examples recipe ({what}, then its test)",
                       f"{peak:,.0f} MB" if code == 0 else f"failed (exit {code}, see anchor-memory.log)",
                       note=f"{wall:.0f} s wall; both read MNIST through torchvision.datasets.MNIST"))
    return rows
