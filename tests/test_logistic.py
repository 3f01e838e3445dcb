"""Chapter 7: logistic regression.

Oracles: the note's formulas parsed by SymPy's LaTeX reader where it can (the sigmoid's closed form, the erratum's
original), the cross-entropy built by hand in SymPy on tiny shapes and differentiated by ``sympy.diff``, NumPy's
``logaddexp`` for the stable loss at extreme logits, and scikit-learn's ``LogisticRegression`` for the minimiser of
the same objective.
"""

import inspect

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from smln import logistic
from smln.validation import NotFittedError
from tests import errata
from tests.errors import raises_as, raises_for
from tests.oracle import ROOT, assert_latex, latex, parse
from tests.strategies import reals

NOTE = "notes/07-logistic-regression.md"



def _closed_form(tex):
    """The last member of ``p = σ(…) = (1 + e^{…})^{-1}`` as SymPy, with scalar W, x, b (n_x = 1)."""
    return parse(tex.split("=")[-1].replace("W^T", "W"))


@pytest.mark.formula("lr-p1", "lr-p0")
@given(reals(-20, 20), reals(-20, 20), reals(-20, 20))
def test_the_probability_is_the_sigmoid_of_the_logit(W, x, b):
    assert_latex("lr-p1", r"p(y=1|x)=\sigma(W^Tx+b)")
    assert_latex("lr-p0", r"p(y=0|x)=1-p(y=1|x)")
    expr = _closed_form(latex("lr-p1"))
    values = {sympy.Symbol("W"): W, sympy.Symbol("x"): x, sympy.Symbol("b"): b}
    expected = float(expr.subs(values))
    got = logistic.predict_proba(np.array([[W]]), b, np.array([[x]]))
    assert got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert 1 - got[0, 0] == pytest.approx(1 - expected, rel=1e-9, abs=1e-12)  # p(y = 0 | x)


@pytest.mark.formula("lr-p1")
def test_errata_the_exponent_has_x():
    e = errata.erratum("E34")
    original = _closed_form(errata.original_math(e))
    corrected = _closed_form(latex("lr-p1"))
    W, x, b = sympy.symbols("W x b")
    assert x not in original.free_symbols  # the original's "probability" ignores the input
    values = {W: 1.5, x: 2.0, b: -0.5}
    p = logistic.predict_proba(np.array([[1.5]]), -0.5, np.array([[2.0]]))[0, 0]
    assert p == pytest.approx(float(corrected.subs(values)), rel=1e-14)
    assert p != pytest.approx(float(original.subs(values)), rel=1e-3)  # the original formula fails this test


def test_errata_logistic_regression_is_its_own_chapter():
    """E38: the original's "#### 逻辑回归" sat under "## translation 模型"; it is a chapter of its own, and the
    translation chapter neither holds its heading nor uses it."""
    from litnotes import fidelity

    original = (ROOT / "original/SuperMachineLearningNotes.md").read_text(encoding="utf-8").splitlines()
    at = original.index("#### 逻辑回归")
    above = [ln for ln in original[:at] if ln.startswith("## ")][-1]
    assert above == "## translation 模型"  # where the original put it
    ours = (ROOT / "notes/07-logistic-regression.md").read_text(encoding="utf-8").splitlines()
    assert ours[0] == "# 逻辑回归"  # a chapter: level 1
    translation = (ROOT / "notes/06-translation.md").read_text(encoding="utf-8")
    assert "逻辑回归" not in [ln.lstrip("# ").strip() for ln in translation.splitlines() if ln.startswith("#")]
    assert "logistic" not in translation.split("```python title=\"smln/seq2seq.py\"")[1][:3000]  # no import of it
    assert fidelity.SECTIONS["逻辑回归"] == "notes/07-logistic-regression.md"
    assert "「#### 逻辑回归」" in errata.erratum("E38").fields["原文"]


