"""The compiled kernels' module: no silent fallback without Numba, caching on, NaN and inf still seen."""

import math
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from smln import jit, validation
from tests.oracle import ROOT


def test_without_numba_the_import_error_says_what_is_missing():
    code = "import sys; sys.modules['numba'] = None\ntry:\n    import smln.jit\nexcept ImportError as e:\n    print(e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "Numba" in out and "pip install numba" in out


def _is_nan(x):
    return x != x


def _is_inf(x):
    return math.isinf(x)


def _divide(a, b):
    return a / b


def test_kernels_are_cached_and_still_see_nan_and_inf():
    is_nan, is_inf, divide = jit.kernel(_is_nan), jit.kernel(_is_inf), jit.kernel(_divide)
    assert divide(1.0, 0.0) == np.inf and np.isnan(divide(0.0, 0.0))  # NumPy's rule, not ZeroDivisionError
    assert type(is_nan._cache).__name__ == "FunctionCache"  # cache=True: compiled once, then read from disk
    assert is_nan(np.nan) and not is_nan(1.0)  # with fast-math's "no NaN" assumption this folds to False
    assert is_inf(np.inf) and not is_inf(1.0)
    assert not {"nnan", "ninf"} & jit.FASTMATH and {"reassoc", "contract"} <= jit.FASTMATH


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -1e308, 0.0])),
                max_size=40), st.sampled_from([np.float64, np.float32]))
def test_all_finite_is_numpy_s_isfinite_all_without_overflow(values, dtype):
    with np.errstate(over="ignore"):
        x = np.array(values, dtype=np.float64).astype(dtype)
    assert validation.all_finite(x) == bool(np.isfinite(x).all())  # 1e308 · 40 would overflow a plain sum


def test_all_finite_sees_one_bad_value_wherever_it_is():
    """A single NaN or ±inf is found wherever it is (first, last, between), in every length up to 13 (a vectorised
    loop's whole blocks and the rest after them)."""
    for n in range(14):
        assert validation.all_finite(np.ones(n))
        for where in range(n):
            for bad in (np.nan, np.inf, -np.inf):
                x = np.ones(n)
                x[where] = bad
                assert not validation.all_finite(x), (n, where, bad)
