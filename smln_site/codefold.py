"""A Python-Markdown extension: on the page, a tangled code block (``title="smln/…"``) is folded to one line — its
file, the signatures it defines and the formulas it implements — with the whole block one click away.

The note is read as notes, prose and formulas first (a tangled block is mostly argument checks and NumPy-style
docstrings, which belong on the API pages); the block itself is unchanged, so opening it shows exactly what
``tangle.py`` writes into ``smln/``, and its copy button copies all of it. A page-level switch "显示全部代码"
(``assets/javascripts/code.js``) opens every block and is remembered.

    markdown_extensions:
      - smln_site.codefold

Rendered as a collapsed ``pymdownx.details`` block of type ``smln-code``; only the page's HTML changes, never the
note's text.
"""

from __future__ import annotations

import ast

from markdown import Extension
from markdown.preprocessors import Preprocessor

from litnotes.markup import DOC_FORMULA_RE, fence_closer, fence_title, open_fence

MAX_FORMULAS = 8


def _signature(node: ast.AST) -> str:
    if isinstance(node, ast.ClassDef):
        bases = ", ".join(ast.unparse(b) for b in node.bases)
        return f"class {node.name}({bases})" if bases else f"class {node.name}"
    args = ast.unparse(node.args)
    return f"def {node.name}({args})"


def summary(target: str, code: str) -> str:
    """``smln/optim.py`` · `class Adam(Optimizer)` · … · 公式 adam-v、adam-s …, as one Markdown line."""
    parts = [f"`{target}`"]
    try:
        tree = ast.parse(code)
    except SyntaxError:  # tangle.py reports it; the page still shows the block
        tree = ast.Module(body=[], type_ignores=[])
    public = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")]
    parts += [f"`{_signature(n)}`" for n in public]
    if not public:
        parts.append("模块的开头(导入与说明)" if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body)
                     else "辅助代码")
    ids = list(dict.fromkeys(m.group("id") for m in DOC_FORMULA_RE.finditer(code)))
    if ids:
        shown = "、".join(f"[{i}][]" for i in ids[:MAX_FORMULAS])  # autorefs: the formula, on whichever page it is
        parts.append("公式 " + shown + ("……" if len(ids) > MAX_FORMULAS else ""))
    return " · ".join(parts).replace('"', "'")


class FoldTangledBlocks(Preprocessor):
    def run(self, lines):
        out, i = [], 0
        while i < len(lines):
            m = open_fence(lines[i])
            if not m or m.group("indent"):  # only top-level blocks fold (a block inside an admonition stays as it is)
                out.append(lines[i])
                i += 1
                continue
            target = fence_title(m.group("info"))  # the same reading as tangle.py's, bare title= included
            close = fence_closer(m.group("fence"))
            j = i + 1
            while j < len(lines) and not close.match(lines[j]):
                j += 1
            block = lines[i:j + 1]
            if target and target.startswith("smln/") and target.endswith(".py") and j < len(lines):
                code = "\n".join(lines[i + 1:j])
                out += [f'??? smln-code "{summary(target, code)}"', ""]
                out += [f"    {line}" if line else "" for line in block]
                out.append("")
            else:
                out += block
            i = j + 1
        return out


class CodeFoldExtension(Extension):
    def extendMarkdown(self, md):  # noqa: N802 (Python-Markdown's name)
        # after whitespace is normalised (30), before superfences stashes the fences (25)
        md.preprocessors.register(FoldTangledBlocks(md), "smln_codefold", 28)
        md.registerExtension(self)


def makeExtension(**kwargs):  # noqa: N802
    return CodeFoldExtension(**kwargs)
