"""The registry of curricula: names, options and labels."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sebn.curricula.registry import curriculum_label, curriculum_options, make_curriculum, parse_curriculum_label
from tests.sebn.curricula.nets import wall_net


def test_make_curriculum_names_the_choices():
    with pytest.raises(ValueError, match="sebn, anti, uniform, target, alp-gmm"):
        make_curriculum("easy-first", wall_net(), [{"wall": 1}])


def option_values(default):
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.integers(-(10**6), 10**6)
    if isinstance(default, float):
        return st.floats(allow_nan=False)
    words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)
    return words.filter(lambda w: w not in ("true", "false", "null"))  # text that is not JSON, as every option's is


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(name=st.sampled_from(["sebn", "anti", "gradient"]), data=st.data())
def test_curriculum_labels_name_the_options_that_differ_from_their_defaults(name, data):
    defaults = {k: v for k, v in curriculum_options(name).items() if v is not None}
    keys = data.draw(st.lists(st.sampled_from(sorted(defaults)), unique=True, max_size=4))
    options = {k: data.draw(option_values(defaults[k])) for k in keys}
    label = curriculum_label(name, options)
    expected = {k: v for k, v in options.items() if v != defaults[k]}
    if name == "gradient":
        expected["reward"] = options.get("reward", defaults["reward"])
    assert parse_curriculum_label(label) == (name, expected)
    assert curriculum_label(name, {**defaults, **options}) == label
