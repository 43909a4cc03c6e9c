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
# # Lesson 1 — How deep learning works
#
# Part 1 of the deck *Deep Learning: An Introduction*: a learning machine, its **layers**, the **model** that
# stacks them, the **loss** that scores it, and the **optimizer** that improves it by **back-propagation**.
#
# Each slide's pseudocode is quoted in a box, and the cells under it run it: the slide's code written out in plain
# Python, dlref's class (`import dlref`), and torch's built-in. They give the same numbers, and the cells check that
# they do.
#
# **How to use this notebook.** Run the cells from top to bottom (Shift-Enter). The **Your turn** cells ask you
# to write a small function; the line under it, `check.…(…)`, compares your function with dlref and torch and
# says what is off: which entry, the number expected and the number found. Solutions are in
# `solutions/lesson1.py`; try first.
#
# This lesson needs no download and runs in a few seconds: its one data set is scikit-learn's bundled 8×8
# digits. The next lessons use MNIST.

# %%
import inspect
import math

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.testing import assert_close

import check  # the checkers of the "Your turn" cells: lessons/check.py, beside this notebook
import dlref

_ = torch.manual_seed(0)  # the same random weights at every run

# %% [markdown]
# ## A learning machine
#
# A deep-learning model maps an input `X` (the pixels of a digit) to a prediction `Y` (a score for each digit
# 0–9) through a stack of **layers**. What each layer does is set by numbers, its **weights** `W` and `B`: the
# model's parameters. Learning is finding the weights that make good predictions:
#
# ```
#   X ──► layer 1 ──► layer 2 ──► layer 3 ──► Y ──► loss(Y, target) ──► score
#          W, B        W, B        W, B                                  │
#           ▲           ▲           ▲                                    │
#           └───────────┴───── optimizer: W ← W − η ∂L/∂W ◄──────────────┘
# ```
#
# The **loss** measures how far `Y` is from the target; the **optimizer** uses that score to change every
# weight a little in the direction that lowers the loss (the gradient `∂L/∂W`, computed by back-propagation).
# Repeat over many examples: that is training.

# %% [markdown]
# ## Layers — `Y = activate(W·X + B)`
#
# The slide:
#
# ```
# class Layer {
#     W, B, activate
#     forward(X) = activate(W·X + B)
# }
# ReLU = x > 0 ? x : 0
# ```
#
# The slide's code writes the forward pass `activate(W.mul(X).add(B))`. In Python, with torch tensors, two things
# differ from the pseudocode: the slide's `W.mul(X)` is a *matrix* product, which torch writes `W @ X` (torch's own
# `mul` multiplies entry by entry), and `x > 0 ? x : 0` is `x if x > 0 else 0`.

# %%
print(inspect.getsource(dlref.Layer.__init__))  # dlref's own class: the slide's W, B and activate
print(inspect.getsource(dlref.Layer.forward))  # forward(X) = activate(W·X + B), one line


def ReLU(x):
    return x if x > 0 else 0  # ReLU = x > 0 ? x : 0, for one number


print([ReLU(x) for x in [-2.0, -0.5, 0.0, 0.5, 3.0]])

# %% [markdown]
# (The `checks.…` lines are the library's door: a wrong size or input gets one sentence saying what to do. They
# are not part of the slide.) The same layer three ways: the slide's formula written out, `dlref.Layer`, and
# torch's `nn.Linear` followed by `torch.relu`. `dlref.Layer` stores `W` as `(out, in)`, like `nn.Linear.weight`,
# so one set of weights serves all three.

# %%
ours = dlref.Layer(4, 3, activate=dlref.relu)  # 4 inputs, 3 outputs
W, B = ours.W.detach(), ours.B.detach()
twin = nn.Linear(4, 3)
with torch.no_grad():
    twin.weight.copy_(ours.W)
    twin.bias.copy_(ours.B)

X = torch.randn(4)
print("the slide's formula:", dlref.relu(W @ X + B))  # activate(W·X + B)
print("dlref.Layer:        ", ours.forward(X).detach())
print("nn.Linear + relu:   ", torch.relu(twin(X)).detach())
assert_close(ours.forward(X), torch.relu(twin(X)))

