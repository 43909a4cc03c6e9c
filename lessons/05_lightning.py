# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 5 — From the loop to Lightning
#
# The slide's `train` loop (lesson 2) is all a model needs to learn. A real run needs more around it: validation
# after every epoch, the best weights kept in a checkpoint, logs, a run that can be resumed after a crash, the
# test set used once and on the record, figures. **Lightning** runs the same loop and brings those; `dlref fit`
# is Lightning's command line over the deck's networks, with a YAML file per recipe.
#
# This lesson runs `dlref fit` on a small subset of MNIST, opens the folder the run leaves, and checks that the
# model in its checkpoint is the same dlref model as before.
#
# MNIST from `$DLREF_DATA_DIR`. By default it trains on 5,000 images for 3 epochs (well under a minute);
# `FULL = True` (or `DLREF_LESSONS_FULL=1`) runs the whole recipe of `configs/fcn.yaml` (20 epochs, a few minutes).

# %%
import csv
import inspect
import json
import os
import tempfile
from pathlib import Path

import torch
import yaml
from IPython.display import Image, display

import check
import dlref
import dlref.data
from dlref.cli import main
from dlref.lightning import Classifier, MNISTDataModule

os.environ.setdefault("DLREF_DATA_DIR", "../data")  # MNIST: $DLREF_DATA_DIR, else the repository's data/
FULL = os.environ.get("DLREF_LESSONS_FULL") == "1"  # or FULL = True: the whole recipe (minutes)
CONFIG = Path("../configs/fcn.yaml").resolve()
RUNS = Path(tempfile.mkdtemp(prefix="dlref-lesson5-"))  # the run folders go here, never into the repository

# %% [markdown]
# ## The same step
#
# The slide's loop:
#
# ```
# for (X, target) in data:
#     Y = model.predict(X)
#     loss = LossFunction(Y, target)
#     optimizer.update(model.W, loss)
# ```
#
# Lightning's `LightningModule` is the same loop cut in two: `training_step` computes the loss of one batch, and
# Lightning does the update (`zero_grad`, `backward`, `optimizer.step()`). dlref's one module, `Classifier`, wraps
# any network of lesson 4, with `dlref.cross_entropy` and `dlref.SGD`; its step:

# %%
print(inspect.getsource(Classifier._step))
print(inspect.getsource(Classifier.training_step))

# %% [markdown]
# `Y = self.model(X)` is `model.predict(X)`, then `LossFunction(Y, target)`; the torchmetrics objects only count
# accuracy and loss for the logs. (`tests/test_lightning.py` checks that one Lightning step and one step of
# `dlref.train` give the same weights, bit for bit.)
#
# ## The recipe
#
# A run's settings are a YAML file. `configs/fcn.yaml` names only what differs from the defaults;
# `dlref fit --config configs/fcn.yaml --print_config` shows every setting.

# %%
print(CONFIG.read_text())

# %% [markdown]
# ## `dlref fit`
#
# In a terminal this is `dlref fit --config configs/fcn.yaml` (or `make train`). From Python, the same command is
# `dlref.cli.main([...])`. Here it writes into a temporary folder, not the repository's `runs/`, and
# without the progress bar. By default it trains on the first 6,000 training images (5,000 to train on, 1,000 to
# validate on) for 3 epochs; the test is always on the 10,000 test images.

# %%
args = ["fit", "--config", str(CONFIG), f"--trainer.default_root_dir={RUNS}", "--trainer.enable_progress_bar=false"]
if not FULL:
    args += ["--data.limit=6000", "--data.val_size=1000", "--trainer.max_epochs=3"]
print("$ dlref", " ".join(args))
code = main(args)
assert code == 0, f"dlref fit ended with exit code {code}"

# %% [markdown]
# It printed the network in one line, each epoch's validation accuracy, then where the run is, the test accuracy
# of the best checkpoint, and the figures.
#
# ## What the run folder holds
#
# Every run gets its own folder, `runs/<network>/version_N/` (here under the temporary folder):

