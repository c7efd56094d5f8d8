"""DoorKey (the SEBN paper's Megagrid), a task-settable gridworld on minigrid's grid,
walls, doors, keys and goals.

A task (``specs/doorkey.sebn``'s env variables plus the target trained):

* ``exists_door=1``: a wall splits the room; its door is locked and the key lies on the
  agent's side, the goal on the far side. ``0``: one open room with the goal, no key.
* ``wall=1``: a wall segment stands across the way to the goal (from the door, on its far
  side, when there is one; else from the agent), so the way round is longer than the
  straight line. The spec requires ``avoid_wall`` for ``goalreached`` alone, so the wall
  never stands between the agent and the key or the door.
* ``distance=0``: the agent starts at most 2 squares (Manhattan) from its first point of
  interest (the key when there is a door, else the goal); ``1``: more than 2 squares from
  every point of interest (key, door, goal).
* ``target``: ``haskey``, ``dooropened`` (both need ``exists_door=1``) or ``goalreached``.

Every episode starts from scratch (no key held, door locked); the trained target gives
reward 1 and ends the episode. ``info["targets"]`` at the end reports the trained target
and the subgoals on its way (a ``goalreached`` episode behind a door also reports
``haskey`` and ``dooropened``). An episode is cut (truncated) after 50 steps without
progress: a new shortest way to the next object needed, or a subgoal reached.

Observations are the paper's cardinal sensors, after Lightworld's (Konidaris & Barto 2007):
for the key, the door and the goal, four sensors each (up, right, down, left), each
covering the half-plane on its side of the agent. An item ``d`` squares up (``d`` counted
along the sensor's axis, as Lightworld's sensors compare one coordinate) reads
:func:`domains.lightworld.reading` ``(d)`` on the up sensor, whatever its column; an item level with the agent
(same row) lies on neither the up nor the down side, only left or right, and an item up
and to the right is sensed by both of those sensors, so the four readings place it
exactly. Nothing hides an item: the split wall does not (the paper's worked example senses
the goal 4 squares down, past a wall 1 square down), so the direction of every item the
agent still needs is known in any room. A held key is no longer sensed. The walls keep a
short range finder: in each direction, the reading of the nearest wall square in the
agent's row or column within 2 squares (doors are not walls, and let the finder see
through). Then 1 if the key is held. Readings are in [0, 1]; 0 means nothing on that side.

``reading(d)`` is ``1 - d/8`` up to 4 squares (the paper's example: the key one step up
reads 0.875, the goal four steps down 0.5) and 0.5 beyond: far is far, in any room. So
a 16x16 or 32x32 room gives no reading the 8x8 training rooms (6x6 inside) do not, but a
key 3 or more squares to the side or a door 4 or more to the right, which an 8x8 room's
narrow near side cannot hold; options trained there meet little new in larger rooms
(version 3 read far items as ``2/d`` and walls at any distance; its agents' transfer fell
with training, to 0.01-0.04 on 32x32 after 1M steps: BENCHMARKS.md, DoorKey version 4).

Actions: move up, right, down, left; pick up the key from a neighbouring square; open a
neighbouring locked door with the key.

Example:
    >>> env = DoorKeyEnv()
    >>> task = {"distance": 0, "wall": 0, "exists_door": 1, "target": "haskey"}
    >>> obs, info = env.reset(seed=0, options={"task": task})
    >>> obs.shape, info["task"]["target"]
    ((17,), 'haskey')
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np

from domains.grid_paths import DIRECTIONS, manhattan, passable, path_length
from domains.lightworld import half_plane_readings, range_finder
from sebn.core.spec import shipped_spec
from sebn.runner.interface import Domain, run_as_command

try:
    from minigrid.core.grid import Grid
    from minigrid.core.world_object import Door, Goal, Key, Wall
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError('the DoorKey domain needs minigrid: pip install -e ".[grid]"') from None

ENV_VARIABLES = ("distance", "wall", "exists_door")
TARGETS = ("haskey", "dooropened", "goalreached")
ITEMS = (Key, Door, Wall, Goal)  # the observation's sensor groups, in order
UP, RIGHT, DOWN, LEFT, PICK_UP, OPEN = range(6)
PATIENCE = 50
HARDEST = {"distance": 0, "wall": 1, "exists_door": 1, "target": "goalreached"}
TRANSFER_SIZES = (16, 32)
ROOM_SIZES = (8, 16)  # the sizes variant's ``room`` values 0 and 1 (specs/doorkey_sizes.sebn)


def valid_tasks(room_sizes: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """Every task the env accepts: ``haskey`` and ``dooropened`` only with a door; with
    ``room_sizes``, each of them in every room (``room`` indexes ``room_sizes``)."""
    tasks = []
    for distance in (0, 1):
        for wall in (0, 1):
            for door in (0, 1):
                for target in TARGETS:
                    if door or target == "goalreached":
                        tasks.append({"distance": distance, "wall": wall, "exists_door": door, "target": target})
    if room_sizes:
        return [{**task, "room": room} for room in range(len(room_sizes)) for task in tasks]
    return tasks


def check_task(task: Mapping[str, Any], room_sizes: tuple[int, ...] = ()) -> dict[str, Any]:
    """The task as a plain dict; a clear ``ValueError`` for anything else. ``room`` is part
    of a task exactly when the env has ``room_sizes`` (the sizes variant)."""
    keys = (*ENV_VARIABLES, *(("room",) if room_sizes else ()), "target")
    missing = [k for k in keys if k not in task]
    if missing:
        raise ValueError(f"DoorKey task {dict(task)} lacks {', '.join(missing)}")
    unknown = [k for k in task if k not in keys]
    if unknown:
        hint = " (room is the doorkey_sizes domain's variable)" if "room" in unknown else ""
        raise ValueError(f"DoorKey task {dict(task)}: unknown {', '.join(map(str, unknown))}{hint}")
    clean = {k: task[k] for k in keys}
    if room_sizes:
        if clean["room"] not in range(len(room_sizes)):
            raise ValueError(f"DoorKey task: room must be one of 0..{len(room_sizes) - 1}, got {clean['room']!r}")
        clean["room"] = int(clean["room"])
    for name in ENV_VARIABLES:
        if clean[name] not in (0, 1):
            raise ValueError(f"DoorKey task: {name} must be 0 or 1, got {clean[name]!r}")
        clean[name] = int(clean[name])
    if clean["target"] not in TARGETS:
        raise ValueError(f"DoorKey task: target must be one of {', '.join(TARGETS)}, got {clean['target']!r}")
    if clean["target"] != "goalreached" and not clean["exists_door"]:
        raise ValueError(f"DoorKey task: target {clean['target']} needs exists_door=1")
    return clean


class DoorKeyEnv(gym.Env):
    """The DoorKey gridworld; see the module docstring.

    Args:
        size: the grid's side, outer walls included (8: a 6x6 room; 32 for transfer).
        render_mode: ``"rgb_array"`` renders with minigrid's tiles.
        room_sizes: the sizes variant: every task names its ``room``, and the grid's side
            is ``room_sizes[room]`` (``size`` is then only the side before the first reset).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, size: int = 8, render_mode: str | None = None, room_sizes: tuple[int, ...] = ()):
        if min((size, *room_sizes)) < 7:
            raise ValueError(f"DoorKey needs size >= 7 (a 5x5 room), got {min((size, *room_sizes))}")
        self.size, self.render_mode, self.room_sizes = size, render_mode, tuple(room_sizes)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(len(ITEMS) * 4 + 1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(6)
        self.task = dict(HARDEST, room=0) if room_sizes else dict(HARDEST)

    # --- layout ------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        super().reset(seed=seed)
        if options and "task" in options:
            self.task = check_task(options["task"], self.room_sizes)
        if self.room_sizes:
            self.size = self.room_sizes[self.task["room"]]
        for _ in range(1000):
            if self._generate():
                break
        else:  # pragma: no cover - the generator succeeds in a handful of tries
            raise RuntimeError(f"could not lay out task {self.task} on a {self.size}x{self.size} grid")
        self.carrying = False
        self.door_open = False
        self.reached_goal = False
        self.achieved = self._achieved()
        self.since_progress, self.best_distance = 0, self._distance_to_next()
        return self.observation(), {"task": dict(self.task)}

    def _generate(self) -> bool:
        """One random attempt at the task's layout; False when a constraint fails."""
        rng, n = self.np_random, self.size
        self.grid = Grid(n, n)
        self.grid.wall_rect(0, 0, n, n)
        self.key_pos = self.door_pos = None
        if self.task["exists_door"]:
            split = int(rng.integers(3, n - 3))
            self.grid.vert_wall(split, 1, n - 2)
            self.door_pos = (split, int(rng.integers(1, n - 1)))
            self.grid.set(*self.door_pos, Door("yellow", is_locked=True))
            near_side = [(x, y) for x in range(1, split) for y in range(1, n - 1)]
            far_side = [(x, y) for x in range(split + 1, n - 1) for y in range(1, n - 1)]
        else:
            near_side = far_side = [(x, y) for x in range(1, n - 1) for y in range(1, n - 1)]
        self.goal_pos = far_side[int(rng.integers(len(far_side)))]
        if self.task["exists_door"]:
            free = [p for p in near_side if p != (self.door_pos[0] - 1, self.door_pos[1])]  # keep the door reachable
            self.key_pos = free[int(rng.integers(len(free)))]
        first = self.key_pos if self.task["exists_door"] else self.goal_pos
        interests = [p for p in (self.key_pos, self.door_pos, self.goal_pos) if p is not None]
        taken = set(interests)
        starts = [p for p in near_side if p not in taken]
        if self.task["distance"] == 0:
            starts = [p for p in starts if manhattan(p, first) <= 2]
        else:
            starts = [p for p in starts if all(manhattan(p, q) > 2 for q in interests)]
        if not starts:
            return False
        self.agent_pos = starts[int(rng.integers(len(starts)))]
        if self.task["wall"] and not self._place_wall_segment(self.door_pos or self.agent_pos, self.goal_pos):
            return False
        for obj, pos in ((Goal(), self.goal_pos), (Key("yellow"), self.key_pos)):
            if pos is not None:
                self.grid.set(*pos, obj)
        return self._solvable()

    def _place_wall_segment(self, start: tuple[int, int], end: tuple[int, int]) -> bool:
        """A wall of 2-3 squares across a shortest line from ``start`` to ``end``, leaving a
        longer way round."""
        rng = self.np_random
        (sx, sy), (ex, ey) = start, end
        between = [
            (x, y)
            for x in range(min(sx, ex), max(sx, ex) + 1)
            for y in range(min(sy, ey), max(sy, ey) + 1)
            if (x, y) not in (start, end) and self._free((x, y))
        ]
        if not between:
            return False
        cx, cy = between[int(rng.integers(len(between)))]
        horizontal = bool(rng.integers(2))
        length = int(rng.integers(2, 4))
        offset = int(rng.integers(0, length))
        cells = [(cx - offset + i, cy) if horizontal else (cx, cy - offset + i) for i in range(length)]
        if not all(self._free(c) and c not in (self.agent_pos, self.goal_pos, self.key_pos) for c in cells):
            return False
        if self.door_pos is not None and any(manhattan(c, self.door_pos) <= 1 for c in cells):
            return False
        for c in cells:
            self.grid.set(*c, Wall())
        distance = path_length(self.grid, start, end, onto=True, through_doors=True)
        return distance is not None and distance > manhattan(start, end)

    def _free(self, pos: tuple[int, int]) -> bool:
        x, y = pos
        return 0 < x < self.size - 1 and 0 < y < self.size - 1 and self.grid.get(x, y) is None

    def _solvable(self) -> bool:
        if self.key_pos is None:
            return path_length(self.grid, self.agent_pos, self.goal_pos, onto=True) is not None
        key = path_length(self.grid, self.agent_pos, self.key_pos)
        door = path_length(self.grid, self.agent_pos, self.door_pos)
        goal = path_length(self.grid, self.door_pos, self.goal_pos, onto=True, through_doors=True)
        return None not in (key, door, goal)

    # --- dynamics ------------------------------------------------------------------------

    def step(self, action: int):
        action = int(action)
        if action < PICK_UP:
            dx, dy = DIRECTIONS[action]
            target = (self.agent_pos[0] + dx, self.agent_pos[1] + dy)
            if passable(self.grid, target):
                self.agent_pos = target
        elif (
            action == PICK_UP
            and not self.carrying
            and self.key_pos is not None
            and manhattan(self.agent_pos, self.key_pos) == 1
        ):
            self.grid.set(*self.key_pos, None)
            self.carrying = True
        elif action == OPEN and self.carrying and not self.door_open and manhattan(self.agent_pos, self.door_pos) == 1:
            self.grid.get(*self.door_pos).is_locked = False
            self.grid.get(*self.door_pos).is_open = True
            self.door_open = True
        self.reached_goal = self.agent_pos == self.goal_pos

        achieved = self._achieved()
        distance = self._distance_to_next()
        if sum(achieved.values()) > sum(self.achieved.values()):  # a subgoal: the next object is the new aim
            progress, self.best_distance = True, distance
        else:
            progress = distance is not None and (self.best_distance is None or distance < self.best_distance)
            if progress:
                self.best_distance = distance
        self.achieved = achieved
        self.since_progress = 0 if progress else self.since_progress + 1

        success = bool(achieved[self.task["target"]])
        truncated = not success and self.since_progress >= PATIENCE
        info: dict[str, Any] = {}
        if success or truncated:
            info = {"targets": self._reported(achieved), "is_success": success}
        return self.observation(), float(success), success, truncated, info

    def _achieved(self) -> dict[str, int]:
        return {"haskey": int(self.carrying), "dooropened": int(self.door_open), "goalreached": int(self.reached_goal)}

    def _reported(self, achieved: Mapping[str, int]) -> dict[str, int]:
        """The trained target and the subgoals on its way."""
        on_the_way = {
            "haskey": ("haskey",),
            "dooropened": ("haskey", "dooropened"),
            "goalreached": ("haskey", "dooropened", "goalreached") if self.task["exists_door"] else ("goalreached",),
        }
        return {t: achieved[t] for t in on_the_way[self.task["target"]]}

    def _distance_to_next(self) -> int | None:
        if self.key_pos is not None and not self.carrying:
            return path_length(self.grid, self.agent_pos, self.key_pos)
        if self.door_pos is not None and not self.door_open:
            return path_length(self.grid, self.agent_pos, self.door_pos)
        return path_length(self.grid, self.agent_pos, self.goal_pos, onto=True)

    def observation(self) -> np.ndarray:
        """The cardinal sensors of the current state, and whether the key is held."""
        obs = np.zeros(self.observation_space.shape, dtype=np.float32)
        held = None if self.carrying else self.key_pos
        for kind, pos in ((Key, held), (Door, self.door_pos), (Goal, self.goal_pos)):
            if pos is not None:
                obs[ITEMS.index(kind) * 4 : ITEMS.index(kind) * 4 + 4] = half_plane_readings(self.agent_pos, pos)
        is_wall = lambda x, y: isinstance(self.grid.get(x, y), Wall)  # noqa: E731
        obs[ITEMS.index(Wall) * 4 : ITEMS.index(Wall) * 4 + 4] = range_finder(self.agent_pos, self.size, is_wall)
        obs[-1] = float(self.carrying)
        return obs

    def render(self):
        if self.render_mode == "rgb_array":
            return self.grid.render(32, np.array(self.agent_pos), 0)
        return None


class OptionEnv(gym.Wrapper):
    """DoorKey for call-and-return options: the observation gains a one-hot option index.

    In training the option is the task's target (each option learns its own target). In
    a chain (evaluation) the option follows the stage: the key option until the key is
    held, the door option until the door is open, then the goal option. Each handover is
    a subgoal reached, which counts as progress: the next option gets its own 50 steps.
    """

    def __init__(self, env: DoorKeyEnv, chain: bool = False):
        super().__init__(env)
        self.chain = chain
        size = env.observation_space.shape[0] + len(TARGETS)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)

    def _option(self) -> int:
        env = self.env.unwrapped
        if not self.chain:
            return TARGETS.index(env.task["target"])
        if env.key_pos is not None and not env.carrying:
            return TARGETS.index("haskey")
        if env.door_pos is not None and not env.door_open:
            return TARGETS.index("dooropened")
        return TARGETS.index("goalreached")

    def _with_option(self, obs: np.ndarray) -> np.ndarray:
        return np.concatenate([obs, np.eye(len(TARGETS), dtype=np.float32)[self._option()]])

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return self._with_option(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._with_option(obs), reward, terminated, truncated, info


def make_env(index: int, size: int = 8, room_sizes: tuple[int, ...] = ()) -> gym.Env:
    """Training env ``index`` (tasks come through reset options; with ``room_sizes`` they
    name their room); ``-1``: the evaluation env, the options chained on the hardest task in
    a ``size`` grid."""
    if index < 0:
        return OptionEnv(DoorKeyEnv(size=size), chain=True)
    return OptionEnv(DoorKeyEnv(size=size, room_sizes=room_sizes))


def domain(name: str = "doorkey"):
    """The DoorKey domain for the runner: ``doorkey`` trains in 8x8 rooms, as the paper;
    ``doorkey_sizes`` (``specs/doorkey_sizes.sebn``) also in 16x16 rooms, the env variable
    ``room``. Both evaluate on the hardest setting in an 8x8 room and transfer to 16x16 and
    32x32 (for ``doorkey_sizes`` only 32x32 is unseen)."""
    rooms = ROOM_SIZES if name == "doorkey_sizes" else ()
    room = {"room": 0} if rooms else {}
    return Domain(
        name=name,
        spec=shipped_spec(name),
        tasks=valid_tasks(rooms),
        evaluation=dict(HARDEST, **room),
        # the options the evaluation chains
        target_tasks=[dict(HARDEST, **room, target=target) for target in TARGETS],
        make_env=partial(make_env, room_sizes=rooms),
        final_envs={
            "hardest": lambda: make_env(-1),
            **{f"transfer_{n}x{n}": lambda n=n: make_env(-1, size=n) for n in TRANSFER_SIZES},
        },
        agent="ppo_options",
        agent_args={
            "options": len(TARGETS),
            "hidden_sizes": [64, 64, 64, 64],
            "num_envs": 8,
            "num_steps": 128,
            "eval_every": 10_000,
            "eval_episodes": 20,
            "ent_coef": 0.01,
            "eval_greedy": False,
        },
        default_steps=200_000,
        # 2: the wall stands across the way to the goal (in version 1 it stood before the key);
        # 3: Lightworld's half-plane sensors that reach across any room (version 2 read 7 squares of one line)
        # 4: far items read 0.5 and walls are sensed within 2 squares: every reading also occurs in 8x8 rooms
        version=4,
    )


if __name__ == "__main__":
    run_as_command("doorkey")
