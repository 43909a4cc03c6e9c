import pytest
import torch
from torch import nn
from torch.testing import assert_close

import dlref
from dlref.lstm import GATES, LSTMLayer
from dlref.lstm_fast import LSTMFunction
from dlref.pooling import LastHidden

TORCH_ORDER = "ifgo"  # nn.LSTM's blocks of weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0


def _torch_block(tensor: torch.Tensor, gate: str, n: int) -> torch.Tensor:
    k = TORCH_ORDER.index(gate)
    return tensor[k * n:(k + 1) * n]


def _slide_lstm(layer: LSTMLayer, X, h, c):
    """The slide's six lines, step by step, on ``layer.gate`` views; autograd differentiates them."""
    outputs = []
    for t in range(X.shape[1]):
        x_t = X[:, t]
        z = {k: x_t @ layer.gate(k)[0] + h @ layer.gate(k)[1] + layer.gate(k)[2] for k in GATES}
        f, g, i, o = torch.sigmoid(z["f"]), torch.tanh(z["g"]), torch.sigmoid(z["i"]), torch.sigmoid(z["o"])
        c = f * c + i * g
        h = o * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, 1), (h, c)


def _pair(n_in=4, n=6, batch=3, time=5, seed=0, fast=True):
    torch.manual_seed(seed)
    twin = nn.LSTM(n_in, n, batch_first=True).double()
    X = torch.randn(batch, time, n_in, dtype=torch.float64)
    h0, c0 = torch.randn(batch, n, dtype=torch.float64), torch.randn(batch, n, dtype=torch.float64)
    return twin, LSTMLayer.from_torch(twin, fast=fast), X, h0, c0


PATHS = pytest.mark.parametrize("fast", [True, False], ids=["fast", "literal"])


@PATHS
@pytest.mark.parametrize("time", [1, 5, 28])
def test_lstm_layer_equals_nn_lstm_outputs_and_every_gradient(time, fast):
    twin, layer, X, h0, c0 = _pair(time=time, fast=fast)
    Xa, ha, ca = (v.clone().requires_grad_() for v in (X, h0, c0))
    Xb, hb, cb = (v.clone().requires_grad_() for v in (X, h0, c0))
    Ha, (h_a, c_a) = layer(Xa, (ha, ca))
    Hb, (h_b, c_b) = twin(Xb, (hb.unsqueeze(0), cb.unsqueeze(0)))  # nn.LSTM's state is (layers, batch, hidden)
    h_b, c_b = h_b[0], c_b[0]
    assert_close(Ha, Hb)
    assert_close(h_a, h_b)
    assert_close(c_a, c_b)
    gH, gh, gc = torch.randn_like(Ha), torch.randn_like(h_a), torch.randn_like(c_a)
    ((Ha * gH).sum() + (h_a * gh).sum() + (c_a * gc).sum()).backward()
    ((Hb * gH).sum() + (h_b * gh).sum() + (c_b * gc).sum()).backward()
    assert_close(Xa.grad, Xb.grad)
    assert_close(ha.grad, hb.grad)
    assert_close(ca.grad, cb.grad)
    n = layer.hidden_size
    for k, gate in enumerate(GATES):  # the slide's W_x^(k) is the transpose of nn.LSTM's block
        assert_close(layer.W_x.grad[k].T, _torch_block(twin.weight_ih_l0.grad, gate, n))
        assert_close(layer.W_h.grad[k].T, _torch_block(twin.weight_hh_l0.grad, gate, n))
        assert_close(layer.b.grad[k], _torch_block(twin.bias_ih_l0.grad, gate, n))
        assert_close(layer.b.grad[k], _torch_block(twin.bias_hh_l0.grad, gate, n))


@PATHS
@pytest.mark.parametrize("read", ["H", "h_T", "c_T", "H[:, -1]"])
def test_gradients_match_when_the_loss_reads_only_part_of_the_output(read, fast):
    twin, layer, X, _, _ = _pair(time=7, fast=fast)
    pick = {"H": lambda H, h, c: H, "h_T": lambda H, h, c: h, "c_T": lambda H, h, c: c,
            "H[:, -1]": lambda H, h, c: H[:, -1]}[read]
    Xa, Xb = X.clone().requires_grad_(), X.clone().requires_grad_()
    Ha, (h_a, c_a) = layer(Xa)  # state left out: zeros
    Hb, (h_b, c_b) = twin(Xb)
    pick(Ha, h_a, c_a).square().sum().backward()
    pick(Hb, h_b[0], c_b[0]).square().sum().backward()
    assert_close(Xa.grad, Xb.grad)
    assert_close(layer.W_h.grad[GATES.index("f")].T, _torch_block(twin.weight_hh_l0.grad, "f", 6))


