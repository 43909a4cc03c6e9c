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
# # Lesson 4 — The networks: FCN, CNN, LSTM
#
# Part 4 of the deck: three ways to build a digit classifier from layers.
#
# * the **fully connected network** (FCN): every output of a layer sees every input;
# * the **convolutional network** (CNN): small kernels slide over the image, so a pattern is found wherever it is;
# * the **recurrent network** (an LSTM): the image read as a sequence, one row at a time, with a memory `c_t` that
#   gates decide what to keep, add and show.
#
# For each: the slide's equations beside the code, dlref's layer against torch's, a short training on MNIST, and
# the deck's **Figure 1.6**, "deep representations learned by a digit-classification model": what each layer makes
# of one digit.
#
# The trainings here are short (a few thousand images, a few epochs), so the accuracies are far from the
# measured runs' (the site's Training page); `FULL = True` (or `DLREF_LESSONS_FULL=1`) trains on all the images,
# for a few minutes.

# %%
import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
import yaml
from IPython.display import Image, display
from torch import nn
from torch.testing import assert_close

import check
import dlref
from dlref import figures
from dlref.data import load_mnist, normalize
from dlref.data.batches import Batches
from dlref.lstm import GATES

os.environ.setdefault("DLREF_DATA_DIR", "../data")  # MNIST: $DLREF_DATA_DIR, else the repository's data/
FULL = os.environ.get("DLREF_LESSONS_FULL") == "1"  # or FULL = True: every training image, more epochs
N = 60000 if FULL else 5000  # images: 80% to train on, 20% to validate on
EPOCHS = {"fcn": 5, "cnn": 5, "lstm": 8} if FULL else {"fcn": 2, "cnn": 2, "lstm": 3}
OUT = Path(tempfile.mkdtemp(prefix="dlref-lesson4-"))  # figures go here, never into the repository

mnist = load_mnist()
(X_train, t_train), (X_val, t_val) = dlref.split((normalize(mnist.train_images[:N]), mnist.train_labels[:N]), 0.8)
validation = Batches(X_val, t_val, batch_size=1000)
k = int((t_val == 3).nonzero()[0])  # the first 3 of the validation images
digit, label = X_val[k : k + 1], int(t_val[k])  # the digit every Figure 1.6 below shows


def train(model, optimizer, epochs):
    """A short training with the slide's loop (lesson 2), then the validation accuracy."""
    data = Batches(X_train, t_train, batch_size=128, shuffle=True, seed=0)
    dlref.train(model, data, dlref.cross_entropy, optimizer, epochs=epochs)
    result = dlref.evaluate(model, validation)
    print(f"{len(X_train):,} images, {epochs} epochs: validation accuracy {result['accuracy']:.2%}")


def figure_1_6(model, name):
    """The deck's Figure 1.6 for `model`: the digit, each layer's output, the class scores."""
    path = figures.representations(figures.layer_outputs(model, digit), OUT / f"{name}_representations.png",
                                   f"{name.upper()}: what each layer makes of a validation digit", true=label)
    display(Image(path))

# %% [markdown]
# ## FCN — `Y = W·X + b`
#
# ```
# Y = W·X + b
# [[1, 2], [3, 4]]·[5, 6] + [7, 8] = [24, 47]       (the slide's worked example, lesson 1)
# ```
#
# The deck's FCN flattens the 28×28 image into 784 numbers and passes them through two `Layer`s: 800 ReLU units,
# then 10 scores (logits). Dropout (lesson 3) sits between them. torch's twin is a stack of `nn.Linear`:
# `Layer.from_torch` copies its weights, and the two give the same scores.

# %%
torch.manual_seed(0)
twin = nn.Sequential(nn.Flatten(), nn.Linear(784, 800), nn.ReLU(), nn.Dropout(0.2), nn.Linear(800, 10))
fcn = dlref.Model(dlref.Flatten(), dlref.Layer.from_torch(twin[1], dlref.relu), dlref.Dropout(0.2),
                  dlref.Layer.from_torch(twin[4], dlref.identity))
print(fcn)
print(f"{sum(W.numel() for W in fcn.W):,} weights")
assert_close(fcn.eval()(X_val[:5]), twin.eval()(X_val[:5]))
print("dlref and nn.Sequential: the same scores")
fcn.train()
train(fcn, dlref.SGD(fcn.parameters(), lr=0.05, momentum=0.9), EPOCHS["fcn"])
figure_1_6(fcn, "fcn")

