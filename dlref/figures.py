"""Figures — the pictures a learner looks at after training, as PNG files.

- ``learning_curves``: loss and accuracy per epoch, training and validation (the "Overfitting" slide).
- ``fitting_curves`` / ``compare_curves``: several runs side by side or on the same axes
  (overfitting vs underfitting; the remedies: more data, weight decay, dropout, early stopping).
- ``fold_scores``: the "Evaluation" slide's K-fold: one score per fold, their mean ± standard deviation.
- ``confusion_matrix`` and ``misclassified``: which test digits the model gets wrong.
- ``representations``: the deck's Figure 1.6, "deep representations learned by a digit-classification
  model": what each successive layer makes of one digit, from the input to the class scores;
  ``layer_outputs`` computes them.

A history is a dict of per-epoch lists keyed like the Lightning logs: ``train/loss``, ``val/loss``,
``train/acc``, ``val/acc`` (any may be missing). Plots use matplotlib's object API with the Agg
canvas (``Figure.savefig``), never pyplot: no window, no global state, safe in tests and on servers.
"""

import math
from pathlib import Path

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

DPI = 100
TRAIN, VAL = "tab:blue", "tab:orange"
MAPS = "magma"  # activations: dark = 0 (ReLU off), bright = large
INK = "gray_r"  # digits as dark ink on white paper


def _save(fig: Figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight",
                metadata={"Software": f"dlref, matplotlib {matplotlib.__version__}"})
    return path


def _epochs(values) -> np.ndarray:
    return np.arange(1, len(values) + 1)


def _integer_epochs(*axes) -> None:
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _min_marker(ax, values, color, label=True) -> None:
    best = int(np.argmin(values))
    ax.plot(best + 1, values[best], "o", color=color, markersize=7, markeredgecolor="black",
            label=f"lowest validation loss (epoch {best + 1})" if label else None)


def _loss_ylim(ax, histories) -> None:
    """From 0 to a little above every loss after epoch 1: the first epoch's high loss would flatten the rest."""
    later = [v for h in histories for key in ("train/loss", "val/loss") for v in h.get(key, [])[1:]]
    if len(later) >= 3:
        ax.set_ylim(0, 1.1 * max(later))


