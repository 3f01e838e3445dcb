"""Chapter 2, part 1: gradient descent, weight decay, the computational graph, backprop, vanishing gradients."""

import re
import sys

import numpy as np
import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

from smln.autodiff import Value
from smln.deep import deep_linear_backward, deep_linear_forward
from smln.optim import GradientDescent, l2_grad
from tests import errata
from tests.errors import raises_for
from tests.oracle import latex, oracle, parse, plain, pseudo
from tests.strategies import arrays, float_dtypes, reals, shapes

W, alpha, dW, lam, m = sympy.symbols("W alpha dW lambda m")
GD_WORDS = {"learning_rate": "alpha", "dJ(W)/dW": "dW", "lambda": "lambda"}


# --------------------------------------------------------------------------------------------------------------
# The update rule


@pytest.mark.formula("gd-update")
@given(data=st.data(), a=reals(1e-4, 10))
def test_one_step_equals_the_note_rule(data, a):
    shape = data.draw(shapes(1, 2))
    P = data.draw(arrays(shape))
    G = data.draw(arrays(shape))
    rule = oracle("gd-update").fn("W", "alpha", "dW")
    params = {"W": P.copy()}
    GradientDescent(a).step(params, {"W": G})
    np.testing.assert_allclose(params["W"], rule(P, a, G), rtol=1e-12, atol=1e-12)


@pytest.mark.formula("gd-repeat", "gd-update")
def test_pseudo_code_says_what_the_formula_says():
    assert sympy.simplify(pseudo("gd-repeat", GD_WORDS) - plain(oracle("gd-update").expr)) == 0


@given(data=st.data(), dtype=float_dtypes(), steps=st.integers(1, 5))
def test_several_steps_in_place_keep_dtype(data, dtype, steps):
    P = data.draw(arrays(shapes(2, 2), dtype=dtype))
    params = {"W": P.copy()}
    W_obj = params["W"]
    gd = GradientDescent(0.1)
    expected = P.astype(np.float64)
    for _ in range(steps):
        G = data.draw(arrays(st.just(P.shape), dtype=dtype))
        gd.step(params, {"W": G})
        expected = expected - 0.1 * G
    assert params["W"] is W_obj and W_obj.dtype == dtype  # updated in place
    np.testing.assert_allclose(W_obj, expected, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-3)


# --------------------------------------------------------------------------------------------------------------
# The worked example J(W) = 0.1 (W - 5)^2


@pytest.mark.formula("gd-example-loss", "gd-example-grad")
def test_example_gradient_is_derivative_of_loss():
    J = plain(oracle("gd-example-loss").expr)
    assert sympy.simplify(sympy.diff(J, W) - plain(oracle("gd-example-grad").expr)) == 0
    assert sympy.diff(J, W).subs(W, 10) == 1  # the gradient 1 at W = 10
    assert sympy.solve(sympy.diff(J, W), W) == [5] and J.subs(W, 5) == 0  # the minimum at W = 5


@pytest.mark.formula("gd-example-numbers")
def test_example_session_uses_the_note_formulas():
    session = latex("gd-example-numbers")
    J_code = re.search(r"J = lambda W: (.+)", session).group(1)
    dJ_code = re.search(r"dJ = lambda W: (.+)", session).group(1)
    W_ = sympy.Symbol("W")
    assert sympy.simplify(sympy.sympify(J_code, locals={"W": W_}) - plain(oracle("gd-example-loss").expr)) == 0
    assert sympy.simplify(sympy.sympify(dJ_code, locals={"W": W_}) - plain(oracle("gd-example-grad").expr)) == 0
    printed = re.search(r"print\(dJ\(10.0\), J\(5.0\)\)\n(\S+) (\S+)", session)
    assert (float(printed.group(1)), float(printed.group(2))) == (1.0, 0.0)


