"""The site's generated pages, as Markdown: 公式与测试 (formulas.md) and 原文对照 (original.md).

MkDocs adds them through ``hooks/mkdocs_hooks.py`` without writing them anywhere. Zensical, which has no hooks, gets
them from the pre-build step ``python -m smln_site.pages``: it tangles the notes and writes both pages into
``notes/`` (ignored by git), like the hook does at every build.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections import defaultdict
from pathlib import Path

from litnotes import catalog, fidelity, tangle
from litnotes.markup import HEADING_RE
from smln_site import notebooks
from smln_site.index import build_index

KIND_NAMES = {"display": "行间公式", "inline": "行内公式", "code": "伪代码", "table": "数值表", "example": "数值例子"}
PAGES = {"formulas.md": "formulas_page", "original.md": "original_page", "performance.md": "performance_page"}
RESULTS = "benchmarks/results.json"


def formulas_page(root: Path) -> str:
    """公式与测试: every formula with its note, its LaTeX, the API objects that implement it and its tests."""
    index = build_index(root)
    by_note: dict[str, list] = defaultdict(list)
    for fm in index.formulas.values():
        by_note[fm.note].append(fm)
    tested = sum(1 for fid in index.formulas if index.tests.get(fid))
    lines = [
        "# 公式与测试",
        "",
        f"笔记中共有 **{len(index.formulas)}** 个带 ID 的公式,其中 **{tested}** 个有测试检验"
        f"(`tests/test_formula_coverage.py` 要求全部都有)。每个公式下面列出实现它的代码和检验它的测试;"
        "点开测试的名字就是它的源代码(每个测试文件一页,一个测试只出现一次,所以本页很小、打开很快)。"
        "测试的标准答案独立于实现:能解析的公式由 SymPy 从笔记的 LaTeX 直接读出,"
        "其余的在测试中用 SymPy 手工构造,或用闭式解、穷举、中心差分检验。",
        "",
    ]
    for note, fms in by_note.items():
        doc = note.removeprefix("notes/")
        title = next((ln[2:].strip() for ln in (root / note).read_text(encoding="utf-8").splitlines()
                      if ln.startswith("# ")), doc)
        lines += [f"## {title} {{ #formulas-{Path(doc).stem} }}", ""]  # ids of their own: the notes own the titles and IDs
        for fm in fms:
            lines += [f"### {fm.id} {{ #tests-{fm.id} }}", ""]
            meta = [f"[{doc}:{fm.line}]({doc}#{fm.id})", KIND_NAMES.get(fm.kind, fm.kind)]
            meta += [f"[`{obj}`][{obj}]" for obj in index.api.get(fm.id, [])]
            meta += [f"[勘误 {e}]({doc}#errata-{e.lower()})" for e in index.errata.get(fm.id, [])]
            lines += [" · ".join(meta), ""]
            if fm.kind in ("display", "inline"):
                lines += ["$$", fm.latex, "$$", ""]
            else:
                lang = {"example": "pycon", "table": "markdown"}.get(fm.kind, "text")
                lines += [f"```{lang}", fm.latex, "```", ""]
            refs = index.tests.get(fm.id, [])
            if refs:
                lines += ["检验它的测试:", ""] + [f"- [`{ref.label}`]({test_page(ref)}#{test_anchor(ref)})" for ref in refs]
                lines.append("")
    return "\n".join(lines)


def test_page(ref) -> str:
    """The generated page that shows a test's source: ``tests/test_optimizers.md`` for ``tests/test_optimizers.py``."""
    return ref.file.removesuffix(".py") + ".md"


def test_anchor(ref) -> str:
    """A test's anchor on its page: the file's stem and the test's name (names repeat across files, anchors may not)."""
    return f"{Path(ref.file).stem}--{ref.name}"