# %% [markdown]
# Figure 1.6 reads left to right: the digit's 784 pixels; the 800 hidden units (drawn as a 25×32 picture: which
# are on, and how strongly); and the softmax of the 10 scores, the model's answer.
#
# ## CNN — convolution
#
# The slide:
#
# ```
# (f*g)(t) = Σ_τ f(τ) g(t − τ)
# Y = activate(W * X + B)             (a convolution layer: * is the convolution)
# ```
#
# One sequence `g` slides, flipped, along the other. In one dimension, by hand and with numpy:

# %%
f, g = [1.0, 2.0, 3.0], [0.0, 1.0, 0.5]
by_hand = [sum(f[tau] * g[t - tau] for tau in range(len(f)) if 0 <= t - tau < len(g)) for t in range(5)]
print("(f*g)(t) by hand:", by_hand)
print("np.convolve:     ", np.convolve(f, g).tolist())

# %% [markdown]
# On an image, the kernel `W` (here 3×3) slides over every position and each output pixel sums the window
# multiplied by the kernel. **What torch computes is cross-correlation**: the kernel is not flipped,
# `Y[y, x] = Σ_{u,v} W[u, v] · X[y + u, x + v]`, where the slide's convolution reads `W[−u, −v]`. Since `W` is
# learned, a network can learn the flipped kernel just as well: the two are the same family of layers. With a
# hand-made kernel that finds vertical edges, on a digit:

# %%
X = X_val[0, 0]  # (28, 28)
W = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])  # Sobel: dark-to-bright, left to right


def correlate(X, W):  # Y[y, x] = Σ_{u,v} W[u, v] · X[y + u, x + v]: what torch and dlref compute
    kh, kw = W.shape
    return torch.tensor([[float((W * X[y : y + kh, x : x + kw]).sum()) for x in range(X.shape[1] - kw + 1)]
                         for y in range(X.shape[0] - kh + 1)])


torch_Y = F.conv2d(X.view(1, 1, 28, 28), W.view(1, 1, 3, 3))[0, 0]
slide_Y = correlate(X, W.flip(0, 1))  # the slide's convolution: the kernel flipped
assert_close(torch_Y, correlate(X, W))
assert_close(F.conv2d(X.view(1, 1, 28, 28), W.flip(0, 1).view(1, 1, 3, 3))[0, 0], slide_Y)
print("F.conv2d = cross-correlation; the slide's convolution = F.conv2d with the kernel flipped")

fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, (title, picture) in zip(axes, [("the digit", X), ("torch's conv2d (cross-correlation)", torch_Y),
                                       ("the slide's convolution (flipped)", slide_Y)]):
    ax.imshow(picture, cmap="gray_r" if title == "the digit" else "RdBu")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# `dlref.ConvLayer` holds `W` `(out_channels, in_channels, kh, kw)` and `B`, and computes `activate(W * X + B)`
# with torch's convolution; `ConvLayer.from_torch` copies an `nn.Conv2d`:

# %%
conv = nn.Conv2d(1, 16, 3, padding=1)
layer = dlref.ConvLayer.from_torch(conv, activate=dlref.relu)
assert_close(layer(X_val[:4]), torch.relu(conv(X_val[:4])))
print(layer, "->", tuple(layer(X_val[:4]).shape), "= (batch, channels, height, width); the same as nn.Conv2d + relu")

# %% [markdown]
# ### Your turn: a 2-D convolution layer's sum
#
# Write `correlate2d(X, W)` for one image `X` `(H, W)` and one kernel `W` `(kh, kw)`, without padding and with
# stride 1: `Y[y, x] = Σ_{u,v} W[u, v] · X[y + u, x + v]`, of shape `(H − kh + 1, W − kw + 1)` — what
# `dlref.ConvLayer` and `F.conv2d` compute — without `F.conv2d` (two loops, or `unfold`).

# %%
def correlate2d(X, W):
    raise NotImplementedError  # your turn: Y[y, x] = Σ_{u,v} W[u, v] · X[y + u, x + v]


check.correlate2d(correlate2d)

# %% [markdown]
# ### The deck's CNN, trained; its feature maps
#
# Two blocks of convolution (16, then 32 kernels of 3×3), max pooling (keep the largest of each 2×2 window, halving
# the image) and ReLU; then a fully connected classifier. The ReLU comes after the pooling: `max` and `ReLU`
# commute, so it is the slide's conv → ReLU → pool, computed on a quarter of the values.

