"""Lightworld's cardinal sensors (Konidaris & Barto 2007), as DoorKey reads them: for an
item, four sensors each covering the half-plane on its side of the agent, reading by the
distance along the sensor's axis; for walls, a short range finder along the agent's row
and column. Directions are up, right, down, left, with y growing downwards.

A large room gives no reading the 8x8 training rooms do not, but where their geometry
forbids it (their near side is 2-3 squares wide, so the key is never 3 squares left or
right there, nor the door 4 to the right): an item reads ``1 - d/8`` up to :data:`FAR`
squares and holds there (0.5: "four squares or more"), and the range finder sees walls
only within :data:`WALL_RANGE` squares. Version 3 read far
items as ``2/d`` (0.067 at 30 squares) and walls at any distance: values an 8x8 room never
shows, and options trained there acted on them at random (BENCHMARKS.md, DoorKey
version 4: a 1M-step agent pressed "open" three squares from the door of a 32x32 room,
every wall reading below 0.2).

Example:
    >>> half_plane_readings((2, 2), (2, 1)).tolist()  # one square up
    [0.875, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from domains.grid_paths import DIRECTIONS

FAR = 4
"""Squares from which an item reads as far (0.5), however much farther it is."""
WALL_RANGE = 2
"""The range finder's reach in squares: in the 8x8 training rooms a cell of the 6x6 inside
can have no wall within 2 squares in a direction, so "no wall near" reads the same there as
in the open middle of a 32x32 room."""


def reading(d: int) -> float:
    """What a sensor reads for something ``d >= 1`` squares away along its axis: ``1 - d/8``
    up to :data:`FAR` squares (the SEBN paper's worked example: one step reads 0.875, four
    steps 0.5), and 0.5 farther: non-zero at any distance, never more than a nearer one's.

    Example:
        >>> [reading(d) for d in (1, 2, 4, 8, 30)]
        [0.875, 0.75, 0.5, 0.5, 0.5]
    """
    return 1 - min(d, FAR) / 8


def half_plane_readings(agent: tuple[int, int], item: tuple[int, int]) -> np.ndarray:
    """The four sensors' readings of one item: each senses it when it lies strictly on its
    side (an item level with the agent is on neither the up nor the down side)."""
    dx, dy = item[0] - agent[0], item[1] - agent[1]
    return np.array([reading(along) if along > 0 else 0.0 for along in (-dy, dx, dy, -dx)], dtype=np.float32)


def range_finder(agent: tuple[int, int], size: int, is_wall: Callable[[int, int], bool]) -> np.ndarray:
    """In each direction, the reading of the nearest wall square in line within
    :data:`WALL_RANGE` squares (0 when none that near, or past the ``size`` x ``size`` grid)."""
    out = np.zeros(4, dtype=np.float32)
    for direction, (dx, dy) in enumerate(DIRECTIONS):
        x, y, d = agent[0] + dx, agent[1] + dy, 1
        while 0 <= x < size and 0 <= y < size and d <= WALL_RANGE:
            if is_wall(x, y):
                out[direction] = reading(d)
                break
            x, y, d = x + dx, y + dy, d + 1
    return out
