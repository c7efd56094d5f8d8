"""Small networks and generations the curricula's tests share."""

from __future__ import annotations

from sebn.core.network import SEBN
from sebn.core.spec import parse_spec
from sebn.curricula.base import Episode

WALL = "goalreached : (wall=1 | move=2)\ngoalreached : (| move=1)\n"


def wall_net() -> SEBN:
    return SEBN(parse_spec(WALL))


def generation(successes: dict[int, int], trials: int = 10, start: int = 0) -> list[Episode]:
    """``trials`` episodes per wall value, the first ``successes[wall]`` of them successful."""
    episodes = []
    for wall, wins in successes.items():
        for i in range(trials):
            episodes.append(
                Episode({"wall": wall}, {"goalreached": int(i < wins)}, float(i < wins), 1, start + len(episodes))
            )
    return episodes