# %%
run = RUNS / "fcn" / "version_0"
for path in sorted(run.rglob("*")):
    if path.is_file():
        print(f"{str(path.relative_to(run)):32s} {path.stat().st_size:>12,} bytes")

# %% [markdown]
# * `metrics.csv`: every logged number, one row per epoch and stage (Lightning's `CSVLogger`; TensorBoard's files
#   too when TensorBoard is installed);
# * `config.yaml`: every setting the run used, defaults included: `dlref fit --config …/config.yaml` runs it again;
#   `hparams.yaml`: the model's settings, also stored in every checkpoint;
# * `checkpoints/best.ckpt`: the weights of the epoch with the best validation accuracy, the model the run chose;
#   `checkpoints/last.ckpt`: the latest state, to resume from (`--ckpt_path last`);
# * `fit_finished.json`: written when the fit ended as planned; `--ckpt_path last` passes over such runs;
# * `test_results.jsonl`: every use of the test set, one line each;
# * the figures: learning curves, the confusion matrix, misclassified digits and Figure 1.6.
#
# ### `metrics.csv`

# %%
rows = list(csv.DictReader(open(run / "metrics.csv")))
print(list(rows[0]))
by_epoch = {}
for row in rows:  # a row per stage: merge each epoch's training and validation numbers
    by_epoch.setdefault(int(row["epoch"]), {}).update({k: v for k, v in row.items() if v and "/" in k})
print(f"{'epoch':>5s} {'train/loss':>10s} {'train/acc':>9s} {'val/loss':>9s} {'val/acc':>8s}")
for epoch, m in sorted(by_epoch.items()):
    if "val/acc" in m:
        print(f"{epoch:5d} {float(m.get('train/loss', 'nan')):10.4f} {float(m.get('train/acc', 'nan')):9.2%} "
              f"{float(m['val/loss']):9.4f} {float(m['val/acc']):8.2%}")

# %% [markdown]
# The epoch column counts from 0, as Lightning does; dlref's printed lines count from 1.
#
# ### `config.yaml` and `hparams.yaml`

# %%
config = yaml.safe_load((run / "config.yaml").read_text())
print(yaml.safe_dump({"model": config["model"], "data": config["data"]}, sort_keys=False))
print("hparams.yaml:", yaml.safe_load((run / "hparams.yaml").read_text()))

# %% [markdown]
# ### The checkpoints
#
# A checkpoint is a dictionary saved by `torch.save`. dlref reads them with `torch.load(weights_only=True)`, which
# refuses a file that would run code while loading.

