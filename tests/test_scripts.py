"""The committed scripts keep working: the mutation tool lists its mutants (running them is a long job of its own)."""

import subprocess
import sys
import types

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


def _benchmarks(monkeypatch):
    """benchmarks/run.py as a module; the thread variables it sets for itself are put back afterwards."""
    import importlib.util
    import os

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, os.environ.get(var, ""))  # restored at the end of the test
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks/run.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_run", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_benchmark_sides_are_timed_in_turns(monkeypatch):
    """Every round runs each side once, in order, after the warm-up rounds; each gets the median of its own times."""
    run = _benchmarks(monkeypatch)
    calls = []
    clock = iter(range(1000))
    monkeypatch.setattr(run, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    times = run.median_times({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeat=3, warmup=1)
    assert calls == ["a", "b"] * 4
    assert times == {"a": 1, "b": 1}  # each timing reads the clock twice in a row
    assert run.median_time(lambda: calls.append("c"), repeat=5) == 1 and calls.count("c") == 2 + 5  # warm-up 2


def test_benchmark_json_with_case_keeps_the_other_cases(monkeypatch, tmp_path):
    """``--case X --json F`` replaces X's rows in F and keeps the other cases' rows of a run at the same size, in the
    order of the cases; a file from a ``--quick`` run is not mixed with real sizes."""
    run = _benchmarks(monkeypatch)
    version = {"n": 0}

    def case(name):
        return lambda quick: [run.Row(name, f"{name} {version['n']}", 2.0, 1.0, None)]

    monkeypatch.setattr(run, "CASES", {"first": case("first"), "second": case("second")})
    monkeypatch.setattr(run, "machine", lambda: {})
    path = tmp_path / "results.json"
    run.main(["--json", str(path)])
    version["n"] = 1
    run.main(["--case", "first", "--json", str(path)])
    import json

    rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    assert [r["variant"] for r in rows] == ["first 1", "second 0"] and rows[0]["ratio"] == 2.0
    run.main(["--quick", "--case", "second", "--json", str(path)])
    assert [r["variant"] for r in json.loads(path.read_text(encoding="utf-8"))["rows"]] == ["second 1"]
