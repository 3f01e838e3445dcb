"""The site: ``mkdocs build --strict``, then every page in a real headless Chromium, served on localhost.

Where no browser is installed these tests say so and skip, except in CI (``CI`` set), where a missing browser is a
failure. The site is built from a copy of the repository (building tangles, and a test never writes into the
repository). Screenshots go to a temporary folder, or to ``$SMLN_SCREENSHOTS`` when that is set.

All of these are marked ``site``: ``pytest -m "not site"`` is the fast loop.
"""

from __future__ import annotations

import ast
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from litnotes import tangle
from tests import site_build
from tests.oracle import ROOT
from tests.repo import copy_repo

pytestmark = pytest.mark.site  # spread over both workers, which share one build of the site (the fixture below)

# every request that is not for localhost goes to a proxy that is not there, so it fails (and Visit records it); this
# blocks without intercepting requests, which would switch the browser's cache off
NO_WAY_OUT = {"server": "http://127.0.0.1:9", "bypass": "127.0.0.1,localhost"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _missing(why: str):
    if os.environ.get("CI"):
        pytest.fail(f"{why} (CI must run the browser tests)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def site(pytestconfig) -> Path:
    """The site, built once for the whole run and every worker: started in the background as soon as the tests are
    collected (``tests/site_build.py``); a test that needs it waits for it here."""
    out, code, log = site_build.wait(pytestconfig)
    assert code == 0, log
    assert "WARNING" not in log, log
    return out


def test_strict_build_has_every_page(site):
    pages = {p.parent.relative_to(site).as_posix() for p in site.rglob("index.html")}
    notes = {p.relative_to(ROOT / "notes").with_suffix("").as_posix() for p in (ROOT / "notes").rglob("*.md")}
    expected = {"." if n == "index" else n.removesuffix("/index") for n in notes} | {"formulas", "original", "performance"}
    assert expected <= pages, expected - pages
    modules = {p.stem for p in (ROOT / "smln").glob("*.py") if not p.stem.startswith("_")}
    assert {f"api/{m}" for m in modules} <= pages  # an API page for every public module
    chapters = {p.stem for p in (ROOT / "notes").glob("[0-9]*.md")}
    assert {p.stem for p in (site / "notebooks").glob("*.ipynb")} == chapters  # each chapter's notebook


class _Files(http.server.SimpleHTTPRequestHandler):
    """The built site, quietly, with the assets cacheable: the browser loads the theme's scripts, KaTeX and its fonts
    once per visit instead of once per page (the site does not change while the tests read it)."""

    def end_headers(self):
        self.send_header("Cache-Control", "max-age=3600")
        super().end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(site):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Files, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing('playwright is not installed: pip install -e ".[browser]"')
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        _missing("Debian's chromium is not installed: apt-get install chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, proxy=NO_WAY_OUT)
        yield b
        b.close()


class Visit:
    """A browser context that records every request leaving localhost (the browser's proxy makes them fail) and every
    console error."""

    def __init__(self, browser, width=1280, **options):
        self.context = browser.new_context(viewport={"width": width, "height": 900}, **options)
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", self._request)

    def _request(self, request):
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in ("127.0.0.1", "localhost"):
            self.outside.append(request.url)

    def open(self, url: str, page=None):
        """Load ``url`` in a new tab, or in ``page`` (a tab this visit opened before: its scripts come from the
        cache, and there is no tab to set up)."""
        if page is None:
            page = self.context.new_page()
            page.on("console", lambda m: m.type == "error" and self.errors.append(f"{page.url}: {m.text}"))
            page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))
        page.goto(url, wait_until="load")
        page.wait_for_function("document.querySelectorAll('.arithmatex:not([data-katex])').length === 0",
                               timeout=15_000)
        page.evaluate("() => document.fonts.ready.then(() => true)")  # text is measured in its real fonts
        return page

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.context.close()


@pytest.fixture
def visit(browser):
    with Visit(browser) as v:
        yield v


def _pages(site: Path) -> list[str]:
    return sorted(p.parent.relative_to(site).as_posix().replace(".", "") for p in site.rglob("index.html")
                  if "assets" not in p.parts and "search" not in p.parts)


def _figures_in(page_path: str) -> int:
    """How many figures a page draws: its note's exec blocks, or a generated page's."""
    from smln_site import pages

    if f"{page_path}.md" in pages.PAGES:
        text = pages.generated(ROOT)[f"{page_path}.md"]
        return sum(1 for f in tangle.parse_note(text, page_path).fences if 'exec="on"' in f.info)
    note = ROOT / "notes" / (f"{page_path}.md" if page_path else "index.md")
    if not note.exists():
        return 0
    return sum(1 for f in tangle.read_note(note, ROOT).fences if 'exec="on"' in f.info)


SHARDS = 4  # the pages are checked in four parts, which pytest-xdist gives to both workers


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_page_renders_offline_without_errors(site, server, visit, shard):
    """Every page at 1280 px: its formulas typeset, its figures drawn, no broken image, nothing loaded from outside, and
    it fits the width (no sideways scrolling, no code cut off, no tiny figure text); then the same page at a phone's
    390 px (no sideways scrolling). Every page the site has: the nav, the API pages, the generated ones, read from the
    build, so a new chapter is covered without being listed here."""
    report, problems, page = [], [], None
    for path in _pages(site)[shard::SHARDS]:
        if page is not None:  # one tab for every page, back at the laptop width
            page.set_viewport_size({"width": 1280, "height": 900})
        page = visit.open(f"{server}/{path}/" if path else f"{server}/", page)
        counts = page.evaluate("""() => ({
            math: document.querySelectorAll('.arithmatex').length,
            rendered: document.querySelectorAll('.arithmatex > .katex, .arithmatex > .katex-display').length,
            katexErrors: document.querySelectorAll('.katex-error').length,
            figures: document.querySelectorAll('figure.smln-figure > svg, table.smln-samples').length,  // exec blocks' output
            brokenImages: Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length,
        })""")
        report.append((path or "/", counts))
        assert counts["rendered"] == counts["math"], (path, counts)
        assert counts["katexErrors"] == 0, (path, counts)
        assert counts["figures"] == _figures_in(path), (path, counts)
        assert counts["brokenImages"] == 0, (path, counts)
        problems += _width_problems(page, path, 1280)  # the laptop width, on the same visit
        page.set_viewport_size({"width": 390, "height": 844})  # a phone: the same page laid out again, as on rotating
        problems += _width_problems(page, path, 390)
    assert not problems, "\n".join(problems)
    assert not visit.errors, visit.errors
    assert not visit.outside, f"requests left localhost: {visit.outside}"
    print("\n".join(f"{p}: {c}" for p, c in report))
    by_path = dict(report)
    for path, least in (("01-activations", 20), ("formulas", 40)):  # pages known to hold many formulas
        if path in by_path:
            assert by_path[path]["math"] > least, (path, by_path[path])


def test_a_request_leaving_localhost_is_recorded_and_fails(server, visit):
    """The check behind "nothing loaded from outside": an image by IP address and a fetch by name, from a page of the
    site, are both recorded and both fail."""
    page = visit.open(f"{server}/")
    loaded = page.evaluate("""async () => {
        const img = new Image();
        const image = new Promise(done => { img.onload = () => done(true); img.onerror = () => done(false); });
        img.src = 'http://93.184.216.34/pixel.png';
        let fetched = true;
        try { await fetch('https://example.com/script.js'); } catch (e) { fetched = false; }
        return [await image, fetched];
    }""")
    assert loaded == [False, False]
    assert [u for u in visit.outside if "93.184.216.34" in u] and [u for u in visit.outside if "example.com" in u]


SEARCHES = [
    ("偏差校正", "02b-optimizers/#adam"),
    ("梯度消失", "02-gradient-descent/#梯度消失和梯度爆炸"),
    ("Adam", "02b-optimizers/#adam"),
    ("RMSprop", "02b-optimizers/#rmsprop"),
    ("权重衰减", "02-gradient-descent/#l2-正则修正的梯度权重衰减"),
    ("偏差", "02b-optimizers/#adam"),  # the start of a whole term still finds it
]


def test_search_finds_each_section(server, visit):
    """Each query, typed into the search box one after another, lists its section among the results."""
    page = visit.open(f"{server}/")
    page.click("label.md-search__icon, .md-search__input")
    for query, expected in SEARCHES:
        page.fill(".md-search__input", "")  # the box emptied: no results left from the query before
        page.wait_for_function("document.querySelectorAll('.md-search-result__item').length === 0", timeout=15_000)
        page.keyboard.type(query)  # text as an input method commits it ...
        page.keyboard.press("End")  # ... and a key event, on which material searches
        page.wait_for_selector(".md-search-result__item", timeout=15_000)
        hrefs = page.eval_on_selector_all(".md-search-result__link", "els => els.map(e => e.getAttribute('href'))")
        found = [unquote(urlparse(h).path + ("#" + urlparse(h).fragment if urlparse(h).fragment else "")) for h in hrefs]
        assert any(f.endswith(expected) for f in found), (query, found)
    assert not visit.outside


def test_api_page_shows_adam_with_its_docstring(server, visit):
    page = visit.open(f"{server}/api/optim/")
    heading = page.locator('[id="smln.optim.Adam"]')
    assert heading.count() == 1 and "Adam" in heading.inner_text()
    body = page.inner_text("article")
    assert "Adam:动量与 RMSprop 的结合,带偏差校正" in body and "beta2" in body
    link = page.locator('a[href*="02b-optimizers/#adam-v"]').first  # back to the formula in the note
    link.click()  # material's instant navigation: the page is swapped in without a reload ...
    page.wait_for_url("**/02b-optimizers/#adam-v")
    assert page.locator('[id="adam-v"]').count() == 1
    page.wait_for_function(  # ... and its formulas are rendered again
        "document.querySelectorAll('.arithmatex').length > 100 && "
        "document.querySelectorAll('.arithmatex:not([data-katex])').length === 0", timeout=15_000)
    assert page.evaluate("document.querySelectorAll('.katex-error').length") == 0
    assert not visit.errors, visit.errors


def test_a_chapter_page_offers_its_notebook(server, browser, tmp_path):
    """The link under a chapter's title downloads the chapter as a notebook that parses and validates, offline."""
    nbformat = pytest.importorskip("nbformat")
    with Visit(browser, accept_downloads=True) as v:
        page = v.open(f"{server}/02b-optimizers/")
        link = page.locator("article a.smln-notebook")
        assert link.count() == 1 and link.is_visible()
        with page.expect_download() as info:
            link.click()
        download = info.value
        assert download.suggested_filename == "02b-optimizers.ipynb"
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        assert not v.outside and not v.errors, (v.outside, v.errors)
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert any(c.metadata.get("title") == "smln/optim.py" for c in code) and all(not c.outputs for c in code)
    assert "notes/02b-optimizers.md" in nb.cells[0].source


def test_formula_test_link_leads_to_existing_tests(server, visit):
    page = visit.open(f"{server}/02-gradient-descent/")
    page.click('div.formula-ref-block:has([id="gd-weight-decay"]) .formula-tests')
    page.wait_for_url("**/formulas/#tests-gd-weight-decay")
    labels = page.evaluate("""() => {
        const h = document.getElementById('tests-gd-weight-decay');
        const out = [];
        for (let el = h.nextElementSibling; el && el.tagName !== 'H3' && el.tagName !== 'H2'; el = el.nextElementSibling)
            el.querySelectorAll('li a code').forEach(c => out.push(c.textContent));
        return out;
    }""")
    assert labels, "no tests listed under the formula"
    for label in labels:
        file, name = label.split("::")
        defined = {n.name for n in ast.parse((ROOT / file).read_text(encoding="utf-8")).body
                   if isinstance(n, ast.FunctionDef)}
        assert name in defined, label
    label = "tests/test_gradient_descent.py::test_errata_weight_decay_multiplies_by_alpha"
    assert label in labels
    page.locator("article li a", has_text=label).click()  # its source, on the test file's page
    page.wait_for_url("**/tests/test_gradient_descent/#test_gradient_descent--test_errata_weight_decay_multiplies_by_alpha")
    heading = page.locator('[id="test_gradient_descent--test_errata_weight_decay_multiplies_by_alpha"]')
    source = heading.evaluate("h => { let el = h.nextElementSibling; while (el && !el.querySelector('pre')) "
                              "el = el.nextElementSibling; return el.querySelector('pre').textContent; }")
    assert source.lstrip().startswith(("@pytest", "def test_errata_weight_decay_multiplies_by_alpha"))
    assert "gd-weight-decay" in heading.evaluate("h => h.nextElementSibling.textContent")  # the formulas it checks
    assert not visit.errors, visit.errors


def test_the_formulas_page_is_small_and_each_test_source_appears_once(site):
    """The formulas page lists, the test pages show: each test's source is on its file's page, once."""
    formulas = (site / "formulas/index.html").read_bytes()
    assert len(formulas) < 600_000, len(formulas)  # it was 2.2 MB when every test's source sat under each formula
    for page in (site / "tests").glob("*/index.html"):
        html = page.read_text(encoding="utf-8")
        ids = [i for i in html.split('id="')[1:] if "--test_" in i.split('"')[0]]
        names = [i.split('"')[0] for i in ids]
        assert names and len(names) == len(set(names)), page


def test_inline_formula_mark_reveals_its_links_on_focus(server, visit):
    page = visit.open(f"{server}/02b-optimizers/")
    ref = page.locator('span.formula-ref:has(> [id="mom-v"])')
    links = ref.locator(".formula-links")
    assert not links.is_visible()  # a small mark in the sentence, nothing more
    assert ref.locator(".formula-mark").inner_text().strip() == "#"
    ref.locator(".formula-mark").focus()  # keyboard reachable: it is a link with tabindex
    assert links.is_visible()
    assert "✓ 3 个测试" in links.inner_text() and "Momentum" in links.inner_text()
    href = links.locator(".formula-tests").get_attribute("href")
    assert href.endswith("formulas/#tests-mom-v")
    assert not visit.errors, visit.errors


CHAPTERS = [p.stem for p in sorted((ROOT / "notes").glob("[0-9]*.md"))]  # every chapter, from the notes
CODE_SHARE = """() => {
    const article = document.querySelector("article").getBoundingClientRect().height;
    let code = 0;
    document.querySelectorAll("article details.smln-code").forEach(d => code += d.getBoundingClientRect().height);
    return code / article;
}"""


def _tangled_blocks(chapter: str) -> list[str]:
    note = tangle.read_note(ROOT / f"notes/{chapter}.md", ROOT)
    return [f.text.rstrip("\n") for f in note.fences if (f.title or "").startswith("smln/")]


def test_pages_read_as_notes_code_one_click_away(server, browser):
    """Each chapter reads as notes: its table of contents lists every section, the tangled code is folded away (at
    most a fifth of the page), one switch shows it all, exactly as tangle.py writes it, and the next chapter opens with
    the code shown (the choice is remembered) until the switch is turned off again. The chapters one after another,
    in one tab."""
    tangled = "\n".join((ROOT / p).read_text(encoding="utf-8") for p in sorted((ROOT / "smln").glob("*.py")))
    switch, page = ".smln-show-code input", None
    opened = "[...document.querySelectorAll('details.smln-code')].map(d => d.open)"
    with Visit(browser) as visit:
        for k, chapter in enumerate(CHAPTERS):
            page = visit.open(f"{server}/{chapter}/", page)
            headings = page.evaluate("[...document.querySelectorAll('article h2[id], article h3[id]')].map(h => h.id)")
            toc = page.evaluate("[...document.querySelectorAll('nav.md-nav--secondary a.md-nav__link')]"
                                ".map(a => decodeURIComponent(a.hash.slice(1)))")
            assert headings and set(headings) <= set(toc), (chapter, set(headings) - set(toc))
            blocks = page.locator("article details.smln-code")
            assert blocks.count() == len(_tangled_blocks(chapter)) > 0, chapter
            if k > 0:  # remembered from the chapter before: shown; then folded again with the same switch
                assert page.locator(switch).is_checked() and all(page.evaluate(opened)), chapter
                page.locator(switch).uncheck()
            assert not any(page.evaluate(opened)), chapter
            share = page.evaluate(CODE_SHARE)
            print(f"{chapter}: tangled code takes {share:.1%} of the article at 1280 px")
            assert share <= 0.20, (chapter, share)
            page.locator(switch).check()  # 显示全部代码
            assert all(page.evaluate(opened)), chapter
            shown = page.evaluate("[...document.querySelectorAll('details.smln-code pre code')].map(c => c.textContent)")
            assert [t.rstrip("\n") for t in shown] == _tangled_blocks(chapter), chapter  # what tangle.py writes
            assert all(t.rstrip("\n") in tangled for t in shown), chapter
            # docstring links are links, and the text stays the text
            link = page.locator("details.smln-code a.smln-doclink").first
            assert link.count() == 1 and unquote(link.get_attribute("href").split("#")[-1]) in link.inner_text()
            formula = page.locator("details.smln-code a.smln-doclink", has_text="][]").first  # 公式(notes/…):[id][]
            fid = formula.inner_text().strip("[]")
            assert formula.get_attribute("href").endswith(f"#{fid}"), chapter
            assert page.locator(f'[id="{fid}"]').count() == 1 or "/" in formula.get_attribute("href")
            wide = page.evaluate("[...document.querySelectorAll('article pre > code')]"
                                 ".filter(c => c.scrollWidth > c.clientWidth + 1).length")
            assert wide == 0, f"{chapter}: {wide} code blocks are cut off at the right"
        assert not visit.errors, visit.errors


SMALLEST_FIGURE_TEXT = """() => Math.min(...[...document.querySelectorAll('article figure.smln-figure svg text')]
    .filter(t => t.textContent.trim())
    .map(t => t.getBoundingClientRect().height || Infinity))"""
CLIPPED_CODE = ("[...document.querySelectorAll('article pre > code')]"
                ".filter(c => c.offsetParent && c.scrollWidth > c.clientWidth + 1).length")


def _width_problems(page, path: str, width: int) -> list[str]:
    """No sideways scrolling, with the code folded or shown; at 1280 px no code block cut off at the right and no
    figure text smaller than 7 px."""
    problems = []
    for show in (False, True):
        page.evaluate(f"document.querySelectorAll('details').forEach(d => d.open = {'true' if show else 'false'})")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            problems.append(f"/{path}/ at {width}px scrolls sideways by {overflow}px (code shown: {show})")
    if width >= 1280:
        if clipped := page.evaluate(CLIPPED_CODE):
            problems.append(f"/{path}/: {clipped} code blocks are cut off at the right")
        smallest = page.evaluate(SMALLEST_FIGURE_TEXT)
        if smallest < 7:
            problems.append(f"/{path}/: figure text {smallest:.1f}px high")
    return problems


def test_each_kind_of_page_loaded_on_a_phone_fits_it(site, server, browser):
    """Loaded at 390 px from the start (not narrowed after loading, as the check of every page above does): the home
    page, a chapter, the formulas page, an API page, a test-source page and the errata."""
    every = _pages(site)
    kinds = ["", "04-sequence-models", "formulas", "api/optim", "errata", next(p for p in every if p.startswith("tests/"))]
    problems, page = [], None
    with Visit(browser, width=390) as visit:
        for path in kinds:
            assert path in every, path
            page = visit.open(f"{server}/{path}/" if path else f"{server}/", page)
            problems += _width_problems(page, path, 390)
        assert not visit.errors, visit.errors
    assert not problems, "\n".join(problems)




def test_original_text_is_marked_and_compared(server, visit):
    from litnotes import fidelity

    page = visit.open(f"{server}/02b-optimizers/")
    blocks = page.locator("article .original")
    assert blocks.count() >= 8
    style = page.evaluate("getComputedStyle(document.querySelector('article .original')).borderLeftWidth")
    assert float(style.removesuffix("px")) > 0  # the thin rule that marks the original's text
    assert "随机梯度下降时,批次的样本数大小为1。" in blocks.all_inner_texts()[2] + blocks.all_inner_texts()[1]
    label = "(e => { const s = getComputedStyle(e, '::before'); return [s.content, s.opacity, s.visibility]; })"
    content, opacity, visibility = blocks.first.evaluate(label)  # the label is there without hovering
    assert "原文" in content and float(opacity) == 1 and visibility == "visible"
    page = visit.open(f"{server}/05-word-embeddings/")
    restored = page.locator("article .restored")
    assert restored.count() >= 10
    source = restored.first.get_attribute("data-source")
    content, opacity, visibility = restored.first.evaluate(label)  # "复原 · <its source>", visible
    assert "复原" in content and source and source in content and float(opacity) == 1 and visibility == "visible"
    style = restored.first.evaluate("e => getComputedStyle(e).borderLeftStyle")
    assert style == "dashed"
    assert page.locator("article .restored .arithmatex").count() >= 10  # the formulas inside are typeset
    notices = page.locator("article .admonition.ours")
    sections = page.locator("article h2, article h3, article h4")
    assert notices.count() == sections.count() >= 9  # every section says what the original kept
    page = visit.open(f"{server}/original/")
    table = page.inner_text("article table")
    for s in fidelity.read_original(ROOT):
        assert s.title.split("$")[0].strip() in table, s.title  # every section of the original has its row
    assert "待写" not in table and "02b-optimizers.md" in table  # every section is carried or omitted
    page.locator("article a[href*='02b-optimizers/#momentum']").first.click()
    page.wait_for_url("**/02b-optimizers/#momentum")
    assert not visit.errors, visit.errors


def test_screenshots(server, browser, tmp_path):
    SCREENSHOTS = Path(os.environ.get("SMLN_SCREENSHOTS") or tmp_path)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        with Visit(browser, width=390, color_scheme=scheme) as visit:
            page = visit.open(f"{server}/02b-optimizers/")
            page.screenshot(path=str(SCREENSHOTS / f"chapter-390-{scheme}.png"), full_page=False)
    for scheme in ("light", "dark"):
        with Visit(browser, color_scheme=scheme) as visit:
            shots = {"home": "/", "chapter": "/02b-optimizers/", "api": "/api/optim/"} if scheme == "light" else {
                "chapter": "/02b-optimizers/"}
            for name, path in shots.items():
                page = visit.open(server + path)
                target = SCREENSHOTS / f"{name}-{scheme}.png"
                page.screenshot(path=str(target), full_page=False)
                assert target.stat().st_size > 10_000
                if scheme == "dark":
                    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "slate"


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - localhost only
        return response.read().decode("utf-8")


def _wait_for(predicate, timeout: float, what: str):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_serve_re_tangles_when_a_note_changes(tmp_path):
    """The live loop, on a copy of the repository: edit a code block in a note, and mkdocs serve re-tangles smln/,
    rebuilds the API page, and then settles (tangling writes nothing the second time, so it cannot loop)."""
    import socket

    repo = copy_repo(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
                            cwd=repo, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    try:
        url = f"http://127.0.0.1:{port}/api/activations/"
        _wait_for(lambda: "smln.activations.sigmoid" in _get(url), 120, "the first build")
        note = repo / "notes/01-activations.md"
        text = note.read_text(encoding="utf-8")
        marker = "sigmoid 函数 σ(z) = 1 / (1 + e^(-z)),数值稳定。"
        assert marker in text
        note.write_text(text.replace(marker, marker + "(实时更新)"), encoding="utf-8")
        _wait_for(lambda: "(实时更新)" in _get(url), 120, "the API page to show the edited docstring")
        assert "(实时更新)" in (repo / "smln/activations.py").read_text(encoding="utf-8")
        builds = (tmp_path / "serve.log").read_text(encoding="utf-8").count("Documentation built")
        import time

        time.sleep(6)
        settled = (tmp_path / "serve.log").read_text(encoding="utf-8").count("Documentation built")
        assert settled == builds, "mkdocs serve kept rebuilding after the edit"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_a_figure_that_fails_stops_the_build_at_its_page(tmp_path):
    """A figure whose code raises stops the build at once (not after every other page, as ``--strict`` would), with
    the note's file and the line that raised; markdown-exec's traceback is shown above it."""
    repo = copy_repo(tmp_path)
    note = repo / "notes/01-activations.md"
    text = note.read_text(encoding="utf-8").replace("show(fig)", "raise RuntimeError('图画坏了')", 1)
    note.write_text(text, encoding="utf-8")
    line = 1 + text.splitlines().index(next(t for t in text.splitlines() if "图画坏了" in t))
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "out")],
                          cwd=repo, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"notes/01-activations.md:{line}: " in output and "RuntimeError: 图画坏了" in output
    assert "in strict mode" not in output  # stopped at the page, not by --strict after the whole build
    assert not (tmp_path / "out/02-gradient-descent/index.html").exists()


