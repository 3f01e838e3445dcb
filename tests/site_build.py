"""One ``mkdocs build --strict`` of a copy of the repository for the whole test run, started as soon as the tests are
collected and shared by every worker.

Building the site takes a core for about half a minute. Each pytest-xdist worker building its own copy when its first
site test needs one cost that twice, and the worker waited for it. Instead, the first worker to finish collecting
claims the build (creating a folder is atomic) and starts it in the background; the workers go on with tests that do
not need the site (``conftest.py`` runs those first), and the ``site`` fixture waits for the build only when a test
needs it. Without workers it is the same, in one process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.repo import copy_repo

FIXTURE = "site"  # the fixture of tests/test_site.py that returns the built site
TIMEOUT = 900  # seconds a test waits for the build before failing


def _folder(config) -> Path:
    """A folder for this run, shared by its workers (each worker's own temporary folder is inside it)."""
    base = config._tmp_path_factory.getbasetemp()  # noqa: SLF001 (pytest's own factory, as tmp_path_factory)
    return base.parent if hasattr(config, "workerinput") else base


def needed(items) -> bool:
    return any(FIXTURE in getattr(item, "fixturenames", ()) for item in items)


def start(config) -> None:
    """Claim and start the build, unless another worker has: the build runs in a thread of this process, which waits
    for it at the end of the session (``finish``)."""
    folder = _folder(config)
    try:
        (folder / "site.claimed").mkdir()
    except FileExistsError:
        return
    thread = threading.Thread(target=_build, args=(folder,), name="site-build", daemon=True)
    thread.start()
    config._smln_site_build = thread  # noqa: SLF001


def _build(folder: Path) -> None:
    log = folder / "site.log"
    try:
        repo = copy_repo(folder / "site-build")
        with log.open("w", encoding="utf-8") as out:
            code = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                                   str(folder / "site")], cwd=repo, stdout=out, stderr=subprocess.STDOUT,
                                  env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}).returncode
    except Exception as exc:  # noqa: BLE001 (whatever went wrong is reported by the tests that wait)
        with log.open("a", encoding="utf-8") as out:
            out.write(f"\n{type(exc).__name__}: {exc}\n")
        code = -1
    (folder / "site.rc").write_text(str(code), encoding="utf-8")  # written last: the build is over


def wait(config) -> tuple[Path, int, str]:
    """The built site, the build's exit code and its output, once the build is over."""
    folder = _folder(config)
    if not (folder / "site.claimed").exists():  # collected without it (a test selected by hand): start it now
        start(config)
    deadline = time.monotonic() + TIMEOUT
    while not (folder / "site.rc").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the site build did not finish in {TIMEOUT} s (its output: {folder / 'site.log'})")
        time.sleep(0.2)
    return folder / "site", int((folder / "site.rc").read_text()), (folder / "site.log").read_text(encoding="utf-8")


def finish(config) -> None:
    """The worker that started the build waits for it before it exits (the others may still be waiting for it)."""
    thread = getattr(config, "_smln_site_build", None)
    if thread is not None:
        thread.join(TIMEOUT)
