"""笔记标记的唯一读法:``tangle``、``fidelity`` 与网站(``smln_site``)都用这里的模式,不另写一份。

| 标记 | 写法 |
| --- | --- |
| 围栏代码块 | 三个以上的反引号或波浪号;信息串里的 ``title="smln/模块.py"``(引号可省)决定它进入哪个文件 |
| 公式 ID | ``[](){#act-sigmoid}``,ID 是小写字母、数字与连字符 |
| 勘误块 | ``!!! bug "勘误 E12:标题"``,块内 ``**原文:**``、``**改正:**``、``**原因:**``、``**检验:**`` 各一段 |
| 原文块 | ``<div class="original" markdown>`` 与 ``</div>`` 各占一行 |
| 复原块 | ``<div class="restored" markdown data-source="依据">`` 与 ``</div>`` 各占一行:原文丢失的图片,按依据写回 |
| 文档字符串里的公式 | ``公式(notes/02b-optimizers.md):[adam-v][]``:autorefs 引用,网上是链接,help() 里是 ID 与笔记 |
| 本节说明 | ``!!! ours "…"``:节首一行,说明这一节原文保留了什么、哪些是补充 |
"""

from __future__ import annotations

import ast
import re

FENCE_OPEN_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
TITLE_RE = re.compile(r"""(?:^|[\s{])title=(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s}]+))""")
HEADING_RE = re.compile(r"^ {0,3}(?P<hashes>#{1,6})(?:[ \t]+(?P<text>.*?))?[ \t]*$")
ID = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"  # a valid formula ID
FORMULA_ID_RE = re.compile(r"\[\]\(\)\{#(?P<id>[^}\s]*)\}")  # any ID, so that tangle.py can report a bad one
VALID_FORMULA_ID_RE = re.compile(r"\[\]\(\)\{#(?P<id>" + ID + r")\}")  # what the site turns into an anchor
VALID_ID_RE = re.compile(f"^{ID}$")
INLINE_MATH_RE = re.compile(r"(?<![\\$])\$(?!\$)(?P<tex>(?:\\.|[^$\\])+?)\$(?!\$)")
TABLE_ROW_RE = re.compile(r"^\s*\|.*\|\s*$")
ERRATUM_HEAD_RE = re.compile(r'^(?P<indent>[ \t]*)!!! bug "勘误 (?P<id>E\d+)[::](?P<title>[^"]+)"[ \t]*$')
ERRATUM_FIELD_RE = re.compile(r"^\*\*(?P<key>原文|改正|原因|检验)[::]\*\*\s*(?P<value>.*)$")
CODE_SPAN_RE = re.compile(r"(?<!`)(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`)")
ORIGINAL_OPEN = '<div class="original" markdown>'
ORIGINAL_CLOSE = "</div>"
RESTORED_OPEN_RE = re.compile(r'^<div class="restored" markdown(?: data-source="(?P<source>[^"]*)")?>$')
DOC_FORMULA_RE = re.compile(r"\[(?P<id>" + ID + r")\]\[\]")
OURS_RE = re.compile(r'^!!! ours "(?P<title>[^"]*)"[ \t]*$')


def open_fence(line: str) -> re.Match | None:
    """``line`` 开始一个围栏代码块时返回匹配(组 ``indent``、``fence``、``info``);反引号围栏的信息串不能含反引号。"""
    m = FENCE_OPEN_RE.match(line)
    if m and not (m.group("fence")[0] == "`" and "`" in m.group("info")):
        return m
    return None


def fence_closer(fence: str) -> re.Pattern:
    """关闭 ``fence`` 的行:同一种字符,长度至少相同,前后只有空白。"""
    return re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")


def fence_title(info: str) -> str | None:
    """信息串里 ``title`` 属性的值(``title="…"``、``title='…'`` 或不带引号的 ``title=…``);没有时为 None。"""
    m = TITLE_RE.search(info)
    if not m:
        return None
    return next(g for g in (m.group("dq"), m.group("sq"), m.group("bare")) if g is not None)


def formula_claims(decorators: list[ast.expr]) -> list[str]:
    """测试用 ``@pytest.mark.formula("adam-v", …)`` 认领的公式 ID(按出现的顺序)。"""
    ids = []
    for dec in decorators:
        if (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "formula"
                and ast.unparse(dec.func.value) == "pytest.mark"):
            ids += [a.value for a in dec.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return ids
