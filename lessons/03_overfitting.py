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
# # Lesson 3 — Overfitting and underfitting
#
# Part 3 of the deck. Training is **optimisation**: lowering the loss on the training data. What we want is
# **generalisation**: a low loss on data the model has never seen. At first the two go together. Then, on a
# small training set, a large model starts to learn the accidents of its training images — their noise — and the
# validation loss turns up while the training loss keeps falling: **overfitting**. A model too small to fit even
# its training data **underfits**.
#
# The remedies from the slide, each tried on the same overfitting model and drawn on the same axes: **more data**,
# **L2 regularisation** (weight decay), **dropout**, and **early stopping**.
#
# MNIST from `$DLREF_DATA_DIR`. The default sizes run in well under a minute; `FULL = True` (or
# `DLREF_LESSONS_FULL=1`) runs the study's full sizes, as `dlref-overfit` does (a few minutes).

# %%
import copy
import os
import tempfile
from pathlib import Path

import torch
import yaml
from IPython.display import Image, display
from torch import nn
from torch.testing import assert_close

import check
import dlref
from dlref import figures
from dlref.data import load_mnist, normalize
from dlref.data.batches import Batches
from dlref.data.split import validation_split

os.environ.setdefault("DLREF_DATA_DIR", "../data")  # MNIST: $DLREF_DATA_DIR, else the repository's data/
FULL = os.environ.get("DLREF_LESSONS_FULL") == "1"  # or FULL = True: the study's sizes (minutes)
OUT = Path(tempfile.mkdtemp(prefix="dlref-lesson3-"))  # figures go here, never into the repository

# %% [markdown]
# ## The recipe
#
# The study's recipe is `configs/overfit.yaml`, the file `dlref-overfit` reads: the large FCN 784-800-10 without
# dropout, trained with the slide's plain rule `W ← W − η ∂L/∂W` (no momentum). The lesson reads its numbers from
# there rather than typing them again; by default it trains for fewer epochs on fewer validation images.

# %%
recipe = yaml.safe_load(Path("../configs/overfit.yaml").read_text())
print(yaml.safe_dump(recipe, sort_keys=False))
LR, MOMENTUM = recipe["model"]["lr"], recipe["model"]["momentum"]
HIDDEN = recipe["model"]["network_kwargs"]["hidden"]
BATCH = recipe["data"]["batch_size"]
EPOCHS = recipe["trainer"]["max_epochs"] if FULL else 30
SMALL, MORE = (1000, 10000) if FULL else (1000, 3000)  # training images: the small set, and "more data"
N_VAL = 5000 if FULL else 2000  # validation images, the same for every run

mnist = load_mnist()
images, labels = normalize(mnist.train_images), mnist.train_labels
train_pool, val_idx = validation_split(labels, N_VAL, seed=0)  # validation images held out once, for every run
order = train_pool[torch.randperm(len(train_pool), generator=torch.Generator().manual_seed(0))]
validation = Batches(images[val_idx], labels[val_idx], batch_size=1000)
print(f"{EPOCHS} epochs; {SMALL:,} training images (and {MORE:,} for 'more data'); {N_VAL:,} validation images")

# %% [markdown]
# One function trains a model and records, after every epoch, the training loss and accuracy and the validation
# loss and accuracy. The training images are the first `n` of one shuffled order, so the 1,000 images are part of
# the 3,000. With `patience`, it stops once the validation loss has not improved for that many epochs, and puts back
# the weights of the best epoch: early stopping.

