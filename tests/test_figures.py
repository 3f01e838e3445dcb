"""Every figure of the notes (``python exec="on"`` blocks) runs against smln and prints an SVG (or, for results
shown as text, an HTML table)."""

import contextlib
import io
import os
import warnings

import pytest

from litnotes import tangle
from tests.oracle import ROOT

pytest.importorskip("matplotlib", reason="figures need the plot extra: pip install -e '.[plot]'")

FIGURES = [(note.path, f) for p in tangle.note_paths(ROOT) for note in [tangle.read_note(p, ROOT)]
           for f in note.fences if f.lang == "python" and 'exec="on"' in f.info]


def _cjk_font_installed() -> bool:
    from matplotlib import font_manager

    return any("CJK" in path or "wqy" in path for path in font_manager.findSystemFonts())


def test_there_are_figures():
    assert FIGURES


@pytest.mark.parametrize("note, fence", FIGURES, ids=[f"{n}:{f.start}" for n, f in FIGURES])
def test_figure_draws_an_svg(note, fence):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(fence.text, f"{note}:{fence.start}", "exec"), {"__name__": "__figure__"})
    missing = sorted({str(w.message) for w in caught if "missing from font" in str(w.message)})
    if missing:
        message = f"{note}:{fence.start}: Chinese labels have no glyphs (install fonts-noto-cjk): {missing[:2]}"
        if os.environ.get("CI") or _cjk_font_installed():
            raise AssertionError(message)
        warnings.warn(message, stacklevel=1)
    other = [str(w.message) for w in caught if "missing from font" not in str(w.message)]
    assert not other, f"{note}:{fence.start}: the figure code warned: {other}"
    svg = buf.getvalue().strip()
    if svg.startswith('<table class="smln-'):  # results shown as a table: rows with cells
        assert svg.endswith("</table>") and svg.count("<tr>") > 1 and "<td>" in svg, f"{note}:{fence.start}: empty table"
        return
    assert svg.startswith('<figure class="smln-figure"><svg') and svg.endswith("</svg></figure>"), (
        f"{note}:{fence.start} printed no SVG figure")
    assert svg.count("<path") > 3, f"{note}:{fence.start}: the SVG draws nothing"


# ── show and demo_result: one figure code for the site and for Jupyter ──────────────────────────────────────────────

def _small_figure():
    from smln.plotting import pyplot

    fig, ax = pyplot().subplots(figsize=(2, 2))
    ax.plot([0, 1, 2], [0, 1, 4])
    return fig


def test_show_prints_through_the_calling_block_s_print():
    """markdown-exec gives each executed block its own ``print`` (its output is the page's HTML): ``show`` uses it."""
    from smln.plotting import show

    captured: list[str] = []
    namespace = {"show": show, "fig": _small_figure(), "print": captured.append}
    exec("show(fig)\nshow('<table><tr><td>1</td></tr></table>')", namespace)  # noqa: S102
    assert captured[0].startswith('<figure class="smln-figure"><svg') and captured[0].endswith("</svg></figure>")
    assert captured[1] == "<table><tr><td>1</td></tr></table>"


def test_show_displays_rich_output_in_a_jupyter_kernel(monkeypatch):
    import sys
    import types

    from smln import plotting

    shown: list = []
    shell = types.SimpleNamespace(kernel=object())  # a shell attached to a kernel: what ipykernel's shell is
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell
    display = types.ModuleType("IPython.display")
    display.HTML = lambda text: ("HTML", text)
    display.display = shown.append
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    assert plotting.in_notebook()
    printed: list[str] = []
    exec("show('<b>x</b>')", {"show": plotting.show, "print": printed.append})  # noqa: S102
    assert shown == [("HTML", "<b>x</b>")] and printed == []  # displayed, not printed
    shell.kernel = None
    del shell.kernel  # IPython in a terminal: no kernel, so not a notebook
    assert not plotting.in_notebook()
    monkeypatch.delitem(sys.modules, "IPython")
    assert not plotting.in_notebook()


@pytest.mark.parametrize("content", [None, 3, ["<b>x</b>"]])
def test_show_refuses_what_is_neither_a_figure_nor_html(content):
    from smln.plotting import show
    from smln.validation import ArgumentTypeError

    with pytest.raises(ArgumentTypeError) as info:
        show(content)
    assert info.value.argument == "content" and info.value.actual == type(content).__name__


def test_demo_result_reads_the_committed_result_wherever_the_code_runs(tmp_path, monkeypatch):
    import json

    from smln.plotting import demo_result

    monkeypatch.chdir(tmp_path)  # not the repository: Jupyter starts kernels in notes/
    expected = json.loads((ROOT / "notes/assets/data/ch4-charlm.json").read_text(encoding="utf-8"))
    assert demo_result("ch4-charlm") == expected
    with pytest.raises(FileNotFoundError, match="ch4-charlm") as info:  # the names that exist are listed
        demo_result("ch4-charlms")
    assert "ch4-charlms.json" in str(info.value)
