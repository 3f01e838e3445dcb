"""Batch normalisation: forward from the note's formulas, backward against SymPy and central differences."""

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from smln.batchnorm import BatchNorm, batchnorm_backward, batchnorm_forward
from smln.optim import GradientDescent
from tests import errata
from tests.errors import raises_for
from tests.oracle import ROOT, latex, oracle, parse
from tests.strategies import arrays

NOTE = "notes/02b-optimizers.md"
EPS = 1e-8



def _symbolic_forward(n, m, eps):
    """The training-mode forward pass built by hand in SymPy on an (n, m) batch.

    The mean and variance are sums over the batch, which the parser does not read: they are built here and the
    note's LaTeX is asserted; the per-example formulas bn-norm and bn-scale are parsed from the note.
    """
    assert latex("bn-mean") == r"\mu=\frac{1}{m}\sum Z^{(i)}"  # the original's mean, summed over the m examples
    assert latex("bn-var") == r"\sigma^{2} = \frac{1}{m} \sum_{i=1}^{m} (Z^{(i)} - \mu)^{2}"
    Z = sympy.Matrix(n, m, lambda i, j: sympy.Symbol(f"z{i}_{j}"))
    gamma = sympy.symbols(f"g0:{n}")
    beta = sympy.symbols(f"b0:{n}")
    norm, scale = oracle("bn-norm").expr, oracle("bn-scale").expr
    sym = {s.name: s for s in norm.free_symbols | scale.free_symbols}
    out = sympy.zeros(n, m)
    for i in range(n):
        mu = sum(Z[i, j] for j in range(m)) / m
        var = sum((Z[i, j] - mu) ** 2 for j in range(m)) / m
        for j in range(m):
            z_norm = norm.subs({sym["Z"]: Z[i, j], sym["mu"]: mu, sym["sigma"]: sympy.sqrt(var), sym["epsilon"]: eps})
            out[i, j] = scale.subs({sym["Z_{norm}"]: z_norm, sym["gamma"]: gamma[i], sym["beta"]: beta[i]})
    return Z, gamma, beta, out


@pytest.mark.formula("bn-mean", "bn-var", "bn-norm", "bn-scale")
@given(data=st.data(), n=st.integers(1, 2), m=st.integers(2, 4))
def test_forward_equals_the_note_formulas(data, n, m):
    Z, gamma, beta, out = _symbolic_forward(n, m, sympy.Rational(1, 10**8))
    Zv = data.draw(arrays(st.just((n, m)), lo=-10, hi=10))
    gv = data.draw(arrays(st.just((n, 1)), lo=-3, hi=3))
    bv = data.draw(arrays(st.just((n, 1)), lo=-3, hi=3))
    values = {**{Z[i, j]: Zv[i, j] for i in range(n) for j in range(m)},
              **{gamma[i]: gv[i, 0] for i in range(n)}, **{beta[i]: bv[i, 0] for i in range(n)}}
    expected = np.array(out.subs(values).evalf(30), dtype=float)
    got, _ = batchnorm_forward(Zv, gv, bv, EPS)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-7)


@given(data=st.data(), n=st.integers(1, 5), m=st.integers(2, 40))
def test_training_output_has_mean_beta_and_std_gamma(data, n, m):
    Zv = data.draw(arrays(st.just((n, m)), lo=-100, hi=100))
    gv = data.draw(arrays(st.just((n, 1)), lo=0.1, hi=5))
    bv = data.draw(arrays(st.just((n, 1)), lo=-5, hi=5))
    out, _ = batchnorm_forward(Zv, gv, bv, EPS)
    var = Zv.var(axis=1, keepdims=True)
    np.testing.assert_allclose(out.mean(axis=1, keepdims=True), bv, atol=1e-9 * (1 + np.abs(gv).max()))
    # the standard deviation is γ·√(σ²/(σ² + ε)): γ up to a factor that ε alone sets
    # (a constant row has a rounding-level variance: ~1e-28 against ε = 1e-8, so allow γ·1e-9 there)
    np.testing.assert_allclose(out.std(axis=1, keepdims=True), gv * np.sqrt(var / (var + EPS)), rtol=1e-6, atol=1e-8)


