"""The notes' worked examples run: a number printed in a note is computed.

An example is a ``python`` block without ``title`` or ``exec`` (a code cell of the chapter's notebook); the ``output``
block right after it is what running it shows, as Jupyter shows it: what it prints, then the value of its last line if
that line is an expression. ``pycon`` blocks (sessions that end in an error) run as doctests. The examples and sessions
of one note share one namespace, in order, like the notebook's kernel.
"""

import ast
import doctest
import io
from contextlib import redirect_stdout

import pytest

from litnotes import tangle
from tests.oracle import ROOT

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
NOTES = [p for p in tangle.note_paths(ROOT)
         if any(f.lang == "pycon" or f.is_example for f in tangle.read_note(p, ROOT).fences)]


def run_cell(code: str, namespace: dict, filename: str = "<cell>", first_line: int = 1) -> str:
    """Run a cell's code as a Jupyter kernel does and return what it shows: its printed text, then the ``repr`` of its
    last line's value when that line is an expression whose value is not ``None``. Line numbers in a traceback are
    ``first_line``-based (the note's lines)."""
    tree = ast.parse("\n" * (first_line - 1) + code, filename)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    shown = io.StringIO()
    with redirect_stdout(shown):
        exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 - the note's own example
        if last is not None:
            value = eval(compile(ast.Expression(last.value), filename, "eval"), namespace)  # noqa: S307
            if value is not None:
                print(repr(value))
    return shown.getvalue()


def check_example(note, fence, namespace: dict) -> str | None:
    """Run one example (or session); a description of the mismatch, or ``None``."""
    where = f"{note.path}:{fence.start}"
    if fence.lang == "pycon":
        test = doctest.DocTestParser().get_doctest(fence.text, namespace, where, note.path, fence.start)
        out: list[str] = []
        result = doctest.DocTestRunner(optionflags=FLAGS).run(test, out=out.append, clear_globs=False)
        return "".join(out) if result.failed else None
    got = run_cell(fence.text, namespace, note.path, fence.start + 1)
    output = note.output_of(fence)
    if output is not None and not doctest.OutputChecker().check_output(output.text, got, FLAGS):
        return f"{where}: the output block at line {output.start} says\n{output.text}but the example shows\n{got}"
    return None


@pytest.mark.parametrize("path", NOTES, ids=[p.name for p in NOTES])
def test_worked_examples_run(path):
    note = tangle.read_note(path, ROOT)
    namespace: dict = {"__name__": "__main__"}
    failures = [problem for fence in note.fences if fence.lang == "pycon" or fence.is_example
                if (problem := check_example(note, fence, namespace))]
    assert not failures, "\n".join(failures)


def test_an_output_block_that_disagrees_fails():
    """The check can fail: an example whose output block is wrong, and one whose last line's value is what it shows."""
    note = tangle.parse_note("```python\nx = 2\nx + 1\n```\n\n```output\n4\n```\n", "notes/x.md")
    assert "says\n4\n" in check_example(note, note.fences[0], {})
    note = tangle.parse_note("```python\nprint('a')\nNone\n```\n\n```output\na\n```\n", "notes/x.md")
    assert check_example(note, note.fences[0], {}) is None  # a None value shows nothing, as in Jupyter


def test_an_example_error_points_to_the_note_line():
    note = tangle.parse_note("text\n\n```python\nx = 1\n1 / 0\n```\n", "notes/x.md")
    with pytest.raises(ZeroDivisionError) as info:
        check_example(note, note.fences[0], {})
    assert (str(info.traceback[-1].path), info.traceback[-1].lineno + 1) == ("notes/x.md", 5)
