"""LSTMLayer — the "RNN" slide's LSTM, one cell applied along a sequence.

Per step ``t``, with the input row ``x_t`` and the previous state ``h_{t−1}``, ``c_{t−1}``:

    f   = σ(x_t W_x^(f) + h_{t−1} W_h^(f) + b^(f))        forget gate
    g   = tanh(x_t W_x^(g) + h_{t−1} W_h^(g) + b^(g))     gain (the candidate carrier)
    i   = σ(x_t W_x^(i) + h_{t−1} W_h^(i) + b^(i))        input gate
    o   = σ(x_t W_x^(o) + h_{t−1} W_h^(o) + b^(o))        output gate
    c_t = f ⊙ c_{t−1} + i ⊙ g                             carrier
    h_t = o ⊙ tanh(c_t)                                   hidden state

Shapes, batch first as ``nn.LSTM(batch_first=True)``: ``X`` is ``(batch, time, input_size)``;
``h_t``, ``c_t`` are ``(batch, hidden)``. The gates' weights are stacked on a first axis in the
slide's order f, g, i, o: ``W_x`` is ``(4, input_size, hidden)``, ``W_h`` is ``(4, hidden, hidden)``,
``b`` is ``(4, hidden)``, so ``W_x[0]`` is ``W_x^(f)`` and ``layer.gate("g")`` is ``(W_x^(g), W_h^(g), b^(g))``.

Torch twin: ``nn.LSTM(input_size, hidden, batch_first=True)`` (``LSTMLayer.from_torch``): its
``weight_ih_l0`` ``(4·hidden, input_size)`` holds the blocks i, f, g, o, each the transpose of ``W_x^(k)``
(it computes ``W x`` where the slide writes ``x W``), and two biases whose sum is ``b``.

Speed: ``x_t W_x + b`` for all steps is one product before the loop, ``h_{t−1} W_h`` one batched
product per step, and back-propagation through time (the chain rule of the six lines, from the last
step back) is written out in ``_LSTM.backward``: one autograd node instead of a dozen per step.
Forward + backward takes about 1.2× ``nn.LSTM``'s fused CPU kernel (``scripts/bench_lstm.py``).
``tests/test_lstm.py`` checks both passes against ``nn.LSTM``, ``gradcheck``, and the six lines
run literally under autograd.
"""

import math

import torch
from torch import nn

from .errors import check_float

GATES = ("f", "g", "i", "o")  # the slide's order: the first axis of W_x, W_h, b
_TORCH_BLOCK = {"i": 0, "f": 1, "g": 2, "o": 3}  # nn.LSTM's order i, f, g, o
_aten = torch.ops.aten  # sigmoid_backward(d, s) = d·s·(1 − s); tanh_backward(d, y) = d·(1 − y²)


