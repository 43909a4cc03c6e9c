import pytest
import torch
from torch import nn
from torch.testing import assert_close

import dlref


def test_slide_worked_fcn_example():
    # FCN slide: [[1, 2], [3, 4]] · [5, 6] + [7, 8] = [24, 47]
    layer = dlref.Layer(2, 2, activate=dlref.identity)
    with torch.no_grad():
        layer.W.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        layer.B.copy_(torch.tensor([7.0, 8.0]))
    assert torch.equal(layer(torch.tensor([5.0, 6.0])), torch.tensor([24.0, 47.0]))
    assert torch.equal(layer(torch.tensor([[5.0, 6.0], [5.0, 6.0]])), torch.tensor([[24.0, 47.0]] * 2))


def test_shapes_and_parameters_are_the_slides():
    layer = dlref.Layer(784, 100)
    assert layer.W.shape == (100, 784) and layer.B.shape == (100,)
    assert [name for name, _ in layer.named_parameters()] == ["W", "B"]
    assert layer(torch.randn(3, 784)).shape == (3, 100)
    assert layer(torch.randn(784)).shape == (100,)


@pytest.mark.parametrize("activate,twin", [(dlref.relu, torch.relu), (dlref.sigmoid, torch.sigmoid),
                                           (dlref.tanh, torch.tanh), (dlref.identity, lambda x: x)])
def test_layer_equals_nn_linear_outputs_and_gradients(activate, twin):
    torch.manual_seed(0)
    linear = nn.Linear(6, 4).double()
    layer = dlref.Layer.from_torch(linear, activate=activate)
    assert layer.W.dtype == torch.float64
    X = torch.randn(5, 6, dtype=torch.float64)
    Xa, Xb = X.clone().requires_grad_(), X.clone().requires_grad_()
    Ya, Yb = layer(Xa), twin(linear(Xb))
    assert_close(Ya, Yb)
    g = torch.randn_like(Ya)
    (Ya * g).sum().backward()
    (Yb * g).sum().backward()
    assert_close(Xa.grad, Xb.grad)
    assert_close(layer.W.grad, linear.weight.grad)
    assert_close(layer.B.grad, linear.bias.grad)


def test_initialisation_follows_nn_linear_bounds():
    torch.manual_seed(0)
    layer = dlref.Layer(400, 300)
    bound = 1 / 400**0.5
    assert layer.W.abs().max() <= bound and layer.B.abs().max() <= bound
    # uniform on (-bound, bound): std is bound/sqrt(3)
    assert abs(layer.W.std().item() - bound / 3**0.5) < 0.02 * bound


def test_from_torch_copies_rather_than_shares():
    linear = nn.Linear(3, 2)
    layer = dlref.Layer.from_torch(linear)
    with torch.no_grad():
        linear.weight.add_(1.0)
    assert not torch.equal(layer.W, linear.weight)


def test_wrong_input_shape_says_what_to_do():
    layer = dlref.Layer(784, 10)
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 784\).*found \(2, 1, 28, 28\).*flatten"):
        layer(torch.randn(2, 1, 28, 28))


def test_integer_input_is_refused_with_advice():
    with pytest.raises(TypeError, match=r"floating-point.*torch.uint8.*X.float\(\)"):
        dlref.Layer(4, 2)(torch.zeros(3, 4, dtype=torch.uint8))


def test_non_positive_sizes_are_refused():
    with pytest.raises(ValueError, match="positive sizes"):
        dlref.Layer(0, 10)


@pytest.mark.parametrize("call, error, words", [
    (lambda: dlref.Model(dlref.LSTMLayer(3, 4), dlref.Layer(4, 2)).predict(torch.rand(2, 5, 3)), TypeError,
     r"found an LSTMLayer's \(H, \(h_T, c_T\)\); put dlref.LastHidden\(\) after the LSTMLayer"),
    (lambda: dlref.Layer(4, 2)(torch.zeros(3, 4, dtype=torch.uint8)), TypeError,
     r"found dtype torch.uint8; convert it with X.float\(\) / 255 for pixels 0..255"),
    (lambda: dlref.networks.fcn().predict(torch.rand(28, 28)), ValueError,
     r"found \(28, 28\); reshape the input to one row per example, X.reshape\(-1, 784\)"),
    (lambda: dlref.ConvLayer(1, 4, 3)(torch.rand(2, 28, 28)), ValueError,
     r"found 2 in \(2, 28, 28\); add the channel axis with X.unsqueeze\(1\)"),
    (lambda: dlref.ConvLayer(1, 4, 3)(torch.rand(8, 28, 28, 1)), ValueError,
     r"found 28 in \(8, 28, 28, 1\); move the channels first with X.permute\(0, 3, 1, 2\)"),
    (lambda: dlref.cross_entropy(torch.randn(4, 3), torch.eye(3, dtype=torch.long)[[0, 1, 2, 0]]), ValueError,
     r"expected one-hot targets as floats, found integer ones of shape \(4, 3\); pass t.float\(\)"),
    (lambda: dlref.SGD(0.1).update(dlref.Layer(2, 2).W, dlref.Layer(2, 2).W.sum(dim=1)), TypeError,
     r"a loss is one number: reduce it with .mean\(\)"),
], ids=["lstm-tuple", "uint8", "one-image", "no-channel-axis", "channels-last", "int-one-hot", "loss-not-reduced"])
def test_the_usual_shape_and_type_slips_get_the_fix_that_fits(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_activate_is_checked_when_the_layer_is_built():
    X = torch.tensor([[-1.0, 2.0]])
    assert torch.equal(dlref.Layer(2, 2, activate="relu").activate(X), dlref.relu(X))  # one of dlref's, by name
    built = dlref.Layer(2, 2, activate=torch.nn.ReLU)  # torch's class, as in nn.Sequential: built for you
    assert isinstance(built.activate, torch.nn.ReLU) and isinstance(built(X), torch.Tensor)
    assert dlref.ConvLayer(1, 2, 3, activate="tanh").activate is dlref.tanh
    with pytest.raises(ValueError, match=r"Layer expected activate to be a function or one of dlref's activations "
                                         r"'relu', 'sigmoid', 'tanh', 'softmax', 'identity', found 'Relu'"):
        dlref.Layer(2, 2, activate="Relu")
    with pytest.raises(TypeError, match=r"Layer expected activate to be a function such as dlref.relu .*found int"):
        dlref.Layer(2, 2, activate=3)
    with pytest.raises(TypeError, match=r"found the class Layer"):
        dlref.Layer(2, 2, activate=dlref.Layer)
    with pytest.raises(TypeError, match=r"Activation expected activate .*found the class PReLUOf, which needs"):
        dlref.Activation(type("PReLUOf", (torch.nn.PReLU,), {"__init__": lambda self, size: super().__init__()}))
