"""Figures — a Lightning ``Callback`` that draws a run's pictures into its log folder.

    trainer = pl.Trainer(callbacks=[Figures()])
    dlref fit --config configs/cnn.yaml --trainer.callbacks+=dlref.lightning.figures.Figures

After ``fit``: ``learning_curves.png``. After ``test``: ``confusion_matrix.png`` (torchmetrics), ``misclassified.png``
and ``representations.png`` (the deck's Figure 1.6). Files go to ``trainer.log_dir`` (``runs/<network>/version_N``
under the ``dlref`` command), written by the first process only. ``dlref.figures`` draws them; this file only
collects what to draw.
"""

import itertools
from pathlib import Path

import lightning.pytorch as pl
import torch
from torchmetrics.classification import MulticlassConfusionMatrix

from dlref import figures

METRICS = ("train/loss", "train/acc", "val/loss", "val/acc")


def _unused(folder: Path, names: tuple[str, ...]) -> list[Path]:
    """``folder/NAME.png`` for each name, or the first ``NAME-N.png`` set of which no file exists yet."""
    for n in itertools.count(1):
        paths = [folder / (f"{name}.png" if n == 1 else f"{name}-{n}.png") for name in names]
        if not any(path.exists() for path in paths):
            return paths


class History(pl.Callback):
    """Keeps each epoch's ``train/`` and ``val/`` loss and accuracy: ``history["val/loss"][epoch]``."""

    def __init__(self):
        self.history = {name: [] for name in METRICS}
        self._pending = False

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Callbacks run before the LightningModule's own on_train_epoch_end, where the training metrics are
        # logged: read them once they are in callback_metrics, at the next epoch's start or at the end of fit.
        self._pending = True

    def _record(self, trainer: pl.Trainer) -> None:
        if self._pending:
            metrics, self._pending = trainer.callback_metrics, False
            for name in METRICS:
                if name in metrics:
                    self.history[name].append(metrics[name].item())

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._record(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._record(trainer)


class Figures(History):
    """Writes ``learning_curves.png`` after fit; ``confusion_matrix.png``, ``misclassified.png`` and
    ``representations.png`` after test.

    Args:
        enabled: ``False`` draws nothing (``--figures.enabled=false``).
        dirpath: folder for the PNG files; ``None`` takes ``trainer.log_dir``.
        max_misclassified: how many wrong test digits the grid shows.
        digit: index of the test image drawn layer by layer in ``representations.png``.
    """

    def __init__(self, enabled: bool = True, dirpath: str | None = None, max_misclassified: int = 32, digit: int = 0):
        super().__init__()
        self.enabled, self.dirpath, self.max_misclassified, self.digit = enabled, dirpath, max_misclassified, digit
        self.written: list[Path] = []  # the files written so far
        self.confusion = None  # after test: the confusion matrix (classes, classes), rows true, columns predicted
        self.shown_misclassified = 0

    def _dir(self, trainer: pl.Trainer) -> Path:
        return Path(self.dirpath or trainer.log_dir or trainer.default_root_dir)

    def _title(self, pl_module: pl.LightningModule) -> str:
        return str(pl_module.hparams.get("network", type(pl_module).__name__)).upper()

    def _chosen(self, trainer: pl.Trainer) -> tuple[int, str] | None:
        """``(epoch from 1, why)`` of the weights the run's checkpoint callback kept as its best: the first epoch
        whose logged score is the best one (it saves on a strict improvement), where this run logged it."""
        callback = trainer.checkpoint_callback
        score, monitor = getattr(callback, "best_model_score", None), getattr(callback, "monitor", None)
        values = self.history.get(monitor) if monitor else None
        if score is None or not values:
            return None
        epoch = next((k for k, v in enumerate(values) if abs(v - float(score)) <= 1e-7), None)
        if epoch is None:  # chosen in epochs another process ran (a resume): not in this history
            return None
        best = "highest" if getattr(callback, "mode", "min") == "max" else "lowest"
        what = {"val/acc": "validation accuracy", "val/loss": "validation loss"}.get(monitor, monitor)
        shown = f"{float(score):.2%}" if monitor.endswith("acc") else f"{float(score):.4f}"
        return epoch + 1, f"chosen on the {best} {what} ({shown})"

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        folder = self._dir(trainer) if self.enabled else None  # trainer.log_dir is a collective: every rank asks
        if self.enabled and trainer.is_global_zero and any(self.history.values()):
            self.written.append(figures.learning_curves(self.history, folder / "learning_curves.png",
                                                        f"{self._title(pl_module)}: learning curves",
                                                        self._chosen(trainer)))

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.enabled:
            return
        self._confusion = MulticlassConfusionMatrix(pl_module.hparams.get("num_classes", 10)).to(pl_module.device)
        self._wrong = []  # (image, true, predicted), at most max_misclassified
        self._example = None  # (image, label) of test image number `digit`
        self._seen = 0

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if not self.enabled:
            return
        X, t = batch
        with torch.no_grad():
            Y = pl_module(X).argmax(dim=1)  # test_step returns nothing: predict again, once per batch
        self._confusion.update(Y, t)
        if self._example is None and self._seen + len(X) > self.digit:
            k = self.digit - self._seen
            self._example = (X[k : k + 1].detach().clone(), int(t[k]))
        self._seen += len(X)
        room = self.max_misclassified - sum(len(w[0]) for w in self._wrong)
        if room > 0:
            wrong = (Y != t).nonzero().flatten()[:room]
            if len(wrong):
                self._wrong.append((X[wrong].detach().cpu(), t[wrong].cpu(), Y[wrong].cpu()))

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.enabled:
            return
        self.confusion = self._confusion.compute().cpu()  # [true, predicted], summed over every process
        folder, title = self._dir(trainer), self._title(pl_module)  # log_dir: a collective, asked on every rank
        if not trainer.is_global_zero:
            return
        # A later test of the same run (dlref test) numbers its pictures: the earlier ones stay as they were.
        confusion_png, misclassified_png, representations_png = _unused(
            folder, ("confusion_matrix", "misclassified", "representations"))
        self.written.append(figures.confusion_matrix(self.confusion, confusion_png,
                                                     f"{title}, confusion matrix on the test set"))
        images, true, predicted = (torch.cat(parts) for parts in zip(*self._wrong)) if self._wrong else (
            torch.empty(0, 1, 28, 28), torch.empty(0), torch.empty(0))
        self.shown_misclassified = len(images)
        wrong = int(self.confusion.sum() - self.confusion.trace())
        self.written.append(figures.misclassified(images, true, predicted, misclassified_png,
                                                  f"{title}: misclassified test digits", total=wrong))
        if self._example is not None:
            X, label = self._example
            outputs = figures.layer_outputs(pl_module.model if hasattr(pl_module, "model") else pl_module, X)
            self.written.append(figures.representations(outputs, representations_png, f"{title}: what each layer "
                                                        f"makes of test digit #{self.digit}", true=label))
