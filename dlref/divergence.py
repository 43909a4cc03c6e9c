"""Divergence — a loss that stops being finite, caught without reading it back at every step.

A learning rate too high for ``W ← W − η ∂L/∂W`` makes the weights grow until the loss is ``inf`` or ``nan``.
Reading ``torch.isfinite(loss)`` back at every step would make the host wait for the device (a stalled GPU), so
``DivergenceGuard`` copies each step's loss into a small buffer on the device and reads it only at a ``check``:
every ``every`` steps, and before weights are used for anything but training (validation, a checkpoint, the end).
A failed check also looks at the weights (an update can make them non-finite from a finite loss), puts back those
of the last check that passed, and raises ``DivergenceError`` naming the step: non-finite weights are never
evaluated, tested or saved.
"""

import math

import torch


class DivergenceError(RuntimeError):
    """The training loss or the weights stopped being finite; ``lr`` is the learning rate in use."""

    def __init__(self, what: str, lr: float | None = None, initial: bool = False):
        self.what, self.lr, self.initial = what, lr, initial
        super().__init__(self.sentence("lr="))

    def sentence(self, option: str) -> str:
        """The message with the remedy spelled as an entry point's ``option`` (``--model.lr=``, ``--lr ``, ``lr=``)."""
        if self.initial:  # the loss of the untouched initial weights: no learning rate has acted yet
            return (f"{self.what}; the loss of the initial weights was not finite, so the learning rate is not the "
                    "cause: check the model's last layer against the loss (e.g. log 0 from a relu output in "
                    "cross_entropy_error: end the model with activate=dlref.softmax, or use dlref.cross_entropy on "
                    "logits) and the data for NaN.")
        if self.lr is None or not math.isfinite(self.lr) or self.lr <= 0:
            return f"{self.what}; a setting is likely too high: lower the learning rate ({option.rstrip('= ')})."
        return (f"{self.what}; the learning rate {self.lr:g} is likely too high: lower it "
                f"(e.g. {option}{min(self.lr / 10, 0.1):g}).")  # a tenth, and no more than a usual SGD rate


class DivergenceGuard:
    """Watches every step's loss on its device; ``check`` reads the verdict once and keeps the last good weights."""

    def __init__(self, parameters, every: int = 50):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"DivergenceGuard expected every >= 1 steps between checks, found {every!r}.")
        self.parameters, self.every = list(parameters), every
        self._losses = None  # (every,) on the loss's device: the losses of the steps since the last check
        self._good = [p.detach().clone() for p in self.parameters]  # the weights at the last passed check
        self.checked_step = 0  # the step of the last passed check

    @torch.no_grad()
    def watch(self, loss: torch.Tensor, step: int) -> None:
        """Keep the loss of ``step`` (counted from 0) on its device: one copy, no host read."""
        if self._losses is None:
            self._losses = torch.zeros(self.every, device=loss.device)
        self._losses[step % self.every] = loss.detach()

    def due(self, step: int) -> bool:
        """Whether a regular check is due after ``step`` steps."""
        return step % self.every == 0

    @torch.no_grad()
    def check(self, step: int, lr: float | None = None, where: str = "") -> None:
        """Raise ``DivergenceError`` (after restoring the last good weights) if training diverged; ``step``:
        steps taken so far, at most ``every`` after the last check."""
        finite = torch.stack([torch.isfinite(p).all() for p in self.parameters])
        losses = torch.isfinite(self._losses) if self._losses is not None else finite[:0]
        verdict = torch.cat([losses, finite]).tolist()  # the one host read
        since = range(self.checked_step, step)
        first = next((k for k in since if not verdict[k % self.every]), None) if losses.numel() else None
        if first is None and all(verdict[len(losses):]):
            for good, p in zip(self._good, self.parameters):
                good.copy_(p)
            self.checked_step = step
            return
        for good, p in zip(self._good, self.parameters):
            p.copy_(good)
        what = (f"expected a finite loss, found a non-finite one at step {first + 1}" if first is not None else
                f"expected finite weights, found non-finite ones after step {step} (made by one of steps "
                f"{self.checked_step + 1} to {step})")
        kept = f"those after step {self.checked_step}" if self.checked_step else "the initial ones"
        raise DivergenceError(f"training diverged{where}: {what}; the weights were put back to {kept} and "
                              "nothing later was saved", lr=lr, initial=first == 0)
