"""A callback that signals its own `dlref fit` process at chosen points (used by tests/test_resume.py).

``Killer(points="step:6,val:1,step:27", marker_dir=...)``: ``step:N`` signals right after training step N
(after its checkpoint, if one is due), ``val:E`` during the validation of epoch E (counted from 0). The
signal is SIGKILL unless ``signal`` names another (``SIGINT``, ``SIGTERM``). Each point fires once: a
marker file remembers it, so the resumed run goes past it.
"""

import os
import signal as signals
from pathlib import Path

import lightning.pytorch as pl


class Killer(pl.Callback):
    def __init__(self, points: str, marker_dir: str, signal: str = "SIGKILL"):
        self.points = [tuple(p.split(":")) for p in points.split(",") if p]
        self.marker_dir = Path(marker_dir)
        self.signal = getattr(signals, signal)

    def _maybe_kill(self, kind: str, value: int) -> None:
        for point in self.points:
            marker = self.marker_dir / f"killed-{point[0]}-{point[1]}"
            if point == (kind, str(value)) and not marker.exists():
                marker.touch()
                os.kill(os.getpid(), self.signal)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._maybe_kill("step", trainer.global_step)

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if not trainer.sanity_checking:
            self._maybe_kill("val", trainer.current_epoch)
