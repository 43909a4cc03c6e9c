"""The deck's code snippets, transliterated into Python, in the deck's order, with its names and call shapes.

Each test quotes the slide's pseudocode (as issue 14 and DESIGN.md quote the deck, which is not in
this repository), runs the Python line for line, and checks that it does what the slide says,
usually against dlref's own class. Where
Python or torch must differ from the pseudocode, the comment says so in one line:

- ``new SGD(0.001)`` is ``SGD(0.001)``: Python has no ``new``.
- ``W.mul(X)`` is a matrix product on the slide; in torch that is ``W @ X`` (``torch.mul`` is element-wise).
- ``x > 0 ? x : 0`` is ``x if x > 0 else 0``; ``{accuracy, loss}`` is a dict; ``[train, validation] = …``
  is tuple unpacking.
- ``LossFunction`` stands for the loss the model's output needs: ``cross_entropy_error`` (the slide's
  formula on probabilities) after the slide's softmax, ``cross_entropy`` on logits.
"""

import inspect
import math

import pytest
import torch
from torch.testing import assert_close

import dlref
from dlref.lstm import GATES, LSTMLayer

pytestmark = pytest.mark.usefixtures("one_thread")


def _data(n=96, seed=0):
    """Batches of (X, target) from a learnable 3-class rule on 5 features."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 5, generator=g)
    target = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()
    return [(X[i:i + 16], target[i:i + 16]) for i in range(0, n, 16)]


# ---- Parameterization, Layers: class Layer { W, B, activate; forward(X) = activate(W·X + B) }


def _members(cls) -> dict[str, str]:
    """dlref's own class as it reads: each method's source, with its guard calls (``checks.…``) left out."""
    return {name: "\n".join(line for line in inspect.getsource(getattr(cls, name)).splitlines()
                            if "checks." not in line) for name in vars(cls) if callable(getattr(cls, name, None))}


def test_layers_slide_the_layer_class_and_forward():
    # dlref's Layer is the slide's class: W, B and activate as members, forward(X) = activate(W·X + B).
    members = _members(dlref.Layer)
    assert "self.W = nn.Parameter" in members["__init__"] and "self.B = nn.Parameter" in members["__init__"]
    assert "self.activate = " in members["__init__"]
    assert "return self.activate(X @ self.W.T + self.B)" in members["forward"]  # W·X + B, row by row
    assert len(members["forward"].splitlines()) <= 3  # the slide's one line, and no more
    torch.manual_seed(0)
    ours = dlref.Layer(4, 3, activate=dlref.relu)
    X = torch.randn(4)
    W, B = ours.W.detach(), ours.B.detach()
    assert torch.equal(dlref.relu(W @ X + B), ours.forward(X).detach())  # one example: the slide's W·X + B
    batch = torch.randn(6, 4)  # one example per row: dlref computes X @ W.T + B, the same W·x per row
    assert_close(torch.stack([dlref.relu(W @ x + B) for x in batch]), ours(batch).detach())
    assert W.mul(torch.ones(3, 4)).shape == (3, 4)  # torch's mul: element by element, not W·X


def test_layers_slide_relu_is_x_greater_than_0_then_x_else_0():
    def ReLU(x):
        return x if x > 0 else 0  # ReLU = x > 0 ? x : 0

    xs = [-2.0, -0.5, 0.0, 0.5, 3.0]
    assert dlref.relu(torch.tensor(xs)).tolist() == [ReLU(x) for x in xs]


# ---- Models: model.add(layer1); model.add(layer2); model.add(layer3); Y = model.predict(X)


def test_models_slide_add_layers_and_predict():
    # dlref's Model is the slide's class: a list of layers, add appends, predict applies them in order.
    members = _members(dlref.Model)
    assert "self.layers.append(layer)" in members["add"] and len(members["add"].splitlines()) <= 3
    assert "for layer in self.layers:" in members["forward"] and "Y = layer(Y)" in members["forward"]
    torch.manual_seed(0)
    model = dlref.Model()
    layer1, layer2, layer3 = dlref.Layer(784, 100), dlref.Layer(100, 50), dlref.Layer(50, 10, activate=dlref.softmax)
    for layer in (layer1, layer2, layer3):
        model.add(layer)
    X = torch.rand(784)
    Y = model.predict(X)
    assert list(model.layers) == [layer1, layer2, layer3]
    assert torch.equal(Y, layer3.forward(layer2.forward(layer1.forward(X))))
    assert_close(Y.sum().item(), 1.0)  # the slide's model ends in softmax: probabilities


# ---- Loss function: E = −Σ_k t_k log y_k (cross-entropy), E = ½ Σ_k (y_k − t_k)² (mean squared error)


def test_loss_function_slide_cross_entropy_and_mse_formulas():
    y, t = [0.1, 0.8, 0.1], [0.0, 1.0, 0.0]
    E_ce = -sum(t_k * math.log(y_k) for y_k, t_k in zip(y, t))
    E_mse = 0.5 * sum((y_k - t_k) ** 2 for y_k, t_k in zip(y, t))
    Y, target = torch.tensor(y, dtype=torch.float64), torch.tensor(t, dtype=torch.float64)
    assert dlref.cross_entropy_error(Y, target).item() == pytest.approx(E_ce, rel=1e-12)
    assert dlref.mean_squared_error(Y, target).item() == pytest.approx(E_mse, rel=1e-12)
    # On logits, the stable cross-entropy is the same E of softmax(x).
    x = torch.tensor([0.3, 2.0, -1.0], dtype=torch.float64)
    assert dlref.cross_entropy(x, target).item() == pytest.approx(
        -sum(t_k * math.log(y_k) for y_k, t_k in zip(dlref.softmax(x).tolist(), t)), rel=1e-12)


# ---- Back propagation, Optimizer: optimizer = new SGD(0.001); W = optimizer.update(W, gradients);
#      optimizer.update(model.W, loss); optimizer.update([layer1, layer2, layer3], loss)


def test_optimizer_slide_update_W_gradients_returns_W_minus_eta_gradients():
    optimizer = dlref.SGD(0.001)  # new SGD(0.001)
    W, gradients = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[0.5, -1.0], [2.0, 0.0]])
    W_new = optimizer.update(W, gradients)
    assert torch.equal(W_new, W - 0.001 * gradients)
    assert torch.equal(W, torch.tensor([[1.0, 2.0], [3.0, 4.0]]))  # W itself is left to the caller


def _three_layers(seed=0):
    torch.manual_seed(seed)
    layer1, layer2, layer3 = dlref.Layer(5, 16), dlref.Layer(16, 8), dlref.Layer(8, 3, activate=dlref.softmax)
    model = dlref.Model()
    model.add(layer1), model.add(layer2), model.add(layer3)
    return model, (layer1, layer2, layer3)


@pytest.mark.parametrize("form", ["model.W", "[layer1, layer2, layer3]"])
def test_optimizer_slide_update_with_a_loss_lowers_the_loss(form):
    model, layers = _three_layers()
    optimizer = dlref.SGD(0.5)  # the learning rate alone; the weights come with update
    X, target = (torch.cat(parts) for parts in zip(*_data()))
    LossFunction = dlref.cross_entropy_error  # the slide's model ends in softmax: E on probabilities
    first = LossFunction(model.predict(X), target).item()
    for _ in range(30):
        loss = LossFunction(model.predict(X), target)
        optimizer.update(model.W if form == "model.W" else list(layers), loss)
    assert LossFunction(model.predict(X), target).item() < 0.8 * first


# ---- Training: train(data) { for (X, target) in data: Y = model.predict(X); loss = LossFunction(Y, target);
#      optimizer.update(model.W, loss) }


def test_training_slide_the_train_loop_is_dlref_train():
    model, _ = _three_layers()
    twin, _ = _three_layers()
    optimizer, LossFunction = dlref.SGD(0.5), dlref.cross_entropy_error

    def train(data):  # the slide's function, line for line
        for X, target in data:
            Y = model.predict(X)
            loss = LossFunction(Y, target)
            optimizer.update(model.W, loss)

    train(_data())
    dlref.train(twin, _data(), dlref.cross_entropy_error, dlref.SGD(twin.parameters(), lr=0.5))
    assert all(torch.equal(a, b) for a, b in zip(model.W, twin.W))  # the same steps, bit for bit
    before = dlref.evaluate(model, _data())["loss"]
    for _ in range(10):
        train(_data())
    assert dlref.evaluate(model, _data())["loss"] < 0.8 * before


# ---- Evaluation: evaluate(model, data) → {accuracy, loss}; [train, validation] = split(rawData, 0.8)


def test_evaluation_slide_evaluate_model_data_returns_accuracy_and_loss():
    model, _ = _three_layers()
    result = dlref.evaluate(model, _data())  # the slide's call: no loss named
    X, target = (torch.cat(parts) for parts in zip(*_data()))
    with torch.no_grad():
        Y = model.predict(X)
    assert set(result) == {"accuracy", "loss"}
    assert result["accuracy"] == (Y.argmax(1) == target).sum().item() / len(target)
    assert result["loss"] == pytest.approx(dlref.cross_entropy_error(Y, target).item(), rel=1e-6)


def test_evaluation_slide_split_raw_data_keeps_80_percent_for_training():
    rawData = tuple(torch.cat(parts) for parts in zip(*_data()))  # (X, target), 96 examples
    train, validation = dlref.split(rawData, 0.8)  # [train, validation] = split(rawData, 0.8)
    assert len(train[0]) == round(0.8 * 96) and len(validation[0]) == 96 - round(0.8 * 96)
    assert len(train[0]) > len(validation[0])  # the fraction is the training share


# ---- FCN: Y = W·X + b, the worked example [[1, 2], [3, 4]]·[5, 6] + [7, 8] = [24, 47]


def test_fcn_slide_worked_example_24_47():
    W, X, b = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([5.0, 6.0]), torch.tensor([7.0, 8.0])
    assert (W @ X + b).tolist() == [24.0, 47.0]  # the slide's W·X: a matrix product
    layer = dlref.Layer(2, 2, activate=dlref.identity)
    with torch.no_grad():
        layer.W[:], layer.B[:] = W, b
    assert layer.forward(X).tolist() == [24.0, 47.0]


# ---- CNN: (f*g)(t) = Σ_τ f(τ) g(t − τ); a convolution layer Y = activate(W * X + B)


def test_cnn_slide_convolution_and_the_conv_layer():
    torch.manual_seed(0)
    f, g = [1.0, 2.0, 3.0], [0.0, 1.0, 0.5]
    conv = [sum(f[tau] * g[t - tau] for tau in range(len(f)) if 0 <= t - tau < len(g)) for t in range(5)]
    assert conv == [0.0, 1.0, 2.5, 4.0, 1.5]  # (f*g)(t), discrete: worked by hand
    layer = dlref.ConvLayer(1, 1, 3, activate=dlref.relu)
    X = torch.randn(1, 5, 5)
    Y = layer(X).detach()
    W, B = layer.W.detach()[0, 0], layer.B.detach()[0]
    flipped = W.flip(0, 1)  # the slide's convolution flips the kernel; a learned W absorbs the flip
    by_hand = torch.tensor([[sum(flipped[2 - u, 2 - v] * X[0, y + u, x + v] for u in range(3) for v in range(3))
                             for x in range(3)] for y in range(3)])
    assert_close(Y[0], dlref.relu(by_hand + B))


# ---- RNN: the LSTM. f = σ(x_t W_x^(f) + h_{t−1} W_h^(f) + b^(f)), g = tanh(…), i = σ(…), o = σ(…);
#      c_t = f ⊙ c_{t−1} + i ⊙ g; h_t = o ⊙ tanh(c_t)


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "lstm.py's equations"])
def test_rnn_slide_lstm_gate_equations(fast):
    torch.manual_seed(0)
    layer = LSTMLayer(3, 4, fast=fast).double()
    X = torch.randn(2, 5, 3, dtype=torch.float64)
    W_x, W_h, b = ({k: p[GATES.index(k)] for k in GATES} for p in (layer.W_x, layer.W_h, layer.b))
    h, c = torch.zeros(2, 4, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.float64)
    for t in range(5):
        x_t = X[:, t]
        f = torch.sigmoid(x_t @ W_x["f"] + h @ W_h["f"] + b["f"])
        g = torch.tanh(x_t @ W_x["g"] + h @ W_h["g"] + b["g"])
        i = torch.sigmoid(x_t @ W_x["i"] + h @ W_h["i"] + b["i"])
        o = torch.sigmoid(x_t @ W_x["o"] + h @ W_h["o"] + b["o"])
        c = f * c + i * g  # c_t = f ⊙ c_{t−1} + i ⊙ g
        h = o * torch.tanh(c)  # h_t = o ⊙ tanh(c_t)
    H, (h_T, c_T) = layer(X)
    assert_close((h_T, c_T, H[:, -1]), (h, c, h))
