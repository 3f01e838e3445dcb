"""Test hygiene shared by every test: smln/ checked against the notes before anything runs, Hypothesis profiles,
NumPy floating-point errors as exceptions, and failing formula tests pointed at their note and line."""

import contextlib
import io
import os
import re
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings

from tests import site_build

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


def pytest_collection_modifyitems(config, items):
    """``python -m litnotes.changed`` runs the tests bound to a changed formula first (most specific first): it names
    them in SMLN_RUN_FIRST, and pytest would otherwise run them in their file's order.

    Otherwise the slow tests (marked ``site``) that start their own processes run first, then the fast ones, and the
    tests that read the built site last: the site is built once, in the background (``tests/site_build.py``), while
    the others run, so it is ready by the time a test needs it."""
    first = [n for n in os.environ.get("SMLN_RUN_FIRST", "").split(",") if n]
    if first:
        def rank(item):
            return next((k for k, n in enumerate(first) if item.nodeid == n or item.nodeid.startswith(n + "[")), len(first))

    else:
        def rank(item):
            if site_build.FIXTURE in item.fixturenames:
                return 2
            return 1 if item.get_closest_marker("site") is None else 0

    items.sort(key=rank)


def pytest_collection_finish(session):
    if site_build.needed(session.items) and not session.config.option.collectonly:
        site_build.start(session.config)


def pytest_sessionfinish(session):
    site_build.finish(session.config)


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


_ORIGINS: dict = {}
GENERATED_LINE_RE = re.compile(r"(?<![\w/])(smln/[\w/]+\.py):(\d+)")
LIBRARY_LINE_RE = re.compile(r"^\s*\S*/(site-packages|lib/python3[.\d]*)/\S+:\d+\s*$")


def note_line(target: str, line: int) -> str | None:
    """``notes/FILE.md:LINE`` that generated line ``line`` of ``smln/…`` (as ``tangle.py --where`` answers)."""
    if not _ORIGINS:
        from litnotes import tangle

        outputs, _ = tangle.generate(tangle.ROOT)
        _ORIGINS.update({t: out.origin for t, out in outputs.items()})
    origin = _ORIGINS.get(target)
    src = origin[line - 1] if origin and 0 < line <= len(origin) else None
    return f"{src[0]}:{src[1]}" if src else None


def point_to_the_notes(text: str) -> str:
    """Every ``smln/FILE.py:LINE`` of a failure report also names the note line it was generated from (as noweb's
    ``#line`` directives do for a compiler); the library lines are dropped from Hypothesis' explanation."""
    text = GENERATED_LINE_RE.sub(lambda m: f"{m.group(0)} [{note_line(m.group(1), int(m.group(2))) or '?'}]"
                                 if note_line(m.group(1), int(m.group(2))) else m.group(0), text)
    lines, out, dropped = text.split("\n"), [], 0
    for line in lines:
        if LIBRARY_LINE_RE.match(line.removeprefix("E").rstrip()):
            dropped += 1
            continue
        out.append(line)
    if dropped:
        out.append(f"(Hypothesis 的 Explanation 中去掉了 {dropped} 行第三方库的代码行)")
    return "\n".join(out)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failure names the note lines of the code in it: each smln/ line of the traceback gets its note line; in the
    edit loop (``python -m litnotes.changed``) the lines you edited come first; a failing @pytest.mark.formula test
    says where its formulas are: notes/FILE.md:LINE (id), the ones the test read from the notes first."""
    outcome = yield
    report = outcome.get_result()
    if report.passed or report.skipped or getattr(report, "longrepr", None) is None:
        return
    sections = []
    edited = [e for e in os.environ.get("SMLN_EDITED", "").split(";") if e]
    if edited:
        sections.append("你改动的代码行(这个测试与它们有关):\n" + "\n".join(f"  {e}" for e in edited))
    ids = [i for mark in item.iter_markers("formula") for i in mark.args]
    if ids:
        from tests.oracle import formulas, read_during

        read = read_during(item.nodeid)
        known = formulas()
        ordered = [i for i in ids if i in read] + [i for i in ids if i not in read]
        lines = [f"{known[i].note}:{known[i].line} ({i})" + (" ← 这个测试读过它" if i in read else "")
                 for i in dict.fromkeys(ordered) if i in known]
        sections.append("公式的位置:\n" + "\n".join(f"  {ln}" for ln in lines))
    text = point_to_the_notes(str(report.longrepr))
    report.longrepr = "\n\n".join([text, *sections])


def pytest_configure(config):
    """SymPy derivations are cached in pytest's cache directory (tests/oracle.py: ``derivation``)."""
    from tests import oracle

    cache = getattr(config, "cache", None)
    oracle.CACHE_DIR[0] = cache.mkdir("sympy") if cache is not None else None


@pytest.fixture(autouse=True)
def _record_formulas_read(request):
    """Remember which formulas each test reads through tests/oracle.py (for the failure report above)."""
    from tests import oracle

    oracle.CURRENT_TEST[0] = request.node.nodeid
    yield
    oracle.CURRENT_TEST[0] = None