# %%
best = torch.load(run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
print("keys:", sorted(best))
print("saved at the end of epoch", best["epoch"] + 1, "after", best["global_step"], "steps")
for name, tensor in best["state_dict"].items():
    print(f"  {name:24s} {tuple(tensor.shape)}")
last = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
print("last.ckpt: the end of epoch", last["epoch"] + 1, "— with the optimizer's state, to resume:",
      [k for k in ("optimizer_states", "lr_schedulers", "loops") if k in last])

# %% [markdown]
# ### `test_results.jsonl`: the test set, once, on the record

# %%
for line in (run / "test_results.jsonl").read_text().splitlines():
    print(json.loads(line))

# %% [markdown]
# ### The figures

# %%
for name in ("learning_curves", "confusion_matrix", "misclassified", "representations"):
    display(Image(run / f"{name}.png"))

# %% [markdown]
# ## The same model
#
# `Classifier.load_from_checkpoint` rebuilds the module from `best.ckpt`; its `.model` is a plain `dlref.Model`,
# the network of lesson 4. Evaluated with the slide's `evaluate` on the same validation images, it gives the
# validation accuracy that `metrics.csv` logged for the best epoch: Lightning ran the slide's loop, nothing else.

# %%
classifier = Classifier.load_from_checkpoint(run / "checkpoints" / "best.ckpt", map_location="cpu",
                                             weights_only=True)
model = classifier.model
print(type(model).__name__, [type(layer).__name__ for layer in model.layers])

data = MNISTDataModule(**{k: v for k, v in config["data"].items() if k != "data_dir"})  # the run's split
data.setup("fit")
result = dlref.evaluate(model, data.val_dataloader())
logged = float(by_epoch[best["epoch"]]["val/acc"])
print(f"dlref.evaluate on the validation images: {result['accuracy']:.2%}; metrics.csv, epoch {best['epoch'] + 1}: "
      f"{logged:.2%}")
assert abs(result["accuracy"] - logged) < 1e-6

# %% [markdown]
# `scripts/train_scratch.py --model fcn` (`make train-scratch`) runs the same recipe, from the same weights, in the
# plain `dlref.train` loop; `tests/test_train_scratch.py` shows the two match epoch for epoch.
#
# ## Test once
#
# `dlref test` evaluates a chosen checkpoint on the test set. Without `--ckpt_path` it refuses (a model not yet
# chosen on validation must not see the test set); a second test of the same run is allowed, but announced and
# recorded:

# %%
test_args = ["test", "--config", str(CONFIG), "--figures.enabled=false", "--trainer.enable_progress_bar=false"]
print("exit code", main(test_args))
print("exit code", main(test_args + ["--ckpt_path", str(run / "checkpoints" / "best.ckpt")]))
print(len((run / "test_results.jsonl").read_text().splitlines()), "uses of this run's test set on the record")

# %% [markdown]
# Other things the same command does: `--ckpt_path last` resumes the newest run whose fit did not finish
# (stopped, killed or crashed) exactly, into a new `version_N` folder; Ctrl-C stops at the end of a batch after
# saving `last.ckpt`; `--trainer.accelerator=gpu --trainer.devices=2` trains on two GPUs (the site's Reliability and
# Scale-out pages).
#
# ### Your turn: read the run folder
#
# Write `best_epoch(metrics_csv)` that reads a run's `metrics.csv` and returns the epoch, counted from 1 as dlref
# prints them, with the highest `val/acc` — the epoch `best.ckpt` was saved at. (`csv.DictReader` reads the rows
# as dictionaries; the training rows leave `val/acc` empty.)

# %%
def best_epoch(metrics_csv):
    raise NotImplementedError  # your turn: the epoch (from 1) with the highest val/acc


check.best_epoch(best_epoch, run)

# %% [markdown]
# ## Predict your own digit
#
# The Training slide ends with `const model = train(); model.predict(newX)`: the point of training is to
# predict new data. In Python that is two lines: `dlref.load` reads the checkpoint into the slide's `Model`
# (on the CPU, in evaluation mode, weights only), and `dlref.data.digit` brings a picture to MNIST's form —
# grey, ink bright on dark, cropped to the ink, its longer side 20 pixels, centred by its centre of mass in
# 28×28, normalised as the training images were. `predict` returns the logits; their softmax, the probabilities.

# %%
model = dlref.load(run / "checkpoints" / "best.ckpt")
X = dlref.data.digit("../docs/digits/7_palette.gif")  # (1, 1, 28, 28): a 7 drawn dark on light paper
with torch.no_grad():
    print(model.predict(X).softmax(1).numpy().round(3))

# %% [markdown]
# From the command line, `dlref predict` does the same for files, folders or globs, prints a table, and writes
# `predictions.csv` and the deck's Figures 1.5 and 1.6 into the run's own folder (never a new `version_N`).

# %%
main(["predict", "--ckpt_path", str(run / "checkpoints" / "best.ckpt"), "--data.images", "../docs/digits/*",
      "--trainer.enable_progress_bar=false"])
for name in ("predictions", "predictions-layers"):
    display(Image(run / f"{name}.png"))
