"""The lessons' checkers (``lessons/check.py``): every solution passes its checker, an unwritten exercise is told
so, and the usual wrong answers are caught with a message that says what is off and what to change."""

import csv
import importlib.util
from pathlib import Path

import pytest
import torch

LESSONS = Path(__file__).resolve().parent.parent / "lessons"
pytestmark = pytest.mark.usefixtures("one_thread")


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load("lessons_check", LESSONS / "check.py")
solutions = {n: _load(f"lessons_solution_{n}", LESSONS / "solutions" / f"lesson{n}.py") for n in range(1, 6)}
s1, s2, s3, s4, s5 = (solutions[n] for n in range(1, 6))

EXERCISES = [(1, "relu"), (1, "layer_forward"), (1, "cross_entropy"), (1, "mean_squared_error"), (1, "sgd_update"),
             (1, "gradients"), (2, "accuracy"), (2, "kfold_split"), (3, "l2_penalty"), (3, "dropout"),
             (4, "correlate2d"), (4, "lstm_step")]


def _not_written(*args):
    raise NotImplementedError


@pytest.fixture
def run_dir(tmp_path):
    """A run folder as `dlref fit` leaves it, in little: metrics.csv (a row per stage) and checkpoints/best.ckpt.

    The best val/acc is at epoch index 1 (epoch 2 counted from 1); the lowest at index 2.
    """
    rows = [dict(epoch=0, step=9, **{"train/acc": 0.7}), dict(epoch=0, step=9, **{"val/acc": 0.80}),
            dict(epoch=1, step=19, **{"train/acc": 0.9}), dict(epoch=1, step=19, **{"val/acc": 0.95}),
            dict(epoch=2, step=29, **{"train/acc": 0.95}), dict(epoch=2, step=29, **{"val/acc": 0.70})]
    with open(tmp_path / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["epoch", "step", "train/acc", "val/acc"])
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "checkpoints").mkdir()
    torch.save({"epoch": 1, "global_step": 20}, tmp_path / "checkpoints" / "best.ckpt")
    return tmp_path


@pytest.mark.parametrize(("lesson", "name"), EXERCISES, ids=[name for _, name in EXERCISES])
def test_every_solution_passes_its_checker(lesson, name):
    verdict = getattr(check, name)(getattr(solutions[lesson], name))
    assert verdict, verdict.message
    assert verdict.message.startswith(f"✔ {name}: right.")
    assert repr(verdict) == str(verdict) == verdict.message  # what a notebook shows


def test_the_run_folder_solution_passes_its_checker(run_dir):
    verdict = check.best_epoch(s5.best_epoch, run_dir)
    assert verdict, verdict.message
    assert "Epoch 2 has the highest val/acc" in verdict.message
    assert check.best_epoch(s5.best_epoch, run_dir / "metrics.csv")  # the exercise's own argument works too
    wrong = check.best_epoch(lambda path: 3, run_dir)
    assert wrong.message.startswith("✘ best_epoch: expected epoch 2")  # the name once
    with pytest.raises(ValueError, match=r"^check.best_epoch expected a run folder with metrics.csv and "
                                         r"checkpoints/best.ckpt, found .*nowhere; pass the folder dlref fit printed"):
        check.best_epoch(s5.best_epoch, run_dir / "nowhere")


@pytest.mark.parametrize(("lesson", "name"), [*EXERCISES, (5, "best_epoch")], ids=[n for _, n in [*EXERCISES,
                                                                                                 (5, "best_epoch")]])
def test_an_unwritten_exercise_is_told_so_and_where_a_solution_is(lesson, name, run_dir):
    verdict = getattr(check, name)(_not_written, *([run_dir] if name == "best_epoch" else []))
    assert not verdict and not verdict.written
    assert f"… {name}: not written yet" in verdict.message
    assert f"lessons/solutions/lesson{lesson}.py" in verdict.message


def test_a_checker_given_something_other_than_a_function_says_so():
    verdict = check.relu(torch.relu(torch.ones(3)))
    assert not verdict
    assert "expected your function, found Tensor" in verdict.message


