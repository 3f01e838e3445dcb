"""The original notes are kept: every sentence, formula, list item, table row, code line and link of the original is
in the notes' original-text blocks, or quoted in an erratum, or a listed omission (``fidelity.py`` does the
comparison; these tests hold it to account)."""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

import pytest

from litnotes import fidelity, tangle
from tests.errata import ROOT, remarks
from tests.repo import copy_repo

# the seed's reflowed copy, byte for byte: the original is never edited
ORIGINAL_SHA256 = "871d76c9ee6ab261cf34333b35c9176b41b1d2d9a4cebd3fc0835adac710937f"
WRITTEN = ("notes/01-activations.md", "notes/02-gradient-descent.md", "notes/02b-optimizers.md", "notes/03-parameters.md",
           "notes/04-sequence-models.md", "notes/05-word-embeddings.md", "notes/06-translation.md",
           "notes/07-logistic-regression.md")


@functools.cache
def comparison():
    return fidelity.compare(ROOT)


def _sections():
    return [s for s in fidelity.read_original(ROOT) if s.note]


def test_the_original_is_untouched():
    data = (ROOT / fidelity.ORIGINAL).read_bytes()
    assert hashlib.sha256(data).hexdigest() == ORIGINAL_SHA256, f"{fidelity.ORIGINAL} was edited: it must stay the seed"
    outputs, errors = tangle.generate(ROOT)
    assert not errors and outputs
    assert all(n.startswith("notes/") for out in outputs.values() for n in out.notes)  # nothing is tangled from it


@pytest.mark.parametrize("title", [s.title for s in _sections()])
def test_section_is_kept(title):
    section = next(s for s in comparison()[0] if s.title == title)
    assert not section.failures, f"原文小节「{title}」(original/…:{section.line})→ {section.note}:\n" + "\n".join(
        f"  {fidelity.STATUS_NAMES[u.status]} {fidelity.KIND_NAMES[u.kind]}:「{u.text}」"
        + (f"  [{u.where}] {u.detail}" if u.where or u.detail else "") for u in section.failures)


def test_original_blocks_are_well_formed():
    assert not comparison()[1], "\n".join(comparison()[1])


def test_written_chapters_keep_95_percent_of_their_sentences():
    for note in WRITTEN:
        sections = [s for s in comparison()[0] if s.note == note]
        units = [u for s in sections for u in s.units if u.kind in ("sentence", "item")]
        kept = [u for u in units if u.status in ("kept", "changed")]
        assert len(kept) >= 0.95 * len(units), (
            f"{note}: {len(kept)}/{len(units)} of the original's sentences kept; not kept: "
            + "; ".join(f"「{u.text}」" for u in units if u not in kept))
        assert all(u.status == "erratum" for u in units if u not in kept)  # the rest are quoted in errata


def test_every_section_is_carried_omitted_or_pending():
    sections, _ = comparison()
    for s in sections:
        assert (s.note is not None) + (s.omitted is not None) <= 1, s.title
    assert set(fidelity.SECTIONS) <= {s.title for s in sections}, "SECTIONS names a heading the original lacks"
    assert set(fidelity.OMISSIONS) <= {s.title for s in sections}, "OMISSIONS names a heading the original lacks"
    # every section of the original is carried by a note or deliberately omitted: the pending list has ended empty
    assert [s.title for s in sections if s.pending] == []


def test_errata_quote_the_original_verbatim():
    original = (ROOT / fidelity.ORIGINAL).read_text(encoding="utf-8")
    original = re.sub(r"\s+", " ", re.sub(r"^\s*>\s?", "", original, flags=re.M))  # without the quote markers
    for e in remarks():
        quoted = [m.group("q") for m in fidelity.QUOTE_RE.finditer(e.fields.get("原文", ""))]
        assert quoted, f"{e.note}:{e.line}: erratum {e.id}: 原文 must quote the original in 「…」"
        for q in quoted:
            q = re.sub(r"\s+", " ", q.strip("`"))
            assert q in original or q.strip("$") in original, f"{e.note}:{e.line}: {e.id} quotes 「{q}」, not in the original"


