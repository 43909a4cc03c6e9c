"""The checkers of the lessons' "your turn" cells: one call compares your function with dlref and torch.

    import check
    check.relu(relu)        # in lesson 1, after you wrote relu(x)

Each checker calls your function on small inputs, computes the same thing with dlref and with torch
(which must agree with each other), and answers in one ``Verdict``: right, not written yet, or what is
off — which entry, the number expected and the number found, and, for the usual mistakes, what to
change. A verdict is true when the answer is right, and a notebook shows its message.
The solutions are in ``solutions/``; ``tests/test_lesson_checkers.py`` checks that each passes its
checker and that typical wrong answers are caught with a message that says what is off.
"""

import csv
import functools
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import KFold
from torch import nn
from torch.testing import assert_close
from torchmetrics.functional.classification import multiclass_accuracy

import dlref
from dlref.data.split import kfold as dlref_kfold
from dlref.lstm import GATES, LSTMLayer

RIGHT, WRONG, NOT_WRITTEN = "✔", "✘", "…"


class Verdict:
    """A checker's answer: true when right; ``message`` says what it found."""

    def __init__(self, exercise: str, passed: bool, message: str, written: bool = True):
        self.exercise, self.passed, self.message, self.written = exercise, passed, message, written

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:  # what a notebook shows for the cell's last line
        return self.message

    __str__ = __repr__


class _OffError(Exception):
    """Raised inside a checker to stop at the first thing found off."""

    def __init__(self, message: str, written: bool = True):
        super().__init__(message)
        self.message, self.written = message, written


def _exercise(name: str, lesson: int):
    """A checker body (it raises ``_OffError``, or returns what it compared) made a function that returns a Verdict."""

    def decorate(body):
        @functools.wraps(body)
        def checker(fn, *args, **kwargs) -> Verdict:
            if not callable(fn):
                return Verdict(name, False, f"{WRONG} {name}: expected your function, found {type(fn).__name__}; "
                                            f"pass the function itself, e.g. check.{body.__name__}({name}).")
            try:
                compared = body(fn, *args, **kwargs)
            except _OffError as off:
                if not off.written:
                    return Verdict(name, False, f"{NOT_WRITTEN} {name}: not written yet. Replace `raise "
                                                f"NotImplementedError` with your code and run the cell again "
                                                f"(a solution: lessons/solutions/lesson{lesson}.py).", written=False)
                return Verdict(name, False, f"{WRONG} {name}: {off.message}")
            return Verdict(name, True, f"{RIGHT} {name}: right. {compared}")

        return checker

    return decorate


# ---- helpers: call the learner's function, compare tensors entry by entry


def _hint_for_error(error: Exception) -> str:
    text = str(error)
    if "Boolean value of Tensor with more than one value is ambiguous" in text:
        return (" Python's `if`/`else` decides once for the whole tensor; choose entry by entry with "
                "torch.where(condition, a, b) (or x.clamp(min=0)).")
    if "Dimension out of range" in text:
        return (" One example is a vector (classes,): sum over the last axis (dim=-1), so that the same code "
                "works for one example and for a batch (batch, classes).")
    if "cannot be multiplied" in text or "size mismatch" in text or "must match the size" in text:
        return (" Check the shapes: a batch X holds one example per row, (batch, in), and W is (out, in), "
                "so W·x for every row is X @ W.T.")
    return ""


class _Watch:
    """While it is entered, each ``(name, owner, attribute)`` it watches is replaced by a wrapper that notes the call
    and then does what the original does: how a checker sees the learner's code use what the exercise rules out."""

    def __init__(self, forbidden):
        self.forbidden, self.used, self._saved = forbidden, [], []

    def __enter__(self):
        for name, owner, attribute in self.forbidden:
            original, own = getattr(owner, attribute), attribute in vars(owner)
            self._saved.append((owner, attribute, original, own))

            def watched(*args, _original=original, _name=name, **kwargs):
                self.used.append(_name)
                return _original(*args, **kwargs)

            setattr(owner, attribute, watched)
        return self

    def __exit__(self, *exc):
        for owner, attribute, original, own in reversed(self._saved):
            setattr(owner, attribute, original) if own else delattr(owner, attribute)
        self._saved.clear()


def _call(fn, args: tuple, call: str, clone: bool = True, rules: tuple = ()):
    """``fn(*args)``, with clones of the tensors unless told, so the caller's inputs are never changed; ``rules``:
    ``(forbidden, how)``, where ``forbidden`` lists what the exercise rules out as ``(name, owner, attribute)`` and
    ``how`` says what to write instead."""
    args = tuple(a.clone() if clone and isinstance(a, torch.Tensor) else a for a in args)
    forbidden, how = rules or ((), "")
    try:
        with _Watch(forbidden) as watch:
            found = fn(*args)
    except NotImplementedError:
        raise _OffError("", written=False) from None
    except Exception as error:  # the learner's code: any error becomes one sentence
        raise _OffError(f"{call} raised {type(error).__name__}: {error}.{_hint_for_error(error)}") from None
    if watch.used:
        raise _OffError(f"the exercise asks for it without {' or '.join(dict.fromkeys(n for n, _, _ in forbidden))}, "
                        f"found {call} calling {watch.used[0]}; {how}.")
    return found


