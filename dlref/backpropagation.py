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
"""

from collections.abc import Iterable

import torch
from torch import nn


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)}{' that carries a graph' if x.requires_grad else ''}"
    return f"a {type(x).__name__}" + (f" of {len(x)}" if isinstance(x, (list, tuple)) else "")


class Update:
    """The slide's ``update`` for a ``torch.optim.Optimizer`` subclass (``dlref.SGD``).

    An optimizer whose ``takes_weights`` is true (``SGD(lr)``) adds the weights it is given to its
    param groups; any other refuses weights it does not hold.
    """

    takes_weights = False

    def update(self, W, gradients_or_loss):
        """The slide's ``update`` (module docstring): ``W − η·gradients``, or back-propagate a loss and step."""
        loss = gradients_or_loss
        if isinstance(loss, torch.Tensor) and loss.dim() == 0 and loss.requires_grad:
            weights = self._hold(W)
            self.zero_grad()  # every gradient this optimizer holds: only this loss's count
            try:
                loss.backward(inputs=weights)  # ∂L/∂W for each given W
            except RuntimeError as error:
                if "second time" not in str(error):
                    raise
                raise RuntimeError("SGD.update expected a new loss, found one an earlier update already "
                                   "back-propagated; compute it again for each update (Y = model.predict(X); "
                                   "loss = LossFunction(Y, target)).") from None
            if all(w.grad is None for w in weights):  # checked on the host side of autograd: no value read
                raise ValueError("SGD.update expected a loss computed from the weights it is given, found one that "
                                 "depends on none of them; compute the loss from this model's predict(X) (a model "
                                 "built again, e.g. by re-running a cell, has new weights).")
            self.step()  # W ← W − η ∂L/∂W
            return None
        return self._rule(W, gradients_or_loss)

    def _rule(self, W, gradients):
        if isinstance(W, torch.Tensor) and isinstance(gradients, torch.Tensor) and gradients.shape == W.shape:
            group = ([g for g in self.param_groups if any(p is W for p in g["params"])] or self.param_groups)[0]
            extra = {k: group[k] for k in ("momentum", "weight_decay", "nesterov", "maximize") if group[k]}
            if extra:
                raise ValueError(
                    f"SGD.update(W, gradients) is the slide's rule W − η·gradients alone, found an optimizer with "
                    f"{', '.join(f'{k}={v}' for k, v in extra.items())} that it would ignore; call "
                    "optimizer.update(model.W, loss) to use them, or build SGD(lr) for the rule alone."
                )
            with torch.no_grad():  # a new leaf, like W: `W = optimizer.update(W, W.grad)` can go round a loop
                return (W - group["lr"] * gradients).requires_grad_(W.requires_grad)
        pairs = isinstance(W, (list, tuple)) and isinstance(gradients, (list, tuple)) and len(W) == len(gradients)
        if pairs and all(isinstance(w, torch.Tensor) for w in W):  # update(model.W, torch.autograd.grad(…))
            return [self._rule(w, g) for w, g in zip(W, gradients)]
        hint = ("pass the loss tensor itself, not loss.item()" if isinstance(gradients, (int, float))
                else "compute the loss with gradients enabled (not under torch.no_grad, not detached)"
                if isinstance(gradients, torch.Tensor) and gradients.dim() == 0
                else "a loss is one number: reduce it with .mean() (the losses of dlref already do)"
                if isinstance(gradients, torch.Tensor) and gradients.requires_grad
                else "call optimizer.update(model.W, loss) to train, or update(W, gradients) for W − η·gradients")
        raise TypeError(
            f"SGD.update expected (W, gradients shaped like W) or (weights, a 0-dim loss that carries a graph), "
            f"found ({_describe(W)}, {_describe(gradients)}); {hint}."
        )

    def _hold(self, W) -> list[torch.Tensor]:
        """The tensors behind a tensor, a layer, a model or a list of them; those this optimizer holds."""
        items = [W] if isinstance(W, (torch.Tensor, nn.Module)) else list(W) if isinstance(W, Iterable) else [W]
        if not all(isinstance(item, (torch.Tensor, nn.Module)) for item in items):
            raise TypeError(f"SGD.update expected weights (a tensor, a layer, a model or a list of them), found "
                            f"{_describe(W)}; call optimizer.update(model.W, loss) or update([layer1, layer2], loss).")
        tensors = [p for item in items for p in ([item] if isinstance(item, torch.Tensor) else item.parameters())]
        weights = list(dict.fromkeys(p for p in tensors if p.requires_grad))  # frozen ones left out, each once
        if not weights:
            raise ValueError(f"SGD.update expected weights that require gradients, found none in {_describe(W)}; "
                             "pass model.W, the layers or the model that computed the loss.")
        held = {id(p) for group in self.param_groups for p in group["params"]}
        missing = [p for p in weights if id(p) not in held]
        if missing and not self.takes_weights:
            raise ValueError(
                f"SGD.update expected weights this optimizer holds, found {len(missing)} it was not given; build it "
                "with SGD(model.parameters(), lr=...) for the same model, or SGD(lr) to take the weights it is given."
            )
        if missing:  # SGD(lr): adopt them, with the first group's lr, momentum …
            group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
            if not self.param_groups[0]["params"]:
                self.param_groups.pop(0)  # the empty group SGD(lr) started with
            self.add_param_group({**group, "params": missing})
        return weights
