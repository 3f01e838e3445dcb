"""Every command the README shows is checked here, and every output it shows is what the command prints, so the
README cannot drift from the project."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from tests.oracle import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return [m.group(1) for m in re.finditer(rf"^```{lang}\n(.*?)^```$", README, flags=re.M | re.S)]


def commands() -> list[tuple[str, list[str]]]:
    """(command, the output lines shown under it as ``# …`` comments) for every line of every bash block."""
    found: list[tuple[str, list[str]]] = []
    for block in blocks("bash"):
        for line in block.splitlines():
            if line.startswith("# ") and found:
                found[-1][1].append(line[2:])
            elif line.strip():
                found.append((line.strip(), []))
    return found


def ci_commands() -> list[str]:
    return [ln.strip() for ln in (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def test_readme_shows_commands():
    assert len(commands()) >= 4


@pytest.mark.parametrize("command, shown", [
    # collecting the suite imports every test module in a new process: the slow set (marked site)
    pytest.param(c, s, id=c, marks=[pytest.mark.site] if c.startswith("pytest ") else []) for c, s in commands()])
def test_command(command, shown):
    if command == 'pip install -e ".[dev]" && mkdocs serve':
        assert 'pip install -e ".[dev]"' in ci_commands()  # CI installs exactly so, on a fresh clone
        site_tests = (ROOT / "tests/test_site.py").read_text(encoding="utf-8")
        assert "def test_serve_re_tangles_when_a_note_changes" in site_tests  # mkdocs serve is driven by a test
    elif command == "python tangle.py && pytest":
        assert command in ci_commands()  # the gate CI runs
    elif command == "python -m smln_site.pages && zensical build --strict":
        site_tests = (ROOT / "tests/test_site.py").read_text(encoding="utf-8")
        assert '[sys.executable, "-m", "smln_site.pages"]' in site_tests and '[zensical, "build", "--strict"]' in site_tests
    elif command == 'pip install -e ".[notebook]"':
        import tomllib

        extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
        names = {re.split(r"[<>=\[ ]", req)[0] for req in extras["notebook"]}
        assert {"jupyterlab", "jupytext", "ipykernel", "nbclient"} <= names
        assert any("notebook" in req for req in extras["dev"])  # CI installs .[dev], so the notebook tests run there
    elif command == "jupyter lab":  # tests/test_notebooks.py starts it and opens every note through its contents API
        notebook_tests = (ROOT / "tests/test_notebooks.py").read_text(encoding="utf-8")
        assert '"-m", "jupyterlab"' in notebook_tests and "/api/contents/" in notebook_tests
    elif command == 'pip install -e ".[bench]"':
        assert command in ci_commands() or 'pip install -q -e ".[bench]"' in ci_commands()
    elif command.startswith("python benchmarks/run.py"):
        out = subprocess.run([sys.executable, *shlex.split(command)[1:], "--case", "loop"], cwd=ROOT,
                             capture_output=True, text=True)
        assert out.returncode == 0 and "ratio" in out.stdout, out.stdout + out.stderr
        assert command in ci_commands()
    elif command.startswith("pytest "):
        args = shlex.split(command)[1:]
        out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-n", "0", *args],
                             cwd=ROOT, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
        collected = [ln for ln in out.stdout.splitlines() if "::" in ln]
        assert len(collected) > 100 and not any(ln.startswith("tests/test_site.py") for ln in collected)
    elif command == "python -m litnotes.changed":  # its run on an edit is tests/test_tangle.py's edit-loop test
        tangle_tests = (ROOT / "tests/test_tangle.py").read_text(encoding="utf-8")
        assert '[sys.executable, "-m", "litnotes.changed", "-q"]' in tangle_tests
        out = subprocess.run([sys.executable, "-m", "litnotes.changed", "--list"], cwd=ROOT, capture_output=True,
                             text=True)
        assert out.returncode == 0 and "改动的笔记" in out.stderr, out.stdout + out.stderr
    elif command.startswith(("python tangle.py ", "python fidelity.py")) and "--force" not in command:
        args = shlex.split(command)
        out = subprocess.run([sys.executable, *args[1:]], cwd=ROOT, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.splitlines()[: len(shown)] == shown, f"README shows {shown}, the command prints {out.stdout!r}"
    else:
        pytest.fail(f"README shows a command that no test checks: {command}")


def test_stale_message_shown_is_the_one_printed():
    shown = [b.strip() for b in blocks("text") if "先运行 python tangle.py" in b]
    assert shown == ["smln/ 与笔记不一致(smln/activations.py):先运行 python tangle.py"]
    conftest = (ROOT / "tests/conftest.py").read_text(encoding="utf-8")
    assert 'f"smln/ 与笔记不一致({\', \'.join(stale)}):先运行 python tangle.py"' in conftest


@pytest.mark.parametrize("example", blocks("pycon"))
def test_python_examples_run_as_shown(example):
    """The README's ``pycon`` examples are doctests: their results, and the type of any error they show."""
    import doctest

    test = doctest.DocTestParser().get_doctest(example, {}, "README.md", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.IGNORE_EXCEPTION_DETAIL | doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_the_loop_times_stated_are_the_measured_ones():
    """The README's times for the working loop are those in benchmarks/results.json (the 性能 page's source), to the
    second: measured again, the README is updated with them."""
    import json

    readme = (ROOT / "README.md").read_text(encoding="utf-8").replace("\n", "")
    rows = {r["variant"]: r["smln_s"] for r in json.loads((ROOT / "benchmarks/results.json").read_text(
        encoding="utf-8"))["rows"] if r["case"] == "loop"}
    minutes, seconds = map(int, re.search(r"全部测试 (\d+) 分 (\d+) 秒", readme).groups())
    stated = {
        "pytest (the whole suite)": 60 * minutes + seconds,
        'pytest -m "not site"': int(re.search(r"其余的测试 (\d+) 秒", readme).group(1)),
        'pytest -m "not site" (SymPy derivations computed afresh)': int(re.search(r"新克隆的第一次 (\d+) 秒", readme).group(1)),
        "edit loop: Adam's sign flipped → first failure": int(re.search(r"实测 (\d+) 秒停在第一个失败", readme).group(1)),
    }
    for variant, value in stated.items():
        assert abs(rows[variant] - value) <= 1, (variant, value, rows[variant])
