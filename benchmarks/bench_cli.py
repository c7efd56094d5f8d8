"""How fast the command line answers, measured side by side in one run; writes BENCHMARKS.md.

    .venv/bin/python -m benchmarks.bench_cli            # 15 rounds (about 2 minutes)
    .venv/bin/python -m benchmarks.bench_cli --quick    # 3 rounds, print only

Each round runs every command once, in turn, as a fresh process (so a busy moment of the
machine falls on all of them alike): Python importing ``json`` (the floor any command
pays), ``sebn --help``, ``sebn check`` on the paper's DoorKey spec, and the large specs of
issue 21: ``check`` on 10^6 settings (6 variables of 10 values) and on one variable of
100,001 values, ``score --top 5`` on 10^30 settings (30 variables of 10 values).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.markdown import ROOT, publish

SIX = "".join(f"env v{i} : 0..9\n" for i in range(6)) + "".join(
    f"g : (v{i}={j} | a{i}=1)\n" for i in range(6) for j in (0, 3, 6, 9)
)
WIDE = "env x : 0..100000\ng : (x>=500 | a=1)\ng : (x=77 | b=1)\n"
THIRTY = "".join(f"env v{i} : 0..9\n" for i in range(30)) + "".join(f"g : (v{i}=0 | a{i}=1)\n" for i in range(4))
THETA = '{"theta": {' + ", ".join(f'"a{i}": [0.5, 0.5]' for i in range(4)) + "}}"


def commands(folder: Path) -> dict[str, list[str]]:
    for name, text in (("six.sebn", SIX), ("wide.sebn", WIDE), ("thirty.sebn", THIRTY), ("theta.json", THETA)):
        (folder / name).write_text(text)
    sebn = [sys.executable, "-m", "sebn.cli"]
    return {
        '`python -c "import json"`': [sys.executable, "-c", "import json"],
        "`sebn --help`": [*sebn, "--help"],
        "`sebn check specs/doorkey.sebn`": [*sebn, "check", "specs/doorkey.sebn"],
        "`sebn check` 10^6 settings (6 x 10 values)": [*sebn, "check", str(folder / "six.sebn")],
        "`sebn check` one variable of 100,001 values": [*sebn, "check", str(folder / "wide.sebn")],
        "`sebn score --top 5` 10^30 settings (30 x 10 values)": [
            *sebn,
            "score",
            str(folder / "thirty.sebn"),
            "--fit",
            str(folder / "theta.json"),
            "--top",
            "5",
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, print only")
    args = parser.parse_args()
    rounds = 3 if args.quick else 15
    with tempfile.TemporaryDirectory() as folder:
        runs = commands(Path(folder))
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(rounds):
            for name, command in runs.items():
                start = time.perf_counter()
                subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
                seconds[name].append(time.perf_counter() - start)
    floor_name = '`python -c "import json"`'
    floor = np.array(seconds[floor_name])
    lines = [
        "## Command-line response times (`benchmarks/bench_cli.py`)",
        "",
        f"Command: `.venv/bin/python -m benchmarks.bench_cli`; {rounds} rounds, each running every command once "
        "as a fresh process, in turn. Wall seconds: median [interquartile range]; beyond `import json`: the "
        "median of each round's difference.",
        "",
        "| command | seconds | beyond `import json` |",
        "|---|---|---|",
    ]
    for name, values in seconds.items():
        values = np.array(values)
        low, high = np.percentile(values, [25, 75])
        beyond = "-" if name == floor_name else f"{np.median(values - floor):.2f}"
        lines.append(f"| {name} | {np.median(values):.2f} [{low:.2f}, {high:.2f}] | {beyond} |")
    publish("bench_cli", lines, write=not args.quick)


if __name__ == "__main__":
    main()