@pytest.mark.formula("bn-dbeta", "bn-dgamma", "bn-dz")
@pytest.mark.parametrize("n, m", [(1, 2), (1, 3), (2, 2), (2, 4)])
def test_backward_equals_sympy_derived_gradient(n, m):
    for part in (r"d\beta = \sum_{i=1}^{m} d\tilde{Z}^{(i)}",
                 r"d\gamma = \sum_{i=1}^{m} d\tilde{Z}^{(i)} Z_{norm}^{(i)}",
                 r"m \, d\tilde{Z}^{(i)} - \sum_{j=1}^{m} d\tilde{Z}^{(j)} - "
                 r"Z_{norm}^{(i)} \sum_{j=1}^{m} d\tilde{Z}^{(j)} Z_{norm}^{(j)}"):
        assert part in latex("bn-dbeta") + latex("bn-dgamma") + latex("bn-dz")
    eps = sympy.Rational(1, 100)  # a larger ε keeps the symbolic gradient well conditioned
    Z, gamma, beta, out = _symbolic_forward(n, m, eps)
    rng = np.random.default_rng(n * 10 + m)
    Zv, gv, bv, G = rng.normal(size=(n, m)) * 3, rng.normal(size=(n, 1)), rng.normal(size=(n, 1)), rng.normal(size=(n, m))
    loss = sum(G[i, j] * out[i, j] for i in range(n) for j in range(m))  # so that dZ_tilde = G
    values = {**{Z[i, j]: Zv[i, j] for i in range(n) for j in range(m)},
              **{gamma[i]: gv[i, 0] for i in range(n)}, **{beta[i]: bv[i, 0] for i in range(n)}}

    def grad(s):
        return float(sympy.diff(loss, s).subs(values).evalf(30))

    _, cache = batchnorm_forward(Zv, gv, bv, float(eps))
    dZ, dgamma, dbeta = batchnorm_backward(G, cache)
    np.testing.assert_allclose(dZ, [[grad(Z[i, j]) for j in range(m)] for i in range(n)], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(dgamma[:, 0], [grad(g) for g in gamma], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(dbeta[:, 0], [grad(b) for b in beta], rtol=1e-8, atol=1e-10)


@given(data=st.data(), n=st.integers(1, 6), m=st.integers(2, 32))
def test_backward_matches_central_differences(data, n, m):
    Zv = data.draw(arrays(st.just((n, m)), lo=-5, hi=5))
    gv = data.draw(arrays(st.just((n, 1)), lo=0.5, hi=2))
    bv = data.draw(arrays(st.just((n, 1)), lo=-1, hi=1))
    G = data.draw(arrays(st.just((n, m)), lo=-1, hi=1))
    eps = 1e-2
    _, cache = batchnorm_forward(Zv, gv, bv, eps)
    dZ, dgamma, dbeta = batchnorm_backward(G, cache)

    def loss(Z_, g_, b_):
        return float(np.sum(G * batchnorm_forward(Z_, g_, b_, eps)[0]))

    h = 1e-6

    def numeric(f, X):
        out = np.zeros_like(X)
        for idx in np.ndindex(X.shape):
            E = np.zeros_like(X)
            E[idx] = h
            out[idx] = (f(X + E) - f(X - E)) / (2 * h)
        return out

    np.testing.assert_allclose(dZ, numeric(lambda Z_: loss(Z_, gv, bv), Zv), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dgamma, numeric(lambda g_: loss(Zv, g_, bv), gv), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dbeta, numeric(lambda b_: loss(Zv, gv, b_), bv), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------------------------------------------
# The layer: running averages, test mode, training with an optimizer


@pytest.mark.formula("bn-running-mean", "bn-running-var")
@given(data=st.data(), n=st.integers(1, 4), m=st.integers(2, 16), rho=st.floats(0, 0.95), steps=st.integers(1, 60))
def test_running_averages_follow_the_note_and_converge(data, n, m, rho, steps):
    Zv = data.draw(arrays(st.just((n, m)), lo=-10, hi=10))
    layer = BatchNorm(n, rho=rho)
    mean_rule = oracle("bn-running-mean").fn("mu_run", "rho", "mu")
    var_rule = oracle("bn-running-var").fn("sigma_run", "rho", "sigma")  # σ² written as σ_run², σ²: pass roots
    mu, var = Zv.mean(axis=1, keepdims=True), Zv.var(axis=1, keepdims=True)
    run_mu, run_var = np.zeros((n, 1)), np.ones((n, 1))
    for _ in range(steps):
        layer.forward(Zv, training=True)
        run_mu, run_var = mean_rule(run_mu, rho, mu), var_rule(np.sqrt(run_var), rho, np.sqrt(var))
    np.testing.assert_allclose(layer.running_mean, run_mu, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.running_var, run_var, rtol=1e-12, atol=1e-12)
    # the same batch again and again: the distance to its statistics shrinks as ρ^steps
    np.testing.assert_allclose(layer.running_mean - mu, -rho**steps * mu, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(layer.running_var - var, rho**steps * (1 - var), rtol=1e-9, atol=1e-12)


def test_running_averages_converge_to_the_data_statistics():
    rng = np.random.default_rng(0)
    layer = BatchNorm(3, rho=0.9)
    true_mean, true_std = np.array([[2.0], [-1.0], [0.0]]), np.array([[0.5], [3.0], [1.0]])
    for _ in range(300):
        layer.forward(true_mean + true_std * rng.normal(size=(3, 512)), training=True)
    np.testing.assert_allclose(layer.running_mean, true_mean, atol=0.05)
    np.testing.assert_allclose(np.sqrt(layer.running_var), true_std, rtol=0.03)


@given(data=st.data(), n=st.integers(1, 4))
def test_test_mode_works_on_a_single_example(data, n):
    layer = BatchNorm(n)
    layer.params["gamma"][:] = data.draw(arrays(st.just((n, 1)), lo=0.5, hi=2))
    layer.params["beta"][:] = data.draw(arrays(st.just((n, 1)), lo=-1, hi=1))
    for _ in range(5):
        layer.forward(data.draw(arrays(st.just((n, 8)), lo=-5, hi=5)), training=True)
    x = data.draw(arrays(st.just((n, 1)), lo=-5, hi=5))
    out = layer.forward(x, training=False)
    norm = oracle("bn-norm").fn("Z", "mu", "sigma", "epsilon")
    scale = oracle("bn-scale").fn("Z_norm", "gamma", "beta")
    expected = scale(norm(x, layer.running_mean, np.sqrt(layer.running_var), layer.eps), layer.params["gamma"],
                     layer.params["beta"])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    assert out.shape == (n, 1)


def test_layer_trains_with_an_optimizer():
    rng = np.random.default_rng(1)
    layer, opt = BatchNorm(2), GradientDescent(0.1)
    target = np.array([[3.0], [-2.0]])  # learn β so that the output mean is the target
    for _ in range(200):
        out = layer.forward(rng.normal(size=(2, 16)), training=True)
        layer.backward((out - target) / out.shape[1])
        opt.step(layer.params, layer.grads)
    np.testing.assert_allclose(layer.params["beta"], target, atol=1e-3)


def test_bad_input():
    with raises_for(ValueError, 'gamma', '(3, 1)', '(3,)'):
        batchnorm_forward(np.zeros((3, 4)), np.ones(3), np.zeros((3, 1)))
    with raises_for(ValueError, 'beta', '(3, 1)', '(1, 3)'):
        batchnorm_forward(np.zeros((3, 4)), np.ones((3, 1)), np.zeros((1, 3)))
    with raises_for(ValueError, 'Z', '(n, m)'):
        batchnorm_forward(np.zeros(3), np.ones((3, 1)), np.zeros((3, 1)))
    _, cache = batchnorm_forward(np.zeros((3, 4)), np.ones((3, 1)), np.zeros((3, 1)))
    with raises_for(ValueError, 'dZ_tilde', '(3, 4)', '(4, 3)'):
        batchnorm_backward(np.zeros((4, 3)), cache)
    with raises_for(ValueError, 'Z', '(2, *)', '(3, 1)'):
        BatchNorm(2).forward(np.zeros((3, 1)), training=False)
    with pytest.raises(RuntimeError, match="backward 之前需要"):
        BatchNorm(2).backward(np.zeros((2, 1)))
    with raises_for(TypeError, 'Z'):
        batchnorm_forward(np.array([["a"]]), np.ones((1, 1)), np.zeros((1, 1)))


# --------------------------------------------------------------------------------------------------------------
# Errata of batch normalisation


@pytest.mark.formula("bn-var")
@pytest.mark.parametrize("m", [2, 3, 5])
def test_errata_variance_is_squared(m):
    zs = sympy.symbols(f"z0:{m}")
    mu = sum(zs) / m
    original = sum(z - mu for z in zs) / m  # δ² = (1/m) Σ (Z − μ), as the original wrote it
    assert sympy.simplify(original) == 0  # zero for every batch: not a variance
    assert "(Z^{(i)} - \\mu)^{2}" in latex("bn-var") and "(Z^{(i)}-\\mu)" in errata.original_math(errata.erratum("E12"))
    corrected = sum((z - mu) ** 2 for z in zs) / m
    values = dict(zip(zs, np.arange(1.0, m + 1), strict=True))
    assert float(corrected.subs(values)) == pytest.approx(np.var(np.arange(1.0, m + 1)))


@pytest.mark.formula("bn-norm")
def test_errata_numerator_subtracts_the_mean():
    original = parse(errata.original_math(errata.erratum("E13")).split("=", 1)[1].replace(r"\delta", r"\sigma"))
    Z, mu, sigma, eps, a, b = sympy.symbols("Z mu sigma epsilon alpha beta")
    sym = {s.name: s for s in original.free_symbols}
    batch = np.array([1.0, 2.0, 6.0])
    stats = {sym["mu"]: batch.mean(), sym["sigma"]: batch.std(), sym["epsilon"]: 1e-8, sym["alpha"]: 1, sym["beta"]: 0}
    original_out = [float(original.subs({sym["Z"]: z, **stats})) for z in batch]
    assert abs(np.mean(original_out)) > 1  # Z·μ instead of Z − μ: the output is not centred
    out, _ = batchnorm_forward(batch[None, :], np.ones((1, 1)), np.zeros((1, 1)))
    assert abs(out.mean()) < 1e-12
    assert "Z - mu" in str(oracle("bn-norm").expr)


@pytest.mark.formula("bn-norm")
def test_errata_epsilon_inside_the_root():
    v = sympy.Symbol("v", nonnegative=True)  # σ²
    d, eps = sympy.Symbol("d", positive=True), sympy.Symbol("epsilon", positive=True)  # d = Z − μ
    norm = oracle("bn-norm").expr
    sym = {s.name: s for s in norm.free_symbols}
    corrected = norm.subs({sym["Z"]: d + sym["mu"]}).subs(sym["sigma"] ** 2, v).subs(sym["epsilon"], eps)
    original = d / (sympy.sqrt(v) + eps)
    assert r"\sqrt{\sigma^{2} + \epsilon}" in latex("bn-norm")
    assert r"\sqrt{\delta^2}+\epsilon" in errata.original_math(errata.erratum("E14"))
    assert sympy.diff(corrected, v).subs(v, 0) == -d / (2 * eps ** sympy.Rational(3, 2))  # finite at σ² = 0
    assert sympy.limit(sympy.diff(original, v), v, 0, "+") == -sympy.oo  # the original's is infinite


@pytest.mark.formula("bn-scale")
def test_errata_symbols():
    names = {s.name for s in oracle("bn-scale").expr.free_symbols | oracle("bn-norm").expr.free_symbols}
    assert "gamma" in names and "sigma" in names and "alpha" not in names and "delta" not in names
    assert set(BatchNorm(1).params) == {"gamma", "beta"}
    section = errata.prose(NOTE).split("## 批量归一化")[1]
    assert "\\delta" not in section and "δ" not in section


@pytest.mark.formula("bn-norm", "bn-scale")
def test_errata_scaled_output_is_not_normalized():
    rng = np.random.default_rng(1)
    Z = rng.normal(3.0, 5.0, size=(1, 200))
    gamma, beta = np.array([[2.0]]), np.array([[-1.0]])
    Z_tilde, _ = batchnorm_forward(Z, gamma, beta, EPS)
    norm = oracle("bn-norm").fn("Z", "mu", "sigma", "epsilon")(Z, Z.mean(), Z.std(), EPS)
    assert abs(norm.mean()) < 1e-12 and norm.std() == pytest.approx(1.0)  # Z_norm is normalised ...
    assert Z_tilde.mean() == pytest.approx(-1.0) and Z_tilde.std() == pytest.approx(2.0)  # ... the scaled output is not
    assert "normalized" in errata.erratum("E22").fields["原文"]
    assert "_{normalized}" not in errata.prose(NOTE)


def test_training_on_one_example_is_refused_and_test_mode_accepts_it():
    with raises_for(ValueError, 'Z'):
        batchnorm_forward(np.ones((3, 1)), np.ones((3, 1)), np.zeros((3, 1)))
    bn = BatchNorm(3)
    with pytest.raises(ValueError, match="实际 m = 1"):
        bn.forward(np.ones((3, 1)))
    out = bn.forward(np.full((3, 1), 2.0), training=False)  # the running statistics: μ_run = 0, σ²_run = 1
    np.testing.assert_allclose(out, np.full((3, 1), 2.0 / np.sqrt(1 + bn.eps)))


@pytest.mark.formula("bn-default-rho", "bn-default-eps", "bn-running-mean")
def test_batchnorm_defaults_are_the_note_s():
    import inspect

    rho = float(parse(latex("bn-default-rho").split("=")[1]))
    eps = float(parse(latex("bn-default-eps").split("=")[1]))
    sig = inspect.signature(BatchNorm).parameters
    assert sig["rho"].default == rho == 0.9 and sig["eps"].default == eps == 1e-8
    assert inspect.signature(batchnorm_forward).parameters["eps"].default == eps
    assert inspect.signature(BatchNorm.forward).parameters["training"].default is True
    bn = BatchNorm(1)
    bn.forward(np.array([[2.0, 4.0]]))  # training by default: the running mean moves by (1 − ρ) μ
    assert bn.running_mean[0, 0] == pytest.approx((1 - rho) * 3.0)
    Z = np.array([[1e4]])
    np.testing.assert_allclose(BatchNorm(1).forward(Z, training=False), Z / np.sqrt(1 + eps), rtol=1e-13)


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError),
                                        ("4", TypeError)])
def test_batchnorm_layer_size_must_be_a_positive_int(bad, error):
    with raises_for(error, 'n'):
        BatchNorm(bad)


def test_batchnorm_rho_range_is_half_open():
    assert BatchNorm(2, rho=0).rho == 0.0  # ρ = 0: the running averages are the last batch's statistics
    for bad in (1, 1.5, -0.1):
        with raises_for(ValueError, 'rho'):
            BatchNorm(2, rho=bad)


def test_batchnorm_layer_starts_as_the_note_says_and_backward_returns_dz():
    bn = BatchNorm(3)
    assert (bn.params["gamma"] == 1).all() and (bn.params["beta"] == 0).all()
    assert (bn.running_mean == 0).all() and (bn.running_var == 1).all()  # μ_run 从 0、σ²_run 从 1 开始
    assert "$\\mu_{run}$ 从 0、$\\sigma^2_{run}$ 从 1 开始" in (ROOT / NOTE).read_text(encoding="utf-8")
    rng = np.random.default_rng(0)
    Z, G = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    bn.forward(Z)
    dZ = bn.backward(G)
    _, cache = batchnorm_forward(Z, bn.params["gamma"], bn.params["beta"], bn.eps)
    expected, dgamma, dbeta = batchnorm_backward(G, cache)
    np.testing.assert_allclose(dZ, expected)
    np.testing.assert_allclose(bn.grads["gamma"], dgamma)
    np.testing.assert_allclose(bn.grads["beta"], dbeta)


def test_fresh_layer_gradients_have_the_parameters_shapes():
    """Before any backward the gradients are zeros of the parameters' shapes: a step then changes nothing."""
    bn = BatchNorm(4)
    assert {k: v.shape for k, v in bn.grads.items()} == {k: v.shape for k, v in bn.params.items()} == {
        "gamma": (4, 1), "beta": (4, 1)}
    before = {k: v.copy() for k, v in bn.params.items()}
    GradientDescent(0.1).step(bn.params, bn.grads)
    assert all(np.array_equal(bn.params[k], before[k]) for k in before)
