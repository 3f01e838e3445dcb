"""The chapter → modules → pages map, read from the notes themselves (the one place it is declared).

A module of ``smln/`` belongs to the note and section of its first code block (``title="smln/<module>.py"``), and its
one-line summary is the first line of the docstring that block opens with. Everything that lists the modules is
derived from this: the API pages and their index (``smln_site.pages``), the API section of the site's navigation
(the MkDocs hook), and the check that ``smln/__init__.py``'s ``__all__`` names every module (``tangle.py``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from litnotes import tangle

PACKAGE = "smln"


@dataclass(frozen=True)
class Module:
    name: str  # "optim": the module smln.optim, generated as smln/optim.py
    note: str  # the note of its first code block, "notes/02-gradient-descent.md"
    line: int  # that block's opening fence
    section: str  # the heading that block sits under
    summary: str  # the first line of the module's docstring

    @property
    def qualname(self) -> str:
        return f"{PACKAGE}.{self.name}"


def modules(root: Path) -> list[Module]:
    """Every module of the package except ``__init__``, in the order the notes introduce them."""
    notes, errors = tangle.read_notes(root)
    if errors:
        raise ValueError("\n".join(str(e) for e in errors))
    found: dict[str, Module] = {}
    for note in sorted(notes, key=_reading_order):
        for fence in note.fences:
            title = fence.title or ""
            if not (title.startswith(f"{PACKAGE}/") and title.endswith(".py")) or "/" in title[len(PACKAGE) + 1:]:
                continue
            name = title[len(PACKAGE) + 1 : -3]
            if name == "__init__" or name in found:
                continue
            found[name] = Module(name, note.path, fence.start, fence.section, _summary(fence.text))
    return list(found.values())


def _reading_order(note) -> tuple[int, str]:
    """The chapters in file order, then ``index.md`` (the conventions every chapter relies on)."""
    return (note.path.endswith("/index.md"), note.path)


def _summary(code: str) -> str:
    try:
        doc = ast.get_docstring(ast.parse(code)) or ""
    except SyntaxError:
        doc = ""
    return doc.strip().splitlines()[0].rstrip("。.") if doc.strip() else ""
