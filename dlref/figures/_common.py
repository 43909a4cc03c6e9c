"""What every figure shares: the colours, and saving through matplotlib's Agg canvas (never pyplot)."""

from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

DPI = 100
TRAIN, VAL = "tab:blue", "tab:orange"
MAPS = "magma"  # activations: dark = 0 (ReLU off), bright = large
INK = "gray_r"  # digits as dark ink on white paper


def _save(fig: Figure, path, title: str | None = None) -> Path:
    """``fig`` as a PNG at ``path`` (its folder made), with ``title`` above its panels."""
    if title is not None:
        fig.suptitle(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight",
                metadata={"Software": f"dlref, matplotlib {matplotlib.__version__}"})
    return path
