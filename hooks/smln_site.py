"""MkDocs hooks for the smln site.

* ``on_pre_build``: run ``tangle.py`` (so ``mkdocs serve`` re-tangles when a note changes; tangling writes only
  what changed, so this cannot loop) and forget the imported ``smln`` modules, so the figures drawn during the
  build use the code just tangled.
* ``on_files``: add the generated page ``formulas.md`` (公式与测试): every formula with its note, its LaTeX,
  the API objects that implement it and the source of every test that verifies it.
* ``on_page_markdown``: turn each formula ID ``[](){#id}`` into an anchor with small links to its tests, its API
  object and its errata remark; put an anchor before every errata admonition.
"""

from __future__ import annotations

import ast
import contextlib
import html
import io
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File
from mkdocs.utils import get_relative_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import fidelity  # noqa: E402
import tangle  # noqa: E402  (the repository root is on sys.path only now)

FORMULAS_PAGE = "formulas.md"
ORIGINAL_PAGE = "original.md"
MARKER_RE = re.compile(r"\[\]\(\)\{#(?P<id>[a-z][a-z0-9-]*)\}")
ERRATA_TEST_RE = re.compile(r"`(?P<file>tests/[\w/]+\.py)::(?P<test>\w+)`")
DOC_LINK_RE = re.compile(r"\]\((?:\.\./)*[\w./-]*\.md#(?P<id>[a-z][a-z0-9-]*)\)")
KIND_NAMES = {"display": "行间公式", "inline": "行内公式", "code": "伪代码", "table": "数值表", "example": "数值例子"}


@dataclass
class TestRef:
    file: str
    name: str
    line: int
    source: str

    @property
    def label(self) -> str:
        return f"{self.file}::{self.name}"


@dataclass
class Index:
    formulas: dict[str, tangle.Formula] = field(default_factory=dict)
    tests: dict[str, list[TestRef]] = field(default_factory=lambda: defaultdict(list))
    api: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # formula → smln.mod.Object
    errata: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # formula → E4, …


INDEX = Index()


# ------------------------------------------------------------------------------------------------------------
# Building the index


