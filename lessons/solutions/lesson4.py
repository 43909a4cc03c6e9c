"""Lesson 4's exercises, solved: a 2-D cross-correlation (what a convolution layer computes), and one LSTM step."""

import torch


def correlate2d(X, W):
    """``Y[y, x] = Σ_{u,v} W[u, v] · X[y + u, x + v]``: the kernel slides over the image, unflipped."""
    kh, kw = W.shape
    H, Wd = X.shape
    Y = torch.zeros(H - kh + 1, Wd - kw + 1, dtype=X.dtype)
    for y in range(H - kh + 1):
        for x in range(Wd - kw + 1):
            Y[y, x] = (W * X[y : y + kh, x : x + kw]).sum()
    return Y


def lstm_step(x_t, h_prev, c_prev, W_x, W_h, b):
    """The slide's six equations for one step; the gates are stacked in the order f, g, i, o."""
    f = torch.sigmoid(x_t @ W_x[0] + h_prev @ W_h[0] + b[0])  # forget gate
    g = torch.tanh(x_t @ W_x[1] + h_prev @ W_h[1] + b[1])  # gain
    i = torch.sigmoid(x_t @ W_x[2] + h_prev @ W_h[2] + b[2])  # input gate
    o = torch.sigmoid(x_t @ W_x[3] + h_prev @ W_h[3] + b[3])  # output gate
    c_t = f * c_prev + i * g
    h_t = o * torch.tanh(c_t)
    return h_t, c_t
