"""litnotes:读笔记的工具,只用标准库。

- ``litnotes.markup``:笔记标记的唯一读法(围栏与 ``title``、公式 ID、勘误块、原文块);
- ``litnotes.tangle``:从笔记生成 ``smln/``(命令行入口是仓库顶层的 ``tangle.py``);
- ``litnotes.fidelity``:原文与笔记的逐节比较(命令行入口是顶层的 ``fidelity.py``)。

网站(``smln_site``)和测试都从这里读笔记,不另写一份正则表达式。
"""
