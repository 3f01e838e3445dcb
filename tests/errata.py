"""Errata remarks in the notes: ``!!! bug "勘误 E1:标题"`` admonitions with 原文, 改正, 原因 and 检验."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ERRATA_PAGE = "notes/errata.md"
HEAD_RE = re.compile(r'^(?P<indent>\s*)!!! bug "勘误 (?P<id>E\d+)[::](?P<title>[^"]+)"\s*$')
FIELD_RE = re.compile(r"^\*\*(?P<key>原文|改正|原因|检验)[::]\*\*\s*(?P<value>.*)$")
INLINE_MATH_RE = re.compile(r"\$(?P<tex>[^$]+)\$")


@dataclass
class Erratum:
    id: str
    title: str
    note: str
    line: int
    fields: dict[str, str]

    @property
    def original_math(self) -> str:
        """The first ``$…$`` of the 原文 field: the formula as the original notes wrote it."""
        m = INLINE_MATH_RE.search(self.fields.get("原文", ""))
        if not m:
            raise AssertionError(f"{self.note}:{self.line}: erratum {self.id} has no $…$ in its 原文")
        return m.group("tex")


def _notes() -> list[Path]:
    return sorted(p for p in (ROOT / "notes").glob("*.md") if p.name != "errata.md")


def _blocks(path: Path):
    """Yield (head match, 1-based line, body lines, span) of every errata admonition of a note."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = HEAD_RE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        width = len(m.group("indent"))
        while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > width):
            j += 1
        yield m, i + 1, [line.strip() for line in lines[i + 1:j]], (i, j)
        i = j


@functools.cache
def remarks() -> tuple[Erratum, ...]:
    found = []
    for path in _notes():
        for m, line, body, _span in _blocks(path):
            fields: dict[str, str] = {}
            key = None
            for text in body:
                f = FIELD_RE.match(text)
                if f:
                    key = f.group("key")
                    fields[key] = f.group("value")
                elif key and text:
                    fields[key] += " " + text
            found.append(Erratum(m.group("id"), m.group("title").strip(), path.relative_to(ROOT).as_posix(),
                                 line, fields))
    return tuple(found)


def erratum(eid: str) -> Erratum:
    """The errata remark with this ID (exactly one must exist)."""
    found = [e for e in remarks() if e.id == eid]
    assert len(found) == 1, f"{len(found)} errata remarks with ID {eid}"
    return found[0]


def prose(note: str) -> str:
    """A note's text with its errata admonitions removed: what the notes now say."""
    path = ROOT / note
    lines = path.read_text(encoding="utf-8").splitlines()
    for _m, _line, _body, (a, b) in reversed(list(_blocks(path))):
        del lines[a:b]
    return "\n".join(lines)
