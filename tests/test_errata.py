"""The errata page and the errata remarks in the chapters agree; each remark names a test that exists."""

import ast
import re

from tests.errata import ERRATA_PAGE, ROOT, remarks

ROW_RE = re.compile(r"^\|\s*(?P<id>E\d+)\s*\|\s*\[[^\]]+\]\((?P<link>[^)#]+)(?:#[^)]*)?\)\s*\|\s*(?P<title>[^|]+?)\s*\|$")


def page_rows():
    rows = {}
    for line in (ROOT / ERRATA_PAGE).read_text(encoding="utf-8").splitlines():
        m = ROW_RE.match(line.strip())
        if m:
            assert m.group("id") not in rows, f"{ERRATA_PAGE}: {m.group('id')} listed twice"
            rows[m.group("id")] = ("notes/" + m.group("link"), m.group("title"))
    return rows


def test_errata_ids_are_unique_and_numbered_in_order():
    ids = [e.id for e in remarks()]
    assert len(ids) == len(set(ids)), f"duplicate errata IDs: {ids}"
    assert sorted(ids, key=lambda i: int(i[1:])) == [f"E{k}" for k in range(1, len(ids) + 1)]


def test_every_remark_is_complete():
    for e in remarks():
        missing = {"原文", "改正", "原因", "检验"} - set(e.fields)
        assert not missing, f"{e.note}:{e.line}: erratum {e.id} lacks {sorted(missing)}"


def test_page_and_remarks_agree():
    rows = page_rows()
    in_notes = {e.id: (e.note, e.title) for e in remarks()}
    assert rows == in_notes, f"{ERRATA_PAGE} lists {rows}\nthe notes' remarks are {in_notes}"


def test_each_remark_names_an_existing_test():
    for e in remarks():
        m = re.search(r"`(?P<file>tests/[\w/]+\.py)::(?P<test>\w+)`", e.fields["检验"])
        assert m, f"{e.note}:{e.line}: erratum {e.id}: 检验 must name `tests/FILE.py::test_name`"
        path = ROOT / m.group("file")
        assert path.is_file(), f"{e.note}:{e.line}: {m.group('file')} does not exist"
        names = {n.name for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(n, ast.FunctionDef)}
        assert m.group("test") in names, f"{e.note}:{e.line}: no test {m.group('test')} in {m.group('file')}"
