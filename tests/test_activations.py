"""Chapter 1, 激活函数: every table cell parsed from the note is the oracle for smln.activations.

The table is also proven consistent with itself: each derivative cell, parsed separately, equals
``sympy.diff`` of the expression cell next to it.
"""

import re

import numpy as np
import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

from smln import activations as act
from tests import errata
from tests.errors import raises_for
from tests.oracle import latex, oracle, parse
from tests.strategies import arrays, float_dtypes, reals, shapes

pytestmark = pytest.mark.filterwarnings("error")

z = sympy.Symbol("z")

# (expression ID, derivative ID, function, derivative function)
TABLE = [
    ("act-sigmoid", "act-sigmoid-grad", act.sigmoid, act.sigmoid_grad),
    ("act-tanh", "act-tanh-grad", act.tanh, act.tanh_grad),
    ("act-relu", "act-relu-grad", act.relu, act.relu_grad),
    ("act-leaky-relu", "act-leaky-relu-grad", act.leaky_relu, act.leaky_relu_grad),
]
FUNCTIONS = [(f_id, f) for f_id, _, f, _ in TABLE] + [(d_id, df) for _, d_id, _, df in TABLE]


def _close(actual, expected, dtype=np.float64):
    tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-12
    np.testing.assert_allclose(actual, np.asarray(expected, dtype=np.float64), rtol=tol, atol=tol)


def _expression(f_id):
    """The expression cell as a function of z (g(z) in a derivative cell is the table's own sigmoid)."""
    return oracle(f_id).expr.subs(sympy.Function("g")(z), oracle("act-sigmoid").expr)


# --------------------------------------------------------------------------------------------------------------
# The code equals the note


@pytest.mark.formula("act-sigmoid", "act-tanh", "act-relu", "act-leaky-relu")
@pytest.mark.parametrize("f_id, f", [(f_id, f) for f_id, _, f, _ in TABLE], ids=[t[0] for t in TABLE])
@given(v=reals(-30, 30))
def test_function_equals_table_cell(f_id, f, v):
    expected = float(_expression(f_id).subs(z, v).evalf(30))
    _close(f(np.float64(v)), expected)


@pytest.mark.formula("act-sigmoid", "act-tanh", "act-relu", "act-leaky-relu")
@pytest.mark.parametrize("f_id, f, df", [(a, f, df) for a, _, f, df in TABLE], ids=[t[0] for t in TABLE])
@given(v=reals(-30, 30))
def test_derivative_equals_sympy_diff_of_table_cell(f_id, f, df, v):
    assume(abs(v) > 1e-9)  # ReLU and Leaky ReLU have no derivative at 0 (see test_convention_at_zero)
    expected = float(sympy.diff(_expression(f_id), z).subs(z, v).evalf(30))
    _close(df(np.float64(v)), expected)


@pytest.mark.formula("act-sigmoid-grad", "act-tanh-grad", "act-relu-grad", "act-leaky-relu-grad")
@pytest.mark.parametrize("d_id, df", [(d, df) for _, d, _, df in TABLE], ids=[t[1] for t in TABLE])
@given(v=reals(-30, 30))
def test_derivative_equals_derivative_cell(d_id, df, v):
    assume(abs(v) > 1e-9)
    expected = float(_expression(d_id).subs(z, v).evalf(30))
    _close(df(np.float64(v)), expected)


@pytest.mark.formula("act-sigmoid", "act-sigmoid-grad", "act-tanh", "act-tanh-grad", "act-relu", "act-relu-grad",
                     "act-leaky-relu", "act-leaky-relu-grad")
@pytest.mark.parametrize("f_id, d_id", [(a, d) for a, d, _, _ in TABLE], ids=[t[0] for t in TABLE])
def test_table_derivative_column_is_derivative_of_expression_column(f_id, d_id):
    derived = sympy.diff(_expression(f_id), z)
    written = _expression(d_id)
    if written.has(sympy.Piecewise):  # compare on each side of the kink, symbolically
        for side in (sympy.Symbol("p", positive=True), -sympy.Symbol("p", positive=True)):
            assert sympy.simplify((derived - written).subs(z, side)) == 0, f"{d_id} on {side}"
    else:
        assert sympy.simplify((derived - written).rewrite(sympy.exp)) == 0, f"{d_id} != d/dz {f_id}"


# --------------------------------------------------------------------------------------------------------------
# Numerics: stable form, exact limits, the value at 0


@pytest.mark.formula("act-sigmoid-stable")
def test_stable_form_equals_sigmoid():
    assert sympy.simplify(oracle("act-sigmoid-stable").expr - oracle("act-sigmoid").expr) == 0


