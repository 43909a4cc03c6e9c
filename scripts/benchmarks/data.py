"""data: one training epoch of the loader alone, the DataModule's ``Batches`` against torchvision's per-sample pipeline.

Per-sample: pytorch/examples' MNIST data path, ``torchvision.datasets.MNIST`` with
``Compose([ToTensor(), Normalize])`` applied to one image at a time, in a ``DataLoader(shuffle=True)``,
over the same training images (the DataModule's hold-out split) in batches of the same size.
DataModule: ``configs/fcn.yaml``'s, one gather per batch. A plain-loop FCN epoch is timed in the same
rotation, for the loader's share of it.
"""

import time

import torch
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

from dlref.data.mnist import data_dir
from dlref.data.split import validation_split

from .harness import Settings, compare, figure, interleave
from .loops import Recipe, plain_epoch


def read(batches, scale: float = 1.0) -> float:
    """Seconds to draw every batch of ``batches`` (times ``scale``, for a part of an epoch)."""
    start = time.perf_counter()
    for _ in batches:
        pass
    return (time.perf_counter() - start) * scale


def run(settings: Settings, device="cpu") -> list[dict]:
    fcn = Recipe("fcn", "--trainer.max_epochs=1", device=device)
    dm, steps = fcn.datamodule, settings.steps["fcn"]
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((dm.mean,), (dm.std,))])
    mnist = datasets.MNIST(str(data_dir(dm.data_dir)), train=True, transform=transform)
    train_idx, _ = validation_split(mnist.targets, dm.val_size, seed=dm.seed)  # the DataModule's split
    n = len(train_idx)
    samples = 5000 if settings.quick else n  # quick: part of an epoch, scaled up to a whole one
    per_sample = DataLoader(Subset(mnist, train_idx[:samples].tolist()), batch_size=dm.batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(dm.seed))
    fcn_epoch = plain_epoch(fcn, steps)
    seconds = interleave({"per-sample": lambda: read(per_sample, n / samples), "DataModule": lambda: read(fcn.epoch()),
                          "FCN epoch": lambda: fcn_epoch() * fcn.steps() / fcn.steps(steps)},
                         settings.repeats_slow, settings.warmup)
    row = compare(f"one training epoch of the loader alone ({n:,} images, batch {dm.batch_size})",
                  ("per-sample", seconds["per-sample"]), ("DataModule", seconds["DataModule"]),
                  note="per-sample: torchvision.datasets.MNIST with Compose([ToTensor(), Normalize]) per image "
                       "(the pytorch/examples MNIST data path) in a DataLoader(shuffle=True, num_workers=0); "
                       "DataModule: dlref's Batches, one gather per batch"
                       + (f"; per-sample timed on {samples:,} images and scaled" if samples != n else ""))
    speedup = row["baseline_s"]["min"] / row["candidate_s"]["min"]
    share = row["candidate_s"]["min"] / min(seconds["FCN epoch"])
    return [row,
            figure("speed-up of the DataModule's loader over the per-sample pipeline (min / min)", f"{speedup:,.0f}×",
                   "≥ 50×", speedup >= 50),
            figure("loader epoch as a share of a plain-loop FCN epoch (min / min)", f"{share:.2%}", "≤ 5%",
                   share <= 0.05, "the FCN epoch (configs/fcn.yaml, dlref.train) timed in the same rotation"
                   + ("; a part epoch, scaled" if steps else ""))]
