"""Pictures of digits: the confusion matrix, the misclassified test digits, the deck's Figure 1.5 ("a deep neural
network for digit classification": each input beside the ten probabilities the network gives) and Figure 1.6
(what each layer makes of one digit)."""

import math
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torchvision.utils import make_grid

from ._common import INK, MAPS, _save

PAGE = 24  # Figure 1.5's images on one page: 6 rows of 4
COLUMNS = 4


def confusion_matrix(matrix, path, title: str = "Confusion matrix, test set") -> Path:
    """Counts ``matrix[true, predicted]``; the diagonal is what the model gets right."""
    m = np.asarray(matrix.cpu() if isinstance(matrix, torch.Tensor) else matrix, dtype=np.int64)
    k = len(m)
    fig = Figure(figsize=(6.4, 5.6))
    ax = fig.subplots()
    shown = np.log1p(m)  # log colour scale: the few errors stay visible beside ~1000 correct
    image = ax.imshow(shown, cmap="Blues")
    for i, j in zip(*np.nonzero(m)):
        dark = shown[i, j] > shown.max() * 0.6
        ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted digit", ylabel="true digit",
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
    return _save(fig, path, f"{title}: the first {n} of {total:,}" if total is not None else f"{title} ({n} shown)")


def predicted_digits(X, probabilities, names, path, title: str) -> Path:
    """Figure 1.5: the first ``PAGE`` inputs ``X`` ``(N, 1, 28, 28)`` (as the network saw them), each beside a bar
    chart of its row of ``probabilities`` ``(N, classes)``, the predicted class in green; ``names`` label them."""
    X = X.detach().float().cpu().reshape(len(X), -1, X.shape[-1])[:PAGE].numpy()  # (n, 28, 28)
    P = torch.as_tensor(probabilities).detach().float().cpu()[:PAGE].numpy()  # (n, classes)
    n, classes = len(X), P.shape[1]
    columns = min(COLUMNS, n)
    rows = math.ceil(n / columns)
    fig = Figure(figsize=(3.4 * columns, 1.75 * rows + 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, 2 * columns, width_ratios=[1, 1.4] * columns))
    for ax in axes.ravel():
        ax.set_axis_off()
    for k, (image, p, name) in enumerate(zip(X, P, names)):
        shown, bars = axes[k // columns, 2 * (k % columns)], axes[k // columns, 2 * (k % columns) + 1]
        predicted = int(p.argmax())
        shown.imshow(image, cmap=INK, interpolation="nearest")  # the network's input: bright ink drawn dark
        name = Path(str(name)).name
        shown.set_title(name if len(name) <= 24 else "…" + name[-23:], fontsize=7, loc="left")  # a long name's end
        bars.set_axis_on()
        bars.bar(range(classes), p, color=["tab:green" if c == predicted else "tab:gray" for c in range(classes)])
        bars.set(ylim=(0, 1), yticks=[])
        bars.set_xticks(range(classes), [str(c) for c in range(classes)], fontsize=6)
        bars.set_title(f"{predicted}, p = {p[predicted]:.2f}", fontsize=8)
        bars.spines[["top", "right", "left"]].set_visible(False)
    return _save(fig, path, title + (f" (the first {n})" if len(probabilities) > n else ""))


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


def _near_square(n: int) -> tuple[int, int]:
    rows = max(d for d in range(1, int(math.isqrt(n)) + 1) if n % d == 0)
    return (rows, n // rows) if n // rows <= 4 * rows else (math.isqrt(n), math.ceil(n / math.isqrt(n)))


def as_picture(A: torch.Tensor) -> tuple[np.ndarray, str]:
    """An activation (one of ``layer_outputs``) as a 2-D picture and the words for its shape."""
    A = A.detach().float().cpu().numpy()
    if A.ndim == 3 and A.shape[0] == 1:
        return A[0], f"{A.shape[1]}×{A.shape[2]} pixels"
    if A.ndim == 3:
        # each map scaled to its own range, so a weak map's pattern shows as well as a strong one's
        low, high = A.min(axis=(1, 2), keepdims=True), A.max(axis=(1, 2), keepdims=True)
        A = (A - low) / np.where(high > low, high - low, 1.0)
        # the maps tiled, a 1-pixel gap (NaN, drawn blank) between them; make_grid repeats one channel into three
        grid = make_grid(torch.from_numpy(A)[:, None], nrow=math.ceil(math.sqrt(len(A))), padding=1, pad_value=math.nan)
        return grid[0].numpy(), f"{A.shape[0]} maps of {A.shape[1]}×{A.shape[2]}, each scaled"
    if A.ndim == 2:
        return A, f"{A.shape[0]} steps × {A.shape[1]} units"
    rows, cols = _near_square(A.size)
    padded = np.full(rows * cols, np.nan)
    padded[: A.size] = A
    return padded.reshape(rows, cols), f"{A.size} units, as {rows}×{cols}"


def layer_panels(outputs: list[tuple[str, torch.Tensor]]) -> list[tuple[str, np.ndarray, str, str]]:
    """Figure 1.6's pictures, ``(name, picture, its shape in words, colour map)`` for each of ``layer_outputs`` but
    the last (the class scores): the input in ink, each layer's output in ``MAPS``."""
    return [(name, *as_picture(A), INK if k == 0 else MAPS) for k, (name, A) in enumerate(outputs[:-1])]


def representations(outputs: list[tuple[str, torch.Tensor]], path, title: str, true: int | None = None) -> Path:
    """Figure 1.6: the input, what each layer makes of it (one panel per layer), then the class scores.

    ``outputs`` is ``layer_outputs(model, X)``; its last entry, the logits, is drawn as the
    softmax probabilities of the classes.
    """
    last_name, logits = outputs[-1]
    probabilities = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    pictures = layer_panels(outputs)
    panels = len(pictures) + 1
    rows = 1 if panels <= 4 else 2  # a CNN's seven panels wrap onto two rows, read left to right
    columns = math.ceil(panels / rows)
    fig = Figure(figsize=(3.3 * columns, 3.5 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax in axes[panels:]:  # cells left empty on the last row
        ax.set_axis_off()
    for ax, (name, picture, shape, cmap) in zip(axes, pictures):
        ax.imshow(picture, cmap=cmap, interpolation="nearest")
        ax.set_title(f"{name}\n{shape}", fontsize=9)
        ax.set(xticks=[], yticks=[])
        if picture.ndim == 2 and "steps" in shape:
            ax.set(xlabel="unit", ylabel="step t (image row)")
    ax = axes[panels - 1]
    predicted = int(np.argmax(probabilities))
    colors = ["tab:green" if k == predicted else "tab:gray" for k in range(len(probabilities))]
    ax.barh(range(len(probabilities)), probabilities, color=colors)
    for k, p in enumerate(probabilities):
        ax.text(min(p, 0.75) + 0.02, k, f"{p:.2f}", va="center", fontsize=7)
    ax.set(yticks=range(len(probabilities)), xlim=(0, 1), xlabel="softmax probability", ylabel="class")
    ax.invert_yaxis()
    ax.set_title(f"{last_name}\nclass scores: predicted {predicted}", fontsize=9)
    suffix = f" (true label {true}, predicted {predicted})" if true is not None else ""
    return _save(fig, path, title + suffix)