# What each exercise rules out (its text says so), and what to write instead.
RELU_RULES = ((("torch.relu", torch, "relu"), ("F.relu", F, "relu"), ("Tensor.relu", torch.Tensor, "relu"),
               ("dlref.relu", dlref, "relu")),
              "choose entry by entry yourself, e.g. torch.where(x > 0, x, 0) or x.clamp(min=0)")
GRADIENT_RULES = ((("backward", torch.Tensor, "backward"), ("torch.autograd.backward", torch.autograd, "backward"),
                   ("torch.autograd.grad", torch.autograd, "grad")),
                  "compute them by hand with matrix products: ∂E/∂Y = (Y − T) / batch, then ∂E/∂W = ∂E/∂Y.T @ X and "
                  "∂E/∂B = ∂E/∂Y summed over the batch")
CONV_RULES = ((("F.conv2d", F, "conv2d"), ("torch.conv2d", torch, "conv2d"), ("nn.Conv2d", nn.Conv2d, "forward")),
              "sum W[u, v] · X[y + u, x + v] yourself, with two loops over the output's positions or X.unfold")
DROPOUT_RULES = ((("F.dropout", F, "dropout"), ("torch.dropout", torch, "dropout"), ("nn.Dropout", nn.Dropout,
                  "forward"), ("dlref.Dropout", dlref.Dropout, "forward")),
                 "draw the mask yourself: keep = torch.rand_like(X) >= p, then X * keep / (1 − p)")
LSTM_RULES = ((("nn.LSTMCell", nn.LSTMCell, "forward"), ("nn.LSTM", nn.LSTM, "forward"),
               ("torch.lstm_cell", torch, "lstm_cell")),
              "write the six equations with @, torch.sigmoid and torch.tanh")


def _fmt(x) -> str:
    if isinstance(x, torch.Tensor):
        x = x.tolist()
    if isinstance(x, float):
        return f"{x:.6g}"
    if isinstance(x, list):
        return "[" + ", ".join(_fmt(v) for v in x) + "]"
    return str(x)


def _as_tensor(found, expected: torch.Tensor, what: str) -> torch.Tensor:
    if isinstance(found, torch.Tensor):
        return found.detach().to(torch.float64)
    try:
        return torch.as_tensor(found, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise _OffError(f"{what} should be a tensor of shape {tuple(expected.shape)}, found a "
                        f"{type(found).__name__}: {found!r:.80}.") from None


def _compare(what: str, found, expected: torch.Tensor, against: str, hints=(), atol=1e-5, rtol=1e-4) -> None:
    """Stop at the first entry of ``found`` that is not ``expected`` (what ``against`` gives), with a hint if one fits.

    ``hints`` are functions ``(found, expected) -> str | None`` that recognise a usual mistake.
    """
    expected = expected.detach().to(torch.float64)
    found = _as_tensor(found, expected, what)
    if found.shape != expected.shape:
        hint = next((h for h in (hint(found, expected) for hint in hints) if h), "")
        raise _OffError(f"{what} should have shape {tuple(expected.shape)} (from {against}), found "
                        f"{tuple(found.shape)}.{' ' + hint if hint else ''}")
    close = torch.isclose(found, expected, rtol=rtol, atol=atol)
    if bool(close.all()):
        return
    hint = next((h for h in (hint(found, expected) for hint in hints) if h), "")
    if found.dim() == 0:
        raise _OffError(f"{what}: expected {_fmt(expected.item())} (from {against}), found {_fmt(found.item())}."
                        f"{' ' + hint if hint else ''}")
    bad = (~close).nonzero()
    entry = tuple(bad[0].tolist())
    raise _OffError(f"{what}: entry {list(entry)} is off: expected {_fmt(expected[entry].item())} (from {against}), "
                    f"found {_fmt(found[entry].item())}; {len(bad)} of {found.numel()} entries differ."
                    f"{' ' + hint if hint else ''}")


def _scaled(factor: float, words: str):
    """A hint for an answer that is ``factor`` times the expected one."""

    def hint(found, expected):
        if found.shape == expected.shape and expected.abs().max() > 1e-8 and torch.allclose(found, factor * expected,
                                                                                             rtol=1e-4, atol=1e-6):
            return words
        return None

    return hint


def _agree(*pairs) -> None:
    """dlref and torch must agree before a learner is compared with them (a failure here is a dlref bug)."""
    for a, b in pairs:
        assert_close(a, b, rtol=1e-5, atol=1e-6)


def _rng(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---- lesson 1: layers, the loss, the optimizer and back-propagation


@_exercise("relu", lesson=1)
def relu(fn) -> str:
    """``relu(x)``: the slide's ``ReLU = x > 0 ? x : 0``, entry by entry, for a tensor of any shape."""
    xs = [torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0]), torch.randn(3, 4, generator=_rng(1))]
    for x in xs:
        expected = dlref.relu(x)
        _agree((expected, torch.relu(x)))
        found = _call(fn, (x,), f"relu(x) for x of shape {tuple(x.shape)}", rules=RELU_RULES)
        _compare(f"relu(x) for x = {_fmt(x) if x.dim() == 1 else f'a tensor of shape {tuple(x.shape)}'}", found,
                 expected, "dlref.relu and torch.relu", hints=[_relu_hint(x)])
    return "It equals dlref.relu and torch.relu on a vector and on a 3×4 tensor."


