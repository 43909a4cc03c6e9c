"""Recipes — ``configs/<name>.yaml``, the one source of every run's settings.

A config names what differs from the defaults of ``Classifier``, ``MNISTDataModule`` and Lightning's
``Trainer``. ``recipe("--config", "configs/cnn.yaml", "--trainer.max_epochs=3")`` reads one, with
any ``dlref fit`` option after it, and returns what ``dlref fit`` would build from it, built and not
run: ``.model`` (the ``Classifier``; its network is ``.model.model``), ``.datamodule``, and
``.config`` (``.config.trainer``, ``.config.seed_everything``). The plain loop, K-fold, the
overfitting study, the benchmark and the device check all read their recipes here.

It reads through ``dlref fit``'s own parser (LightningCLI, with its type checks and one-sentence
errors). On a machine without jsonargparse, the parser's library (e.g. a GPU image that has torch,
torchvision, lightning and torchmetrics only), each section of the YAML goes straight to its class:
the same defaults, the same objects (``tests/test_validation.py`` checks both ways agree), without
the parser's type checks.
"""

import importlib.util
import inspect
from pathlib import Path

import lightning.pytorch as pl
import yaml

RUNS_DIR = "runs"
CONFIGS = Path(__file__).resolve().parents[2] / "configs"  # the repository's, beside the package
# dlref's own trainer defaults, beside Lightning's (the CLI adds its loggers, callbacks and checkpoint IO).
TRAINER_DEFAULTS = {"default_root_dir": RUNS_DIR, "enable_model_summary": False}  # Summary prints the network


class _Section(dict):
    """A config section whose keys read as attributes too, as the parser's Namespace does."""

    __getattr__ = dict.get

    def as_dict(self) -> dict:
        return dict(self)


class YAMLRecipe:
    """What ``recipe`` returns without the parser: the YAML's sections handed to their classes."""

    def __init__(self, args: list[str]):
        from dlref.lightning.mnist import MNISTDataModule
        from dlref.lightning.module import Classifier

        config = {"seed_everything": 0, "trainer": {}, "model": {}, "data": {}}
        for key, value in _options(args):
            if key == "config":
                loaded = yaml.safe_load(Path(value).read_text()) or {}
                for name, section in loaded.items():
                    config[name] = {**config[name], **section} if isinstance(section, dict) else section
            else:
                section, _, name = key.partition(".")
                if section not in config or (section in ("trainer", "model", "data") and not name):
                    raise ValueError(f"recipe expected options such as --trainer.max_epochs=3, found --{key}; pass "
                                     "--config, --seed_everything, or --trainer.* / --model.* / --data.* options.")
                if name:
                    config[section][name] = value
                else:
                    config[section] = value
        pl.seed_everything(config["seed_everything"], verbose=False)  # as LightningCLI does, before building
        self.model, self.datamodule = Classifier(**config["model"]), MNISTDataModule(**config["data"])
        trainer = {name: p.default for name, p in inspect.signature(pl.Trainer.__init__).parameters.items()
                   if p.default is not inspect.Parameter.empty}
        trainer.update({**TRAINER_DEFAULTS, **config["trainer"]})
        self.config = _Section(seed_everything=config["seed_everything"], trainer=_Section(trainer))


def _options(args: list[str]):
    """``(key, value)`` of ``--key=value`` and ``--key value`` options; values read as YAML, like the parser."""
    args = list(map(str, args))
    while args:
        arg = args.pop(0)
        if not arg.startswith("--"):
            raise ValueError(f"recipe expected options such as --config FILE, found {arg!r}; pass --name=value.")
        key, equals, value = arg[2:].partition("=")
        if not equals:
            value = args.pop(0) if args else ""
        yield key, value if key == "config" else yaml.safe_load(value)


def recipe(*args: str):
    """``dlref fit``'s options (``"--config", "configs/cnn.yaml", …``): the model, datamodule and trainer
    settings ``dlref fit`` would build from them (see the module docstring)."""
    if importlib.util.find_spec("jsonargparse") is None:
        return YAMLRecipe(list(args))
    from dlref.cli import _cli  # the parser and the classes it builds

    return _cli([*map(str, args), "--trainer.logger=false"], run=False)
