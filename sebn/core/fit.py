"""Fitting theta (and optionally the rates) from rollout records.

Every method works on sufficient statistics: rollouts are grouped by their requirement
signature (the compiled requirement tensors of their env setting) and their observed
target pattern, so the exact marginal log-likelihood costs one scoring pass per distinct
group, however many rollouts there are.

* ``mle``: maximise the log-likelihood (the paper's Eq. 1) with L-BFGS over softmax logits.
* ``map``: the same plus the Dirichlet log-prior (concentration 1 makes it the MLE).
* ``svi``: a full-rank Gaussian variational posterior (a mean-field guide understates the
  spread, because competencies trade off against each other), :func:`sebn.core.posterior.svi`.
* ``laplace``: the Gaussian at the posterior's mode, :func:`sebn.core.posterior.laplace`.
* ``nuts``: posterior draws by NUTS, the reference for the others.

Example:
    >>> from sebn.core.model import simulate
    >>> from sebn.core.network import SEBN
    >>> from sebn.core.spec import parse_spec
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=2)\\ngoalreached : (| move=1)\\n"))
    >>> truth = {"move": torch.tensor([0.2, 0.5, 0.3])}
    >>> records = simulate(net, truth, [{"wall": w} for w in (0, 1)] * 5000, seed=1)
    >>> result = fit(net, records, method="mle")
    >>> [round(p, 1) for p in result.theta["move"].tolist()]
    [0.2, 0.5, 0.3]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyro
import torch
from pyro.infer import MCMC, NUTS

from sebn.core import FIT_METHODS
from sebn.core.inference import DTYPE, Terms, compile_observations, prepare, spec_rates
from sebn.core.network import SEBN, SUM_TOLERANCE
from sebn.core.posterior import Progress, default_priors, laplace, parameters, sites, svi
from sebn.core.records import RecordError, as_lists, observations

METHODS = FIT_METHODS
FIT_FILE_VERSION = 2
"""The fit file's format: 2 added the optional ``rate_draws`` (1: ``theta``, ``draws``, ``rates``)."""


@dataclass
class SufficientStats:
    """Rollout counts per distinct (observed pattern, requirement signature).

    Attributes:
        terms: the compiled likelihood of each distinct group.
        counts: ``[K]`` rollouts in each group.
        n_records: rollouts summarised (those with no observed target carry no information
            and are dropped from the groups).
    """

    terms: Terms
    counts: torch.Tensor
    n_records: int

    @classmethod
    def from_observations(
        cls, net: SEBN, settings: torch.Tensor, observed: torch.Tensor, source: str = "records"
    ) -> SufficientStats:
        """The statistics of rollouts given as :func:`sebn.core.records.observations` makes them.

        Raises:
            RecordError: no rollout observes a target (named by ``source``).
        """
        if not bool((observed >= 0).any()):
            raise RecordError(f"{source}: no record observes a target (every 'targets' entry is missing or null)")
        levels, parents = (torch.from_numpy(a) for a in net.requirements(settings))
        n, m, b = levels.shape
        informative = (observed >= 0).any(dim=1)
        key = torch.cat([observed, levels.reshape(n, -1), parents.reshape(n, -1).long()], dim=1)[informative]
        unique, counts = torch.unique(key, dim=0, return_counts=True)
        terms = compile_observations(
            net,
            unique[:, m : m + m * b].reshape(-1, m, b),
            unique[:, m + m * b :].reshape(-1, m, m).bool(),
            unique[:, :m],
        )
        return cls(terms, counts.to(DTYPE), n)

    @classmethod
    def from_records(cls, net: SEBN, records: Sequence[Mapping], source: str = "records") -> SufficientStats:
        """The statistics of rollouts read from ``source`` (named in errors).

        Raises:
            RecordError: a bad record, or no record that observes any target.
        """
        return cls.from_observations(net, *observations(net, records, source), source)

    @property
    def n_groups(self) -> int:
        return len(self.counts)

    def log_likelihood(self, net: SEBN, theta, rates=None) -> torch.Tensor:
        """``[S]`` exact marginal log-likelihood of the summarised rollouts."""
        flat, rates, _ = prepare(net, theta, rates, validate=False)
        probs = self.terms.evaluate(flat, rates)
        return (self.counts * probs.clamp_min(1e-300).log()).sum(-1)