def _inplace_update(W, gradients, eta):
    W -= eta * gradients
    return W


def _lstm_without_i(x_t, h_prev, c_prev, W_x, W_h, b):
    f = torch.sigmoid(x_t @ W_x[0] + h_prev @ W_h[0] + b[0])
    g = torch.tanh(x_t @ W_x[1] + h_prev @ W_h[1] + b[1])
    o = torch.sigmoid(x_t @ W_x[3] + h_prev @ W_h[3] + b[3])
    c_t = f * c_prev + g
    return o * torch.tanh(c_t), c_t


def _lstm_h_without_tanh(x_t, h_prev, c_prev, W_x, W_h, b):
    _, c_t = s4.lstm_step(x_t, h_prev, c_prev, W_x, W_h, b)
    return torch.sigmoid(x_t @ W_x[3] + h_prev @ W_h[3] + b[3]) * c_t, c_t


def _lstm_in_torch_order(x_t, h_prev, c_prev, W_x, W_h, b):
    return s4.lstm_step(x_t, h_prev, c_prev, W_x[[2, 0, 1, 3]], W_h[[2, 0, 1, 3]], b[[2, 0, 1, 3]])


def _kfold_dropping_the_remainder(n, k):
    size = n // k
    return [([j for j in range(n) if not i * size <= j < (i + 1) * size], list(range(i * size, (i + 1) * size)))
            for i in range(k)]


def _kfold_training_on_everything(n, k):
    return [(list(range(n)), val) for _, val in s2.kfold_split(n, k)]