# %%
def fit(n, hidden=HIDDEN, dropout=0.0, weight_decay=0.0, patience=None):
    torch.manual_seed(0)  # the same starting weights for every run of the same size
    model = dlref.networks.fcn(hidden=hidden, dropout=dropout)
    optimizer = dlref.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=weight_decay)
    rows = order[:n].sort().values
    data = Batches(images[rows], labels[rows], batch_size=BATCH, shuffle=True, seed=0)
    seen = Batches(images[rows], labels[rows], batch_size=1000)
    history = {"train/loss": [], "train/acc": [], "val/loss": [], "val/acc": []}
    best, waited = (float("inf"), None), 0
    for epoch in range(EPOCHS):
        dlref.train(model, data, dlref.cross_entropy, optimizer)  # one epoch
        for stage, batches in (("train", seen), ("val", validation)):
            result = dlref.evaluate(model, batches)
            history[f"{stage}/loss"].append(result["loss"])
            history[f"{stage}/acc"].append(result["accuracy"])
        if patience is not None:
            if history["val/loss"][-1] < best[0]:
                best, waited = (history["val/loss"][-1], copy.deepcopy(model.state_dict())), 0
            else:
                waited += 1
            if waited >= patience:
                history["stopped_epoch"] = epoch + 1
                model.load_state_dict(best[1])  # the weights of the lowest validation loss
                break
    return history


def summary(name, h):
    best = min(range(len(h["val/loss"])), key=h["val/loss"].__getitem__)
    print(f"{name:32s} lowest validation loss {h['val/loss'][best]:.3f} at epoch {best + 1:2d}, "
          f"last {h['val/loss'][-1]:.3f} (epoch {len(h['val/loss'])}); training loss {h['train/loss'][-1]:.3f}; "
          f"accuracy {h['train/acc'][-1]:.1%} training, {h['val/acc'][-1]:.1%} validation")

# %% [markdown]
# ## Overfitting and underfitting
#
# The large FCN (784-800-10) on 1,000 images, and a far too small one (784-2-10: each image squeezed into two
# numbers) on the same images.

# %%
runs = {"overfitting": fit(SMALL), "underfitting": fit(SMALL, hidden=2)}
for name, h in runs.items():
    summary(name, h)
path = figures.fitting_curves(
    {f"Overfitting: FCN 784-{HIDDEN}-10, {SMALL:,} images": runs["overfitting"],
     f"Underfitting: FCN 784-2-10, {SMALL:,} images": runs["underfitting"]},
    OUT / "overfitting.png", f"Overfitting and underfitting on MNIST ({N_VAL:,} validation images)")
display(Image(path))

# %% [markdown]
# Left: the training loss keeps falling toward 0 (every training image right) while the validation loss reaches its
# lowest point after a few epochs and then rises: from there on, the model learns its 1,000 images rather than
# digits. Right: the small model cannot even fit its training images: its training loss stays high. The fix
# for underfitting is a larger model; the fixes for overfitting follow.
#
# ## The remedies, on the same axes
#
# Each run changes one thing in the overfitting run:
#
# * **more data**: 3,000 training images instead of 1,000 (10,000 with `FULL`);
# * **L2 regularisation**: add `λ/2 · Σ ‖W‖²` to the loss, which pulls every weight toward 0. Its gradient is `λ·W`,
#   so it is SGD's `weight_decay=λ`: `dlref.SGD(…, weight_decay=λ)`;
# * **dropout**: during training, drop each of the 800 hidden units at random with probability p;
# * **early stopping**: stop when the validation loss has not improved for a few epochs.
#
# Try other values of λ, p and the patience.

# %%
WEIGHT_DECAY, DROPOUT, PATIENCE = 0.01, 0.5, 5
runs["more data"] = fit(MORE)
runs["weight decay"] = fit(SMALL, weight_decay=WEIGHT_DECAY)
runs["dropout"] = fit(SMALL, dropout=DROPOUT)
runs["early stopping"] = fit(SMALL, patience=PATIENCE)
labels_of = {"overfitting": f"none: FCN 784-{HIDDEN}-10, {SMALL:,} images", "more data": f"more data: {MORE:,} images",
             "weight decay": f"L2 weight decay λ={WEIGHT_DECAY:g}", "dropout": f"dropout p={DROPOUT:g}",
             "early stopping": f"early stopping (patience {PATIENCE})"}
for name in labels_of:
    summary(name, runs[name])
path = figures.compare_curves({labels_of[name]: runs[name] for name in labels_of}, OUT / "remedies.png",
                              f"Remedies for overfitting: FCN 784-{HIDDEN}-10 on {SMALL:,} images, and each change")