class _LSTM(torch.autograd.Function):
    """The forward loop, and its backward pass written out; internal tensors are time-major."""

    @staticmethod
    def forward(ctx, X, h_0, c_0, W_x, W_h, b):
        batch, time, _ = X.shape
        n = W_h.shape[-1]  # hidden
        X_t = X.transpose(0, 1).reshape(time * batch, -1)  # (time·batch, input_size)
        Z = torch.baddbmm(b.unsqueeze(1), X_t.expand(4, -1, -1), W_x).view(4, time, batch, n)  # x_t W_x + b
        H, C = X.new_empty(time + 1, batch, n), X.new_empty(time + 1, batch, n)  # h_0…h_T, c_0…c_T
        tanh_C = X.new_empty(time, batch, n)  # tanh(c_1)…tanh(c_T), kept for the backward pass
        H[0], C[0] = h_0, c_0
        Zs, Hs, Cs, tanh_Cs = Z.unbind(1), H.unbind(0), C.unbind(0), tanh_C.unbind(0)  # per-step views
        for t in range(time):
            z = Zs[t].baddbmm_(Hs[t].expand(4, -1, -1), W_h)  # (4, batch, hidden): + h_{t−1} W_h
            f, g, i, o = z.unbind(0)  # activated in place: Z keeps the gates for the backward pass
            f.sigmoid_()
            g.tanh_()
            z[2:].sigmoid_()  # i and o
            torch.mul(f, Cs[t], out=Cs[t + 1]).addcmul_(i, g)  # c_t = f ⊙ c_{t−1} + i ⊙ g
            torch.mul(o, torch.tanh(Cs[t + 1], out=tanh_Cs[t]), out=Hs[t + 1])  # h_t = o ⊙ tanh(c_t)
        ctx.set_materialize_grads(False)  # a classifier reads h_T only: no zeros for h_1…h_{T−1}
        ctx.save_for_backward(X_t, W_x, W_h, Z, H, C, tanh_C)
        return H[1:].transpose(0, 1).contiguous(), H[time].clone(), C[time].clone()  # (batch, time, hidden)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dH, dh_T, dc_T):  # ∂L/∂h_1…h_T (batch, time, hidden), ∂L/∂h_T, ∂L/∂c_T
        X_t, W_x, W_h, Z, H, C, tanh_C = ctx.saved_tensors
        _, time, batch, n = Z.shape
        f, g, i, o = Z.unbind(0)  # (time, batch, hidden) each
        # Local derivatives, all steps at once (z: a gate's pre-activation): ∂c_t/∂z_f = c_{t−1}·σ'(f),
        # ∂c_t/∂z_g = i·tanh'(g), ∂c_t/∂z_i = g·σ'(i); ∂h_t/∂z_o = tanh(c_t)·σ'(o), ∂h_t/∂c_t = o·tanh'(c_t).
        Kf, Kg, Ki = _aten.sigmoid_backward(C[:-1], f), _aten.tanh_backward(i, g), _aten.sigmoid_backward(g, i)
        Ko, Kc = _aten.sigmoid_backward(tanh_C, o), _aten.tanh_backward(o, tanh_C)
        dZ = torch.empty_like(Z)  # ∂L/∂ pre-activations, (4, time, batch, hidden)
        dh = Z.new_zeros(batch, n) if dh_T is None else dh_T
        dh = dh if dH is None else dh + dH[:, time - 1]
        dc = Z.new_zeros(batch, n) if dc_T is None else dc_T.clone()
        dHs = None if dH is None else dH.unbind(1)
        Kf, Kg, Ki, Ko, Kc, f, dZs = (x.unbind(0) for x in (Kf, Kg, Ki, Ko, Kc, f, dZ.transpose(0, 1)))
        dzf, dzg, dzi, dzo = (x.unbind(0) for x in dZ.unbind(0))
        W_hT = W_h.transpose(1, 2)
        for t in reversed(range(time)):
            dc.addcmul_(dh, Kc[t])  # h_t = o ⊙ tanh(c_t)
            torch.mul(dh, Ko[t], out=dzo[t])
            torch.mul(dc, Kf[t], out=dzf[t])  # c_t = f ⊙ c_{t−1} + i ⊙ g
            torch.mul(dc, Kg[t], out=dzg[t])
            torch.mul(dc, Ki[t], out=dzi[t])
            dc.mul_(f[t])  # ∂L/∂c_{t−1}
            dh = torch.bmm(dZs[t], W_hT).sum(0)  # ∂L/∂h_{t−1} through the four gates …
            if t > 0 and dHs is not None:
                dh += dHs[t - 1]  # … and through its own output
        dZ = dZ.view(4, time * batch, n)
        need = ctx.needs_input_grad
        dX = torch.bmm(dZ, W_x.transpose(1, 2)).sum(0).view(time, batch, -1).transpose(0, 1) if need[0] else None
        dW_x = torch.bmm(X_t.t().expand(4, -1, -1), dZ) if need[3] else None
        dW_h = torch.bmm(H[:-1].reshape(time * batch, n).t().expand(4, -1, -1), dZ) if need[4] else None
        return dX, dh, dc, dW_x, dW_h, dZ.sum(1) if need[5] else None


