"""dlref.SGD against torch.optim.SGD(foreach=False): bit for bit, every option."""

import copy
import itertools
import re

import pytest
import torch
from torch import nn

import dlref

STEPS = 25


def _options():
    grid = itertools.product([0.1, "tensor"], [0.0, 0.9], [0.0, 0.3], [0.0, 1e-2], [False, True], [False, True])
    for lr, momentum, dampening, weight_decay, nesterov, maximize in grid:
        if nesterov and (momentum == 0 or dampening != 0):
            continue  # torch rejects these (tested below)
        yield dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                   nesterov=nesterov, maximize=maximize)


class _Net(nn.Sequential):
    def __init__(self):
        super().__init__(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
        self.unused = nn.Linear(2, 2)  # never in the loss: its grad stays None

    def forward(self, X):
        return self[2](self[1](self[0](X)))


def _net(dtype):
    torch.manual_seed(0)
    return _Net().to(dtype)


def _groups(net, options):
    # Two param groups with different hyper-parameters, plus the unused layer.
    lr = torch.tensor(options["lr"] if options["lr"] != "tensor" else 0.05)
    first = dict(params=list(net[0].parameters()) + list(net.unused.parameters()))
    second = dict(params=list(net[2].parameters()), lr=lr / 2, momentum=options["momentum"] / 2)
    return [first, second]


def _loss(net, step, dtype):
    g = torch.Generator().manual_seed(step)
    X, Y = torch.randn(8, 6, generator=g, dtype=dtype), torch.randn(8, 3, generator=g, dtype=dtype)
    return ((net(X) - Y) ** 2).mean()


def _kwargs(options):
    kwargs = dict(options)
    if kwargs["lr"] == "tensor":
        kwargs["lr"] = torch.tensor(0.05)
    return kwargs


def _run(opt_cls, net, options, dtype, steps=STEPS, **extra):
    opt = opt_cls(_groups(net, options), **_kwargs(options), **extra)
    for step in range(steps):
        opt.zero_grad()
        _loss(net, step, dtype).backward()
        opt.step()
    return opt


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("options", list(_options()), ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_sgd_bit_for_bit_against_torch(options, dtype):
    ours, theirs = _net(dtype), _net(dtype)
    opt_ours = _run(dlref.SGD, ours, options, dtype)
    opt_theirs = _run(torch.optim.SGD, theirs, options, dtype, foreach=False)
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters()):
        assert torch.equal(a, b), name
    assert ours.unused.weight.grad is None
    drop_foreach = lambda groups: [{k: v for k, v in g.items() if k != "foreach"} for g in groups]  # noqa: E731
    assert drop_foreach(opt_ours.state_dict()["param_groups"]) == drop_foreach(opt_theirs.state_dict()["param_groups"])
    for a, b in zip(ours.parameters(), theirs.parameters()):
        buf_a = opt_ours.state[a].get("momentum_buffer")
        buf_b = opt_theirs.state[b].get("momentum_buffer")
        assert (buf_a is None) == (buf_b is None)
        assert buf_a is None or torch.equal(buf_a, buf_b)


def test_parameters_really_move():
    net, before = _net(torch.float32), copy.deepcopy(_net(torch.float32))
    _run(dlref.SGD, net, dict(lr=0.1, momentum=0.9, dampening=0, weight_decay=0, nesterov=True, maximize=False),
         torch.float32)
    assert not torch.equal(net[0].weight, before[0].weight)
    assert torch.equal(net.unused.weight, before.unused.weight)


@pytest.mark.parametrize("nesterov", [False, True])
def test_state_dict_save_load_mid_run_continues_identically(nesterov):
    options = dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=1e-3, nesterov=nesterov, maximize=False)
    straight, resumed = _net(torch.float32), _net(torch.float32)
    _run(dlref.SGD, straight, options, torch.float32, steps=2 * STEPS)

    opt = _run(dlref.SGD, resumed, options, torch.float32, steps=STEPS)
    saved_model = copy.deepcopy(resumed.state_dict())
    saved_opt = copy.deepcopy(opt.state_dict())
    fresh = _net(torch.float32)
    fresh.load_state_dict(saved_model)
    opt = dlref.SGD(_groups(fresh, options), **_kwargs(options))
    opt.load_state_dict(saved_opt)
    for step in range(STEPS, 2 * STEPS):
        opt.zero_grad()
        _loss(fresh, step, torch.float32).backward()
        opt.step()
    for a, b in zip(straight.parameters(), fresh.parameters()):
        assert torch.equal(a, b)


def test_state_dict_is_interchangeable_with_torch():
    options = dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False)
    net = _net(torch.float32)
    theirs = _run(torch.optim.SGD, net, options, torch.float32, foreach=False)
    ours = dlref.SGD(_groups(net, options), **_kwargs(options))
    ours.load_state_dict(theirs.state_dict())
    assert ours.state_dict()["param_groups"] == theirs.state_dict()["param_groups"]
    ours_buf, theirs_buf = ours.state_dict()["state"][0], theirs.state_dict()["state"][0]
    assert torch.equal(ours_buf["momentum_buffer"], theirs_buf["momentum_buffer"])


