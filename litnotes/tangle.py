#!/usr/bin/env python3
"""tangle.py — 从 notes/*.md 生成 smln/ 包(literate programming)。

只用标准库,在安装任何依赖之前就能运行。

用法::

    python tangle.py                  # 生成 smln/,只写内容变了的文件
    python tangle.py --check          # 不写文件;smln/ 与笔记不一致时退出 1 并打印 diff
    python tangle.py --force          # 覆盖被手工修改过的生成文件
    python tangle.py --where smln/activations.py:42   # 这一行来自哪篇笔记的哪一行
    python tangle.py --formulas [--json]              # 列出笔记中所有带 ID 的公式

约定(见 README 与 notes/index.md):

* 围栏代码块的 ``title`` 属性是 ``smln/`` 下的 ``.py`` 路径时,这个代码块被 tangle 到该文件;
  同一目标的代码块按笔记文件名、再按在笔记中的位置依次拼接。
* 公式 ID 写作 ``[](){#id}``(mkdocs-autorefs 的 Markdown 锚点):单独成行时属于紧随其后的
  块(``$$`` 公式、代码块、表格),写在一行之中时属于它前面最近的 ``$...$``。

退出码:0 成功;1 拒绝执行或 --check 不一致;2 用法错误。
"""

from __future__ import annotations