def test_the_literal_path_is_the_slides_six_lines():
    # layer.equations (fast=False) against an independent transcription of the slide, on gate views.
    _, layer, X, h0, c0 = _pair(time=6, seed=1, fast=False)
    H, (h_T, c_T) = layer(X, (h0, c0))
    H_ref, (h_ref, c_ref) = _slide_lstm(layer, X, h0, c0)
    assert torch.equal(H, H_ref) and torch.equal(h_T, h_ref) and torch.equal(c_T, c_ref)


@pytest.mark.parametrize("read", ["H", "h_T", "c_T", "all"])
def test_fast_path_equals_the_literal_path_outputs_and_every_gradient(read):
    # dlref/lstm_fast.py's hand-written BPTT against dlref/lstm.py's six lines under autograd.
    _, fast, X, h0, c0 = _pair(time=9, seed=2)
    literal = LSTMLayer(fast.input_size, fast.hidden_size, fast=False).double()
    literal.load_state_dict(fast.state_dict())
    results = []
    for layer in (fast, literal):
        X_, h_, c_ = (v.clone().requires_grad_() for v in (X, h0, c0))
        H, (h_T, c_T) = layer(X_, (h_, c_))
        torch.manual_seed(3)
        parts = {"H": [H], "h_T": [h_T], "c_T": [c_T], "all": [H, h_T, c_T]}[read]
        sum((p * torch.randn_like(p)).sum() for p in parts).backward()
        results.append([H, h_T, c_T, X_.grad, h_.grad, c_.grad] + [p.grad for p in layer.parameters()])
    assert_close(results[0], results[1], rtol=1e-12, atol=1e-12)


def test_the_literal_path_is_what_runs_with_fast_false():
    layer = LSTMLayer(3, 4, fast=False)
    H, _ = layer(torch.randn(2, 5, 3, requires_grad=True))
    assert H.grad_fn.name() == "StackBackward0"  # the loop's torch.stack, not LSTMFunction's node
    assert LSTMLayer(3, 4)(torch.randn(2, 5, 3, requires_grad=True))[0].grad_fn.name() == "LSTMFunctionBackward"
    assert "fast=False" in repr(layer) and dlref.networks.lstm(fast=False)[1].fast is False


def test_float32_matches_nn_lstm_on_an_mnist_sized_batch():
    torch.manual_seed(0)
    twin = nn.LSTM(28, 128, batch_first=True)
    layer = LSTMLayer.from_torch(twin)
    X = torch.randn(64, 28, 28)
    (Ha, (ha, _)), (Hb, (hb, _)) = layer(X), twin(X)
    assert_close(Ha, Hb, rtol=1e-4, atol=1e-5)
    ha.sum().backward()
    hb.sum().backward()
    assert_close(layer.W_h.grad[GATES.index("o")].T, _torch_block(twin.weight_hh_l0.grad, "o", 128),
                 rtol=1e-4, atol=1e-5)


