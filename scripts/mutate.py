#!/usr/bin/env python3
"""Mutation testing of the generated package: does the suite notice when the code is subtly wrong?

Each mutant is one small change to one module of ``smln/`` — an operator swapped (``+``/``-``, ``*``/``/``,
``<``/``<=``, ``and``/``or``), a ``not`` dropped, a number nudged (a default such as ``eps=1e-8``, a constant such
as ``0.5``), ``True``/``False`` flipped, a ``return x`` turned into ``return None`` — written into a copy of the
repository, where the module's tests run against it. A mutant the tests fail on is *killed*; one they pass on has
*survived*, and is either a missing test or an equivalent change (which the report must argue).

    python scripts/mutate.py                 # every module, 2 workers
    python scripts/mutate.py --module optim  # one module
    python scripts/mutate.py --list          # the mutants, without running them
    python scripts/mutate.py --json out.json

Only the tests that run the mutated line are run against a mutant: one coverage run of the suite (per-test
contexts, ``pytest-cov``) says which tests those are. A mutant on a line no test runs survives without a run.
The tests run fastest first (their times come from the same coverage run) and stop at the first failure, so a
killed mutant costs seconds. The copy's ``smln/`` no longer matches its notes, so the runs set ``SMLN_MUTANT=1``,
which tells ``tests/conftest.py`` to skip its stale-code check; nothing else reads it. Docstrings, messages and the
figures' module ``plotting.py`` are not mutated.
"""

from __future__ import annotations

import argparse
import ast
import copy
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.repo import FILES as REPO_FILES  # noqa: E402
from tests.repo import FOLDERS as REPO_FOLDERS  # noqa: E402

SKIP = {"plotting.py"}  # draws figures; what it draws is looked at, not asserted
BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
          ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv}
CMPOPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
          ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}


@dataclass
class Mutant:
    module: str
    line: int
    change: str
    status: str = "not run"  # killed | survived | error

    @property
    def label(self) -> str:
        return f"smln/{self.module}.py:{self.line}: {self.change}"


def _docstrings(tree: ast.Module) -> set[ast.AST]:
    """The string constants that are docstrings (of the module, its classes and functions)."""
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            found.add(body[0].value)
    return found


def _in_message(node: ast.AST, parents: dict) -> bool:
    """Inside an f-string or the arguments of a raise: the wording of an error, not its logic."""
    p = parents.get(node)
    while p is not None:
        if isinstance(p, (ast.JoinedStr, ast.Raise)):
            return True
        p = parents.get(p)
    return False


def mutations(tree: ast.Module):
    """(node path, description, apply) for every mutation of a module: apply(copy_of_node) → mutated node."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if _in_message(node, parents):
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
            new = BINOPS[type(node.op)]
            yield node, f"{type(node.op).__name__} → {new.__name__}", lambda n, new=new: setattr(n, "op", new())
        elif isinstance(node, ast.AugAssign) and type(node.op) in BINOPS:
            new = BINOPS[type(node.op)]
            yield node, f"{type(node.op).__name__}= → {new.__name__}=", lambda n, new=new: setattr(n, "op", new())
        elif isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in CMPOPS:
                    new = CMPOPS[type(op)]

                    def swap(n, k=k, new=new):
                        n.ops[k] = new()
                    yield node, f"{type(op).__name__} → {new.__name__}", swap
        elif isinstance(node, ast.BoolOp):
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            yield node, f"{type(node.op).__name__} → {new.__name__}", lambda n, new=new: setattr(n, "op", new())
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
            yield node, f"drop {type(node.op).__name__}", "unwrap"
        elif isinstance(node, ast.Constant) and node not in docstrings:
            v = node.value
            if isinstance(v, bool):
                yield node, f"{v} → {not v}", lambda n: setattr(n, "value", not n.value)
            elif isinstance(v, int):
                yield node, f"{v} → {v + 1}", lambda n: setattr(n, "value", n.value + 1)
            elif isinstance(v, float):
                new = v * 2 if v else 1.0
                yield node, f"{v!r} → {new!r}", lambda n, new=new: setattr(n, "value", new)
        elif isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            yield node, "return … → return None", lambda n: setattr(n, "value", None)


def mutants_of(path: Path) -> list[tuple[Mutant, str]]:
    """Every mutant of one module, with its source."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    position = {id(n): k for k, n in enumerate(ast.walk(tree))}  # ast.walk visits a deep copy in the same order
    found = []
    for node, change, apply in list(mutations(tree)):
        mutated = copy.deepcopy(tree)
        target = next(itertools.islice(ast.walk(mutated), position[id(node)], None))
        if apply == "unwrap":
            parents = {c: p for p in ast.walk(mutated) for c in ast.iter_child_nodes(p)}
            parent = parents[target]
            for field, value in ast.iter_fields(parent):
                if value is target:
                    setattr(parent, field, target.operand)
                elif isinstance(value, list) and target in value:
                    value[value.index(target)] = target.operand
        else:
            apply(target)
        ast.fix_missing_locations(mutated)
        try:
            code = ast.unparse(mutated)
            compile(code, str(path), "exec")
        except (SyntaxError, ValueError):
            continue
        found.append((Mutant(path.stem, node.lineno, change), code))
    return found


# what the tests' own copies hold (tests/repo.py), plus the scripts and benchmarks some tests run
COPIED = ((*REPO_FOLDERS, "scripts", "benchmarks"), tuple(f for f in REPO_FILES if "/" not in f))