import argparse
import ast
import difflib
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from litnotes.markup import (
    CODE_SPAN_RE,
    ERRATUM_FIELD_RE,
    ERRATUM_HEAD_RE,
    FORMULA_ID_RE,
    HEADING_RE,
    INLINE_MATH_RE,
    TABLE_ROW_RE,
    VALID_ID_RE,
    fence_closer,
    fence_title,
    open_fence,
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "smln"

HEADER_FIRST = "# 此文件由 tangle.py 从笔记生成,请勿手工修改:修改笔记后运行 `python tangle.py`。"
HASH_PREFIX = "# tangle-sha256: "
MARKER_PREFIX = "# ── "



class TangleError(Exception):
    """A refusal: ``message`` already starts with ``FILE:LINE:``."""


@dataclass
class Fence:
    """One fenced code block of a note."""

    note: str  # path relative to the repository, forward slashes
    start: int  # 1-based line of the opening fence
    indent: int  # columns of indentation of the opening fence
    char: str
    length: int
    info: str
    lines: list[str]  # de-indented content lines
    section: str  # text of the heading the block sits under
    closed: bool = True

    @property
    def lang(self) -> str:
        info = self.info.strip()
        if info.startswith("{"):
            m = re.match(r"\{\s*\.?([\w+-]+)", info)
            return m.group(1) if m else ""
        return info.split()[0] if info.split() else ""

    @property
    def title(self) -> str | None:
        return fence_title(self.info)

    @property
    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    @property
    def end(self) -> int:
        """1-based line of the closing fence."""
        return self.start + len(self.lines) + 1

    @property
    def is_example(self) -> bool:
        """An example to try: a ``python`` block that is neither package code (``title``) nor a figure (``exec``).

        It runs in the tests (in order, one namespace per note) and is a code cell of the chapter's notebook."""
        return self.lang == "python" and self.title is None and not re.search(r"(?:^|\s)exec=", self.info)


@dataclass
class Formula:
    id: str
    note: str
    line: int
    kind: str  # display | inline | code | table | example
    latex: str

    def as_json(self) -> dict:
        return {"id": self.id, "note": self.note, "line": self.line, "kind": self.kind, "latex": self.latex}


@dataclass
class Erratum:
    """A correction of the original notes: ``!!! bug "勘误 E1:标题"`` with **原文**, **改正**, **原因**, **检验**."""

    id: str
    title: str
    note: str
    line: int
    end: int  # 0-based index of the first line after the admonition
    fields: dict[str, str]


@dataclass
class Note:
    path: str
    lines: list[str]
    fences: list[Fence] = field(default_factory=list)
    formulas: list[Formula] = field(default_factory=list)

    @property
    def errata(self) -> list[Erratum]:
        return scan_errata(self)

    def fence_lines(self) -> set[int]:
        """0-based indices of the lines that belong to fences, their fence lines included."""
        return {k for f in self.fences for k in range(f.start - 1, f.start + len(f.lines) + 1)}

    def output_of(self, example: Fence) -> Fence | None:
        """The ``output`` block right after an example (only blank lines between): what running it shows."""
        k = self.fences.index(example)
        if k + 1 < len(self.fences) and self.fences[k + 1].lang == "output":
            after = self.fences[k + 1]
            if all(not line.strip() for line in self.lines[example.end:after.start - 1]):
                return after
        return None


@dataclass
class Output:
    """One generated file: its text and, line by line, where each line came from."""

    target: str
    text: str
    origin: list[tuple[str, int] | None]  # per output line: (note, note line) or None for the header
    notes: list[str]
    header_lines: int = 0

    def block_at(self, line: int) -> tuple[str, int] | None:
        """The (note, fence line) of the block that produced 1-based output ``line``: its marker's origin."""
        lines = self.text.split("\n")
        for k in range(min(line, len(self.origin)) - 1, -1, -1):
            if self.origin[k] and lines[k].startswith(MARKER_PREFIX):
                return self.origin[k]
        return None


# ----------------------------------------------------------------------------------------------------------
# Reading notes


def _columns(ws: str) -> int:
    """Width of leading whitespace, tabs to the next multiple of 4 (CommonMark)."""
    col = 0
    for ch in ws:
        col = col + 4 - col % 4 if ch == "\t" else col + 1
    return col


def _dedent(line: str, width: int) -> str:
    """Remove ``width`` columns of leading whitespace (a tab that straddles becomes spaces)."""
    col = 0
    i = 0
    while i < len(line) and col < width and line[i] in " \t":
        col = col + 4 - col % 4 if line[i] == "\t" else col + 1
        i += 1
    return " " * max(col - width, 0) + line[i:]


def read_note(path: Path, root: Path) -> Note:
    return parse_note(path.read_bytes().decode("utf-8"), path.relative_to(root).as_posix())


def parse_note(raw: str, rel: str) -> Note:
    """The fences of a note's text (any line endings), each with its de-indented lines and section."""
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    note = Note(rel, lines)
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        m = open_fence(line)
        if m:
            indent = _columns(m.group("indent"))
            close = fence_closer(m.group("fence"))
            body: list[str] = []
            j = i + 1
            while j < len(lines) and not close.match(lines[j]):
                body.append(_dedent(lines[j], indent))
                j += 1
            char, length = m.group("fence")[0], len(m.group("fence"))
            fence = Fence(rel, i + 1, indent, char, length, m.group("info"), body, section, closed=j < len(lines))
            note.fences.append(fence)
            i = j + 1
            continue
        h = HEADING_RE.match(line)
        if h and h.group("text") is not None:
            section = re.sub(r"[ \t]+#+$", "", h.group("text")).strip()
        elif h:
            section = ""
        i += 1
    return note


def scan_errata(note: Note) -> list[Erratum]:
    """The errata admonitions of a note, with their fields (a field's text runs on over its following lines)."""
    found = []
    lines, in_fence = note.lines, note.fence_lines()
    for i, line in enumerate(lines):
        head = ERRATUM_HEAD_RE.match(line)
        if not head or i in in_fence:
            continue
        width = _columns(head.group("indent"))
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or _columns(re.match(r"[ \t]*", lines[j]).group(0)) > width):
            j += 1
        fields: dict[str, str] = {}
        key = None
        for text in (ln.strip() for ln in lines[i + 1:j]):
            f = ERRATUM_FIELD_RE.match(text)
            if f:
                key = f.group("key")
                fields[key] = f.group("value")
            elif key and text:
                fields[key] += " " + text
        found.append(Erratum(head.group("id"), head.group("title").strip(), note.path, i + 1, j, fields))
    return found


