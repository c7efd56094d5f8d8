"""Pictures: the network drawn in layers (env, competencies, targets).

Example:
    >>> import tempfile, pathlib
    >>> from sebn.network import SEBN
    >>> from sebn.spec import parse_spec
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=1)\\n"))
    >>> draw_network(net, pathlib.Path(tempfile.mkdtemp()) / "net.png")
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

COLOURS = {"env": "#9ecae1", "base": "#fdd0a2", "derived": "#fdae6b", "target": "#a1d99b"}
LABELS = {"env": "env variables", "base": "base competencies", "derived": "derived competencies", "target": "targets"}


def _layout(net) -> dict[str, tuple[float, float]]:
    """Rows top to bottom: env, base, derived (by depth), targets (by depth); each centred."""
    depth: dict[str, int] = {}
    for name in net.derived + net.targets:
        parents = [p for p in net.graph.predecessors(name) if p in depth]
        depth[name] = 1 + max((depth[p] for p in parents), default=0)
    rows: dict[float, list[str]] = {3.0: list(net.env), 2.0: list(net.base)}
    for name in net.derived:
        rows.setdefault(2.0 - 0.6 * depth[name], []).append(name)
    target_top = min(rows) - 1.0
    for name in net.targets:
        rows.setdefault(target_top - 0.7 * (depth[name] - 1), []).append(name)
    positions = {}
    for y, names in rows.items():
        for i, name in enumerate(names):
            positions[name] = (i - (len(names) - 1) / 2, y)
    return positions


def _group(net, name: str) -> str:
    if name in net.env:
        return "env"
    if name in net.targets:
        return "target"
    return "derived" if name in net.derived else "base"


def draw_network(net, path: str | Path) -> None:
    """Draw the DAG with env variables on top, competencies in the middle, targets below."""
    graph = net.graph
    positions = _layout(net)
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * (max(xs) - min(xs) + 2)), max(4.5, 1.3 * (max(ys) - min(ys) + 2))))
    for group, colour in COLOURS.items():
        nodes = [n for n in graph if _group(net, n) == group]
        if nodes:
            nx.draw_networkx_nodes(graph, positions, nodelist=nodes, node_color=colour, node_size=2400, ax=ax, label=LABELS[group])
    # Curved edges keep long env->target arrows from running through the competency row.
    for curve, edges in ((0.0, [e for e in graph.edges if e[0] not in net.env]), (0.25, [e for e in graph.edges if e[0] in net.env])):
        nx.draw_networkx_edges(
            graph, positions, edgelist=edges, ax=ax, arrowsize=12, node_size=2400, edge_color="#666666",
            connectionstyle=f"arc3,rad={curve}", arrows=True,
        )
    nx.draw_networkx_labels(graph, positions, ax=ax, font_size=8)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, markerscale=0.4)
    ax.set_title(Path(net.spec.source).name)
    ax.margins(0.12)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