def _relu_hint(x):
    def hint(found, expected):
        if found.shape != expected.shape:
            return "ReLU works entry by entry: the output has the input's shape."
        if torch.allclose(found, x.abs().double()):
            return "A negative x becomes 0, not its absolute value."
        if torch.allclose(found, torch.clamp(x, max=0).double()):
            return "You kept the negative part: ReLU keeps x where x > 0 and gives 0 elsewhere."
        return None

    return hint


@_exercise("layer_forward", lesson=1)
def layer_forward(fn) -> str:
    """``layer_forward(W, B, X, activate)``: the slide's ``Y = activate(W·X + B)``, for one example and a batch."""
    W, B, X = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([7.0, 8.0]), torch.tensor([5.0, 6.0])
    found = _call(fn, (W, B, X, dlref.identity), "layer_forward(W, B, X, identity) for the FCN slide's example")
    layer = _layer(W, B, dlref.identity)
    _compare("the FCN slide's example [[1, 2], [3, 4]]·[5, 6] + [7, 8]", found, layer.forward(X),
             "dlref.Layer", hints=_forward_hints(W, B, X, dlref.identity))
    g = _rng(2)
    W, B, X = torch.randn(4, 3, generator=g), torch.randn(4, generator=g), torch.randn(5, 3, generator=g)
    linear = nn.Linear(3, 4)
    with torch.no_grad():
        linear.weight.copy_(W), linear.bias.copy_(B)
    expected = _layer(W, B, dlref.relu)(X)
    _agree((expected, torch.relu(linear(X))))
    found = _call(fn, (W, B, X, dlref.relu), "layer_forward(W, B, X, relu) for a batch X of shape (5, 3)")
    _compare("a batch X of 5 examples (one per row), W (4, 3), relu", found, expected,
             "dlref.Layer and nn.Linear + torch.relu", hints=_forward_hints(W, B, X, dlref.relu))
    return "It gives [24, 47] for the FCN slide's example and equals dlref.Layer and nn.Linear + relu on a batch."


def _layer(W, B, activate) -> dlref.Layer:
    layer = dlref.Layer(W.shape[1], W.shape[0], activate).to(W.dtype)
    with torch.no_grad():
        layer.W.copy_(W), layer.B.copy_(B)
    return layer


def _forward_hints(W, B, X, activate):
    batch = X.dim() == 2
    pre = (X @ W.T + B) if batch else (W @ X + B)
    no_bias = activate(X @ W.T if batch else W @ X)

    def hint(found, expected):
        if found.shape != expected.shape:
            return ("Y has one row of `out` values per example: (batch, out) = X @ W.T + B." if batch
                    else "W·X is a matrix product, W @ X (torch's W.mul(X) multiplies entry by entry).")
        if not torch.equal(pre, activate(pre)) and torch.allclose(found, pre.double(), atol=1e-5):
            return "You left out the activation: Y = activate(W·X + B)."
        if torch.allclose(found, no_bias.double(), atol=1e-5):
            return "You left out the bias B."
        return None

    return [hint]


def _probabilities(batch: int, classes: int, seed: int):
    g = _rng(seed)
    y = torch.softmax(torch.randn(batch, classes, generator=g, dtype=torch.float64), dim=1)
    labels = torch.randint(0, classes, (batch,), generator=g)
    return y, F.one_hot(labels, classes).double(), labels


def _per_example_then_batch(name: str, fn, y, t, dlref_fn, torch_values, against: str, hints) -> None:
    """Each example alone (to say which one is off), then the whole batch (its mean)."""
    for k in range(len(y)):
        expected = dlref_fn(y[k], t[k])
        _agree((expected, torch_values[k]))
        found = _call(fn, (y[k], t[k]), f"{name}(y, t) for one example, y of shape {tuple(y[k].shape)}")
        _compare(f"{name} of example {k} (y = {_fmt(y[k])}, t = {_fmt(t[k])})", found, expected, against, hints)
    expected = dlref_fn(y, t)
    _agree((expected, torch_values.mean()))
    found = _call(fn, (y, t), f"{name}(y, t) for a batch of {len(y)}")
    _compare(f"{name} of a batch of {len(y)} examples", found, expected, against,
             hints + [_scaled(len(y), f"That is the sum over the batch: the slide's E is one example's, so a batch "
                                      f"takes the mean over its {len(y)} examples.")])


