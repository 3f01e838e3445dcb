"""Errata remarks in the notes (``!!! bug "勘误 E1:标题"``), as ``tangle.py`` reads them."""

from __future__ import annotations

import functools
from pathlib import Path

from litnotes import tangle
from litnotes.markup import INLINE_MATH_RE

ROOT = Path(__file__).resolve().parent.parent
ERRATA_PAGE = "notes/errata.md"


def _notes() -> list[tangle.Note]:
    return [tangle.read_note(p, ROOT) for p in tangle.note_paths(ROOT) if p.name != "errata.md"]


@functools.cache
def remarks() -> tuple[tangle.Erratum, ...]:
    return tuple(e for note in _notes() for e in note.errata)


def erratum(eid: str) -> tangle.Erratum:
    """The errata remark with this ID (exactly one must exist)."""
    found = [e for e in remarks() if e.id == eid]
    assert len(found) == 1, f"{len(found)} errata remarks with ID {eid}"
    return found[0]


def original_math(e: tangle.Erratum) -> str:
    """The first ``$…$`` of the 原文 field: the formula as the original notes wrote it."""
    m = INLINE_MATH_RE.search(e.fields.get("原文", ""))
    if not m:
        raise AssertionError(f"{e.note}:{e.line}: erratum {e.id} has no $…$ in its 原文")
    return m.group("tex")


def prose(note: str) -> str:
    """A note's text with its errata admonitions removed: what the notes now say."""
    parsed = tangle.read_note(ROOT / note, ROOT)
    lines = list(parsed.lines)
    for e in reversed(parsed.errata):
        del lines[e.line - 1:e.end]
    return "\n".join(lines)