@pytest.mark.formula("gd-error-recursion")
@given(a=reals(-5, 25), W0=reals(-100, 100))
def test_error_recursion_is_one_step_of_gradient_descent(a, W0):
    J = plain(oracle("gd-example-loss").expr)
    Wt = sympy.Symbol("W_t")
    one_step = Wt - alpha * sympy.diff(J, W).subs(W, Wt)
    assert sympy.expand(one_step - 5 - plain(oracle("gd-error-recursion").expr).subs(sympy.Symbol("W_t"), Wt)) == 0
    assume(a > 0)
    params = {"W": np.array([W0])}
    GradientDescent(a).step(params, {"W": 0.2 * (params["W"] - 5)})
    np.testing.assert_allclose(params["W"][0] - 5, (1 - 0.2 * a) * (W0 - 5), rtol=1e-9, atol=1e-9)


@pytest.mark.formula("gd-step-bound")
def test_step_bound_is_two_over_curvature():
    tex = latex("gd-step-bound")
    assert r"\frac{2}{0.2} = 10" in tex  # not parsed (a chained inequality); its numbers are derived here
    J = plain(oracle("gd-example-loss").expr)
    curvature = sympy.diff(J, W, 2)
    assert curvature == sympy.Rational(1, 5)
    a = sympy.Symbol("alpha", positive=True)
    converging = sympy.solve_univariate_inequality(sympy.Abs(1 - curvature * a) < 1, a, relational=False)
    assert converging == sympy.Interval.open(0, 2 / curvature) == sympy.Interval.open(0, 10)


@pytest.mark.formula("gd-step-bound")
@given(a=st.floats(0.05, 9.5), W0=reals(-50, 50).filter(lambda v: abs(v - 5) > 1e-3))
def test_converges_to_five_below_the_bound(a, W0):
    params = {"W": np.array([W0])}
    gd = GradientDescent(a)
    for _ in range(2000):
        gd.step(params, {"W": 0.2 * (params["W"] - 5)})
    assert abs(params["W"][0] - 5) < 1e-6


@pytest.mark.formula("gd-step-bound")
@given(a=st.floats(10.2, 30), W0=reals(-50, 50).filter(lambda v: abs(v - 5) > 1e-3))
def test_diverges_above_the_bound(a, W0):
    params = {"W": np.array([W0])}
    gd = GradientDescent(a)
    errors = []
    for _ in range(60):
        gd.step(params, {"W": 0.2 * (params["W"] - 5)})
        errors.append(abs(params["W"][0] - 5))
    assert errors[-1] > 10 * abs(W0 - 5) and all(b > e for e, b in zip(errors, errors[1:], strict=False))


# --------------------------------------------------------------------------------------------------------------
# L2 regularisation (weight decay), corrected


def _regularised_step():
    """One gradient-descent step on J + λ/(2m) W², derived by SymPy with J an unknown function of W."""
    Jf = sympy.Function("J")(W)
    J_reg = plain(oracle("gd-l2-loss").expr).subs(sympy.Symbol("J"), Jf)
    grad = sympy.diff(J_reg, W).subs(sympy.Derivative(Jf, W), dW)
    return grad, W - alpha * grad


@pytest.mark.formula("gd-l2-loss", "gd-l2-grad")
def test_l2_gradient_is_derivative_of_regularised_loss():
    grad, _ = _regularised_step()
    assert sympy.simplify(grad - plain(oracle("gd-l2-grad").expr)) == 0


@pytest.mark.formula("gd-weight-decay", "gd-decay-factor", "gd-l2-repeat")
def test_weight_decay_rules_are_gradient_descent_on_the_regularised_loss():
    _, step = _regularised_step()
    for rule in (oracle("gd-weight-decay").expr, oracle("gd-decay-factor").expr, pseudo("gd-l2-repeat", GD_WORDS)):
        assert sympy.simplify(plain(rule) - step) == 0, rule


