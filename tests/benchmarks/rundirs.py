"""Run directories written by hand, for the benchmarks' tables."""

from sebn.core.records import JsonlWriter
from sebn.runner.rundir import RunDir, run_label


def episode(step, task, success, **extra):
    """One training episode's record."""
    return {"step": step, "task": task, "targets": {"goal": int(success)}, "return": 0.0, "length": 1, **extra}


def write_run(runs, curriculum, seed, episodes, generations=(), finished=True, domain="demo", options=None, steps=None):
    """A run of ``curriculum`` (with ``options``; a budget of ``steps`` if given) with these
    episode records and generations' task distributions; ``finished`` writes its
    ``final.json``. Returns its :class:`RunDir`."""
    config = {"domain": domain, "curriculum": curriculum, "curriculum_options": options or {}, "seed": seed}
    if steps is not None:
        config["steps"] = steps
    run = RunDir.of(runs, domain, run_label(config), seed)
    run.write_config(config)
    with JsonlWriter(run.episodes_path) as out:
        for record in episodes:
            out.write(record)
    with JsonlWriter(run.generations_path) as out:
        for p in generations:
            out.write({"generation": 1, "p": list(p)})
    if finished:
        run.write_final({"global_step": episodes[-1]["step"]})
    return run


def cells(lines, label):
    """A markdown table's row for ``label``, by column name."""
    header = [h.strip() for h in lines[0].strip("|").split("|")[1:]]
    row = next(line for line in lines if line.startswith(f"| {label} |"))
    return dict(zip(header, (c.strip() for c in row.strip("|").split("|")[1:])))
