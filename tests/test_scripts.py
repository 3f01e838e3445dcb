"""The committed scripts keep working: the mutation tool lists its mutants (running them is a long job of its own)."""

import subprocess
import sys

from tests.oracle import ROOT


def test_mutate_lists_mutants_of_a_module():
    out = subprocess.run([sys.executable, "scripts/mutate.py", "--list", "--module", "deep"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    labels = out.stdout.splitlines()
    assert out.stderr.strip() == f"{len(labels)} mutants" and len(labels) >= 10
    assert all(label.startswith("smln/deep.py:") for label in labels)
    assert any("Mult → Div" in label for label in labels) and any("return … → return None" in label for label in labels)


def test_mutants_compile_and_differ_from_the_module():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import mutate
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    source = (ROOT / "smln/activations.py").read_text(encoding="utf-8")
    mutants = mutate.mutants_of(ROOT / "smln/activations.py")
    assert len(mutants) > 30
    import ast

    original = ast.unparse(ast.parse(source))
    for m, code in mutants:
        compile(code, "mutant", "exec")
        assert code != original, m.label
