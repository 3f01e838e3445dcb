"""Every figure of the notes (``python exec="on"`` blocks) runs against smln and prints an SVG."""

import contextlib
import io

import pytest

import tangle
from tests.oracle import ROOT

pytest.importorskip("matplotlib", reason="figures need the plot extra: pip install -e '.[plot]'")

FIGURES = [(note.path, f) for p in tangle.note_paths(ROOT) for note in [tangle.read_note(p, ROOT)]
           for f in note.fences if f.lang == "python" and 'exec="on"' in f.info]


def test_there_are_figures():
    assert FIGURES


@pytest.mark.parametrize("note, fence", FIGURES, ids=[f"{n}:{f.start}" for n, f in FIGURES])
def test_figure_draws_an_svg(note, fence):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(fence.text, f"{note}:{fence.start}", "exec"), {"__name__": "__figure__"})
    svg = buf.getvalue().strip()
    assert svg.startswith("<svg") and svg.endswith("</svg>"), f"{note}:{fence.start} printed no SVG"
    assert svg.count("<path") > 3, f"{note}:{fence.start}: the SVG draws nothing"
