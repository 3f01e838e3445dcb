"""Errors asserted by what matters — the type, the argument named, the values shown — never by a message's wording, so
messages can improve without rewriting tests."""

import re
from contextlib import contextmanager

import pytest


def argument_named(exc: BaseException) -> str:
    """The argument an error blames: ``exc.argument`` for smln.validation's errors, else the message's ``name:`` prefix."""
    named = getattr(exc, "argument", None)
    if named is not None:
        return named
    match = re.match(r"\s*([^\s:]+):", str(exc))
    return match.group(1) if match else ""


@contextmanager
def raises_for(error, argument: str, *shows):
    """``pytest.raises(error)`` that also checks the argument named and that each of ``shows`` is in the message."""
    with pytest.raises(error) as info:
        yield info
    named = argument_named(info.value)
    assert named == argument, f"the error blames {named!r}, not {argument!r}: {info.value}"
    for value in shows:
        assert str(value) in str(info.value), f"{value!r} is not shown in: {info.value}"


def raises_as(error, described: str):
    """``raises_for`` from a table's ``"name: what is wrong"`` description (a regex, as tables of bad input write it):
    the name before the colon is the argument; shapes written in it, ``(3, 1)``, are values the message must show."""
    text = re.sub(r"\\(.)", r"\1", described.lstrip("^"))
    argument, colon, rest = text.partition(": ")
    if not colon or not re.fullmatch(r"[\w.\[\]'、]+", argument):  # an error of the whole call names no argument
        return pytest.raises(error, match=described)
    shows = [s for s in re.findall(r"\([\d*, ]*\)", rest)]
    return raises_for(error, argument, *shows)
