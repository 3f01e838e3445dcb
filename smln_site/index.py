"""What the site knows about each formula ID: its note and line, the tests that name it, the API objects whose
docstrings link to it, and the errata whose proving test names it. Read from the repository, no MkDocs needed."""

from __future__ import annotations

import ast
import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from litnotes import tangle
from litnotes.markup import DOC_FORMULA_RE, formula_claims

ERRATA_TEST_RE = re.compile(r"`(?P<file>tests/[\w/]+\.py)::(?P<test>\w+)`")


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
    formulas: dict = field(default_factory=dict)  # formula ID → tangle.Formula
    tests: dict[str, list[TestRef]] = field(default_factory=lambda: defaultdict(list))
    api: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # formula → smln.mod.Object
    errata: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # formula → E4, …


def _tests(root: Path) -> tuple[dict[str, list[TestRef]], dict[str, list[str]]]:
    """Formula → tests naming it; and test label → formula IDs (for errata)."""
    by_formula: dict[str, list[TestRef]] = defaultdict(list)
    by_test: dict[str, list[str]] = {}
    for path in sorted((root / "tests").glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()  # once per file: a test's source is a slice of it (top-level defs, no indent)
        rel = path.relative_to(root).as_posix()
        for node in ast.parse(text).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            ids = formula_claims(node.decorator_list)
            by_test[f"{rel}::{node.name}"] = ids
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])  # the decorators are shown too
            ref = TestRef(rel, node.name, node.lineno, "\n".join(lines[first - 1:node.end_lineno]))
            for fid in ids:
                by_formula[fid].append(ref)
    return by_formula, by_test


def _api(root: Path) -> dict[str, list[str]]:
    """Formula → the smln objects whose docstrings link to it."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((root / "smln").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                for fid in DOC_FORMULA_RE.findall(ast.get_docstring(node) or ""):
                    if f"{module}.{node.name}" not in found[fid]:
                        found[fid].append(f"{module}.{node.name}")
    return found


def _errata(notes, by_test: dict[str, list[str]]) -> dict[str, list[str]]:
    """Formula → the errata whose proving test names that formula."""
    found: dict[str, list[str]] = defaultdict(list)
    for e in (e for note in notes for e in note.errata):
        test = ERRATA_TEST_RE.search(e.fields.get("检验", ""))
        for fid in by_test.get(f"{test.group('file')}::{test.group('test')}", []) if test else []:
            found[fid].append(e.id)
    return found


def _stamp(root: Path) -> tuple:
    """Changes whenever a file the index is read from changes (so ``mkdocs serve`` sees edited tests)."""
    files = [*(root / "notes").rglob("*.md"), *(root / "tests").glob("test_*.py"), *(root / "smln").rglob("*.py")]
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in files if p.is_file()))


def build_index(root: Path) -> Index:
    root = Path(root).resolve()
    if not (root / "notes").is_dir() or not (root / "tests").is_dir():
        raise ValueError(f"smln_site: {root} 不是 smln 仓库的根目录(没有 notes/ 与 tests/):在仓库根目录运行 mkdocs,"
                         f"或在 mkdocs.yml 里给 smln_site.badges 设置 root")
    return _cached(root, _stamp(root))


@functools.lru_cache(maxsize=4)
def _cached(root: Path, _stamp: tuple) -> Index:
    notes, errors = tangle.read_notes(root)
    if errors:
        raise ValueError("笔记有错误:\n" + "\n".join(map(str, errors)))
    index = Index()
    index.formulas = {fm.id: fm for note in notes for fm in note.formulas}
    index.tests, by_test = _tests(root)
    index.api = _api(root)
    index.errata = _errata(notes, by_test)
    return index
