"""The slides' training loop on MNIST, top to bottom: data, model, optimizer, the slide's loop, evaluate.

    python scripts/train_scratch.py --model fcn                 # configs/fcn.yaml, ~98% test accuracy
    python scripts/train_scratch.py --model cnn --trainer.max_epochs=3 --model.lr=0.05

No Lightning runs here: the loop is ``dlref.train`` (``Y = model.predict(X)``, ``loss = LossFunction(Y, target)``,
``optimizer.update(model.W, loss)``) and the scores are ``dlref.evaluate``. The numbers come from the recipe
``dlref fit`` runs, ``configs/<model>.yaml`` over the defaults of ``dlref fit --print_config``, so the network starts
from the same weights, sees the same batches in the same order and is updated by the same optimizer and schedule
(``tests/test_train_scratch.py`` checks that both loops validate the same). ``--model.*``, ``--data.*`` and the trainer
options this loop runs override the recipe. Validation after every epoch; the test set once, at the end.
"""

import argparse
import inspect
import sys
import time
from pathlib import Path

import torch
import yaml

import dlref
from dlref.cli.console import quiet
from dlref.cli.errors import UsageError, debugging, run, stop_on_signals
from dlref.data import MNIST_MEAN, MNIST_STD, load_mnist, normalize
from dlref.data.batches import Batches, check_sizes
from dlref.data.mnist import pixel_stats
from dlref.data.split import check_limit, first, validation_split
from dlref.lightning.datamodule import InMemoryDataModule
from dlref.lightning.mnist import MNISTDataModule
from dlref.lightning.module import Classifier
from dlref.optimization import check, make_optimizer, make_schedule

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
# The trainer options the slide's loop carries out; any other would be read and silently ignored.
TRAINER = {"max_epochs": 1000, "gradient_clip_val": None, "accelerator": "auto"}  # Lightning's defaults


def defaults(cls) -> dict:
    """A class's keyword defaults: the recipe's starting point, defined once, in the classes ``dlref fit`` builds."""
    return {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


def number(value, default):
    """A value given for a number as a number: YAML reads ``1e30`` (no dot) as text, the ``dlref fit`` parser not."""
    if isinstance(value, str) and isinstance(default, (int, float)) and not isinstance(default, bool):
        try:
            return float(value)
        except ValueError:
            pass
    return value


def recipe(name: str, options: list[str]) -> dict:
    """``configs/<name>.yaml`` over the defaults, then ``--section.key=value`` options (values read as YAML)."""
    config = {"seed_everything": 0, "model": defaults(Classifier), "trainer": dict(TRAINER),
              "data": {**defaults(MNISTDataModule), **defaults(InMemoryDataModule)}}
    for section, values in (yaml.safe_load((CONFIGS / f"{name}.yaml").read_text()) or {}).items():
        config[section] = {**config[section], **values} if isinstance(values, dict) else values
    for option in options:
        key, _, value = option.removeprefix("--").partition("=")
        section, _, field = key.partition(".")
        if section not in ("model", "data", "trainer") or field not in config[section] or not option.startswith("--"):
            known = [f"--{s}.{k}" for s in ("model", "data") for k in config[s]] + [f"--trainer.{k}" for k in TRAINER]
            raise UsageError(f"train_scratch.py expected options of the recipe ({', '.join(known)}), found {option}; "
                             "leave it out, or use dlref fit, which runs every Lightning option.")
        config[section][field] = number(yaml.safe_load(value), config[section][field])
    epochs = config["trainer"]["max_epochs"]
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise UsageError(f"train_scratch.py expected --trainer.max_epochs to be an int >= 1, found {epochs!r}; pass "
                         "e.g. --trainer.max_epochs=3.")
    return config


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="train_scratch.py", description=__doc__, exit_on_error=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("fcn", "cnn", "lstm", "cnn_fast"), default="fcn",
                        help="the recipe, configs/<model>.yaml (default: fcn)")
    parser.epilog = ("Other options: the --model.* and --data.* options of `dlref fit` (e.g. --model.lr=0.05 "
                     f"--data.limit=10000), and of its trainer's, {', '.join(f'--trainer.{k}' for k in TRAINER)}.")
    args, rest = parser.parse_known_args(argv)
    unknown = [a for a in rest if not a.startswith(("--model.", "--data.", "--trainer."))]
    if unknown:  # one sentence from dlref.cli.errors.run, pointing to this script's --help
        raise argparse.ArgumentError(None, f"unrecognized arguments: {' '.join(unknown)}")
    return args, rest


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    stop_on_signals()  # Ctrl-C or SIGTERM: one sentence and exit 130 or 143 (nothing here writes files)
    if "--verbose" not in argv:
        quiet()
    rest = [a for a in argv if a not in ("--debug", "--verbose")]
    return run("train_scratch.py", lambda: _main(*parse_args(rest)), debug=debugging(argv),
               help_command="python scripts/train_scratch.py --help")


