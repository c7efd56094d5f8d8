"""A spec domain's curricula compared, through ``sebn sweep`` and ``sebn report``; writes
the domain's section of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.domain_curricula bipedalwalker --curricula sebn,uniform,anti,target \
        --seeds 3 --steps 100000
    .venv/bin/python -m benchmarks.domain_curricula robosuite_door --curricula sebn,uniform,target \
        --seeds 3 --steps 100000 --generation-size 20   # 500-step episodes: 100 a generation is half the run
    .venv/bin/python -m benchmarks.domain_curricula bipedalwalker --algo ppo --curricula sebn,uniform,anti,target \
        --seeds 3 --steps 3500000                       # the paper's budget, with a PPO student
    .venv/bin/python -m benchmarks.domain_curricula bipedalwalker --quick   # 2 seeds x 3k steps, scratch, print

Runs go to ``runs/bench-<domain>`` (the domain's own student) or ``runs/bench-<domain>-<algo>``
(another, ``--algo``), or ``--runs DIR`` (another budget: a run directory keeps its steps);
each runs directory has its own section (``bench-bipedalwalker-ppo``: ``bipedalwalker_ppo_curricula``).
An interrupted benchmark resumes and completed runs are not redone. Both metrics are
reported: the success rate and the episode return, on every final evaluation env of the
domain (BipedalWalker: the combined terrain and each challenge; Door: each mass with the
latch, and the unseen 12 kg door). BipedalWalker's return table also gives the env steps to
the first positive evaluation return on the combined terrain (:data:`RETURN_THRESHOLDS`).
Two more tables say what each curriculum had its student play (:func:`played`) and where its
student succeeded (:func:`success_by_raised`): whether a curriculum can help depends on the
successes its fit sees and how far its task distribution moves from uniform.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.markdown import ROOT, report_table, spread, write_section
from benchmarks.runs import finished_runs, finished_sweep
from sebn.cli.arguments import positive_int
from sebn.report.plots import EVAL_METRICS, plot_runs
from sebn.report.summary import summarise
from sebn.runner.domains import load_domain

RETURN_THRESHOLDS = {"bipedalwalker": 0.0}
"""Per domain, the return whose first crossing the return table reports: BipedalWalker's 0 is
the SEBN paper's "positive reward", past the locally optimal standing still (a fall costs -100)."""


def played(runs: Path, evaluation: dict) -> list[str]:
    """What each curriculum had its student play: per run, its training episodes, and over the
    last tenth of its env steps the success rate of those episodes (every observed target
    reached), their share on the evaluation task and the distinct settings among them; for
    curricula that sample by generations, two measures of how far each generation's task
    distribution is from uniform, median over generations: its entropy over the log of its
    number of tasks (1: uniform), and its largest probability over uniform's (1: uniform; a
    few favoured settings among hundreds barely move the entropy). Each cell: median [min,
    max] over seeds."""
    columns = defaultdict(lambda: defaultdict(list))
    for label, run in finished_runs(runs):
        episodes = run.episodes()
        last = [e for e in episodes if e["step"] > 0.9 * episodes[-1]["step"]]
        column = columns[label]
        column["training episodes"].append(len(episodes))
        column["training success, last tenth"].append(np.mean([all(e["targets"].values()) for e in last]))
        column["episodes on the evaluation task, last tenth"].append(np.mean([e["task"] == evaluation for e in last]))
        column["distinct settings played, last tenth"].append(len({tuple(sorted(e["task"].items())) for e in last}))
        distributions = [np.asarray(g["p"]) for g in run.generations() if g.get("p")]
        if distributions:
            entropies = [-(p[p > 0] * np.log(p[p > 0])).sum() / np.log(len(p)) for p in distributions]
            column["task distribution's entropy / log(tasks)"].append(np.median(entropies))
            column["task distribution's largest probability / uniform's"].append(
                np.median([p.max() * len(p) for p in distributions])
            )
    header = list(dict.fromkeys(name for column in columns.values() for name in column))
    lines = ["| curriculum | " + " | ".join(header) + " |", "|---|" + "---|" * len(header)]
    for label, column in sorted(columns.items()):
        counts = {name: all(isinstance(v, int) for v in values) for name, values in column.items()}
        cells = [spread(column[name], digits=0 if counts[name] else 3) if name in column else "-" for name in header]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return lines


