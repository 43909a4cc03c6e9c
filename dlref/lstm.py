"""LSTMLayer — the "RNN" slide's LSTM, one cell applied along a sequence.

Per step ``t``, with the input row ``x_t`` and the previous state ``h_{t−1}``, ``c_{t−1}``:

    f   = σ(x_t W_x^(f) + h_{t−1} W_h^(f) + b^(f))        forget gate
    g   = tanh(x_t W_x^(g) + h_{t−1} W_h^(g) + b^(g))     gain (the candidate carrier)
    i   = σ(x_t W_x^(i) + h_{t−1} W_h^(i) + b^(i))        input gate
    o   = σ(x_t W_x^(o) + h_{t−1} W_h^(o) + b^(o))        output gate
    c_t = f ⊙ c_{t−1} + i ⊙ g                             carrier
    h_t = o ⊙ tanh(c_t)                                   hidden state

``LSTMLayer.equations`` is these six lines, run under autograd. ``fast=True`` (the default) runs
the same equations from ``dlref/lstm_fast.py``, with back-propagation through time written out, one
autograd node instead of a dozen per step: the literal loop is slower to train on a CPU, and
``make bench ARGS="--only layers"`` times both. ``tests/test_lstm.py`` checks the two equal (outputs
and every gradient) and both against ``nn.LSTM``.

Shapes, batch first as ``nn.LSTM(batch_first=True)``: ``X`` is ``(batch, time, input_size)``;
``h_t``, ``c_t`` are ``(batch, hidden)``. The gates' weights are stacked on a first axis in the
slide's order f, g, i, o: ``W_x`` is ``(4, input_size, hidden)``, ``W_h`` is ``(4, hidden, hidden)``,
``b`` is ``(4, hidden)``, so ``W_x[0]`` is ``W_x^(f)`` and ``layer.gate("g")`` is ``(W_x^(g), W_h^(g), b^(g))``.

Torch twin: ``nn.LSTM(input_size, hidden, batch_first=True)`` (``LSTMLayer.from_torch``): its
``weight_ih_l0`` ``(4·hidden, input_size)`` holds the blocks i, f, g, o, each the transpose of ``W_x^(k)``
(it computes ``W x`` where the slide writes ``x W``), and two biases whose sum is ``b``.
"""

import math

import torch
from torch import nn

from . import checks
from .activations import sigmoid, tanh
from .lstm_fast import lstm_fast

GATES = ("f", "g", "i", "o")  # the slide's order: the first axis of W_x, W_h, b
_TORCH_BLOCK = {"i": 0, "f": 1, "g": 2, "o": 3}  # nn.LSTM's order i, f, g, o


class LSTMLayer(nn.Module):
    """One LSTM layer with the slide's per-gate ``W_x``, ``W_h``, ``b`` (shapes in the module docstring)."""

    def __init__(self, input_size: int, hidden_size: int, fast: bool = True):
        super().__init__()
        checks.lstm_layer(input_size, hidden_size)  # positive sizes
        self.input_size, self.hidden_size, self.fast = input_size, hidden_size, fast
        self.W_x = nn.Parameter(torch.empty(4, input_size, hidden_size))
        self.W_h = nn.Parameter(torch.empty(4, hidden_size, hidden_size))
        self.b = nn.Parameter(torch.empty(4, hidden_size))
        self.reset_parameters()

    def equations(self, X: torch.Tensor, h_0: torch.Tensor, c_0: torch.Tensor):
        """The slide's six lines, step by step: ``(H, (h_T, c_T))`` with ``H`` = ``h_1 … h_T`` (batch, time, hidden)."""
        (W_xf, W_hf, b_f), (W_xg, W_hg, b_g), (W_xi, W_hi, b_i), (W_xo, W_ho, b_o) = map(self.gate, GATES)
        h_t, c_t, H = h_0, c_0, []
        for t in range(X.shape[1]):
            x_t, h_prev, c_prev = X[:, t], h_t, c_t  # x_t (batch, input_size); h_{t−1}, c_{t−1} (batch, hidden)
            f = sigmoid(x_t @ W_xf + h_prev @ W_hf + b_f)  # forget gate
            g = tanh(x_t @ W_xg + h_prev @ W_hg + b_g)  # gain
            i = sigmoid(x_t @ W_xi + h_prev @ W_hi + b_i)  # input gate
            o = sigmoid(x_t @ W_xo + h_prev @ W_ho + b_o)  # output gate
            c_t = f * c_prev + i * g  # c_t = f ⊙ c_{t−1} + i ⊙ g
            h_t = o * tanh(c_t)  # h_t = o ⊙ tanh(c_t)
            H.append(h_t)
        return torch.stack(H, dim=1), (h_t, c_t)

    def reset_parameters(self) -> None:
        # nn.LSTM's initialisation: U(-1/sqrt(hidden), 1/sqrt(hidden)) for every weight and bias.
        bound = 1 / math.sqrt(self.hidden_size)
        for p in (self.W_x, self.W_h, self.b):
            nn.init.uniform_(p, -bound, bound)

    def gate(self, name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(W_x^(k), W_h^(k), b^(k))`` of the slide's gate ``k`` in ``"f", "g", "i", "o"`` (views)."""
        checks.gate(name, GATES)
        k = GATES.index(name)
        return self.W_x[k], self.W_h[k], self.b[k]

    def forward(self, X: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        """``(H, (h_T, c_T))``: ``H`` is ``h_1 … h_T`` (batch, time, hidden), as ``nn.LSTM`` returns.

        ``state`` is ``(h_0, c_0)``, each (batch, hidden), zeros when left out. An unbatched
        sequence (time, input_size) gives unbatched results.
        """
        checks.float_input("LSTMLayer", X)
        if X.dim() == 2:
            state = None if state is None else tuple(s.unsqueeze(0) for s in state)
            H, (h_T, c_T) = self.forward(X.unsqueeze(0), state)
            return H[0], (h_T[0], c_T[0])
        checks.lstm_input(self, X, state)  # X (batch, time, input_size) like the weights; state (batch, hidden) each
        shape = (X.shape[0], self.hidden_size)
        h_0, c_0 = (X.new_zeros(shape), X.new_zeros(shape)) if state is None else state
        # Under mixed precision (autocast) both paths run in the weights' dtype, not bf16.
        with torch.autocast(X.device.type, enabled=False):
            if self.fast:
                return lstm_fast(X, h_0, c_0, self.W_x, self.W_h, self.b)
            return self.equations(X, h_0, c_0)

    @classmethod
    def from_torch(cls, lstm: nn.LSTM, fast: bool = True) -> "LSTMLayer":
        """An ``LSTMLayer`` holding a copy of a one-layer, batch-first ``nn.LSTM``'s weights, gate by gate."""
        checks.lstm_twin(lstm)  # one layer, one direction, batch first, no projection
        weight = lstm.weight_ih_l0
        layer = cls(lstm.input_size, lstm.hidden_size, fast).to(device=weight.device, dtype=weight.dtype)
        n = lstm.hidden_size
        with torch.no_grad():
            for name in GATES:
                W_x, W_h, b = layer.gate(name)
                rows = slice(_TORCH_BLOCK[name] * n, (_TORCH_BLOCK[name] + 1) * n)
                W_x.copy_(lstm.weight_ih_l0[rows].T)  # nn.LSTM computes W x; the slide, x W_x
                W_h.copy_(lstm.weight_hh_l0[rows].T)
                b.copy_(lstm.bias_ih_l0[rows] + lstm.bias_hh_l0[rows]) if lstm.bias else b.zero_()
        return layer

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}, gates=f,g,i,o, fast={self.fast}"
