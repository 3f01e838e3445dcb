#!/usr/bin/env python3
"""fidelity.py — is the original kept? Compare ``original/`` with the notes' original-text blocks.

The notes keep the original notes: each note wraps the original's text in ``<div class="original" markdown>`` …
``</div>`` blocks (shown on the site with a thin rule in the margin) and writes its additions around them. This
tool splits every section of the original into units — sentences, formulas, list items, table rows, code lines and
links — and finds each one in the original-text blocks of the note that carries the section:

* **kept**: the unit is there (after normalising whitespace, Markdown, full-width punctuation; formulas by their
  LaTeX without spaces — every formula, with or without a relation, and a formula the original writes twice must
  be in the note twice);
* **changed**: a sentence is there with small edits, and every edit is stated by one of the note's errata at its
  place: a quote of its 原文 holds the edited span with some of this sentence around it, and its 改正 holds what
  replaced the span (a correction is never silent, and an erratum elsewhere that happens to quote the same word does
  not cover it);
* **erratum**: the unit is not kept but quoted in the 原文 of one of the note's errata (replaced by a correction);
* **omitted**: a deliberate omission listed in ``OMISSIONS`` with its reason;
* **missing** / **silent**: a failure — the unit was dropped, or edited with no erratum quoting the edit.

What we wrote back from a lost image sits in a restored block, ``<div class="restored" markdown data-source="…">`` …
``</div>``, which names what the reconstruction follows; a restored block without a source, or one inside an original
block, is a problem of the markup. Everything outside both kinds of block is the project's addition.

A formula with a relation (``=``, ``:=``, ``\\le`` …) must moreover carry a formula ID in the note (and so, through
the coverage test, a test). Sections that no note carries yet are *pending*.

``python fidelity.py`` prints the report; ``tests/test_fidelity.py`` fails on any missing or silent unit, and the
site's page 原文对照 is generated from the same report. Standard library only.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from litnotes import tangle
from litnotes.markup import FORMULA_ID_RE, ORIGINAL_CLOSE, ORIGINAL_OPEN, RESTORED_OPEN_RE

ROOT = Path(__file__).resolve().parent.parent
ORIGINAL = "original/SuperMachineLearningNotes.md"

# original section (its heading text) → the note that carries it; a section absent here and from OMISSIONS is pending
SECTIONS = {
    "激活函数": "notes/01-activations.md",
    "梯度下降": "notes/02-gradient-descent.md",
    "计算图": "notes/02-gradient-descent.md",
    "反向传播算法": "notes/02-gradient-descent.md",
    "L2正则修正的梯度(权重衰减)": "notes/02-gradient-descent.md",
    "梯度消失和梯度爆炸": "notes/02-gradient-descent.md",
    "小批量梯度下降": "notes/02b-optimizers.md",
    "随机梯度下降": "notes/02b-optimizers.md",
    "小批量梯度下降批次大小选择": "notes/02b-optimizers.md",
    "Momentum": "notes/02b-optimizers.md",
    "RMSprop": "notes/02b-optimizers.md",
    "Adma": "notes/02b-optimizers.md",
    "学习率衰减": "notes/02b-optimizers.md",
    "批量归一化": "notes/02b-optimizers.md",
    "参数": "notes/03-parameters.md",
    "可学习参数和超参数": "notes/03-parameters.md",
    "参数初始化": "notes/03-parameters.md",
    "超参数调优": "notes/03-parameters.md",
    "序列模型": "notes/04-sequence-models.md",
    "循环神经网络RNN": "notes/04-sequence-models.md",
    "门控循环单元Gated Recurrent Unit (GRU)": "notes/04-sequence-models.md",
    "简化版GRU(Simplified)": "notes/04-sequence-models.md",
    "原始GRU(full)": "notes/04-sequence-models.md",
    "长短期记忆网络LSTM": "notes/04-sequence-models.md",
    "深度RNN例子": "notes/04-sequence-models.md",
    "词嵌入(Word embedding)": "notes/05-word-embeddings.md",
    "One-hot": "notes/05-word-embeddings.md",
    "嵌入矩阵(Embedding Matrix) $E$": "notes/05-word-embeddings.md",
    "学习词嵌入(Learning Word Embedding)": "notes/05-word-embeddings.md",
    "Word2Vec & Skip-gram": "notes/05-word-embeddings.md",
    "负采样(Negative Sampling)": "notes/05-word-embeddings.md",
    "GloVe 向量": "notes/05-word-embeddings.md",
    "深度上下文化的词表示形式(ELMo)": "notes/05-word-embeddings.md",
    "translation 模型": "notes/06-translation.md",
    "逻辑回归": "notes/07-logistic-regression.md",
}

# deliberate omissions: whole sections of the original, with the reason each is left out
OMISSIONS = {
    "SuperMachineLearningNotes": "代码托管网站为仓库生成的标题与路径,不是笔记的内容",
    "Basic Information": "代码托管网站的仓库元数据(项目名、许可、默认分支等)",
    "Statistics": "代码托管网站的统计数字(星标、派生、日期)",
    "Categories & Tags": "代码托管网站的分类与标签",
    "README": "代码托管网站插入的标题,其下没有内容",
    "内容目录": "原始仓库的目录,链接指向原始仓库里的文件;网站的导航栏和本页取代了它",
}

QUOTE_RE = re.compile(r"「(?P<q>.+?)」")
RELATION_RE = re.compile(r":=|=|\\le|\\ge|\\leq|\\geq|<|>|\\approx|\\in")
SETTING_RE = re.compile(r"^\\?[A-Za-z]+(?:_\{?\w+\}?)?(?:[=<>]-?[\d.]+)+$")  # W=10, \beta=0.9, W=1.5>1: values in passing
MATH_RE = re.compile(r"\$\$(?P<d>.+?)\$\$|(?<![\\$])\$(?P<i>(?:\\.|[^$\\])+?)\$", re.S)
LINK_RE = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<url>[^)\s]+)\)")
LIST_RE = re.compile(r"^(?:[-*+]|\d+[.)]|\d+\)\.)\s+")
SENTENCE_END_RE = re.compile(r"(?<=[。!?!?])|\s{2,}")
HOLE = "∎"  # a formula inside a sentence: sentences and formulas are compared separately
WIDTH = str.maketrans({",": ",", ":": ":", ";": ";", "(": "(", ")": ")", "!": "!", "?": "?", "“": '"',
                       "”": '"', "‘": "'", "’": "'", "【": "[", "】": "]", "、": ",", "。": "."})
SIMILAR = 0.6  # a note sentence at least this similar to an original one is the same sentence, edited


@dataclass
class Unit:
    kind: str  # sentence | formula | item | row | code | link
    text: str  # as the original writes it
    key: str  # normalised, for matching
    status: str = "missing"  # kept | changed | erratum | omitted | pending | missing | silent
    where: str = ""  # notes/FILE.md:LINE where it was found
    errata: list[str] = field(default_factory=list)
    detail: str = ""


@dataclass
class Section:
    title: str
    level: int
    line: int  # in the original
    note: str | None
    omitted: str | None
    units: list[Unit] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return self.note is None and self.omitted is None

    def count(self, *statuses: str, kind: str | None = None) -> int:
        return sum(1 for u in self.units if u.status in statuses and (kind is None or u.kind == kind))

    def total(self, kind: str | None = None) -> int:
        return sum(1 for u in self.units if kind is None or u.kind == kind)

    @property
    def failures(self) -> list[Unit]:
        return [u for u in self.units if u.status in ("missing", "silent")]

    @property
    def errata(self) -> list[str]:
        return sorted({e for u in self.units for e in u.errata}, key=lambda e: int(e[1:]))


# ----------------------------------------------------------------------------------------------------------
# Normalising


def norm_text(text: str) -> str:
    """Whitespace, Markdown emphasis, quote markers and full-width punctuation folded; IDs and link targets dropped."""
    text = FORMULA_ID_RE.sub("", text)
    text = LINK_RE.sub(lambda m: m.group("text"), text)
    text = re.sub(r"<[^>]+>", "", text)
    text = unicodedata.normalize("NFKC", text).translate(WIDTH)
    text = re.sub(r"[*`>\s]", "", text)
    return text.lower()


def norm_tex(tex: str) -> str:
    tex = re.sub(r"\\left|\\right|\\[,;!]|\\quad", "", tex)
    tex = unicodedata.normalize("NFKC", tex).translate(WIDTH)
    return re.sub(r"\s", "", tex).rstrip(".,;")


def code_key(line: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", line))


def holes(text: str) -> str:
    """The text with every formula replaced by ∎."""
    return MATH_RE.sub(HOLE, text)


def sentences(text: str) -> list[str]:
    """Split prose into sentences; a display formula ends a sentence."""
    out = []
    text = LINK_RE.sub(lambda m: m.group("text"), text)  # a URL's "?" ends no sentence
    for part in re.split(r"\$\$.+?\$\$", text, flags=re.S):
        for s in SENTENCE_END_RE.split(part):
            if re.search(r"[\w\u4e00-\u9fff]", holes(s).replace(HOLE, "")):
                out.append(s.strip())
    return out


def sentence_key(s: str) -> str:
    """A sentence without its formulas (they are compared on their own), normalised."""
    return norm_text(holes(s)).replace(HOLE, "").strip(",.:;")


def row_cells(row: str) -> list[str]:
    cells = [c.strip() for c in row.strip().strip("|").split("|")]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def row_key(row: str) -> str:
    return "|".join(norm_text(c) for c in row_cells(row))


def is_statement(tex: str) -> bool:
    """A formula that states something (a relation), not a symbol or a value set in passing."""
    t = norm_tex(tex)
    return bool(RELATION_RE.search(t)) and not SETTING_RE.match(t)


# ----------------------------------------------------------------------------------------------------------
# Reading the original


def _is_row(line: str) -> bool:
    """A table row: a "|" outside the formulas (``$p(y=1|x)$`` alone is not one)."""
    return "|" in MATH_RE.sub("", line)


def _blocks(lines: list[str]):
    """(kind, text) pieces of a section body: code lines, table rows, list items, paragraphs."""
    i, para = 0, []

    def flush():
        if para:
            yield "para", " ".join(para)
            para.clear()

    while i < len(lines):
        line = re.sub(r"^\s*>\s?", "", lines[i]).rstrip()
        if line.startswith("```"):
            yield from flush()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                if lines[j].strip():
                    yield "code", lines[j].strip()
                j += 1
            i = j + 1
            continue
        if _is_row(line):
            yield from flush()
            if not re.fullmatch(r"[\s|:-]+", line):
                yield "row", line.strip()
        elif LIST_RE.match(line.strip()):
            yield from flush()
            yield "item", LIST_RE.sub("", line.strip(), count=1)
        elif not line.strip():
            yield from flush()
        else:
            para.append(line.strip())
        i += 1
    yield from flush()


def _units(kind: str, text: str) -> list[Unit]:
    units: list[Unit] = []
    for m in LINK_RE.finditer(text):
        units.append(Unit("link", m.group(0), m.group("url")))
    if kind == "code":  # code keeps its * and `: only spaces are folded
        return units + [Unit("code", text, code_key(text))]
    if kind == "row":
        units.append(Unit("row", text, row_key(text)))
    elif kind == "item":
        units.append(Unit("item", text, sentence_key(text)))
    else:
        units += [Unit("sentence", s, sentence_key(s)) for s in sentences(text)]
    for m in MATH_RE.finditer(text):  # every formula, not only those that state a relation
        tex = m.group("d") or m.group("i")
        units.append(Unit("formula", f"${tex.strip()}$", norm_tex(tex)))
    return [u for u in units if u.key]


def read_original(root: Path = ROOT) -> list[Section]:
    lines = (root / ORIGINAL).read_text(encoding="utf-8").splitlines()
    sections: list[Section] = []
    body: list[str] = []
    for k, line in enumerate([*lines, "# end"]):
        h = re.match(r"^(#{1,6})\s+(.*?)\s*$", line)
        if not h:
            body.append(line)
            continue
        if sections:
            sections[-1].units = [u for kind, text in _blocks(body) for u in _units(kind, text)]
        body = []
        if k < len(lines):
            title = h.group(2)
            sections.append(Section(title, len(h.group(1)), k + 1, SECTIONS.get(title), OMISSIONS.get(title)))
    return sections


# ----------------------------------------------------------------------------------------------------------
# Reading the notes


@dataclass
class Kept:
    """The original-text blocks of one note, and its errata."""

    note: str
    lines: list[tuple[int, str]]  # (line number, text) of the lines inside original blocks, outside fences
    code: list[tuple[int, str]]  # code lines inside original blocks
    errata: list[tangle.Erratum]
    formulas: list[tangle.Formula]
    problems: list[str]
    used: set[int] = field(default_factory=set)  # formulas (by index in maths()) already matched to an original one

    def sentences(self) -> list[tuple[int, str]]:
        """The sentences of the paragraphs and the list items, with their lines."""
        out = []
        for kind, line, text in self.pieces():
            if kind == "para":
                out += [(line, s) for s in sentences(text)]
            elif kind == "item":
                out.append((line, text))
        return out

    def pieces(self) -> list[tuple[str, int, str]]:
        """Paragraphs, list items and table rows (with the line they start on)."""
        out, para, start, prev = [], [], 0, -1
        for n, raw in self.lines:
            line = raw.strip()
            if para and (n != prev + 1 or not line or LIST_RE.match(line) or "|" in line):
                out.append(("para", start, " ".join(para)))
                para = []
            prev = n
            if not line or line.startswith(("!!!", "???", "<")):
                continue
            if _is_row(line):
                if not re.fullmatch(r"[\s|:-]+", line):
                    out.append(("row", n, line))
            elif LIST_RE.match(line):
                out.append(("item", n, LIST_RE.sub("", line, count=1)))
            else:
                if not para:
                    start = n
                para.append(line)
        if para:
            out.append(("para", start, " ".join(para)))
        return out

    def maths(self) -> list[tuple[int, str]]:
        """Every formula of the blocks (a display formula may span lines), normalised, with its first line."""
        text = "\n".join(t for _, t in self.lines)
        starts = list(itertools.accumulate((len(t) + 1 for _, t in self.lines[:-1]), initial=0))  # offset of each line
        return [(self.lines[bisect.bisect_right(starts, m.start()) - 1][0], norm_tex(m.group("d") or m.group("i")))
                for m in MATH_RE.finditer(text)]


def read_kept(note_path: str, root: Path = ROOT) -> Kept:
    note = tangle.read_note(root / note_path, root)
    tangle.scan_formulas(note)
    in_fence = note.fence_lines()
    lines, code, problems, inside, restored = [], [], [], None, None
    errata_lines = {k for e in note.errata for k in range(e.line - 1, e.end)}
    for k, line in enumerate(note.lines):
        if k in in_fence:
            if inside is not None and k not in {f.start - 1 for f in note.fences}:
                code.append((k + 1, line.strip()))
            continue
        text = line.strip()
        if text == ORIGINAL_OPEN:
            if inside is not None:
                problems.append(f"{note_path}:{k + 1}: 原文块不能嵌套(上一个从第 {inside} 行开始)")
            if restored is not None:
                problems.append(f"{note_path}:{k + 1}: 原文块不能写在复原块里(复原块从第 {restored} 行开始)")
            inside = k + 1
        elif text.startswith('<div class="restored"'):
            m = RESTORED_OPEN_RE.match(text)
            if inside is not None:
                problems.append(f"{note_path}:{k + 1}: 复原块不能写在原文块里(原文块从第 {inside} 行开始)")
            elif restored is not None:
                problems.append(f"{note_path}:{k + 1}: 复原块不能嵌套(上一个从第 {restored} 行开始)")
            if not m or not (m.group("source") or "").strip():
                problems.append(f'{note_path}:{k + 1}: 复原块要写明依据:<div class="restored" markdown data-source="…">')
            if inside is None:
                restored = k + 1
        elif text == ORIGINAL_CLOSE and inside is not None:
            inside = None
        elif text == ORIGINAL_CLOSE and restored is not None:
            restored = None
        elif inside is not None and k not in errata_lines:
            lines.append((k + 1, line))
    if inside is not None:
        problems.append(f"{note_path}:{inside}: 原文块没有以 </div> 结束")
    if restored is not None:
        problems.append(f"{note_path}:{restored}: 复原块没有以 </div> 结束")
    return Kept(note_path, lines, code, note.errata, note.formulas, problems)


# ----------------------------------------------------------------------------------------------------------
# Comparing


def quotes(e: tangle.Erratum) -> list[str]:
    """The verbatim quotes of an erratum's 原文: each 「…」, or the whole field when it has none."""
    text = e.fields.get("原文", "")
    return [m.group("q") for m in QUOTE_RE.finditer(text)] or [text]


