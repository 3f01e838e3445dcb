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