def learning_curves(history: dict, path, title: str = "Learning curves") -> Path:
    """Loss (left) and accuracy (right) per epoch, training and validation."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    for ax, metric, name in zip(fig.subplots(1, 2), ("loss", "acc"), ("cross-entropy loss", "accuracy")):
        for stage, color, label in (("train", TRAIN, "training"), ("val", VAL, "validation")):
            values = history.get(f"{stage}/{metric}")
            if values:
                ax.plot(_epochs(values), values, "o-", color=color, markersize=3, label=label)
        if metric == "loss" and history.get("val/loss"):
            _min_marker(ax, history["val/loss"], VAL)
        ax.set(xlabel="epoch", ylabel=name, title=f"{name.capitalize()} per epoch")
        _integer_epochs(ax)
        if metric == "acc":
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.supxlabel("Training: mean over the epoch's batches while the weights still change, dropout on. "
                  "Validation: after the epoch, dropout off. So early on, training can score below validation.",
                  fontsize=8, color="dimgray")
    return _save(fig, path)


def fitting_curves(panels: dict[str, dict], path, title: str) -> Path:
    """One panel per run (title → history): training and validation loss per epoch.

    Where validation loss rises after its minimum while training loss ends far below it, the panel
    shades the epochs after the minimum: the model is fitting noise in its training images.
    """
    fig = Figure(figsize=(5.5 * len(panels), 4.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (name, h) in zip(axes, panels.items()):
        ax.plot(_epochs(h["train/loss"]), h["train/loss"], "-", color=TRAIN, label="training loss")
        ax.plot(_epochs(h["val/loss"]), h["val/loss"], "-", color=VAL, label="validation loss")
        _min_marker(ax, h["val/loss"], VAL)
        best, last = int(np.argmin(h["val/loss"])), len(h["val/loss"])
        if h["val/loss"][-1] > h["val/loss"][best] * 1.05 and h["train/loss"][-1] < h["val/loss"][best] / 2:
            ax.axvspan(best + 1, last, color="red", alpha=0.08, label="overfitting: validation loss rises")
        _loss_ylim(ax, [h])
        if h.get("train/acc") and h.get("val/acc"):
            name += f"\nlast epoch: accuracy {h['train/acc'][-1]:.1%} training, {h['val/acc'][-1]:.1%} validation"
        ax.set(xlabel="epoch", ylabel="cross-entropy loss", title=name)
        _integer_epochs(ax)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def compare_curves(runs: dict[str, dict], path, title: str) -> Path:
    """Several runs on the same axes: validation loss (solid) and training loss (dashed), validation accuracy."""
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    for i, (name, h) in enumerate(runs.items()):
        color = f"C{i}"
        loss_ax.plot(_epochs(h["val/loss"]), h["val/loss"], "-", color=color)  # the runs' legend is on the right
        loss_ax.plot(_epochs(h["train/loss"]), h["train/loss"], "--", color=color, alpha=0.6, linewidth=1)
        _min_marker(loss_ax, h["val/loss"], color, label=False)
        acc_ax.plot(_epochs(h["val/acc"]), h["val/acc"], "-", color=color, label=name)
        if h.get("stopped_epoch"):
            acc_ax.plot(len(h["val/acc"]), h["val/acc"][-1], "X", color=color, markersize=10, markeredgecolor="black")
    loss_ax.plot([], [], "k-", label="validation loss (solid)")  # a legend of line styles, not of runs
    loss_ax.plot([], [], "k--", alpha=0.6, linewidth=1, label="training loss (dashed)")
    loss_ax.plot([], [], "o", color="gray", markeredgecolor="black", label="lowest validation loss")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss: validation (solid), training (dashed)")
    _loss_ylim(loss_ax, runs.values())
    acc_ax.set(xlabel="epoch", ylabel="validation accuracy", title="Validation accuracy")
    acc_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    if any(h.get("stopped_epoch") for h in runs.values()):
        acc_ax.plot([], [], "X", color="gray", markeredgecolor="black", label="early stopping ended the run")
    _integer_epochs(loss_ax, acc_ax)
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def fold_scores(histories: list[dict], accuracies: list[float], path, title: str,
                labels: list[str] | None = None) -> Path:
    """Validation accuracy per epoch of every fold (left) and each fold's final score with mean ± std (right)."""
    acc = np.asarray(accuracies, dtype=float)
    mean, std = acc.mean(), acc.std(ddof=1) if len(acc) > 1 else 0.0
    labels = labels or [str(k + 1) for k in range(len(acc))]
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    curve_ax, bar_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1.2, 1)})
    for k, h in enumerate(histories):
        if h.get("val/acc"):
            curve_ax.plot(_epochs(h["val/acc"]), h["val/acc"], "-", color="tab:gray", alpha=0.6,
                          label="one fold" if k == 0 else None)
    curves = [h["val/acc"] for h in histories if h.get("val/acc")]
    if curves and len({len(c) for c in curves}) == 1:
        curve_ax.plot(_epochs(curves[0]), np.mean(curves, axis=0), "-", color=VAL, linewidth=2.5, label="mean of folds")
    curve_ax.set(xlabel="epoch", ylabel="validation accuracy", title="Validation accuracy per epoch, each fold")
    curve_ax.grid(alpha=0.3)
    _integer_epochs(curve_ax)
    curve_ax.legend()
    x = np.arange(len(acc))
    bar_ax.bar(x, acc, color="tab:blue", alpha=0.7, label="fold's validation accuracy")
    bar_ax.axhline(mean, color="black", label=f"mean {mean:.2%}")
    bar_ax.axhspan(mean - std, mean + std, color="black", alpha=0.12, label=f"± 1 std ({std:.2%})")
    spread = max(acc.max() - acc.min(), std, 0.005)
    bottom = max(0.0, acc.min() - 2 * spread)
    bar_ax.set_ylim(bottom, min(1.0, acc.max() + 3 * spread))
    bar_ax.set_xticks(x, labels, rotation=90 if len(acc) > 12 else 0, fontsize=8 if len(acc) > 12 else 10)
    bar_ax.set(xlabel="fold", ylabel="validation accuracy after the last epoch",
               title=f"Score of each fold (axis from {bottom:.1%}, not 0)")
    bar_ax.legend(fontsize=8, loc="upper right")
    for ax in (curve_ax, bar_ax):
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    fig.suptitle(title)
    return _save(fig, path)


