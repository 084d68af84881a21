"""The runner encodes an execution's input itself (``local._to_payload``), with the C encoder
``json.dumps`` uses: the text and the refusals must be ``json.dumps``'s own."""

from __future__ import annotations

import collections
import enum
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from async_durable_execution_runner._runner.local import _to_payload
from async_durable_execution_runner.errors import DurableRunnerError

_keys = st.text(max_size=6) | st.integers() | st.floats() | st.booleans() | st.none()
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.text(alphabet=st.characters(min_codepoint=0x80), max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_keys, inner, max_size=3)
    ),
    max_leaves=10,
)


@given(_values)
def test_same_text_as_json_dumps(value: Any) -> None:
    assert _to_payload(value) == json.dumps(value)


class _Colour(int, enum.Enum):
    RED = 1


class _Text(str):
    pass


class _Number(float):
    pass


class _Mapping(dict):  # type: ignore[type-arg]
    pass


@pytest.mark.parametrize(
    "value",
    [
        _Colour.RED,
        _Text("t"),
        _Number(2.5),
        _Mapping(a=1),
        collections.OrderedDict(z=1, a=2),
        float("nan"),
        float("-inf"),
        '\u2028 é \x00 "',
        [[[]], {}],
    ],
)
def test_subclasses_and_specials_as_json_dumps(value: Any) -> None:
    assert _to_payload(value) == json.dumps(value)


def _refusal(value: Any) -> str:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        return str(exc)
    raise AssertionError(value)


@pytest.mark.parametrize("value", [object(), {"a": {1, 2}}, {(1,): 2}, b"bytes"])
def test_unserialisable_refused_with_json_dumps_reason(value: Any) -> None:
    with pytest.raises(DurableRunnerError, match="must be JSON-serialisable") as caught:
        _to_payload(value)
    assert str(caught.value.__cause__) == _refusal(value)


def test_circular_refused_and_the_next_input_unaffected() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(DurableRunnerError, match="Circular reference detected"):
        _to_payload(loop)
    shared = [1]
    # The same object twice is no cycle: a failed encode left no markers behind.
    assert _to_payload([shared, shared, loop[:0]]) == "[[1], [1], []]"