class LSTMLayer(nn.Module):
    """One LSTM layer with the slide's per-gate ``W_x``, ``W_h``, ``b`` (shapes in the module docstring)."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(
                f"LSTMLayer expected positive sizes, found input_size={input_size}, hidden_size={hidden_size}; "
                "pass the number of features per step and of hidden units."
            )
        self.input_size, self.hidden_size = input_size, hidden_size
        self.W_x = nn.Parameter(torch.empty(4, input_size, hidden_size))
        self.W_h = nn.Parameter(torch.empty(4, hidden_size, hidden_size))
        self.b = nn.Parameter(torch.empty(4, hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # nn.LSTM's initialisation: U(-1/sqrt(hidden), 1/sqrt(hidden)) for every weight and bias.
        bound = 1 / math.sqrt(self.hidden_size)
        for p in (self.W_x, self.W_h, self.b):
            nn.init.uniform_(p, -bound, bound)

    def gate(self, name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(W_x^(k), W_h^(k), b^(k))`` of the slide's gate ``k`` in ``"f", "g", "i", "o"`` (views)."""
        if name not in GATES:
            raise ValueError(f"LSTMLayer.gate expected one of {GATES}, found {name!r}; use the slide's gate names.")
        k = GATES.index(name)
        return self.W_x[k], self.W_h[k], self.b[k]

    def forward(self, X: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        """``(H, (h_T, c_T))``: ``H`` is ``h_1 … h_T`` (batch, time, hidden), as ``nn.LSTM`` returns.

        ``state`` is ``(h_0, c_0)``, each (batch, hidden), zeros when left out. An unbatched
        sequence (time, input_size) gives unbatched results.
        """
        check_float("LSTMLayer", X)
        if X.dim() == 2:
            state = None if state is None else tuple(s.unsqueeze(0) for s in state)
            H, (h_T, c_T) = self.forward(X.unsqueeze(0), state)
            return H[0], (h_T[0], c_T[0])
        if X.dim() != 3 or X.shape[2] != self.input_size or X.shape[1] == 0:
            raise ValueError(
                f"LSTMLayer expected input of shape (batch, time, {self.input_size}), found {tuple(X.shape)}; "
                f"read images as sequences of rows with dlref.Rows, or build LSTMLayer({X.shape[-1]}, ...)."
            )
        if (X.dtype, X.device) != (self.W_x.dtype, self.W_x.device):
            raise TypeError(
                f"LSTMLayer expected input of its weights' dtype and device ({self.W_x.dtype}, {self.W_x.device}), "
                f"found ({X.dtype}, {X.device}); move one to the other with X.to(...) or layer.to(...)."
            )
        shape = (X.shape[0], self.hidden_size)
        h_0, c_0 = (X.new_zeros(shape), X.new_zeros(shape)) if state is None else state
        for s, name in ((h_0, "h_0"), (c_0, "c_0")):
            if not isinstance(s, torch.Tensor) or (s.shape, s.dtype, s.device) != (shape, X.dtype, X.device):
                found = f"{tuple(s.shape)} {s.dtype} {s.device}" if isinstance(s, torch.Tensor) else type(s).__name__
                raise ValueError(
                    f"LSTMLayer expected {name} of shape {shape} (batch, hidden), {X.dtype} on {X.device}, found "
                    f"{found}; pass state=(h_0, c_0) with one row per sequence, or leave it out for zeros."
                )
        # Under mixed precision (autocast) the hand-written pass runs in the weights' dtype, not bf16.
        with torch.autocast(X.device.type, enabled=False):
            H, h_T, c_T = _LSTM.apply(X, h_0, c_0, self.W_x, self.W_h, self.b)
        return H, (h_T, c_T)

    @classmethod
    def from_torch(cls, lstm: nn.LSTM) -> "LSTMLayer":
        """An ``LSTMLayer`` holding a copy of a one-layer, batch-first ``nn.LSTM``'s weights, gate by gate."""
        found = [msg for bad, msg in (
            (lstm.num_layers != 1, f"num_layers={lstm.num_layers} (stack LSTMLayers instead)"),
            (lstm.bidirectional, "bidirectional=True"), (lstm.proj_size > 0, f"proj_size={lstm.proj_size}"),
            (not lstm.batch_first, "batch_first=False (build it with batch_first=True)")) if bad]
        if found:
            raise ValueError(f"LSTMLayer.from_torch expected a one-layer, one-direction, batch-first nn.LSTM "
                             f"without projection, as on the slide; found {', '.join(found)}.")
        weight = lstm.weight_ih_l0
        layer = cls(lstm.input_size, lstm.hidden_size).to(device=weight.device, dtype=weight.dtype)
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
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}, gates=f,g,i,o"

