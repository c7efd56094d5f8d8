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

Each probability is a sum of terms ``coef * exp(sum of the log tails it needs)``
(:mod:`sebn.core.expansion`), so the Jacobian is written down, not differentiated: a
term's row is its value on each coordinate it needs. It is built on one setting per
class (:meth:`~sebn.core.network.SEBN.setting_classes`: settings no condition tells
apart) and then on the distinct requirement arrays among them, so a spec of 10^6 settings
costs what its few distinct requirements cost. The check needs numpy only, never torch,
so ``sebn check`` answers at once. Spaces over :data:`CLASS_LIMIT` classes, or of over
:data:`JACOBIAN_LIMIT` terms, get their warnings of unused parts and a note saying what
was not analysed.

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

from sebn.core.expansion import TermArrays, expand_pattern, spec_coefficients, stack
from sebn.core.network import SEBN, SpaceTooLarge, distinct_requirements

MAX_JOINT_TARGETS = 6
EXAMPLES = 3
CLASS_LIMIT = 1_000_000
"""The most classes of settings :func:`check_spec` analyses (a second or two of numpy)."""
JACOBIAN_LIMIT = 1_000_000
"""The most terms of joint probabilities the identifiability analysis expands."""


@dataclass
class Report:
    """Findings of :func:`check_spec`; ``warnings`` are printed, none is fatal. ``notes``
    say what was not analysed (then ``rank`` is ``None``)."""

    warnings: list[str] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)
    rank: int | None = 0
    unidentified: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"warning: {w}" for w in self.warnings]
        lines += [f"note: {n}" for n in self.notes]
        if self.rank is not None:
            lines.append(
                f"theta: {len(self.parameters)} free parameters, {self.rank} identifiable from target outcomes"
            )
            lines += [f"  not identifiable: {u}" for u in self.unidentified]
        return "\n".join(lines)


def check_spec(net: SEBN, seed: int = 0) -> Report:
    """Gaps, unused competencies and levels, and the functionals theta cannot identify."""
    report = Report()
    _unused(net, report)
    try:
        classes = net.setting_classes(limit=CLASS_LIMIT)
    except SpaceTooLarge as err:
        report.notes.append(f"{err}: settings without requirements and identifiability not analysed")
        report.rank = None
        return report
    _unconstrained_settings(net, classes, report)
    _identifiability(net, classes.settings, report, seed)
    return report


def readable_count(n: int) -> str:
    """A count as people read it: ``1,024``; past a trillion ``1e+30``."""
    return f"{n:,}" if n < 10**12 else f"{n:.3g}"