@_exercise("cross_entropy", lesson=1)
def cross_entropy(fn) -> str:
    """``cross_entropy(y, t)``: ``E = −Σ_k t_k log y_k`` on probabilities, one-hot ``t``; the mean over a batch."""
    y, t, labels = _probabilities(4, 3, seed=3)
    torch_values = F.nll_loss(torch.log(y), labels, reduction="none")
    hints = [_scaled(-1.0, "Check the sign: E = −Σ_k t_k log y_k is positive (log of a probability is ≤ 0)."),
             _scaled(1 / math.log(10), "Use the natural logarithm, torch.log, not log10."),
             _scaled(1 / math.log(2), "Use the natural logarithm, torch.log, not log2.")]
    _per_example_then_batch("cross_entropy", fn, y, t, dlref.cross_entropy_error, torch_values,
                            "dlref.cross_entropy_error and F.nll_loss(log y)", hints)
    return "It equals dlref.cross_entropy_error and F.nll_loss(torch.log(y), t) per example and over a batch."


@_exercise("mean_squared_error", lesson=1)
def mean_squared_error(fn) -> str:
    """``mean_squared_error(y, t)``: ``E = ½ Σ_k (y_k − t_k)²``; the mean over a batch."""
    y, t, _ = _probabilities(4, 3, seed=4)
    torch_values = 0.5 * F.mse_loss(y, t, reduction="none").sum(dim=1)
    hints = [_scaled(2.0, "You left out the ½: E = ½ Σ_k (y_k − t_k)²."),
             _scaled(2.0 / 3, "That is torch's mean over the classes: the slide sums over k, then halves."),
             _scaled(1.0 / 3, "That is torch's mean over the classes: the slide sums over k, then halves.")]
    _per_example_then_batch("mean_squared_error", fn, y, t, dlref.mean_squared_error, torch_values,
                            "dlref.mean_squared_error and ½·F.mse_loss(reduction='sum')", hints)
    return "It equals dlref.mean_squared_error and ½·F.mse_loss(y, t, reduction='sum') per example and over a batch."


@_exercise("sgd_update", lesson=1)
def sgd_update(fn) -> str:
    """``sgd_update(W, gradients, eta)``: the slide's ``W ← W − η ∂L/∂W``, returned as a new tensor."""
    g = _rng(5)
    W, gradients, eta = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g), 0.1
    expected = dlref.SGD(eta).update(W, gradients)
    twin = W.clone().requires_grad_()
    twin.grad = gradients.clone()
    torch.optim.SGD([twin], lr=eta).step()
    _agree((expected, twin.detach()))
    given = W.clone()
    found = _call(fn, (given, gradients.clone(), eta), "sgd_update(W, gradients, 0.1)", clone=False)
    if not torch.equal(given, W):
        raise _OffError("it changed W itself: return a new tensor and leave W as it is (the slide writes "
                        "W = optimizer.update(W, gradients)); compute W - eta * gradients, not W -= ….")
    hints = [lambda f, e: "Step against the gradient: W − η·gradients, not W + η·gradients."
             if torch.allclose(f, (W + eta * gradients).double()) else None,
             lambda f, e: "Multiply the gradients by the learning rate η."
             if torch.allclose(f, (W - gradients).double()) else None]
    _compare("sgd_update(W, gradients, 0.1)", found, expected, "dlref.SGD(0.1).update and torch.optim.SGD", hints)
    return "It equals dlref.SGD(0.1).update(W, gradients) and one step of torch.optim.SGD, and leaves W as it was."


