"""Lightworld's cardinal sensors (Konidaris & Barto 2007), as DoorKey reads them: for an
item, four sensors each covering the half-plane on its side of the agent, reading by the
distance along the sensor's axis; for walls, a range finder along the agent's row and
column. Directions are up, right, down, left, with y growing downwards.

Example:
    >>> half_plane_readings((2, 2), (2, 1)).tolist()  # one square up
    [0.875, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from domains.grid_paths import DIRECTIONS


def reading(d: int) -> float:
    """What a sensor reads for an item ``d >= 1`` squares away along its axis: ``1 - d/8``
    up to 4 squares (the SEBN paper's worked example), then ``2/d``, which meets it at 4 with
    the same slope and stays positive however far.

    Example:
        >>> [round(reading(d), 3) for d in (1, 4, 8, 30)]
        [0.875, 0.5, 0.25, 0.067]
    """
    return 1 - d / 8 if d <= 4 else 2 / d


def half_plane_readings(agent: tuple[int, int], item: tuple[int, int]) -> np.ndarray:
    """The four sensors' readings of one item: each senses it when it lies strictly on its
    side (an item level with the agent is on neither the up nor the down side)."""
    dx, dy = item[0] - agent[0], item[1] - agent[1]
    return np.array([reading(along) if along > 0 else 0.0 for along in (-dy, dx, dy, -dx)], dtype=np.float32)


def range_finder(agent: tuple[int, int], size: int, is_wall: Callable[[int, int], bool]) -> np.ndarray:
    """In each direction, the reading of the nearest wall square in line (0 when none
    within the ``size`` x ``size`` grid)."""
    out = np.zeros(4, dtype=np.float32)
    for direction, (dx, dy) in enumerate(DIRECTIONS):
        x, y, d = agent[0] + dx, agent[1] + dy, 1
        while 0 <= x < size and 0 <= y < size:
            if is_wall(x, y):
                out[direction] = reading(d)
                break
            x, y, d = x + dx, y + dy, d + 1
    return out
