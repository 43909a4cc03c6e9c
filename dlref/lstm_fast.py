"""The LSTM's fast path (``LSTMLayer(fast=True)``, the default): ``dlref/lstm.py``'s six equations with
back-propagation through time written out; ``tests/test_lstm.py`` checks it equal to them and to ``nn.LSTM``.

Why it is faster: the literal loop builds about a dozen autograd nodes per step, and on a CPU each costs more than
its arithmetic on a (128, 128) batch. Here ``x_t W_x + b`` for all steps is one product before the loop,
``h_{t−1} W_h`` one batched product per step for the four gates together, the gates are activated in place, and the
backward pass (the chain rule of the six lines, from the last step back) is one autograd node. Shapes as in
``dlref/lstm.py``, the gates stacked f, g, i, o on the first axis. ``make bench ARGS="--only layers"`` times it
against the fused ``nn.LSTM`` kernel (the target: at most 1.5×) and the literal loop.
"""

import torch

_aten = torch.ops.aten  # sigmoid_backward(d, s) = d·s·(1 − s); tanh_backward(d, y) = d·(1 − y²)


class LSTMFunction(torch.autograd.Function):
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


def lstm_fast(X, h_0, c_0, W_x, W_h, b):
    """``(H, (h_T, c_T))`` as ``LSTMLayer`` returns them, through ``LSTMFunction``."""
    H, h_T, c_T = LSTMFunction.apply(X, h_0, c_0, W_x, W_h, b)
    return H, (h_T, c_T)
