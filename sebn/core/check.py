"""What ``sebn check`` reports about a valid spec: gaps, unused parts, identifiability.

The data a curriculum collects are target outcomes per env setting, so theta is only
identified through the joint success probabilities ``P(A = 1 | e)`` (every setting,
every non-empty set ``A`` of targets). We parameterise theta by the log tail
probabilities ``log P(c >= k)`` (k >= 1; a bijection with the interior of the simplex)
and take the rank of the Jacobian of those probabilities at generic points. Its null
space is what no amount of data can pin down; in log-tail coordinates the typical cases
read plainly: a single ``log P(c>=k)`` (no line needs that level) or a difference
``log P(a>=1) - log P(b>=1)`` (a and b are only ever required together, so only their
product is identified).

Example:
    >>> from sebn.core.spec import parse_spec
    >>> from sebn.core.network import SEBN
    >>> report = check_spec(SEBN(parse_spec("goalreached : (| move=1, balance=1)\\n")))
    >>> report.unidentified
    ['log P(move>=1) - log P(balance>=1)']
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import torch

from sebn.core.inference import Terms, compile_pattern
from sebn.core.network import DTYPE, SEBN

MAX_JOINT_TARGETS = 6
EXAMPLES = 3


@dataclass
class Report:
    """Findings of :func:`check_spec`; ``warnings`` are printed, none is fatal."""

    warnings: list[str] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)
    rank: int = 0
    unidentified: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"warning: {w}" for w in self.warnings]
        lines.append(f"theta: {len(self.parameters)} free parameters, {self.rank} identifiable from target outcomes")
        lines += [f"  not identifiable: {u}" for u in self.unidentified]
        return "\n".join(lines)


def check_spec(net: SEBN, seed: int = 0) -> Report:
    """Gaps, unused competencies and levels, and the functionals theta cannot identify."""
    report = Report()
    _unconstrained_settings(net, report)
    _unused(net, report)
    _identifiability(net, report, seed)
    return report


def _unconstrained_settings(net: SEBN, report: Report) -> None:
    settings = net.settings()
    free = net.unconstrained(settings)
    for t, name in enumerate(net.targets):
        rows = free[:, t].nonzero().squeeze(-1)
        if len(rows):
            examples = "; ".join(_setting(net, settings[r]) for r in rows[:EXAMPLES])
            more = f" and {len(rows) - EXAMPLES} more" if len(rows) > EXAMPLES else ""
            report.warnings.append(
                f"target '{name}' has no requirement in {len(rows)} of {len(settings)} settings "
                f"(predicted to succeed at its success rate there): {examples}{more}"
            )


def _setting(net: SEBN, row) -> str:
    return ", ".join(f"{v}={int(x)}" for v, x in zip(net.env, row)) or "(no env variables)"


def _unused(net: SEBN, report: Report) -> None:
    spec = net.spec
    used_levels: dict[str, set[int]] = {c: set() for c in spec.competencies}
    for rule in spec.rules:
        for req in rule.requirements:
            if req.name in used_levels:
                used_levels[req.name].add(req.level)
    heads = {(r.head, r.level) for r in spec.rules if r.level is not None}
    for name, top in spec.competencies.items():
        if not used_levels[name] and name not in net.derived:
            report.warnings.append(f"competency '{name}' is required by no line")
            continue
        unused = [k for k in range(1, top + 1) if k not in used_levels[name]]
        if unused and used_levels[name]:
            report.warnings.append(f"competency '{name}': level(s) {', '.join(map(str, unused))} required by no line")
        if name in net.derived:
            missing = [k for k in range(1, top + 1) if (name, k) not in heads]
            if missing:
                report.warnings.append(
                    f"derived competency '{name}' has no line for level(s) {', '.join(map(str, missing))}: "
                    "those levels need nothing beyond the levels below them"
                )


def _identifiability(net: SEBN, report: Report, seed: int) -> None:
    report.parameters = parameter_names(net)
    if not report.parameters:
        return
    identified, unidentified = identifiability(net, seed)
    report.rank = len(identified)
    report.unidentified = [_describe(row, report.parameters) for row in unidentified]


def parameter_names(net: SEBN) -> list[str]:
    """Names of the free coordinates: ``log P(c>=k)`` for each base c and k >= 1."""
    return [f"log P({c}>={k})" for c, n in zip(net.base, net.n_levels) for k in range(1, n)]


def log_tails(net: SEBN, theta) -> torch.Tensor:
    """``[S, P]`` coordinates of theta (``[L]`` or ``[S, L]`` per competency) in log-tail form."""
    columns = []
    for name in net.base:
        probs = torch.atleast_2d(torch.as_tensor(theta[name], dtype=DTYPE))
        columns.append(probs.flip(-1).cumsum(-1).flip(-1)[:, 1:].log())
    return torch.cat(columns, dim=-1)


def identifiability(
    net: SEBN, seed: int = 0, settings: torch.Tensor | None = None, targets: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Bases (rows, reduced echelon form) of the identifiable and the unidentifiable
    linear functionals of the log-tail coordinates, from the Jacobian's row and null spaces.

    Args:
        net: the network.
        seed: seeds the generic points the Jacobian is taken at.
        settings: the env settings outcomes come from (``[n, n_env]``; every setting by default).
        targets: indices of the targets observed (all by default).
    """
    terms = _joint_success_terms(net, settings, targets)
    generator = torch.Generator().manual_seed(seed)
    best = None
    for _ in range(2):  # two generic points guard against an unlucky one
        point = _random_log_tails(net, generator)
        jac = torch.autograd.functional.jacobian(lambda x: _probs(net, terms, x), point)
        _, singular, vh = torch.linalg.svd(jac, full_matrices=True)
        rank = int((singular > 1e-8 * singular.max()).sum()) if singular.numel() else 0
        if best is None or rank > best[0]:
            best = (rank, vh.numpy())
    rank, vh = best
    return np.array(_rref(vh[:rank])), np.array(_rref(vh[rank:]))