def success_by_raised(runs: Path) -> list[str]:
    """Training success by how many env variables a task raises above level 0 (every spec
    domain here orders its levels from easy, 0, to hard): successes / episodes pooled over a
    curriculum's seeds, in each third of the runs' env steps. It tells whether the student
    succeeds on easy settings at all, and when."""
    counts = defaultdict(lambda: np.zeros((3, 3, 2), dtype=int))  # third, raised (0, 1, 2+), (successes, episodes)
    for label, run in finished_runs(runs):
        episodes = run.episodes()
        table = counts[label]
        for e in episodes:
            third = min(int(3 * e["step"] / (episodes[-1]["step"] + 1)), 2)
            raised = min(sum(level > 0 for level in e["task"].values() if isinstance(level, int)), 2)
            table[third, raised] += (all(e["targets"].values()), 1)
    thirds = ("first third", "second third", "last third")
    header = [f"{raised} raised, {third}" for third in thirds for raised in ("0", "1", "2+")]
    lines = ["| curriculum | " + " | ".join(header) + " |", "|---|" + "---|" * len(header)]
    for label, table in sorted(counts.items()):
        cells = [f"{wins}/{n}" for wins, n in table.reshape(-1, 2)]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("domain", choices=("bipedalwalker", "robosuite_door", "doorkey"))
    parser.add_argument("--curricula", default="sebn,uniform,anti,target")
    parser.add_argument("--seeds", type=positive_int, default=3)
    parser.add_argument("--steps", type=positive_int, default=100_000, help="env steps per run")
    parser.add_argument(
        "--generation-size", type=positive_int, help="episodes per SEBN generation (default: the curriculum's 100)"
    )
    parser.add_argument("--workers", type=positive_int, default=2)
    parser.add_argument("--algo", help="the student (default: the domain's own, the paper's)")
    parser.add_argument("--runs", help="default: runs/bench-<domain>[-<algo>] (another budget needs its own)")
    parser.add_argument("--quick", action="store_true", help="2 seeds x 3k steps into a scratch directory; print only")
    args = parser.parse_args()
    domain = load_domain(args.domain)
    agent, agent_args = domain.student(args.algo)
    name = args.domain if agent == domain.agent else f"{args.domain}-{agent}"
    runs = Path(args.runs) if args.runs else ROOT / "runs" / f"bench-{name}"
    curricula = args.curricula.split(",")
    agent_options = {"eval_every": max(args.steps // 10, 1)}
    if args.quick:
        args.seeds, args.steps, runs = 2, 3000, ROOT / "runs" / f"bench-{name}-quick"
        agent_options = (
            {"eval_every": 1000, "eval_episodes": 1, "learning_starts": 1000}
            if "learning_starts" in agent_args
            else {"eval_every": 1000, "eval_episodes": 1, "num_steps": 256}
        )
    generations = {"generation_size": args.generation_size} if args.generation_size else {}
    finished_sweep(
        args.domain,
        curricula,
        range(args.seeds),
        steps=args.steps,
        runs=runs,
        workers=args.workers,
        agent_options=agent_options,
        curriculum_options={"sebn": generations, "anti": generations},
        algo=args.algo,
    )
    agent_args = {**agent_args, **agent_options}
    section = runs.name.removeprefix("bench-").replace("-", "_") + "_curricula"
    figure = ROOT / "benchmarks" / "results" / f"{section}.png"
    student = "" if agent == domain.agent else f" --algo {agent}"
    lines = [
        f"## {args.domain} curricula"
        + (f", {agent.upper()} student" if student else "")
        + " (`benchmarks/domain_curricula.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.domain_curricula {args.domain}{student} "
        f"--curricula {args.curricula} "
        f"--seeds {args.seeds} --steps {args.steps}"
        + (f" --generation-size {args.generation_size}" if args.generation_size else "")
        + (f" --workers {args.workers}" if args.workers != 2 else "")
        + (f" --runs {args.runs}" if args.runs else "")
        + f"`; {args.seeds} seeds per curriculum, {args.steps:,} env steps each, "
        f"{args.workers} at a time on the 2 cores. Agent: {agent} with "
        f"{agent_args}. Evaluation during training on `{domain.evaluation}`; at the end "
        f"{agent_args.get('eval_episodes', 10)} episodes on each final env. Tables from `sebn report` "
        "(IQM over seeds, 95% stratified bootstrap intervals).",
        "",
    ]
    for metric in EVAL_METRICS:
        threshold = RETURN_THRESHOLDS.get(args.domain) if metric == "episodic_return" else None
        (report,) = summarise([runs / args.domain], metric=metric, threshold=threshold)
        lines += [f"### {metric.replace('_', ' ')}", "", report_table(report), ""]
    lines += ["### what the curricula played", "", *played(runs / args.domain, domain.evaluation), ""]
    lines += [
        "### training success by env variables raised above level 0",
        "",
        *success_by_raised(runs / args.domain),
        "",
    ]
    lines.append(f"![{args.domain} curricula](benchmarks/results/{figure.name})")
    print("\n".join(lines))
    if args.quick:
        return
    plot_runs([runs / args.domain], figure, smoothing=0.6, metrics=EVAL_METRICS)
    write_section(section, lines)


if __name__ == "__main__":
    main()