@pytest.mark.formula("lr-boundary")
@given(st.integers(1, 4), st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_the_decision_boundary_is_the_hyperplane(n_x, m, seed):
    assert_latex("lr-boundary", r"p(y=1|x) \ge \frac{1}{2} \iff W^Tx + b \ge 0")
    rng = np.random.default_rng(seed)
    model = logistic.LogisticRegression(epochs=2).fit(rng.standard_normal((n_x, 8)), (rng.random((1, 8)) > 0.5) * 1)
    X = rng.standard_normal((n_x, m))
    z = model.W_.T @ X + model.b_
    np.testing.assert_array_equal(model.predict(X), (z >= 0).astype(int))
    np.testing.assert_array_equal(model.predict(X), (model.predict_proba(X) >= 0.5).astype(int))
    np.testing.assert_allclose(model.decision_function(X), z, rtol=1e-15)


def _sympy_loss(n_x, m, lambd):
    """The note's lr-loss built by hand: −(1/m) Σ [y log a + (1 − y) log(1 − a)] + λ/(2m) ‖W‖²."""
    assert_latex("lr-loss", r"J = -\frac{1}{m} \sum_{i=1}^{m} \left(y^{(i)} \log a^{(i)} + (1 - y^{(i)}) "
                            r"\log(1 - a^{(i)})\right)", r"+ \frac{\lambda}{2m} \lVert W \rVert^2")
    W = sympy.Matrix(n_x, 1, lambda i, _: sympy.Symbol(f"W{i}"))
    X = sympy.Matrix(n_x, m, lambda i, j: sympy.Symbol(f"x{i}_{j}"))
    b, Y = sympy.Symbol("b"), sympy.symbols(f"y0:{m}")
    a = [1 / (1 + sympy.exp(-((W.T * X[:, i])[0] + b))) for i in range(m)]
    J = -sum(Y[i] * sympy.log(a[i]) + (1 - Y[i]) * sympy.log(1 - a[i]) for i in range(m)) / m
    return J + sympy.Rational(lambd) / (2 * m) * (W.T * W)[0], W, X, b, Y


@pytest.mark.formula("lr-loss", "lr-dz", "lr-dw", "lr-db")
@pytest.mark.parametrize(("n_x", "m", "lambd"), [(1, 1, 0), (2, 3, 0), (2, 2, 3)])
def test_loss_and_gradients_are_sympys(n_x, m, lambd):
    assert_latex("lr-dz", r"\frac{\partial J}{\partial z^{(i)}} = \frac{1}{m}(a^{(i)} - y^{(i)})")
    assert_latex("lr-dw", r"\frac{1}{m} X (A - Y)^T + \frac{\lambda}{m} W")
    assert_latex("lr-db", r"\frac{1}{m} \sum_{i=1}^{m} (a^{(i)} - y^{(i)})")
    J, W, X, b, Y = _sympy_loss(n_x, m, lambd)
    rng = np.random.default_rng(n_x * 10 + m)
    W_val, X_val, b_val = rng.standard_normal((n_x, 1)), rng.standard_normal((n_x, m)), float(rng.standard_normal())
    Y_val = rng.integers(0, 2, (1, m))
    subs = {b: b_val, **{W[i]: W_val[i, 0] for i in range(n_x)}, **{Y[j]: int(Y_val[0, j]) for j in range(m)},
            **{X[i, j]: X_val[i, j] for i in range(n_x) for j in range(m)}}
    got_J, dW, db = logistic.loss_and_gradients(W_val, b_val, X_val, Y_val, lambd=lambd)
    assert got_J == pytest.approx(float(J.subs(subs)), rel=1e-12)
    np.testing.assert_allclose(dW[:, 0], [float(sympy.diff(J, W[i]).subs(subs)) for i in range(n_x)], rtol=1e-10)
    assert db == pytest.approx(float(sympy.diff(J, b).subs(subs)), rel=1e-10, abs=1e-14)
    # lr-dz: with one example and no penalty, ∂J/∂z = a − y (z enters W and b only through z)
    z = sympy.Symbol("z")
    Jz = -(Y[0] * sympy.log(1 / (1 + sympy.exp(-z))) + (1 - Y[0]) * sympy.log(1 - 1 / (1 + sympy.exp(-z)))) / m
    dz = sympy.diff(Jz, z).subs({z: 0.3, Y[0]: 1})
    assert float(dz) == pytest.approx((1 / (1 + np.exp(-0.3)) - 1) / m, rel=1e-12)


@pytest.mark.formula("lr-stable")
@given(st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=10), st.data())
def test_the_loss_is_stable_from_the_logits(z, data):
    assert_latex("lr-stable", r"= \max(z, 0) + \log(1 + e^{-|z|}) - y z")
    z = np.array(z)[None]
    Y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=z.shape[1], max_size=z.shape[1])))[None]
    X = np.ones((1, z.shape[1]))
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow, no log(0)
        J, dW, db = logistic.loss_and_gradients(z[:, :1] * 0 + 1, 0.0, X * z, Y)
    expected = np.mean(np.logaddexp(0, z) - Y * z)  # log(1 + e^z) − y z by NumPy's own log-sum-exp
    assert np.isfinite(J) and J == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert np.isfinite(dW).all() and np.isfinite(db)


