"""MkDocs hooks for the smln site: the part of the site that needs MkDocs itself. Everything else lives in the
package ``smln_site`` (a Markdown extension and page generators that Zensical can use too).

* ``on_pre_build``: run ``tangle.py`` (so ``mkdocs serve`` re-tangles when a note changes; tangling writes only
  what changed, so this cannot loop) and forget the imported ``smln`` modules, so the figures drawn during the
  build use the code just tangled.
* ``on_config``: the API section of the navigation, one page per module of ``smln``, in the order the notes
  introduce them (``litnotes.catalog`` reads it from the notes; ``mkdocs.yml`` names only the section).
* ``on_files``: add the generated pages 公式与测试 (``formulas.md``), 原文对照 (``original.md``), 性能 and the API
  pages without writing them anywhere (a copy left in ``notes/`` by ``python -m smln_site.pages`` is replaced), and
  each chapter's notebook (``notebooks/<chapter>.ipynb``, ``smln_site.notebooks``).
* ``on_page_markdown``: a chapter's page links its notebook under its title.
* ``on_page_content``: a figure or example whose code failed stops the build at its page, naming the note
  (markdown-exec logs the failure as a warning and goes on, so ``--strict`` would stop only after every other page).
"""

from __future__ import annotations

import logging
import re
import sys
import textwrap
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
# the checkout being built (smln, smln_site, litnotes) comes first, not whichever copy pip installed: the tests build
# copies of the repository, and a site is always built from the code beside its notes
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from litnotes import tangle  # noqa: E402
from smln_site import notebooks, pages  # noqa: E402

API_SECTION = "API 参考"


class _FailedBlocks(logging.Handler):
    """Collects what markdown-exec logs about a code block it could not run (under MkDocs it logs to
    ``mkdocs.plugins.markdown_exec…``)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


_FAILED = _FailedBlocks()
_EXEC_LOGGER = logging.getLogger("mkdocs.plugins.markdown_exec")


def _titles(nav) -> dict[str, str]:
    """Each page of the navigation → its title there (the chapters' "1. 激活函数" …)."""
    titles: dict[str, str] = {}
    for entry in nav or []:
        if isinstance(entry, dict):
            for title, value in entry.items():
                if isinstance(value, str):
                    titles[value] = title
                else:
                    titles |= _titles(value)
    return titles


def on_config(config):
    titles = _titles(config["nav"]) | {"index.md": "共同的约定(首页)"}
    for k, entry in enumerate(config["nav"] or []):
        if isinstance(entry, dict) and API_SECTION in entry:
            config["nav"][k] = {API_SECTION: pages.api_nav(ROOT, titles)}  # grouped by chapter
            return config
    raise PluginError(f"mkdocs.yml: nav 里没有 “{API_SECTION}” 一节,API 页面无处可放")


def on_pre_build(config) -> None:
    _FAILED.messages.clear()
    _EXEC_LOGGER.addHandler(_FAILED)  # for this build only (mkdocs serve loads the hooks again for each build)
    code, err = pages.tangle_quietly(ROOT)
    if code != 0:
        raise PluginError(f"tangle.py 拒绝生成 smln/:\n{err}")
    for name in [m for m in sys.modules if m == "smln" or m.startswith("smln.")]:
        del sys.modules[name]


def on_files(files, config):
    try:
        generated = pages.generated(ROOT)
    except ValueError as exc:
        raise PluginError(str(exc)) from None
    for name, text in {**generated, **notebooks.notebooks(ROOT)}.items():
        existing = files.get_file_from_path(name)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, name, content=text))
    return files


def on_page_markdown(markdown, page, config, files):
    return notebooks.with_link(markdown, page.file.src_uri)


def on_page_content(html, page, config, files):
    if _FAILED.messages:
        note = Path(config["docs_dir"]) / page.file.src_uri
        shown = note.relative_to(ROOT) if note.is_relative_to(ROOT) else note  # notes/x.md, as the tests' errors say
        raise PluginError(_failure(note, shown, _FAILED.messages[0]))
    return html


_LOGGED = re.compile(r"Code block is:\n\n(?P<code>.*?)\n\nOutput is:\n\n(?P<output>.*)", re.S)
_FRAME = re.compile(r'File "<code block: [^>]*>", line (?P<line>\d+)')


def _failure(note: Path, shown: Path, logged: str) -> str:
    """``notes/x.md:LINE: <the error>``: the line in the note where the failed block raised (markdown-exec numbers the
    lines of the block, and logs the block with its traceback), or the note alone when the block is not found."""
    found = _LOGGED.search(logged)
    if found is None:
        return f"{shown}: 这一页的代码块运行出错,构建停在这一页:{logged.strip()}"
    code = textwrap.dedent(found["code"]).strip("\n")
    output = textwrap.dedent(found["output"]).strip().splitlines()
    where = str(shown)
    try:
        fences = [f for f in tangle.read_note(note, ROOT).fences if f.text.strip("\n") == code]
    except (OSError, ValueError):
        fences = []
    frames = _FRAME.findall(found["output"])
    if fences:
        where = f"{shown}:{fences[0].start + (int(frames[-1]) if frames else 1)}"
    return f"{where}: 这一页的代码块运行出错,构建停在这一页:{output[-1] if output else ''}"


def on_post_build(config) -> None:
    _EXEC_LOGGER.removeHandler(_FAILED)


def on_build_error(error) -> None:
    _EXEC_LOGGER.removeHandler(_FAILED)
