"""A Python-Markdown extension: every formula ID ``[](){#id}`` of a note becomes an anchor with small links — to
the tests that verify the formula, the API objects that implement it and the errata that corrected it — and
every errata admonition gets an anchor ``#errata-e4``.

It is an extension, not a MkDocs hook, so MkDocs and Zensical render the notes alike::

    markdown_extensions:
      - smln_site.badges

The links are written as links to Markdown files (``formulas.md#id``, ``api/optim.md#smln.optim.Adam``) into the
element tree, where the site generator turns them into relative URLs, as it does for the notes' own links (the
notes all sit at the top of ``notes/``, so these paths are right from every note).

* A display formula's ID (a line of its own) becomes a line of small links under the formula.
* An inline formula's ID becomes a small mark (a superscript ``#``) that does not break the sentence; hovering,
  focusing (it is a link, so the keyboard reaches it) or tapping it shows the same links.
"""

from __future__ import annotations

import xml.etree.ElementTree as etree
from pathlib import Path

from markdown import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

from litnotes.markup import ERRATUM_HEAD_RE, VALID_FORMULA_ID_RE
from smln_site.index import build_index

BLOCK_CLASS = "formula-ref formula-ref-block"


class _Links:
    def __init__(self, root: Path):
        self.root = root
        self.index = None  # read once per page, by ReadIndex

    def refs(self, fid: str) -> list[etree.Element]:
        index = self.index
        out = []
        a = etree.Element("a", {"class": "formula-id", "href": f"#{fid}", "title": f"公式 {fid} 的固定链接"})
        a.text = fid
        out.append(a)
        tests = index.tests.get(fid, [])
        a = etree.Element("a", {"class": "formula-tests", "href": f"formulas.md#tests-{fid}", "title": "检验这个公式的测试"})
        a.text = f"✓ {len(tests)} 个测试"
        out.append(a)
        for obj in index.api.get(fid, []):
            module = obj.rsplit(".", 1)[0].split(".", 1)[1].replace(".", "/")
            a = etree.Element("a", {"class": "formula-api", "href": f"api/{module}.md#{obj}", "title": "实现这个公式的代码"})
            code = etree.SubElement(a, "code")
            code.text = obj.rsplit(".", 1)[1]
            out.append(a)
        note = index.formulas[fid].note.removeprefix("notes/") if fid in index.formulas else None
        for eid in index.errata.get(fid, []):
            a = etree.Element("a", {"class": "formula-errata", "href": f"{note}#errata-{eid.lower()}",
                                    "title": "这个公式改正过原始笔记"})
            a.text = f"勘误 {eid}"
            out.append(a)
        return out


class FormulaIdProcessor(InlineProcessor):
    """``[](){#id}`` → ``<span class="formula-ref"><a class="formula-anchor" id="id"></a>…`` with its links (before the
    link pattern sees it). The anchor is an empty ``<a id>``, which mkdocs-autorefs registers: a docstring's ``[id][]``
    links to the formula in its note."""

    def __init__(self, pattern, md, links: _Links):
        super().__init__(pattern, md)
        self.links = links

    def handleMatch(self, m, data):  # noqa: N802 (Python-Markdown's name)
        fid = m.group("id")
        span = etree.Element("span", {"class": "formula-ref"})
        etree.SubElement(span, "a", {"class": "formula-anchor", "id": fid, "href": f"#{fid}", "aria-hidden": "true",
                                     "tabindex": "-1"})  # the anchor mkdocs-autorefs registers (empty, not focusable)
        mark = etree.SubElement(span, "a", {"class": "formula-mark", "href": f"#{fid}", "tabindex": "0",
                                            "aria-label": f"公式 {fid}:测试、代码与勘误"})
        mark.text = "#"
        panel = etree.SubElement(span, "span", {"class": "formula-links"})
        for link in self.links.refs(fid):
            panel.append(link)
        return span, m.start(0), m.end(0)


class BlockIdTreeprocessor(Treeprocessor):
    """A paragraph that holds nothing but a formula ID belongs to the block after it: it becomes a line of links."""

    def run(self, root):
        for p in root.iter("p"):
            kids = list(p)
            if len(kids) == 1 and kids[0].tag == "span" and "formula-ref" in kids[0].get("class", "") \
                    and not (p.text or "").strip() and not (kids[0].tail or "").strip():
                span = kids[0]
                p.tag, p.text = "div", None
                p.attrib.update({"class": BLOCK_CLASS})
                p.remove(span)
                p.append(span.find("a"))  # the anchor
                for link in span.find("span"):
                    p.append(link)


class ReadIndex(Preprocessor):
    """Once per page, before anything else: what the site knows about each formula (cached until a file changes)."""

    def __init__(self, md, links: _Links):
        super().__init__(md)
        self.links = links

    def run(self, lines):
        self.links.index = build_index(self.links.root)
        return lines


class ErrataAnchors(Preprocessor):
    """An anchor line before each ``!!! bug "勘误 E4:…"`` admonition (fences are already stashed)."""

    def run(self, lines):
        out = []
        for line in lines:
            m = ERRATUM_HEAD_RE.match(line)
            if m:
                out += [f'{m.group("indent")}<a id="errata-{m.group("id").lower()}"></a>', ""]
            out.append(line)
        return out


class BadgesExtension(Extension):
    def __init__(self, **kwargs):
        self.config = {"root": [".", "the repository: where notes/, tests/ and smln/ are"]}
        super().__init__(**kwargs)

    def extendMarkdown(self, md):  # noqa: N802
        links = _Links(Path(self.getConfig("root")).resolve())
        md.preprocessors.register(ReadIndex(md, links), "smln_read_index", 100)
        md.inlinePatterns.register(FormulaIdProcessor(VALID_FORMULA_ID_RE.pattern, md, links), "smln_formula_id", 185)
        md.treeprocessors.register(BlockIdTreeprocessor(md), "smln_formula_block", 15)
        md.preprocessors.register(ErrataAnchors(md), "smln_errata_anchors", 22)  # after fences, before raw HTML
        md.registerExtension(self)


def makeExtension(**kwargs):  # noqa: N802
    return BadgesExtension(**kwargs)
