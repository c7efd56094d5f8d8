"""sebn as a user installs it: a wheel, installed non-editable outside the checkout, run
from a folder that is not the repository."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ("setup.cfg", "pyproject.toml", "README.md", "sebn", "agents", "domains", "specs")


def call(command: list, cwd: Path, env: dict) -> str:
    out = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{command}: {out.stdout}\n{out.stderr}"
    return out.stdout


def test_every_package_of_the_tree_is_installed():
    """setup.cfg lists its packages (the specs folder is mapped in as ``sebn.specs``)."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("sebn", "agents", "domains")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert listed == found | {"sebn.specs"}


def test_an_installed_wheel_checks_an_installed_spec_and_runs_outside_the_checkout(tmp_path):
    source, wheels, site, elsewhere = (tmp_path / name for name in ("source", "wheels", "site", "elsewhere"))
    elsewhere.mkdir()
    # built from a copy of what packaging reads, so the build leaves nothing in the checkout
    source.mkdir()
    for name in PACKAGED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    call([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, source], tmp_path, env)
    (wheel,) = wheels.glob("sebn-*.whl")
    call([*pip, "install", "--no-deps", "--target", site, wheel], tmp_path, env)
    # the installed copy comes first on the path; the test venv's dependencies follow it
    env["PYTHONPATH"] = str(site)

    where = call(
        [
            sys.executable,
            "-c",
            "import agents, domains, sebn; from sebn.core.spec import shipped_spec; "
            "print(sebn.__file__, agents.__file__, domains.__file__, shipped_spec('doorkey'))",
        ],
        elsewhere,
        env,
    ).split()
    assert all(Path(p).is_relative_to(site) for p in where), where
    spec = Path(where[-1])
    assert spec.read_text() == (ROOT / "specs" / "doorkey.sebn").read_text()

    checked = call([sys.executable, "-m", "sebn.cli", "check", spec], elsewhere, env)
    assert f"{spec}: ok" in checked

    ran = call(
        [sys.executable, "-m", "sebn.cli", "run", "student_doorkey", "--steps", "200", "--runs", "runs"]
        + ["--no-progress"],
        elsewhere,
        env,
    )
    run_dir = elsewhere / "runs" / "student_doorkey" / "sebn" / "seed0"
    assert f"results: {Path('runs') / 'student_doorkey' / 'sebn' / 'seed0'}" in ran
    assert json.loads((run_dir / "final.json").read_text())["global_step"] == 200
    assert len((run_dir / "episodes.jsonl").read_text().splitlines()) == 200
    assert json.loads((run_dir / "config.json").read_text())["agent_args"]["spec"] == str(spec)