def test_the_marking_is_explained_on_the_home_page():
    home = (ROOT / "notes/index.md").read_text(encoding="utf-8")
    assert fidelity.ORIGINAL_OPEN in home and "原文对照" in home
    assert '<div class="restored" markdown data-source=' in home and '\n!!! ours "' in home


# ------------------------------------------------------------------------------------------------------------
# The comparison itself catches what it must: a dropped sentence, a silent edit, a formula without its ID


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return copy_repo(tmp_path)


def _edit(root: Path, note: str, old: str, new: str) -> None:
    path = root / note
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _failures(root: Path, title: str) -> list[fidelity.Unit]:
    return next(s for s in fidelity.compare(root)[0] if s.title == title).failures


def test_a_dropped_sentence_is_missing(copy):
    _edit(copy, "notes/02b-optimizers.md", "随机梯度下降时,批次的样本数大小为1。", "")
    (u,) = _failures(copy, "随机梯度下降")
    assert (u.status, u.kind, u.text) == ("missing", "sentence", "随机梯度下降时,批次的样本数大小为1。")


def test_a_silent_edit_is_reported_with_the_change(copy):
    _edit(copy, "notes/02-gradient-descent.md", "但需要注意的是,梯度下降法有时候会遇到局部最优解问题。",
          "但需要注意的是,梯度下降法有时候会遇到鞍点问题。")
    (u,) = _failures(copy, "梯度下降")
    assert u.status == "silent" and "局部最优解" in u.detail and "鞍点" in u.detail


def test_an_edit_stated_by_an_erratum_is_allowed(copy):
    """An erratum that quotes the edited words in this sentence (原文) and gives what replaced them (改正) covers
    the edit; quoting the old words without giving the new ones does not."""
    _edit(copy, "notes/02-gradient-descent.md", "但需要注意的是,梯度下降法有时候会遇到局部最优解问题。",
          "但需要注意的是,梯度下降法有时候会遇到鞍点问题。")
    _edit(copy, "notes/02-gradient-descent.md", "**原文:** 「目标函数定位为」",
          "**原文:** 「目标函数定位为」;「会遇到局部最优解问题」")
    assert [u.status for u in _failures(copy, "梯度下降")] == ["silent"]  # 鞍点 is in no 改正
    _edit(copy, "notes/02-gradient-descent.md", '**改正:** "定位为"改为"定义为";', '**改正:** "定位为"改为"定义为";"鞍点问题";')
    assert not _failures(copy, "梯度下降")


def test_text_outside_the_original_blocks_does_not_count(copy):
    sentence = "随机梯度下降时,批次的样本数大小为1。"
    _edit(copy, "notes/02b-optimizers.md", f"<div class=\"original\" markdown>\n\n{sentence}\n\n</div>", sentence)
    assert [u.status for u in _failures(copy, "随机梯度下降")] == ["missing"]


def test_a_formula_without_its_id_is_reported(copy):
    formula = "$V_{db}=\\beta V_{db}+(1-\\beta)db$"
    _edit(copy, "notes/02b-optimizers.md", f"{formula} [](){{#mom-vb}}", formula)
    (u,) = _failures(copy, "Momentum")
    assert u.kind == "formula" and "ID" in u.detail


def test_an_unclosed_block_is_a_problem(copy):
    sentence = "随机梯度下降时,批次的样本数大小为1。"
    _edit(copy, "notes/02b-optimizers.md", f"{sentence}\n\n</div>", f"{sentence}\n")
    problems = fidelity.compare(copy)[1]
    assert any("没有以 </div> 结束" in p or "不能嵌套" in p for p in problems)


def test_cli_reports_and_exits_zero_when_kept():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "fidelity.py"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "# 激活函数 → notes/01-activations.md" in out.stdout and "待写的原文小节" in out.stdout


@pytest.mark.parametrize(("old", "new"), [
    ("$\\sqrt { \\frac{1 }{ n^{l-1}} }$", "$\\sqrt { \\frac{3 }{ n^{l-1}} }$"),
    ("$\\sqrt { \\frac{ 2 }{ n^{l-1} + n^l} }$", "$\\sqrt { 5 / n^l }$"),
])
def test_a_changed_formula_that_states_no_relation_fails(copy, old, new):
    """Every formula of the original is compared, not only those with = or ≤: changing the Xavier scale in a copy
    makes the comparison fail (it passed before; tests/test_fidelity.py keeps it failing)."""
    _edit(copy, "notes/03-parameters.md", old, new)
    section = next(s for s in fidelity.compare(copy)[0] if any(u.text == old for u in s.units))
    assert [u.text for u in section.failures if u.kind == "formula"] == [old]


