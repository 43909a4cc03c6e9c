"""The slide's optimizer.update (dlref/backpropagation.py): each form against torch's zero_grad, backward, step."""

import copy

import pytest
import torch
from torch import nn

import dlref


def test_slide_pure_rule_returns_w_minus_lr_gradients():
    W, grad = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
    opt = dlref.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    assert torch.equal(opt.update(W, grad), W - 0.1 * grad)
    assert torch.equal(W, torch.tensor([1.0, 2.0]))


def test_slide_update_with_layers_and_loss_equals_torch_step():
    torch.manual_seed(0)
    layer1, layer2 = dlref.Layer(4, 3), dlref.Layer(3, 2, dlref.identity)
    twin1, twin2 = copy.deepcopy(layer1), copy.deepcopy(layer2)
    before = layer1.W.detach().clone()
    X = torch.randn(5, 4)
    opt = dlref.SGD(list(layer1.parameters()) + list(layer2.parameters()), lr=0.5)
    opt.update([layer1, layer2], layer2(layer1(X)).square().mean())
    torch_opt = torch.optim.SGD(list(twin1.parameters()) + list(twin2.parameters()), lr=0.5, foreach=False)
    twin2(twin1(X)).square().mean().backward()
    torch_opt.step()
    assert torch.equal(layer1.W, twin1.W) and torch.equal(layer2.B, twin2.B)
    assert not torch.equal(layer1.W, before)  # the step moved the weights (the equality above is not vacuous)


def test_update_refuses_layers_it_does_not_hold():
    opt = dlref.SGD(dlref.Layer(2, 2).parameters(), lr=0.1)
    other = dlref.Layer(2, 2)
    with pytest.raises(ValueError, match=r"expected weights this optimizer holds, found 2 it was not given; build it "
                                         r"with SGD\(model.parameters\(\), lr=...\)"):
        opt.update([other], other(torch.ones(2)).sum())


# ---- the slide's calls: update(W, gradients), update(model.W, loss), update([layer1, …], loss), SGD(lr)


def _model(seed=0):
    torch.manual_seed(seed)
    return dlref.Model(dlref.Layer(4, 3), dlref.Layer(3, 2, dlref.identity))


def _slide_loss(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    X, t = torch.randn(6, 4, generator=g), torch.randint(0, 2, (6,), generator=g)
    return dlref.cross_entropy(model.predict(X), t)


@pytest.mark.parametrize("weights", ["model.W", "model", "layers"])
def test_update_with_a_loss_equals_torch_sgd_step_for_step(weights):
    ours, theirs = _model(), _model()
    opt = dlref.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    torch_opt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, foreach=False)
    for step in range(5):
        given = {"model.W": ours.W, "model": ours, "layers": [ours[0], ours[1]]}[weights]
        assert opt.update(given, _slide_loss(ours, step)) is None
        torch_opt.zero_grad()
        _slide_loss(theirs, step).backward()
        torch_opt.step()
    assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), theirs.parameters()))


def test_model_W_is_every_weight_and_bias_in_layer_order():
    model = _model()
    assert model.W == [model[0].W, model[0].B, model[1].W, model[1].B]


def test_update_of_some_weights_moves_those_only():
    model = _model()
    opt = dlref.SGD(model.parameters(), lr=0.5)
    before = [p.detach().clone() for p in model.parameters()]
    opt.update(model[0].W, _slide_loss(model))  # the slide's update(layer.W, loss): one tensor
    moved = [not torch.equal(a, b) for a, b in zip(before, model.parameters())]
    assert moved == [True, False, False, False]
    assert model[1].W.grad is None  # the loss was back-propagated to the given W only
    opt.update([model[1]], _slide_loss(model, 2))  # layer 1's gradient from the last call is not reused
    moved = [not torch.equal(a, b) for a, b in zip(before, model.parameters())]
    assert moved == [True, False, True, True] and model[0].W.grad is None


def test_update_with_gradients_is_the_pure_rule_for_a_list_too():
    model = _model()
    opt = dlref.SGD(model.parameters(), lr=0.1)
    loss = _slide_loss(model)
    gradients = torch.autograd.grad(loss, model.W)
    new = opt.update(model.W, gradients)
    assert all(torch.equal(n, W - 0.1 * g) for n, W, g in zip(new, model.W, gradients))
    assert all(W.grad is None for W in model.W)  # nothing changed, nothing accumulated


