"""``python -m litnotes.changed``: the edit → test loop. Tangle the notes, then run only the tests bound to what changed
in ``notes/`` since the last commit, most specific first, and stop at the first failure.

What a changed note line binds, in the order the tests run:

1. the tests that claim a formula on the changed lines (``@pytest.mark.formula("id")``);
2. the test files that import a module whose code block changed;
3. the test files that import a module importing one of those.

Extra arguments go to pytest (``python -m litnotes.changed -k adam``); ``--list`` prints the plan and runs nothing.
The run is in one process (``-n 0``), so the order holds and the first failure is the most specific one.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from litnotes import tangle
from litnotes.markup import DOC_FORMULA_RE, formula_claims

RUN_FIRST = "SMLN_RUN_FIRST"  # the node IDs tests/conftest.py runs before the rest
HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.M)


@dataclass
class Plan:
    lines: dict[str, set[int]]  # note → changed line numbers (of the note as it is now)
    formulas: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)  # smln modules whose code changed
    importers: list[str] = field(default_factory=list)  # smln modules importing those
    tests: list[tuple[str, str]] = field(default_factory=list)  # (pytest node or file, why)


def changed_lines(root: Path) -> dict[str, set[int]]:
    """Lines of notes/ that differ from the last commit (untracked notes: every line)."""
    git = ["git", "-C", str(root)]
    diff = subprocess.run([*git, "diff", "-U0", "--no-color", "HEAD", "--", "notes"], capture_output=True, text=True,
                          check=True).stdout
    lines: dict[str, set[int]] = {}
    note = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            note = line[6:] if line.startswith("+++ b/") else None
        elif note and (m := HUNK_RE.match(line)):
            start, count = int(m.group(1)), int(m.group(2) or 1)
            lines.setdefault(note, set()).update(range(start, start + max(count, 1)))  # a deletion marks its place
    untracked = subprocess.run([*git, "ls-files", "--others", "--exclude-standard", "--", "notes"], capture_output=True,
                               text=True, check=True).stdout.split()
    for note in untracked:
        if note.endswith(".md"):
            lines[note] = set(range(1, len((root / note).read_text(encoding="utf-8").splitlines()) + 2))
    return {k: v for k, v in lines.items() if k.endswith(".md")}


def _imports(tree: ast.AST) -> set[str]:
    """The smln modules a file imports (``from smln import x``, ``from smln.x import …``, ``import smln.x``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "smln":
                found |= {a.name for a in node.names}
            elif node.module.startswith("smln."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("smln.")}
    return found


def _formula_claims(tree: ast.AST) -> dict[str, set[str]]:
    """Test function → the formula IDs its ``@pytest.mark.formula(...)`` claims."""
    claims = {}
    for node in tree.body if isinstance(tree, ast.Module) else []:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            ids = set(formula_claims(node.decorator_list))
            if ids:
                claims[node.name] = ids
    return claims




def _formulas_of_changed_code(fence, touched: set[int], known: set[str]) -> list[str]:
    """The formula IDs named in the docstrings of the top-level definitions (and their methods) a change falls in:
    ``公式(notes/02b-optimizers.md):[adam-v][]`` binds the code to the formula and so to the tests that claim it."""
    try:
        tree = ast.parse(fence.text)
    except SyntaxError:
        return []
    first = fence.start + 1  # the note line of the block's first code line
    ids: list[str] = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        if not touched & set(range(first + node.lineno - 1, first + node.end_lineno)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, (ast.FunctionDef, ast.ClassDef)):
                for fid in DOC_FORMULA_RE.findall(ast.get_docstring(inner) or ""):
                    if fid in known and fid not in ids:
                        ids.append(fid)
    return ids


def plan(root: Path, lines: dict[str, set[int]] | None = None) -> Plan:
    lines = changed_lines(root) if lines is None else lines
    p = Plan(lines)
    notes, _ = tangle.read_notes(root)
    all_ids = {fm.id for note in notes for fm in note.formulas}
    for note in notes:
        touched = lines.get(note.path, set())
        if not touched:
            continue
        for fm in note.formulas:
            span = range(fm.line, fm.line + len(fm.latex.splitlines()) + 4)  # the ID line, the $$ lines, the formula
            if touched & set(span):
                p.formulas.append(fm.id)
        known = {fm.id for fm in note.formulas}
        for fence in note.fences:
            title = fence.title or ""
            if title.startswith("smln/") and title.endswith(".py") and touched & set(range(fence.start,
                                                                                          fence.start + len(fence.lines) + 2)):
                name = title[len("smln/") : -3].replace("/", ".")
                if name not in p.modules:
                    p.modules.append(name)
                for fid in _formulas_of_changed_code(fence, touched, known | all_ids):
                    if fid not in p.formulas:
                        p.formulas.append(fid)
    package = {path.stem: _imports(ast.parse(path.read_text(encoding="utf-8"))) for path in (root / "smln").glob("*.py")}
    p.importers = sorted(m for m, deps in package.items() if deps & set(p.modules) and m not in p.modules)

    tests = sorted((root / "tests").glob("test_*.py"))
    parsed = {t: ast.parse(t.read_text(encoding="utf-8")) for t in tests}
    seen_files: set[str] = set()
    for t, tree in parsed.items():
        rel = t.relative_to(root).as_posix()
        for func, ids in _formula_claims(tree).items():
            if ids & set(p.formulas):
                p.tests.append((f"{rel}::{func}", "公式 " + "、".join(sorted(ids & set(p.formulas)))))
    note_ids = {fm.id for note in notes if note.path in lines for fm in note.formulas}

    def specificity(item):  # files whose tests claim the changed notes' formulas first
        claims = _formula_claims(item[1]).values()
        return -sum(len(ids & (set(p.formulas) | note_ids)) for ids in claims), len(_imports(item[1]))

    for group, why in ((p.modules, "导入 smln.{}"), (p.importers, "导入 smln.{}(它导入了改动的模块)")):
        for t, tree in sorted(parsed.items(), key=specificity):
            rel = t.relative_to(root).as_posix()
            hit = sorted(_imports(tree) & set(group))
            if hit and rel not in seen_files:
                seen_files.add(rel)
                p.tests.append((rel, why.format("、smln.".join(hit))))
    return p


def edited_code(root: Path, lines: dict[str, set[int]]) -> list[str]:
    """``notes/FILE.md:LINE → smln/FILE.py:LINE`` for each changed note line that is code of the package."""
    outputs, _ = tangle.generate(root)
    where = {src: (target, k) for target, out in outputs.items() for k, src in enumerate(out.origin, start=1) if src}
    found = []
    for note, changed in sorted(lines.items()):
        for line in sorted(changed):
            if (note, line) in where:
                target, k = where[(note, line)]
                code = outputs[target].text.splitlines()[k - 1].strip()
                found.append(f"{note}:{line} → {target}:{k}  {code[:60]}")
    return found


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m litnotes.changed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="只列出要运行的测试,不运行")
    args, pytest_args = parser.parse_known_args(argv)
    root = (root or tangle.ROOT).resolve()
    if not args.list and tangle.main([], root=root) != 0:
        return 1
    p = plan(root)
    where = ", ".join(f"{note}({len(ls)} 行)" for note, ls in sorted(p.lines.items())) or "无"
    print(f"改动的笔记:{where}", file=sys.stderr)
    print(f"公式:{'、'.join(p.formulas) or '无'};模块:{'、'.join(p.modules) or '无'};"
          f"导入它们的模块:{'、'.join(p.importers) or '无'}", file=sys.stderr)
    for node, why in p.tests:
        print(f"  {node}  ← {why}", file=sys.stderr)
    if not p.tests:
        print("没有与改动相关的测试(笔记自上次提交以来没有改动,或只改了文字)。", file=sys.stderr)
        return 0
    if args.list:
        return 0
    nodes = [n for n, _ in p.tests]
    first = [n for n in nodes if "::" in n]  # pytest merges a node into its file's order: tests/conftest.py moves these up
    edited = edited_code(root, p.lines)
    command = [sys.executable, "-m", "pytest", "-n", "0", "-x", "-p", "no:cacheprovider", *nodes, *pytest_args]
    env = {**os.environ, RUN_FIRST: ",".join(first), "SMLN_EDITED": ";".join(edited)}  # shown with each failure
    return subprocess.run(command, cwd=root, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
