"""Does memory grow across epochs? Fits a config for N short epochs and prints the resident memory after each.

    python scripts/memory_epochs.py --config configs/fcn.yaml --epochs 20 --limit 5000

``--limit 5000`` takes the first 5,000 training images: 500 validate, so each epoch trains on 4,500.
Resident memory (VmRSS, from /proc/self/status on Linux) is read at every epoch end, after the
validation; the line at the end gives the growth from the second epoch (when every buffer has been
allocated once) to the last.
"""

import argparse
import sys

import lightning.pytorch as pl

from dlref.cli import main as dlref_main

LIMIT, VAL_SIZE = 5000, 500  # images taken from the training set, and how many of them validate


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


class Memory(pl.Callback):
    def __init__(self):
        self.rss: list[float] = []

    def on_train_epoch_end(self, trainer, pl_module):
        self.rss.append(rss_mb())
        print(f"epoch {len(self.rss):2d}: resident {self.rss[-1]:.1f} MB", flush=True)

    def on_train_end(self, trainer, pl_module):
        if len(self.rss) > 2:
            print(f"growth from epoch 2 to epoch {len(self.rss)}: {self.rss[-1] - self.rss[1]:+.1f} MB "
                  f"(min {min(self.rss[1:]):.1f}, max {max(self.rss[1:]):.1f} MB)", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/fcn.yaml", help="the dlref config to fit")
    parser.add_argument("--epochs", type=int, default=20, help="epochs to run")
    parser.add_argument("--limit", type=int, default=LIMIT, help=f"the first N training images, {VAL_SIZE} of them to "
                        f"validate (default {LIMIT}: epochs of {LIMIT - VAL_SIZE:,})")
    parser.add_argument("--out", default="runs/memory", help="folder for the run's logs and checkpoints")
    args, rest = parser.parse_known_args(argv)
    return dlref_main(["fit", "--config", args.config, f"--trainer.max_epochs={args.epochs}",
                       f"--data.limit={args.limit}", f"--data.val_size={VAL_SIZE}",
                       f"--trainer.default_root_dir={args.out}",
                       "--trainer.enable_progress_bar=false", "--test_after_fit=false",
                       "--trainer.callbacks+=__main__.Memory", *rest])


if __name__ == "__main__":
    sys.exit(main())