# (exercise, a typical wrong answer, what the message must say): which entry or part, expected vs found, the fix.
WRONG = [
    ("relu", lambda x: x if x > 0 else 0, ["raised RuntimeError", "torch.where"]),
    ("relu", lambda x: x.abs(), ["entry [0] is off", "expected 0", "found 2", "not its absolute value"]),
    ("relu", lambda x: torch.clamp(x, max=0), ["entry [", "kept the negative part"]),
    ("layer_forward", lambda W, B, X, activate: activate(W @ X + B),
     ["batch X of shape (5, 3)", "cannot be multiplied", "X @ W.T"]),
    ("layer_forward", lambda W, B, X, activate: activate(W.mul(X) + B), ["should have shape (2,)", "found (2, 2)",
                                                                           "matrix product, W @ X"]),
    ("layer_forward", lambda W, B, X, activate: X @ W.T + B if X.dim() == 2 else W @ X + B,
     ["entry [", "is off", "left out the activation"]),
    ("layer_forward", lambda W, B, X, activate: activate(X @ W.T if X.dim() == 2 else W @ X),
     ["the FCN slide's example", "entry [0] is off", "expected 24", "found 17", "left out the bias B"]),
    ("cross_entropy", lambda y, t: (t * torch.log(y)).sum(dim=-1).mean(),
     ["example 0", "expected 0.704561", "found -0.704561", "Check the sign"]),
    ("cross_entropy", lambda y, t: -(t * torch.log(y)).sum(dim=1).mean(), ["Dimension out of range", "dim=-1"]),
    ("cross_entropy", lambda y, t: -(t * torch.log(y)).sum(), ["batch of 4", "expected 1.6685", "mean over its 4"]),
    ("cross_entropy", lambda y, t: -(t * torch.log10(y)).sum(dim=-1).mean(), ["torch.log, not log10"]),
    ("mean_squared_error", lambda y, t: ((y - t) ** 2).sum(dim=-1).mean(), ["example 0", "left out the ½"]),
    ("mean_squared_error", lambda y, t: torch.nn.functional.mse_loss(y, t), ["torch's mean over the classes"]),
    ("sgd_update", lambda W, gradients, eta: W + eta * gradients, ["entry [0, 0] is off", "Step against the gradient"]),
    ("sgd_update", lambda W, gradients, eta: W - gradients, ["Multiply the gradients by the learning rate"]),
    ("sgd_update", _inplace_update, ["changed W itself", "return a new tensor"]),
    ("gradients", lambda X, T, W, B: ((X @ W.T + B - T).T @ X, (X @ W.T + B - T).sum(0)),
     ["dE/dW", "entry [0, 0]", "Divide by the batch size 5"]),
    ("gradients", lambda X, T, W, B: (X.T @ (X @ W.T + B - T) / len(X), (X @ W.T + B - T).mean(0)),
     ["dE/dW should have shape (2, 3)", "found (3, 2)", "(Y − T).T @ X"]),
    ("gradients", lambda X, T, W, B: s1.gradients(X, T, W, B)[0], ["should return two tensors"]),
    ("accuracy", lambda Y, target: (Y.argmax(1) == target).sum().item(), ["of 12 examples", "expected 0.583333",
                                                                          "found 7", "divide by the number"]),
    ("accuracy", lambda Y, target: (Y.argmin(1) == target).float().mean().item(),
     ["example 0 alone", "highest score: Y.argmax(dim=1)"]),
    ("kfold_split", _kfold_dropping_the_remainder, ["kfold_split(23, 5)", "fold 0's validation indices should be "
                                                   "0..4", "found 0..3", "first n % k = 3 folds one example more"]),
    ("kfold_split", _kfold_training_on_everything, ["fold 0's training indices", "must never train on what "
                                                    "validates it"]),
    ("kfold_split", lambda n, k: [val for _, val in s2.kfold_split(n, k)], ["fold 0 should be a pair"]),
    ("l2_penalty", lambda weights, lam: lam * sum((W**2).sum() for W in weights), ["expected 0.0827253",
                                                                                  "found 0.165451", "left out the ½"]),
    ("l2_penalty", lambda weights, lam: lam / 2 * (weights[0] ** 2).sum(), ["not just the first"]),
    ("l2_penalty", lambda weights, lam: lam / 2 * sum(W.norm() for W in weights), ["Square the norm"]),
    ("l2_penalty", lambda weights, lam: lam / 2 * sum((W.detach() ** 2).sum().item() for W in weights),
     ["carries no gradient"]),
    ("dropout", lambda X, p, training: X * (torch.rand_like(X) >= p) if training else X,
     ["is off: expected 0 (dropped) or X/(1 − p)", "Scale what you keep by 1/(1 − p)"]),
    ("dropout", lambda X, p, training: X * (torch.rand_like(X) < p) / (1 - p) if training else X,
     ["% of 20,000 entries", "expected about p = 30%", "p is the probability to drop"]),
    ("dropout", lambda X, p, training: s3.dropout(X, p, True), ["training=False", "return X as it is"]),
    ("correlate2d", lambda X, W: s4.correlate2d(X, W.flip(0, 1)), ["entry [0, 0] is off", "kernel flipped",
                                                                     "cross-correlation"]),
    ("correlate2d", lambda X, W: s4.correlate2d(torch.nn.functional.pad(X, (1, 1, 1, 1)), W),  # padded by 1
     ["should have shape (4, 6)", "found (6, 8)", "(H − kh + 1, W − kw + 1)"]),
    ("lstm_step", _lstm_without_i, ["c_t: entry [0, 0] is off", "input gate i scales the gain"]),
    ("lstm_step", _lstm_h_without_tanh, ["h_t: entry", "h_t = o ⊙ tanh(c_t)"]),
    ("lstm_step", _lstm_in_torch_order, ["c_t: entry", "the slide's order f, g, i, o"]),
]


@pytest.mark.parametrize(("name", "wrong", "words"), WRONG, ids=[f"{n}-{k}" for k, (n, _, _) in enumerate(WRONG)])
def test_a_typical_wrong_answer_is_caught_with_a_useful_message(name, wrong, words):
    torch.manual_seed(0)  # the wrong dropouts draw their masks from the global generator
    verdict = getattr(check, name)(wrong)
    assert not verdict and verdict.written
    assert verdict.message.startswith(f"✘ {name}: ")
    for word in words:
        assert word in verdict.message, f"{word!r} not in: {verdict.message}"