BAD = [
    dict(lr=-0.1),
    dict(lr=torch.tensor([0.1, 0.2])),
    dict(lr=0.1, momentum=-0.5),
    dict(lr=0.1, weight_decay=-1e-4),
    dict(lr=0.1, nesterov=True),
    dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
]


@pytest.mark.parametrize("kwargs", BAD, ids=str)
def test_invalid_arguments_rejected_as_torch_rejects_them(kwargs):
    params = [nn.Parameter(torch.zeros(2))]
    with pytest.raises(Exception) as theirs:
        torch.optim.SGD(params, **kwargs)
    with pytest.raises(type(theirs.value), match="^" + re.escape(str(theirs.value))):
        dlref.SGD(params, **kwargs)
    with pytest.raises(ValueError):
        dlref.SGD([], lr=0.1)  # torch: "optimizer got an empty parameter list"


def test_slide_pure_rule_returns_w_minus_lr_gradients():
    W, grad = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
    opt = dlref.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    assert torch.equal(opt.update(W, grad), W - 0.1 * grad)
    assert torch.equal(W, torch.tensor([1.0, 2.0]))


def test_slide_update_with_layers_and_loss_equals_torch_step():
    torch.manual_seed(0)
    layer1, layer2 = dlref.Layer(4, 3), dlref.Layer(3, 2, dlref.identity)
    twin1, twin2 = copy.deepcopy(layer1), copy.deepcopy(layer2)
    X = torch.randn(5, 4)
    opt = dlref.SGD(list(layer1.parameters()) + list(layer2.parameters()), lr=0.5)
    opt.update([layer1, layer2], layer2(layer1(X)).square().mean())
    torch_opt = torch.optim.SGD(list(twin1.parameters()) + list(twin2.parameters()), lr=0.5, foreach=False)
    twin2(twin1(X)).square().mean().backward()
    torch_opt.step()
    assert torch.equal(layer1.W, twin1.W) and torch.equal(layer2.B, twin2.B)
    assert not torch.equal(layer1.W, copy.deepcopy(layer1).W + 1)


def test_update_refuses_layers_it_does_not_hold():
    opt = dlref.SGD(dlref.Layer(2, 2).parameters(), lr=0.1)
    other = dlref.Layer(2, 2)
    with pytest.raises(ValueError, match=r"expected weights this optimizer holds, found 2 it was not given; build it "
                                         r"with SGD\(model.parameters\(\), lr=...\)"):
        opt.update([other], other(torch.ones(2)).sum())


@pytest.mark.parametrize("kwargs, words", [
    (dict(lr=float("nan")), "Invalid learning rate: nan (expected a finite lr >= 0; pass e.g. lr=0.1)"),
    (dict(lr=float("inf")), "Invalid learning rate: inf (expected a finite lr >= 0"),
    (dict(lr=torch.tensor(float("nan"))), "Invalid learning rate: nan (expected a finite lr"),
    (dict(lr=0.1, momentum=float("nan")), "Invalid momentum value: nan (expected a finite momentum >= 0"),
    (dict(lr=0.1, momentum=float("inf")), "Invalid momentum value: inf"),
    (dict(lr=0.1, dampening=float("nan")), "Invalid dampening value: nan (expected a finite dampening; pass e.g."),
    (dict(lr=0.1, weight_decay=float("inf")), "Invalid weight_decay value: inf (expected a finite weight_decay >= 0"),
], ids=str)
def test_non_finite_hyperparameters_are_refused_at_the_door_naming_the_option(kwargs, words):
    params = [nn.Parameter(torch.zeros(2))]
    torch.optim.SGD(params, **kwargs)  # torch lets these through: the check is dlref's own
    with pytest.raises(ValueError) as error:
        dlref.SGD(params, **kwargs)
    assert str(error.value).startswith(words)


def test_a_param_groups_own_options_are_checked_too():
    W, V = nn.Parameter(torch.zeros(2)), nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match=r"^Invalid momentum value: nan"):
        dlref.SGD([{"params": [W]}, {"params": [V], "momentum": float("nan")}], lr=0.1)
    opt = dlref.SGD([W], lr=0.1)
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -1"):
        opt.add_param_group({"params": [V], "lr": -1})
    assert len(opt.param_groups) == 1  # the refused group was not kept


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
    optimizer = dlref.SGD(0.001, momentum=0.9)
    W, gradients = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
    assert torch.equal(optimizer.update(W, gradients), W - 0.001 * gradients)
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


def test_closure_is_called_and_its_loss_returned():
    net = _net(torch.float32)
    opt = dlref.SGD(net.parameters(), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = _loss(net, 0, torch.float32)
        loss.backward()
        return loss

    before = net[0].weight.detach().clone()
    loss = opt.step(closure)
    assert loss is not None and loss.item() > 0
    assert not torch.equal(before, net[0].weight)