def _main(args, options: list[str]) -> int:
    config = recipe(args.model, options)
    h, d, trainer = config["model"], config["data"], config["trainer"]
    epochs, clip = trainer["max_epochs"], trainer["gradient_clip_val"]
    use_cuda = torch.cuda.is_available() and trainer["accelerator"] != "cpu"
    device = torch.device("cuda" if use_cuda else "cpu")

    # The model and its optimizer, seeded as dlref fit seeds them: the same initial weights.
    torch.manual_seed(config["seed_everything"])
    model = dlref.networks.build(h["network"], h["network_kwargs"], "train_scratch.py").to(device)
    optimizer = make_optimizer(model.parameters(), h)  # dlref.SGD, or the torch optimizer the recipe names
    check(h)  # the rest of the recipe's optimizer and schedule settings, after dlref.SGD's own checks

    # The data: MNIST's training images split into training and validation, the test set kept apart.
    check_sizes(d["batch_size"], d["eval_batch_size"], d["shift"])  # before the files are read
    check_limit(d["limit"])
    mnist = load_mnist(d["data_dir"], d["dataset"])
    X, t = first(mnist.train_images, mnist.train_labels, d["limit"])  # --data.limit: the first N images, or all
    mean, std = (MNIST_MEAN, MNIST_STD) if d["dataset"] == "MNIST" else pixel_stats(mnist.train_images)
    train_idx, val_idx = validation_split(t, d["val_size"], seed=d["seed"])
    train_data = Batches(normalize(X[train_idx], mean, std), t[train_idx], d["batch_size"], shuffle=True,
                         seed=d["seed"], shift=d["shift"])
    val_data = Batches(normalize(X[val_idx], mean, std), t[val_idx], d["eval_batch_size"])

    scheduler, interval = make_schedule(optimizer, h, len(train_data) * epochs, epochs)
    if clip or interval == "step":  # what the recipe adds around each update: clipping, a per-step schedule
        optimizer = Clipped(optimizer, clip, scheduler if interval == "step" else None)
    print(f"{h['network']}: {sum(p.numel() for p in model.parameters()):,} parameters, {len(train_idx):,} train / "
          f"{len(val_idx):,} validation images, {epochs} epochs, {h['optimizer']} lr {h['lr']:g}, "
          f"schedule {h['schedule']}", flush=True)
    start = time.perf_counter()

    def report(epoch, loss):  # after each epoch: the validation scores
        if interval == "epoch":
            scheduler.step()
        val = dlref.evaluate(model, val_data, dlref.cross_entropy)
        print(f"epoch {epoch + 1:2d}/{epochs}  train loss {loss:.4f}  val loss {val['loss']:.4f}  "
              f"val accuracy {val['accuracy']:.2%}  ({time.perf_counter() - start:.1f} s)", flush=True)

    # The slide's loop: for each batch, Y = model.predict(X); loss = LossFunction(Y, target); optimizer.update(...)
    dlref.train(model, train_data, dlref.cross_entropy, optimizer, epochs=epochs, on_epoch_end=report)
    seconds = time.perf_counter() - start
    test_data = Batches(normalize(mnist.test_images, mean, std), mnist.test_labels, d["eval_batch_size"])
    result = dlref.evaluate(model, test_data, dlref.cross_entropy)  # the test set, used once
    print(f"test accuracy {result['accuracy']:.2%}  test loss {result['loss']:.4f}  "
          f"({epochs} epochs, {seconds:.1f} s of training)")
    return 0


class Clipped:
    """A recipe's optimizer with what it adds around each step: the gradients' norm clipped (``gradient_clip_val``)
    before it, and a per-step schedule (one-cycle) after it. The slide's ``update`` is ``dlref.train``'s."""

    def __init__(self, optimizer: torch.optim.Optimizer, clip: float | None, scheduler=None):
        self.optimizer, self.clip, self.scheduler = optimizer, clip, scheduler
        self.param_groups, self.state, self.defaults = optimizer.param_groups, optimizer.state, optimizer.defaults

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none)

    def step(self, closure=None):
        if self.clip:
            torch.nn.utils.clip_grad_norm_([p for g in self.param_groups for p in g["params"]], self.clip)
        loss = self.optimizer.step(closure)
        if self.scheduler is not None:
            self.scheduler.step()
        return loss


if __name__ == "__main__":
    sys.exit(main())
