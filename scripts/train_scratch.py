"""The slides' training loop on MNIST, with no Lightning in the loop: Model, optimizer.update, train, evaluate.

    python scripts/train_scratch.py --model fcn                 # configs/fcn.yaml, ~98% test accuracy
    python scripts/train_scratch.py --model cnn --trainer.max_epochs=3 --model.lr=0.05

The recipe is the one `dlref fit` runs: ``configs/<model>.yaml`` read by the `dlref fit` parser (any of
its options can follow), so the network starts from the same weights, sees the same batches in the same
order and is updated by the same optimizer and schedule. Only the loop differs: it is ``dlref.train``.
Validation accuracy after every epoch; the test set is evaluated once, at the end.
"""

import argparse
import sys
import time
from pathlib import Path

import torch

import dlref
from dlref.cli.console import quiet
from dlref.cli.errors import UsageError, debugging, run, stop_on_signals
from dlref.cli.recipe import recipe
from dlref.lightning.optimization import make_optimizer, make_schedule

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


class Update:
    """``optimizer.update(W, loss)`` plus what a recipe adds around the slide's rule: clipping the gradients'
    norm (``trainer.gradient_clip_val``) and a rate schedule stepped after every update (one-cycle)."""

    def __init__(self, optimizer: torch.optim.Optimizer, clip: float | None, scheduler=None):
        self.optimizer, self.clip, self.scheduler = optimizer, clip, scheduler
        self.param_groups = optimizer.param_groups

    def update(self, W, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad()
        loss.backward()
        if self.clip:
            torch.nn.utils.clip_grad_norm_(W, self.clip)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("fcn", "cnn", "lstm", "cnn_fast"), default="fcn",
                        help="the recipe, configs/<model>.yaml (default: fcn)")
    parser.epilog = ("Other options: the --model.* and --data.* options of `dlref fit` (e.g. --model.lr=0.05 "
                     f"--data.limit=10000), and of its trainer's, {', '.join(RUNS)}.")
    return parser.parse_known_args(argv)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    stop_on_signals()  # Ctrl-C or SIGTERM: one sentence and exit 130 or 143 (nothing here writes files)
    if "--verbose" not in argv:
        quiet()
    rest = [a for a in argv if a not in ("--debug", "--verbose")]
    return run("train_scratch.py", lambda: _main(*parse_args(rest)), debug=debugging(argv),
               help_command="python scripts/train_scratch.py --help")


# The trainer options the slide's loop carries out; any other would be read and silently ignored.
RUNS = ("--trainer.max_epochs", "--trainer.gradient_clip_val", "--trainer.accelerator")


def _main(args, rest: list[str]) -> int:
    ignored = [a.split("=")[0] for a in rest if a.startswith("--trainer.") and a.split("=")[0] not in RUNS]
    if ignored:
        raise UsageError(f"train_scratch.py expected the trainer options its loop runs ({', '.join(RUNS)}), found "
                         f"{', '.join(ignored)}; leave them out, or use dlref fit, which runs every Lightning option.")
    cli = recipe("--config", CONFIGS / f"{args.model}.yaml", *rest)  # seeds, builds the weights `dlref fit` would
    h, data, epochs = cli.model.hparams, cli.datamodule, cli.config.trainer.max_epochs
    device = torch.device("cuda" if torch.cuda.is_available() and cli.config.trainer.accelerator != "cpu" else "cpu")
    data.setup("fit")
    train_data, val_data = data.train_dataloader(), data.val_dataloader()  # the same Batches `dlref fit` reads
    model = cli.model.model.to(device)  # the network, without its Lightning wrapper; train moves each batch
    optimizer = make_optimizer(model.parameters(), h)  # dlref.SGD, or the torch optimizer the recipe names
    scheduler, interval = make_schedule(optimizer, h, len(train_data) * epochs, epochs)
    clip = cli.config.trainer.gradient_clip_val
    if clip or interval == "step":
        optimizer = Update(optimizer, clip, scheduler if interval == "step" else None)
    print(f"{h['network']}: {sum(p.numel() for p in model.parameters()):,} parameters, {len(data.train_t):,} train / "
          f"{len(data.val_t):,} validation images, {epochs} epochs, {h['optimizer']} lr {h['lr']:g}, "
          f"schedule {h['schedule']}", flush=True)
    start = time.perf_counter()

    def report(epoch, loss):
        if interval == "epoch":
            scheduler.step()
        val = dlref.evaluate(model, val_data, dlref.cross_entropy)
        print(f"epoch {epoch + 1:2d}/{epochs}  train loss {loss:.4f}  val loss {val['loss']:.4f}  "
              f"val accuracy {val['accuracy']:.2%}  ({time.perf_counter() - start:.1f} s)", flush=True)

    dlref.train(model, train_data, dlref.cross_entropy, optimizer, epochs=epochs, on_epoch_end=report)
    seconds = time.perf_counter() - start
    data.setup("test")
    result = dlref.evaluate(model, data.test_dataloader(), dlref.cross_entropy)  # the test set, used once
    print(f"test accuracy {result['accuracy']:.2%}  test loss {result['loss']:.4f}  "
          f"({epochs} epochs, {seconds:.1f} s of training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