def _in_errata(fragment: str, kept: Kept, normal=norm_text) -> list[str]:
    frag = normal(fragment)
    return [e.id for e in kept.errata if frag and any(frag in normal(q) for q in quotes(e))]


CONTEXT = 2  # characters around an edited span that an erratum's quote must share with the unit


def _overlap(a: str, b: str) -> int:
    """The longest run that two normalised texts share."""
    return difflib.SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size


def _states(e: tangle.Erratum, orig: str, span: str, replacement: str, keys) -> bool:
    """Erratum ``e`` states this change at this place: one of its quotes holds the edited ``span`` together with some
    of the unit ``orig`` around it (it quotes this sentence, not just the same word), and ``replacement`` (when it is
    more than punctuation) is in its 改正."""
    at_place = any(span in k(q) and _overlap(orig, k(q)) >= min(len(orig), len(span) + CONTEXT)
                   for q in quotes(e) for k in keys)
    if len(re.sub(r"[\W_]", "", replacement)) < 2:  # a deletion, or punctuation: the place is enough
        return at_place
    return at_place and any(replacement in k(e.fields.get("改正", "")) for k in keys)


def _diff_covered(orig: str, new: str, kept: Kept, key=None) -> tuple[list[str], list[str]]:
    """Errata covering each edit of ``orig`` into ``new`` (both normalised), and the edits no erratum covers."""
    ids, loose = [], []
    sm = difflib.SequenceMatcher(None, orig, new, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            continue
        span = orig[i1:i2]
        if len(span) < 2:  # an insertion or a one-character edit: quoted with a character of context
            span = orig[max(i1 - 1, 0):min(i2 + 1, len(orig))]
        keys = (key,) if key else (sentence_key, norm_text)
        replacement = new[j1:j2]
        found = {e.id: max(_overlap(orig, k(q)) for q in quotes(e) for k in keys) for e in kept.errata
                 if _states(e, orig, span, replacement, keys)}
        if found:  # the erratum that quotes most of this unit, not one that happens to share the words
            ids += [e for e, size in found.items() if size == max(found.values())]
        else:
            loose.append(f"「{orig[i1:i2] or '…'}」→「{new[j1:j2] or '…'}」")
    return sorted(set(ids)), loose


def _closest(u: Unit, kept: Kept, candidates: list[tuple[int, str]], key=None) -> bool:
    """The candidate most like the unit, if like enough: the unit is then *changed* (every edit quoted in an erratum)
    or *silent* (an edit no erratum quotes). False when no candidate is like enough."""
    ratio = lambda c: difflib.SequenceMatcher(None, u.key, c[1], autojunk=False).ratio()  # noqa: E731
    best = max(candidates, key=ratio, default=None)
    if best is None or ratio(best) < SIMILAR:
        return False
    ids, loose = _diff_covered(u.key, best[1], kept, key)
    u.where = f"{kept.note}:{best[0]}"
    if loose:
        u.status, u.detail = "silent", ";".join(loose)
    else:
        u.status, u.errata = "changed", ids
    return True


def _match_sentence(u: Unit, kept: Kept, cache: dict) -> None:
    if "sent" not in cache:
        single = [(n, s) for n, s in kept.sentences() if sentence_key(s)]
        # an edit may split a sentence in two (a full stop added, a formula set on its own line)
        cache["sent"] = [(n, sentence_key(s)) for n, s in single] + [
            (n, sentence_key(a + b)) for (n, a), (_, b) in zip(single, single[1:], strict=False)]
    for n, key in cache["sent"]:
        if u.key in key:
            u.status, u.where = "kept", f"{kept.note}:{n}"
            return
    if _closest(u, kept, cache["sent"]):
        return
    ids = _in_errata(u.text, kept, sentence_key) or _in_errata(u.text, kept)
    if ids:
        u.status, u.errata = "erratum", ids


def _match_row(u: Unit, kept: Kept) -> None:
    rows = [(n, row_key(t)) for kind, n, t in kept.pieces() if kind == "row"]
    cells = u.key.split("|")
    for n, key in rows:
        if key == u.key:
            u.status, u.where = "kept", f"{kept.note}:{n}"
            return
    # the same row with some cells corrected: every differing cell is quoted in an erratum
    for n, key in rows:
        other = key.split("|")
        if len(other) == len(cells) and other[0] == cells[0]:
            ids, loose = [], []
            orig_cells = row_cells(u.text)
            for raw, a, b in zip(orig_cells, cells, other, strict=True):
                if a != b:
                    found = _in_errata(raw, kept)
                    ids += found
                    if not found:
                        loose.append(f"「{raw}」")
            u.where = f"{kept.note}:{n}"
            if loose:
                u.status, u.detail = "silent", "单元格改动没有勘误:" + ";".join(loose)
            else:
                u.status, u.errata = "changed", sorted(set(ids))
            return
    ids = _in_errata(u.text, kept)
    if ids:
        u.status, u.errata = "erratum", ids


def _match_formula(u: Unit, kept: Kept) -> None:
    # a formula the original writes twice must be there twice: each match uses up one formula of the note, exact
    # matches first, then one that contains it (a formula the note set inside a longer one)
    maths = list(enumerate(kept.maths()))
    free = [(k, n, tex) for k, (n, tex) in maths if k not in kept.used]
    exact = [(k, n, tex) for k, n, tex in free if u.key == tex]
    inside = [(k, n, tex) for k, n, tex in free if u.key in tex and len(u.key) > 3]
    for k, n, tex in exact[:1] or inside[:1]:
        if tex == u.key:
            kept.used.add(k)
        u.status, u.where = "kept", f"{kept.note}:{n}"
        ids = [f for f in kept.formulas if u.key in norm_tex(f.latex)]
        if not ids and is_statement(u.key):  # a relation needs its ID (and so a test); a symbol does not
            u.status, u.detail = "silent", "公式在笔记里,但没有公式 ID(因而没有测试)"
        return
    for n, text in kept.code:
        if u.key == norm_tex(text):
            u.status, u.where = "kept", f"{kept.note}:{n}"
            return
    ids = _in_errata(u.text, kept, norm_tex)
    if ids:
        u.status, u.errata = "erratum", ids


def _match_simple(u: Unit, kept: Kept) -> None:
    if u.kind == "link":
        for n, t in kept.lines:
            if f"]({u.key})" in t:
                u.status, u.where = "kept", f"{kept.note}:{n}"
                return
    else:  # code line
        code = [(n, code_key(t)) for n, t in kept.code]
        for n, key in code:
            if key == u.key:
                u.status, u.where = "kept", f"{kept.note}:{n}"
                return
        if _closest(u, kept, code, code_key):
            return
    ids = _in_errata(u.text, kept)
    if ids:
        u.status, u.errata = "erratum", ids


def compare(root: Path = ROOT) -> tuple[list[Section], list[str]]:
    """Every section of the original with each unit's status; and the problems found in the notes' markup."""
    sections = read_original(root)
    kept_by_note: dict[str, Kept] = {}
    problems: list[str] = []
    for s in sections:
        if s.omitted:
            for u in s.units:
                u.status, u.detail = "omitted", s.omitted
            continue
        if s.note is None:
            for u in s.units:
                u.status = "pending"
            continue
        if s.note not in kept_by_note:
            kept_by_note[s.note] = read_kept(s.note, root)
            problems += kept_by_note[s.note].problems
        kept, cache = kept_by_note[s.note], {}
        for u in s.units:
            if u.kind in ("sentence", "item"):
                _match_sentence(u, kept, cache)
            elif u.kind == "row":
                _match_row(u, kept)
            elif u.kind == "formula":
                _match_formula(u, kept)
            else:
                _match_simple(u, kept)
    return sections, problems


# ----------------------------------------------------------------------------------------------------------
# Reporting


STATUS_NAMES = {"pending": "待写", "kept": "保留", "changed": "按勘误改动", "erratum": "引在勘误中", "omitted": "有意略去",
                "missing": "缺失", "silent": "未注明的改动"}
KIND_NAMES = {"sentence": "句子", "formula": "公式", "item": "列表项", "row": "表格行", "code": "代码行", "link": "链接"}


def report(sections: list[Section]) -> str:
    out = []
    for s in sections:
        head = f"{'#' * s.level} {s.title}"
        if s.omitted:
            out.append(f"{head}: 略去({s.omitted})")
        elif s.pending:
            out.append(f"{head}: 待写(尚无笔记), {s.total()} 个单元")
        else:
            out.append(f"{head} → {s.note}: 保留 {s.count('kept')}/{s.total()},按勘误改动 {s.count('changed')},"
                       f"引在勘误中 {s.count('erratum')}"
                       + (f"({', '.join(s.errata)})" if s.errata else "")
                       + (f",问题 {len(s.failures)}" if s.failures else ""))
            for u in s.failures:
                out.append(f"    {STATUS_NAMES[u.status]} {KIND_NAMES[u.kind]}:{u.text}"
                           + (f"  [{u.where}] {u.detail}" if u.where or u.detail else ""))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    sections, problems = compare(ROOT)
    print(report(sections))
    for p in problems:
        print(p, file=sys.stderr)
    pending = [s.title for s in sections if s.pending]
    print(f"\n待写的原文小节({len(pending)}):{'、'.join(pending)}")
    return 1 if problems or any(s.failures for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
