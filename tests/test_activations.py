import pytest
import torch
from torch.testing import assert_close

import dlref

# Each activation against its literal formula (the functions run their torch twin's kernel).
TWINS = [
    (dlref.relu, lambda x: torch.where(x > 0, x, 0.0)),  # x > 0 ? x : 0
    (dlref.sigmoid, lambda x: 1 / (1 + torch.exp(-x))),
    (dlref.tanh, lambda x: (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))),
    (dlref.softmax, lambda x: torch.exp(x) / torch.exp(x).sum(dim=-1, keepdim=True)),
    (dlref.identity, lambda x: x),
]


@pytest.mark.parametrize("ours,twin", TWINS, ids=lambda f: getattr(f, "__name__", "twin"))
def test_activation_equals_torch_outputs_and_gradients(ours, twin):
    torch.manual_seed(0)
    x = torch.randn(7, 5, dtype=torch.float64) * 3
    x[0, 0] = 0.0  # ReLU's kink: torch's gradient there is 0, the slide's x > 0 ? x : 0 too
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ours(a), twin(b)
    assert_close(ya, yb)
    w = torch.randn_like(ya)
    (ya * w).sum().backward()
    (yb * w).sum().backward()
    assert_close(a.grad, b.grad)


def test_relu_is_the_slides_definition():
    x = torch.tensor([-2.0, -0.0, 0.0, 0.5, 3.0])
    assert torch.equal(dlref.relu(x), torch.tensor([0.0, 0.0, 0.0, 0.5, 3.0]))


def test_softmax_does_not_overflow_on_large_logits():
    y = dlref.softmax(torch.tensor([[1000.0, 0.0, -1000.0]]))
    assert torch.isfinite(y).all()
    assert_close(y.sum(dim=-1), torch.ones(1))
    assert torch.equal(y, torch.softmax(torch.tensor([[1000.0, 0.0, -1000.0]]), dim=-1))  # its twin


def test_softmax_output_is_recognisable_from_its_autograd_node():
    # dlref.cross_entropy reads this node to refuse probabilities where it expects logits.
    assert dlref.softmax(torch.randn(2, 3, requires_grad=True)).grad_fn.name() == "SoftmaxBackward0"


@pytest.mark.parametrize("fn, twin", [(dlref.relu, torch.nn.ReLU()), (dlref.tanh, torch.nn.Tanh()),
                                      (dlref.sigmoid, torch.nn.Sigmoid())], ids=["relu", "tanh", "sigmoid"])
def test_activation_layer_equals_its_torch_module(fn, twin):
    X = torch.randn(4, 3, 5, 5, dtype=torch.float64)
    a, b = X.clone().requires_grad_(), X.clone().requires_grad_()
    ours, theirs = dlref.Activation(fn)(a), twin(b)
    assert torch.equal(ours, theirs)
    ours.sum().backward(), theirs.sum().backward()
    assert torch.equal(a.grad, b.grad)
    assert repr(dlref.Activation(fn)) == f"Activation({fn.__name__})"