@pytest.mark.formula("act-sigmoid-stable")
@given(v=reals(-700, -1))
def test_sigmoid_negative_side_follows_stable_form(v):
    expected = float(oracle("act-sigmoid-stable").expr.subs(z, v).evalf(30))
    np.testing.assert_allclose(act.sigmoid(np.float64(v)), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_limits_without_overflow(dtype):
    big = np.array([-1000, 1000], dtype=dtype)
    np.testing.assert_array_equal(act.sigmoid(big), [0, 1])
    np.testing.assert_array_equal(act.tanh(big), [-1, 1])
    np.testing.assert_array_equal(act.sigmoid_grad(big), [0, 0])
    np.testing.assert_array_equal(act.relu(big), [0, 1000])
    np.testing.assert_allclose(act.sigmoid(np.array([-80], dtype=dtype)), np.exp(-80.0), rtol=1e-5)  # not 0
    s = act.softmax(np.array([[1000, -1000], [0, -1000]], dtype=dtype))
    np.testing.assert_array_equal(s, [[1, 0.5], [0, 0.5]])


@pytest.mark.formula("act-relu-grad", "act-leaky-relu-grad")
@given(slope=st.floats(0, 1))
def test_convention_at_zero_is_a_subgradient(slope):
    """The notes leave z = 0 undefined; the code takes the left derivative (PyTorch's choice), a subgradient."""
    assert act.relu_grad(0.0) == 0
    assert act.leaky_relu_grad(0.0, slope) == np.float64(slope)
    for f_id, value in [("act-relu", act.relu_grad(0.0)), ("act-leaky-relu", None)]:
        expr = _expression(f_id)
        h = sympy.Symbol("h", positive=True)
        left = sympy.limit((expr.subs(z, 0) - expr.subs(z, -h)) / h, h, 0)
        right = sympy.limit((expr.subs(z, h) - expr.subs(z, 0)) / h, h, 0)
        assert left < right  # a kink: not differentiable at 0 ...
        if value is not None:
            assert left <= value <= right  # ... and the chosen value lies in the subdifferential
    assert act.leaky_relu_grad(0.0) == 0.01 == float(_expression("act-leaky-relu-grad").subs(z, -1))


@given(v=reals(-30, 30), slope=st.floats(0, 1))
def test_leaky_relu_slope_parameter(v, slope):
    expected = max(slope * v, v)
    _close(act.leaky_relu(v, slope), expected)
    if v != 0:
        _close(act.leaky_relu_grad(v, slope), 1.0 if v > 0 else slope)


# --------------------------------------------------------------------------------------------------------------
# Maxout and softmax: sums and maxima over index sets, built by hand in SymPy on small shapes


@pytest.mark.formula("act-maxout")
@given(data=st.data(), n=st.integers(1, 4), p=st.integers(1, 4), m=st.integers(1, 3))
def test_maxout_equals_hand_built_sympy(data, n, p, m):
    # SymPy's LaTeX parser cannot read a max over an index set: the oracle is built by hand; the note is still checked
    assert r"\max_{j \in \{1, \dots, p\}} z_{kj}" in latex("act-maxout")
    Z = data.draw(arrays((n * p, m), lo=-100, hi=100))
    syms = sympy.symbols(f"z0:{n * p}")
    for k in range(n):
        h_k = sympy.Max(*syms[k * p:(k + 1) * p])
        for col in range(m):
            expected = float(h_k.subs(dict(zip(syms, Z[:, col], strict=True))))
            assert act.maxout(Z, p)[k, col] == expected


@pytest.mark.formula("act-softmax")
@given(data=st.data(), C=st.integers(1, 5), m=st.integers(1, 3))
def test_softmax_equals_hand_built_sympy(data, C, m):
    # the sum over j is built by hand (the parser does not read \sum over a symbolic range); the note is checked
    assert r"\frac{e^{z_i}}{\sum_{j=1}^{C} e^{z_j}}" in latex("act-softmax")
    Z = data.draw(arrays((C, m), lo=-30, hi=30))
    zs = sympy.symbols(f"z0:{C}")
    for i in range(C):
        s_i = sympy.exp(zs[i]) / sum(sympy.exp(zj) for zj in zs)
        for col in range(m):
            expected = float(s_i.subs(dict(zip(zs, Z[:, col], strict=True))).evalf(30))
            _close(act.softmax(Z)[i, col], expected)


@given(Z=arrays(shapes(2, 2), lo=-1000, hi=1000), shift=reals(-500, 500), axis=st.sampled_from([0, 1]))
def test_softmax_is_a_distribution_and_shift_invariant(Z, shift, axis):
    S = act.softmax(Z, axis=axis)
    assert np.all(S >= 0)
    np.testing.assert_allclose(S.sum(axis=axis), 1, rtol=1e-12)
    np.testing.assert_allclose(act.softmax(Z + shift, axis=axis), S, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------------------------------------------
# Contracts: dtype kept, inputs not mutated, clear errors

ALL = [act.sigmoid, act.sigmoid_grad, act.tanh, act.tanh_grad, act.relu, act.relu_grad, act.leaky_relu,
       act.leaky_relu_grad, act.softmax, lambda a: act.maxout(a, 1)]


@pytest.mark.parametrize("f", ALL)
@given(Z=arrays(shapes(1, 3), dtype=float_dtypes(), lo=-100, hi=100))
def test_dtype_and_shape_kept_and_input_not_mutated(f, Z):
    before = Z.copy()
    out = f(Z)
    assert out.dtype == Z.dtype
    assert out.shape == Z.shape
    np.testing.assert_array_equal(Z, before)


@pytest.mark.parametrize("f", ALL)
def test_integers_compute_in_float64(f):
    assert f(np.array([[-2, 0, 3]])).dtype == np.float64


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize("bad", ["abc", np.array(["a", "b"]), np.array([1 + 2j]), object()])
def test_non_numeric_input_is_a_type_error(f, bad):
    with raises_for(TypeError, 'z'):
        f(bad)


def test_maxout_pieces_must_divide_the_rows():
    with raises_for(ValueError, 'pieces'):
        act.maxout(np.zeros((4, 2)), 3)
    for bad, error in ((0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)):
        with raises_for(error, 'pieces'):
            act.maxout(np.zeros((4, 2)), bad)


@pytest.mark.parametrize("slope", [-0.1, 1.5])
def test_leaky_relu_slope_out_of_range(slope):
    with raises_for(ValueError, 'slope'):
        act.leaky_relu(np.ones(3), slope)


# --------------------------------------------------------------------------------------------------------------
# Errata of this chapter: each check passes on the note and fails on the original


def _cases_from_seed(tex):
    """The seed wrote cases as ``value, if (cond) \\\\ …``; rows whose value is 未定义 define nothing."""
    rows = []
    for row in tex.split(r"\\"):
        value, _, cond = row.partition("if")
        if "未定义" not in value:
            rows.append(f"{value.strip().rstrip(',')} & {cond.strip().strip('()')}")
    return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"


def _grad_cell_is_derivative(cell_expr, f_id):
    """True if the derivative cell equals d/dz of the expression cell at points on both sides of 0."""
    derived = sympy.diff(_expression(f_id), z)
    for v in (-3, -0.5, 0.25, 0.5, 0.99, 2, 10):
        value = cell_expr.subs(z, v)
        if value is sympy.nan or abs(float(value) - float(derived.subs(z, v))) > 1e-12:
            return False
    return True


@pytest.mark.formula("act-leaky-relu-grad")
def test_errata_leaky_relu_grad_condition():
    e1 = errata.erratum("E1")
    corrected = _expression("act-leaky-relu-grad")
    original = parse(_cases_from_seed(errata.original_math(e1)))
    assert _grad_cell_is_derivative(corrected, "act-leaky-relu")
    assert not _grad_cell_is_derivative(original, "act-leaky-relu")
    assert original.subs(z, 0.5) is sympy.nan  # the original defines nothing on 0 < z ≤ 1


@pytest.mark.formula("act-relu")
def test_errata_relu_not_differentiable_at_zero():
    relu = _expression("act-relu")
    h = sympy.Symbol("h", positive=True)
    left = sympy.limit((relu.subs(z, 0) - relu.subs(z, -h)) / h, h, 0)
    right = sympy.limit((relu.subs(z, h) - relu.subs(z, 0)) / h, h, 0)
    assert (left, right) == (0, 1)  # so "处处可导" would exclude ReLU, which the same chapter lists
    text = errata.prose("notes/01-activations.md")
    assert "连续并可导(允许少数点上不可导)的非线性函数" in text
    assert not re.search(r"连续并可导的非线性函数", text)


def test_errata_wording():
    text = errata.prose("notes/01-activations.md")
    assert "温度性" not in text
    assert "训练的效率和稳定性" in text


@pytest.mark.parametrize("slope", [0.0, 1.0])
def test_leaky_relu_slope_bounds_are_allowed(slope):
    """[0, 1] is closed: slope 0 is ReLU itself, slope 1 the identity."""
    z = np.array([-2.0, -0.5, 0.0, 3.0])
    expected = act.relu(z) if slope == 0 else z
    np.testing.assert_array_equal(act.leaky_relu(z, slope), expected)
    np.testing.assert_array_equal(act.leaky_relu_grad(z, slope), np.where(z > 0, 1.0, slope))