@_exercise("gradients", lesson=1)
def gradients(fn) -> str:
    """``gradients(X, T, W, B)``: ``∂E/∂W`` and ``∂E/∂B`` by hand for ``Y = X @ W.T + B`` and ``E = ½ Σ_k (y_k − t_k)²``
    averaged over the batch; compared with autograd through dlref and through torch."""
    g = _rng(6)
    X, T = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 2, generator=g, dtype=torch.float64)
    W, B = torch.randn(2, 3, generator=g, dtype=torch.float64), torch.randn(2, generator=g, dtype=torch.float64)
    layer = _layer(W, B, dlref.identity)
    dlref.mean_squared_error(layer(X), T).backward()
    linear = nn.Linear(3, 2).double()
    with torch.no_grad():
        linear.weight.copy_(W), linear.bias.copy_(B)
    (0.5 * F.mse_loss(linear(X), T, reduction="sum") / len(X)).backward()
    _agree((layer.W.grad, linear.weight.grad), (layer.B.grad, linear.bias.grad))
    found = _call(fn, (X, T, W, B), "gradients(X, T, W, B)", rules=GRADIENT_RULES)
    if not isinstance(found, (tuple, list)) or len(found) != 2:
        raise _OffError(f"gradients should return two tensors (dE/dW, dE/dB), found {type(found).__name__}.")
    against = "autograd through dlref.Layer + dlref.mean_squared_error and through nn.Linear + F.mse_loss"
    batch = _scaled(len(X), f"Divide by the batch size {len(X)}: the loss is the mean over the batch.")
    sign = _scaled(-1.0, "Check the sign: ∂E/∂Y = Y − T.")

    def transposed(found, expected):
        return "∂E/∂W has W's shape (out, in): (Y − T).T @ X." if found.shape == expected.T.shape else None

    _compare("dE/dW", found[0], layer.W.grad, against, [transposed, batch, sign])
    _compare("dE/dB", found[1], layer.B.grad, against, [batch, sign])
    return "∂E/∂W and ∂E/∂B equal what autograd computes through dlref and through torch."


# ---- lesson 2: training and evaluation


@_exercise("accuracy", lesson=2)
def accuracy(fn) -> str:
    """``accuracy(Y, target)``: the share of examples whose highest score is at the target class."""
    g = _rng(7)
    Y, target = torch.randn(12, 10, generator=g), torch.randint(0, 10, (12,), generator=g)
    target[:6] = Y[:6].argmax(dim=1)  # half right, at least
    model = _layer(torch.eye(10), torch.zeros(10), dlref.identity)  # Y itself, for dlref.evaluate
    expected = dlref.evaluate(model, [(Y, target)])["accuracy"]
    _agree((torch.tensor(expected), multiclass_accuracy(Y, target, 10, average="micro")))
    for k in range(len(Y)):
        found = _call(fn, (Y[k : k + 1], target[k : k + 1]), "accuracy(Y, target) for a batch of one example")
        right = float(Y[k].argmax() == target[k])
        _compare(f"accuracy of example {k} alone (scores {_fmt(Y[k][:3])}…, highest at class {int(Y[k].argmax())}, "
                 f"target {int(target[k])})", found, torch.tensor(right), "dlref.evaluate and torchmetrics",
                 [lambda f, e: "The prediction is the class with the highest score: Y.argmax(dim=1)."
                  if f.shape == e.shape else None])
    found = _call(fn, (Y, target), "accuracy(Y, target) for 12 examples")
    _compare("accuracy of 12 examples", found, torch.tensor(expected), "dlref.evaluate and torchmetrics",
             [_scaled(len(Y), "That is the number of right answers: divide by the number of examples.")])
    return "It equals dlref.evaluate's and torchmetrics' accuracy, example by example and over a batch."


@_exercise("kfold_split", lesson=2)
def kfold_split(fn) -> str:
    """``kfold_split(n, k)``: ``k`` pairs ``(train_idx, val_idx)``; fold ``i`` validates on the ``i``-th block."""
    for n, k in ((20, 4), (23, 5)):
        expected = [(torch.as_tensor(tr), torch.as_tensor(va)) for tr, va in KFold(k).split(np.zeros(n))]
        ours = dlref_kfold(torch.zeros(n, dtype=torch.long), k, stratify=False, shuffle=False)
        assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(ours, expected))
        found = _call(fn, (n, k), f"kfold_split({n}, {k})")
        found = list(found) if isinstance(found, (list, tuple)) else found
        if not isinstance(found, list) or len(found) != k:
            raise _OffError(f"kfold_split({n}, {k}) should give {k} (train_idx, val_idx) pairs, one per fold, found "
                            f"{len(found) if isinstance(found, list) else type(found).__name__}.")
        for i, (pair, (train, val)) in enumerate(zip(found, expected)):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise _OffError(f"kfold_split({n}, {k}): fold {i} should be a pair (train_idx, val_idx), "
                                     f"found {pair!r:.60}.")
            val_found = sorted(int(v) for v in pair[1])
            train_found = sorted(int(v) for v in pair[0])
            if val_found != val.tolist():
                raise _OffError(f"kfold_split({n}, {k}): fold {i}'s validation indices should be {_span(val)} "
                                f"({len(val)} examples, as sklearn's KFold and dlref.data.split.kfold give), found "
                                f"{_span(val_found)} ({len(val_found)}). {_fold_hint(n, k)}")
            if train_found != train.tolist():
                extra = sorted(set(train_found) & set(val_found))
                words = (f"it also holds validation indices {extra[:5]}: a model must never train on what "
                         f"validates it" if extra else "the training indices are every index not in the fold")
                raise _OffError(f"kfold_split({n}, {k}): fold {i}'s training indices should be the other "
                                f"{len(train)} examples, found {len(train_found)}; {words}.")
    return "It gives sklearn's KFold and dlref.data.split.kfold(shuffle=False) folds, for 20 and for 23 examples."


