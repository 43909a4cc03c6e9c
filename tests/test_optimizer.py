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
