"""tangle.py, behaviour by behaviour, always on temporary copies of a repository (never the real smln/)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from litnotes import tangle

ROOT = Path(__file__).resolve().parent.parent
FENCE = "```"


def run(root: Path, *args: str) -> tuple[int, str, str]:
    """Run tangle in-process on ``root``; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = tangle.main(list(args), root=root)
        except SystemExit as exc:  # argparse
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def make_repo(tmp: Path, notes: dict[str, str], *, init: bool = True) -> Path:
    """A repository with ``notes/`` holding the given notes (and a note for smln/__init__.py)."""
    (tmp / "notes").mkdir(parents=True, exist_ok=True)
    if init:
        notes = {"index.md": f'# 首页\n\n{FENCE}python title="smln/__init__.py"\n"""包。"""\n{FENCE}\n', **notes}
    for name, text in notes.items():
        (tmp / "notes" / name).write_text(text, encoding="utf-8", newline="")
    return tmp


def block(target: str, body: str, fence: str = FENCE, lang: str = "python") -> str:
    return f'{fence}{lang} title="{target}"\n{body}\n{fence}\n'


def body_of(text: str) -> list[str]:
    """The code lines of a generated file: no header, no markers, no blank lines."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith("# ")]


@pytest.fixture
def repo(tmp_path):
    return lambda notes, **kw: make_repo(tmp_path, notes, **kw)


# ------------------------------------------------------------------------------------------------------------
# What gets tangled


def test_blocks_are_joined_in_order_with_header_and_markers(repo):
    r = repo({
        "01-a.md": "# 第一章\n\n## 第一节\n\n" + block("smln/m.py", "x = 1") + "\n## 第二节\n\n" + block("smln/m.py", "y = 2"),
        "02-b.md": "# 第二章\n\n" + block("smln/m.py", "z = 3"),
    })
    assert run(r)[0] == 0
    text = (r / "smln/m.py").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == tangle.HEADER_FIRST
    assert "notes/01-a.md, notes/02-b.md" in lines[1]
    assert "# ── notes/01-a.md § 第一节 ──" in lines
    assert "# ── notes/01-a.md § 第二节 ──" in lines
    assert "# ── notes/02-b.md § 第二章 ──" in lines
    assert body_of(text) == ["x = 1", "y = 2", "z = 3"]
    assert text.endswith("z = 3\n") and "\r" not in text


def test_only_titled_blocks_under_smln_are_tangled(repo):
    r = repo({"a.md": f"{FENCE}python\nnot_me = 1\n{FENCE}\n\n{FENCE}python title=\"example.py\"\nnor_me = 1\n{FENCE}\n\n"
                      f"{FENCE}pycon\n>>> 1\n1\n{FENCE}\n\n" + block("smln/m.py", "me = 1")})
    assert run(r)[0] == 0
    assert body_of((r / "smln/m.py").read_text(encoding="utf-8")) == ["me = 1"]
    assert sorted(p.name for p in (r / "smln").iterdir()) == ["__init__.py", "m.py"]


def test_tilde_and_long_fences(repo):
    r = repo({"a.md": block("smln/m.py", "a = 1", fence="~~~") + block("smln/m.py", "b = 2", fence="`````")
              + "~~~~python title='smln/m.py'\nc = 3\n~~~~~~\n"})
    assert run(r)[0] == 0
    assert body_of((r / "smln/m.py").read_text(encoding="utf-8")) == ["a = 1", "b = 2", "c = 3"]


def test_a_shorter_or_other_fence_does_not_close(repo):
    r = repo({"a.md": '````python title="smln/m.py"\ns = """\n```\n~~~~\n"""\n````\n'})
    assert run(r)[0] == 0
    assert 's = """\n```\n~~~~\n"""' in (r / "smln/m.py").read_text(encoding="utf-8")


def test_fences_in_admonitions_and_tabs_are_dedented(repo):
    note = ('!!! note "说明"\n\n    ' + block("smln/m.py", "def f():\n    return 1").replace("\n", "\n    ")
            + '\n=== "标签"\n\n\t' + block("smln/m.py", "g = 2").replace("\n", "\n\t")
            + '\n??? tip\n    !!! note\n        ' + block("smln/m.py", "h = 3").replace("\n", "\n        "))
    r = repo({"a.md": note})
    assert run(r)[0] == 0
    assert body_of((r / "smln/m.py").read_text(encoding="utf-8")) == ["def f():", "    return 1", "g = 2", "h = 3"]


def test_an_outer_fence_hides_the_fences_in_it(repo):
    r = repo({"a.md": "````markdown\n" + block("smln/hidden.py", "x = 1") + "````\n" + block("smln/m.py", "y = 2")})
    assert run(r)[0] == 0
    assert not (r / "smln/hidden.py").exists()
    assert body_of((r / "smln/m.py").read_text(encoding="utf-8")) == ["y = 2"]


def test_chinese_crlf_and_tabs(repo):
    r = repo({"a.md": '# 标题\r\n\r\n中文段落。\r\n\r\n```python title="smln/m.py"\r\ndef 函数():\r\n\treturn "你好"\r\n```\r\n'})
    assert run(r)[0] == 0
    text = (r / "smln/m.py").read_bytes().decode("utf-8")
    assert "\r" not in text
    assert 'def 函数():\n\treturn "你好"\n' in text
    assert "§ 标题" in text


def test_sub_package_gets_its_init_from_the_notes(repo):
    r = repo({"a.md": block("smln/sub/m.py", "x = 1")})
    code, _, err = run(r)
    assert code == 1
    assert err.startswith("notes/a.md:1: 包 smln/sub/ 没有 __init__.py")
    assert not (r / "smln").exists()
    (r / "notes/b.md").write_text(block("smln/sub/__init__.py", '"""子包。"""'), encoding="utf-8")
    assert run(r)[0] == 0
    assert (r / "smln/sub/__init__.py").is_file() and (r / "smln/sub/m.py").is_file()


def test_the_packages_all_must_name_the_modules_the_notes_declare(repo):
    """The notes declare the modules (code-block titles); __all__ is checked against them at its own line."""
    init = block("smln/__init__.py", '"""包。"""\n\n__all__ = ["a", "gone"]')
    r = repo({"index.md": f"# 首页\n\n{init}", "a.md": block("smln/a.py", "x = 1") + block("smln/b.py", "y = 2")},
             init=False)
    code, _, err = run(r)
    assert code == 1 and not (r / "smln").exists()
    assert err.startswith("notes/index.md:6: smln/__init__.py 的 __all__") and "['b']" in err and "['gone']" in err
    fixed = init.replace('"gone"', '"b"')
    (r / "notes/index.md").write_text(f"# 首页\n\n{fixed}", encoding="utf-8")
    assert run(r)[0] == 0


def test_the_module_map_is_read_from_the_notes():
    """litnotes.catalog: every module of smln/ once, with the note and section of its first block and a summary."""
    from litnotes import catalog

    mods = catalog.modules(ROOT)
    names = [m.name for m in mods]
    assert sorted(names) == sorted(p.stem for p in (ROOT / "smln").glob("*.py") if p.stem != "__init__")
    optim = next(m for m in mods if m.name == "optim")
    lines = (ROOT / optim.note).read_text(encoding="utf-8").splitlines()
    assert 'title="smln/optim.py"' in lines[optim.line - 1] and optim.summary and optim.section
    assert names.index("activations") < names.index("optim") < names.index("logistic") < names.index("validation")


# ------------------------------------------------------------------------------------------------------------
# Refusals: exit 1, message at the note's line, nothing written


@pytest.mark.parametrize("target, reason", [
    ("smln/../evil.py", "'..'"),
    ("/tmp/smln/evil.py", "绝对路径"),
    ("smln\\\\evil.py", "反斜杠"),
    ("smln/data.txt", "不是 .py 文件"),
    ("smln/./x.py", "'..'、'.'"),
    ("lib/smln/x.py", "不在 smln/ 之下"),
])
def test_target_outside_smln_or_not_py_is_refused(repo, target, reason):
    r = repo({"a.md": "# 章\n\n文字\n\n" + block(target, "x = 1")})
    code, _, err = run(r)
    assert code == 1
    assert err.startswith("notes/a.md:5: 目标")
    assert reason in err
    assert not (r / "smln").exists()
    assert not (r / "evil.py").exists() and not Path("/tmp/smln/evil.py").exists()


def test_symlink_leading_out_is_refused(repo, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    r = repo({"a.md": block("smln/link/x.py", "x = 1") + block("smln/link/__init__.py", "")})
    (r / "smln").mkdir()
    (r / "smln/link").symlink_to(outside, target_is_directory=True)
    code, _, err = run(r)
    assert code == 1
    assert "经符号链接指向 smln/ 之外" in err and err.startswith("notes/a.md:")
    assert list(outside.iterdir()) == []


def test_unclosed_fence_is_refused(repo):
    r = repo({"a.md": "# 章\n\n" + f'{FENCE}python title="smln/m.py"\nx = 1\n'})
    code, _, err = run(r)
    assert code == 1
    assert err.startswith("notes/a.md:3: 代码块没有闭合")
    assert not (r / "smln").exists()


def test_syntax_error_is_reported_at_the_note_line(repo):
    r = repo({"a.md": "# 章\n\n" + block("smln/m.py", "x = 1\n\ndef f(:\n    pass")})
    code, _, err = run(r)
    assert code == 1
    assert err.startswith("notes/a.md:6: smln/m.py 无法编译")  # fence at line 3, `def f(:` at line 6
    assert not (r / "smln").exists()


def test_same_top_level_name_in_two_blocks_is_refused(repo):
    r = repo({"a.md": block("smln/m.py", "def f():\n    return 1") + "\n文字\n\n" + block("smln/m.py", "class f:\n    pass")})
    code, _, err = run(r)
    assert code == 1
    assert err.startswith("notes/a.md:9: smln/m.py 中 'f' 已由另一个代码块定义(notes/a.md:2)")


def test_one_error_anywhere_means_nothing_is_written(repo):
    r = repo({"a.md": block("smln/good.py", "x = 1"), "b.md": block("smln/bad.py", "def (")})
    code, _, err = run(r)
    assert code == 1
    assert "notes/b.md:2:" in err and "没有写入任何文件" in err
    assert not (r / "smln").exists()


def test_all_errors_are_collected(repo):
    r = repo({"a.md": block("smln/../x.py", "x = 1"), "b.md": block("smln/bad.py", "def ("),
              "c.md": f"{FENCE}python\n"})
    code, _, err = run(r)
    assert code == 1
    assert "notes/a.md:1:" in err and "notes/b.md:2:" in err and "notes/c.md:1:" in err
    assert "3 个错误" in err


def test_writes_are_atomic(repo, monkeypatch):
    r = repo({"a.md": block("smln/m.py", "x = 1")})
    assert run(r)[0] == 0
    before = (r / "smln/m.py").read_text(encoding="utf-8")
    (r / "notes/a.md").write_text(block("smln/m.py", "x = 2"), encoding="utf-8")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(tangle.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(r)
    assert (r / "smln/m.py").read_text(encoding="utf-8") == before  # the old module, whole
    assert [p.name for p in (r / "smln").iterdir() if p.name.endswith(".tmp")] == []


# ------------------------------------------------------------------------------------------------------------
# Idempotence, hand edits, files no note produces


def test_second_run_writes_nothing_and_keeps_mtimes(repo):
    r = repo({"a.md": block("smln/m.py", "x = 1")})
    assert run(r)[0] == 0
    past = 1_000_000_000
    for p in (r / "smln").iterdir():
        os.utime(p, (past, past))
    code, out, _ = run(r)
    assert code == 0 and "写入 0 个" in out
    assert all(p.stat().st_mtime == past for p in (r / "smln").iterdir())


def test_only_changed_files_are_written(repo):
    r = repo({"a.md": block("smln/a.py", "x = 1"), "b.md": block("smln/b.py", "y = 1")})
    run(r)
    past = 1_000_000_000
    os.utime(r / "smln/a.py", (past, past))
    (r / "notes/b.md").write_text(block("smln/b.py", "y = 2"), encoding="utf-8")
    code, out, _ = run(r)
    assert code == 0 and "写入 1 个" in out
    assert (r / "smln/a.py").stat().st_mtime == past


def test_hand_edit_is_refused_with_lines_and_block_then_force(repo):
    r = repo({"a.md": "# 章\n\n" + block("smln/m.py", "x = 1\ny = 2")})
    run(r)
    path = r / "smln/m.py"
    edited = path.read_text(encoding="utf-8").replace("y = 2", "y = 3")
    path.write_text(edited, encoding="utf-8")
    (r / "notes/a.md").write_text("# 章\n\n" + block("smln/m.py", "x = 10\ny = 2"), encoding="utf-8")
    code, _, err = run(r)
    assert code == 1
    assert err.startswith("notes/a.md:4: smln/m.py 在生成后被手工修改过,拒绝覆盖")  # the first line that differs
    assert "smln/m.py:6-7: 与笔记生成的内容不同,属于 notes/a.md:3 的代码块" in err
    assert path.read_text(encoding="utf-8") == edited  # nothing lost
    code, _, _ = run(r, "--force")
    assert code == 0
    assert body_of(path.read_text(encoding="utf-8")) == ["x = 10", "y = 2"]


def test_hand_edit_is_reported_at_the_note_line_it_came_from(repo):
    r = repo({"a.md": "# 章\n\n" + block("smln/m.py", "x = 1\ny = 2\nz = 3"), "b.md": block("smln/m.py", "w = 4")})
    run(r)
    path = r / "smln/m.py"
    path.write_text(path.read_text(encoding="utf-8").replace("w = 4", "w = 5"), encoding="utf-8")
    (r / "notes/a.md").write_text("# 章\n\n" + block("smln/m.py", "x = 1\ny = 2\nz = 30"), encoding="utf-8")
    code, _, err = run(r)
    assert code == 1 and err.startswith("notes/a.md:6: smln/m.py 在生成后被手工修改过")  # z = 30 is line 6 of a.md
    code, _, err = run(r, "--check")
    assert code == 1 and "被手工修改过" in err and "python tangle.py --force" in err


def test_check_says_run_tangle_when_the_notes_changed(repo):
    r = repo({"a.md": block("smln/m.py", "x = 1")})
    run(r)
    (r / "notes/a.md").write_text(block("smln/m.py", "x = 2"), encoding="utf-8")
    code, _, err = run(r, "--check")
    assert code == 1 and err.strip().endswith("运行 python tangle.py 。") and "--force" not in err


def test_a_closed_pipe_is_not_an_error(tmp_path):
    """`python tangle.py --formulas | head -1`: no BrokenPipeError traceback, however the reader stops
    (`true` reads nothing at all, so the pipe is closed before tangle.py writes: the failure is certain)."""
    for reader in ("head -1", "true", "true"):
        proc = subprocess.run(f"{sys.executable} tangle.py --formulas | {reader}", shell=True, cwd=ROOT,
                              capture_output=True, text=True)
        assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
        assert proc.stdout.count("\n") == (1 if reader.startswith("head") else 0)


def test_file_no_note_produces_is_an_error(repo):
    r = repo({"a.md": block("smln/m.py", "x = 1")})
    run(r)
    (r / "smln/stray.py").write_text("x = 1\n", encoding="utf-8")
    code, _, err = run(r)
    assert code == 1
    assert "smln/stray.py:1: 没有笔记生成这个文件" in err
    assert (r / "smln/stray.py").exists()


def test_generated_file_no_longer_produced_is_removed(repo):
    r = repo({"a.md": block("smln/m.py", "x = 1"), "b.md": block("smln/sub/__init__.py", "") + block("smln/sub/old.py", "y = 1")})
    run(r)
    (r / "smln/sub/__pycache__").mkdir()
    (r / "notes/b.md").unlink()
    code, out, _ = run(r)
    assert code == 0 and "删除 2 个" in out
    assert not (r / "smln/sub").exists()


def test_hand_edited_file_no_longer_produced_is_refused(repo):
    r = repo({"a.md": block("smln/m.py", "x = 1"), "b.md": block("smln/old.py", "y = 1")})
    run(r)
    with open(r / "smln/old.py", "a", encoding="utf-8") as fh:
        fh.write("z = 1\n")
    (r / "notes/b.md").unlink()
    code, _, err = run(r)
    assert code == 1 and "smln/old.py:1: 已没有笔记生成这个文件,但它在生成后被手工修改过" in err
    assert (r / "smln/old.py").exists()
    assert run(r, "--force")[0] == 0 and not (r / "smln/old.py").exists()


# ------------------------------------------------------------------------------------------------------------
# --check, --where, --formulas, usage


def test_check_passes_after_a_run_and_fails_with_a_diff_after_a_change(repo):
    r = repo({"a.md": block("smln/m.py", "x = 1")})
    assert run(r, "--check")[0] == 1  # nothing generated yet
    run(r)
    code, out, _ = run(r, "--check")
    assert code == 0 and "一致" in out
    (r / "notes/a.md").write_text(block("smln/m.py", "x = 2"), encoding="utf-8")
    snapshot = (r / "smln/m.py").read_bytes()
    code, out, _ = run(r, "--check")
    assert code == 1
    assert "-x = 1" in out and "+x = 2" in out and out.startswith("--- smln/m.py")
    assert (r / "smln/m.py").read_bytes() == snapshot  # --check writes nothing


def test_check_reports_a_file_no_note_produces(repo):
    r = repo({"a.md": block("smln/m.py", "x = 1")})
    run(r)
    (r / "smln/stray.py").write_text("", encoding="utf-8")
    code, out, _ = run(r, "--check")
    assert code == 1 and "smln/stray.py" in out


def test_where_maps_a_generated_line_to_its_note_line(repo):
    r = repo({"a.md": "# 章\n\n文字\n\n" + block("smln/m.py", "x = 1\n\ny = 2")})
    run(r)
    lines = (r / "smln/m.py").read_text(encoding="utf-8").splitlines()
    assert run(r, "--where", f"smln/m.py:{lines.index('y = 2') + 1}")[1].strip() == "notes/a.md:8"
    assert run(r, "--where", f"smln/m.py:{lines.index('x = 1') + 1}")[1].strip() == "notes/a.md:6"
    assert "文件头" in run(r, "--where", "smln/m.py:1")[1]
    assert run(r, "--where", "smln/m.py:999")[0] == 1
    assert run(r, "--where", "smln/nope.py:1")[0] == 1
    assert run(r, "--where", "smln/m.py")[0] == 2


@pytest.mark.parametrize("args", [["--json"], ["--check", "--where", "x:1"], ["--bogus"], ["--check", "--force"]])
def test_bad_usage_exits_2(repo, args):
    assert run(repo({}), *args)[0] == 2


def test_formulas_listing_and_errors(repo):
    r = repo({"a.md": "# 章\n\n[](){#x-one}\n\n$$\na = b\n$$\n\n| f | $y = 2$ [](){#x-two} |\n| - | - |\n"})
    code, out, _ = run(r, "--formulas", "--json")
    assert code == 0
    import json
    assert json.loads(out) == [
        {"id": "x-one", "note": "notes/a.md", "line": 3, "kind": "display", "latex": "a = b"},
        {"id": "x-two", "note": "notes/a.md", "line": 9, "kind": "inline", "latex": "y = 2"},
    ]
    (r / "notes/b.md").write_text("$$\nc = d\n$$\n\n[](){#x-one}\n\n$$ e $$\n", encoding="utf-8")
    code, _, err = run(r, "--formulas")
    assert code == 1
    assert "notes/b.md:1: 行间公式没有 ID" in err
    assert "notes/b.md:5: 公式 ID 'x-one' 重复(第一次出现在 notes/a.md:3)" in err
    assert run(r)[0] == 1  # tangling refuses too


def test_formula_kinds(repo):
    r = repo({"a.md": "[](){#k-code}\n\n```text\nW := W - a\n```\n\n[](){#k-ex}\n```pycon\n>>> 1\n1\n```\n\n"
                      "[](){#k-py}\n\n```python\n1 + 1\n```\n\n```output\n2\n```\n\n"
                      "[](){#k-fig}\n\n```python exec=\"on\"\nprint(2)\n```\n\n```output\n2\n```\n\n"
                      "[](){#k-table}\n\n| t | a |\n| - | - |\n| 1 | 0.1 |\n\n`[](){#not-an-id}`\n"})
    code, out, _ = run(r, "--formulas", "--json")
    import json
    got = {f["id"]: (f["kind"], f["latex"]) for f in json.loads(out)}
    # an example's formula is its code and the output block after it; a figure's code is not an example
    assert got == {"k-code": ("code", "W := W - a"), "k-ex": ("example", ">>> 1\n1"), "k-py": ("example", "1 + 1\n2"),
                   "k-fig": ("code", "print(2)"),
                   "k-table": ("table", "| t | a |\n| - | - |\n| 1 | 0.1 |")}


def test_cli_runs_from_a_copy_without_dependencies(tmp_path):
    """tangle.py and litnotes/ are standard library only: a copy beside notes/ works with no site-packages (``-S``),
    no user site (``-s``) and no PYTHON* variables (``-E``)."""
    make_repo(tmp_path, {"a.md": block("smln/m.py", "x = 1")})
    shutil.copy(ROOT / "tangle.py", tmp_path / "tangle.py")
    shutil.copytree(ROOT / "litnotes", tmp_path / "litnotes", ignore=shutil.ignore_patterns("__pycache__"))
    bare = [sys.executable, "-E", "-s", "-S"]
    done = subprocess.run([*bare, "tangle.py"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([*bare, "tangle.py", "--check"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------------------------------------------------
# Properties over generated Markdown documents

PROSE = st.text(alphabet=st.sampled_from(list("abc XYZ 中文笔记梯度下降。,#*-|>!") + ["\t"]), max_size=40).map(
    lambda s: s.lstrip("#>!|=-*\t ~`"))
TARGETS = ["smln/a.py", "smln/b.py", "smln/pkg/c.py"]


@st.composite
def documents(draw):
    """A list of notes; each note is prose and tangled blocks with a known body, possibly indented."""
    counter = iter(range(10_000))
    notes = []
    for _ in range(draw(st.integers(1, 3))):
        parts, blocks = [], []
        for _ in range(draw(st.integers(0, 5))):
            parts.append(draw(PROSE) + "\n\n")
            target = draw(st.sampled_from(TARGETS + [None]))
            char = draw(st.sampled_from("`~"))
            fence = char * draw(st.integers(3, 6))
            n = next(counter)
            body = f"v{n} = {n}" + draw(st.sampled_from(["", "\n\nw{n} = '中文'", "\nif v{n}:\n    pass"])).format(n=n)
            info = f'python title="{target}"' if target else draw(st.sampled_from(["python", "", "pycon"]))
            text = f"{fence}{info}\n{body}\n{fence}\n"
            if draw(st.booleans()):
                head = draw(st.sampled_from(['!!! note "注"', '=== "标签"', "??? tip"]))
                text = head + "\n\n" + "".join("    " + line if line else line for line in text.splitlines(True))
            parts.append(text + "\n")
            if target:
                blocks.append((target, body))
        notes.append(("".join(parts), blocks))
    return notes


def _write_doc(root: Path, notes) -> dict[str, list[str]]:
    expected: dict[str, list[str]] = {t: [] for t in TARGETS}
    shutil.rmtree(root, ignore_errors=True)
    make_repo(root, {f"{k:02d}.md": text for k, (text, _) in enumerate(notes)})
    (root / "notes/zz.md").write_text(block("smln/pkg/__init__.py", ""), encoding="utf-8")
    for _, blocks in notes:
        for target, body in blocks:
            expected[target] += [line for line in body.splitlines() if line.strip()]
    return expected


@settings(max_examples=60)
@given(documents())
def test_generated_documents_tangle_to_their_blocks_in_order(doc):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        expected = _write_doc(root, doc)
        code, _, err = run(root)
        assert code == 0, err
        for target, lines in expected.items():
            path = root / target
            assert path.exists() == bool(lines)
            if lines:
                assert body_of(path.read_text(encoding="utf-8")) == lines
        code, out, _ = run(root)
        assert code == 0 and "写入 0 个" in out  # a second run changes nothing
        assert run(root, "--check")[0] == 0
        # change one tangled block in a note: --check must fail until the next run
        changed = next(((k, b) for k, (_, blocks) in enumerate(doc) for b in blocks), None)
        if changed:
            k, (_, body) = changed
            note = root / f"notes/{k:02d}.md"
            first = body.splitlines()[0]
            note.write_text(note.read_text(encoding="utf-8").replace(first, first + " + 1", 1), encoding="utf-8")
            assert run(root, "--check")[0] == 1
            assert run(root)[0] == 0 and run(root, "--check")[0] == 0


@settings(max_examples=80)
@given(st.lists(st.one_of(
    PROSE,
    PROSE.map(lambda s: s.replace("a", "$")),
    st.sampled_from(["```", "~~~~", "````python", '```python title="smln/x.py"', '```python title="../x.py"',
                     '~~~ title="smln/y.txt"', '```python title="smln\\z.py"', "    ```", "$$", "[](){#a-b}",
                     "$$ x $$", "[](){#Bad_ID}", "def f(:", "x = 1", "| a | $b$ [](){#c} |", "```python title=\"smln/x.py\""]),
), max_size=30))
def test_any_document_gives_success_or_a_refusal_never_a_crash(lines):
    with tempfile.TemporaryDirectory() as tmp:
        root = make_repo(Path(tmp), {"a.md": "\n".join(lines)})
        for args in ([], ["--check"], ["--formulas", "--json"], ["--where", "smln/x.py:3"]):
            code, _, err = run(root, *args)
            assert code in (0, 1), (args, err)
            if code == 1 and args == []:
                assert all(line.startswith(("notes/", "smln/", "tangle.py:", "    ")) for line in err.splitlines())
        for p in Path(tmp).rglob("*"):  # nothing outside smln/ and notes/
            assert p.relative_to(tmp).parts[0] in ("smln", "notes"), p


@pytest.mark.site  # slow: runs pytest in a copy
def test_stale_smln_stops_the_suite_before_any_test(tmp_path):
    """A note's code block edited and tangle.py not run: pytest stops first thing, in one line, and writes nothing."""
    from tests.repo import copy_repo

    repo = copy_repo(tmp_path)
    note = repo / "notes/01-activations.md"
    note.write_text(note.read_text(encoding="utf-8").replace("return s * (1 - s)", "return s * (1 + s)"), encoding="utf-8")
    before = (repo / "smln/activations.py").read_text(encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_activations.py"],
                          cwd=repo, capture_output=True, text=True)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    assert (proc.stdout + proc.stderr).count("smln/ 与笔记不一致(smln/activations.py):先运行 python tangle.py") == 1
    assert " passed" not in proc.stdout and " failed" not in proc.stdout  # no test ran on the stale code
    assert (repo / "smln/activations.py").read_text(encoding="utf-8") == before  # and nothing was re-tangled