# %% [markdown]
# A batch holds one example per row, `X` of shape `(batch, in)`. Then `W·x` for every row `x` is `X @ W.T`, which
# is what `dlref.Layer` computes: the same formula, row by row.

# %%
batch = torch.randn(6, 4)
row_by_row = torch.stack([dlref.relu(W @ x + B) for x in batch])
assert_close(ours(batch).detach(), row_by_row)
print(ours(batch).shape, "= (batch, out)")
print("torch's W.mul is entry by entry, not W·X:", W.mul(torch.ones(3, 4)).shape)

# %% [markdown]
# ### Your turn: ReLU on a tensor
#
# Write `relu(x)` for a tensor `x` of any shape: `x > 0 ? x : 0` for every entry, without `torch.relu` or
# `dlref.relu`. The one-number `ReLU` above will not do: Python's `if` decides once for the whole tensor.

# %%
def relu(x):
    raise NotImplementedError  # your turn: x > 0 ? x : 0, entry by entry


check.relu(relu)

# %% [markdown]
# ## The FCN slide's worked example — `[[1, 2], [3, 4]]·[5, 6] + [7, 8] = [24, 47]`
#
# ```
# Y = W·X + b
#   = [[1, 2], [3, 4]]·[5, 6] + [7, 8]
#   = [1·5 + 2·6 + 7, 3·5 + 4·6 + 8] = [24, 47]
# ```
#
# By hand in Python, with torch, with `dlref.Layer` (the slide's class) and with `nn.Linear`, all given the
# slide's weights. The identity activation leaves `W·X + b` as it is.

# %%
W_list, X_list, b_list = [[1, 2], [3, 4]], [5, 6], [7, 8]
by_hand = [sum(W_list[j][i] * X_list[i] for i in range(2)) + b_list[j] for j in range(2)]

W, X, b = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([5.0, 6.0]), torch.tensor([7.0, 8.0])
layer = dlref.Layer(2, 2, activate=dlref.identity)
linear = nn.Linear(2, 2)
with torch.no_grad():  # the slide's weights, written in by hand
    layer.W[:], layer.B[:] = W, b
    linear.weight[:], linear.bias[:] = W, b

print("by hand:          ", by_hand)
print("torch, W @ X + b: ", (W @ X + b).tolist())
print("dlref.Layer:      ", layer.forward(X).tolist())
print("nn.Linear:        ", linear(X).tolist())
print("W.mul(X) in torch is entry by entry:", W.mul(X).tolist())

# %% [markdown]
# ### Your turn: a layer's forward
#
# Write `layer_forward(W, B, X, activate)` that returns `activate(W·X + B)`: for one example `X` of shape `(in,)`,
# and for a batch `X` of shape `(batch, in)` with one example per row. `W` is `(out, in)`, `B` is `(out,)`.

# %%
def layer_forward(W, B, X, activate):
    raise NotImplementedError  # your turn: Y = activate(W·X + B), for one example and for a batch


check.layer_forward(layer_forward)

# %% [markdown]
# ## Models — `model.add(layer)`, `Y = model.predict(X)`
#
# The slide:
#
# ```
# model.add(layer1)
# model.add(layer2)
# model.add(layer3)
# Y = model.predict(X)          // = layer3.forward(layer2.forward(layer1.forward(X)))
# ```
#
# A model is a list of layers applied in order. The slide's model ends in a softmax, so `Y` holds probabilities:
# one per class, summing to 1. Our input is a real digit: scikit-learn's 8×8 digits, 64 pixels each.

# %%
digits = load_digits()
images = torch.tensor(digits.images, dtype=torch.float32).flatten(1) / 16  # (1797, 64), pixels 0..1
labels = torch.tensor(digits.target)
print(images.shape, labels.shape, "first label:", int(labels[0]))
print("\n".join("".join(" #"[int(v > 0.3)] for v in row) for row in images[0].view(8, 8)))  # the digit, as text


print(inspect.getsource(dlref.Model.add))  # dlref's own Model: the slide's model.add(layer) …
print(inspect.getsource(dlref.Model.forward))  # … and predict(X) = layer3(layer2(layer1(X))), as model.predict(X)

