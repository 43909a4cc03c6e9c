"""Figure 1.5, "a deep neural network for digit classification": each input the network saw beside the ten
probabilities it gives, one page of them. Figure 1.6 (``representations``) shows the layers in between."""

import math
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from ._common import INK, _save

PAGE = 24  # images on one page: 6 rows of 4
COLUMNS = 4


def _short(name: str, width: int = 24) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1):]  # the end of a path names the file


def predicted_digits(X, probabilities, names, path, title: str) -> Path:
    """The first ``PAGE`` inputs ``X`` ``(N, 1, 28, 28)`` (as the network saw them), each beside a bar chart of
    its row of ``probabilities`` ``(N, classes)``, the predicted class in green; ``names`` label them."""
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
        shown.set_title(_short(Path(str(name)).name), fontsize=7, loc="left")
        bars.set_axis_on()
        bars.bar(range(classes), p, color=["tab:green" if c == predicted else "tab:gray" for c in range(classes)])
        bars.set_ylim(0, 1)
        bars.set_xticks(range(classes), [str(c) for c in range(classes)], fontsize=6)
        bars.set_yticks([])
        bars.set_title(f"{predicted}, p = {p[predicted]:.2f}", fontsize=8)
        for side in ("top", "right", "left"):
            bars.spines[side].set_visible(False)
    fig.suptitle(title + (f" (the first {n})" if len(probabilities) > n else ""))
    return _save(fig, path)
