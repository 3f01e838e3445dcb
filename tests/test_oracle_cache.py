"""The disk cache of SymPy derivations (tests/oracle.py: ``derivation``): hits when nothing it read changed,
misses when a formula it read is edited, and keeps the record of the formulas a test read."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy

from tests import oracle

BUILDS: list[tuple] = []


def _derive(n):
    """A derivation that reads a formula of the notes and returns lambdified functions and plain data."""
    BUILDS.append((n,))
    oracle.assert_latex("act-sigmoid", r"1 + e^{(-z)}")
    z = sympy.Symbol("z")
    s = 1 / (1 + sympy.exp(-n * z))
    return sympy.lambdify([z], s, "numpy"), {"d": sympy.lambdify([z], sympy.diff(s, z), "numpy"), "n": (n, "z")}


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """A new session's view: an empty memory, the cache directory of the test."""
    monkeypatch.setattr(oracle, "CACHE_DIR", [tmp_path])
    BUILDS.clear()
    return lambda: oracle.derivation(_derive)


def test_a_derivation_is_built_once_and_then_read_from_disk(fresh):
    f, parts = fresh()(2)
    g, parts2 = fresh()(2)  # another session: nothing in memory
    assert BUILDS == [(2,)]
    z = np.linspace(-3, 3, 7)
    np.testing.assert_array_equal(g(z), f(z))
    np.testing.assert_array_equal(parts2["d"](z), parts["d"](z))
    np.testing.assert_allclose(parts2["d"](z), 2 * f(z) * (1 - f(z)), rtol=1e-12)  # σ' = nσ(1 − σ) for σ(nz)
    assert parts2["n"] == (2, "z")
    fresh()(3)
    assert BUILDS == [(2,), (3,)]  # other arguments, another derivation


def test_editing_a_formula_it_read_builds_it_again(fresh, monkeypatch):
    fresh()(2)
    known = oracle.formulas()
    edited = dict(known, **{"act-sigmoid": dataclasses.replace(known["act-sigmoid"],
                                                               latex=known["act-sigmoid"].latex + " ")})
    monkeypatch.setattr(oracle, "formulas", lambda: edited)
    fresh()(2)
    assert BUILDS == [(2,), (2,)]
    monkeypatch.setattr(oracle, "formulas", lambda: known)
    fresh()(2)  # the original LaTeX again: its entry is still there
    assert BUILDS == [(2,), (2,)]


def test_a_cached_derivation_still_counts_as_reading_its_formulas(fresh, request):
    fresh()(2)
    oracle._READ.pop(request.node.nodeid, None)
    fresh()(2)
    assert BUILDS == [(2,)]
    assert oracle.read_during(request.node.nodeid) == ["act-sigmoid"]


def test_without_a_cache_directory_nothing_is_written(fresh, monkeypatch, tmp_path):
    monkeypatch.setattr(oracle, "CACHE_DIR", [None])
    fresh()(2)
    fresh()(2)
    assert BUILDS == [(2,), (2,)]
    assert list(tmp_path.iterdir()) == []


def test_what_cannot_be_stored_is_returned_and_built_again(fresh, tmp_path):
    def build():
        BUILDS.append(())
        return lambda x: x  # not made by lambdify: cannot be written as source

    build.__qualname__ = "unstorable"
    assert oracle.derivation(build)()(5) == 5
    assert oracle.derivation(build)()(5) == 5
    assert BUILDS == [(), ()]
    assert not list(tmp_path.glob("*.pickle"))


def test_a_damaged_entry_is_built_again(fresh, tmp_path):
    fresh()(2)
    for entry in tmp_path.glob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    f, _ = fresh()(2)
    assert BUILDS == [(2,), (2,)]
    assert f(np.array([0.0]))[0] == 0.5