@pytest.mark.parametrize("second, error, words", [
    (lambda loss, W: loss.item(), TypeError, r"found \(a tensor of shape \(3, 4\) that carries a graph, a float\); "
                                             r"pass the loss tensor itself, not loss.item\(\)\."),
    (lambda loss, W: loss.detach(), TypeError, r"found \(a tensor of shape \(3, 4\) that carries a graph, a tensor of "
                                               r"shape \(\)\); compute the loss with gradients enabled"),
    (lambda loss, W: torch.ones(4, 3), TypeError,
     r"gradients shaped like W\) or \(weights, a 0-dim loss that carries a graph\), found \(a tensor of shape "
     r"\(3, 4\) that carries a graph, a tensor of shape \(4, 3\)\)"),
])
def test_update_tells_a_loss_from_gradients_and_refuses_anything_else(second, error, words):
    model = _model()
    opt = dlref.SGD(model.parameters(), lr=0.1)
    before = model[0].W.detach().clone()
    with pytest.raises(error, match=words):
        opt.update(model[0].W, second(_slide_loss(model), model[0].W))
    assert torch.equal(model[0].W, before)


def test_update_refuses_what_holds_no_weights():
    model = _model()
    opt = dlref.SGD(model.parameters(), lr=0.1)
    words = r"expected weights \(a tensor, a layer, a model or a list of them\), found a str"
    with pytest.raises(TypeError, match=words):
        opt.update("W", _slide_loss(model))
    model.requires_grad_(False)
    loss = _slide_loss(model) + torch.zeros((), requires_grad=True)
    with pytest.raises(ValueError, match="expected weights that require gradients, found none in a list of 4"):
        opt.update(model.W, loss)


def test_sgd_with_a_learning_rate_alone_takes_the_weights_update_is_given():
    # The slide's optimizer = new SGD(0.001): the weights come later, with update.
    W, gradients = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
    assert torch.equal(dlref.SGD(0.001).update(W, gradients), W - 0.001 * gradients)
    optimizer = dlref.SGD(0.001, momentum=0.9)
    # The rule alone would drop the momentum the learner asked for: refused rather than ignored.
    with pytest.raises(ValueError, match=r"rule W − η·gradients alone, found an optimizer with momentum=0.9"):
        optimizer.update(W, gradients)
    ours, theirs = _model(), _model()
    torch_opt = torch.optim.SGD(theirs.parameters(), lr=0.001, momentum=0.9, foreach=False)
    for step in range(4):
        optimizer.update(ours.W, _slide_loss(ours, step))
        torch_opt.zero_grad()
        _slide_loss(theirs, step).backward()
        torch_opt.step()
    assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), theirs.parameters()))
    assert len(optimizer.param_groups) == 1 and optimizer.param_groups[0]["params"] == ours.W
    assert dlref.SGD(lr=0.01).takes_weights and not dlref.SGD(ours.parameters()).takes_weights
    with pytest.raises(TypeError, match=r"expected one learning rate, found SGD\(0.001, lr=0.1\); pass SGD\(0.001\)"):
        dlref.SGD(0.001, lr=0.1)


def test_the_rule_returns_a_new_leaf_so_the_slides_assignment_can_loop():
    # W = optimizer.update(W, W.grad), round a loop, as a learner types it.
    W, opt = torch.tensor([1.0, -2.0], requires_grad=True), dlref.SGD(0.1)
    for _ in range(3):
        W.grad = None
        (W ** 2).sum().backward()
        expected = W.detach() - 0.1 * W.grad
        W = opt.update(W, W.grad)
        assert W.is_leaf and W.requires_grad and torch.equal(W.detach(), expected)
    assert torch.allclose(W.detach(), torch.tensor([1.0, -2.0]) * 0.8 ** 3)


def test_update_refuses_a_loss_that_reaches_none_of_the_weights_and_a_loss_used_twice():
    model, stale = dlref.Model(dlref.Layer(3, 2, dlref.identity)), dlref.Model(dlref.Layer(3, 2, dlref.identity))
    opt, X = dlref.SGD(model.parameters(), lr=0.1), torch.randn(4, 3)
    before = [w.detach().clone() for w in model.W]
    with pytest.raises(ValueError, match=r"^SGD.update expected a loss computed from the weights it is given, found "
                                         r"one that depends on none of them; compute the loss from this model's"):
        opt.update(model.W, stale.predict(X).square().mean())  # the loss of a model built earlier
    assert all(torch.equal(a, b) for a, b in zip(before, model.W))  # nothing moved
    loss = model.predict(X).square().mean()
    opt.update(model.W, loss)
    with pytest.raises(RuntimeError, match=r"^SGD.update expected a new loss, found one an earlier update already "
                                           r"back-propagated; compute it again for each update"):
        opt.update(model.W, loss)
