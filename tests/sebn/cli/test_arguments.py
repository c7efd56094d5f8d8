"""The command line's argument types."""

from sebn.cli.arguments import parse_seeds


def test_seed_ranges():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("3,1,1-2") == [1, 2, 3]