def test_fit_reaches_the_minimiser_of_scikit_learns_objective():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression as Sklearn

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    theirs = Sklearn(tol=1e-10, max_iter=10_000).fit(X, y)  # C = 1: Σ L + ½‖w‖², our λ = 1 times m
    ours = logistic.LogisticRegression(batch_size=len(y), epochs=6000, tol=1e-12, n_iter_no_change=50).fit(
        X.T, y[None])
    np.testing.assert_allclose(ours.W_[:, 0], theirs.coef_[0], atol=2e-3)
    assert ours.b_ == pytest.approx(theirs.intercept_[0], abs=2e-3)


@pytest.mark.formula("lr-hessian")
@pytest.mark.parametrize(("n_x", "m", "lambd"), [(1, 2, 0), (2, 3, 2)])
def test_the_hessian_is_sympys_second_derivative_of_the_loss(n_x, m, lambd):
    assert_latex("lr-hessian", r"a^{(i)} (1 - a^{(i)}) \, \tilde{x}^{(i)} \tilde{x}^{(i)T}",
                 r"\frac{\lambda}{m} \begin{pmatrix} I & 0 \\ 0 & 0 \end{pmatrix}")
    J, W, X, b, Y = _sympy_loss(n_x, m, lambd)
    theta = [*W, b]
    rng = np.random.default_rng(n_x + m)
    W_val, X_val, b_val = rng.standard_normal((n_x, 1)), rng.standard_normal((n_x, m)), float(rng.standard_normal())
    subs = {b: b_val, **{W[i]: W_val[i, 0] for i in range(n_x)}, **{Y[j]: j % 2 for j in range(m)},
            **{X[i, j]: X_val[i, j] for i in range(n_x) for j in range(m)}}
    expected = np.array(sympy.hessian(J, theta).subs(subs).evalf(), dtype=float)
    np.testing.assert_allclose(logistic.hessian(W_val, b_val, X_val, lambd=lambd), expected, rtol=1e-10, atol=1e-14)


@pytest.mark.formula("lr-newton")
def test_newton_steps_are_theta_minus_the_inverse_hessian_times_the_gradient_and_reach_scikit_learn():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression as Sklearn

    assert_latex("lr-newton", r"\theta := \theta - H^{-1} \nabla_\theta J")
    X, y = load_breast_cancer(return_X_y=True)
    X = ((X - X.mean(axis=0)) / X.std(axis=0)).T
    one = logistic.LogisticRegression(solver="newton", epochs=1, progress=False).fit(X, y[None])
    _, dW, db = logistic.loss_and_gradients(np.zeros((30, 1)), 0.0, X, y[None], lambd=1.0)
    step = np.linalg.solve(logistic.hessian(np.zeros((30, 1)), 0.0, X, lambd=1.0), np.r_[dW[:, 0], db])
    np.testing.assert_allclose(np.r_[one.W_[:, 0], one.b_], -step, rtol=1e-12)  # θ = 0 − H⁻¹ ∇J
    full = logistic.LogisticRegression(solver="newton", progress=False).fit(X, y[None])
    theirs = Sklearn(tol=1e-12, max_iter=100_000).fit(X.T, y)
    np.testing.assert_allclose(full.W_[:, 0], theirs.coef_[0], atol=1e-5)
    assert full.b_ == pytest.approx(theirs.intercept_[0], abs=1e-5)
    assert full.n_iter_ <= 15 and full.history_ == sorted(full.history_, reverse=True)  # a few steps, J falling
    _, dW, db = logistic.loss_and_gradients(full.W_, full.b_, X, y[None], lambd=1.0)
    assert max(np.abs(dW).max(), abs(db)) <= logistic.NEWTON_TOLERANCE  # it stops at the gradient's tolerance
    with raises_for(ValueError, "solver"):
        logistic.LogisticRegression(solver="lbfgs").fit(X, y[None])


