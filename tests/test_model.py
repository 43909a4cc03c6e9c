import pytest
import torch
from torch import nn
from torch.testing import assert_close

import dlref
from dlref.checks import as_model, output_activation


def test_predict_is_layer3_of_layer2_of_layer1():
    torch.manual_seed(0)
    model = dlref.Model()
    layer1, layer2, layer3 = dlref.Layer(8, 6), dlref.Layer(6, 5), dlref.Layer(5, 3, dlref.identity)
    for layer in (layer1, layer2, layer3):
        model.add(layer)
    X = torch.randn(4, 8)
    assert list(model.layers) == [layer1, layer2, layer3]
    assert torch.equal(model.predict(X), layer3(layer2(layer1(X))))
    assert torch.equal(model(X), model.predict(X))


def test_model_equals_nn_sequential_outputs_and_gradients():
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(10, 7), nn.ReLU(), nn.Linear(7, 3)).double()
    model = dlref.Model(dlref.Layer.from_torch(seq[0]), dlref.Layer.from_torch(seq[2], activate=dlref.identity))
    X = torch.randn(6, 10, dtype=torch.float64)
    assert_close(model.predict(X), seq(X))
    model.predict(X).square().sum().backward()
    seq(X).square().sum().backward()
    assert_close(model[0].W.grad, seq[0].weight.grad)
    assert_close(model[1].B.grad, seq[2].bias.grad)


def test_state_dict_round_trip():
    a = dlref.Model(dlref.Layer(4, 3), dlref.Layer(3, 2))
    b = dlref.Model(dlref.Layer(4, 3), dlref.Layer(3, 2))
    b.load_state_dict(a.state_dict())
    X = torch.randn(2, 4)
    assert torch.equal(a(X), b(X))
    assert set(a.state_dict()) == {"layers.0.W", "layers.0.B", "layers.1.W", "layers.1.B"}


def test_add_refuses_a_non_layer():
    with pytest.raises(TypeError, match="expected a layer"):
        dlref.Model().add(torch.relu)



def test_add_names_a_class_a_list_and_a_layer_that_does_not_fit_the_one_before():
    with pytest.raises(TypeError, match=r"found the class Layer; build one first, e.g. Layer\(...\)"):
        dlref.Model().add(dlref.Layer)
    with pytest.raises(TypeError, match=r"found a list; pass the layers one by one, Model\(layer1, layer2\)"):
        dlref.Model([dlref.Layer(2, 2)])
    with pytest.raises(ValueError, match=r"^Model.add expected a layer taking the 3 outputs of the layer before it, "
                                         r"found one taking 5; build it as Layer\(3, ...\)"):
        dlref.Model(dlref.Layer(4, 3), dlref.Layer(5, 2))
    assert len(dlref.Model(dlref.Layer(4, 3), dlref.Dropout(0.5), dlref.Layer(3, 2))) == 3  # sizes that fit

def test_predict_on_empty_model_or_non_tensor_says_what_to_do():
    with pytest.raises(ValueError, match="no layers"):
        dlref.Model().predict(torch.zeros(1, 2))
    with pytest.raises(TypeError, match="torch.as_tensor"):
        dlref.Model(dlref.Layer(2, 2)).predict([[1.0, 2.0]])


def test_predict_is_the_call_so_hooks_run_and_model_W_lists_every_parameter():
    model = dlref.Model(dlref.Layer(4, 3), dlref.Layer(3, 2, dlref.identity))
    seen = []
    model.register_forward_hook(lambda module, args, output: seen.append(output.shape))
    model.predict(torch.randn(5, 4))
    assert seen == [torch.Size([5, 2])]
    assert model.W == list(model.parameters()) and len(model.W) == 4


def test_as_model_wraps_any_module_without_copying_it():
    seq = nn.Sequential(nn.Linear(3, 2))
    wrapped = as_model(seq)
    assert isinstance(wrapped, dlref.Model) and wrapped[0] is seq and as_model(wrapped) is wrapped
    assert wrapped.W[0] is seq[0].weight
    X = torch.randn(4, 3)
    assert torch.equal(wrapped.predict(X), seq(X))
    with pytest.raises(TypeError, match=r"expected a model \(dlref.Model or any nn.Module\), found int"):
        as_model(3)


@pytest.mark.parametrize("model, expected", [
    (dlref.Model(dlref.Layer(3, 2, dlref.softmax)), dlref.softmax),
    (dlref.Model(dlref.Layer(3, 2), dlref.Layer(2, 2, dlref.identity)), dlref.identity),
    (dlref.Model(dlref.Layer(3, 2), dlref.Activation(dlref.softmax)), dlref.softmax),
    (dlref.Model(dlref.Model(dlref.Layer(3, 2, dlref.softmax))), dlref.softmax),
    (nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=-1)), dlref.softmax),
    (nn.Sequential(nn.Linear(3, 2)), dlref.identity),
    (dlref.Model(dlref.Layer(3, 2, dlref.relu)), None),
    (nn.Sequential(nn.Linear(3, 2), nn.Tanh()), None),
], ids=range(8))
def test_output_activation_is_read_from_the_layers(model, expected):
    assert output_activation(model) is expected
