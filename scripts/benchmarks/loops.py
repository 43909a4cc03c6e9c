"""The two training loops the sections time, on a recipe of ``configs/*.yaml`` read by ``dlref fit``'s parser.

The plain loop is the slides' ``dlref.train`` as ``scripts/train_scratch.py`` runs it; the other is
Lightning's ``Trainer.fit`` of the recipe's ``Classifier`` as ``dlref fit`` runs it, less its logging,
checkpoints, console and validation. Both start from the recipe's weights, read its first training
epoch (the DataModule's ``Batches``: the same batches in the same order, shifts included) and use its
optimizer, schedule and gradient clipping. Nothing is read back per step; each run returns its seconds.
"""

import copy
import time
from itertools import islice

import lightning.pytorch as pl
import torch
from torch import nn
from train_scratch import Clipped  # the plain loop's clipping and per-step schedule, as `make train-scratch`

import dlref
from dlref.cli.recipe import recipe
from dlref.optimization import make_optimizer, make_schedule

from .harness import ROOT, sync


class Recipe:
    """``configs/<config>.yaml`` plus ``options``, read by ``dlref fit``'s parser; its training set on ``device``."""

    def __init__(self, config: str, *options: str, device="cpu"):
        self.cli = recipe("--config", ROOT / "configs" / f"{config}.yaml", *options)
        self.device, self.datamodule = torch.device(device), self.cli.datamodule
        dm = self.datamodule
        dm.setup("fit")
        # On the device before any fit, as a CUDA trainer's setup would put it: batches are sliced there.
        dm.train_X, dm.train_t = dm.train_X.to(self.device), dm.train_t.to(self.device)
        dm.train_dataloader()
        self.start = dm.state_dict()  # before the first epoch

    @property
    def network(self) -> nn.Module:
        return self.cli.model.model

    def epoch(self, steps: int | None = None):
        """The recipe's first training epoch, or its first ``steps`` batches: every call serves the same ones."""
        self.datamodule.load_state_dict(self.start)
        batches = self.datamodule.train_dataloader()
        return batches if steps is None else islice(batches, steps)

    def steps(self, steps: int | None = None) -> int:
        whole = len(self.datamodule.train_dataloader())
        return min(whole, steps) if steps else whole


class Stopwatch(pl.Callback):
    """Seconds of ``Trainer.fit``'s training loop, ``on_train_start`` → ``on_train_end`` (set-up left out)."""

    def __init__(self, device):
        self.device, self.seconds = device, None

    def on_train_start(self, trainer, pl_module):
        sync(self.device)
        self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        sync(self.device)
        self.seconds = time.perf_counter() - self.start


def trainer(recipe: Recipe, callbacks: list[pl.Callback], **settings) -> pl.Trainer:
    """A Trainer with the recipe's settings as ``dlref fit`` parsed them (epochs, clipping, precision, …),
    ``callbacks`` instead of ``dlref fit``'s loggers, checkpoints and console, and no validation."""
    parsed = recipe.cli.config.trainer.as_dict()
    for key in ("logger", "callbacks", "plugins"):  # dlref fit's run folder and checkpoint writer
        parsed.pop(key)
    return pl.Trainer(**{**parsed, "accelerator": recipe.device.type, "devices": 1, "logger": False,
                         "callbacks": callbacks, "enable_checkpointing": False, "enable_progress_bar": False,
                         "enable_model_summary": False, "limit_val_batches": 0, "num_sanity_val_steps": 0, **settings})


def plain_epoch(recipe: Recipe, steps: int | None, model: nn.Module | None = None, loss=dlref.cross_entropy,
                optimizer=make_optimizer, fresh: bool = True):
    """A run: one ``dlref.train`` pass over the recipe's first epoch (or ``steps`` batches), with the recipe's
    optimizer and schedule, of a copy of ``model`` (default: the recipe's network), or of ``model`` itself."""
    h, clip = recipe.cli.model.hparams, recipe.cli.config.trainer.gradient_clip_val
    model = (recipe.network if model is None else model).to(recipe.device)

    def run() -> float:
        net = copy.deepcopy(model) if fresh else model
        update = optimizer(net.parameters(), h)
        scheduler, interval = make_schedule(update, h, recipe.steps(steps), 1)
        if clip or interval == "step":
            update = Clipped(update, clip, scheduler if interval == "step" else None)
        batches = recipe.epoch(steps)
        sync(recipe.device)
        start = time.perf_counter()
        dlref.train(net, batches, loss, update)  # reads the summed loss once, at the end: a sync
        return time.perf_counter() - start
    return run


def fit_epoch(recipe: Recipe, steps: int | None, precision: str | None = None, compile_model: bool = False,
              fresh: bool = True):
    """A run: ``Trainer.fit`` of (a copy of) the recipe's ``Classifier`` for one epoch (or ``steps`` batches)."""
    settings = {"max_epochs": 1, "limit_train_batches": steps or 1.0}
    if precision:
        settings["precision"] = precision

    def run() -> float:
        module = copy.deepcopy(recipe.cli.model) if fresh else recipe.cli.model
        if compile_model:  # compiled once, in the first run: later copies reuse the code
            module.model = torch.compile(module.model)
        clock = Stopwatch(recipe.device)
        recipe.epoch()  # back to the first batch of the first epoch
        trainer(recipe, [clock], **settings).fit(module, datamodule=recipe.datamodule)
        return clock.seconds
    return run
