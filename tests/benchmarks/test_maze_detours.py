"""The detour benchmark: its task classes against the maze's shortest paths, and replays whose
outcome does not depend on the policy (a goal on the start cell; a goal across the maze for a
policy that does not move)."""

import sys

import pytest
import torch

from agents.common import RunningMeanStd
from agents.ppo import Agent
from benchmarks.maze_detours import DETOURS, detour, detour_tasks, main, replay, training_detours
from domains.pointmaze import MAZES, MazeTaskEnv
from tests.benchmarks.rundirs import episode, write_run


@pytest.fixture(scope="module")
def medium():
    return MazeTaskEnv(MAZES["medium"])


def test_detour_is_zero_on_a_straight_route_and_counts_the_way_round_a_wall():
    umaze = MazeTaskEnv(MAZES["umaze"])
    assert detour(umaze, [1, 1], [1, 3]) == 0
    assert detour(umaze, [1, 1], [3, 1]) == 4  # up the U's arm, across and down: 6 moves for 2 rows


def test_detour_tasks_draw_each_class_once_and_the_same_for_a_seed(medium):
    tasks = detour_tasks(medium, 4)
    assert tasks == detour_tasks(medium, 4)
    for name, (low, high) in DETOURS.items():
        members = [t for t in tasks if low <= t[2] < high]
        assert len(members) == 4, name
        assert len({(tuple(s), tuple(g)) for s, g, _ in members}) == 4
    for start, goal, moves in tasks:
        assert start != goal
        assert moves == medium.path_length(start, goal) - abs(start[0] - goal[0]) - abs(start[1] - goal[1])


def still_policy_run(runs, seed=0, curriculum="uniform", options=None):
    """A finished PointMaze Medium run whose final PPO policy's mean action is zero."""
    run = write_run(runs, curriculum, seed, [episode(1, {}, False)], domain="pointmaze_medium", options=options)
    run.write_config({**run.read_config(), "agent_args": {"hidden_sizes": [8], "normalize_obs": True}})
    env = MazeTaskEnv(MAZES["medium"])
    agent = Agent(env.observation_space.shape[0], env.action_space, [8])
    with torch.no_grad():
        for parameter in agent.actor.parameters():
            parameter.zero_()
    run.checkpoint.parent.mkdir()
    torch.save(
        {"agent": agent.state_dict(), "obs_rms": RunningMeanStd(env.observation_space.shape).state_dict()},
        run.checkpoint,
    )
    return run


def test_replay_reaches_a_goal_on_its_start_and_not_one_a_still_policy_must_travel_to(tmp_path, medium):
    run = still_policy_run(tmp_path)
    far = max(
        ((s, g) for s in medium.free.tolist() for g in medium.free.tolist()), key=lambda pair: medium.path_length(*pair)
    )
    assert replay(run.path, [([1, 1], [1, 1], 0), (*far, 0)]) == [True, False]


def test_main_tabulates_every_curriculum_by_detour_class_and_compares_teachers_with_none(tmp_path, monkeypatch, capsys):
    still_policy_run(tmp_path, seed=0)
    still_policy_run(tmp_path, seed=1)
    still_policy_run(tmp_path, seed=0, curriculum="gradient", options={"reward": "mean_norm"})
    arguments = ["--runs", str(tmp_path / "pointmaze_medium"), "--tasks", "1", "--workers", "1", "--quick"]
    monkeypatch.setattr(sys, "argv", ["maze_detours", *arguments])
    main()
    out = capsys.readouterr().out.splitlines()
    row = next(line for line in out if line.startswith("| uniform |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")][1:]
    assert cells == ["2", *["0.00 [0.00, 0.00]"] * len(DETOURS), "0: 0.00, 1: 0.00"]
    assert any(line.startswith("| gradient-mean_norm | 1 |") for line in out)
    comparison = next(line for line in out if line.startswith("Tasks with a detour"))
    assert "(1 and 2 runs)" in comparison and "P(taught > untaught) = 0.50" in comparison


@pytest.mark.parametrize("domains", [["antmaze"], ["pointmaze", "pointmaze_medium"]])
def test_main_refuses_runs_that_are_not_of_one_point_maze(tmp_path, monkeypatch, capsys, domains):
    for seed, name in enumerate(domains):
        write_run(tmp_path, "uniform", seed, [episode(1, {}, False)], domain=name)
    monkeypatch.setattr(sys, "argv", ["maze_detours", "--runs", str(tmp_path), "--quick"])
    with pytest.raises(SystemExit):
        main()
    message = capsys.readouterr().err
    assert f"are of {', '.join(domains)}" in message
    assert "pointmaze, pointmaze_medium" in message


def test_training_detours_split_the_last_tenth_by_the_applied_tasks_detour(tmp_path):
    def maze_episode(step, start, goal, path, success):
        applied = {"start": start, "goal": goal, "path": path}
        return {**episode(step, {}, False), "targets": {"goalreached": int(success)}, "applied": applied}

    records = [
        maze_episode(10, [1, 1], [1, 3], 2, True),  # first nine tenths: left out
        maze_episode(95, [1, 1], [1, 3], 2, True),
        maze_episode(96, [1, 1], [3, 1], 6, False),
        maze_episode(98, [1, 1], [2, 2], 4, False),
        maze_episode(100, [1, 1], [2, 2], 8, True),
    ]
    run = write_run(tmp_path, "uniform", 0, records, domain="pointmaze")
    assert training_detours(run) == {"0": [True], "4 or more": [False, True], "2": [False]}
    assert training_detours(write_run(tmp_path, "target", 0, [episode(1, {}, False)], domain="pointmaze")) == {}
