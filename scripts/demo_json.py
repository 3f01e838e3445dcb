"""How the demonstration scripts write their results: the same file for the same computation, so re-running a
documented script leaves ``git status`` clean.

* Floats are kept to 6 significant digits: the last digits of a float32 sum depend on the BLAS build and its
  threads, and no figure or test of the notes reads them.
* Timings (keys named ``seconds``) are printed by the scripts, never stored: they change on every run.
* The file is written only when its text changes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

SIGNIFICANT = 6
VOLATILE = frozenset({"seconds"})


def stable(value):
    """``value`` with every float rounded to ``SIGNIFICANT`` digits and every ``VOLATILE`` key left out."""
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT}g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, (list, tuple)):
        return [stable(v) for v in value]
    return value


def write(path: Path, data) -> bool:
    """Write ``data`` as stable JSON to ``path``; return whether the file changed."""
    text = json.dumps(stable(data), ensure_ascii=False, indent=1) + "\n"
    path = Path(path)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
