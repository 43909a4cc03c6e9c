"""Divergence — a loss that stops being finite, caught without reading it back at every step.

A learning rate too high for the slides' rule ``W ← W − η ∂L/∂W`` makes the weights grow until the
loss is ``inf`` or ``nan``; from then on every update is garbage. Checking ``if not
torch.isfinite(loss)`` at every step would catch it, but reading a value back makes the host wait
for the device at every step, which stalls a GPU. ``DivergenceGuard`` keeps the evidence on the
device instead: each step records, with two small tensor operations, the first step whose loss was
not finite. The host reads it only at a ``check``: every ``every`` steps, and wherever weights are
about to be used for anything but training (before validation, before a checkpoint is written, at
the end of training). A failed check also looks at the weights themselves (an update can make them
non-finite while the loss that produced it was still finite), puts back the weights of the last
check that passed, and raises ``DivergenceError`` naming the step: non-finite weights are never
evaluated, tested or saved.
"""

import math

import torch


class DivergenceError(RuntimeError):
    """The training loss or the weights stopped being finite; ``lr`` is the learning rate in use."""

    def __init__(self, what: str, lr: float | None = None):
        self.what, self.lr = what, lr
        super().__init__(self.sentence("lr="))

    def sentence(self, option: str) -> str:
        """The message with the remedy spelled as an entry point's ``option`` (``--model.lr=``, ``--lr ``, ``lr=``)."""
        if self.lr is None or not math.isfinite(self.lr) or self.lr <= 0:
            return f"{self.what}; a setting is likely too high: lower the learning rate ({option.rstrip('= ')})."
        return (f"{self.what}; the learning rate {self.lr:g} is likely too high: lower it "
                f"(e.g. {option}{self.lr / 10:g}).")


class DivergenceGuard:
    """Watches every step's loss on its device; ``check`` reads the verdict once and keeps the last good weights."""

    def __init__(self, parameters, every: int = 50):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"DivergenceGuard expected every >= 1 steps between checks, found {every!r}.")
        self.parameters, self.every = list(parameters), every
        self._first_bad = None  # 0-dim int64 on the loss's device: the first step with a non-finite loss, or -1
        self._good = [p.detach().clone() for p in self.parameters]  # the weights at the last passed check
        self.checked_step = 0  # the step of the last passed check

    @torch.no_grad()
    def watch(self, loss: torch.Tensor, step: int) -> None:
        """Record ``step`` (counted from 0) if ``loss`` is not finite and no earlier step's was (no host read)."""
        if self._first_bad is None:
            self._first_bad = torch.full((), -1, dtype=torch.int64, device=loss.device)
        bad = ~torch.isfinite(loss.detach()) & (self._first_bad < 0)
        self._first_bad = torch.where(bad, step, self._first_bad)

    def due(self, step: int) -> bool:
        """Whether a regular check is due after ``step`` steps."""
        return step % self.every == 0

    @torch.no_grad()
    def check(self, step: int, lr: float | None = None, where: str = "") -> None:
        """Raise ``DivergenceError`` (after restoring the last good weights) if training diverged; ``step``:
        steps taken so far."""
        first = -1 if self._first_bad is None else int(self._first_bad)  # the one host read
        finite = all(bool(torch.isfinite(p).all()) for p in self.parameters) if first < 0 else False
        if finite:
            for good, p in zip(self._good, self.parameters):
                good.copy_(p)
            self.checked_step = step
            return
        for good, p in zip(self._good, self.parameters):
            p.copy_(good)
        what = (f"expected a finite loss, found a non-finite one at step {first + 1}" if first >= 0 else
                f"expected finite weights, found non-finite ones after step {step} (made by one of steps "
                f"{self.checked_step + 1} to {step})")
        kept = f"those after step {self.checked_step}" if self.checked_step else "the initial ones"
        raise DivergenceError(f"training diverged{where}: {what}; the weights were put back to {kept} and "
                              "nothing later was saved", lr=lr)
