"""A copy of the repository for tests that change notes, build the site or run pytest on it: the real working tree
is never written to."""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("notes", "smln", "smln_site", "litnotes", "hooks", "tests", "original")
FILES = ("mkdocs.yml", "tangle.py", "fidelity.py", "pyproject.toml", "jupytext.toml", "benchmarks/results.json")


def copy_repo(tmp_path: Path) -> Path:
    """``tmp_path/repo``: the notes, the package, the site's code, the tests and the original, as they are now."""
    repo = tmp_path / "repo"
    for name in FOLDERS:
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
    for name in FILES:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, repo / name)
    return repo
