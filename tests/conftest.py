"""Test hygiene shared by every test: smln/ checked against the notes before anything runs, Hypothesis profiles,
NumPy floating-point errors as exceptions, and failing formula tests pointed at their note and line."""

import contextlib
import io
import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings

# CI: derandomised and at least 100 examples per property. Editing: fewer examples, random.
settings.register_profile("ci", derandomize=True, max_examples=100, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None)
# scripts/mutate.py: the same examples for every mutant, so a mutant survives or dies for a reason; no shrinking —
# one failing example kills the mutant, and shrinking a central-difference failure can take minutes
settings.register_profile("mutation", derandomize=True, max_examples=30, deadline=None,
                          phases=(Phase.explicit, Phase.reuse, Phase.generate),
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@contextlib.contextmanager
def _on_a_terminal():
    tty, real = _Terminal(), sys.stderr
    sys.stderr = tty
    try:
        yield tty
    finally:
        sys.stderr = real


@pytest.fixture
def terminal():
    """``with terminal() as out:`` — stderr that says it is a terminal, so a tqdm bar with ``disable=None`` draws into
    ``out`` (a fixture cannot patch sys.stderr itself: pytest's capture puts its own back when the test starts)."""
    return _on_a_terminal


@pytest.fixture(autouse=True)
def numpy_floating_point_errors_raise():
    """Overflow, division by zero and invalid operations raise FloatingPointError (underflow to 0 is fine)."""
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield


def pytest_terminal_summary(terminalreporter):
    """Say, at the end of every run, how much of the original is still to be written (tests/test_fidelity.py)."""
    from litnotes import fidelity

    pending = [s.title for s in fidelity.read_original() if s.pending]
    if pending:
        terminalreporter.write_line(f"原文待写的小节({len(pending)}):{'、'.join(pending)}")


def pytest_sessionstart(session):
    """Fail at once, in one line, when smln/ is not what the notes produce: tests of stale code prove nothing.
    (scripts/mutate.py runs the tests on deliberately changed code in a copy, and says so with SMLN_MUTANT=1.)"""
    from litnotes import tangle

    if os.environ.get("SMLN_MUTANT"):
        return
    outputs, errors = tangle.generate(tangle.ROOT)
    if errors:
        raise pytest.UsageError(f"笔记有错误,tangle.py 拒绝生成 smln/:{errors[0]}(运行 python tangle.py 查看全部)")
    stale = [t for t, out in outputs.items() if tangle.read_text(tangle.ROOT / t) != out.text]
    stale += [f for f in tangle.existing_files(tangle.ROOT) if f not in outputs]
    if stale:
        # a UsageError prints its message once ("ERROR: …"); pytest.exit printed it twice
        raise pytest.UsageError(f"smln/ 与笔记不一致({', '.join(stale)}):先运行 python tangle.py")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing @pytest.mark.formula test says where its formulas are: notes/FILE.md:LINE (id), the ones the test
    read from the notes first."""
    outcome = yield
    report = outcome.get_result()
    if report.passed or report.skipped:
        return
    ids = [i for mark in item.iter_markers("formula") for i in mark.args]
    if not ids:
        return
    from tests.oracle import formulas, read_during

    read = read_during(item.nodeid)
    known = formulas()
    ordered = [i for i in ids if i in read] + [i for i in ids if i not in read]
    lines = [f"{known[i].note}:{known[i].line} ({i})" + (" ← 这个测试读过它" if i in read else "")
             for i in dict.fromkeys(ordered) if i in known]
    if hasattr(report, "longrepr") and report.longrepr is not None:
        report.longrepr = f"{report.longrepr}\n\n公式的位置:\n" + "\n".join(f"  {ln}" for ln in lines)


@pytest.fixture(autouse=True)
def _record_formulas_read(request):
    """Remember which formulas each test reads through tests/oracle.py (for the failure report above)."""
    from tests import oracle

    oracle.CURRENT_TEST[0] = request.node.nodeid
    yield
    oracle.CURRENT_TEST[0] = None
