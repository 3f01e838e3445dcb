"""``python fidelity.py``:逐节报告原文在笔记中保留的情况(实现在 ``litnotes/fidelity.py``,只用标准库)。"""

import sys

from litnotes.fidelity import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