torch.manual_seed(0)
model = dlref.Model()
layer1, layer2, layer3 = dlref.Layer(64, 32), dlref.Layer(32, 16), dlref.Layer(16, 10, activate=dlref.softmax)
model.add(layer1)
model.add(layer2)
model.add(layer3)

X = images[0]
Y = model.predict(X)
print("dlref.Model:      ", Y.detach().numpy().round(3), "sum", round(Y.sum().item(), 4))
print("layer by layer:   ", layer3.forward(layer2.forward(layer1.forward(X))).detach().numpy().round(3))
assert torch.equal(Y, layer3.forward(layer2.forward(layer1.forward(X))))

# %% [markdown]
# torch's twin is `nn.Sequential`. Copying dlref's weights into `nn.Linear` layers gives the same
# probabilities. `model.W` is the slide's "the model's weights": every `W` and `B`, layer by layer.

# %%
sequential = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10),
                           nn.Softmax(dim=-1))
with torch.no_grad():
    for lay, lin in zip((layer1, layer2, layer3), sequential[::2]):
        lin.weight.copy_(lay.W)
        lin.bias.copy_(lay.B)
assert_close(sequential(X), Y)
print("nn.Sequential:    ", sequential(X).detach().numpy().round(3))
print("model.W:", [tuple(w.shape) for w in model.W])
print("the untrained model's guess:", int(Y.argmax()), "(the digit is", int(labels[0]), ")")

# %% [markdown]
# ## The loss — cross-entropy and mean squared error
#
# The slide:
#
# ```
# E = −Σ_k t_k log y_k          (cross-entropy)
# E = ½ Σ_k (y_k − t_k)²        (mean squared error)
# ```
#
# `y` is the model's probabilities, `t` the target as one-hot (1 for the right class, 0 elsewhere), `k` runs over
# the classes. By hand, with dlref, with torch: the same numbers.

# %%
y, t = [0.1, 0.8, 0.1], [0.0, 1.0, 0.0]
E_ce = -sum(t_k * math.log(y_k) for y_k, t_k in zip(y, t))
E_mse = 0.5 * sum((y_k - t_k) ** 2 for y_k, t_k in zip(y, t))
Y3, T3 = torch.tensor([y]), torch.tensor([t])  # a batch of one
rows = [
    ("by hand", E_ce, E_mse),
    ("dlref", dlref.cross_entropy_error(Y3, T3).item(), dlref.mean_squared_error(Y3, T3).item()),
    ("torch", F.nll_loss(torch.log(Y3), T3.argmax(1)).item(), 0.5 * F.mse_loss(Y3, T3, reduction="sum").item()),
]
print(f"{'':8s} {'cross-entropy':>14s} {'MSE':>8s}")
for name, ce, mse in rows:
    print(f"{name:8s} {ce:14.6f} {mse:8.4f}")

# %% [markdown]
# On a batch both are averaged over the examples. Targets can also be given as class indices (`1` instead of
# `[0, 1, 0]`).
#
# **Why networks return logits.** `log y_k` is `−inf` once a probability underflows to 0. So dlref's networks end
# without the softmax (their output is *logits* `x`), and train with `dlref.cross_entropy(x, t)`, which computes
# `log softmax(x)` with the log-sum-exp trick and never takes the log of 0. It is torch's `F.cross_entropy`.
# Where both are finite they agree:

# %%
logits = torch.tensor([[2.0, 1.0, -1.0], [0.5, 3.0, 0.0]])
targets = torch.tensor([0, 1])
print("the slide's formula on softmax(x):", dlref.cross_entropy_error(dlref.softmax(logits), targets).item())
print("dlref.cross_entropy(x, t):        ", dlref.cross_entropy(logits, targets).item())
print("F.cross_entropy(x, t):            ", F.cross_entropy(logits, targets).item())
far = torch.tensor([[200.0, 0.0, -200.0]])  # a confident, wrong prediction for class 2
print("far from the target:", dlref.cross_entropy_error(dlref.softmax(far), torch.tensor([2])).item(), "vs",
      dlref.cross_entropy(far, torch.tensor([2])).item())

