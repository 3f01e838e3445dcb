"""``python tangle.py``:从笔记生成 ``smln/``。

实现在 ``litnotes/tangle.py``(只用标准库,安装依赖之前就能运行);``python tangle.py --help`` 列出全部选项。
"""

import sys

from litnotes.tangle import run

if __name__ == "__main__":
    sys.exit(run())