@pytest.mark.formula("gd-l2-grad")
@given(data=st.data(), lambd=reals(0, 10), m_=st.integers(1, 1000))
def test_l2_grad_equals_the_note(data, lambd, m_):
    shape = data.draw(shapes(2, 2))
    Wv, dWv = data.draw(arrays(shape)), data.draw(arrays(shape))
    expected = oracle("gd-l2-grad").fn("dW", "lambda", "m", "W")(dWv, lambd, m_, Wv)
    np.testing.assert_allclose(l2_grad(dWv, Wv, lambd, m_), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.formula("gd-weight-decay")
@given(data=st.data(), a=reals(1e-3, 1), lambd=reals(0, 10), m_=st.integers(1, 100))
def test_weight_decay_option_equals_descent_on_regularised_quadratic(data, a, lambd, m_):
    """J(W) = ½‖W − T‖²: SymPy differentiates J + λ/(2m)‖W‖² element by element; one step must match."""
    shape = data.draw(shapes(2, 2, max_side=3))
    W0, T = data.draw(arrays(shape)), data.draw(arrays(shape))
    w, t = sympy.symbols("w t")
    loss = (w - t) ** 2 / 2 + sympy.Rational(1, 2) * sympy.nsimplify(lambd) / m_ * w**2
    grad = sympy.lambdify([w, t], sympy.diff(loss, w), "numpy")
    params = {"W": W0.copy()}
    GradientDescent(a, weight_decay=lambd / m_).step(params, {"W": W0 - T})  # dJ/dW without the penalty
    np.testing.assert_allclose(params["W"], W0 - a * grad(W0, T), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(params["W"], oracle("gd-weight-decay").fn("W", "alpha", "dW", "lambda", "m")(
        W0, a, W0 - T, lambd, m_), rtol=1e-10, atol=1e-10)


@pytest.mark.formula("gd-weight-decay")
def test_errata_weight_decay_multiplies_by_alpha():
    quote = re.search(r"「(.+?)」", errata.erratum("E4").fields["原文"]).group(1)
    rhs = quote.split(":=")[1]
    for word, symbol in sorted(GD_WORDS.items(), key=lambda kv: -len(kv[0])):
        rhs = rhs.replace(word, f"__{symbol}__")
    original = sympy.sympify(rhs, locals={f"__{n}__": sympy.Symbol(n) for n in ("alpha", "dW", "lambda")})
    _, step = _regularised_step()
    corrected = plain(oracle("gd-weight-decay").expr)
    assert sympy.simplify(corrected - step) == 0
    assert sympy.simplify(original - step) != 0  # the original is not gradient descent on J_reg ...
    assert sympy.simplify((original - step).subs(alpha, 1)) == 0  # ... except when α = 1;
    # it is gradient descent on J + λ/(2αm) W²: a regularisation strength λ/α tied to the learning rate
    Jf = sympy.Function("J")(W)
    tied = sympy.diff(Jf + lam / (2 * alpha * m) * W**2, W).subs(sympy.Derivative(Jf, W), dW)
    assert sympy.simplify(original - (W - alpha * tied)) == 0


# --------------------------------------------------------------------------------------------------------------
# The computational graph and backprop

a_, b_, c_ = sympy.symbols("a b c")


def cg_steps() -> dict[str, sympy.Expr]:
    """The note's $u = bc,v = a+u,J =3v$: each step's name and right-hand side."""
    steps = {}
    for part in latex("cg-steps").split(","):
        name, rhs = part.split("=")
        steps[name.strip()] = parse(rhs)
    assert list(steps) == ["u", "v", "J"]
    return steps


@pytest.mark.formula("cg-objective", "cg-steps")
def test_intermediate_steps_compose_to_the_objective():
    steps = cg_steps()
    v = steps["v"].subs(sympy.Symbol("u"), steps["u"])
    J = steps["J"].subs(sympy.Symbol("v"), v)
    assert sympy.expand(J - oracle("cg-objective").expr) == 0


@pytest.mark.formula("cg-objective")
@given(a=reals(-100, 100), b=reals(-100, 100), c=reals(-100, 100))
def test_value_gradients_equal_sympy_diff_of_the_note(a, b, c):
    J_expr = oracle("cg-objective").expr
    va, vb, vc = Value(a), Value(b), Value(c)
    J = 3 * (va + vb * vc)
    J.backward()
    point = {a_: a, b_: b, c_: c}
    assert J.data == pytest.approx(float(J_expr.subs(point)), rel=1e-12, abs=1e-9)
    for v, s in ((va, a_), (vb, b_), (vc, c_)):
        assert v.grad == pytest.approx(float(sympy.diff(J_expr, s).subs(point)), rel=1e-12, abs=1e-12)


POINT = {a_: 5, b_: 3, c_: 2}


def _local(top: str, bottom: str) -> sympy.Expr:
    """A local derivative d(top)/d(bottom) of the graph, by SymPy, at a = 5, b = 3, c = 2."""
    steps = cg_steps()
    u, v = sympy.symbols("u v")
    point = {**POINT, u: 6, v: 11}
    return sympy.diff(steps[top], sympy.Symbol(bottom)).subs(point)


def _chain(product_tex: str) -> list[tuple[str, str]]:
    """``\\frac {dJ}{dv} \\frac {dv}{du}`` → [("J", "v"), ("v", "u")]."""
    return re.findall(r"\\frac\{d(\w)\}\{d(\w)\}", product_tex.replace(" ", ""))


@pytest.mark.formula("bp-grad-a", "bp-grad-b", "bp-grad-c")
@pytest.mark.parametrize("fid, param", [("bp-grad-a", "a"), ("bp-grad-b", "b"), ("bp-grad-c", "c")])
def test_chain_rule_numbers(fid, param):
    """Each written product of local derivatives (at a=5, b=3, c=2) is the chain rule, and equals ∂J/∂param."""
    # LaTeX of products of fractions is not read by the parser: the chain is read as pairs of names here
    lhs, chain_tex, numbers, total = [part.strip() for part in latex(fid).split("=")]
    chain = _chain(chain_tex)
    assert _chain(lhs) == [("J", param)] and chain[0][0] == "J" and chain[-1][1] == param
    assert all(a[1] == b[0] for a, b in zip(chain, chain[1:], strict=False))  # a path through the graph
    local = [_local(top, bottom) for top, bottom in chain]
    assert [int(x) for x in numbers.split("*")] == local
    assert int(total) == sympy.prod(local) == sympy.diff(oracle("cg-objective").expr, sympy.Symbol(param)).subs(POINT)


@pytest.mark.formula("bp-chain", "bp-grad-a", "bp-grad-b", "bp-grad-c")
def test_chain_summary_lists_the_same_paths():
    pieces = [p.split("=") for p in latex("bp-chain").split(",")]
    assert len(pieces) == 3
    for (lhs, rhs), fid in zip(pieces, ("bp-grad-a", "bp-grad-b", "bp-grad-c"), strict=True):
        assert _chain(lhs) + _chain(rhs) == _chain("".join(latex(fid).split("=")[:2]))


@pytest.mark.formula("gd-example-grad-at-10", "gd-example-loss")
def test_gradient_at_10_is_one():
    lhs, product, value = latex("gd-example-grad-at-10").split("=")
    J = plain(oracle("gd-example-loss").expr)
    assert sympy.simplify(parse(product.replace("*", r"\cdot"))) == sympy.diff(J, W).subs(W, 10) == parse(value) == 1


@pytest.mark.formula("gd-example-minimum", "gd-example-loss")
def test_loss_is_zero_at_its_minimum_5():
    J = plain(oracle("gd-example-loss").expr)
    assert latex("gd-example-minimum").replace(" ", "") == "J(W=5)=0"
    assert J.subs(W, 5) == 0 and sympy.solve(sympy.diff(J, W), W) == [5] and sympy.diff(J, W, 2) > 0


@pytest.mark.formula("cg-steps")
def test_errata_only_local_gradients_are_known_in_the_forward_pass():
    # when u = bc is computed, du/db = c is known; dJ/db is not: it depends on what comes after u
    dJdb = []
    for k in (3, 5):  # J = 3v as in the note, and the same graph continued differently
        a, b, c = Value(5.0), Value(3.0), Value(2.0)
        u = b * c
        local_at_forward = c.data  # du/db, known as soon as u exists
        J = k * (a + u)
        J.backward()
        assert local_at_forward == int(_local("u", "b")) == 2
        dJdb.append(b.grad)
    assert dJdb == [6.0, 10.0]  # so "the gradient" cannot be computed in the forward pass at u
    assert "每个节点的局部梯度可以在正向传播时计算" in errata.prose("notes/02-gradient-descent.md")


# random expression trees: (SymPy expression, builder of the same expression from Value leaves)
X, Y, Z = sympy.symbols("x y z")
LEAVES = st.one_of(
    st.sampled_from([(X, lambda v: v["x"]), (Y, lambda v: v["y"]), (Z, lambda v: v["z"])]),
    st.floats(-3, 3, allow_nan=False).map(lambda k: (sympy.Float(k), lambda v, k=k: Value(k))),
)


def _combine(children):
    def unary(op_sym, op_val):
        return children.map(lambda t: (op_sym(t[0]), lambda v, f=t[1]: op_val(f(v))))

    def binary(op_sym, op_val):
        return st.tuples(children, children).map(
            lambda ts: (op_sym(ts[0][0], ts[1][0]), lambda v, f=ts[0][1], g=ts[1][1]: op_val(f(v), g(v))))

    def with_number(op_sym, op_val):  # a plain float on one side: Value's reflected operators (k - p is __rsub__)
        return st.tuples(children, st.floats(-3, 3, allow_nan=False)).map(
            lambda t: (op_sym(t[0][0], sympy.Float(t[1])), lambda v, f=t[0][1], k=t[1]: op_val(f(v), k)))

    return st.one_of(
        with_number(lambda p, k: k + p, lambda p, k: k + p),
        with_number(lambda p, k: k - p, lambda p, k: k - p),
        with_number(lambda p, k: p - k, lambda p, k: p - k),
        with_number(lambda p, k: k * p, lambda p, k: k * p),
        with_number(lambda p, k: k / (p**2 + 1), lambda p, k: k / (p**2 + 1)),
        unary(lambda p: -p, lambda p: -p),
        binary(lambda p, q: p + q, lambda p, q: p + q),
        binary(lambda p, q: p - q, lambda p, q: p - q),
        binary(lambda p, q: p * q, lambda p, q: p * q),
        binary(lambda p, q: p / (q**2 + 1), lambda p, q: p / (q**2 + 1)),
        unary(lambda p: p**3, lambda p: p**3),
        unary(lambda p: (p**2 + 1) ** sympy.Rational(1, 2), lambda p: (p**2 + 1) ** 0.5),
        unary(sympy.exp, Value.exp),
        unary(lambda p: sympy.log(p**2 + 1), lambda p: (p**2 + 1).log()),
        unary(sympy.tanh, Value.tanh),
        unary(lambda p: 1 / (1 + sympy.exp(-p)), Value.sigmoid),
        unary(lambda p: sympy.Max(0, p), Value.relu),
    )


EXPRESSIONS = st.recursive(LEAVES, _combine, max_leaves=12)


@given(tree=EXPRESSIONS, x=reals(-2, 2), y=reals(-2, 2), z=reals(-2, 2))
def test_random_expression_trees_agree_with_sympy(tree, x, y, z):
    expr, build = tree
    point = {X: x, Y: y, Z: z}
    expected = complex(expr.subs(point).evalf(30))
    assume(expected.imag == 0 and abs(expected.real) < 1e6)
    # ReLU has no derivative at its kink: keep away from it
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Max):
            assume(abs(float(node.args[1].subs(point) if node.args[0] == 0 else node.args[0].subs(point))) > 1e-6)
    leaves = {"x": Value(x), "y": Value(y), "z": Value(z)}
    try:
        out = build(leaves)
    except OverflowError:
        assume(False)
    assert out.data == pytest.approx(expected.real, rel=1e-9, abs=1e-9)
    out.backward()
    for name, s in (("x", X), ("y", Y), ("z", Z)):
        g = float(sympy.diff(expr, s).subs(point).evalf(30))
        assert leaves[name].grad == pytest.approx(g, rel=1e-7, abs=1e-7), (name, expr)


def test_gradients_accumulate_when_a_node_is_used_twice():
    x = Value(3.0)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad == 7.0


def test_ten_thousand_deep_chain_back_propagates():
    assert sys.getrecursionlimit() < 10_000
    x = Value(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0001**10_000, rel=1e-9)


def test_value_rejects_non_numbers():
    with raises_for(TypeError, 'data'):
        Value("3")
    for bad in (-1.0, 0.0):  # log is defined for positive numbers only: 0 is outside too
        with raises_for(ValueError, 'log'):
            Value(bad).log()


@pytest.mark.parametrize("make, value, grad", [
    (lambda x: 2 - x, -1.0, -1.0), (lambda x: 2 + x, 5.0, 1.0), (lambda x: 2 * x, 6.0, 2.0),
    (lambda x: 6 / x, 2.0, -6 / 9), (lambda x: x - 2, 1.0, 1.0), (lambda x: -x, -3.0, -1.0)])
def test_numbers_on_either_side(make, value, grad):
    """2 - x, 2 + x, 2 * x, 6 / x at x = 3: each value and gradient, by hand."""
    x = Value(3.0)
    y = make(x)
    y.backward()
    assert (y.data, x.grad) == pytest.approx((value, grad))


def test_repr_shows_value_and_gradient():
    x = Value(2.5)
    (x * 4).backward()
    assert repr(x) == "Value(data=2.5, grad=4)"
    with pytest.raises(TypeError, match="指数 k"):
        Value(2.0) ** Value(2.0)


# --------------------------------------------------------------------------------------------------------------
# Vanishing and exploding gradients


@pytest.mark.formula("vg-output")
@pytest.mark.parametrize("L", [1, 2, 3, 5])
def test_output_is_the_product_of_all_layers(L):
    # a product of L matrices is built by hand in SymPy (the parser does not read \cdots)
    assert r"y = W^{[L]} W^{[L-1]} \cdots W^{[2]} W^{[1]} X" == latex("vg-output")
    ws = sympy.symbols(f"w1:{L + 1}")
    x1, x2 = sympy.symbols("x1 x2")
    y = sympy.Matrix([x1, x2])
    for wl in ws:
        y = sympy.diag(wl, wl) * y
    w = sympy.Symbol("w")
    y_equal = y.subs({wl: w for wl in ws})
    power = oracle("vg-power").expr  # w^L X
    for row, xv in ((0, x1), (1, x2)):
        assert sympy.simplify(y_equal[row] - power.subs({sympy.Symbol("L"): L, sympy.Symbol("X"): xv})) == 0
    Yc, _ = deep_linear_forward(np.array([[2.0], [-3.0]]), L, 1.5)
    np.testing.assert_allclose(Yc[:, 0], [float(y_equal[r].subs({w: 1.5, x1: 2, x2: -3})) for r in (0, 1)])


@pytest.mark.formula("vg-power")
@given(data=st.data(), L=st.integers(1, 60), w=reals(0.1, 1.8))
def test_forward_is_w_to_the_L(data, L, w):
    Xv = data.draw(arrays(shapes(2, 2), lo=-10, hi=10))
    expected = oracle("vg-power").fn("w", "L", "X")(w, L, Xv)
    Yv, _ = deep_linear_forward(Xv, L, w)
    np.testing.assert_allclose(Yv, expected, rtol=1e-13 * L + 1e-15, atol=1e-300)


@pytest.mark.formula("vg-grad-first-layer")
@pytest.mark.parametrize("L", [1, 2, 3, 4, 6])
def test_first_layer_gradient_scales_as_w_to_the_L_minus_1(L):
    ws = sympy.symbols(f"w1:{L + 1}")
    x, w = sympy.symbols("x w")
    y = sympy.prod(ws) * x
    derived = sympy.diff(y, ws[0]).subs({wl: w for wl in ws})
    written = oracle("vg-grad-first-layer").expr.subs(sympy.Symbol("L"), L)
    assert sympy.simplify(derived - written) == 0
    for wv in (0.5, 1.0, 1.5):
        Yv, cache = deep_linear_forward(np.array([[0.7]]), L, wv)
        dX, dW1 = deep_linear_backward(np.ones_like(Yv), cache)
        assert dW1[0, 0] == pytest.approx(float(written.subs({w: wv, x: 0.7})), rel=1e-12)
        assert dX[0, 0] == pytest.approx(wv**L, rel=1e-12)


@given(data=st.data(), L=st.integers(1, 8), w=reals(0.3, 1.7))
def test_backward_matches_central_differences(data, L, w):
    n, m_ = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    Xv = data.draw(arrays(st.just((n, m_)), lo=-2, hi=2))
    G = data.draw(arrays(st.just((n, m_)), lo=-2, hi=2))
    Yv, cache = deep_linear_forward(Xv, L, w)
    dX, dW1 = deep_linear_backward(G, cache)
    h = 1e-6

    def loss_wrt_W1(W1):  # first layer W1, the others w·I
        A = W1 @ Xv
        for _ in range(L - 1):
            A = w * A
        return float(np.sum(G * A))

    W1 = w * np.eye(n)
    num = np.zeros_like(W1)
    for i in range(n):
        for j in range(n):
            E = np.zeros_like(W1)
            E[i, j] = h
            num[i, j] = (loss_wrt_W1(W1 + E) - loss_wrt_W1(W1 - E)) / (2 * h)
    np.testing.assert_allclose(dW1, num, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dX, w**L * G, rtol=1e-12, atol=1e-12)


@pytest.mark.formula("vg-example")
def test_example_numbers_are_w_to_the_L():
    rows = re.findall(r"^(\d+) (\S+) (\S+)$", latex("vg-example"), flags=re.M)
    assert [r[0] for r in rows] == ["10", "50"]
    power = oracle("vg-power").fn("w", "L", "X")
    for L, big, small in rows:
        assert float(big) == pytest.approx(power(1.5, int(L), 1.0), rel=1e-15)
        assert float(small) == pytest.approx(power(0.5, int(L), 1.0), rel=1e-15)


@pytest.mark.formula("vg-output")
def test_errata_output_multiplies_all_layers():
    e5 = errata.erratum("E5")
    layers = lambda tex: re.findall(r"W\^\{\[([^\]]+)\]\}", tex)  # noqa: E731
    assert layers(latex("vg-output"))[0] == "L"  # the output multiplies all L layers
    assert layers(errata.original_math(e5))[0] != "L"


# --------------------------------------------------------------------------------------------------------------
# The optimizer protocol and bad input


def test_protocol_errors_name_what_is_wrong():
    gd = GradientDescent(0.1)
    with raises_for(ValueError, "grads", "['W']", "['b']"):  # both key sets shown; params define what is expected
        gd.step({"W": np.zeros(2)}, {"b": np.zeros(2)})
    with raises_for(ValueError, "grads['W']", '(2, 3)', '(3, 2)'):
        gd.step({"W": np.zeros((2, 3))}, {"W": np.zeros((3, 2))})
    with raises_for(TypeError, "params['W']"):
        gd.step({"W": np.zeros(2, dtype=int)}, {"W": np.zeros(2)})
    with raises_for(TypeError, "params['W']"):
        gd.step({"W": [0.0, 1.0]}, {"W": np.zeros(2)})
    for bad in (0, -1, float("nan")):
        with raises_for(ValueError, 'alpha'):
            GradientDescent(bad)
    with raises_for(ValueError, 'weight_decay'):
        GradientDescent(0.1, weight_decay=-1)
    with raises_for(ValueError, 'dW', '(2,)'):
        l2_grad(np.zeros(3), np.zeros(2), 0.1, 10)


def test_a_failed_step_changes_nothing():
    params = {"W": np.ones(2), "b": np.ones(3)}
    with pytest.raises(ValueError):
        GradientDescent(0.1).step(params, {"W": np.ones(2), "b": np.ones(4)})
    np.testing.assert_array_equal(params["W"], np.ones(2))


def test_deep_linear_bad_input():
    with raises_for(ValueError, 'L'):
        deep_linear_forward(np.ones((2, 1)), 0, 1.5)
    with raises_for(ValueError, 'X', '(n_x, m)'):
        deep_linear_forward(np.ones(2), 3, 1.5)
    _, cache = deep_linear_forward(np.ones((2, 3)), 3, 1.5)
    with raises_for(ValueError, 'dY', '(2, 3)', '(3, 2)'):
        deep_linear_backward(np.ones((3, 2)), cache)


@pytest.mark.formula("vg-setup-b", "vg-setup-g", "vg-setup-w", "vg-output")
@given(L=st.integers(1, 12), x=arrays(st.just((2, 3)), lo=-2, hi=2))
def test_the_setup_is_the_deep_linear_network(L, x):
    """A general forward pass with the note's b, g and W is exactly deep_linear_forward(X, L, 1.5)."""
    assert latex("vg-setup-b") == "b^{[l]}" and latex("vg-setup-g") == "g(z)=z"
    assert "1.5 & 0\\\\ 0 & 1.5" in latex("vg-setup-w")
    W_l = np.array([[1.5, 0.0], [0.0, 1.5]])
    g = lambda z: z  # noqa: E731  g(z) = z
    A = x
    for _ in range(L):
        A = g(W_l @ A + np.zeros((2, 1)))  # b^[l] = 0
    np.testing.assert_allclose(deep_linear_forward(x, L, 1.5)[0], A, rtol=1e-12)


@pytest.mark.formula("vg-power", "vg-grad-first-layer")
@pytest.mark.parametrize("L", [2, 5, 10])
def test_errata_output_and_gradient_grow_with_different_powers(L):
    at = {sympy.Symbol("L"): L, sympy.Symbol("w"): sympy.Rational(3, 2)}
    y_over_x = oracle("vg-power").expr.subs({sympy.Symbol("X"): 1, **at})
    grad = oracle("vg-grad-first-layer").expr.subs({sympy.Symbol("x"): 1, **at})
    assert y_over_x == sympy.Rational(3, 2) ** L and grad == sympy.Rational(3, 2) ** (L - 1)
    # central differences on the scalar network y = w_L ... w_1 x: the gradient is 1.5^(L-1), not the output's 1.5^L
    w, h = np.full(L, 1.5), 1e-6
    up, down = w.copy(), w.copy()
    up[0] += h
    down[0] -= h
    numeric = (np.prod(up) - np.prod(down)) / (2 * h)
    assert numeric == pytest.approx(1.5 ** (L - 1), rel=1e-6) != pytest.approx(1.5**L, rel=1e-3)
    assert "梯度中的$1.5^{L-1}$则引起梯度爆炸" in errata.prose("notes/02-gradient-descent.md")


def test_errata_wording():
    text = errata.prose("notes/02-gradient-descent.md")
    assert "定位为" not in text and "目标函数定义为" in text
    assert "下一节" not in text and "(##" not in text
    assert "$b^l$" not in text and "$W^l$" not in text
    quotes = errata.erratum("E16").fields["原文"]
    assert all(q in quotes for q in ("定位为", "下一节", "[参数初始化](##参数初始化)", "$b^l$", "$W^l$"))


PRIMITIVES = [("exp", sympy.exp), ("log", sympy.log), ("tanh", sympy.tanh),
              ("sigmoid", lambda v: 1 / (1 + sympy.exp(-v))), ("relu", lambda v: sympy.Max(0, v))]


@pytest.mark.parametrize("name, sym, x", [(n, f, x) for n, f in PRIMITIVES for x in (-2.5, -0.3, 0.4, 1.7, 6.0)
                                          if not (n == "log" and x <= 0)])
def test_each_operation_value_and_local_derivative(name, sym, x):
    """Each primitive of Value on its own, against SymPy's value and derivative (the random trees mix them)."""
    v = sympy.Symbol("v")
    node = Value(x)
    out = getattr(node, name)()
    out.backward()
    assert out.data == pytest.approx(float(sym(v).subs(v, x)), rel=1e-12)
    assert node.grad == pytest.approx(float(sympy.diff(sym(v), v).subs(v, x)), rel=1e-12)


def test_value_relu_at_zero_takes_the_left_derivative():
    """The same convention as smln.activations.relu_grad (and PyTorch): ReLU'(0) = 0."""
    from smln.activations import relu_grad

    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0 == float(relu_grad(0.0))
    y = Value(1e-12)
    y.relu().backward()
    assert y.grad == 1.0