def _span(indices) -> str:
    values = [int(v) for v in indices]
    if values and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}"
    return _fmt(values[:8]) + ("…" if len(values) > 8 else "")


def _fold_hint(n: int, k: int) -> str:
    if n % k == 0:
        return "Each fold validates on one block of n / k consecutive examples."
    return (f"{n} examples do not split evenly into {k}: like sklearn, give the first n % k = {n % k} folds one "
            f"example more ({n // k + 1}), the others {n // k}, so that every example is validated exactly once.")


# ---- lesson 3: overfitting and regularisation


@_exercise("l2_penalty", lesson=3)
def l2_penalty(fn) -> str:
    """``l2_penalty(weights, lam)``: ``λ/2 · Σ ‖W‖²`` over a list of tensors; its gradient is weight decay's ``λ·W``."""
    g = _rng(8)
    weights, lam = [torch.randn(3, 4, generator=g), torch.randn(3, generator=g)], 0.01
    expected = lam / 2 * sum((W**2).sum() for W in weights)
    leaves = [W.clone().requires_grad_() for W in weights]
    found = _call(fn, (leaves, lam), "l2_penalty(weights, 0.01)", clone=False)
    hints = [_scaled(2.0, "You left out the ½: λ/2·‖W‖² is the penalty whose gradient is λ·W, weight decay's term."),
             lambda f, e: "Sum over every tensor in weights, not just the first."
             if torch.allclose(f, torch.tensor(lam / 2 * float((weights[0] ** 2).sum()), dtype=f.dtype)) else None,
             lambda f, e: "Square the norm: ‖W‖² = Σ W², not ‖W‖."
             if torch.allclose(f, torch.tensor(lam / 2 * sum(float(W.norm()) for W in weights), dtype=f.dtype))
             else None]
    _compare("l2_penalty(weights, 0.01)", found, expected, "λ/2 · Σ (W**2).sum()", hints)
    if not isinstance(found, torch.Tensor) or not found.requires_grad:
        raise _OffError("the penalty has the right value but carries no gradient: compute it from the tensors with "
                             "torch operations (no .item(), no float()), so that backward() reaches the weights.")
    found.backward()
    for k, (W, leaf) in enumerate(zip(weights, leaves)):
        decayed = dlref.SGD([W.clone().requires_grad_()], lr=1.0, weight_decay=lam)
        decayed.param_groups[0]["params"][0].grad = torch.zeros_like(W)
        twin = W.clone().requires_grad_()
        twin.grad = torch.zeros_like(W)
        torch.optim.SGD([twin], lr=1.0, weight_decay=lam).step()
        decayed.step()
        decay_term = W - decayed.param_groups[0]["params"][0].detach()  # what weight decay subtracts: λ·W
        _agree((decay_term, W - twin.detach()))
        _compare(f"the gradient of your penalty with respect to weights[{k}]", leaf.grad, decay_term,
                 "λ·W, the term dlref.SGD(weight_decay=λ) and torch.optim.SGD(weight_decay=λ) subtract")
    return ("Its value is λ/2·Σ‖W‖², and its gradient is λ·W, exactly what weight decay adds in dlref.SGD and "
            "torch.optim.SGD.")


@_exercise("dropout", lesson=3)
def dropout(fn) -> str:
    """``dropout(X, p, training)``: inverted dropout. Compared by its rule with dlref.Dropout and nn.Dropout
    (random masks differ, so the checker checks what every mask must satisfy)."""
    X, p = torch.rand(200, 100, generator=_rng(9)) + 0.5, 0.3  # no zeros in X: a 0 in Y was dropped
    for module, name in ((dlref.Dropout(p), "dlref.Dropout"), (nn.Dropout(p), "nn.Dropout")):
        _dropout_rule(module(X), X, p, name)  # the rule yours is held to, first checked on dlref's and torch's
    found = _call(fn, (X, p, False), "dropout(X, 0.3, training=False)")
    _compare("dropout(X, 0.3, training=False)", found, X, "dlref.Dropout and nn.Dropout in eval mode",
             [lambda f, e: "In evaluation nothing is dropped and nothing rescaled: return X as it is."
              if f.shape == e.shape else None])
    found = _call(fn, (X, p, True), "dropout(X, 0.3, training=True)", rules=DROPOUT_RULES)
    _dropout_rule(_as_tensor(found, X, "dropout(X, 0.3, training=True)"), X, p, "your dropout")
    return ("In training each entry is 0 or X/(1 − p) and about p = 30% are dropped, as with dlref.Dropout and "
            "nn.Dropout; in evaluation X is returned as it is.")