# %% [markdown]
# ### Your turn: cross-entropy, and mean squared error
#
# Write `cross_entropy(y, t)` (the slide's `E = −Σ_k t_k log y_k` on probabilities `y`, one-hot `t`) and
# `mean_squared_error(y, t)` (`E = ½ Σ_k (y_k − t_k)²`). Each takes one example, vectors of shape `(classes,)`,
# or a batch `(batch, classes)`, and returns the mean over the batch.

# %%
def cross_entropy(y, t):
    raise NotImplementedError  # your turn: E = −Σ_k t_k log y_k, the mean over a batch


def mean_squared_error(y, t):
    raise NotImplementedError  # your turn: E = ½ Σ_k (y_k − t_k)², the mean over a batch


print(check.cross_entropy(cross_entropy))
check.mean_squared_error(mean_squared_error)

# %% [markdown]
# ## The optimizer and back-propagation — `W ← W − η ∂L/∂W`
#
# The slide:
#
# ```
# optimizer = new SGD(0.001)
# W = optimizer.update(W, gradients)                 // W ← W − η ∂L/∂W
# optimizer.update(model.W, loss)
# optimizer.update([layer1, layer2, layer3], loss)
# ```
#
# `η` (eta) is the learning rate. `∂L/∂W`, the gradient of the loss with respect to each weight, says how the loss
# changes when that weight grows; stepping against it lowers the loss. **Back-propagation** computes it for every
# weight with the chain rule, from the loss back through the layers.
#
# Python has no `new`: `SGD(0.001)`. First the rule alone: `update(W, gradients)` returns `W − η·gradients`.

# %%
optimizer = dlref.SGD(0.001)  # new SGD(0.001)
W, gradients = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[0.5, -1.0], [2.0, 0.0]])
W = optimizer.update(W, gradients)  # W = optimizer.update(W, gradients)
print(W)

# %% [markdown]
# ### One step on a tiny example: by hand, with `dlref.SGD`, with `torch.optim.SGD`
#
# Take the FCN slide's layer (`W = [[1, 2], [3, 4]]`, `B = [7, 8]`, identity), the input `X = [5, 6]` and the
# target `T = [20, 50]`, with the squared error `E = ½ Σ_k (y_k − t_k)²`:
#
# ```
# Y       = W·X + B            = [24, 47]
# E       = ½((24−20)² + (47−50)²) = ½(16 + 9) = 12.5
# ∂E/∂Y   = Y − T              = [4, −3]
# ∂E/∂W   = (Y − T) Xᵀ         = [[4·5, 4·6], [−3·5, −3·6]] = [[20, 24], [−15, −18]]
# ∂E/∂B   = Y − T              = [4, −3]
# W ← W − η ∂E/∂W, with η = 0.01:  [[1 − 0.2, 2 − 0.24], [3 + 0.15, 4 + 0.18]] = [[0.8, 1.76], [3.15, 4.18]]
# ```
#
# Then the same step three ways. In dlref it is the slide's call, `optimizer.update(layer, loss)`: back-propagate
# the loss to the layer's weights, then step. In torch it is `zero_grad`, `backward`, `step`.

# %%
X, T, eta = torch.tensor([5.0, 6.0]), torch.tensor([20.0, 50.0]), 0.01
W0, B0 = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([7.0, 8.0])

Y = W0 @ X + B0
delta = Y - T  # ∂E/∂Y
by_hand = W0 - eta * torch.outer(delta, X), B0 - eta * delta

layer = dlref.Layer(2, 2, activate=dlref.identity)
with torch.no_grad():
    layer.W[:], layer.B[:] = W0, B0
loss = dlref.mean_squared_error(layer(X), T)
print("E =", loss.item())
dlref.SGD(eta).update(layer, loss)  # back-propagation, then W ← W − η ∂E/∂W

linear = nn.Linear(2, 2)
with torch.no_grad():
    linear.weight[:], linear.bias[:] = W0, B0
