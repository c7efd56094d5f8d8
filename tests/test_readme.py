"""The README's "Use sebn with your own agent" block runs as written (on a small budget)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_block_trains_sb3_through_the_wrapper(monkeypatch):
    text = (ROOT / "README.md").read_text()
    section = text.split("## Use sebn with your own agent", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    monkeypatch.chdir(ROOT)
    namespace = {"__name__": "readme"}
    exec(compile(code, "README.md", "exec"), namespace)
    supply = namespace["train"](steps=2048, num_envs=2)
    assert supply.observed > 0
    assert supply.curriculum.issued == supply.observed + 2 * 2  # every task out is still held by an env
