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
    missed = [r for r in data["rows"] if r["aim"] is not None and r["ratio"] is not None and r["ratio"] > r["aim"]]
    listed = dict(ln[2:].split(":", 1) for ln in page.split("## 未达目标的用例")[-1].split("```")[0].splitlines()
                  if ln.startswith("- **"))  # one item per case: its missed ratios, then why
    for r in missed:  # every miss is listed with its ratio and aim, under its case, under its own heading
        assert f"{r['variant']} {r['ratio']:.2f}(目标 ≤ {r['aim']:g})" in listed[f"**{r['case']}**"]
    assert len(listed) == len({r["case"] for r in missed})
    assert ("## 未达目标的用例" in page) == bool(missed) and ("每个有目标的用例都达到了目标" in page) == (not missed)


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


def test_api_pages_and_navigation_follow_the_notes(tmp_path):
    """A module added in a note gets its API page, its row in the API index and its place in the navigation: there is
    no list of modules to edit by hand."""
    from tests.repo import copy_repo

    repo = copy_repo(tmp_path)
    generated = pages.api_pages(repo)
    assert set(generated) == {"api/index.md", *(f"api/{p.stem}.md" for p in (repo / "smln").glob("*.py")
                                                 if p.stem != "__init__")}
    assert generated["api/optim.md"].strip() == "::: smln.optim"
    note = repo / "notes" / "07-logistic-regression.md"
    note.write_text(note.read_text(encoding="utf-8") + '\n## 附录\n\n```python title="smln/extra.py"\n'
                    '"""一个新模块:由笔记声明。"""\n```\n', encoding="utf-8")
    generated = pages.api_pages(repo)
    assert generated["api/extra.md"].strip() == "::: smln.extra"
    row = next(line for line in generated["api/index.md"].splitlines() if "[smln.extra]" in line)
    assert "一个新模块:由笔记声明" in row and "07-logistic-regression.md#附录" in row
    assert pages.api_nav(repo)[-5:] == [{"smln.extra": "api/extra.md"}, {"smln.validation": "api/validation.md"},
                                        {"smln.base": "api/base.md"}, {"smln.jit": "api/jit.md"},
                                        {"smln.plotting": "api/plotting.md"}]
    grouped = pages.api_nav(repo, {"07-logistic-regression.md": "7. 逻辑回归", "index.md": "首页"})
    assert grouped[-2:] == [{"7. 逻辑回归": [{"smln.logistic": "api/logistic.md"}, {"smln.extra": "api/extra.md"}]},
                            {"首页": [{"smln.validation": "api/validation.md"}, {"smln.base": "api/base.md"},
                                      {"smln.jit": "api/jit.md"}, {"smln.plotting": "api/plotting.md"}]}]
