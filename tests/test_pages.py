"""The site's generated pages, as Markdown (the browser tests look at them rendered)."""

import json

from smln_site import pages
from tests.oracle import ROOT


def test_performance_page_lists_every_measured_row():
    data = json.loads((ROOT / pages.RESULTS).read_text(encoding="utf-8"))
    page = pages.performance_page(ROOT)
    rows = [ln for ln in page.splitlines() if ln.startswith("| ") and not ln.startswith(("| 用例", "| ---"))]
    assert len(rows) == len(data["rows"]) > 0
    for line, r in zip(rows, data["rows"], strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == r["case"] and float(cells[2]) == round(r["smln_s"] * 1e3, 3)
        if r["ratio"] is not None:
            assert float(cells[4]) == round(r["ratio"], 2)
            missed = r["aim"] is not None and r["ratio"] > r["aim"]
            assert cells[5].endswith("✗") == missed
    assert data["machine"]["threads"] == 1 and 'exec="on"' in page


def test_generated_pages_are_marked_so_tangle_skips_them(tmp_path):
    from litnotes import tangle
    from tests.repo import copy_repo

    repo = copy_repo(tmp_path)
    before = [p.relative_to(repo) for p in tangle.note_paths(repo)]
    assert pages.prebuild(repo) == 0
    for name in pages.PAGES:
        text = (repo / "notes" / name).read_text(encoding="utf-8")
        assert text.startswith(tangle.GENERATED_PAGE)
    assert [p.relative_to(repo) for p in tangle.note_paths(repo)] == before
