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
# # Lesson 2 — Training and evaluation
#
# Part 2 of the deck: the **training** loop, run on MNIST's handwritten digits; **evaluation** on data the model
# did not train on; train / validation / test, and why the test set is used once; and the three ways to
# validate — **hold-out**, **K-fold** and **iterated K-fold with shuffling** — with the spread of scores each gives.
#
# It reads MNIST from `$DLREF_DATA_DIR/MNIST/raw/` (see the site's Set-up page; `dlref-download` fetches
# it). By default it uses a few thousand images and runs in well under a minute; set `FULL = True` (or the
# environment variable `DLREF_LESSONS_FULL=1`) for all 60,000.

# %%
import copy
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import Image, display
from torch import nn
from torch.testing import assert_close

import check
import dlref
from dlref import figures
from dlref.data import load_mnist, normalize
from dlref.data.batches import Batches
from dlref.data.split import iterated_kfold, kfold, validation_split

os.environ.setdefault("DLREF_DATA_DIR", "../data")  # MNIST: $DLREF_DATA_DIR, else the repository's data/
FULL = os.environ.get("DLREF_LESSONS_FULL") == "1"  # or FULL = True: every training image, more epochs
N = 60000 if FULL else 6000  # training images used
EPOCHS = 10 if FULL else 4
OUT = Path(tempfile.mkdtemp(prefix="dlref-lesson2-"))  # figures go here, never into the repository

# %% [markdown]
# ## The data: MNIST
#
# 60,000 training and 10,000 test images of handwritten digits, 28×28 grey pixels, each with its label.
# `normalize` scales the pixels with the training set's mean and standard deviation and gives each image a
# channel axis: `(N, 1, 28, 28)`.

# %%
mnist = load_mnist()
images, labels = normalize(mnist.train_images[:N]), mnist.train_labels[:N]
print("training images:", tuple(images.shape), "labels:", tuple(labels.shape), "test images:",
      tuple(mnist.test_images.shape))

fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
for ax, image, label in zip(axes, mnist.train_images, mnist.train_labels):
    ax.imshow(image, cmap="gray_r")
    ax.set_title(int(label))
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Training — the slide's loop
#
# The slide:
#
# ```
# train(data) {
#     for (X, target) in data:
#         Y = model.predict(X)
#         loss = LossFunction(Y, target)
#         optimizer.update(model.W, loss)
# }
# ```
#
# `data` is a sequence of batches: `(X, target)` pairs of 128 images and their labels. `Batches` cuts them from the
# tensors in memory and shuffles the order at every epoch (one pass over the data). The model is the deck's FCN,
# `dlref.networks.fcn()`: 784 pixels → 800 ReLU units → 10 scores. It returns logits, so `LossFunction` is
# `dlref.cross_entropy`, which applies the softmax itself (lesson 1).
#
# First the split. The slide's `[train, validation] = split(rawData, 0.8)` keeps 80% of the examples for training
# and 20% to validate on (seeded, and stratified: every digit keeps its share in both parts).

# %%
(X_train, t_train), (X_val, t_val) = dlref.split((images, labels), 0.8)  # [train, validation] = split(rawData, 0.8)
print(len(X_train), "training and", len(X_val), "validation images")

torch.manual_seed(0)
model = dlref.networks.fcn()
start = copy.deepcopy(model)  # the same starting weights, for the comparisons below
LossFunction = dlref.cross_entropy
optimizer = dlref.SGD(model.parameters(), lr=0.05, momentum=0.9)


def train(data):
    for X, target in data:
        Y = model.predict(X)
        loss = LossFunction(Y, target)
        optimizer.update(model.W, loss)


torch.manual_seed(1)  # dropout's random masks
train(Batches(X_train, t_train, batch_size=128, shuffle=True, seed=0))
print(model)

# %% [markdown]
# `dlref.train(model, data, LossFunction, optimizer)` is that loop (with checks before it starts, and the mean loss
# of each epoch returned). From the same weights, with the same batches and the same dropout masks, it ends with
# the same weights, bit for bit. A plain torch loop with `nn.Sequential`, `F.cross_entropy` and `torch.optim.SGD`
# ends with the same weights too, up to float rounding.

# %%
twin = copy.deepcopy(start)
torch.manual_seed(1)
dlref.train(twin, Batches(X_train, t_train, batch_size=128, shuffle=True, seed=0), dlref.cross_entropy,
            dlref.SGD(twin.parameters(), lr=0.05, momentum=0.9))
assert all(torch.equal(a, b) for a, b in zip(model.W, twin.W))
print("the slide's loop and dlref.train: the same weights, bit for bit")

