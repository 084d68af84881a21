"""A text a retry strategy's message pattern finds (``_regex_witness``): what an injected step
failure carries so that the strategy retries it and a burst can use its retries up."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from async_durable_execution_runner._regex_witness import witness

#: Patterns of the kind retry strategies name, from the corpora and the SDK's documentation.
RETRY_PATTERNS = [
    r"throttl(ed|ing)",
    r"\bHTTP 50[234]\b",
    r"(?i)too many requests",
    r"Rate ?[Ll]imit(ed)?",
    r"connection (reset|refused|aborted)",
    r"5\d\d",
    r"[A-Z]{3}-\d{2,}",
    r"(?P<code>E\d+): (?P=code)",
    r"time[ -]?out",
    r"[^\s]+ unavailable",
    r"\s+busy\b",
    r"(?:retry|try again) later",
    r"status=(429|503)",
    r"x{2,5}y?",
]


@pytest.mark.parametrize("pattern", RETRY_PATTERNS)
def test_the_pattern_finds_its_witness_inside_an_injected_message(pattern: str) -> None:
    text = witness(re.compile(pattern))
    assert text
    assert re.search(pattern, f"step_exception(step=1, attempt=2) injected ({text})")


@pytest.mark.parametrize(
    "pattern",
    [
        r"^Throttled$",  # the whole message: an injected one says more
        r"(?=x)y",  # a lookahead that cannot hold
        r"(?<!a)b",  # lookbehinds are not written
        r"(a)?(?(1)b|c)",  # conditionals either
        r"\A\Z",
    ],
)
def test_a_pattern_no_text_is_made_for_gets_none(pattern: str) -> None:
    assert witness(re.compile(pattern)) is None


@settings(max_examples=200, database=None, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="abcXYZ019 -_:", min_size=1, max_size=4).map(re.escape),
            st.sampled_from([r"\d", r"\w", r"\s", r"[a-f]", r"[^0-9]", r"(a|bc)", r"."]),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["", "+", "*", "?", "{2}", "{1,3}"]),
)
def test_every_witness_is_found_and_sequences_of_parts_always_get_one(
    parts: list[str], last_repeat: str
) -> None:
    pattern = "".join(parts[:-1]) + f"(?:{parts[-1]}){last_repeat}"
    text = witness(re.compile(pattern))
    assert text is not None, pattern
    assert re.search(pattern, f"injected {text} (step)"), (pattern, text)
