"""What the page shows for one drawing: the trained networks found in ``runs/``, each one's ten probabilities
(Figure 1.5) and, for the chosen one, what each layer makes of the digit (Figure 1.6). No gradio here.

    networks = find_networks("runs")          # {"fcn": Network(...), "cnn": ..., "lstm": ...}, best run of each
    answer = answer_for(networks, "drawing.png", chosen="cnn")
    answer.probabilities["cnn"]               # {"0": p0, ..., "9": p9}
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.colors import Normalize

import dlref
from dlref.data.images import ImageError, digit
from dlref.figures.digits import INK, layer_outputs, layer_panels  # Figure 1.6's panels, drawn the same way
from dlref.trained import NETWORKS, chosen_on, learned, model_from, read


class NoNetworkError(ValueError):
    """No trained checkpoint to show: the page would have nothing to classify with."""


@dataclass
class Network:
    name: str  # "cnn", or "cnn (version_3)" when two runs of one network are given
    path: Path  # its checkpoint
    model: dlref.Model
    accuracy: float | None = None  # the validation accuracy it was chosen on, where the checkpoint records it

    @property
    def score(self) -> str:
        return ("no validation accuracy recorded for this checkpoint" if self.accuracy is None
                else f"validation accuracy {self.accuracy:.2%}")

    @property
    def shown_path(self) -> str:
        """The checkpoint's path as the learner would type it: from the working folder when it is inside it."""
        try:
            return str(Path(self.path).resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(self.path)

    @property
    def about(self) -> str:
        return f"{self.shown_path} ({self.score})"


@dataclass
class Answer:
    seen: np.ndarray | None = None  # (28, 28, 3) uint8: the network's input X, as in Figure 1.5
    probabilities: dict[str, dict[str, float]] = field(default_factory=dict)  # network → {"0": p0, …, "9": p9}
    layers: list[tuple[np.ndarray, str]] = field(default_factory=list)  # Figure 1.6: (RGB picture, caption) per layer


def find_networks(runs="runs", checkpoints=(), left_out: list[str] | None = None) -> dict[str, Network]:
    """The networks to show: the given ``checkpoints``, or else the best run of each network in
    ``runs/<network>/version_*/checkpoints/best.ckpt``, the highest validation accuracy its checkpoint records (the
    newest among equals, or among runs that record none). A run that learned nothing (about chance), or whose file
    cannot be read, is never chosen: it is added to ``left_out``."""
    networks, skipped = {}, []
    for path in map(Path, checkpoints):
        # runs/cnn/version_0/checkpoints/best.ckpt is "cnn"; a checkpoint kept elsewhere is named by its file
        name = path.parent.parent.parent.name if path.parent.name == "checkpoints" else path.stem
        name = f"{name} ({path.parent.parent.name})" if name in networks else name
        checkpoint = read(path, missing=ValueError)  # one sentence and exit code 2, as every mistake in the command
        networks[name] = Network(name, path, model_from(checkpoint, path), chosen_on(checkpoint, path))
    for network in () if checkpoints else NETWORKS:
        best = None  # (accuracy or -1, path, checkpoint) of the best run so far: one checkpoint held at a time
        for path in sorted(Path(runs, network).glob("version_*/checkpoints/best.ckpt"), key=os.path.getmtime):
            try:
                checkpoint = read(path)
            except ValueError:  # damaged: another run may still serve (the file is left as it is)
                skipped.append(f"{path} (unreadable)")
                continue
            accuracy = chosen_on(checkpoint, path)
            if accuracy is not None and not learned(accuracy):
                skipped.append(f"{path} (val accuracy {accuracy:.1%}, about chance)")
            elif best is None or (-1.0 if accuracy is None else accuracy) >= best[0]:
                best = (-1.0 if accuracy is None else accuracy, path, checkpoint)
        if best is not None:
            _, path, checkpoint = best
            networks[network] = Network(network, path, model_from(checkpoint, path), chosen_on(checkpoint, path))
    if left_out is not None:
        left_out.extend(skipped)
    if not networks:
        left_out = f" (left out: {'; '.join(skipped)})" if skipped else ""
        raise NoNetworkError(f"expected a trained network in {runs}/{{fcn,cnn,lstm}}/version_N/checkpoints/"
                             f"best.ckpt, found none{left_out}; train one with `make train` (or MODEL=cnn, "
                             "MODEL=lstm), or pass --ckpt PATH.")
    with torch.no_grad():  # the first call of a network is slow (lazy set-up in torch): not the learner's first stroke
        for network in networks.values():
            layer_outputs(network.model, torch.zeros(1, 1, 28, 28))
    return networks


def _coloured(picture: np.ndarray, cmap: str) -> np.ndarray:
    """A 2-D picture as ``(h, w, 3)`` uint8 in ``cmap``, scaled to its range, gaps (NaN) white: one pixel per
    unit, enlarged by the browser (the page's CSS keeps each unit a sharp square)."""
    rgb = colormaps[cmap].with_extremes(bad="white")(Normalize()(np.ma.masked_invalid(picture)))[..., :3]
    return (rgb * 255).round().astype(np.uint8)


@torch.no_grad()
def answer_for(networks: dict[str, Network], drawing, chosen: str | None = None) -> Answer:
    """What the page shows for ``drawing`` (a picture file or an ``(H, W)`` array): an empty ``Answer`` for a
    blank one, else the input as the networks see it, every network's probabilities, and the layers of ``chosen``."""
    try:
        X = digit(drawing)  # (1, 1, 28, 28): brought to MNIST's form exactly as `dlref predict` does
    except ImageError:  # nothing drawn yet (or everything erased)
        return Answer()
    answer = Answer(seen=_coloured(X[0, 0].numpy(), INK))
    for name, network in networks.items():
        p = network.model.predict(X).softmax(1)[0]  # logits (1, 10) → probabilities (10,)
        answer.probabilities[name] = {str(c): float(v) for c, v in enumerate(p)}
    if chosen in networks:  # Figure 1.6 but the class scores, which are the probabilities shown beside
        answer.layers = [(_coloured(picture, cmap), f"{name}: {shape}")
                         for name, picture, shape, cmap in layer_panels(layer_outputs(networks[chosen].model, X))]
    return answer