def scan_formulas(note: Note) -> list[TangleError]:
    """Find formula IDs and display equations; return the errors (missing or malformed IDs)."""
    errors: list[TangleError] = []
    lines = note.lines
    in_fence = note.fence_lines()
    fence_at = {f.start - 1: f for f in note.fences}

    def err(lineno: int, msg: str) -> None:
        errors.append(TangleError(f"{note.path}:{lineno}: {msg}"))

    def next_block(k: int) -> int:
        while k < len(lines) and not lines[k].strip():
            k += 1
        return k

    pending: tuple[str, int] | None = None  # an ID on its own line, waiting for its block
    i = 0
    while i < len(lines):
        # inline code (`[](){#x}` written as an example) is neither an ID nor math
        line = CODE_SPAN_RE.sub(lambda m: " " * len(m.group(0)), lines[i])
        if i in in_fence:
            if i in fence_at:
                f = fence_at[i]
                if pending:
                    kind = "example" if f.lang == "pycon" or f.is_example else "code"
                    text = f.text + (out.text if f.is_example and (out := note.output_of(f)) else "")
                    note.formulas.append(Formula(pending[0], note.path, pending[1], kind, text.rstrip("\n")))
                    pending = None
            i += 1
            continue
        stripped = line.strip()
        only_id = FORMULA_ID_RE.fullmatch(stripped)
        if only_id:
            if pending:
                err(pending[1], f"公式 ID '{pending[0]}' 后面没有公式、代码块或表格")
            pending = (only_id.group("id"), i + 1)
            i += 1
            continue
        if stripped.startswith("$$"):
            # display equation: $$ ... $$ on one or several lines
            start = i
            rest = stripped[2:]
            if rest.rstrip().endswith("$$") and rest.strip() != "":
                tex_lines = [rest.rstrip()[:-2]]
                end = i
            else:
                tex_lines = [rest] if rest.strip() else []
                end = i + 1
                while end < len(lines) and lines[end].strip() and end not in in_fence \
                        and not lines[end].strip().endswith("$$"):
                    tex_lines.append(lines[end].strip())
                    end += 1
                if end >= len(lines) or not lines[end].strip() or end in in_fence:
                    err(start + 1, "公式块 $$ 没有闭合(公式块内不能有空行)")
                    pending = None
                    i = end
                    continue
                last = lines[end].strip()[:-2]
                if last.strip():
                    tex_lines.append(last.strip())
            tex = "\n".join(t.strip() for t in tex_lines).strip()
            if pending:
                note.formulas.append(Formula(pending[0], note.path, pending[1], "display", tex))
                pending = None
            else:
                err(start + 1, "行间公式没有 ID:在它上一行写 [](){#some-id}")
            i = end + 1
            continue
        if pending and TABLE_ROW_RE.match(line):
            end = i
            while end < len(lines) and TABLE_ROW_RE.match(lines[end]):
                end += 1
            note.formulas.append(Formula(pending[0], note.path, pending[1], "table", "\n".join(lines[i:end])))
            pending = None
            # inline IDs inside the table's cells are handled below, row by row
        if pending and stripped:
            err(pending[1], f"公式 ID '{pending[0]}' 后面没有公式、代码块或表格")
            pending = None
        for m in FORMULA_ID_RE.finditer(line):
            before = line[: m.start()]
            if TABLE_ROW_RE.match(line):
                before = before.split("|")[-1] if "|" in before else before
            maths = list(INLINE_MATH_RE.finditer(before))
            if not maths:
                err(i + 1, f"公式 ID '{m.group('id')}' 前面(同一行/同一单元格)没有 $...$ 公式")
                continue
            note.formulas.append(Formula(m.group("id"), note.path, i + 1, "inline", maths[-1].group("tex").strip()))
        i += 1
    if pending:
        err(pending[1], f"公式 ID '{pending[0]}' 后面没有公式、代码块或表格")
    for fm in note.formulas:
        if not VALID_ID_RE.match(fm.id):
            err(fm.line, f"公式 ID '{fm.id}' 不合法:只用小写字母、数字和连字符,以字母开头(如 act-sigmoid)")
    return errors


