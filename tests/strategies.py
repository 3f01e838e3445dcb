"""Hypothesis strategies for the inputs the notes' formulas take."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FLOAT_DTYPES = (np.float32, np.float64)


def reals(lo: float = -50.0, hi: float = 50.0) -> st.SearchStrategy[float]:
    """Finite floats in [lo, hi]."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def float_dtypes() -> st.SearchStrategy[type]:
    return st.sampled_from(FLOAT_DTYPES)


def shapes(min_dims: int = 1, max_dims: int = 3, max_side: int = 6) -> st.SearchStrategy[tuple[int, ...]]:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def arrays(shape=None, dtype=np.float64, lo: float = -50.0, hi: float = 50.0) -> st.SearchStrategy[np.ndarray]:
    """Arrays of finite values in [lo, hi]; ``shape`` and ``dtype`` may be strategies."""
    shape = shapes() if shape is None else shape

    def elements(dt):
        width = 32 if np.dtype(dt) == np.float32 else 64
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=width)

    if isinstance(dtype, st.SearchStrategy):
        return dtype.flatmap(lambda dt: hnp.arrays(dt, shape, elements=elements(dt)))
    return hnp.arrays(dtype, shape, elements=elements(dtype))