def test_pages(root: Path) -> dict[str, str]:
    """One page per test file: the source of each of its tests that checks a formula, once, with the formulas it checks."""
    index = build_index(root)
    by_file: dict[str, dict] = defaultdict(dict)
    checks: dict[str, list[str]] = defaultdict(list)
    for fid, refs in index.tests.items():
        for ref in refs:
            by_file[ref.file][ref.name] = ref
            checks[ref.label].append(fid)
    out = {}
    for file, refs in sorted(by_file.items()):
        lines = [f"# `{file}`", "", f"这个测试文件里检验笔记公式的 {len(refs)} 个测试的源代码,按在文件里的顺序;"
                 "公式的 ID 链接到笔记里的公式。全部公式见 [公式与测试](../formulas.md)。", ""]
        for ref in sorted(refs.values(), key=lambda r: r.line):
            formulas = "、".join(f"[{fid}][]" for fid in dict.fromkeys(checks[ref.label]))
            lines += [f"## `{ref.name}` {{ #{test_anchor(ref)} }}", "", f"`{file}:{ref.line}` · 检验 {formulas}", "",
                      "```python", *ref.source.splitlines(), "```", ""]
        out[test_page(next(iter(refs.values())))] = "\n".join(lines)
    return out


def _heading_above(root: Path, note: str, line: int) -> str | None:
    """The anchor of the heading a note line sits under."""
    from pymdownx.slugs import slugify

    lines = (root / note).read_text(encoding="utf-8").splitlines()[:line]
    for text in reversed(lines):
        h = HEADING_RE.match(text)
        if h and h.group("text") and len(h.group("hashes")) > 1:
            return slugify(case="lower")(h.group("text").strip(), "-")
    return None