def _dropout_rule(Y: torch.Tensor, X: torch.Tensor, p: float, who: str) -> None:
    Y = Y.detach().double()
    X = X.double()
    if Y.shape != X.shape:
        raise _OffError(f"{who}(X, {p}, training=True) should have X's shape {tuple(X.shape)}, found {tuple(Y.shape)}.")
    dropped = Y == 0
    kept_right = torch.isclose(Y, X / (1 - p), rtol=1e-5)
    bad = ~(dropped | kept_right)
    if bad.any():
        entry = tuple(bad.nonzero()[0].tolist())
        hint = ""
        if torch.isclose(Y[entry], X[entry]):
            hint = " Scale what you keep by 1/(1 − p), so that the expected value of each entry stays X."
        elif torch.isclose(Y[entry], X[entry] / p):
            hint = " Scale by 1/(1 − p), the probability to keep, not 1/p."
        raise _OffError(f"{who}: entry {list(entry)} is off: expected 0 (dropped) or X/(1 − p) = "
                        f"{_fmt((X[entry] / (1 - p)).item())} (kept), found {_fmt(Y[entry].item())}.{hint}")
    share = dropped.double().mean().item()
    if abs(share - p) > 0.03:  # 20,000 entries: the share of a right rule is within ±0.01 of p
        hint = (" p is the probability to drop an entry, 1 − p to keep it." if abs(share - (1 - p)) < 0.03 else "")
        raise _OffError(f"{who} dropped {share:.1%} of 20,000 entries, expected about p = {p:.0%} (within 3 points)."
                        f"{hint}")


# ---- lesson 4: the networks


@_exercise("correlate2d", lesson=4)
def correlate2d(fn) -> str:
    """``correlate2d(X, W)``: ``Y[y, x] = Σ_{u,v} W[u, v] · X[y + u, x + v]`` for one channel, no padding, stride 1."""
    g = _rng(10)
    X, W = torch.randn(6, 7, generator=g), torch.randn(3, 2, generator=g)
    layer = dlref.ConvLayer(1, 1, (3, 2), activate=dlref.identity)
    with torch.no_grad():
        layer.W.copy_(W.view(1, 1, 3, 2)), layer.B.zero_()
    expected = layer(X.view(1, 6, 7))[0]
    _agree((expected, F.conv2d(X.view(1, 1, 6, 7), W.view(1, 1, 3, 2))[0, 0]))
    flipped = F.conv2d(X.view(1, 1, 6, 7), W.flip(0, 1).view(1, 1, 3, 2))[0, 0].double()
    hints = [lambda f, e: ("That is the slide's convolution, with the kernel flipped: dlref.ConvLayer and torch's "
                           "conv2d compute cross-correlation, W[u, v] · X[y + u, x + v] (a learned W absorbs the flip)."
                           if f.shape == e.shape and torch.allclose(f, flipped, atol=1e-5) else None),
             lambda f, e: (f"Without padding the output is (H − kh + 1, W − kw + 1) = {tuple(e.shape)}: the kernel "
                           "stays inside the image." if f.shape != e.shape else None)]
    found = _call(fn, (X, W), "correlate2d(X, W) for X (6, 7) and W (3, 2)", rules=CONV_RULES)
    _compare("correlate2d(X, W) for X (6, 7) and a 3×2 kernel W", found, expected,
             "dlref.ConvLayer and F.conv2d", hints)
    return "It equals dlref.ConvLayer and F.conv2d (cross-correlation) for a 3×2 kernel on a 6×7 image."