sequential = nn.Sequential(nn.Flatten(), nn.Linear(784, 800), nn.ReLU(), nn.Dropout(0.2), nn.Linear(800, 10))
with torch.no_grad():
    for ours, linear in zip((start[1], start[3]), (sequential[1], sequential[4])):
        linear.weight.copy_(ours.W)
        linear.bias.copy_(ours.B)
torch_sgd = torch.optim.SGD(sequential.parameters(), lr=0.05, momentum=0.9)
torch.manual_seed(1)
for X, target in Batches(X_train, t_train, batch_size=128, shuffle=True, seed=0):
    torch_sgd.zero_grad()
    F.cross_entropy(sequential(X), target).backward()
    torch_sgd.step()
assert_close(sequential[1].weight, model[1].W, rtol=1e-4, atol=1e-5)
print("a plain torch loop: the same weights, to float rounding")

# %% [markdown]
# ## Evaluation — `evaluate(model, data) → {accuracy, loss}`
#
# The slide:
#
# ```
# evaluate(model, data) → {accuracy, loss}
# ```
#
# The model's answer for an image is the class with the highest score; accuracy is the share of right answers.
# `evaluate` runs the model without dropout and without gradients. On the validation images, which the model never
# trained on, it tells how well the model generalises. Now a few more epochs, evaluating after each.

# %%
history = {"train/loss": [], "val/loss": [], "val/acc": []}
validation = Batches(X_val, t_val, batch_size=1000)


def after_epoch(epoch, train_loss):
    result = dlref.evaluate(model, validation)  # {"accuracy": …, "loss": …}
    history["train/loss"].append(train_loss)
    history["val/loss"].append(result["loss"])
    history["val/acc"].append(result["accuracy"])
    print(f"epoch {epoch + 1}: training loss {train_loss:.4f}, validation loss {result['loss']:.4f}, "
          f"validation accuracy {result['accuracy']:.2%}")


data = Batches(X_train, t_train, batch_size=128, shuffle=True, seed=0)
dlref.train(model, data, LossFunction, optimizer, epochs=EPOCHS, on_epoch_end=after_epoch)
display(Image(figures.learning_curves(history, OUT / "learning_curves.png", "FCN on MNIST: learning curves")))

# %% [markdown]
# ### Your turn: accuracy
#
# Write `accuracy(Y, target)`: `Y` holds one row of 10 scores per image, `target` the right digit of each; return
# the share of images whose highest score is at the right digit, as a number between 0 and 1.

# %%
def accuracy(Y, target):
    raise NotImplementedError  # your turn: the share of rows whose highest score is at the target


check.accuracy(accuracy)

# %% [markdown]
# ## Train, validation, test — and test once
#
# Training data fits the weights; **validation** data chooses everything else (how many epochs, how large a
# model, which learning rate); the **test** data judges the final choice, **once**. Every look at the test set
# that changes a choice leaks information from it into the model: a model tuned until its test score is good has
# a test score that no longer measures how it does on new data.
#
# Here: two learning rates, chosen between on validation; then the chosen model is tested, once.

# %%
candidates = {}
for lr in (0.005, 0.05):
    torch.manual_seed(0)
    candidate = dlref.networks.fcn()
    dlref.train(candidate, Batches(X_train, t_train, 128, shuffle=True, seed=0), dlref.cross_entropy,
                dlref.SGD(candidate.parameters(), lr=lr, momentum=0.9), epochs=2)
    candidates[lr] = (candidate, dlref.evaluate(candidate, validation)["accuracy"])
    print(f"learning rate {lr}: validation accuracy {candidates[lr][1]:.2%}")

chosen = max(candidates, key=lambda lr: candidates[lr][1])
test = Batches(normalize(mnist.test_images), mnist.test_labels, batch_size=1000)
result = dlref.evaluate(candidates[chosen][0], test)  # the test set, used once
print(f"chosen on validation: learning rate {chosen}; test accuracy {result['accuracy']:.2%} "
      f"on {len(mnist.test_labels):,} test images")

# %% [markdown]
# `dlref fit` keeps this rule for you: it chooses the checkpoint with the best validation accuracy, tests it once,
# and records every use of the test set (lesson 5).
#
# ## Hold-out, K-fold, iterated K-fold
#
# A validation score depends on which images happen to be in the validation set. With little data that matters.
# The slide's three schemes, each cutting validation data out of the *training* data (the test set is never part
# of them):
#
# * **hold-out**: one split, one model, one score — quick, but how far off could that one score be?
# * **K-fold**: K disjoint folds; fold k validates a model trained on the other K − 1. K models; the score is their
#   mean, and their spread shows how much one hold-out score can vary.
# * **iterated K-fold with shuffling**: K-fold P times, reshuffling before each: P·K models, for small data.
#
# `dlref.data.split` gives the `(train_idx, val_idx)` index pairs (scikit-learn's splitters, seeded and stratified).
# Every model below is the same small FCN with the same starting weights and recipe, trained on 2,000 images; only
# the data differ.

