"""The site's own logic, independent of the site generator.

* ``smln_site.badges`` — a Python-Markdown extension: formula IDs become anchors with links to their tests, API and
  errata; errata admonitions get anchors.
* ``smln_site.pages`` — the generated pages 公式与测试 and 原文对照, and the pre-build step
  ``python -m smln_site.pages`` (tangle, then write those pages into ``notes/``) for generators without hooks.
* ``smln_site.index`` — what the site knows about each formula.

MkDocs uses them through ``hooks/mkdocs_hooks.py`` (which also re-tangles before each build of ``mkdocs serve``);
Zensical, which has no hook API, through the extension and the pre-build step.
"""