def _unconstrained_settings(net: SEBN, classes, report: Report) -> None:
    free = net.unconstrained(classes.settings)
    for t, name in enumerate(net.targets):
        rows = free[:, t].nonzero()[0]
        if len(rows):
            count = int(classes.sizes[rows].sum())
            shown = min(len(rows), EXAMPLES)
            examples = "; ".join(_setting(net, classes.settings[r]) for r in rows[:shown])
            more = f" and {readable_count(count - shown)} more" if count > shown else ""
            report.warnings.append(
                f"target '{name}' has no requirement in {readable_count(count)} of "
                f"{readable_count(net.n_settings)} settings "
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


def _identifiability(net: SEBN, settings: np.ndarray, report: Report, seed: int) -> None:
    report.parameters = parameter_names(net)
    if not report.parameters:
        return
    try:
        identified, unidentified = identifiability(net, seed, settings)
    except SpaceTooLarge as err:
        report.notes.append(f"{err}: identifiability not analysed")
        report.rank = None
        return
    report.rank = len(identified)
    report.unidentified = [_describe(row, report.parameters) for row in unidentified]


def parameter_names(net: SEBN) -> list[str]:
    """Names of the free coordinates: ``log P(c>=k)`` for each base c and k >= 1."""
    return [f"log P({c}>={k})" for c, n in zip(net.base, net.n_levels) for k in range(1, n)]


def log_tails(net: SEBN, theta) -> np.ndarray:
    """``[S, P]`` coordinates of theta (``[L]`` or ``[S, L]`` arrays or tensors per
    competency) in log-tail form."""
    columns = []
    for name in net.base:
        probs = np.atleast_2d(np.asarray(theta[name], dtype=np.float64))
        columns.append(np.log(np.flip(np.flip(probs, -1).cumsum(-1), -1)[:, 1:]))
    return np.concatenate(columns, axis=-1)


def identifiability(
    net: SEBN, seed: int = 0, settings: np.ndarray | None = None, targets: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Bases (rows, reduced echelon form) of the identifiable and the unidentifiable
    linear functionals of the log-tail coordinates, from the Jacobian's row and null spaces.

    Args:
        net: the network.
        seed: seeds the generic points the Jacobian is taken at.
        settings: the env settings outcomes come from (``[n, n_env]``; by default one of
            each class of settings, which has the same answer as every setting).
        targets: indices of the targets observed (all by default).

    Raises:
        SpaceTooLarge: the joint probabilities expand to over :data:`JACOBIAN_LIMIT` terms.
    """
    if settings is None:
        settings = net.setting_classes(limit=CLASS_LIMIT).settings
    terms = _joint_success_terms(net, np.asarray(settings), targets)
    coef, needed = spec_coefficients(net, terms), _needed_coordinates(net, terms)
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(2):  # two generic points guard against an unlucky one
        value = coef * np.exp(needed @ _random_log_tails(net, rng))
        jac = np.stack(
            [np.bincount(terms.row, weights=value * column, minlength=terms.n_rows) for column in needed.T], axis=1
        )
        # the same singular values and right vectors as the tall Jacobian, from a square R
        square = np.linalg.qr(np.vstack([jac, np.zeros((max(len(needed.T) - len(jac), 0), len(needed.T)))]), mode="r")
        _, singular, vh = np.linalg.svd(square)
        rank = int((singular > 1e-8 * singular.max()).sum()) if singular.size else 0
        if best is None or rank > best[0]:
            best = (rank, vh)
    rank, vh = best
    return np.array(_rref(vh[:rank])), np.array(_rref(vh[rank:]))


def data_identifiability(net: SEBN, settings, observed, seed: int = 0) -> Report:
    """What rollouts can identify: the functionals of theta that outcomes in these settings,
    of the targets these rollouts observe, cannot pin down however many there are.

    Args:
        net: the network.
        settings: ``[n, n_env]`` each rollout's setting (:func:`sebn.core.records.observations`).
        observed: ``[n, m]`` each rollout's target outcomes (``-1``: not observed).
        seed: as for :func:`identifiability`.
    """
    settings, observed = np.asarray(settings), np.asarray(observed)
    report = Report(parameters=parameter_names(net))
    informative = (observed >= 0).any(axis=1)
    targets = [t for t in range(len(net.targets)) if bool((observed[:, t] >= 0).any())]
    if not report.parameters or not targets:
        report.unidentified = [] if not report.parameters else ["every parameter: no target outcome observed"]
        return report
    try:
        identified, unidentified = identifiability(net, seed, np.unique(settings[informative], axis=0), targets)
    except SpaceTooLarge as err:
        report.notes.append(f"{err}: what these rollouts identify not analysed")
        report.rank = None
        return report
    report.rank = len(identified)
    report.unidentified = [_describe(row, report.parameters) for row in unidentified]
    return report


def _joint_success_terms(net: SEBN, settings: np.ndarray, targets: list[int] | None = None) -> TermArrays:
    """The terms of ``P(A = 1 | e)`` for every set ``A`` of up to :data:`MAX_JOINT_TARGETS`
    targets, over the settings' distinct requirement arrays (settings that require the
    same give the same rows)."""
    levels, parents, _ = distinct_requirements(*net.requirements(settings))
    targets = list(range(len(net.targets))) if targets is None else targets
    sets = [
        list(c)
        for size in range(1, min(len(targets), MAX_JOINT_TARGETS) + 1)
        for c in itertools.combinations(targets, size)
    ]
    # each set expands to at most 2^(its targets and their ancestors) terms per setting
    bound = sum(len(levels) << len(net.target_ancestors([net.targets[i] for i in ones])) for ones in sets)
    if bound > JACOBIAN_LIMIT:
        raise SpaceTooLarge(
            f"{len(levels):,} distinct requirements x {len(sets):,} sets of targets expand to up to {bound:.3g} "
            f"terms (the limit is {JACOBIAN_LIMIT:,})"
        )
    return stack([expand_pattern(net, levels, parents, ones, []) for ones in sets])


def _needed_coordinates(net: SEBN, terms: TermArrays) -> np.ndarray:
    """``[J, P]`` indicator: the log-tail coordinate ``log P(C_i >= k)`` each term needs."""
    starts = np.cumsum([0] + [n - 1 for n in net.n_levels])[:-1]
    needed = np.zeros((len(terms.need), int(sum(n - 1 for n in net.n_levels))))
    for i, start in enumerate(starts):
        rows = terms.need[:, i].nonzero()[0]
        needed[rows, start + terms.need[rows, i] - 1] = 1.0
    return needed


def _random_log_tails(net: SEBN, rng: np.random.Generator) -> np.ndarray:
    values = []
    for n in net.n_levels:
        theta = rng.dirichlet(np.ones(n))
        values.append(np.log(np.flip(np.flip(theta).cumsum())[1:]))
    return np.concatenate(values)


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
