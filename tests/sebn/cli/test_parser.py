"""The parser: flags that say what is allowed, the console script, and no heavy imports."""

import subprocess
import sys
from pathlib import Path

import pytest

from sebn.cli import main

SPEC = "specs/bipedalwalker.sebn"


@pytest.mark.parametrize(
    "argv,allowed",
    [
        (["fit", SPEC, "e.jsonl", "-o", "f", "--method", "em"], "choose from 'mle', 'map', 'svi', 'laplace', 'nuts'"),
        (["simulate", SPEC, "--theta", "t", "-o", "x", "-n", "-3"], "expected a positive integer"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_flags_say_what_is_allowed(argv, allowed, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert allowed in capsys.readouterr().err


def test_console_script_help():
    exe = Path(sys.executable).parent / "sebn"
    result = subprocess.run([str(exe), "score", "--help"], capture_output=True, text=True, check=True)
    assert "--top" in result.stdout and "--json" in result.stdout


@pytest.mark.parametrize("argv", [["check", SPEC], ["--help"], ["run", "doorkey", "--help"]])
def test_parsing_the_command_line_imports_no_torch(argv):
    """The parser is built from plain tables; each subcommand imports what it needs when it runs."""
    code = (
        "import sys\nfrom sebn.cli import _parser\n"
        f"try:\n    _parser().parse_args({argv!r})\nexcept SystemExit:\n    pass\n"
        "print('torch imported:', 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "torch imported: False"