def test_zensical_builds_the_same_site(tmp_path):
    """Zensical (Material for MkDocs' successor) on the same mkdocs.yml: it has no hooks, so the pre-build step
    tangles and writes the generated pages; the Markdown extension draws the formula badges, as under MkDocs."""
    zensical = shutil.which("zensical", path=str(Path(sys.executable).parent))
    if zensical is None:
        _missing('zensical is not installed (pip install -e ".[zensical]")')
    repo = copy_repo(tmp_path)
    pre = subprocess.run([sys.executable, "-m", "smln_site.pages"], cwd=repo, capture_output=True, text=True)
    assert pre.returncode == 0, pre.stdout + pre.stderr
    done = subprocess.run([zensical, "build", "--strict"], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    site = repo / "site"
    for page in ("index.html", "01-activations/index.html", "02b-optimizers/index.html", "formulas/index.html",
                 "original/index.html", "api/optim/index.html"):
        assert (site / page).is_file(), page
    chapter = (site / "02b-optimizers/index.html").read_text(encoding="utf-8")
    assert chapter.count('class="original"') >= 8 and chapter.count('class="smln-figure"') >= 3
    assert chapter.count('<details class="smln-code">') == 4  # the tangled blocks, folded
    assert 'id="adam-w"' in chapter and 'href="../formulas/#tests-adam-w"' in chapter and 'id="errata-e8"' in chapter
    assert "smln.optim.Adam" in (site / "api/optim/index.html").read_text(encoding="utf-8")
    notes = lambda root: [p.relative_to(root) for p in tangle.note_paths(root)]  # noqa: E731
    assert notes(repo) == notes(ROOT)  # the pages it wrote into notes/ are not notes