display(Image(path))

# %% [markdown]
# More data is the strongest remedy: the same model, shown more digits, ends far lower. Weight
# decay keeps the validation loss from climbing; dropout lowers and delays its minimum; early stopping keeps the
# weights from before the climb (its curve shows the epochs it ran, up to the ✖; the model it returns has the weights
# of the lowest validation loss). Lightning's `EarlyStopping` only stops: pair it with a checkpoint on `val/loss`
# to keep the best weights.
#
# ## L2 regularisation is weight decay
#
# Adding `λ/2 · Σ ‖W‖²` to the loss adds `λ·W` to each gradient, which is what `weight_decay=λ` adds in
# `dlref.SGD` and `torch.optim.SGD`. Two copies of one model, 20 steps each: one with the penalty in its loss, one
# with weight decay in its optimizer. They end with the same weights.

# %%
lam = 0.01
torch.manual_seed(0)
penalised = dlref.networks.fcn(hidden=64, dropout=0.0)
decayed = copy.deepcopy(penalised)
rows = order[:256]
X, t = images[rows], labels[rows]
sgd = dlref.SGD(penalised.parameters(), lr=LR)
sgd_decay = dlref.SGD(decayed.parameters(), lr=LR, weight_decay=lam)
for _ in range(20):
    penalty = lam / 2 * sum((W**2).sum() for W in penalised.W)
    sgd.update(penalised.W, dlref.cross_entropy(penalised(X), t) + penalty)
    sgd_decay.update(decayed.W, dlref.cross_entropy(decayed(X), t))
for a, b in zip(penalised.W, decayed.W):
    assert_close(a, b)
print("loss + λ/2·Σ‖W‖² and weight_decay=λ: the same weights after 20 steps")

# %% [markdown]
# ### Your turn: the L2 penalty
#
# Write `l2_penalty(weights, lam)` that returns `λ/2 · Σ ‖W‖²` over a list of tensors `weights` (`‖W‖²` is the sum
# of the squares of W's entries), as a tensor that carries gradients. The checker also checks that its gradient is
# weight decay's `λ·W`.

# %%
def l2_penalty(weights, lam):
    raise NotImplementedError  # your turn: λ/2 · Σ ‖W‖², a tensor with gradients


check.l2_penalty(l2_penalty)

# %% [markdown]
# ## Dropout
#
# In training, each unit is kept with probability `1 − p` and dropped (set to 0) otherwise, and what is kept is
# scaled by `1/(1 − p)`, so that each unit's expected value is unchanged ("inverted" dropout). In evaluation nothing
# is dropped: `evaluate` switches the model to `eval()` mode. `dlref.Dropout` draws its mask the way torch's
# `nn.Dropout` does, so with the same seed they drop the same units:

# %%
X = torch.ones(2, 8)
torch.manual_seed(3)
ours = dlref.Dropout(0.5)(X)
torch.manual_seed(3)
theirs = nn.Dropout(0.5)(X)
print(ours)
assert torch.equal(ours, theirs)
print("nn.Dropout, same seed: the same tensor;  in eval mode:", dlref.Dropout(0.5).eval()(X)[0].tolist())

# %% [markdown]
# ### Your turn: dropout
#
# Write `dropout(X, p, training)`: with `training` true, set each entry to 0 with probability `p` and scale the
# others by `1/(1 − p)`; with `training` false, return `X` as it is — without `F.dropout`, `nn.Dropout` or
# `dlref.Dropout`. (Hint: `torch.rand_like(X)` gives uniform random numbers in [0, 1).) Random masks differ from
# run to run, so the checker checks the rule every mask must follow, which dlref's and torch's dropout follow too.

# %%
def dropout(X, p, training):
    raise NotImplementedError  # your turn: inverted dropout


check.dropout(dropout)

# %% [markdown]
# ## The full study
#
# `dlref-overfit` runs these six runs with Lightning at the study's sizes (60 epochs, 5,000 validation images)
# and writes `overfitting.png` and `remedies.png`; the site's Evaluation page shows them. Lesson 4
# looks inside the three networks of the deck.
