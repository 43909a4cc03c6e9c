"""Dropout — the "Overfitting" slide's regularisation: drop units at random while training.

In training each input is kept with probability ``1 − p`` and scaled up so that its expected
value is unchanged ("inverted" dropout):

    m_k ~ Bernoulli(1 − p),    Y = X ⊙ m / (1 − p)

In evaluation (``model.eval()``) ``Y = X``: nothing is dropped and nothing needs rescaling.
``∂Y/∂X = m / (1 − p)``. Torch twin: ``nn.Dropout(p)`` — on the CPU it draws the mask the same
way (``bernoulli_(1 − p)``, then ``/ (1 − p)``), so with the same seed both give the same tensor.
"""

import torch
from torch import nn

from . import checks


class Dropout(nn.Module):
    """Inverted dropout with drop probability ``p``; identity in evaluation mode."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        checks.dropout(p)  # a probability 0 <= p <= 1
        self.p = p

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        checks.float_input("Dropout", X)
        if not self.training or self.p == 0.0:
            return X
        if self.p == 1.0:
            return X * torch.zeros_like(X)  # every unit dropped (and no division by 1 − p = 0)
        m = torch.empty_like(X).bernoulli_(1 - self.p)  # 1 keeps a unit, 0 drops it
        return X * m.div_(1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
