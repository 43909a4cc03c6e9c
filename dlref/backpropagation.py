"""Back propagation — the "Back propagation" slide: ``optimizer.update([layer1, layer2, layer3], loss)``.

Back-propagation computes ``∂L/∂W`` for every weight ``W`` by the chain rule, from the loss back
through the layers (torch's autograd: ``loss.backward()``); the optimizer then moves each ``W``
(``W ← W − η ∂L/∂W``, ``dlref/optimizer.py``). The slide's calls, told apart by the second argument:

    W = optimizer.update(W, gradients)      gradients shaped like W: returns W − η·gradients, changes nothing
    optimizer.update(model.W, loss)         a loss (a 0-dim tensor that carries a graph): back-propagate it
    optimizer.update([layer1, layer2], loss)    to the given weights only, then one step on each of them

The weights may be a tensor such as ``layer1.W``, a layer, a model, or a list of them. Anything
else (a loss read out with ``loss.item()``, gradients of another shape) is one sentence. Torch
twin: ``optimizer.zero_grad(); loss.backward(inputs=weights); optimizer.step()``.

``update(optimizer, W, gradients_or_loss)`` is written once, here: ``dlref.SGD`` has it as its method
(``Update``), and ``dlref.train`` calls it for any torch optimizer.
"""

from collections.abc import Iterable

import torch
from torch import nn

from . import checks


def update(optimizer, W, gradients_or_loss):
    """The slide's ``optimizer.update`` (module docstring): back-propagate a loss to ``W`` and step, or return
    ``W − η·gradients``."""
    loss = gradients_or_loss
    if isinstance(loss, torch.Tensor) and loss.dim() == 0 and loss.requires_grad:
        weights = _hold(optimizer, W)
        optimizer.zero_grad()  # every gradient this optimizer holds: only this loss's count
        with checks.backward(weights):  # a loss used before, or one that reaches none of the weights: a sentence
            loss.backward(inputs=weights)  # ∂L/∂W for each given W
        optimizer.step()  # W ← W − η ∂L/∂W
        return None
    return _rule(optimizer, W, gradients_or_loss)


def _rule(optimizer, W, gradients):
    """``W − η·gradients``, a new leaf like ``W`` (``W = optimizer.update(W, W.grad)`` can go round a loop)."""
    pairs = isinstance(W, (list, tuple)) and isinstance(gradients, (list, tuple)) and len(W) == len(gradients)
    if pairs and all(isinstance(w, torch.Tensor) for w in W):  # update(model.W, torch.autograd.grad(…))
        return [_rule(optimizer, w, g) for w, g in zip(W, gradients)]
    if not (isinstance(W, torch.Tensor) and isinstance(gradients, torch.Tensor) and gradients.shape == W.shape):
        raise checks.update_error(W, gradients)  # neither form: what was found, and the likely slip
    group = ([g for g in optimizer.param_groups if any(p is W for p in g["params"])] or optimizer.param_groups)[0]
    checks.rule_alone(group)  # momentum, weight decay … it would ignore
    with torch.no_grad():
        return (W - group["lr"] * gradients).requires_grad_(W.requires_grad)  # W ← W − η·gradients


def _hold(optimizer, W) -> list[torch.Tensor]:
    """The tensors behind a tensor, a layer, a model or a list of them, each once, frozen ones left out; of
    those the optimizer does not hold, ``SGD(lr)`` (``takes_weights``) adopts them, ``dlref.SGD(params)``
    refuses them, and a torch optimizer leaves them out, as its own loop would (it holds a part of a model)."""
    items = [W] if isinstance(W, (torch.Tensor, nn.Module)) else list(W) if isinstance(W, Iterable) else [W]
    checks.weights(W, items)  # tensors, layers or models
    tensors = [p for item in items for p in ([item] if isinstance(item, torch.Tensor) else item.parameters())]
    weights = list(dict.fromkeys(p for p in tensors if p.requires_grad))  # frozen ones left out, each once
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    missing = [p for p in weights if id(p) not in held]
    takes = getattr(optimizer, "takes_weights", None)  # True, False (dlref.SGD) or None (a torch optimizer)
    checks.held(W, weights, missing, takes)  # some weights, held or taken (a torch optimizer: at least one held)
    if missing and takes is None:
        return [p for p in weights if id(p) in held]
    if missing:  # SGD(lr): adopt them, with the first group's lr, momentum …
        group = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
        if not optimizer.param_groups[0]["params"]:
            optimizer.param_groups.pop(0)  # the empty group SGD(lr) started with
        optimizer.add_param_group({**group, "params": missing})
    return weights


class Update:
    """The slide's ``update`` as a method of a ``torch.optim.Optimizer`` subclass (``dlref.SGD``); ``_hold`` says
    what ``takes_weights`` does."""

    takes_weights = False
    update = update