@dataclass
class FitResult:
    """A fitted network: point theta, optional posterior draws, and what it was fit on.

    ``to_json`` writes the theta/fit file (``sebn fit -o``; docs/cli.md's file formats):
    ``draws`` holds theta's posterior draws, ``rate_draws`` the rates' when they were fit
    by a posterior method.
    """

    theta: dict[str, torch.Tensor]
    method: str
    log_likelihood: float
    n_records: int
    n_groups: int
    rates: dict[str, dict[str, float]] = field(default_factory=dict)
    draws: dict[str, torch.Tensor] | None = None
    rate_draws: dict[str, dict[str, list[float]]] | None = None

    def to_json(self) -> dict:
        data = {
            "version": FIT_FILE_VERSION,
            "theta": as_lists(self.theta),
            "method": self.method,
            "log_likelihood": self.log_likelihood,
            "data": {"records": self.n_records, "groups": self.n_groups},
            "rates": self.rates,
        }
        if self.draws is not None:
            data["draws"] = as_lists(self.draws)
        if self.rate_draws is not None:
            data["rate_draws"] = self.rate_draws
        return data


def fit(
    net: SEBN,
    records: Sequence[Mapping] | SufficientStats,
    method: str = "mle",
    concentration: float = 1.0,
    fit_rates: bool = False,
    num_samples: int = 1000,
    warmup_steps: int = 500,
    svi_steps: int = 3000,
    chains: int = 1,
    seed: int = 0,
    progress: Progress | bool | None = None,
) -> FitResult:
    """Fit theta to rollout records.

    Args:
        net: the network.
        records: episode records (or precomputed :class:`SufficientStats`).
        method: ``"mle"``, ``"map"``, ``"svi"``, ``"laplace"`` or ``"nuts"``.
        concentration: the symmetric Dirichlet prior's concentration (map, svi, nuts).
        fit_rates: also fit each target's ``success`` and ``slip`` (priors for the
            Bayesian methods: Beta around the spec's values, strength 20).
        num_samples: posterior draws kept (svi, laplace, nuts: per chain).
        warmup_steps: NUTS warm-up steps.
        svi_steps: the most Adam steps SVI takes (it stops earlier when the ELBO settles).
        chains: NUTS chains.
        seed: seeds svi, laplace and nuts.
        progress: SVI's ``progress(step, elbo)`` callback; for NUTS, ``True`` shows Pyro's
            progress bar.

    Returns:
        A :class:`FitResult`; for svi, laplace and nuts ``theta`` is the posterior mean.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    stats = records if isinstance(records, SufficientStats) else SufficientStats.from_records(net, records)
    if method in ("mle", "map"):
        theta, rates = _optimise(net, stats, concentration if method == "map" else None, fit_rates)
        draws = draw_rates = None
    else:
        theta, rates, draws, draw_rates = _posterior(
            net, stats, method, concentration, fit_rates, num_samples, warmup_steps, svi_steps, chains, seed, progress
        )
    loglik = float(stats.log_likelihood(net, theta, rates)[0])
    rate_table = {}
    if fit_rates:
        rate_table = {t: {"success": float(rates[0][i]), "slip": float(rates[1][i])} for i, t in enumerate(net.targets)}
    rate_draws = None
    if draw_rates is not None:
        rate_draws = {
            t: {"success": draw_rates[0][:, i].tolist(), "slip": draw_rates[1][:, i].tolist()}
            for i, t in enumerate(net.targets)
        }
    return FitResult(theta, method, loglik, stats.n_records, stats.n_groups, rate_table, draws, rate_draws)


# --- point estimates ---------------------------------------------------------------------


def _rates_from(net: SEBN, raw_slip: torch.Tensor, raw_gap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """slip in (0, 1) and success in (slip, 1), from unconstrained values."""
    slip = torch.sigmoid(raw_slip)
    return slip + (1 - slip) * torch.sigmoid(raw_gap), slip


def _rate_logits(net: SEBN) -> tuple[torch.Tensor, torch.Tensor]:
    success, slip = spec_rates(net)
    return torch.logit(slip), torch.logit((success - slip) / (1 - slip))


def _optimise(net: SEBN, stats: SufficientStats, concentration: float | None, fit_rates: bool):
    logits = [torch.zeros(n, dtype=DTYPE, requires_grad=True) for n in net.n_levels]
    raw_rates = [r.clone().requires_grad_(True) for r in _rate_logits(net)] if fit_rates else []
    optimiser = torch.optim.LBFGS(
        logits + raw_rates,
        lr=1.0,
        max_iter=1000,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        line_search_fn="strong_wolfe",
    )
    scale = max(stats.n_records, 1)

    def current():
        theta = {name: torch.softmax(logit, -1) for name, logit in zip(net.base, logits)}
        return theta, (_rates_from(net, *raw_rates) if fit_rates else None)

    def closure():
        optimiser.zero_grad()
        theta, rates = current()
        objective = stats.log_likelihood(net, theta, rates)[0]
        if concentration is not None:
            objective = objective + sum(((concentration - 1) * p.clamp_min(1e-300).log()).sum() for p in theta.values())
            if fit_rates:
                objective = objective + _rate_log_prior(net, *rates)
        loss = -objective / scale
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        theta, rates = current()
    return {k: v.detach() for k, v in theta.items()}, (tuple(r.detach() for r in rates) if rates else None)


def _rate_log_prior(net: SEBN, success: torch.Tensor, slip: torch.Tensor) -> torch.Tensor:
    priors = default_priors(net, fit_rates=True)
    values = sites({}, (success, slip))
    return priors["slip"].log_prob(values["slip"]) + priors["success_share"].log_prob(values["success_share"])


# --- posteriors --------------------------------------------------------------------------


def stats_model(net: SEBN, stats: SufficientStats, concentration: float = 1.0, fit_rates: bool = False) -> None:
    """Pyro model of theta (and rates) given sufficient statistics: the prior times the
    exact marginal likelihood (the competencies summed out in closed form)."""
    values = {site: pyro.sample(site, prior) for site, prior in default_priors(net, concentration, fit_rates).items()}
    pyro.factor("rollouts", stats.log_likelihood(net, *parameters(net, values))[0])


def _posterior(
    net, stats, method, concentration, fit_rates, num_samples, warmup_steps, svi_steps, chains, seed, progress
):
    priors = default_priors(net, concentration, fit_rates)
    if method == "nuts":
        pyro.set_rng_seed(seed)
        # JIT: the model's trace is the same at every step; compiling it took NUTS from 36 s to 22 s
        # (2,000 rollouts of doorkey.sebn, 500 warm-up steps + 1,000 draws; BENCHMARKS.md)
        kernel = NUTS(
            lambda: stats_model(net, stats, concentration, fit_rates), jit_compile=True, ignore_jit_warnings=True
        )
        mcmc = MCMC(
            kernel,
            num_samples=num_samples,
            warmup_steps=warmup_steps,
            num_chains=chains,
            disable_progbar=progress is not True,
            mp_context="spawn" if chains > 1 else None,
        )
        mcmc.run()
        samples = {site: value.detach().to(DTYPE) for site, value in mcmc.get_samples().items()}
        draws, draw_rates = parameters(net, samples)
    else:
        start = sites(*_optimise(net, stats, concentration, fit_rates))
        if method == "svi":
            found = svi(
                net,
                stats,
                priors,
                start,
                num_samples,
                max_steps=svi_steps,
                seed=seed,
                progress=progress if callable(progress) else None,
            )
        else:
            found = laplace(net, stats, start, priors, num_samples, seed=seed)
        draws, draw_rates = found.theta, found.rates
    theta = {name: d.mean(0) for name, d in draws.items()}
    rates = None if draw_rates is None else tuple(r.mean(0) for r in draw_rates)
    return theta, rates, draws, draw_rates


def rates_from_json(net: SEBN, data: Mapping, source: str = "fit file") -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(success[m], slip[m])`` from a fit file's ``"rates"`` table, or ``None`` if it has none.

    Raises:
        ValueError: if the table misses a target or a rate.
    """
    table = data.get("rates") if isinstance(data, Mapping) else None
    if not table:
        return None
    try:
        success, slip = (
            torch.tensor([_number(table[t][k]) for t in net.targets], dtype=DTYPE) for k in ("success", "slip")
        )
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"{source}: 'rates' must give success and slip for every target ({', '.join(net.targets)})"
        ) from None
    bad = [t for t, a, b in zip(net.targets, success.tolist(), slip.tolist()) if not 0 < b < a < 1]
    if bad:
        raise ValueError(f"{source}: the rates of {', '.join(bad)} must have 0 < slip < success < 1")
    return success, slip