def data_identifiability(net: SEBN, settings: torch.Tensor, observed: torch.Tensor, seed: int = 0) -> Report:
    """What rollouts can identify: the functionals of theta that outcomes in these settings,
    of the targets these rollouts observe, cannot pin down however many there are.

    Args:
        net: the network.
        settings: ``[n, n_env]`` each rollout's setting (:func:`sebn.core.records.observations`).
        observed: ``[n, m]`` each rollout's target outcomes (``-1``: not observed).
        seed: as for :func:`identifiability`.
    """
    report = Report(parameters=parameter_names(net))
    informative = (observed >= 0).any(dim=1)
    targets = [t for t in range(len(net.targets)) if bool((observed[:, t] >= 0).any())]
    if not report.parameters or not targets:
        report.unidentified = [] if not report.parameters else ["every parameter: no target outcome observed"]
        return report
    identified, unidentified = identifiability(net, seed, torch.unique(settings[informative], dim=0), targets)
    report.rank = len(identified)
    report.unidentified = [_describe(row, report.parameters) for row in unidentified]
    return report


def _joint_success_terms(net: SEBN, settings: torch.Tensor | None = None, targets: list[int] | None = None) -> Terms:
    settings = net.settings() if settings is None else settings
    levels, parents = net.requirements(settings)
    targets = list(range(len(net.targets))) if targets is None else targets
    sets = [
        list(c)
        for size in range(1, min(len(targets), MAX_JOINT_TARGETS) + 1)
        for c in itertools.combinations(targets, size)
    ]
    return Terms.stack([compile_pattern(net, levels, parents, ones, []) for ones in sets])


def _random_log_tails(net: SEBN, generator: torch.Generator) -> torch.Tensor:
    values = []
    for n in net.n_levels:
        theta = -torch.log(torch.rand(n, generator=generator, dtype=DTYPE))
        theta = theta / theta.sum()
        tails = theta.flip(0).cumsum(0).flip(0)
        values.append(tails[1:].log())
    return torch.cat(values)


def _probs(net: SEBN, terms: Terms, log_tails: torch.Tensor) -> torch.Tensor:
    probs, start = [], 0
    zero, one = torch.zeros(1, dtype=DTYPE), torch.ones(1, dtype=DTYPE)
    for n in net.n_levels:
        tails = log_tails[start : start + n - 1].exp()
        probs.append(torch.cat([one, tails]) - torch.cat([tails, zero]))  # P(C = k) = P(C >= k) - P(C >= k + 1)
        start += n - 1
    return terms.evaluate(torch.cat(probs)[None])[0]


def _rref(rows: np.ndarray, tol: float = 1e-9) -> list[np.ndarray]:
    """Reduced row echelon form: a readable basis of the same row space."""
    a = np.array(rows, dtype=float)
    pivot_row = 0
    for col in range(a.shape[1] if a.size else 0):
        if pivot_row >= a.shape[0]:
            break
        best = pivot_row + int(np.argmax(np.abs(a[pivot_row:, col])))
        if abs(a[best, col]) < tol:
            continue
        a[[pivot_row, best]] = a[[best, pivot_row]]
        a[pivot_row] /= a[pivot_row, col]
        for r in range(a.shape[0]):
            if r != pivot_row:
                a[r] -= a[r, col] * a[pivot_row]
        pivot_row += 1
    return [row for row in a[:pivot_row]]


def _describe(row: np.ndarray, names: list[str]) -> str:
    parts = []
    for coef, name in zip(row, names):
        if abs(coef) < 1e-6:
            continue
        sign = "-" if coef < 0 else "+"
        magnitude = "" if abs(abs(coef) - 1) < 1e-6 else f"{abs(coef):.3g} "
        parts.append(f"{sign} {magnitude}{name}")
    text = " ".join(parts)
    return text[2:] if text.startswith("+ ") else text