def snapshot(src: Path, dst: Path) -> Path:
    """What the tests need, copied once: later edits of the working tree do not leak into the runs."""
    for name in COPIED[0]:
        shutil.copytree(src / name, dst / name, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    for name in COPIED[1]:
        shutil.copy(src / name, dst / name)
    return dst


DURATION = re.compile(r"^([0-9.]+)s (?:setup|call|teardown)\s+(\S.*)$", re.M)


def tests_by_line(source: Path) -> tuple[dict[tuple[str, int], list[str]], dict[str, float]]:
    """(module, line) → the test node IDs that run that line of smln/, fastest first, from one coverage run;
    and each test's seconds."""
    env = {**os.environ, "HYPOTHESIS_PROFILE": "mutation", "PYTHONDONTWRITEBYTECODE": "1", "COVERAGE_FILE": ".coverage"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not site",
                           "--durations=0", "--durations-min=0",
                           "--cov=smln", "--cov-context=test", "--cov-report=", "--ignore=tests/test_readme.py",
                           "tests"],
                          cwd=source, env=env, capture_output=True, text=True, check=True)
    seconds: dict[str, float] = {}
    for time, node in DURATION.findall(done.stdout):
        seconds[node.strip()] = seconds.get(node.strip(), 0.0) + float(time)
    import coverage

    data = coverage.CoverageData(basename=str(source / ".coverage"))
    data.read()
    found: dict[tuple[str, int], list[str]] = {}
    for filename in data.measured_files():
        module = Path(filename).stem
        for line, contexts in data.contexts_by_lineno(filename).items():
            ids = sorted({c.rsplit("|", 1)[0] for c in contexts if c}, key=lambda t: (seconds.get(t, 60.0), t))
            if ids:
                found[(module, line)] = ids
    return found, seconds


def tests_naming(source: Path, module: str) -> list[str]:
    """The test files that name a module (for lines only a subprocess runs, which coverage does not see)."""
    pattern = re.compile(rf"smln\.{module}\b|from smln import .*\b{module}\b|\bimport smln\b")
    return sorted(p.relative_to(source).as_posix() for p in (source / "tests").glob("test_*.py")
                  if p.name != "test_readme.py" and pattern.search(p.read_text(encoding="utf-8")))


def run(mutant: Mutant, code: str, base: Path, tests: list[str]) -> str:
    if not tests:
        return "survived"  # no test runs this line
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        repo = snapshot(base / "snapshot", Path(tmp))
        (repo / "smln" / f"{mutant.module}.py").write_text(code, encoding="utf-8")
        env = {**os.environ, "SMLN_MUTANT": "1", "HYPOTHESIS_PROFILE": "mutation", "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-n", "0", *tests]
        try:
            done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            return "killed"  # a mutant that hangs the suite is caught (by the time limit)
        if done.returncode == 0:
            return "survived"
        return "killed" if done.returncode == 1 else "error"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", help="only this module of smln/ (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants without running them")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write every mutant and its status here")
    parser.add_argument("--rerun", type=Path, metavar="JSON",
                        help="run again only the mutants a previous --json run did not kill (after adding tests)")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="smln-mutants-"))
    source = snapshot(ROOT, base / "snapshot")
    paths = [p for p in sorted((source / "smln").glob("*.py")) if p.name not in SKIP
             and (not args.module or p.stem in args.module)]
    todo = [m for p in paths for m in mutants_of(p)]
    if args.rerun:
        left = {(m["module"], m["line"], m["change"]) for m in json.loads(args.rerun.read_text(encoding="utf-8"))
                if m["status"] != "killed"}
        todo = [(m, code) for m, code in todo if (m.module, m.line, m.change) in left]
    if args.list:
        for m, _ in todo:
            print(m.label)
        print(f"{len(todo)} mutants", file=sys.stderr)
        shutil.rmtree(base, ignore_errors=True)
        return 0
    try:
        print("measuring which tests run which lines …", file=sys.stderr, flush=True)
        covering, seconds = tests_by_line(source)

        by_module: dict[str, set[str]] = {}
        for (module, _line), ids in covering.items():
            by_module.setdefault(module, set()).update(ids)

        def go(mc):
            # a line no test runs after import (a default in a signature, say): every test that runs the module,
            # and the test files that name it (some run it in a subprocess, which coverage does not see)
            m, code = mc
            tests = covering.get((m.module, m.line)) or sorted(
                by_module.get(m.module, set()), key=lambda t: (seconds.get(t, 60.0), t)) + tests_naming(
                source, m.module)
            return run(m, code, base, tests)

        with ThreadPoolExecutor(args.jobs) as pool:
            for k, (m, status) in enumerate(zip((m for m, _ in todo), pool.map(go, todo), strict=True)):
                m.status = status
                print(f"[{k + 1}/{len(todo)}] {status:8} {m.label}", flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    mutants = [m for m, _ in todo]
    print("\nmodule          killed / total   score")
    for module in dict.fromkeys(m.module for m in mutants):
        mine = [m for m in mutants if m.module == module]
        killed = sum(m.status == "killed" for m in mine)
        print(f"{module:15} {killed:6} / {len(mine):<5}  {killed / len(mine):6.1%}")
    killed = sum(m.status == "killed" for m in mutants)
    print(f"{'all':15} {killed:6} / {len(mutants):<5}  {killed / max(len(mutants), 1):6.1%}")
    survivors = [m for m in mutants if m.status != "killed"]
    if survivors:
        print("\nnot killed:")
        for m in survivors:
            print(f"  {m.status:8} {m.label}")
    if args.json:
        args.json.write_text(json.dumps([asdict(m) for m in mutants], ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