# %%
N_CV = 10000 if FULL else 2000
EPOCHS_CV = 5 if FULL else 3
X_cv, t_cv = images[:N_CV], labels[:N_CV]


def score(train_idx, val_idx):
    """Train a fresh model on the rows train_idx, validate it on the rows val_idx: (accuracy, per-epoch history)."""
    torch.manual_seed(0)  # the same starting weights for every model
    net = dlref.networks.fcn(hidden=100, dropout=0.0)
    val = Batches(X_cv[val_idx], t_cv[val_idx], batch_size=1000)
    curve = {"val/acc": []}
    dlref.train(net, Batches(X_cv[train_idx], t_cv[train_idx], 64, shuffle=True, seed=0), dlref.cross_entropy,
                dlref.SGD(net.parameters(), lr=0.05, momentum=0.9), epochs=EPOCHS_CV,
                on_epoch_end=lambda epoch, loss: curve["val/acc"].append(dlref.evaluate(net, val)["accuracy"]))
    return curve["val/acc"][-1], curve


holdouts = [score(*validation_split(t_cv, 0.2, seed=seed))[0] for seed in range(5)]
print("hold-out, 5 different 20% splits:", " ".join(f"{a:.2%}" for a in holdouts),
      f"— one hold-out score could be any of these (range {max(holdouts) - min(holdouts):.2%})")

folds = [score(train_idx, val_idx) for train_idx, val_idx in kfold(t_cv, 5)]
fold_acc = [a for a, _ in folds]
print(f"5-fold: {' '.join(f'{a:.2%}' for a in fold_acc)}; "
      f"mean {np.mean(fold_acc):.2%} ± {np.std(fold_acc, ddof=1):.2%}")

iterated = [score(train_idx, val_idx)[0] for train_idx, val_idx in iterated_kfold(t_cv, 5, repeats=3)]
repeats = np.reshape(iterated, (3, 5)).mean(axis=1)
print(f"iterated 5-fold, 3 repeats (15 models): mean {np.mean(iterated):.2%} ± {np.std(iterated, ddof=1):.2%} "
      f"over models; the three repeats' means {' '.join(f'{m:.2%}' for m in repeats)}")

path = figures.fold_scores([h for _, h in folds], fold_acc, OUT / "kfold.png",
                           f"5-fold cross-validation of a small FCN on {N_CV:,} MNIST images")
display(Image(path))

# %% [markdown]
# Each K-fold score is itself an estimate; their standard deviation says how far a single hold-out score can
# land from the mean. Iterated K-fold averages over more splits: the means of its repeats lie closer together than
# single folds do.
#
# ### Why shuffle
#
# K-fold cuts the data into consecutive blocks. If the data is ordered — by class, by the day it was collected —
# each fold is unlike the others. Sorted by label, the unshuffled folds each validate on two or three digits the
# model has hardly seen; shuffled (and stratified), every fold holds every digit:

# %%
sorted_labels = t_cv.sort().values
for shuffle in (False, True):
    pairs = kfold(sorted_labels, 5, stratify=False, shuffle=shuffle)
    digits_per_fold = [sorted(set(sorted_labels[val_idx].tolist())) for _, val_idx in pairs]
    print(f"shuffle={shuffle}:", " | ".join("".join(map(str, d)) for d in digits_per_fold))

# %% [markdown]
# ### Your turn: a K-fold split
#
# Write `kfold_split(n, k)` for `n` examples in their order (no shuffling): return `k` pairs `(train_idx, val_idx)`
# of index lists, where fold `i` validates on the `i`-th block of consecutive examples and trains on all the
# others. When `n` is not a multiple of `k`, do as scikit-learn's `KFold`: the first `n % k` folds get one example
# more.

# %%
def kfold_split(n, k):
    raise NotImplementedError  # your turn: k (train_idx, val_idx) pairs, fold i validating on the i-th block


check.kfold_split(kfold_split)

# %% [markdown]
# ## With Lightning
#
# The same schemes, each fold trained by Lightning with a config's recipe, are one command (the site's Evaluation page):
#
# ```
# dlref-kfold --config configs/fcn.yaml --scheme kfold --folds 5 --limit 10000
# ```
#
# Lesson 3 looks at the curves of a model trained too long on too little data, and what to do about it.
