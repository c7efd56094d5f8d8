"""Posteriors over theta (and the rates) on sufficient statistics.

All three work in the unconstrained space of the prior's supports (``biject_to``: stick
breaking for each competency's simplex, a sigmoid for each rate), where the log joint is
the Dirichlet (and Beta) log-prior, the log-Jacobian of the map, and the exact marginal
log-likelihood of the grouped rollouts, one batched scoring call for any number of points.

* :func:`svi`: a full-rank Gaussian (``AutoMultivariateNormal``'s family: a mean-field
  guide understates the spread, because competencies trade off) fit by reparameterised
  gradients with a batch of particles per step, started at the mode of the unconstrained
  density, stopped when the ELBO stops improving; draws come from one batched call.
* :func:`laplace`: the Gaussian at the mode of the unconstrained density whose covariance
  is the inverse Hessian of the negative log joint there: a few L-BFGS iterations.
* :func:`nuts`: Pyro's NUTS on the same log joint (:func:`sebn.core.fit.stats_model`),
  the reference, with settable warm-up, draws and chains.

Example:
    >>> from sebn.core.fit import SufficientStats
    >>> from sebn.core.model import simulate
    >>> from sebn.core.network import SEBN
    >>> from sebn.core.spec import parse_spec
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=2)\\ngoalreached : (| move=1)\\n"))
    >>> truth = {"move": torch.tensor([0.2, 0.5, 0.3])}
    >>> stats = SufficientStats.from_records(net, simulate(net, truth, [{"wall": w} for w in (0, 1)] * 2000, seed=1))
    >>> draws = svi(net, stats, num_samples=500, seed=0).theta["move"]
    >>> [round(p, 1) for p in draws.mean(0).tolist()]
    [0.2, 0.5, 0.3]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyro.distributions as dist
import torch
from pyro.distributions.transforms import biject_to

from sebn.core.inference import DTYPE, spec_rates
from sebn.core.network import SEBN

RATE_PRIOR_STRENGTH = 20.0

Progress = Callable[[int, float], None]
"""Called as ``progress(step, elbo)`` during SVI."""


@dataclass
class Draws:
    """Posterior draws: ``theta`` name -> ``[S, levels]``; ``rates`` ``(success[S, m],
    slip[S, m])`` when they were fit, else ``None``; ``steps``: the iterations it took."""

    theta: dict[str, torch.Tensor]
    rates: tuple[torch.Tensor, torch.Tensor] | None
    steps: int


class LogJoint:
    """The log joint density of the unconstrained parameters ``z`` (``[S, D]``).

    Args:
        net: the network.
        stats: the grouped rollouts (:class:`sebn.core.fit.SufficientStats`).
        priors: site name -> prior, in order (``theta_<competency>``, then ``slip`` and
            ``success_share`` when the rates are fit).
    """

    def __init__(self, net: SEBN, stats, priors: dict[str, dist.Distribution]):
        self.net, self.stats, self.priors = net, stats, priors
        self.transforms = {site: biject_to(prior.support) for site, prior in priors.items()}
        self.sizes = [self.transforms[site].inv(prior.mean).shape[-1] for site, prior in priors.items()]
        self.dim = sum(self.sizes)

    def constrain(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {site: self.transforms[site](part) for site, part in zip(self.priors, z.split(self.sizes, -1))}

    def unconstrain(self, values: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([self.transforms[site].inv(values[site]) for site in self.priors], -1)

    def parameters(self, values: dict[str, torch.Tensor]):
        return parameters(self.net, values)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(z.shape[0], dtype=DTYPE)
        values = {}
        for (site, prior), part in zip(self.priors.items(), z.split(self.sizes, -1)):
            value = self.transforms[site](part)
            total = total + prior.log_prob(value) + self.transforms[site].log_abs_det_jacobian(part, value)
            values[site] = value
        return total + self.stats.log_likelihood(self.net, *self.parameters(values))


def svi(
    net: SEBN,
    stats,
    priors: dict[str, dist.Distribution] | None = None,
    start: dict | None = None,
    num_samples: int = 1000,
    particles: int = 16,
    max_steps: int = 3000,
    lr: float = 0.05,
    window: int = 100,
    tolerance: float = 1e-4,
    seed: int = 0,
    progress: Progress | None = None,
) -> Draws:
    """Fit a full-rank Gaussian in the unconstrained space, then draw from it.

    Args:
        net, stats: the network and the grouped rollouts.
        priors: as for :class:`LogJoint` (default: :func:`default_priors` with concentration 1).
        start: constrained site values near which to look for the mode the mean starts at
            (the MAP, say; else the prior mean).
        num_samples: draws returned.
        particles: draws of the guide per gradient step (one batched scoring call).
        max_steps: a bound on Adam's steps.
        lr: Adam's learning rate.
        window: steps averaged when testing convergence.
        tolerance: stop when the mean ELBO of a window improves on the one before by less
            than ``tolerance * |ELBO|`` (the ELBO is a sum over rollouts).
        seed: seeds the particles and the draws.
        progress: called every ``window`` steps with the step and the window's mean ELBO.
    """
    joint = LogJoint(net, stats, priors or default_priors(net))
    generator = torch.Generator().manual_seed(seed)
    loc = mode(joint, start).clone().requires_grad_(True)
    raw_scale = torch.full((joint.dim,), -2.3, dtype=DTYPE, requires_grad=True)  # softplus: 0.1, Pyro's init_scale
    off_diagonal = torch.zeros(joint.dim, joint.dim, dtype=DTYPE, requires_grad=True)
    optimiser = torch.optim.Adam([loc, raw_scale, off_diagonal], lr=lr)

    def scale_tril() -> torch.Tensor:
        return torch.diag(torch.nn.functional.softplus(raw_scale)) + off_diagonal.tril(-1)

    history, previous, step = [], None, 0
    for step in range(1, max_steps + 1):
        tril = scale_tril()
        noise = torch.randn(particles, joint.dim, generator=generator, dtype=DTYPE)
        elbo = joint(loc + noise @ tril.T).mean() + tril.diagonal().log().sum()  # + the entropy's constant
        optimiser.zero_grad()
        (-elbo).backward()
        optimiser.step()
        history.append(float(elbo.detach()))
        if step % window == 0:
            current = sum(history[-window:]) / window
            if progress is not None:
                progress(step, current)
            if previous is not None and current - previous < tolerance * abs(current):
                break
            previous = current
    with torch.no_grad():
        noise = torch.randn(num_samples, joint.dim, generator=generator, dtype=DTYPE)
        values = joint.constrain(loc + noise @ scale_tril().T)
    theta, rates = joint.parameters(values)
    return Draws(theta, rates, step)


def laplace(
    net: SEBN,
    stats,
    start: dict,
    priors: dict[str, dist.Distribution] | None = None,
    num_samples: int = 1000,
    seed: int = 0,
) -> Draws:
    """The Gaussian at the mode of the unconstrained density (sought from ``start``, the MAP
    as constrained site values) with the inverse Hessian of the negative log joint there as
    covariance.

    Raises:
        ValueError: when the log joint is not curved downwards in every direction there
            (``start`` is not a maximum).
    """
    joint = LogJoint(net, stats, priors or default_priors(net))
    peak = mode(joint, start)
    hessian = torch.autograd.functional.hessian(lambda z: joint(z[None])[0], peak)
    try:
        tril = torch.linalg.cholesky(torch.linalg.inv(-hessian))
    except torch.linalg.LinAlgError:
        raise ValueError("the log joint is not curved downwards at the MAP; use svi or nuts") from None
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(num_samples, joint.dim, generator=generator, dtype=DTYPE)
    theta, rates = joint.parameters(joint.constrain(peak + noise @ tril.T))
    return Draws(theta, rates, 0)


def mode(joint: LogJoint, start: dict | None = None) -> torch.Tensor:
    """The maximum of the log joint in the unconstrained space, by L-BFGS from ``start``
    (constrained site values, pulled 1% towards the prior mean so that a MAP on the edge of
    a simplex has a finite preimage; the prior mean when ``None``)."""
    means = {site: prior.mean for site, prior in joint.priors.items()}
    start = {site: 0.99 * value + 0.01 * means[site] for site, value in (start or means).items()}
    z = joint.unconstrain(start).detach().clone().requires_grad_(True)
    optimiser = torch.optim.LBFGS(
        [z], lr=1.0, max_iter=500, tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe"
    )
    scale = max(joint.stats.n_records, 1)

    def closure():
        optimiser.zero_grad()
        loss = -joint(z[None])[0] / scale
        loss.backward()
        return loss

    optimiser.step(closure)
    return z.detach()


def default_priors(net: SEBN, concentration: float = 1.0, fit_rates: bool = False) -> dict[str, dist.Distribution]:
    """A symmetric Dirichlet per base competency; with ``fit_rates``, Beta priors on each
    target's slip and on its success's share of ``(slip, 1)``, centred on the spec's rates
    with strength :data:`RATE_PRIOR_STRENGTH`."""
    priors = {
        f"theta_{name}": dist.Dirichlet(torch.full((n,), float(concentration), dtype=DTYPE))
        for name, n in zip(net.base, net.n_levels)
    }
    if fit_rates:
        success, slip = spec_rates(net)
        gap, k = (success - slip) / (1 - slip), RATE_PRIOR_STRENGTH
        priors["slip"] = dist.Beta(k * slip, k * (1 - slip)).to_event(1)
        priors["success_share"] = dist.Beta(k * gap, k * (1 - gap)).to_event(1)
    return priors


def parameters(net: SEBN, values: dict[str, torch.Tensor]):
    """Theta and rates (``(success, slip)``, or ``None`` when not fit) from site values."""
    theta = {name: values[f"theta_{name}"] for name in net.base}
    if "slip" not in values:
        return theta, None
    slip, share = values["slip"], values["success_share"]
    return theta, (slip + (1 - slip) * share, slip)


def sites(theta: dict[str, torch.Tensor], rates=None) -> dict[str, torch.Tensor]:
    """:func:`parameters`' inverse: site values from theta and rates."""
    values = {f"theta_{name}": value for name, value in theta.items()}
    if rates is not None:
        success, slip = rates
        values.update(slip=slip, success_share=(success - slip) / (1 - slip))
    return values