def confusion_matrix(matrix, path, title: str = "Confusion matrix, test set") -> Path:
    """Counts ``matrix[true, predicted]``; the diagonal is what the model gets right."""
    m = np.asarray(matrix.cpu() if isinstance(matrix, torch.Tensor) else matrix, dtype=np.int64)
    k = len(m)
    fig = Figure(figsize=(6.4, 5.6))
    ax = fig.subplots()
    shown = np.log1p(m)  # log colour scale: the few errors stay visible beside ~1000 correct
    image = ax.imshow(shown, cmap="Blues")
    for i in range(k):
        for j in range(k):
            if m[i, j]:
                dark = shown[i, j] > shown.max() * 0.6
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set(xlabel="predicted digit", ylabel="true digit",
           title=f"{title}: {np.trace(m) / max(m.sum(), 1):.2%} correct of {m.sum():,}")
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ticks = [t for t in (0, 1, 10, 100, 1000, 10000) if t <= max(m.max(), 1)]
    bar.set_ticks(np.log1p(ticks), labels=[str(t) for t in ticks])
    bar.set_label("images (log scale)")
    return _save(fig, path)


def misclassified(images, true, predicted, path, title: str = "Misclassified test digits", columns: int = 8,
                  total: int | None = None) -> Path:
    """A grid of misclassified digits, each titled with its true and predicted label (``total``: how many in all)."""
    images = images.detach().cpu().reshape(len(images), -1, images.shape[-1]) if len(images) else images
    n = len(images)
    rows = max(1, math.ceil(n / columns))
    fig = Figure(figsize=(1.3 * columns, 1.55 * rows + 0.5))
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, X, t, y in zip(axes, images, true, predicted):
        ax.imshow(X.numpy(), cmap=INK)
        ax.set_title(f"true {int(t)}\npredicted {int(y)}", fontsize=9, color="tab:red")
    if n == 0:
        axes[0].text(0.5, 0.5, "none: every digit was classified correctly", ha="center", va="center")
    fig.suptitle(f"{title}: the first {n} of {total:,}" if total is not None else f"{title} ({n} shown)")
    return _save(fig, path)


