"""Curves per epoch: one run's learning curves, several runs side by side or on the same axes, K-fold scores."""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from ._common import TRAIN, VAL, _save


def _curve(ax, values, *style, **kwargs) -> None:
    ax.plot(np.arange(1, len(values) + 1), values, *style, **kwargs)  # epochs from 1


def _panel(ax, ylabel: str, title: str, percent: bool = False, **legend) -> None:
    """What every curve panel shares: labels, whole epochs, a light grid, the legend; an accuracy in percent."""
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    ax.legend(**legend)


def _min_marker(ax, values, color, label=True) -> None:
    best = int(np.argmin(values))
    ax.plot(best + 1, values[best], "o", color=color, markersize=7, markeredgecolor="black",
            label=f"lowest validation loss (epoch {best + 1})" if label else None)


def _loss_ylim(ax, histories) -> None:
    """From 0 to a little above every loss after epoch 1: the first epoch's high loss would flatten the rest."""
    later = [v for h in histories for key in ("train/loss", "val/loss") for v in h.get(key, [])[1:]]
    if len(later) >= 3:
        ax.set_ylim(0, 1.1 * max(later))


def learning_curves(history: dict, path, title: str = "Learning curves", chosen: tuple[int, str] | None = None
                    ) -> Path:
    """Loss (left) and accuracy (right) per epoch, training and validation. ``chosen``: ``(epoch, why)``, the epoch
    (from 1) whose weights the run kept as ``best.ckpt`` and what it was chosen on, drawn as a dashed line."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    for ax, metric, name in zip(fig.subplots(1, 2), ("loss", "acc"), ("cross-entropy loss", "accuracy")):
        for stage, color, label in (("train", TRAIN, "training"), ("val", VAL, "validation")):
            values = history.get(f"{stage}/{metric}")
            if values:
                _curve(ax, values, "o-", color=color, markersize=3, label=label)
        if metric == "loss" and history.get("val/loss"):
            _min_marker(ax, history["val/loss"], VAL)
        if chosen is not None:
            ax.axvline(chosen[0], color="black", linestyle="--", linewidth=1, label=f"best.ckpt (epoch {chosen[0]})")
        _panel(ax, name, f"{name.capitalize()} per epoch", percent=metric == "acc")
    fig.supxlabel("Training: mean over the epoch's batches while the weights still change, dropout on. "
                  "Validation: after the epoch, dropout off. So early on, training can score below validation.",
                  fontsize=8, color="dimgray")
    return _save(fig, path, title if chosen is None else f"{title}\nbest.ckpt: epoch {chosen[0]}, {chosen[1]}")


def fitting_curves(panels: dict[str, dict], path, title: str) -> Path:
    """One panel per run (title → history): training and validation loss per epoch. Where validation loss rises
    after its minimum while training loss ends far below it, the epochs after the minimum are shaded: the model is
    fitting noise in its training images."""
    fig = Figure(figsize=(5.5 * len(panels), 4.2), layout="constrained")
    for ax, (name, h) in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels.items()):
        _curve(ax, h["train/loss"], "-", color=TRAIN, label="training loss")
        _curve(ax, h["val/loss"], "-", color=VAL, label="validation loss")
        _min_marker(ax, h["val/loss"], VAL)
        best, last = int(np.argmin(h["val/loss"])), len(h["val/loss"])
        if h["val/loss"][-1] > h["val/loss"][best] * 1.05 and h["train/loss"][-1] < h["val/loss"][best] / 2:
            ax.axvspan(best + 1, last, color="red", alpha=0.08, label="overfitting: validation loss rises")
        _loss_ylim(ax, [h])
        if h.get("train/acc") and h.get("val/acc"):
            name += f"\nlast epoch: accuracy {h['train/acc'][-1]:.1%} training, {h['val/acc'][-1]:.1%} validation"
        _panel(ax, "cross-entropy loss", name, fontsize=8)
    return _save(fig, path, title)


def compare_curves(runs: dict[str, dict], path, title: str) -> Path:
    """Several runs on the same axes: validation loss (solid) and training loss (dashed), validation accuracy."""
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    for i, (name, h) in enumerate(runs.items()):
        color = f"C{i}"
        _curve(loss_ax, h["val/loss"], "-", color=color)  # the runs' legend is on the right
        _curve(loss_ax, h["train/loss"], "--", color=color, alpha=0.6, linewidth=1)
        _min_marker(loss_ax, h["val/loss"], color, label=False)
        _curve(acc_ax, h["val/acc"], "-", color=color, label=name)
        if h.get("stopped_epoch"):
            acc_ax.plot(len(h["val/acc"]), h["val/acc"][-1], "X", color=color, markersize=10, markeredgecolor="black")
    loss_ax.plot([], [], "k-", label="validation loss (solid)")  # a legend of line styles, not of runs
    loss_ax.plot([], [], "k--", alpha=0.6, linewidth=1, label="training loss (dashed)")
    loss_ax.plot([], [], "o", color="gray", markeredgecolor="black", label="lowest validation loss")
    _loss_ylim(loss_ax, runs.values())
    if any(h.get("stopped_epoch") for h in runs.values()):
        acc_ax.plot([], [], "X", color="gray", markeredgecolor="black", label="early stopping ended the run")
    _panel(loss_ax, "cross-entropy loss", "Loss: validation (solid), training (dashed)", fontsize=8)
    _panel(acc_ax, "validation accuracy", "Validation accuracy", percent=True, fontsize=8)
    return _save(fig, path, title)


def fold_scores(histories: list[dict], accuracies: list[float], path, title: str,
                labels: list[str] | None = None) -> Path:
    """Validation accuracy per epoch of every fold (left) and each fold's final score with mean ± std (right)."""
    acc = np.asarray(accuracies, dtype=float)
    mean, std = acc.mean(), acc.std(ddof=1) if len(acc) > 1 else 0.0
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    curve_ax, bar_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1.2, 1)})
    for k, h in enumerate(histories):
        if h.get("val/acc"):
            _curve(curve_ax, h["val/acc"], "-", color="tab:gray", alpha=0.6, label="one fold" if k == 0 else None)
    curves = [h["val/acc"] for h in histories if h.get("val/acc")]
    if curves and len({len(c) for c in curves}) == 1:
        _curve(curve_ax, np.mean(curves, axis=0), "-", color=VAL, linewidth=2.5, label="mean of folds")
    _panel(curve_ax, "validation accuracy", "Validation accuracy per epoch, each fold", percent=True)
    x = np.arange(len(acc))
    bar_ax.bar(x, acc, color="tab:blue", alpha=0.7, label="fold's validation accuracy")
    bar_ax.axhline(mean, color="black", label=f"mean {mean:.2%}")
    bar_ax.axhspan(mean - std, mean + std, color="black", alpha=0.12, label=f"± 1 std ({std:.2%})")
    spread = max(acc.max() - acc.min(), std, 0.005)
    bottom = max(0.0, acc.min() - 2 * spread)
    bar_ax.set_ylim(bottom, min(1.0, acc.max() + 3 * spread))
    bar_ax.set_xticks(x, labels or [str(k + 1) for k in x], rotation=90 if len(acc) > 12 else 0,
                      fontsize=8 if len(acc) > 12 else 10)
    bar_ax.set(xlabel="fold", ylabel="validation accuracy after the last epoch",
               title=f"Score of each fold (axis from {bottom:.1%}, not 0)")
    bar_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    bar_ax.legend(fontsize=8, loc="upper right")
    return _save(fig, path, title)