def test_newton_without_penalty_survives_a_singular_hessian():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((1, 40)), np.zeros((1, 40))])  # the second feature is constant: H is singular
    Y = ((X[:1] + rng.standard_normal((1, 40))) > 0) * 1
    model = logistic.LogisticRegression(solver="newton", lambd=0.0, progress=False).fit(X, Y)
    assert model.W_[1, 0] == 0.0 and np.isfinite(model.W_).all()  # the minimum-norm step leaves it at 0
    _, dW, db = logistic.loss_and_gradients(model.W_, model.b_, X, Y)
    assert max(np.abs(dW).max(), abs(db)) <= logistic.NEWTON_TOLERANCE


def test_the_defaults_reach_scikit_learns_accuracy_within_a_point():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression as Sklearn
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    for seed in range(3):
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
        ours = logistic.LogisticRegression(rng=0).fit(X_train.T, y_train[None])
        theirs = Sklearn().fit(X_train, y_train)
        assert abs(ours.score(X_test.T, y_test[None]) - theirs.score(X_test, y_test)) <= 0.01
        assert ours.n_iter_ < 200 and len(ours.history_) == ours.n_iter_  # early stopping, not the epoch limit


def test_defaults_and_training_record():
    params = inspect.signature(logistic.LogisticRegression).parameters
    assert {k: p.default for k, p in params.items()} == {"alpha": 0.01, "lambd": 1.0, "batch_size": 32,
                                                         "epochs": 200, "tol": 1e-4, "n_iter_no_change": 10,
                                                         "solver": "adam", "rng": None, "progress": True}
    assert logistic.NEWTON_TOLERANCE == 1e-10 and inspect.signature(logistic.hessian).parameters["lambd"].default == 0.0
    assert inspect.signature(logistic.loss_and_gradients).parameters["lambd"].default == 0.0
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 60))
    Y = (X[:1] + 0.3 * rng.standard_normal((1, 60)) > 0) * 1
    seen = []
    model = logistic.LogisticRegression(epochs=7, tol=0).fit(X, Y, callback=lambda e, m_: seen.append((e, m_.b_)))
    assert [e for e, _ in seen] == list(range(1, 8)) and model.n_iter_ == 7 and len(model.history_) == 7
    assert seen[-1][1] == model.b_ and seen[0][1] != model.b_  # the callback saw the parameters of its epoch
    # the one rule for randomness (smln.validation.check_random_state): an integer is a seed, None is fresh entropy
    seeded = logistic.LogisticRegression(epochs=7, tol=0, rng=3).fit(X, Y)
    again = logistic.LogisticRegression(epochs=7, tol=0, rng=np.random.default_rng(3)).fit(X, Y)
    np.testing.assert_array_equal(again.W_, seeded.W_)
    other = logistic.LogisticRegression(epochs=7, tol=0, rng=np.random.default_rng(5)).fit(X, Y)
    assert not np.array_equal(other.W_, seeded.W_)
    fresh = [logistic.LogisticRegression(epochs=7, tol=0, rng=None).fit(X, Y).W_ for _ in range(2)]
    assert not np.array_equal(*fresh)
    assert model.history_[-1] < model.history_[0]
    assert model.score(X, Y) == np.mean(model.predict(X) == Y)
    # stopping: n_iter_no_change epochs without a tol improvement
    stopped = logistic.LogisticRegression(tol=10.0, n_iter_no_change=3).fit(X, Y)
    assert stopped.n_iter_ == 4  # the first epoch improves on +∞; the next three do not improve by tol


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: logistic.LogisticRegression().fit(np.ones((2, 3)), np.array([[0, 1, 2]])), ValueError,
     r"Y: 标签应为 0 或 1,得到 \[2\]"),
    (lambda: logistic.LogisticRegression().fit(np.ones((4, 3)), np.array([[0, 1]])), ValueError,
     r"Y: 形状应为 \(1, 3\)"),
    (lambda: logistic.LogisticRegression().fit(np.ones((2, 3)), np.array([0, 1, 1])), ValueError, r"Y: 形状应为"),
    (lambda: logistic.LogisticRegression().fit(np.array([[1.0, np.nan, 0]]), np.array([[0, 1, 1]])), ValueError,
     r"X: 含有 NaN 或 ±inf\(第一个在特征 0、样本 1\)"),
    (lambda: logistic.LogisticRegression().fit(np.ones(3), np.array([[0, 1, 1]])), ValueError, r"X: 形状应为 \(n_x, m\)"),
    (lambda: logistic.LogisticRegression(rng=3.0).fit(np.ones((2, 3)), np.array([[0, 1, 1]])), TypeError, "rng"),
    (lambda: logistic.LogisticRegression(alpha=0).fit(np.ones((2, 3)), np.array([[0, 1, 1]])), ValueError, "alpha"),
    (lambda: logistic.LogisticRegression(lambd=-1).fit(np.ones((2, 3)), np.array([[0, 1, 1]])), ValueError, "lambd"),
    (lambda: logistic.LogisticRegression(tol=-1).fit(np.ones((2, 3)), np.array([[0, 1, 1]])), ValueError, "tol"),
    (lambda: logistic.LogisticRegression(batch_size=0).fit(np.ones((2, 3)), np.array([[0, 1, 1]])), ValueError,
     "batch_size: 需要正整数"),
    (lambda: logistic.LogisticRegression(epochs=1.5).fit(np.ones((2, 3)), np.array([[0, 1, 1]])), TypeError,
     "epochs: 需要正整数"),
    (lambda: logistic.LogisticRegression(n_iter_no_change=0).fit(np.ones((2, 3)), np.array([[0, 1, 1]])), ValueError,
     "n_iter_no_change: 需要正整数"),
    (lambda: logistic.LogisticRegression().predict(np.ones((2, 3))), NotFittedError, "还没有训练"),
    (lambda: logistic.predict_proba(np.ones((3, 1)), 0.0, np.ones((2, 4))), ValueError, r"X: 形状应为 \(3, \*\)"),
    (lambda: logistic.predict_proba(np.ones((2, 1)), np.zeros(2), np.ones((2, 4))), ValueError, "b: 应是实数"),
    (lambda: logistic.loss_and_gradients(np.ones((2, 1)), 0.0, np.ones((2, 4)), np.ones((1, 4)), lambd=-0.1),
     ValueError, "lambd"),
])
def test_bad_input_is_a_clear_error(call, error, match):
    with raises_as(error, match):
        call()