def _number(value) -> float:
    """A JSON number (not a string or a boolean that Python would turn into one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def _numbers(value) -> torch.Tensor:
    """Nested lists of JSON numbers as a tensor.

    Raises:
        TypeError, ValueError: anything else (strings, booleans, ragged lists).
    """

    def check(item):
        if isinstance(item, list):
            for inner in item:
                check(inner)
        else:
            _number(item)

    check(value)
    return torch.tensor(value, dtype=DTYPE)


def theta_from_json(net: SEBN, data: Mapping, source: str = "theta file") -> dict[str, torch.Tensor]:
    """Theta from a fit/theta file's ``{"theta": {name: [p0, p1, ...]}}``, validated.

    Raises:
        ValueError: naming the file and the competency at fault.
    """
    theta = data.get("theta") if isinstance(data, Mapping) else None
    if not isinstance(theta, Mapping):
        raise ValueError(f'{source}: expected {{"theta": {{competency: [p0, p1, ...]}}}}')
    unknown = sorted(set(theta) - set(net.base))
    if unknown:
        raise ValueError(
            f"{source}: {', '.join(unknown)} not base competencies of the spec (it has: {', '.join(net.base)})"
        )
    out = {}
    for name, levels in zip(net.base, net.n_levels):
        if name not in theta:
            raise ValueError(f"{source}: no theta for competency '{name}'")
        try:
            probs = _numbers(theta[name])
        except (TypeError, ValueError):
            raise ValueError(f"{source}: theta['{name}'] must be a list of {levels} numbers") from None
        if (
            probs.shape != (levels,)
            or not torch.isfinite(probs).all()
            or (probs < 0).any()
            or abs(float(probs.sum()) - 1) > SUM_TOLERANCE
        ):
            raise ValueError(
                f"{source}: theta['{name}'] must be {levels} probabilities summing to 1 (levels "
                f"0..{levels - 1}), got {theta[name]}"
            )
        out[name] = probs
    return out


def draws_from_json(net: SEBN, data: Mapping, source: str = "fit file"):
    """A posterior fit file's draws: theta (name -> ``[S, levels]``) and rates
    (``(success[S, m], slip[S, m])`` or ``None``), or ``(None, None)`` for a point fit.

    Raises:
        ValueError: naming the file and what is wrong (a newer format, a draw that is not
            a distribution over the competency's levels, rates outside ``0 < slip < success < 1``).
    """
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{source}: 'version' must be a whole number from 1 to {FIT_FILE_VERSION}, got {version!r}")
    if version > FIT_FILE_VERSION:
        raise ValueError(f"{source}: format version {version}; this sebn reads up to {FIT_FILE_VERSION} (upgrade sebn)")
    if data.get("draws") is None:
        return None, None
    draws = {}
    for name, levels in zip(net.base, net.n_levels):
        try:
            values = _numbers(data["draws"][name])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{source}: draws['{name}'] must be a list of draws of {levels} numbers") from None
        if values.dim() != 2 or values.shape[1] != levels or len(values) == 0:
            raise ValueError(f"{source}: draws['{name}'] must be a list of draws of {levels} numbers")
        if not torch.isfinite(values).all() or (values < 0).any() or ((values.sum(1) - 1).abs() > SUM_TOLERANCE).any():
            raise ValueError(f"{source}: every draw of '{name}' must be {levels} probabilities summing to 1")
        draws[name] = values
    sizes = {len(v) for v in draws.values()}
    table = data.get("rate_draws")
    if table is None:
        rates = None
    else:
        message = (
            f"{source}: 'rate_draws' must give lists of success and slip draws for every target "
            f"({', '.join(net.targets)})"
        )
        try:
            per_target = [_numbers([table[t][k] for t in net.targets]) for k in ("success", "slip")]
        except (KeyError, TypeError, ValueError):
            raise ValueError(message) from None
        if any(r.dim() != 2 for r in per_target):
            raise ValueError(message)
        rates = tuple(r.T for r in per_target)
        success, slip = rates
        if not (torch.isfinite(success).all() and (slip > 0).all() and (slip < success).all() and (success < 1).all()):
            raise ValueError(f"{source}: every rate draw must have 0 < slip < success < 1")
        sizes.add(len(success))
    if len(sizes) != 1:
        raise ValueError(f"{source}: the draws disagree on their number ({', '.join(map(str, sorted(sizes)))})")
    return draws, rates
