"""The student's gradients per episode, for the gradient-norm teacher's reward.

A feeder (:mod:`sebn.runner.feeder`) gives every running episode a :class:`GradientStats`
and adds to it each student update the episode took part in; when the episode ends, its
``rewards`` are the teacher's two rewards (the gradient-norm paper's):

    mean_norm = (1/T) sum_t ||g_t||          sum_norm = (1/T) ||sum_t g_t||

with ``T`` the episode's length and ``g_t`` the gradient of one student update (one
``on_update`` call) restricted to the chosen parameters. Under the feeder's rollout rule
(PPO) every update of a rollout learns from the whole episode, so ``T`` is the number of
updates the episode got instead: dividing by its length would reward short episodes for
being short.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from sebn.curricula.registry import GRADIENT_SOURCES


class GradientStats:
    """Gradient statistics of one episode, from the student's ``on_update`` calls.

    Args:
        parameters: whose gradients count: ``"actor"``, ``"critic"`` or ``"both"``.
        last_layer: only each module's last ``nn.Linear`` (the paper's future-work option).

    Example:
        >>> layer = nn.Linear(1, 1, bias=False)
        >>> stats = GradientStats("actor")
        >>> for value in (3.0, -1.0):
        ...     layer.weight.grad = torch.tensor([[value]])
        ...     stats.add({"actor": layer})
        >>> stats.rewards(length=2)   # norms 3 and 1; their sum is 2
        {'mean_norm': 2.0, 'sum_norm': 1.0, 'updates': 2}
    """

    def __init__(self, parameters: str = "actor", last_layer: bool = False):
        if parameters not in GRADIENT_SOURCES:
            raise ValueError(f"parameters must be one of {', '.join(GRADIENT_SOURCES)}, not {parameters!r}")
        self.names = ("actor", "critic") if parameters == "both" else (parameters,)
        self.last_layer = last_layer
        self.norm_sum = 0.0
        self.updates = 0
        self.sums: dict[str, torch.Tensor] = {}

    def add(self, modules: Mapping[str, nn.Module]) -> None:
        """Count one update: the gradients now in ``modules``."""
        self.add_read(self.read(modules))

    def read(self, modules: Mapping[str, nn.Module]) -> dict[str, tuple[torch.Tensor, float]]:
        """The chosen gradients now in ``modules``, each flattened into a copy (the
        optimiser overwrites them in place at the next ``zero_grad``/``backward``), with its
        norm: read once per update, :meth:`add_read` to every episode it counts for."""
        read = {}
        for name in self.names:
            if name not in modules:
                continue
            grads = [p.grad.detach().reshape(-1) for p in self._parameters(modules[name]) if p.grad is not None]
            if grads:
                flat = torch.cat(grads).to(torch.float64)  # a new tensor: never a view of .grad
                read[name] = (flat, float(flat.norm()))
        return read

    def add_read(self, gradients: Mapping[str, tuple[torch.Tensor, float]]) -> None:
        """Count one update from what :meth:`read` gave."""
        for name, (flat, norm) in gradients.items():
            self.norm_sum += norm
            self.updates += 1
            self.sums[name] = self.sums[name] + flat if name in self.sums else flat

    def _parameters(self, module: nn.Module) -> list[nn.Parameter]:
        if not self.last_layer:
            return list(module.parameters())
        linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
        return list(linears[-1].parameters()) if linears else list(module.parameters())

    def rewards(self, length: int, per_update: bool = False) -> dict[str, float]:
        """``mean_norm`` and ``sum_norm`` over an episode of ``length`` steps (0 with no
        update); ``per_update``: over the updates it got instead (the rollout rule)."""
        total = math.sqrt(sum(float(s.norm()) ** 2 for s in self.sums.values()))
        steps = max(self.updates if per_update else int(length), 1)
        return {"mean_norm": self.norm_sum / steps, "sum_norm": total / steps, "updates": self.updates}
