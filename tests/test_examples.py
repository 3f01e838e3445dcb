"""The notes' worked examples (``pycon`` blocks) run as doctests: a number printed in a note is computed.

The blocks of one note share one namespace, in order, like one interactive session.
"""

import doctest

import pytest

from litnotes import tangle
from tests.oracle import ROOT

NOTES = [p for p in tangle.note_paths(ROOT) if any(f.lang == "pycon" for f in tangle.read_note(p, ROOT).fences)]


@pytest.mark.parametrize("path", NOTES, ids=[p.name for p in NOTES])
def test_worked_examples_run(path):
    note = tangle.read_note(path, ROOT)
    globs: dict = {}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    failures = []
    for fence in (f for f in note.fences if f.lang == "pycon"):
        test = parser.get_doctest(fence.text, globs, f"{note.path}:{fence.start}", note.path, fence.start)
        out: list[str] = []
        result = runner.run(test, out=out.append, clear_globs=False)
        if result.failed:
            failures.append("".join(out))
    assert not failures, "\n".join(failures)