@torch.no_grad()
def layer_outputs(model: torch.nn.Module, X: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """``[("input", X), (layer name, its output), …]`` for one example ``X`` through ``model.layers`` in order.

    A layer that hands its input on unchanged (``Dropout`` in evaluation, ``Flatten``) is left out;
    for an ``LSTMLayer`` (which returns ``(H, (h_T, c_T))``) the hidden states ``H`` are kept.
    """
    layers = getattr(model, "layers", None) or list(model.children())
    was_training = model.training
    model.eval()
    outputs, Y = [("input", X[0])], X
    for layer in layers:
        Y_next = layer(Y)
        shown = Y_next[0] if isinstance(Y_next, tuple) else Y_next
        same = isinstance(Y, torch.Tensor) and shown.numel() == Y.numel() and torch.equal(shown.flatten(), Y.flatten())
        if not same:
            activate = getattr(getattr(layer, "activate", None), "__name__", None)
            name = f"layer {len(outputs)}: {type(layer).__name__}"
            outputs.append((name + (f", {activate}" if activate and activate != "identity" else ""), shown[0]))
        Y = Y_next
    model.train(was_training)
    return outputs


def _tile(maps: np.ndarray, columns: int) -> np.ndarray:
    """``(channels, h, w)`` → one image, ``columns`` maps per row with a 1-pixel gap (NaN, drawn blank)."""
    c, h, w = maps.shape
    rows = math.ceil(c / columns)
    out = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for k in range(c):
        r, q = divmod(k, columns)
        out[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = maps[k]
    return out


def _near_square(n: int) -> tuple[int, int]:
    rows = max(d for d in range(1, int(math.isqrt(n)) + 1) if n % d == 0)
    return (rows, n // rows) if n // rows <= 4 * rows else (math.isqrt(n), math.ceil(n / math.isqrt(n)))


def _as_picture(A: np.ndarray) -> tuple[np.ndarray, str]:
    """An activation as a 2-D picture and the words for its shape."""
    if A.ndim == 3 and A.shape[0] == 1:
        return A[0], f"{A.shape[1]}×{A.shape[2]} pixels"
    if A.ndim == 3:
        # each map scaled to its own range, so a weak map's pattern shows as well as a strong one's
        low, high = A.min(axis=(1, 2), keepdims=True), A.max(axis=(1, 2), keepdims=True)
        A = (A - low) / np.where(high > low, high - low, 1.0)
        columns = math.ceil(math.sqrt(A.shape[0]))
        return _tile(A, columns), f"{A.shape[0]} maps of {A.shape[1]}×{A.shape[2]}, each scaled"
    if A.ndim == 2:
        return A, f"{A.shape[0]} steps × {A.shape[1]} units"
    rows, cols = _near_square(A.size)
    padded = np.full(rows * cols, np.nan)
    padded[: A.size] = A
    return padded.reshape(rows, cols), f"{A.size} units, as {rows}×{cols}"


def representations(outputs: list[tuple[str, torch.Tensor]], path, title: str, true: int | None = None) -> Path:
    """Figure 1.6: the input, what each layer makes of it (one panel per layer), then the class scores.

    ``outputs`` is ``layer_outputs(model, X)``; its last entry, the logits, is drawn as the
    softmax probabilities of the classes.
    """
    *maps, (last_name, logits) = outputs
    probabilities = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    pictures = [(name, *_as_picture(A.detach().float().cpu().numpy())) for name, A in maps]
    panels = len(pictures) + 1
    rows = 1 if panels <= 4 else 2  # a CNN's seven panels wrap onto two rows, read left to right
    columns = math.ceil(panels / rows)
    fig = Figure(figsize=(3.3 * columns, 3.5 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax in axes[panels:]:  # cells left empty on the last row
        ax.set_axis_off()
    for k, (ax, (name, picture, shape)) in enumerate(zip(axes, pictures)):
        ax.imshow(picture, cmap=INK if k == 0 else MAPS, interpolation="nearest")
        ax.set_title(f"{name}\n{shape}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        if picture.ndim == 2 and "steps" in shape:
            ax.set(xlabel="unit", ylabel="step t (image row)")
        ax = axes[panels - 1]
    predicted = int(np.argmax(probabilities))
    colors = ["tab:green" if k == predicted else "tab:gray" for k in range(len(probabilities))]
    ax.barh(range(len(probabilities)), probabilities, color=colors)
    for k, p in enumerate(probabilities):
        ax.text(min(p, 0.75) + 0.02, k, f"{p:.2f}", va="center", fontsize=7)
    ax.set_yticks(range(len(probabilities)))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set(xlabel="softmax probability", ylabel="class", title=f"{last_name}\nclass scores: predicted {predicted}")
    ax.title.set_fontsize(9)
    suffix = f" (true label {true}, predicted {predicted})" if true is not None else ""
    fig.suptitle(title + suffix)
    return _save(fig, path)