def test_an_erratum_covers_only_the_change_it_states_at_its_place(copy):
    """Swapping 上下文 and 目标单词 reverses two sentences' meaning; E30/E31 quote both words, but elsewhere and for
    other changes: the swap is a silent edit (it passed before, credited to them)."""
    _edit(copy, "notes/05-word-embeddings.md", "该模型的总体思想是在给定上下文的情况下预测目标单词。",
          "该模型的总体思想是在给定目标单词的情况下预测上下文。")
    _edit(copy, "notes/05-word-embeddings.md", "(即第二个单词是否为目标单词)", "(即第二个单词是否为上下文)")
    failures = [u for s in fidelity.compare(copy)[0] for u in s.failures]
    assert sorted(u.status for u in failures) == ["silent", "silent"]
    assert any("上下文" in u.detail and "目标单词" in u.detail for u in failures)


# ------------------------------------------------------------------------------------------------------------
# What is ours looks like ours: restored blocks name their source, and the mostly-ours chapters say so per section

MOSTLY_OURS = ("notes/04-sequence-models.md", "notes/05-word-embeddings.md", "notes/06-translation.md")


def _restored_opens(note: str, root: Path = ROOT) -> list[int]:
    lines = (root / note).read_text(encoding="utf-8").splitlines()
    return [k for k, line in enumerate(lines) if line.startswith('<div class="restored"')]


def test_a_restored_block_without_its_source_is_a_problem(copy):
    note = "notes/05-word-embeddings.md"
    k = _restored_opens(note, copy)[0]
    path = copy / note
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[k] = '<div class="restored" markdown>\n'
    path.write_text("".join(lines), encoding="utf-8")
    problems = fidelity.compare(copy)[1]
    assert [p for p in problems if p.startswith(f"{note}:{k + 1}:") and "依据" in p]


def test_a_restored_block_inside_an_original_block_is_a_problem(copy):
    note = "notes/02b-optimizers.md"
    sentence = "随机梯度下降时,批次的样本数大小为1。"
    _edit(copy, note, f"{sentence}\n", f'{sentence}\n\n<div class="restored" markdown data-source="某处">\n\n公式\n\n</div>\n')
    problems = fidelity.compare(copy)[1]
    assert any(p.startswith(note) and "原文块里" in p for p in problems)


def test_the_marked_kinds_are_in_the_notes():
    """Restored blocks exist where the original lost its images, each with a non-empty source (the comparison
    reports one without a source or inside an original block, see test_original_blocks_are_well_formed)."""
    for note in ("notes/02-gradient-descent.md", "notes/02b-optimizers.md", "notes/03-parameters.md",
                 "notes/04-sequence-models.md", "notes/05-word-embeddings.md", "notes/07-logistic-regression.md"):
        opens = _restored_opens(note)
        assert opens, note
        text = (ROOT / note).read_text(encoding="utf-8").splitlines()
        for k in opens:
            m = fidelity.RESTORED_OPEN_RE.match(text[k])
            assert m and m.group("source").strip(), f"{note}:{k + 1}"


@pytest.mark.parametrize("note", MOSTLY_OURS)
def test_every_section_of_a_mostly_ours_chapter_says_what_the_original_kept(note):
    from litnotes.markup import HEADING_RE, OURS_RE

    parsed = tangle.read_note(ROOT / note, ROOT)
    in_fence = parsed.fence_lines()
    lines = parsed.lines
    missing = []
    for k, line in enumerate(lines):
        m = HEADING_RE.match(line)
        if k in in_fence or not m or len(m.group("hashes")) == 1:
            continue
        following = next((x for x in lines[k + 1:] if x.strip()), "")
        if not OURS_RE.match(following):
            missing.append(f"{note}:{k + 1}: {line}")
    assert not missing, "\n".join(missing)