def _formula_ids_of(decorators) -> list[str]:
    ids = []
    for dec in decorators:
        if (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "formula"
                and ast.unparse(dec.func.value) == "pytest.mark"):
            ids += [a.value for a in dec.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return ids


def _tests() -> tuple[dict[str, list[TestRef]], dict[str, list[str]]]:
    """Formula → tests naming it; and test label → formula IDs (for errata)."""
    by_formula: dict[str, list[TestRef]] = defaultdict(list)
    by_test: dict[str, list[str]] = {}
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.parse(text).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            rel = path.relative_to(ROOT).as_posix()
            ids = _formula_ids_of(node.decorator_list)
            by_test[f"{rel}::{node.name}"] = ids
            ref = TestRef(rel, node.name, node.lineno, ast.get_source_segment(text, node, padded=True) or "")
            if node.decorator_list:  # include the decorators in the shown source
                first = min(d.lineno for d in node.decorator_list)
                ref.source = "\n".join(text.splitlines()[first - 1:node.end_lineno])
            for fid in ids:
                by_formula[fid].append(ref)
    return by_formula, by_test


def _api() -> dict[str, list[str]]:
    """Formula → the smln objects whose docstrings link to it."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "smln").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                for fid in DOC_LINK_RE.findall(ast.get_docstring(node) or ""):
                    if f"{module}.{node.name}" not in found[fid]:
                        found[fid].append(f"{module}.{node.name}")
    return found


def _errata(notes: list[tangle.Note], by_test: dict[str, list[str]]) -> dict[str, list[str]]:
    """Formula → the errata whose proving test names that formula."""
    found: dict[str, list[str]] = defaultdict(list)
    for e in (e for note in notes for e in note.errata):
        test = ERRATA_TEST_RE.search(e.fields.get("检验", ""))
        for fid in by_test.get(f"{test.group('file')}::{test.group('test')}", []) if test else []:
            found[fid].append(e.id)
    return found


def build_index() -> Index:
    notes, errors = tangle.read_notes(ROOT)
    if errors:
        raise PluginError("笔记有错误:\n" + "\n".join(map(str, errors)))
    index = Index()
    index.formulas = {fm.id: fm for note in notes for fm in note.formulas}
    index.tests, by_test = _tests()
    index.api = _api()
    index.errata = _errata(notes, by_test)
    return index


# ------------------------------------------------------------------------------------------------------------
# Hooks


def on_pre_build(config) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = tangle.main([], root=ROOT)
    if code != 0:
        raise PluginError(f"tangle.py 拒绝生成 smln/:\n{err.getvalue()}")
    for name in [m for m in sys.modules if m == "smln" or m.startswith("smln.")]:
        del sys.modules[name]
    global INDEX
    INDEX = build_index()


def on_files(files, config):
    files.append(File.generated(config, FORMULAS_PAGE, content=formulas_page(INDEX)))
    files.append(File.generated(config, ORIGINAL_PAGE, content=original_page()))
    return files


def _api_url(obj: str) -> str:
    module, _, _name = obj.rpartition(".")
    return f"api/{module.split('.', 1)[1].replace('.', '/')}/#{obj}"


def badge(fid: str, page_url: str, block: bool) -> str:
    """The anchor and small links written in place of a formula ID."""
    rel = lambda url: get_relative_url(url, page_url)  # noqa: E731
    tests = INDEX.tests.get(fid, [])
    parts = [f'<a class="formula-id" href="#{fid}" title="公式 {fid} 的固定链接">{fid}</a>']
    parts.append(f'<a class="formula-tests" href="{rel(f"formulas/#{fid}")}" title="检验这个公式的测试">'
                 f'✓ {len(tests)} 个测试</a>')
    for obj in INDEX.api.get(fid, []):
        parts.append(f'<a class="formula-api" href="{rel(_api_url(obj))}" title="实现这个公式的代码">'
                     f'<code>{html.escape(obj.rsplit(".", 1)[1])}</code></a>')
    for eid in INDEX.errata.get(fid, []):
        note = INDEX.formulas[fid].note.removeprefix("notes/").removesuffix(".md")
        href = f"#errata-{eid.lower()}" if page_url.rstrip("/").endswith(note) else rel(f"{note}/#errata-{eid.lower()}")
        parts.append(f'<a class="formula-errata" href="{href}" title="这个公式改正过原始笔记">勘误 {eid}</a>')
    tag = "div" if block else "span"
    return f'<{tag} class="formula-ref" id="{fid}">{"".join(parts)}</{tag}>'


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri in (FORMULAS_PAGE, ORIGINAL_PAGE):
        return markdown
    note = tangle.parse_note(markdown, f"notes/{page.file.src_uri}")
    lines, in_fence = note.lines, note.fence_lines()
    anchors = {e.line - 1: e for e in note.errata}
    out = []
    for k, line in enumerate(lines):
        if k in anchors:  # an anchor to link to, just before each errata admonition
            indent = tangle.ERRATUM_HEAD_RE.match(line).group("indent")
            out += [f'{indent}<a id="errata-{anchors[k].id.lower()}"></a>', ""]
        if k not in in_fence:
            masked = tangle.CODE_SPAN_RE.sub(lambda m: "\0" * len(m.group(0)), line)
            if MARKER_RE.fullmatch(masked.strip()):
                line = badge(MARKER_RE.search(masked).group("id"), page.url, block=True)
            else:
                for m in reversed(list(MARKER_RE.finditer(masked))):
                    line = line[:m.start()] + badge(m.group("id"), page.url, block=False) + line[m.end():]
        out.append(line)
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------------------
# The generated page


def formulas_page(index: Index) -> str:
    by_note: dict[str, list[tangle.Formula]] = defaultdict(list)
    for fm in index.formulas.values():
        by_note[fm.note].append(fm)
    tested = sum(1 for fid in index.formulas if index.tests.get(fid))
    lines = [
        "# 公式与测试",
        "",
        f"笔记中共有 **{len(index.formulas)}** 个带 ID 的公式,其中 **{tested}** 个有测试检验"
        f"(`tests/test_formula_coverage.py` 要求全部都有)。每个公式下面列出实现它的代码和检验它的测试;"
        "展开测试可以看到它的源代码。测试的标准答案独立于实现:能解析的公式由 SymPy 从笔记的 LaTeX 直接读出,"
        "其余的在测试中用 SymPy 手工构造,或用闭式解、穷举、中心差分检验。",
        "",
    ]
    for note, fms in by_note.items():
        doc = note.removeprefix("notes/")
        title = next((ln[2:].strip() for ln in (ROOT / note).read_text(encoding="utf-8").splitlines()
                      if ln.startswith("# ")), doc)
        lines += [f"## {title}", ""]
        for fm in fms:
            lines += [f"### {fm.id} {{ #{fm.id} }}", ""]
            meta = [f"[{doc}:{fm.line}]({doc}#{fm.id})", KIND_NAMES.get(fm.kind, fm.kind)]
            meta += [f"[`{obj}`][{obj}]" for obj in index.api.get(fm.id, [])]
            meta += [f"[勘误 {e}]({doc}#errata-{e.lower()})" for e in index.errata.get(fm.id, [])]
            lines += [" · ".join(meta), ""]
            if fm.kind in ("display", "inline"):
                lines += ["$$", fm.latex, "$$", ""]
            else:
                lang = {"example": "pycon", "table": "markdown"}.get(fm.kind, "text")
                lines += [f"```{lang}", fm.latex, "```", ""]
            for ref in index.tests.get(fm.id, []):
                lines += [f'??? success "`{ref.label}`"', "", "    ```python"]
                lines += [f"    {ln}" if ln else "" for ln in ref.source.splitlines()]
                lines += ["    ```", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------------
# 原文对照: the original, section by section, against the notes (from the same comparison as tests/test_fidelity.py)


def _heading_above(note: str, line: int) -> str | None:
    """The anchor of the heading a note line sits under."""
    from pymdownx.slugs import slugify

    lines = (ROOT / note).read_text(encoding="utf-8").splitlines()[:line]
    for text in reversed(lines):
        h = tangle.HEADING_RE.match(text)
        if h and h.group("text") and len(h.group("hashes")) > 1:
            return slugify(case="lower")(h.group("text").strip(), "-")
    return None


def original_page() -> str:
    sections, problems = fidelity.compare(ROOT)
    if problems:
        raise PluginError("原文块的标记有错误:\n" + "\n".join(problems))
    carried = [s for s in sections if s.note]
    units = [u for s in carried for u in s.units if u.kind in ("sentence", "item")]
    kept = sum(1 for u in units if u.status in ("kept", "changed"))
    pending = [s for s in sections if s.pending]
    lines = [
        "# 原文对照",
        "",
        "本项目保留原始笔记(仓库里的 `original/SuperMachineLearningNotes.md`,一字未改):每一节原文都在对应的笔记里,"
        "放在左侧带竖线的**原文块**中;原文的错误逐条改正,每处改动都是一条[勘误](errata.md)。"
        "本页由 `fidelity.py` 在构建网站时生成,与测试 `tests/test_fidelity.py` 做的是同一个比较:"
        "把原文的每一节拆成句子、公式、列表项、表格行、代码行和链接,逐个在笔记的原文块里查找。",
        "",
        f"已写成笔记的 {len(carried)} 个原文小节共有 {len(units)} 个句子和列表项,其中 **{kept}** 个保留在笔记中"
        f"({kept / max(len(units), 1):.0%}),其余的引在勘误里;还有 **{len(pending)}** 个原文小节待写。",
        "",
        "| 原文小节 | 在笔记中 | 保留 | 按勘误改动 | 引在勘误中 | 公式 | 勘误 |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for s in sections:
        title = s.title.replace("|", "\\|")
        if s.omitted:
            lines.append(f"| {title} | 略去:{s.omitted} | | | | | |")
            continue
        if s.pending:
            lines.append(f"| {title} | *待写* | | | | {s.total('formula')} | |")
            continue
        doc = s.note.removeprefix("notes/")
        where = next((u.where for u in s.units if u.where), "")
        anchor = _heading_above(s.note, int(where.rsplit(":", 1)[1])) if where else None
        link = f"[{doc}]({doc}#{anchor})" if anchor else f"[{doc}]({doc})"
        formulas = f"{s.count('kept', 'changed', kind='formula')}/{s.total('formula')}"
        errata = "、".join(f"[{e}]({doc}#errata-{e.lower()})" for e in s.errata)
        lines.append(f"| {title} | {link} | {s.count('kept')}/{s.total()} | {s.count('changed')} | "
                     f"{s.count('erratum')} | {formulas} | {errata} |")
    lines += ["", "「保留」与「按勘误改动」数的是原文的单元(句子、公式、列表项、表格行、代码行、链接);"
              "「公式」一栏是带关系式(=、:=、≤ 等)的公式中保留下来的个数,每个都有公式 ID 和测试。"
              "「待写」的小节还没有笔记,随着章节写成,这个列表会变短,最后为空。", ""]
    if pending:
        lines += ["## 待写的原文小节", "", "、".join(s.title for s in pending), ""]
    lines += ["## 原文与笔记中的位置", ""]
    for s in carried:
        lines += [f'??? quote "{s.title}"', ""]
        for u in s.units:
            where = f" — `{u.where}`" if u.where else ""
            mark = {"kept": "✓", "changed": "✎", "erratum": "✗"}.get(u.status, "?")
            errata = f"({'、'.join(u.errata)})" if u.errata else ""
            lines.append(f"    - {mark} {fidelity.KIND_NAMES[u.kind]}:`{u.text.replace('`', '')}`{where}{errata}")
        lines.append("")
    return "\n".join(lines)
