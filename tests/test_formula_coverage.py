"""Every formula ID of the notes is named by a test, and every ID a test names exists.

The IDs a test names are read statically from ``@pytest.mark.formula(...)`` in ``tests/*.py``, so the check
holds whichever tests are selected to run.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.oracle import ROOT, formulas


def named_ids() -> dict[str, list[str]]:
    """Formula ID → the ``file::test`` names that claim it."""
    claims: dict[str, list[str]] = {}
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                continue
            for dec in node.decorator_list:
                if (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "formula"
                        and ast.unparse(dec.func.value) == "pytest.mark"):
                    for arg in dec.args:
                        assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), (
                            f"{path.name}:{dec.lineno}: formula IDs must be string literals")
                        claims.setdefault(arg.value, []).append(f"{path.relative_to(ROOT)}::{node.name}")
    return claims


def test_every_formula_has_a_test():
    uncovered = sorted(set(formulas()) - set(named_ids()))
    assert not uncovered, "formulas with no test naming them:\n" + "\n".join(
        f"  {formulas()[i].note}:{formulas()[i].line}  {i}" for i in uncovered)


def test_every_named_formula_exists():
    unknown = {i: tests for i, tests in named_ids().items() if i not in formulas()}
    assert not unknown, "tests name formula IDs that no note has:\n" + "\n".join(
        f"  {i}: {', '.join(tests)}" for i, tests in sorted(unknown.items()))


def test_formulas_cli_json_lists_the_same_formulas():
    out = subprocess.run([sys.executable, "tangle.py", "--formulas", "--json"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    listed = json.loads(out)
    assert [f["id"] for f in listed] == list(formulas())
    for f in listed:
        assert set(f) == {"id", "note", "line", "kind", "latex"}
        line = Path(ROOT, f["note"]).read_text(encoding="utf-8").splitlines()[f["line"] - 1]
        assert "{#" + f["id"] + "}" in line  # the ID is written at that line of that note