@PATHS
def test_gradcheck_in_float64_including_the_initial_state(fast):
    torch.manual_seed(0)
    shapes = [(2, 3, 4), (2, 5), (2, 5), (4, 4, 5), (4, 5, 5), (4, 5)]  # X, h_0, c_0, W_x, W_h, b
    inputs = [torch.randn(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    assert torch.autograd.gradcheck(lambda *a: LSTMFunction.apply(*a), inputs)
    layer = LSTMLayer(4, 5, fast=fast).double()

    def outputs(X, h, c):
        H, (h_T, c_T) = layer(X, (h, c))
        return H, h_T, c_T

    assert torch.autograd.gradcheck(outputs, inputs[:3])


def test_gate_views_are_the_slides_weights_and_parameters_are_named_so():
    layer = LSTMLayer(3, 2)
    assert [name for name, _ in layer.named_parameters()] == ["W_x", "W_h", "b"]
    assert layer.W_x.shape == (4, 3, 2) and layer.W_h.shape == (4, 2, 2) and layer.b.shape == (4, 2)
    W_x, W_h, b = layer.gate("g")
    assert W_x.shape == (3, 2) and W_h.shape == (2, 2) and b.shape == (2,)
    with torch.no_grad():
        b.fill_(7.0)  # a view: writing it writes the parameter
    assert torch.equal(layer.b[GATES.index("g")], torch.full((2,), 7.0))
    with pytest.raises(ValueError, match=r"one of \('f', 'g', 'i', 'o'\), found 'forget'"):
        layer.gate("forget")


def test_initialisation_follows_nn_lstm_bounds():
    torch.manual_seed(0)
    layer = LSTMLayer(28, 100)
    bound = 1 / 100**0.5
    for p in layer.parameters():
        assert p.abs().max() <= bound
    assert abs(layer.W_h.std().item() - bound / 3**0.5) < 0.02 * bound


@PATHS
def test_unbatched_sequence_gives_unbatched_results(fast):
    _, layer, X, h0, c0 = _pair(fast=fast)
    H, (h_T, c_T) = layer(X[1], (h0[1], c0[1]))
    H_all, (h_all, c_all) = layer(X, (h0, c0))
    assert H.shape == (5, 6) and h_T.shape == (6,)
    assert_close((H, h_T, c_T), (H_all[1], h_all[1], c_all[1]))


def test_from_torch_without_bias_and_copies_rather_than_shares():
    torch.manual_seed(0)
    twin = nn.LSTM(3, 4, batch_first=True, bias=False)
    layer = LSTMLayer.from_torch(twin)
    assert torch.equal(layer.b, torch.zeros(4, 4))
    X = torch.randn(2, 5, 3)
    assert_close(layer(X)[0], twin(X)[0])
    with torch.no_grad():
        twin.weight_hh_l0.add_(1.0)
    assert not torch.equal(layer.W_h[0].T, twin.weight_hh_l0[4:8])


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_layers=2), r"found num_layers=2 \(stack LSTMLayers instead\)"),
    (dict(bidirectional=True), r"found bidirectional=True"),
    (dict(proj_size=2), r"found proj_size=2"),
    (dict(batch_first=False), r"found batch_first=False \(build it with batch_first=True\)"),
])
def test_from_torch_refuses_what_the_slide_does_not_have(kwargs, match):
    twin = nn.LSTM(3, 4, **{"batch_first": True, **kwargs})
    with pytest.raises(ValueError, match=match):
        LSTMLayer.from_torch(twin)


def test_images_are_refused_with_a_rows_hint():
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, time, 28\), found \(2, 1, 28, 28\);"
                                         r".*dlref.Rows"):
        LSTMLayer(28, 8)(torch.randn(2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"found \(2, 28, 10\).*LSTMLayer\(10, ...\)"):
        LSTMLayer(28, 8)(torch.randn(2, 28, 10))
    with pytest.raises(TypeError, match=r"floating-point.*torch.int64"):
        LSTMLayer(28, 8)(torch.zeros(2, 28, 28, dtype=torch.long))


def test_a_state_of_the_wrong_shape_is_refused():
    layer = LSTMLayer(3, 4)
    X = torch.randn(2, 5, 3)
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 4\) \(batch, hidden\).*found \(1, 2, 4\)"):
        layer(X, (torch.zeros(1, 2, 4), torch.zeros(2, 4)))
    with pytest.raises(ValueError, match=r"expected c_0 .* torch.float32 on cpu, found \(2, 4\) torch.float64 cpu"):
        layer(X, (torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.float64)))


def test_input_of_another_dtype_than_the_weights_is_refused():
    with pytest.raises(TypeError, match=r"weights' dtype and device \(torch.float32, cpu\), "
                                        r"found \(torch.float64, cpu\)"):
        LSTMLayer(3, 4)(torch.randn(2, 5, 3, dtype=torch.float64))


def test_last_hidden_keeps_h_T():
    layer = LSTMLayer(3, 4)
    out = layer(torch.randn(2, 5, 3))
    assert LastHidden()(out) is out[1][0]
    assert torch.equal(dlref.Model(layer, LastHidden())(torch.zeros(2, 5, 3)), layer(torch.zeros(2, 5, 3))[1][0])


@PATHS
def test_both_paths_keep_float32_under_cpu_autocast(fast):
    torch.manual_seed(0)
    layer, X = LSTMLayer(5, 6, fast=fast), torch.randn(3, 4, 5)
    H, _ = layer(X)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        H_auto, _ = layer(X)
    assert H_auto.dtype == torch.float32 and torch.equal(H_auto, H)