def test_a_fitted_model_checks_the_features_it_is_given():
    model = logistic.LogisticRegression(epochs=1).fit(np.ones((2, 4)), np.array([[0, 1, 0, 1]]))
    with raises_for(ValueError, 'X', '(2, *)', '(3, 4)'):  # the fitted W defines n_x: X is wrong
        model.predict(np.ones((3, 4)))
    with raises_for(ValueError, 'Y', '(1, 4)'):
        model.score(np.ones((2, 4)), np.array([[0, 1]]))


@settings(max_examples=20)
@given(st.integers(0, 2**32 - 1))
def test_dtype_and_inputs_are_untouched(seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((2, 10)), rng.integers(0, 2, (1, 10))
    X0, Y0 = X.copy(), Y.copy()
    logistic.LogisticRegression(epochs=2).fit(X, Y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


def test_no_penalty_and_the_boundary_itself():
    X, Y = np.array([[-2.0, -1.0, 1.0, 2.0]]), np.array([[0, 0, 1, 1]])
    free = logistic.LogisticRegression(lambd=0.0, epochs=5).fit(X, Y)  # λ = 0 is allowed: no penalty
    assert free.n_iter_ == 5
    free.W_, free.b_ = np.zeros((1, 1)), 0.0
    np.testing.assert_array_equal(free.predict(X), 1)  # z = 0 exactly: p = 1/2, on the y = 1 side of lr-boundary


def test_progress_shows_a_bar_on_a_terminal_unless_turned_off(capsys, terminal):
    X, Y = np.array([[-2.0, -1.0, 1.0, 2.0]]), np.array([[0, 0, 1, 1]])
    logistic.LogisticRegression(epochs=3).fit(X, Y)
    assert "逻辑回归" not in capsys.readouterr().err  # not a terminal: no bar
    with terminal() as out:
        logistic.LogisticRegression(epochs=3).fit(X, Y)
    assert "逻辑回归" in out.getvalue()
    with terminal() as out:
        logistic.LogisticRegression(epochs=3, progress=False).fit(X, Y)
    assert out.getvalue() == ""
