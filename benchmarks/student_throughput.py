"""Env steps per second of each domain's students, as ``sebn run`` trains them, and what
the papers' budgets cost here; writes its section of BENCHMARKS.md.

    .venv/bin/python -m benchmarks.student_throughput              # every case, twice (~15 min on one core)
    .venv/bin/python -m benchmarks.student_throughput --cases robosuite_door:ppo --rounds 1

Each case is one short ``sebn run DOMAIN --curriculum uniform --algo ALGO`` on one core
(one thread), training-time evaluation off (``eval_every=0``), off-policy students learning
from step 256 (so a short run measures updates, not the random warm-up). The rate is the
agent's own ``charts/SPS`` at the end of the run (env steps over training time: process
start, the final evaluation and the curriculum's set-up are outside it). Rounds alternate
the cases, and the table gives the median over rounds. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.markdown import publish
from sebn.cli.arguments import positive_int

CASES = {
    "bipedalwalker:ppo": 30_000,
    "bipedalwalker:td3_fork": 3_000,
    "robosuite_door:ppo": 6_000,
    "pointmaze:ppo": 30_000,
    "pointmaze:sac": 3_000,
    "pointmaze_medium:ppo": 30_000,
    "antmaze:ppo": 20_000,
    "antmaze:sac": 2_000,
    "adroit_relocate:ppo": 20_000,
    "adroit_relocate:sac": 2_000,
}
"""``domain:student`` -> env steps of the measuring run."""

BUDGETS = {"bipedalwalker": 3_500_000, "robosuite_door": 2_000_000}
"""The papers' env steps per run (the gradient-norm teacher's domains: 1M)."""
TEACHER_BUDGET = 1_000_000
OFF_POLICY = {"td3_fork", "sac"}


def steps_per_second(domain: str, algo: str, steps: int) -> float:
    """One measuring run; its final ``charts/SPS``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with tempfile.TemporaryDirectory() as runs:
        agent = ["--agent", "eval_every=0", *(["--agent", "learning_starts=256"] if algo in OFF_POLICY else [])]
        command = [sys.executable, "-m", "sebn.cli", "run", domain, "--curriculum", "uniform", "--algo", algo]
        command += ["--steps", str(steps), "--runs", runs, "--no-progress", *agent]
        subprocess.run(command, check=True, capture_output=True)
        (run_dir,) = Path(runs, domain).glob("*/seed0")
        events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
        events.Reload()
        return events.Scalars("charts/SPS")[-1].value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES), help="domain:student pairs, comma-separated")
    parser.add_argument("--rounds", type=positive_int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    cases = args.cases.split(",")
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown cases {', '.join(unknown)}; known: {', '.join(CASES)}")
    rates: dict[str, list[float]] = {case: [] for case in cases}
    for round_ in range(args.rounds):
        for case in cases if round_ % 2 == 0 else cases[::-1]:
            domain, algo = case.split(":")
            rates[case].append(steps_per_second(domain, algo, CASES[case]))
            print(f"{case}: {rates[case][-1]:,.0f} env steps/s", flush=True)
    lines = [
        "## Students' throughput and the papers' budgets (`benchmarks/student_throughput.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.student_throughput --cases {args.cases} --rounds {args.rounds}`; "
        "one run at a time on one core (one thread), the other core idle; training-time evaluation off; "
        "off-policy students learning from step 256. The rate is the agent's `charts/SPS` (training only); "
        f"median [min, max] over {args.rounds} rounds, cases alternated.",
        "",
        "| domain | student | env steps measured | env steps/s | the paper's budget | one run at that budget |",
        "|---|---|---|---|---|---|",
    ]
    for case in cases:
        domain, algo = case.split(":")
        median = statistics.median(rates[case])
        budget = BUDGETS.get(domain, TEACHER_BUDGET)
        hours = budget / median / 3600
        lines.append(
            f"| {domain} | {algo} | {CASES[case]:,} | {median:,.0f} [{min(rates[case]):,.0f}, {max(rates[case]):,.0f}] "
            f"| {budget:,} | {hours:.1f} h |"
        )
    publish("student_throughput", lines, write=not args.no_write)


if __name__ == "__main__":
    main()
