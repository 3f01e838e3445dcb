"""The package as a user meets it: ``import smln`` gives every module, lazily."""

import subprocess
import sys

from tests.oracle import ROOT


def test_import_smln_gives_the_modules_lazily():
    code = ("import sys, smln; assert 'smln.optim' not in sys.modules and 'matplotlib' not in sys.modules; "
            "print(smln.optim.Adam.__name__, smln.activations.sigmoid(0.0), 'smln.optim' in sys.modules, "
            "sorted(set(smln.__all__) - set(dir(smln))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["Adam", "0.5", "True", "[]"]


def test_every_module_is_listed():
    import smln

    modules = sorted(p.stem for p in (ROOT / "smln").glob("*.py") if not p.stem.startswith("_"))
    assert sorted(smln.__all__) == modules
    for name in modules:
        assert getattr(smln, name).__name__ == f"smln.{name}"


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    import smln

    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        smln.nope  # noqa: B018


def _docstrings():
    """(``module.object``, docstring) of every module, class, function and method of ``smln``."""
    import ast

    for path in sorted((ROOT / "smln").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    yield f"{path.stem}.{getattr(node, 'name', '')}", doc


def test_docstrings_name_each_formula_and_its_note_for_help():
    """``help(smln.optim.Adam)`` reads ``公式(notes/02b-optimizers.md):[adam-init][]、…``: the formula IDs and the
    note that holds them, no site-relative path (on the site, ``[id][]`` is an autorefs link to the formula)."""
    import re

    from litnotes.markup import DOC_FORMULA_RE
    from tests.oracle import formulas

    known = formulas()
    groups = 0
    for where, doc in _docstrings():
        assert "](../" not in doc, where  # no site-relative links
        for fid in DOC_FORMULA_RE.findall(doc):
            assert fid in known, f"{where}: [{fid}][] is no formula of the notes"
        for m in re.finditer(r"公式\((?P<files>notes/[^)]+)\):(?P<refs>.*?)(?:\u3002|$)", doc, re.S):
            groups += 1
            files = set(m.group("files").split("、"))
            ids = DOC_FORMULA_RE.findall(m.group("refs"))
            assert ids, where
            assert {known[i].note for i in ids} == files, (where, files, ids)
    assert groups >= 80


def test_help_shows_the_formulas_of_adam():
    import pydoc

    from smln.optim import Adam

    text = pydoc.render_doc(Adam, renderer=pydoc.plaintext)
    assert "公式(notes/02b-optimizers.md):" in text and "[adam-init][]" in text and "../" not in text