# ------------------------------------------------------------------------------------------------------------
# The edit → test loop


def test_failure_reports_name_the_note_line_of_each_generated_line():
    from tests.conftest import point_to_the_notes

    generated = (ROOT / "smln/optim.py").read_text(encoding="utf-8").splitlines()
    adam = "W[i] -= a * (V[i] / c1) / (math.sqrt(S[i] / c2) + e)"
    k = next(i for i, line in enumerate(generated, start=1) if line.strip() == adam)
    report = point_to_the_notes(f"smln/optim.py:{k}: in adam_update\n"
                                "E       /x/.venv/lib/python3.11/site-packages/numpy/_core/arrayprint.py:1013\n"
                                "tests/test_optimizers.py:1: AssertionError")
    note, line = report.split("[", 1)[1].split("]", 1)[0].rsplit(":", 1)
    assert note == "notes/02b-optimizers.md"
    assert (ROOT / note).read_text(encoding="utf-8").splitlines()[int(line) - 1].strip() == adam
    assert "arrayprint" not in report and "tests/test_optimizers.py:1: AssertionError" in report


@pytest.mark.site  # slow: tangles a copy and runs pytest there (Numba compiles the optimizers afresh)
def test_the_edit_loop_runs_the_tests_of_the_edit_first_and_names_the_edited_line(tmp_path):
    """Flip the sign of Adam's update in a copy: python -m litnotes.changed runs the optimizer tests first, stops at
    the first failure (so no ELMo test runs), and the failure names the edited note line."""
    from tests.repo import copy_repo

    repo = copy_repo(tmp_path)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "notes"]):
        subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)
    note = repo / "notes/02b-optimizers.md"
    lines = note.read_text(encoding="utf-8").split("\n")
    k = next(i for i, line in enumerate(lines) if line.strip().startswith("W[i] -= a * (V[i] / c1)"))
    lines[k] = lines[k].replace("W[i] -= a", "W[i] += a")
    note.write_text("\n".join(lines), encoding="utf-8")
    listed = subprocess.run([sys.executable, "-m", "litnotes.changed", "--list"], cwd=repo, capture_output=True,
                            text=True, env=env)
    plan = [ln.split("←")[0].strip() for ln in listed.stderr.splitlines() if "←" in ln]
    assert plan[0].startswith("tests/test_optimizers.py::") and "tests/test_elmo.py" in plan
    assert plan.index("tests/test_optimizers.py") < plan.index("tests/test_elmo.py")  # most specific first
    run = subprocess.run([sys.executable, "-m", "litnotes.changed", "-q"], cwd=repo, capture_output=True, text=True,
                         env=env)
    out = run.stdout + run.stderr
    assert run.returncode == 1
    assert "FAILED tests/test_optimizers.py::" in run.stdout and "test_elmo" not in run.stdout  # stopped before ELMo
    assert f"notes/02b-optimizers.md:{k + 1} → smln/optim.py:" in out  # the failure names the edited line


def test_rewriting_the_kernel_options_drops_numba_s_cached_kernels(tmp_path):
    cache = tmp_path / "smln" / "__pycache__"
    cache.mkdir(parents=True)
    names = ["optim.adam_update-1.py311.nbi", "optim.adam_update-1.py311.1.nbc", "optim.cpython-311.pyc"]
    for name in names:
        (cache / name).write_text("")
    tangle.apply(tmp_path, tangle.Plan({"smln/optim.py": "x = 1\n"}, [], [], {}))
    assert sorted(p.name for p in cache.iterdir()) == sorted(names)  # a kernel's own file: Numba sees that itself
    tangle.apply(tmp_path, tangle.Plan({"smln/jit.py": "x = 1\n"}, [], [], {}))
    assert [p.name for p in cache.iterdir()] == ["optim.cpython-311.pyc"]
