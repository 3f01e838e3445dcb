"""The notes as Jupyter notebooks (Jupytext, configured once in ``jupytext.toml``).

* every note opens as a notebook and, saved again after a run (outputs, kernel, cell metadata), is byte for byte what
  it was; an edited cell lands in the note as a hand edit would, and ``tangle.py`` takes it (or refuses it) as usual;
* ``jupyter lab`` does the same through its contents API (a real server on a local port, on a copy of the repository);
* every chapter runs top to bottom in a fresh kernel, its examples show what their ``output`` blocks say, and its
  figures are displayed as figures, not printed as text.

The server and the kernels are slow, so those tests are marked ``site`` (the slow set, with the site's build).
"""

from __future__ import annotations

import doctest
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from litnotes import tangle
from smln_site import notebooks as site_notebooks
from tests.oracle import ROOT
from tests.repo import copy_repo

jupytext = pytest.importorskip("jupytext", reason='the notebook extra is not installed: pip install -e ".[notebook]"')
nbformat = pytest.importorskip("nbformat")
from jupytext.config import load_jupytext_config  # noqa: E402

NOTES = sorted((ROOT / "notes").glob("*.md"))
CHAPTERS = site_notebooks.chapters(ROOT)
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def config(note: Path):
    found = load_jupytext_config(str(note))
    assert found is not None, "jupytext.toml is not found from the notes"
    return found


def as_after_a_run(nb):
    """What JupyterLab sends back after Run All: outputs, execution counts, the kernel, UI state in cell metadata."""
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    for cell in nb.cells:
        cell.metadata.update({"scrolled": True, "tags": ["try-me"], "jp-MarkdownHeadingCollapsed": True,
                              "execution": {"iopub.status.busy": "2026-12-02T10:00:00Z"}})
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
            cell.execution_count = 7
    return nb


def package_cell(nb, target: str):
    return next(c for c in nb.cells if c.cell_type == "code" and c.metadata.get("title") == target)


@pytest.mark.parametrize("note", NOTES, ids=[p.name for p in NOTES])
def test_every_note_round_trips_byte_for_byte(note):
    text = note.read_bytes().decode("utf-8")
    nb = jupytext.reads(text, fmt="md", config=config(note))
    assert jupytext.writes(nb, fmt="md", config=config(note)) == text
    assert jupytext.writes(as_after_a_run(nb), fmt="md", config=config(note)) == text  # outputs are never written


def test_the_cells_are_what_the_notes_say():
    """Package code, figures and examples are code cells (with their fence attributes); sessions, output blocks and
    snippets that must not run are text."""
    note = ROOT / "notes/04-sequence-models.md"
    nb = jupytext.reads(note.read_text(encoding="utf-8"), fmt="md", config=config(note))
    fences = tangle.read_note(note, ROOT).fences
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == sum(f.lang == "python" for f in fences)
    assert sum("title" in c.metadata for c in code) == sum(f.title is not None for f in fences)
    assert sum(c.metadata.get("exec") == "on" for c in code) == sum("exec=" in f.info for f in fences)
    assert all(not c.source.startswith((">>>", "%%")) for c in code)


