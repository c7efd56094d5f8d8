"""The domain benchmark's tables of what the curricula played, on run directories whose
episodes are known."""

import numpy as np

from benchmarks.domain_curricula import played, success_by_raised
from tests.benchmarks.rundirs import cells, episode, write_run

EASY, HARD = {"a": 0, "b": 0}, {"a": 1, "b": 2}


def test_played_counts_the_last_tenth_and_measures_the_task_distribution(tmp_path):
    # 100 episodes a step apart: the last tenth is steps 91-100, played on the easy task and won.
    episodes = [episode(step, EASY if step > 90 else HARD, step > 90) for step in range(1, 101)]
    write_run(tmp_path, "uniform", 0, episodes)
    write_run(tmp_path, "sebn", 0, episodes, generations=[[0.25] * 4, [0.7, 0.1, 0.1, 0.1]])
    write_run(tmp_path, "sebn", 1, [episode(1, HARD, False)], finished=False)  # unfinished: left out
    lines = played(tmp_path / "demo", evaluation=EASY)
    uniform, sebn = cells(lines, "uniform"), cells(lines, "sebn")
    assert uniform["training episodes"] == "100 [100, 100]"
    assert uniform["training success, last tenth"] == "1.000 [1.000, 1.000]"
    assert uniform["episodes on the evaluation task, last tenth"] == "1.000 [1.000, 1.000]"
    assert uniform["distinct settings played, last tenth"] == "1 [1, 1]"
    assert uniform["task distribution's entropy / log(tasks)"] == "-"
    skewed = np.array([0.7, 0.1, 0.1, 0.1])
    entropy = np.median([1.0, -(skewed * np.log(skewed)).sum() / np.log(4)])
    assert sebn["task distribution's entropy / log(tasks)"] == f"{entropy:.3f} [{entropy:.3f}, {entropy:.3f}]"
    ratio = np.median([1.0, 0.7 * 4])
    assert sebn["task distribution's largest probability / uniform's"] == f"{ratio:.3f} [{ratio:.3f}, {ratio:.3f}]"


def test_success_by_raised_pools_seeds_by_third_and_variables_raised(tmp_path):
    one = {"a": 1, "b": 0}
    outcomes = {0: (True, False, True), 1: (False, True, True)}
    for seed, won in outcomes.items():
        write_run(
            tmp_path, "uniform", seed, [episode(s, t, w) for s, t, w in zip((10, 50, 90), (EASY, one, HARD), won)]
        )
    row = cells(success_by_raised(tmp_path / "demo"), "uniform")
    assert row["0 raised, first third"] == "1/2"
    assert row["1 raised, second third"] == "1/2"
    assert row["2+ raised, last third"] == "2/2"
    assert row["2+ raised, first third"] == "0/0"