torch_sgd = torch.optim.SGD(linear.parameters(), lr=eta)
torch_sgd.zero_grad()
(0.5 * F.mse_loss(linear(X), T, reduction="sum")).backward()
print("∂E/∂W by autograd:", linear.weight.grad.tolist())
torch_sgd.step()

print("W by hand:            ", by_hand[0].numpy().round(4).tolist())
print("W by dlref.SGD:       ", layer.W.detach().numpy().round(4).tolist())
print("W by torch.optim.SGD: ", linear.weight.detach().numpy().round(4).tolist())
assert torch.equal(layer.W.detach(), linear.weight.detach()) and torch.equal(layer.B.detach(), linear.bias.detach())
assert_close(layer.W.detach(), by_hand[0])
assert_close(layer.B.detach(), by_hand[1])

# %% [markdown]
# ### A learning machine at work
#
# The slide's three-layer model on the 8×8 digits (1,500 for training, the rest to check on), with the slide's
# `optimizer.update(model.W, loss)` — or, the same thing, `optimizer.update([layer1, layer2, layer3], loss)` —
# repeated. The model ends in a softmax, so the loss is the slide's cross-entropy on probabilities. Beside it,
# torch's twin from the same starting weights: `nn.Sequential`, `F.cross_entropy` (the softmax inside the loss)
# and `torch.optim.SGD`. Both run in float64 here, so that 200 steps later they still agree to many digits
# (in float32 the last bits differ from the first step on, and 200 steps make that visible).

# %%
model.double()
X_train, t_train = images[:1500].double(), labels[:1500]
X_check, t_check = images[1500:].double(), labels[1500:]
sequential = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10)).double()
with torch.no_grad():  # torch's twin starts from the same weights
    for lay, lin in zip((layer1, layer2, layer3), sequential[::2]):
        lin.weight.copy_(lay.W)
        lin.bias.copy_(lay.B)

optimizer = dlref.SGD(0.5)
torch_sgd = torch.optim.SGD(sequential.parameters(), lr=0.5)
for step in range(1, 201):
    loss = dlref.cross_entropy_error(model.predict(X_train), t_train)
    if step % 2:
        optimizer.update(model.W, loss)
    else:
        optimizer.update([layer1, layer2, layer3], loss)  # the same weights, named layer by layer
    torch_sgd.zero_grad()
    F.cross_entropy(sequential(X_train), t_train).backward()
    torch_sgd.step()
    if step in (1, 10, 50, 100, 200):
        accuracy = (model.predict(X_check).argmax(1) == t_check).double().mean().item()
        print(f"step {step:3d}: loss {loss.item():.4f}, accuracy on the {len(t_check)} other digits {accuracy:.1%}")

difference = (model.predict(X_check) - torch.softmax(sequential(X_check), dim=1)).abs().max().item()
print(f"dlref's model and torch's twin after 200 steps: probabilities differ by at most {difference:.1e}")
assert difference < 1e-8

# %% [markdown]
# ### Your turn: the SGD update, and back-propagation by hand
#
# 1. `sgd_update(W, gradients, eta)`: the slide's `W ← W − η·gradients`, returned as a new tensor (leave `W` as it
#    is, as `optimizer.update(W, gradients)` does).
# 2. `gradients(X, T, W, B)`: for a batch `X` `(batch, in)`, targets `T` `(batch, out)`, a layer `Y = X @ W.T + B`
#    without activation, and the loss `E` = the batch mean of `½ Σ_k (y_k − t_k)²`, return `(∂E/∂W, ∂E/∂B)`
#    computed by hand (no `backward`). Hint: follow the tiny example above, one row at a time, then average.

# %%
def sgd_update(W, gradients, eta):
    raise NotImplementedError  # your turn: W − η·gradients, as a new tensor


def gradients(X, T, W, B):
    raise NotImplementedError  # your turn: (∂E/∂W, ∂E/∂B) by the chain rule


print(check.sgd_update(sgd_update))
check.gradients(gradients)

# %% [markdown]
# ## What's next
#
# Lesson 2 trains on MNIST with the slide's `train` loop and asks the question that matters: how well does the
# model do on digits it has never seen?