# %%
torch.manual_seed(0)
cnn = dlref.networks.cnn()
print(cnn)
print(f"{sum(W.numel() for W in cnn.W):,} weights")
train(cnn, dlref.SGD(cnn.parameters(), lr=0.05, momentum=0.9), EPOCHS["cnn"])

# %% [markdown]
# The 16 kernels of the first layer, as learned, and the 16 **feature maps** they make of the digit: each map
# lights up where its kernel's pattern is (an edge at some angle, a stroke, the background).

# %%
cnn.eval()
with torch.no_grad():
    maps = torch.relu(cnn[0](digit))[0]  # (16, 28, 28): the first ConvLayer, then ReLU
kernels = cnn[0].W.detach()[:, 0]  # (16, 3, 3)
fig, axes = plt.subplots(2, 16, figsize=(16, 2.4))
for k in range(16):
    axes[0, k].imshow(kernels[k], cmap="RdBu")
    axes[1, k].imshow(maps[k], cmap="magma")
    axes[0, k].axis("off")
    axes[1, k].axis("off")
axes[0, 0].set_title("kernels (top) and feature maps (bottom) of the first layer", loc="left", fontsize=9)
plt.show()
figure_1_6(cnn, "cnn")

# %% [markdown]
# ## RNN — the LSTM
#
# The slide's LSTM cell, for each step `t`, with the input `x_t` and the previous state `h_{t−1}`, `c_{t−1}`:
#
# ```
# f = σ(x_t W_x^(f) + h_{t−1} W_h^(f) + b^(f))        forget gate: what to keep of c_{t−1}
# g = tanh(x_t W_x^(g) + h_{t−1} W_h^(g) + b^(g))     gain: a candidate to add
# i = σ(x_t W_x^(i) + h_{t−1} W_h^(i) + b^(i))        input gate: how much of g to add
# o = σ(x_t W_x^(o) + h_{t−1} W_h^(o) + b^(o))        output gate: how much of the carrier to show
# c_t = f ⊙ c_{t−1} + i ⊙ g                           the carrier (the cell's memory)
# h_t = o ⊙ tanh(c_t)                                 the hidden state, the step's output
# ```
#
# `σ` is the sigmoid (between 0 and 1: a gate), `⊙` multiplies entry by entry. The deck's LSTM network reads an
# image as a sequence of its 28 rows, top to bottom (`dlref.Rows`), and classifies the digit from the last hidden
# state `h_T` (`dlref.LastHidden`). It trains with Adam at the rate of `configs/lstm.yaml`.

# %%
torch.manual_seed(0)
lstm = dlref.networks.lstm()
print(lstm)
lr = yaml.safe_load(Path("../configs/lstm.yaml").read_text())["model"]["lr"]
train(lstm, torch.optim.Adam(lstm.parameters(), lr=lr), EPOCHS["lstm"])

# %% [markdown]
# ### One digit, read row by row
#
# The six equations, written out and run on the digit, with the trained layer's weights: `layer.gate("f")` is
# `(W_x^(f), W_h^(f), b^(f))`. At the end, `h_T` is what `LSTMLayer` returns.

# %%
layer = lstm[1]  # the LSTMLayer
rows = dlref.Rows(28)(digit)  # (1, 28, 28): 28 steps of 28 pixels
h, c = torch.zeros(1, 128), torch.zeros(1, 128)
seen = {name: [] for name in ("f", "g", "i", "o", "c_t", "h_t")}
with torch.no_grad():
    (W_xf, W_hf, b_f), (W_xg, W_hg, b_g), (W_xi, W_hi, b_i), (W_xo, W_ho, b_o) = map(layer.gate, GATES)
    for t in range(28):
        x_t = rows[:, t]
        f = torch.sigmoid(x_t @ W_xf + h @ W_hf + b_f)
        g = torch.tanh(x_t @ W_xg + h @ W_hg + b_g)
        i = torch.sigmoid(x_t @ W_xi + h @ W_hi + b_i)
        o = torch.sigmoid(x_t @ W_xo + h @ W_ho + b_o)
        c = f * c + i * g  # c_t = f ⊙ c_{t−1} + i ⊙ g
        h = o * torch.tanh(c)  # h_t = o ⊙ tanh(c_t)
        for name, value in zip(seen, (f, g, i, o, c, h)):
            seen[name].append(value[0])
    H, (h_T, c_T) = layer(rows)