GENERATED_PAGE = "<!-- 此页由 smln_site.pages 生成,不是笔记 -->"


def _is_generated_page(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.readline().decode("utf-8", "replace").strip() == GENERATED_PAGE


def note_paths(root: Path) -> list[Path]:
    """The notes: notes/**/*.md, less the site's generated pages (python -m smln_site.pages writes them there)."""
    notes_dir = root / "notes"
    if not notes_dir.is_dir():
        return []
    return sorted((p for p in notes_dir.rglob("*.md") if p.is_file() and not _is_generated_page(p)),
                  key=lambda p: p.relative_to(root).as_posix())


def read_notes(root: Path) -> tuple[list[Note], list[TangleError]]:
    notes, errors = [], []
    for path in note_paths(root):
        try:
            note = read_note(path, root)
        except UnicodeDecodeError as exc:
            rel = path.relative_to(root).as_posix()
            errors.append(TangleError(f"{rel}:1: 不是 UTF-8 文本 ({exc.reason})"))
            continue
        for f in note.fences:
            if not f.closed:
                errors.append(TangleError(f"{f.note}:{f.start}: 代码块没有闭合(需要一行至少 {f.length} 个 {f.char})"))
        errors.extend(scan_formulas(note))
        notes.append(note)
    seen: dict[str, Formula] = {}
    for note in notes:
        for fm in note.formulas:
            if fm.id in seen:
                first = seen[fm.id]
                errors.append(TangleError(f"{fm.note}:{fm.line}: 公式 ID '{fm.id}' 重复(第一次出现在 {first.note}:{first.line})"))
            else:
                seen[fm.id] = fm
    return notes, errors


# ----------------------------------------------------------------------------------------------------------
# Targets


def _is_target_claim(title: str) -> bool:
    return PACKAGE in re.split(r"[\\/]+", title)


def check_target(title: str, fence: Fence, root: Path) -> str:
    """Return the normalised target path or raise TangleError naming the note line."""
    where = f"{fence.note}:{fence.start}:"
    if "\\" in title:
        raise TangleError(f"{where} 目标 '{title}' 含反斜杠:路径只用 /")
    if title.startswith("/") or re.match(r"^[A-Za-z]:", title):
        raise TangleError(f"{where} 目标 '{title}' 是绝对路径:应写成 smln/... 的相对路径")
    parts = title.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise TangleError(f"{where} 目标 '{title}' 含 '..'、'.' 或空的路径段:只能写在 smln/ 之内")
    if parts[0] != PACKAGE:
        raise TangleError(f"{where} 目标 '{title}' 不在 smln/ 之下")
    if not title.endswith(".py") or len(parts) < 2:
        raise TangleError(f"{where} 目标 '{title}' 不是 .py 文件")
    if not all(p.isidentifier() for p in parts[:-1]) or not parts[-1][:-3].isidentifier():
        raise TangleError(f"{where} 目标 '{title}' 不是合法的 Python 模块路径")
    pkg_root = (root / PACKAGE).resolve()
    resolved = (root / title).resolve()
    if (root / PACKAGE).is_symlink() or not resolved.is_relative_to(pkg_root):
        raise TangleError(f"{where} 目标 '{title}' 经符号链接指向 smln/ 之外")
    return title


def _top_level_names(tree: ast.Module) -> list[tuple[str, int]]:
    return [
        (node.name, node.lineno)
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]


def content_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def build(notes: list[Note], root: Path) -> tuple[dict[str, Output], list[TangleError]]:
    """Assemble every target in memory. Nothing is written here."""
    errors: list[TangleError] = []
    blocks: dict[str, list[Fence]] = {}
    for note in notes:
        for f in note.fences:
            title = f.title
            if title is None or not _is_target_claim(title):
                continue
            try:
                target = check_target(title, f, root)
            except TangleError as exc:
                errors.append(exc)
                continue
            blocks.setdefault(target, []).append(f)

    for target in sorted(blocks):
        parent = Path(target).parent
        while parent.as_posix() != ".":
            init = (parent / "__init__.py").as_posix()
            if init not in blocks:
                f = blocks[target][0]
                errors.append(TangleError(f"{f.note}:{f.start}: 包 {parent.as_posix()}/ 没有 __init__.py:"
                                          f"在笔记中加一个 title=\"{init}\" 的代码块"))
                break
            parent = parent.parent

    outputs: dict[str, Output] = {}
    for target, fences in sorted(blocks.items()):
        notes_used = list(dict.fromkeys(f.note for f in fences))
        body: list[str] = []
        origin: list[tuple[str, int] | None] = []
        for k, f in enumerate(fences):
            if k:
                body += ["", ""]
                origin += [None, None]
            section = f" § {f.section}" if f.section else ""
            body.append(f"{MARKER_PREFIX}{f.note}{section} ──")
            origin.append((f.note, f.start))
            for n, line in enumerate(f.lines):
                body.append(line.rstrip())
                origin.append((f.note, f.start + 1 + n))
        while body and not body[-1].strip():
            body.pop()
            origin.pop()
        body_text = "\n".join(body) + "\n"
        header = [
            HEADER_FIRST,
            f"# Generated by tangle.py from {', '.join(notes_used)}; edit the notes, not this file.",
            f"{HASH_PREFIX}{content_hash(body_text)}",
            "",
        ]
        text = "\n".join(header) + "\n" + body_text
        origin = [None] * len(header) + origin
        out = Output(target, text, origin, notes_used, len(header))

        try:
            tree = ast.parse(text, filename=target)
        except SyntaxError as exc:
            src = origin[exc.lineno - 1] if exc.lineno and 0 < exc.lineno <= len(origin) else None
            at = f"{src[0]}:{src[1]}" if src else f"{fences[0].note}:{fences[0].start}"
            errors.append(TangleError(f"{at}: {target} 无法编译: {exc.msg} (生成文件第 {exc.lineno} 行)"))
            continue
        first_def: dict[str, tuple[str, int, int]] = {}
        for name, lineno in _top_level_names(tree):
            src = origin[lineno - 1]
            block = _block_of(fences, src)
            if name in first_def and first_def[name][2] != block:
                prev = first_def[name]
                errors.append(TangleError(f"{src[0]}:{src[1]}: {target} 中 '{name}' 已由另一个代码块定义"
                                          f"({prev[0]}:{prev[1]}):每个顶层函数或类只能定义一次"))
            else:
                first_def.setdefault(name, (src[0], src[1], block))
        outputs[target] = out
    errors += _check_package_all(outputs, blocks)
    return outputs, errors


def _check_package_all(outputs: dict[str, Output], blocks: dict[str, list[Fence]]) -> list[TangleError]:
    """Each package's ``__all__`` names exactly its modules: the notes declare the modules (their code-block titles),
    so a module added or removed in a note and forgotten in ``__all__`` is refused here, at the ``__all__`` line."""
    errors = []
    for init, out in outputs.items():
        if not init.endswith("/__init__.py"):
            continue
        package = init.removesuffix("__init__.py")
        modules = {t[len(package) : -3] for t in outputs if t.startswith(package) and t != init and t.endswith(".py")
                   and "/" not in t[len(package) :]}
        for node in ast.parse(out.text).body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
                try:
                    listed = set(ast.literal_eval(node.value))
                except ValueError:
                    continue
                if listed != modules:
                    src = out.origin[node.lineno - 1] or (blocks[init][0].note, blocks[init][0].start)
                    missing, extra = sorted(modules - listed), sorted(listed - modules)
                    errors.append(TangleError(f"{src[0]}:{src[1]}: {init} 的 __all__ 应列出笔记生成的每个模块:"
                                              + (f"缺 {missing}" if missing else "")
                                              + (";" if missing and extra else "")
                                              + (f"多了 {extra}(没有笔记生成它)" if extra else "")))
    return errors


def _block_of(fences: list[Fence], src: tuple[str, int] | None) -> int:
    for k, f in enumerate(fences):
        if src and f.note == src[0] and f.start <= src[1] <= f.start + len(f.lines):
            return k
    return -1


# ----------------------------------------------------------------------------------------------------------
# Comparing with what is on disk


def existing_files(root: Path) -> list[str]:
    pkg = root / PACKAGE
    if not pkg.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(pkg):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            found.append((Path(dirpath) / name).relative_to(root).as_posix())
    return found


def read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def hand_edit(text: str) -> bool | None:
    """True if a generated file was edited since it was generated, None if it is not a generated file."""
    lines = text.split("\n")
    if not lines or lines[0] != HEADER_FIRST:
        return None
    hash_line = next((k for k, line in enumerate(lines[:5]) if line.startswith(HASH_PREFIX)), None)
    if hash_line is None:
        return True
    recorded = lines[hash_line][len(HASH_PREFIX):].strip()
    body = "\n".join(lines[hash_line + 2:])
    return content_hash(body) != recorded


def first_edit(text: str, out: Output) -> tuple[str, int]:
    """The note and note line whose generated line the hand edit changed first (where to make the change instead)."""
    skip = out.header_lines
    new, old = out.text.split("\n")[skip:], text.split("\n")[skip:]
    for tag, i1, _i2, _j1, _j2 in difflib.SequenceMatcher(a=new, b=old, autojunk=False).get_opcodes():
        if tag != "equal":
            for k in range(min(skip + i1, len(out.origin) - 1), -1, -1):  # an added line: the line before it
                if out.origin[k]:
                    return out.origin[k]
    return out.notes[0], 1


def describe_hand_edit(target: str, text: str, out: Output) -> str:
    """Which lines of the edited file differ from what the notes produce, and which note block they are in."""
    skip = out.header_lines  # the header (with its hash) is not what the reader edited
    old = text.split("\n")[skip:]
    new = out.text.split("\n")[skip:]
    report = []
    for tag, i1, _i2, j1, j2 in difflib.SequenceMatcher(a=new, b=old, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        lines = f"{skip + j1 + 1}" if j2 - j1 <= 1 else f"{skip + j1 + 1}-{skip + j2}"
        src = out.block_at(skip + i1 + 1)
        block = f",属于 {src[0]}:{src[1]} 的代码块" if src else ""
        report.append(f"    {target}:{lines}: 与笔记生成的内容不同{block}")
    return "\n".join(report[:20]) + ("\n    ..." if len(report) > 20 else "")


@dataclass
class Plan:
    write: dict[str, str]
    remove: list[str]
    errors: list[TangleError]
    outputs: dict[str, Output]


def generate(root: Path) -> tuple[dict[str, Output], list[TangleError]]:
    """Everything the notes produce, in memory, and every error found on the way."""
    notes, errors = read_notes(root)
    outputs, build_errors = build(notes, root)
    return outputs, errors + build_errors


def plan(root: Path, force: bool = False) -> Plan:
    outputs, errors = generate(root)
    write: dict[str, str] = {}
    remove: list[str] = []
    for target, out in outputs.items():
        current = read_text(root / target) if (root / target).is_file() else None
        if current == out.text:
            continue
        if current is not None and not force:
            edited = hand_edit(current)
            if edited is None:
                errors.append(TangleError(f"{target}:1: 不是 tangle.py 生成的文件,拒绝覆盖"
                                          f"(它的内容应写进笔记;确认后删除它,或用 --force)"))
                continue
            if edited:
                note, line = first_edit(current, out)
                errors.append(TangleError(
                    f"{note}:{line}: {target} 在生成后被手工修改过,拒绝覆盖。"
                    f"请把修改写回笔记,或用 --force 丢弃修改:\n{describe_hand_edit(target, current, out)}"))
                continue
        write[target] = out.text
    for rel in existing_files(root):
        if rel in outputs:
            continue
        text = read_text(root / rel)
        edited = hand_edit(text) if text is not None else None
        if edited is None and not force:
            errors.append(TangleError(f"{rel}:1: 没有笔记生成这个文件:smln/ 下的每个文件都来自笔记"
                                      f"(把它的代码写进笔记的代码块,或删除它)"))
        elif edited and not force:
            errors.append(TangleError(f"{rel}:1: 已没有笔记生成这个文件,但它在生成后被手工修改过,拒绝删除"
                                      f"(用 --force 删除)"))
        else:
            remove.append(rel)
    return Plan(write, remove, errors, outputs)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


KERNEL_OPTIONS = f"{PACKAGE}/jit.py"  # the compile options of every kernel (see notes/index.md § 编译内核)


def apply(root: Path, p: Plan) -> None:
    for rel, text in sorted(p.write.items()):
        _atomic_write(root / rel, text)
    if KERNEL_OPTIONS in p.write:
        # Numba invalidates a cached kernel when the kernel's own file changes, not when the options it was compiled
        # with change in another module: drop every cached kernel, so that the next call compiles with the new ones
        for cached in (root / PACKAGE).rglob("__pycache__/*.nb[ic]"):
            cached.unlink()
    for rel in p.remove:
        (root / rel).unlink()
        # a sub-package left with nothing but bytecode caches goes too
        parent = (root / rel).parent
        while parent != root / PACKAGE and parent.is_dir():
            if any(c.name != "__pycache__" for c in parent.iterdir()):
                break
            shutil.rmtree(parent)
            parent = parent.parent


# ----------------------------------------------------------------------------------------------------------
# Commands


def report_errors(errors: list[TangleError]) -> int:
    for exc in errors:
        print(str(exc), file=sys.stderr)
    print(f"tangle.py: {len(errors)} 个错误,没有写入任何文件。", file=sys.stderr)
    return 1


def cmd_tangle(root: Path, force: bool) -> int:
    p = plan(root, force)
    if p.errors:
        return report_errors(p.errors)
    apply(root, p)
    changed = len(p.write) + len(p.remove)
    print(f"tangle.py: {len(p.outputs)} 个模块,写入 {len(p.write)} 个,删除 {len(p.remove)} 个"
          + ("。" if changed else "(全部已是最新)。"))
    for target in p.write:
        print(f"  写入 {target}")
    for target in p.remove:
        print(f"  删除 {target}")
    return 0


def cmd_check(root: Path) -> int:
    outputs, errors = generate(root)
    if errors:
        return report_errors(errors)
    diffs, edited = [], []
    for target, out in outputs.items():
        current = read_text(root / target) if (root / target).is_file() else ""
        if current != out.text:
            if current and hand_edit(current):
                edited.append(target)
            diffs.append("".join(difflib.unified_diff(
                (current or "").splitlines(keepends=True), out.text.splitlines(keepends=True),
                fromfile=f"{target} (磁盘上)", tofile=f"{target} (笔记生成)")))
    for rel in existing_files(root):
        if rel not in outputs:
            diffs.append(f"--- {rel} (磁盘上)\n+++ /dev/null (没有笔记生成这个文件)\n")
    if diffs:
        sys.stdout.write("\n".join(diffs))
        if edited:  # tangle.py would refuse these: say how to get out
            print(f"tangle.py --check: smln/ 与笔记不一致({len(diffs)} 个文件),其中 {', '.join(edited)} 被手工修改过:"
                  f"把修改写回笔记后运行 python tangle.py --force(丢弃手工修改)。", file=sys.stderr)
        else:
            print(f"tangle.py --check: smln/ 与笔记不一致({len(diffs)} 个文件)。运行 python tangle.py 。", file=sys.stderr)
        return 1
    print(f"tangle.py --check: smln/ 与笔记一致({len(outputs)} 个模块)。")
    return 0


def cmd_where(root: Path, spec: str) -> int:
    m = re.fullmatch(r"(?P<path>.+?):(?P<line>\d+)", spec)
    if not m:
        print(f"tangle.py: --where 需要 smln/FILE.py:LINE,得到的是 '{spec}'", file=sys.stderr)
        return 2
    target, lineno = Path(m.group("path")).as_posix(), int(m.group("line"))
    if target.startswith("./"):
        target = target[2:]
    outputs, _errors = generate(root)  # --where answers for what can be generated, errors or not
    if target not in outputs:
        print(f"tangle.py: 没有笔记生成 {target}", file=sys.stderr)
        return 1
    out = outputs[target]
    if not 1 <= lineno <= len(out.origin):
        print(f"tangle.py: {target} 只有 {len(out.origin)} 行,没有第 {lineno} 行", file=sys.stderr)
        return 1
    current = read_text(root / target)
    if current != out.text:
        print(f"tangle.py: 注意:磁盘上的 {target} 与笔记生成的内容不同,行号按笔记生成的内容计算。", file=sys.stderr)
    src = out.origin[lineno - 1]
    if src is None:
        print(f"{target}:{lineno} 是生成文件的文件头或块间空行,来自笔记: {', '.join(out.notes)}")
        return 0
    print(f"{src[0]}:{src[1]}")
    return 0


def cmd_formulas(root: Path, as_json: bool) -> int:
    notes, errors = read_notes(root)
    formulas = [fm for note in notes for fm in note.formulas]
    if errors:
        return report_errors(errors)
    if as_json:
        json.dump([fm.as_json() for fm in formulas], sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        for fm in formulas:
            first = fm.latex.split("\n")[0]
            print(f"{fm.id:28} {fm.note}:{fm.line:<5} {fm.kind:8} {first[:70]}")
        print(f"共 {len(formulas)} 个公式。", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tangle.py", description="从 notes/*.md 生成 smln/ 包。")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="不写文件;smln/ 与笔记不一致时退出 1 并打印 diff")
    group.add_argument("--where", metavar="smln/FILE.py:LINE", help="打印生成这一行的笔记文件和行号")
    group.add_argument("--formulas", action="store_true", help="列出笔记中所有带 ID 的公式")
    parser.add_argument("--json", action="store_true", help="与 --formulas 一起用:输出 JSON")
    parser.add_argument("--force", action="store_true", help="覆盖或删除被手工修改过的生成文件")
    parser.add_argument("--root", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.json and not args.formulas:
        parser.error("--json 只能与 --formulas 一起用")
    if args.force and (args.check or args.where or args.formulas):
        parser.error("--force 只能在生成时使用")
    root = (args.root or root or ROOT).resolve()
    if args.check:
        return cmd_check(root)
    if args.where:
        return cmd_where(root, args.where)
    if args.formulas:
        return cmd_formulas(root, args.json)
    return cmd_tangle(root, args.force)


def run(argv: list[str] | None = None) -> int:
    """命令行入口(顶层的 ``tangle.py``):``main``,读者提前关掉管道时安静地结束。"""
    try:
        code = main(argv)
        sys.stdout.flush()
    except BrokenPipeError:  # `python tangle.py --formulas | head`: the reader stopped reading, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes at exit
        code = 0
    return code


if __name__ == "__main__":
    sys.exit(run())