@_exercise("lstm_step", lesson=4)
def lstm_step(fn) -> str:
    """``lstm_step(x_t, h_prev, c_prev, W_x, W_h, b)`` → ``(h_t, c_t)``: the slide's six equations, one step.

    ``W_x`` (4, input, hidden), ``W_h`` (4, hidden, hidden), ``b`` (4, hidden), gates in the slide's order f, g, i, o.
    """
    torch.manual_seed(11)
    twin = nn.LSTMCell(3, 4).double()
    layer = _layer_from_cell(twin)
    g = _rng(11)
    x_t = torch.randn(2, 3, generator=g, dtype=torch.float64)
    h_prev, c_prev = torch.randn(2, 4, generator=g, dtype=torch.float64), torch.randn(2, 4, generator=g,
                                                                                    dtype=torch.float64)
    with torch.no_grad():
        _, (h_t, c_t) = layer.equations(x_t.unsqueeze(1), h_prev, c_prev)
        h_torch, c_torch = twin(x_t, (h_prev, c_prev))
    _agree((h_t, h_torch), (c_t, c_torch))
    W_x, W_h, b = (p.detach() for p in (layer.W_x, layer.W_h, layer.b))
    found = _call(fn, (x_t, h_prev, c_prev, W_x, W_h, b), "lstm_step(x_t, h_prev, c_prev, W_x, W_h, b)",
                  rules=LSTM_RULES)
    if not isinstance(found, (tuple, list)) or len(found) != 2:
        raise _OffError(f"lstm_step should return the pair (h_t, c_t), found {type(found).__name__}.")
    against = "dlref.LSTMLayer.equations and nn.LSTMCell"
    gate = {k: (x_t @ W_x[n] + h_prev @ W_h[n] + b[n]) for n, k in enumerate(GATES)}
    f, gg, i, o = torch.sigmoid(gate["f"]), torch.tanh(gate["g"]), torch.sigmoid(gate["i"]), torch.sigmoid(gate["o"])

    def c_hints(found, expected):
        if found.shape != expected.shape:
            return "c_t is (batch, hidden), like c_{t−1}."
        if torch.allclose(found, f * c_prev + gg, atol=1e-6):
            return "The input gate i scales the gain: c_t = f ⊙ c_{t−1} + i ⊙ g."
        if torch.allclose(found, f * c_prev + i * torch.sigmoid(gate["g"]), atol=1e-6):
            return "The gain g takes tanh, not σ: g = tanh(x_t W_x^(g) + h_{t−1} W_h^(g) + b^(g))."
        if torch.allclose(found, i * c_prev + f * gg, atol=1e-6):
            return "f forgets the old carrier and i lets in the new one: c_t = f ⊙ c_{t−1} + i ⊙ g."
        return "The gates are stacked in the slide's order f, g, i, o: W_x[0] is W_x^(f), W_x[1] is W_x^(g), …"

    _compare("c_t", found[1], c_t, against, [c_hints])

    def h_hints(found, expected):
        if torch.allclose(found, o * c_t, atol=1e-6):
            return "h_t = o ⊙ tanh(c_t): the carrier passes through tanh."
        return None

    _compare("h_t", found[0], h_t, against, [h_hints])
    return "h_t and c_t equal dlref.LSTMLayer's equations and torch's nn.LSTMCell for a batch of two."


def _layer_from_cell(cell: nn.LSTMCell) -> LSTMLayer:
    """An ``LSTMLayer`` with an ``nn.LSTMCell``'s weights, through the ``nn.LSTM`` that ``from_torch`` reads."""
    lstm = nn.LSTM(cell.input_size, cell.hidden_size, batch_first=True).to(cell.weight_ih.dtype)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, f"{name}_l0").copy_(getattr(cell, name))
    return LSTMLayer.from_torch(lstm, fast=False)


# ---- lesson 5: the run folder


@_exercise("best_epoch", lesson=5)
def best_epoch(fn, run_dir) -> str:
    """``best_epoch(metrics_csv)``: the epoch, counted from 1, with the highest ``val/acc`` (``best.ckpt``'s)."""
    run_dir = Path(run_dir)
    run_dir = run_dir.parent if run_dir.name == "metrics.csv" else run_dir  # the run, or its metrics.csv
    if not (run_dir / "metrics.csv").is_file() or not (run_dir / "checkpoints" / "best.ckpt").is_file():
        raise ValueError(f"check.best_epoch expected a run folder with metrics.csv and checkpoints/best.ckpt, found "
                         f"{run_dir}; pass the folder dlref fit printed, e.g. check.best_epoch(best_epoch, run).")
    rows = [r for r in csv.DictReader(open(run_dir / "metrics.csv")) if r.get("val/acc")]
    scores = [(float(r["val/acc"]), int(r["epoch"])) for r in rows]
    expected = max(scores, key=lambda s: s[0])[1] + 1  # the first of equal scores, as ModelCheckpoint keeps it
    saved = torch.load(run_dir / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)["epoch"] + 1
    if saved != expected:  # another run's checkpoint beside these metrics: nothing the learner wrote is judged
        raise ValueError(f"check.best_epoch expected best.ckpt and metrics.csv of one run, found best.ckpt from epoch "
                         f"{saved} and metrics.csv's best at epoch {expected} in {run_dir}; pass a run folder that "
                         "dlref fit wrote whole.")
    found = _call(fn, (run_dir / "metrics.csv",), "best_epoch(run_dir / 'metrics.csv')")
    if isinstance(found, torch.Tensor):
        found = found.item()
    if found != expected:
        hint = _best_epoch_hint(found, expected, lowest=min(scores, key=lambda s: s[0])[1] + 1)
        raise _OffError(f"expected epoch {expected} (val/acc {_fmt(max(scores)[0])}, the epoch "
                        f"checkpoints/best.ckpt was saved at), found {found!r}. {hint}".rstrip())
    return f"Epoch {expected} has the highest val/acc, and checkpoints/best.ckpt was saved at its end."


def _best_epoch_hint(found, expected: int, lowest: int) -> str:
    if isinstance(found, str):
        return "metrics.csv holds text: return a number, e.g. int(row['epoch']) + 1."
    if found is None:
        return "Return the epoch: read the val/acc column (the training rows leave it empty)."
    if found == expected - 1:
        return "metrics.csv's epoch column counts from 0; dlref prints epochs counted from 1: add 1."
    if found == lowest:
        return "That is the epoch with the lowest val/acc: the best is the highest."
    return ""
