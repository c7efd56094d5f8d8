"""Writing one benchmark's section of BENCHMARKS.md between its markers."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = "# Benchmarks\n\nEvery number here was measured on the project's 2-core machine with the command given.\n"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def write_section(name: str, lines: list[str], path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace the section between ``name``'s markers (append it when new)."""
    begin, end = markers(name)
    section = "\n".join([begin, *lines, end])
    text = path.read_text() if path.exists() else HEADER
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)
    print(f"wrote {path}")


def publish(name: str, lines: list[str], write: bool = True) -> None:
    """Print a benchmark's section, and write it into BENCHMARKS.md unless ``write`` is off (a quick run)."""
    print("\n".join(lines))
    if write:
        write_section(name, lines)


def spread(values, digits: int = 2) -> str:
    """``median [min, max]`` of a column of results (``never`` for infinities)."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    text = f"{np.median(values):,.{digits}f} [{values.min():,.{digits}f}, {values.max():,.{digits}f}]"
    return text.replace("inf", "never")


def report_table(report) -> str:
    """One domain's table from :func:`sebn.report.summary.to_markdown`, without the report's title."""
    from sebn.report.summary import to_markdown

    return to_markdown([report]).split(f"## {report.domain}\n", 1)[1].strip()
