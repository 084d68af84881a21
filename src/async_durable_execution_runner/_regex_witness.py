"""A short text that a regular expression finds: what an injected error's message must carry.

A retry strategy may retry errors whose message a pattern finds (the SDK's
``RetryStrategy(retryable_errors=[re.compile(r"throttl(ed|ing)", re.I)])`` calls
``pattern.search(str(error))``). A fault that means to use up such a strategy's retries must
raise an error it retries, so its message must hold a text the pattern finds. This builds
one from the pattern's parse tree: the first branch of each alternation, the fewest
repetitions, the first character of each class. Every witness is checked against the
pattern with text around it (the injected message's own words), and patterns it cannot
satisfy that way (lookarounds, anchors to the whole message, backreferences to nothing)
get none.
"""

from __future__ import annotations

import re
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

#: The characters tried, in order, where any character of a class (or outside one) will do.
_CANDIDATES = "a0 _-.:/Z!"

_CATEGORY_CHARS = {
    _c.CATEGORY_DIGIT: "0",
    _c.CATEGORY_NOT_DIGIT: "a",
    _c.CATEGORY_SPACE: " ",
    _c.CATEGORY_NOT_SPACE: "a",
    _c.CATEGORY_WORD: "a",
    _c.CATEGORY_NOT_WORD: " ",
}

_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT)}


class _NoWitness(Exception):
    """The parse tree holds something this does not write a text for."""


def witness(pattern: re.Pattern[str]) -> str | None:
    """A text ``pattern.search`` finds even with other text around it, or ``None``."""
    try:
        tree = _parser.parse(pattern.pattern, pattern.flags)
        text = _write(tree, {})
    except (_NoWitness, re.error, RecursionError, TypeError, ValueError):
        return None
    if pattern.search(f"injected {text} (step)") is None:
        return None
    return text


def _write(tree: Any, groups: dict[int, str]) -> str:
    out: list[str] = []
    for op, arg in tree:
        if op is _c.LITERAL:
            out.append(chr(arg))
        elif op is _c.NOT_LITERAL:
            out.append(next(ch for ch in _CANDIDATES if ord(ch) != arg))
        elif op is _c.ANY:
            out.append("a")
        elif op is _c.IN:
            out.append(_class_char(arg))
        elif op is _c.BRANCH:
            out.append(_first_branch(arg[1], groups))
        elif op is _c.SUBPATTERN:
            group, _, _, body = arg
            text = _write(body, groups)
            if group is not None:
                groups[group] = text
            out.append(text)
        elif op in _REPEATS:
            low, _, body = arg
            out.append(_write(body, groups) * low)
        elif op is getattr(_c, "ATOMIC_GROUP", None):
            out.append(_write(arg, groups))
        elif op is _c.GROUPREF:
            if arg not in groups:
                raise _NoWitness
            out.append(groups[arg])
        elif op is _c.AT:
            continue  # an anchor adds no text; the check in ``witness`` judges it
        else:
            raise _NoWitness  # lookarounds, conditionals
    return "".join(out)


def _first_branch(branches: list[Any], groups: dict[int, str]) -> str:
    for branch in branches:
        try:
            return _write(branch, groups)
        except _NoWitness:
            continue
    raise _NoWitness


def _class_char(items: list[tuple[Any, Any]]) -> str:
    if items and items[0][0] is _c.NEGATE:
        rest = items[1:]
        for ch in _CANDIDATES:
            if not _in_class(rest, ch):
                return ch
        raise _NoWitness
    for op, arg in items:
        if op is _c.LITERAL:
            return chr(arg)
        if op is _c.RANGE:
            return chr(arg[0])
        if op is _c.CATEGORY and arg in _CATEGORY_CHARS:
            return _CATEGORY_CHARS[arg]
    raise _NoWitness


def _in_class(items: list[tuple[Any, Any]], ch: str) -> bool:
    code = ord(ch)
    for op, arg in items:
        if op is _c.LITERAL and arg == code:
            return True
        if op is _c.RANGE and arg[0] <= code <= arg[1]:
            return True
        if op is _c.CATEGORY:
            # Whether ``ch`` is in the category: ask the category's own one-character class.
            probe = {
                _c.CATEGORY_DIGIT: r"\d",
                _c.CATEGORY_NOT_DIGIT: r"\D",
                _c.CATEGORY_SPACE: r"\s",
                _c.CATEGORY_NOT_SPACE: r"\S",
                _c.CATEGORY_WORD: r"\w",
                _c.CATEGORY_NOT_WORD: r"\W",
            }.get(arg)
            if probe is None or re.fullmatch(probe, ch):
                return True
    return False