def original_page(root: Path) -> str:
    """原文对照: the original, section by section, against the notes (the comparison tests/test_fidelity.py makes)."""
    sections, problems = fidelity.compare(root)
    if problems:
        raise ValueError("原文块的标记有错误:\n" + "\n".join(problems))
    carried = [s for s in sections if s.note]
    units = [u for s in carried for u in s.units if u.kind in ("sentence", "item")]
    kept = sum(1 for u in units if u.status in ("kept", "changed"))
    pending = [s for s in sections if s.pending]
    lines = [
        "# 原文对照",
        "",
        "本项目保留原始笔记(仓库里的 `original/SuperMachineLearningNotes.md`,一字未改):每一节原文都在对应的笔记里,"
        "放在左侧带竖线的**原文块**中;原文的错误逐条改正,每处改动都是一条[勘误](errata.md)。"
        "本页由 `fidelity.py` 在构建网站时生成,与测试 `tests/test_fidelity.py` 做的是同一个比较:"
        "把原文的每一节拆成句子、公式、列表项、表格行、代码行和链接,逐个在笔记的原文块里查找。",
        "",
        f"已写成笔记的 {len(carried)} 个原文小节共有 {len(units)} 个句子和列表项,其中 **{kept}** 个保留在笔记中"
        f"({kept / max(len(units), 1):.0%}),其余的引在勘误里;"
        + (f"还有 **{len(pending)}** 个原文小节待写。" if pending else "原文的每一节都已写成笔记或有意略去。"),
        "",
        "| 原文小节 | 在笔记中 | 保留 | 按勘误改动 | 引在勘误中 | 公式 | 勘误 |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for s in sections:
        title = s.title.replace("|", "\\|")
        if s.omitted:
            lines.append(f"| {title} | 略去:{s.omitted} | | | | | |")
            continue
        if s.pending:
            lines.append(f"| {title} | *待写* | | | | {s.total('formula')} | |")
            continue
        doc = s.note.removeprefix("notes/")
        where = next((u.where for u in s.units if u.where), "")
        anchor = _heading_above(root, s.note, int(where.rsplit(":", 1)[1])) if where else None
        link = f"[{doc}]({doc}#{anchor})" if anchor else f"[{doc}]({doc})"
        formulas = f"{s.count('kept', 'changed', kind='formula')}/{s.total('formula')}"
        errata = "、".join(f"[{e}]({doc}#errata-{e.lower()})" for e in s.errata)
        lines.append(f"| {title} | {link} | {s.count('kept')}/{s.total()} | {s.count('changed')} | "
                     f"{s.count('erratum')} | {formulas} | {errata} |")
    lines += ["", "「保留」与「按勘误改动」数的是原文的单元(句子、公式、列表项、表格行、代码行、链接);"
              "「公式」一栏是原文的公式中保留下来的个数(每一个都比较,原文写了两次的要在笔记里出现两次);"
              "其中带关系式(=、:=、≤ 等)的每个都有公式 ID 和测试。"
              + ("「待写」的小节还没有笔记,随着章节写成,这个列表会变短,最后为空。" if pending else
                 "待写的列表已经为空:原文的每一节都有了笔记(原文只有标题的“translation 模型”一节,整节是补充)。"),
              ""]
    if pending:
        lines += ["## 待写的原文小节", "", "、".join(s.title for s in pending), ""]
    lines += ["## 原文与笔记中的位置", ""]
    for s in carried:
        lines += [f'??? quote "{s.title}"', ""]
        for u in s.units:
            where = f" — `{u.where}`" if u.where else ""
            mark = {"kept": "✓", "changed": "✎", "erratum": "✗"}.get(u.status, "?")
            errata = f"({'、'.join(u.errata)})" if u.errata else ""
            lines.append(f"    - {mark} {fidelity.KIND_NAMES[u.kind]}:`{u.text.replace('`', '')}`{where}{errata}")
        lines.append("")
    return "\n".join(lines)


def performance_page(root: Path) -> str:
    """性能: the committed results of benchmarks/run.py as a table and a chart (the build does not re-run them)."""
    import json

    data = json.loads((root / RESULTS).read_text(encoding="utf-8"))
    m = data["machine"]
    lines = [
        "# 性能",
        "",
        "`benchmarks/run.py` 在同一个进程里、同样的数据、数据类型(float64)和线程数(1)下运行 `smln` 与对照的库,"
        "两边轮流计时(每一轮各跑一次,共用的机器忽快忽慢时两边一起受影响),各重复多次取中位数,"
        "比值是 **smln 的时间 ÷ 对方的时间**(小于 1 表示 smln 更快)。本页由仓库里提交的结果文件 "
        f"`{RESULTS}` 生成,构建网站时不重新运行;重新测量用 `python benchmarks/run.py --json {RESULTS}`。",
        "",
        f"机器:{m['processor']},{m['cpus']} 个核,测量时用 {m['threads']} 个线程;Python {m['python']},"
        f"NumPy {m['numpy']}" + (f",PyTorch {m['torch']}" if "torch" in m else "") + "。"
        + ("**(这是 `--quick` 的小规模结果,不代表真实性能。)**" if data["quick"] else ""),
        "",
        "| 用例 | 比较 | smln(毫秒) | 对方(毫秒) | 比值 | 目标 |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in data["rows"]:
        other = f"{r['other_s'] * 1e3:.3f}" if r["other_s"] is not None else "—"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "—"
        aim = ""
        if r["aim"] is not None:
            aim = f"≤ {r['aim']:g}" + (" ✗" if r["ratio"] is not None and r["ratio"] > r["aim"] else " ✓")
        note = f"(`{r['note'].replace('`', '')}`)" if r["note"].startswith("torch:") else (
            f"({r['note']})" if r["note"] else "")
        lines.append(f"| {r['case']} | {r['variant']}{note} | {r['smln_s'] * 1e3:.3f} | {other} | {ratio} | {aim} |")
    lines += [
        "",
        "## 编译内核改了什么",
        "",
        "NumPy 的每个运算都把整个数组读写一遍:`W -= α·dW` 这样一行就是两遍,Adam 的一步是十几遍;word2vec 那样"
        "一对一对的更新根本写不成整批的数组运算。这些地方笔记把**一个元素的公式**写成循环,由 Numba 编译"
        "([编译内核](index.md#编译内核)):",
        "",
        "- **优化器**(`gd_update`、`momentum_update`、`rmsprop_update`、`adam_update`):每个元素只读写一次。"
        "\"÷ memory floor\"一行把一步与\"把它必须读写的字节各搬一次\"的时间(同样大小的 `np.copyto` 测出的带宽)相比;"
        "`step` 在更新之前检查每个梯度都是有限数(`all_finite`,再读一遍 dW),检查不过时一个参数也不改,这一遍算在比值里。",
        "- **批量归一化**(`bn_forward_rows`、`bn_backward_rows`):逐个特征(一行)计算,一行的 m 个值留在缓存里,"
        "每个公式读一遍它也只访问一次内存。两边每次都为输出分配新的数组,操作系统第一次写入这些页的时间也算在里面。",
        "- **word2vec**(`sgns_update`、`sgns_epoch`):与 word2vec.c、gensim 相同的逐对随机梯度下降,"
        "没有了批量版本为防止发散而设的批大小上限;负样本用 Walker 的别名表抽(常数时间)。"
        "与 gensim 一样每个 epoch 重新读语料、逐段编码(`corpus_chunks`),内存是词表的两个 V × d 矩阵加一段,不随语料增长;"
        "训练完的 `vectors_`、`Theta_` 就是这两个矩阵(不再复制),算相似度用的单位向量第一次用到时才算。"
        "质量的比较是五个随机种子的平均,ρ 后面是它在种子之间的标准差(几十对词上的 ρ 随种子变动几个百分点)。",
        "- **逻辑回归**:除了笔记讲的小批量 Adam(只报告时间),还有全批量的牛顿法(`solver=\"newton\"`,"
        "[lr-newton](07-logistic-regression.md#lr-newton)),十步左右收敛到与 scikit-learn 相同的解。",
        "- **循环网络**的层与单元不用编译内核:时间花在 BLAS 的矩阵乘法上,与 PyTorch 相同。",
        "",
        "每个内核在第一次调用时编译(表中 compile 一行是全部内核的编译时间),编译结果缓存在磁盘上,以后的进程不再编译。",
        "",
        *_misses(data["rows"]),
        "```python exec=\"on\" html=\"on\"",
        "import json",
        "from pathlib import Path",
        "",
        "from smln.plotting import pyplot, show",
        "",
        f"rows = [r for r in json.loads(Path({RESULTS!r}).read_text(encoding='utf-8'))['rows'] if r['ratio'] is not None]",
        "fig, ax = pyplot().subplots(figsize=(8, 0.32 * len(rows) + 1))",
        "labels = [f\"{r['case']}: {r['variant']}\" for r in rows]",
        "colors = ['C3' if r['aim'] is not None and r['ratio'] > r['aim'] else 'C0' for r in rows]",
        "ax.barh(range(len(rows)), [r['ratio'] for r in rows], color=colors)",
        "for k, r in enumerate(rows):",
        "    if r['aim'] is not None:",
        "        ax.plot([r['aim'], r['aim']], [k - 0.4, k + 0.4], 'k-', lw=2)",
        "ax.axvline(1, color='0.5', ls='--', lw=1)",
        "ax.set(yticks=range(len(rows)), yticklabels=labels, xscale='log', xlabel='比值 smln ÷ 对方(对数刻度;黑线为目标)',",
        "       title='smln 与对照实现的时间之比')",
        "ax.tick_params(axis='y', labelsize=7)",
        "ax.invert_yaxis()",
        "show(fig)",
        "```",
        "",
    ]
    return "\n".join(lines)


def _misses(rows: list[dict]) -> list[str]:
    """The cases that miss their aim: each case's measured ratios, then, once, why (where it is known)."""
    why = {
        "cells": "每一步都完整地检查输入(参数字典的键、每个数组的形状与有限性)并为缓存分配数组,"
                 "这些 Python 层的开销与 n_a = 128、m = 32 的矩阵乘法相当;PyTorch 的单元只检查形状。",
        "optimizer": "更新本身(\"update kernel alone\"几行)不慢于 PyTorch 的 fused 内核,也在内存带宽的下限上;差距是 "
                     "`step` 在改动任何参数之前检查每个梯度都是有限数(一个不是就一个也不改),这要把 dW 多读一遍,"
                     "而 fused 内核不检查。4 M 个 float64 放不进缓存,一步的时间就是搬运的字节数:更新读写 k 遍"
                     "(梯度下降 3、Momentum 与 RMSprop 5、Adam 7),检查再加 1 遍,检查过的一步至少是 (k + 1)/k 倍——"
                     "梯度下降是 4/3 ≈ 1.33,已超出 1.3 的目标;而只读的一遍(检查)比复制里的一遍慢"
                     "(同一行注释里检查的毫秒数,对比下限的每遍),所以 k = 5 的 RMSprop 也在 1.3 上下。"
                     "把检查并进更新就做不到\"一个也不改\":发现坏的梯度时,前面的参数已经写了,"
                     "浮点数的更新又不能精确地撤回。",
        "word2vec": "时间几乎都在逐对的点积与更新上(编译后的循环),与 gensim 的 Cython 循环相当。",
    }
    missed = [r for r in rows if r["aim"] is not None and r["ratio"] is not None and r["ratio"] > r["aim"]]
    if not missed:
        return ["每个有目标的用例都达到了目标。", ""]
    out = ["## 未达目标的用例", ""]
    for case in dict.fromkeys(r["case"] for r in missed):
        ratios = ";".join(f"{r['variant']} {r['ratio']:.2f}(目标 ≤ {r['aim']:g})" for r in missed if r["case"] == case)
        out.append(f"- **{case}**:{ratios}。" + why.get(case, ""))
    return [*out, ""]


def _slug(text: str) -> str:
    from pymdownx.slugs import slugify

    return slugify(case="lower")(text.strip(), "-")


def api_pages(root: Path) -> dict[str, str]:
    """API 参考: one page per module (mkdocstrings renders ``::: smln.<module>``) and an index of them, both derived
    from the notes by ``litnotes.catalog`` (a module added in a note gets its page with no list to edit)."""
    mods = catalog.modules(root)
    lines = [
        "# API 参考",
        "",
        "`smln` 的每个模块对应笔记的一节。这些页面由 mkdocstrings 从代码的文档字符串生成;代码本身由",
        "`tangle.py` 从笔记生成,所以每个函数的文档都链接回定义它的笔记段落。这张表也是从笔记生成的:",
        "模块属于它的第一个代码块所在的那一节,说明是模块文档字符串的第一行。",
        "",
        "| 模块 | 内容 | 笔记 |",
        "| --- | --- | --- |",
    ]
    pages = {}
    for m in mods:
        doc = m.note.removeprefix("notes/")
        summary = m.summary.replace("``", "`").replace("|", "\\|")
        section = m.section.replace("|", "\\|") or doc
        lines.append(f"| [{m.qualname}]({m.name}.md) | {summary} | [{section}](../{doc}#{_slug(m.section)}) |")
        pages[f"api/{m.name}.md"] = f"::: {m.qualname}\n"
    return {"api/index.md": "\n".join(lines) + "\n", **pages}


def api_nav(root: Path, titles: dict[str, str] | None = None) -> list:
    """The API section of the site's navigation, in the order the notes introduce the modules. With ``titles`` (a
    note's path under notes/ → its title in the navigation) the modules are grouped by the chapter they belong to."""
    mods = catalog.modules(root)
    if not titles:
        return ["api/index.md", *({m.qualname: f"api/{m.name}.md"} for m in mods)]
    groups: dict[str, list] = {}
    for m in mods:
        doc = m.note.removeprefix("notes/")
        groups.setdefault(titles.get(doc, doc), []).append({m.qualname: f"api/{m.name}.md"})
    return ["api/index.md", *({title: entries} for title, entries in groups.items())]


def generated(root: Path) -> dict[str, str]:
    """Every generated page: its path under notes/ and its Markdown."""
    return {**{name: globals()[fn](root) for name, fn in PAGES.items()}, **api_pages(root), **test_pages(root)}


def tangle_quietly(root: Path) -> tuple[int, str]:
    """Run tangle.py on the repository as a build step does: its exit code and what it reported on stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = tangle.main([], root=root)
    return code, err.getvalue()


def prebuild(root: Path) -> int:
    """Tangle the notes (as the MkDocs hook does before each build), then write the generated pages and the chapters'
    notebooks into notes/."""
    code, err = tangle_quietly(root)
    if code != 0:
        sys.stderr.write(err)
        return code
    for name, text in generated(root).items():
        path = root / "notes" / name
        text = f"{tangle.GENERATED_PAGE}\n{text}"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for name, text in notebooks.notebooks(root).items():
        path = root / "notes" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smln_site.pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    return prebuild(args.root.resolve())


if __name__ == "__main__":
    sys.exit(main())
