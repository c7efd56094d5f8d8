"""The command line's argument types."""

import argparse

import pytest

from sebn.cli.arguments import figure_file, parse_seeds


def test_seed_ranges():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("3,1,1-2") == [1, 2, 3]


@pytest.mark.parametrize("name", ["net.png", "runs/curves.SVG", "a.b.pdf"])
def test_a_figure_file_takes_what_matplotlib_writes(name):
    assert figure_file(name) == name


@pytest.mark.parametrize("name", ["net.foo", "curves", "report.md"])
def test_a_figure_file_of_another_kind_says_which_are_allowed(name):
    with pytest.raises(argparse.ArgumentTypeError, match=rf"expected an image file \(.*\.png.*\.svg.*\), got '{name}'"):
        figure_file(name)
