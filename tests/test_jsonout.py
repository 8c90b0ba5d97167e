"""cnncalc's JSON layout (render/jsonout.py): any JSON value round-trips, and each record of a list is one line."""
import json

from hypothesis import given, strategies as st

from cnncalc.render.jsonout import dumps

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                      max_leaves=30)


@given(values)
def test_any_json_value_round_trips(value):
    assert json.loads(dumps(value)) == value


def test_records_are_one_line_and_the_rest_is_indented():
    doc = {"name": "n", "input": [3, 32, 32], "layers": [{"name": "a", "output": [1, 2]}, {"name": "b", "w": {"x": 1}}],
           "totals": {"params": 5}, "empty": [], "none": {}}
    assert dumps(doc) == (
        '{\n'
        '  "name": "n",\n'
        '  "input": [3, 32, 32],\n'
        '  "layers": [\n'
        '    {"name": "a", "output": [1, 2]},\n'
        '    {"name": "b", "w": {"x": 1}}\n'
        '  ],\n'
        '  "totals": {\n'
        '    "params": 5\n'
        '  },\n'
        '  "empty": [],\n'
        '  "none": {}\n'
        '}')


def test_a_list_of_lists_nests_by_line():
    assert dumps([[1, 2], [3]]) == '[\n  [1, 2],\n  [3]\n]'
