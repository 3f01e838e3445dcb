"""Each chapter as a Jupyter notebook that the site offers for download (``notebooks/<chapter>.ipynb``).

The notebook is the note read by Jupytext, exactly as JupyterLab opens ``notes/<chapter>.md`` with the project's
``jupytext.toml``: package code, figures and examples are code cells, everything else Markdown. It is generated when
the site is built, never stored, and carries no outputs; one Markdown cell at the top says where it comes from.
"""

from __future__ import annotations

import json
from pathlib import Path

FOLDER = "notebooks"
KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
ABOUT = (
    "> 这个笔记本由笔记 `notes/{note}` 生成(构建网站时,用 Jupytext),没有输出。它要在 smln 的仓库里运行:\n"
    '> `pip install -e ".[notebook]"` 之后 `jupyter lab`。在 JupyterLab 里直接打开 `notes/{note}`(右键 → 打开方式 →\n'
    "> Notebook)是同一个笔记本,而且保存时改的就是笔记本身,`python tangle.py` 再把改动带进 `smln/`。"
)


def chapters(root: Path) -> list[Path]:
    """The chapter notes (``notes/01-activations.md`` …): the notes whose names start with their number."""
    return sorted((root / "notes").glob("[0-9]*.md"))


def path_of(note_name: str) -> str | None:
    """The notebook of a page (``01-activations.md`` → ``notebooks/01-activations.ipynb``), or ``None`` if the page is
    not a chapter."""
    name = Path(note_name)
    if name.parent != Path(".") or name.suffix != ".md" or not name.stem[:1].isdigit():
        return None
    return f"{FOLDER}/{name.stem}.ipynb"


def notebook(note: Path) -> str:
    """The notebook of one chapter, as the JSON text of an ``.ipynb`` file (nbformat 4, validated, stable cell ids)."""
    import jupytext
    import nbformat

    nb = jupytext.reads(note.read_text(encoding="utf-8"), fmt="md")
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(ABOUT.format(note=note.name)))
    nb.metadata = nbformat.NotebookNode({"kernelspec": KERNEL, "language_info": {"name": "python"}})
    nb.nbformat, nb.nbformat_minor = 4, 5
    for k, cell in enumerate(nb.cells):
        cell.id = f"{note.stem}-{k}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(nb)
    return json.dumps(nb, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def notebooks(root: Path) -> dict[str, str]:
    """Every chapter's notebook: its path in the site and its text."""
    return {path_of(note.name): notebook(note) for note in chapters(root)}


def with_link(markdown: str, note_name: str) -> str:
    """A chapter's Markdown with the download link as the first line after its title (other pages unchanged)."""
    line = link(note_name)
    if line is None:
        return markdown
    lines = markdown.split("\n")
    k = next((i + 1 for i, text in enumerate(lines) if text.startswith("# ")), 0)
    return "\n".join([*lines[:k], "", line, "", *lines[k:]])


def link(note_name: str) -> str | None:
    """The line the chapter's page shows under its title: a download link to its notebook."""
    path = path_of(note_name)
    if path is None:
        return None
    return (f'[下载本章的 Jupyter 笔记本(.ipynb)]({path})'
            f'{{ .smln-notebook download="{Path(path).name}" title="在 Jupyter 里运行本章:代码、图与例子都是可以运行的格子" }}')
