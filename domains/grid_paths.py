"""Shortest paths on a minigrid ``Grid`` (breadth-first), for laying out DoorKey tasks and
measuring the agent's progress. Cells are read by their minigrid ``type`` alone, so this
module imports nothing of minigrid (whose absence the domain reports).

Example:
    >>> from minigrid.core.grid import Grid
    >>> grid = Grid(5, 5)
    >>> grid.wall_rect(0, 0, 5, 5)
    >>> path_length(grid, (1, 1), (3, 3), onto=True), manhattan((1, 1), (3, 3))
    (4, 4)
"""

from __future__ import annotations

from collections import deque

DIRECTIONS = ((0, -1), (1, 0), (0, 1), (-1, 0))  # up, right, down, left (y grows downwards)


def manhattan(a: tuple[int, int], b: tuple[int, int]) -> int:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def passable(grid, pos: tuple[int, int], through_doors: bool = False) -> bool:
    """Whether the agent can stand on ``pos``: empty or the goal; a door only when open
    (or when ``through_doors``)."""
    cell = grid.get(*pos)
    if cell is None or cell.type == "goal":
        return True
    return cell.type == "door" and (cell.is_open or through_doors)


def path_length(grid, start, end, onto: bool = False, through_doors: bool = False) -> int | None:
    """Steps from ``start`` to a square next to ``end`` (onto it when ``onto``), or ``None``
    when there is no way."""
    queue, seen = deque([(start, 0)]), {start}
    while queue:
        pos, steps = queue.popleft()
        if pos == end or (not onto and manhattan(pos, end) == 1):
            return steps
        for dx, dy in DIRECTIONS:
            nxt = (pos[0] + dx, pos[1] + dy)
            if nxt not in seen and (nxt == end or passable(grid, nxt, through_doors)):
                seen.add(nxt)
                queue.append((nxt, steps + 1))
    return None