def test_an_edited_cell_lands_in_the_note_and_tangle_takes_it(tmp_path):
    repo = copy_repo(tmp_path)
    note = repo / "notes/01-activations.md"
    before = note.read_text(encoding="utf-8")
    nb = jupytext.reads(before, fmt="md", config=config(note))
    cell = package_cell(nb, "smln/activations.py")
    old = "def sigmoid("
    assert old in cell.source
    cell.source = cell.source.replace(old, "# edited in Jupyter\n" + old, 1)
    note.write_text(jupytext.writes(as_after_a_run(nb), fmt="md", config=config(note)), encoding="utf-8")
    # the same text a hand edit makes: one line added before the definition, nothing else
    assert note.read_text(encoding="utf-8") == before.replace("\n" + old, "\n# edited in Jupyter\n" + old, 1)
    done = subprocess.run([sys.executable, "tangle.py"], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "# edited in Jupyter\n" + old in (repo / "smln/activations.py").read_text(encoding="utf-8")
    # the tangle rules apply unchanged: a second definition of the same function in another cell is refused
    nb = jupytext.reads(note.read_text(encoding="utf-8"), fmt="md", config=config(note))
    cells = [c for c in nb.cells if c.metadata.get("title") == "smln/activations.py"]
    assert len(cells) >= 2, "the chapter has several package cells for smln/activations.py"
    cells[-1].source += "\n\n\ndef sigmoid(z):\n    return z\n"
    note.write_text(jupytext.writes(nb, fmt="md", config=config(note)), encoding="utf-8")
    done = subprocess.run([sys.executable, "tangle.py"], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 1
    assert "notes/01-activations.md:" in done.stderr and "sigmoid" in done.stderr


def test_the_site_notebook_is_the_note_without_outputs():
    note = ROOT / "notes/02b-optimizers.md"
    nb = nbformat.reads(site_notebooks.notebook(note), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert "notes/02b-optimizers.md" in nb.cells[0].source  # where it comes from
    read = jupytext.reads(note.read_text(encoding="utf-8"), fmt="md", config=config(note))
    assert [c.source for c in nb.cells[1:]] == [c.source for c in read.cells]
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    assert site_notebooks.path_of("02b-optimizers.md") == "notebooks/02b-optimizers.ipynb"
    assert site_notebooks.path_of("index.md") is None and site_notebooks.path_of("api/optim.md") is None
    linked = site_notebooks.with_link("# 标题\n\n正文\n", "01-activations.md").split("\n")
    assert linked[0] == "# 标题" and "(notebooks/01-activations.ipynb)" in linked[2]
    assert site_notebooks.with_link("# 首页\n", "index.md") == "# 首页\n"


# ── the slow part: a real JupyterLab server, real kernels ──────────────────────────────────────────────────────────

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``jupyter lab`` on a copy of the repository, on a free local port; (base URL, token, repo)."""
    repo = copy_repo(tmp_path_factory.mktemp("lab"))
    port, token = _free_port(), "smln-test"
    home = tmp_path_factory.mktemp("jupyter-home")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_CONFIG_DIR": str(home / "config"), "IPYTHONDIR": str(home / "ipython")}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI runs as root
    log = (home / "lab.log").open("w")
    proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                _api(base, token, "GET", "/api/status")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((home / "lab.log").read_text(encoding="utf-8")) from None
                time.sleep(0.3)
        yield base, token, repo
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _api(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@pytest.mark.site
@pytest.mark.xdist_group("notebooks")
def test_jupyter_lab_opens_and_saves_every_note(lab):
    base, token, repo = lab
    for note in NOTES:
        rel = f"notes/{note.name}"
        before = (repo / rel).read_bytes()
        model = _api(base, token, "GET", f"/api/contents/{rel}?type=notebook&content=1")
        assert model["type"] == "notebook" and model["content"]["cells"], rel
        saved = as_after_a_run(nbformat.from_dict(model["content"]))
        _api(base, token, "PUT", f"/api/contents/{rel}", {"type": "notebook", "format": "json", "content": saved})
        assert (repo / rel).read_bytes() == before, f"{rel} changed when saved from JupyterLab"
    # a package cell edited in JupyterLab: the note changes as a hand edit would, and tangle.py takes it
    rel = "notes/07-logistic-regression.md"
    model = _api(base, token, "GET", f"/api/contents/{rel}?type=notebook&content=1")
    nb = nbformat.from_dict(model["content"])
    cell = package_cell(nb, "smln/logistic.py")
    cell.source = cell.source.replace("def predict_proba(", "# edited in JupyterLab\ndef predict_proba(", 1)
    _api(base, token, "PUT", f"/api/contents/{rel}", {"type": "notebook", "format": "json", "content": nb})
    assert "\n# edited in JupyterLab\ndef predict_proba(" in (repo / rel).read_text(encoding="utf-8")
    done = subprocess.run([sys.executable, "tangle.py"], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "# edited in JupyterLab" in (repo / "smln/logistic.py").read_text(encoding="utf-8")


def _expected_output(cell) -> str | None:
    """The text of an ``output`` block that opens a Markdown cell (it follows the example it belongs to)."""
    if cell.cell_type != "markdown" or not cell.source.startswith("```output\n"):
        return None
    return cell.source[len("```output\n"):].split("\n```", 1)[0] + "\n"


def _shown(cell) -> str:
    """What a code cell showed as text: its printed output, then its value."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream" and out.name == "stdout":
            parts.append(out.text)
        elif out.output_type == "execute_result":
            parts.append(out.data.get("text/plain", "") + "\n")
    return "".join(parts)


@pytest.mark.site
@pytest.mark.xdist_group("notebooks")
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_chapter_runs_in_a_fresh_kernel(chapter):
    from nbclient import NotebookClient

    nb = jupytext.reads(chapter.read_text(encoding="utf-8"), fmt="md", config=config(chapter))
    # the kernel starts in the note's folder, as JupyterLab starts it
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(chapter.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not any(o.output_type == "error" for o in c.outputs) for c in code)
    checked = 0
    for cell, after in zip(nb.cells, nb.cells[1:], strict=False):
        want = _expected_output(after)
        if cell.cell_type == "code" and want is not None:
            got = _shown(cell)
            assert doctest.OutputChecker().check_output(want, got, FLAGS), f"{cell.source}\nshowed\n{got}\nnot\n{want}"
            checked += 1
    assert checked == sum(f.lang == "output" for f in tangle.read_note(chapter, ROOT).fences)
    for cell in (c for c in code if c.metadata.get("exec") == "on"):  # figures and tables: displayed as HTML
        assert any(o.output_type == "display_data" and "text/html" in o.data for o in cell.outputs), cell.source[:80]
        assert not any(o.output_type == "stream" and "<svg" in o.text for o in cell.outputs)