assert_close(h, h_T)
assert_close(c, c_T)
print("the six equations by hand: the same h_T and c_T as dlref.LSTMLayer")

fig, axes = plt.subplots(1, 7, figsize=(17, 3.4), gridspec_kw={"width_ratios": [1] + [1.15] * 6})
axes[0].imshow(digit[0, 0], cmap="gray_r")
axes[0].set_title(f"the digit ({label}), 28 rows", fontsize=9)
for ax, (name, values) in zip(axes[1:], seen.items()):
    picture = torch.stack(values)[:, :32]  # (28 steps, the first 32 of 128 units)
    ax.imshow(picture, cmap="magma" if name in "fio" else "RdBu", aspect="auto",
              vmin=0 if name in "fio" else None)
    ax.set_title(name, fontsize=10)
    ax.set_xlabel("unit")
axes[1].set_ylabel("step t (row)")
for ax in axes:
    ax.set_xticks([])
plt.show()

# %% [markdown]
# Read each panel from top (row 1) to bottom (row 28). The gates `f`, `i`, `o` lie between 0 (closed, dark) and 1
# (open, bright); `g`, `c_t` and `h_t` are signed (red / blue). Early rows are blank paper, so little changes; the
# carrier `c_t` builds up as the strokes of the digit go by, and `h_t` at the last row is all the classifier sees.
#
# ### dlref's LSTM and torch's
#
# `nn.LSTM` stacks its gates in the order **i, f, g, o**, as 4·hidden rows of `weight_ih_l0`, each the transpose of
# the slide's `W_x^(k)` (torch computes `W x`, the slide `x W`), and it has two bias vectors whose sum is `b`.
# Copying the trained weights across, gate by gate, gives the same `h_t` at every step:

# %%
torch_lstm = nn.LSTM(28, 128, batch_first=True)
order = ("i", "f", "g", "o")  # nn.LSTM's order of the gates
with torch.no_grad():
    for name in GATES:
        W_x, W_h, b = layer.gate(name)
        block = slice(order.index(name) * 128, (order.index(name) + 1) * 128)
        torch_lstm.weight_ih_l0[block] = W_x.T
        torch_lstm.weight_hh_l0[block] = W_h.T
        torch_lstm.bias_ih_l0[block] = b
        torch_lstm.bias_hh_l0[block] = 0
    H_torch, _ = torch_lstm(rows)
assert_close(H, H_torch)
print("nn.LSTM with the same weights: the same h_t at all 28 steps")

# %% [markdown]
# ### Your turn: one LSTM step
#
# Write `lstm_step(x_t, h_prev, c_prev, W_x, W_h, b)` that returns `(h_t, c_t)`: the six equations for one step.
# `x_t` is `(batch, input)`, `h_prev` and `c_prev` are `(batch, hidden)`; `W_x` `(4, input, hidden)`, `W_h`
# `(4, hidden, hidden)` and `b` `(4, hidden)` stack the gates in the slide's order **f, g, i, o**, so `W_x[0]` is
# `W_x^(f)`. The checker compares with `dlref.LSTMLayer` and with torch's `nn.LSTMCell` (which your function may not
# call).

# %%
def lstm_step(x_t, h_prev, c_prev, W_x, W_h, b):
    raise NotImplementedError  # your turn: f, g, i, o, then c_t and h_t


check.lstm_step(lstm_step)

# %% [markdown]
# ### Figure 1.6 for the LSTM
#
# The hidden state `h_t` at every step (28 rows × 128 units), then the class scores from `h_T`.

# %%
figure_1_6(lstm, "lstm")

# %% [markdown]
# ## Which network?
#
# With the configs' full recipes, all three pass 98% on MNIST's test set. The cell below prints the release's
# measured runs from `docs/results.json`, the file the site's table (Training, "Figures from real runs") quotes too. The
# CNN's kernels are shared across the image, so it has a third of the FCN's weights and does best. Lesson 5 trains
# them with Lightning.

# %%
results = json.loads(Path("../docs/results.json").read_text())  # measured once per release, quoted everywhere
for name, run in results["runs"].items():
    print(f"{name}: {run['test_accuracy']:.2%} on the test set ({run['command']}; chosen at epoch {run['best_epoch']},"
          f" validation {run['best_val_accuracy']:.2%})")
print("measured", results["measured"])