@pytest.mark.parametrize(("wrong", "words"), [
    (lambda path: s5.best_epoch(path) - 1, ["expected epoch 2", "found 1", "counts from 0", "add 1"]),
    (lambda path: min((r for r in csv.DictReader(open(path)) if r["val/acc"]), key=lambda r: float(r["val/acc"]))
     ["epoch"], ["expected epoch 2", "found '2'", "return a number"]),
    (lambda path: 3, ["expected epoch 2", "found 3", "lowest val/acc"]),
])
def test_a_wrong_reading_of_the_run_folder_is_caught(run_dir, wrong, words):
    verdict = check.best_epoch(wrong, run_dir)
    assert not verdict
    for word in words:
        assert word in verdict.message, f"{word!r} not in: {verdict.message}"


def test_the_checkers_leave_the_learners_inputs_alone():
    """A function that changes its input in place is judged on what it returns, and the checker's own tensors
    (from which it computes dlref's and torch's answers) are not touched."""

    def relu_in_place(x):
        return x.clamp_(min=0)

    assert check.relu(relu_in_place)
    assert check.relu(s1.relu)


def _gradients_by_autograd(X, T, W, B):
    W, B = W.clone().requires_grad_(), B.clone().requires_grad_()
    (0.5 * ((X @ W.T + B - T) ** 2).sum(dim=1).mean()).backward()
    return W.grad, B.grad


def _gradients_by_autograd_grad(X, T, W, B):
    W, B = W.clone().requires_grad_(), B.clone().requires_grad_()
    return torch.autograd.grad(0.5 * ((X @ W.T + B - T) ** 2).sum(dim=1).mean(), [W, B])


def _dropout_by_torch(X, p, training):
    return torch.nn.functional.dropout(X, p, training)


def _lstm_step_by_torch(x_t, h_prev, c_prev, W_x, W_h, b):
    f, g, i, o = range(4)  # the slide's order in W_x; nn.LSTMCell's is i, f, g, o
    cell = torch.nn.LSTMCell(x_t.shape[1], h_prev.shape[1]).to(x_t.dtype)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.cat([W_x[k].T for k in (i, f, g, o)]))
        cell.weight_hh.copy_(torch.cat([W_h[k].T for k in (i, f, g, o)]))
        cell.bias_ih.copy_(torch.cat([b[k] for k in (i, f, g, o)])), cell.bias_hh.zero_()
    return cell(x_t, (h_prev, c_prev))


@pytest.mark.parametrize("name, answer, used, instead", [
    ("relu", lambda x: torch.relu(x), "torch.relu", "torch.where(x > 0, x, 0)"),
    ("relu", lambda x: x.relu(), "Tensor.relu", "x.clamp(min=0)"),
    ("relu", lambda x: torch.nn.ReLU()(x), "F.relu", "torch.where"),
    ("gradients", _gradients_by_autograd, "backward", "by hand with matrix products"),
    ("gradients", _gradients_by_autograd_grad, "torch.autograd.grad", "by hand"),
    ("correlate2d", lambda X, W: torch.nn.functional.conv2d(X[None, None], W[None, None])[0, 0], "F.conv2d",
     "two loops"),
    ("dropout", _dropout_by_torch, "F.dropout", "torch.rand_like(X) >= p"),
    ("lstm_step", _lstm_step_by_torch, "nn.LSTMCell", "the six equations"),
], ids=["torch.relu", "Tensor.relu", "nn.ReLU", "backward", "autograd.grad", "conv2d", "dropout", "LSTMCell"])
def test_an_answer_that_uses_what_the_exercise_rules_out_is_not_right(name, answer, used, instead):
    verdict = getattr(check, name)(answer)
    assert not verdict, f"{name}: an answer calling {used} was judged right"
    assert verdict.message.startswith(f"✘ {name}: the exercise asks for it without ")
    assert f"calling {used};" in verdict.message
    assert instead in verdict.message
    assert torch.relu(torch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]  # the watch is undone afterwards
    assert "relu" not in vars(torch.Tensor) and torch.Tensor.backward.__name__ == "backward"
