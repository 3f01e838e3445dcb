"""Chapter 2, part 2: mini-batches, exponentially weighted averages, Momentum, RMSprop, Adam, learning-rate decay."""

import inspect
import math
import re
import tracemalloc

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from smln import optim, schedules
from smln.batches import minibatches, num_batches
from smln.optim import Adam, GradientDescent, Momentum, RMSprop
from tests import errata
from tests.errors import raises_as, raises_for
from tests.oracle import latex, oracle, parse, plain
from tests.strategies import arrays, float_dtypes, reals, shapes

NOTE = "notes/02b-optimizers.md"
beta, k, n = sympy.symbols("beta k n")



# --------------------------------------------------------------------------------------------------------------
# Mini-batches

XY = st.integers(1, 40).flatmap(lambda m: st.tuples(
    arrays(st.tuples(st.integers(1, 3), st.just(m))), arrays(st.tuples(st.integers(1, 2), st.just(m)))))


@pytest.mark.formula("mb-count", "mb-loop")
@given(xy=XY, s=st.integers(1, 50), seed=st.one_of(st.none(), st.integers(0, 2**32 - 1)))
def test_every_example_once_per_epoch_in_ceil_m_over_s_batches(xy, s, seed):
    X, Y = xy
    m = X.shape[1]
    rng = None if seed is None else np.random.default_rng(seed)
    X_id = np.vstack([X, np.arange(m)[None, :]])  # a row that names each example
    batches = list(minibatches(X_id, Y, s, rng))
    T = oracle("mb-count").fn("m", "s")(m, s)
    assert len(batches) == T == num_batches(m, s)
    seen = np.concatenate([b[0][-1] for b in batches]).astype(int)
    assert sorted(seen) == list(range(m))  # every example exactly once
    assert all(b[0].shape[1] == s for b in batches[:-1]) and 1 <= batches[-1][0].shape[1] <= s
    for Xb, Yb in batches:  # X and Y columns stay paired
        np.testing.assert_array_equal(Yb, Y[:, Xb[-1].astype(int)])
        np.testing.assert_array_equal(Xb[:-1], X[:, Xb[-1].astype(int)])
    if seed is None:
        assert list(seen) == list(range(m))  # no rng: original order
    assert latex("mb-loop").startswith("For t= (1, ... , T):")


@given(xy=XY, s=st.integers(1, 10), seed=st.integers(0, 2**32 - 1))
def test_same_seed_same_batches(xy, s, seed):
    X, Y = xy
    first = list(minibatches(X, Y, s, np.random.default_rng(seed)))
    again = list(minibatches(X, Y, s, np.random.default_rng(seed)))
    for (a, b), (c, d) in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_batch_size_m_is_batch_gradient_descent_and_1_is_sgd():
    X, Y = np.arange(12.0).reshape(2, 6), np.arange(6.0).reshape(1, 6)
    (only,) = list(minibatches(X, Y, 6))
    np.testing.assert_array_equal(only[0], X)
    assert [b[0].shape for b in minibatches(X, Y, 1)] == [(2, 1)] * 6


def test_minibatch_bad_input():
    X, Y = np.zeros((2, 5)), np.zeros((1, 5))
    for bad, error in ((0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)):
        with raises_for(error, 'batch_size'):
            list(minibatches(X, Y, bad))
    with raises_for(ValueError, "Y", "5", "4"):  # the two sample counts
        list(minibatches(X, np.zeros((1, 4)), 2))
    with raises_for(ValueError, "X", "(5,)"):
        list(minibatches(np.zeros(5), Y, 2))
    with raises_for(TypeError, 'rng'):
        list(minibatches(X, Y, 2, rng=4.2))


@pytest.mark.formula("mb-loop", "mb-count")
@given(m=st.integers(1, 500), s=st.integers(1, 500))
def test_errata_loop_runs_over_the_number_of_batches(m, s):
    batches = sum(1 for _ in minibatches(np.zeros((1, m)), np.zeros((1, m)), s))
    assert batches == math.ceil(m / s)
    assert "#批次大小" not in latex("mb-loop") and "T 是批次(小批量)的个数" in latex("mb-loop")
    assert "#批次大小" in errata.erratum("E6").fields["原文"]
    # the original loop ran t = 1 … batch size: wrong whenever the two counts differ, e.g. m = 10, s = 3
    assert sum(1 for _ in minibatches(np.zeros((1, 10)), np.zeros((1, 10)), 3)) == 4 != 3


# --------------------------------------------------------------------------------------------------------------
# Exponentially weighted averages


@pytest.mark.formula("ewa-weight")
@pytest.mark.parametrize("t", [1, 3, 6])
def test_unrolled_average_has_the_note_weights(t):
    thetas = sympy.symbols(f"theta1:{t + 1}")
    v = sympy.Integer(0)
    for th in thetas:
        v = beta * v + (1 - beta) * th
    weight = oracle("ewa-weight").expr
    for lag in range(t):
        assert sympy.expand(sympy.expand(v).coeff(thetas[t - 1 - lag]) - weight.subs(k, lag)) == 0
    assert sympy.simplify(sum(weight.subs(k, lag) for lag in range(t)) - (1 - beta**t)) == 0


@pytest.mark.formula("ewa-weight", "mom-v")
@given(b=st.floats(0.5, 0.99), t=st.integers(1, 12))
def test_momentum_state_is_the_weighted_average(b, t):
    """Feeding unit impulses, V_dW holds exactly the note's weights (1 − β)β^k."""
    opt = Momentum(1e-3, beta=b)
    params = {"W": np.zeros(t)}
    for step in range(t):
        g = np.zeros(t)
        g[step] = 1.0
        opt.step(params, {"W": g})
    V = opt.state["W"]["V"]
    weight = oracle("ewa-weight").fn("beta", "k")
    np.testing.assert_allclose(V, [weight(b, t - 1 - step) for step in range(t)], rtol=1e-12)


@pytest.mark.formula("ewa-window")
@given(b=st.floats(0.0, 0.999))
@settings(max_examples=10)  # each example sums two series symbolically
def test_window_is_total_weight_over_newest_weight(b):
    b_ = sympy.Rational(b).limit_denominator(10**6)
    total = sympy.summation(oracle("ewa-weight").expr.subs(beta, b_), (k, 0, sympy.oo))
    newest = oracle("ewa-weight").expr.subs({beta: b_, k: 0})
    window = oracle("ewa-window").expr.subs(beta, b_)
    assert sympy.simplify(total / newest - window) == 0
    mean_lag = sympy.summation((k * oracle("ewa-weight").expr).subs(beta, b_), (k, 0, sympy.oo))
    assert sympy.simplify(mean_lag - (window - 1)) == 0


@pytest.mark.formula("ewa-window", "ewa-last-n")
def test_about_ten_steps_stated_precisely():
    window = oracle("ewa-window").fn("beta")
    assert window(0.9) == pytest.approx(10) and window(0.999) == pytest.approx(1000)
    last = oracle("ewa-last-n").expr
    assert sympy.simplify(sympy.summation(oracle("ewa-weight").expr, (k, 0, n - 1)) - last) == 0
    share = float(last.subs({beta: sympy.Rational(9, 10), n: 10}))
    assert round(share, 3) == 0.651 and "0.651" in errata.prose(NOTE)
    assert round(0.9**10, 3) == 0.349 and "0.349" in errata.prose(NOTE)


# --------------------------------------------------------------------------------------------------------------
# Optimizers: several steps against the note's formulas evaluated by SymPy


def _momentum_oracle(W, grads, a, b):
    v_rule, w_rule = oracle("mom-v").fn("V_dW", "beta", "dW"), oracle("mom-w").fn("W", "alpha", "V_dW")
    V = np.zeros_like(W)
    for g in grads:
        V = v_rule(V, b, g)
        W = w_rule(W, a, V)
    return W


def _rmsprop_oracle(W, grads, a, b, eps):
    s_rule, w_rule = oracle("rms-s").fn("S_dW", "beta", "dW"), oracle("rms-w").fn("W", "alpha", "dW", "S_dW", "epsilon")
    S = np.zeros_like(W)
    for g in grads:
        S = s_rule(S, b, g)
        W = w_rule(W, a, g, S, eps)
    return W


def _adam_oracle(W, grads, a, b1, b2, eps):
    v = oracle("adam-v").fn("V_dW", "beta_1", "dW")
    s = oracle("adam-s").fn("S_dW", "beta_2", "dW")
    v_hat = oracle("adam-v-hat").fn("V_dW", "beta_1", "t")
    s_hat = oracle("adam-s-hat").fn("S_dW", "beta_2", "t")
    w = oracle("adam-w").fn("W", "alpha", "V_dW^correct", "S_dW^correct", "epsilon")
    V = S = np.zeros_like(W)  # adam-init
    for t, g in enumerate(grads, start=1):  # t starts at 1
        V, S = v(V, b1, g), s(S, b2, g)
        W = w(W, a, v_hat(V, b1, t), s_hat(S, b2, t), eps)
    return W


CASES = {
    "momentum": (lambda: Momentum(0.05, 0.8), lambda W, gs: _momentum_oracle(W, gs, 0.05, 0.8)),
    "rmsprop": (lambda: RMSprop(0.01, 0.9, 1e-8), lambda W, gs: _rmsprop_oracle(W, gs, 0.01, 0.9, 1e-8)),
    "adam": (lambda: Adam(0.01, 0.9, 0.999, 1e-8), lambda W, gs: _adam_oracle(W, gs, 0.01, 0.9, 0.999, 1e-8)),
}


@pytest.mark.formula("mom-v", "mom-w", "rms-s", "rms-w", "adam-init", "adam-v", "adam-s", "adam-v-hat", "adam-s-hat",
                     "adam-w")
@pytest.mark.parametrize("name", CASES)
@given(data=st.data(), steps=st.integers(1, 6))
def test_steps_equal_the_note_formulas(name, data, steps):
    make, expected = CASES[name]
    shape = data.draw(shapes(1, 2, max_side=4))
    W0 = data.draw(arrays(st.just(shape)))
    grads = [data.draw(arrays(st.just(shape), lo=-10, hi=10)) for _ in range(steps)]
    opt, params = make(), {"W": W0.copy(), "b": W0[..., :1].copy()}
    for g in grads:
        opt.step(params, {"W": g, "b": g[..., :1]})
    np.testing.assert_allclose(params["W"], expected(W0, grads), rtol=1e-10, atol=1e-10)
    # state per parameter name: b evolves as if it were optimised alone
    np.testing.assert_allclose(params["b"], expected(W0[..., :1], [g[..., :1] for g in grads]), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", CASES)
@given(data=st.data(), dtype=float_dtypes())
def test_updates_in_place_keep_dtype(name, data, dtype):
    make, _ = CASES[name]
    W = data.draw(arrays(shapes(1, 2), dtype=dtype))
    params = {"W": W}
    make().step(params, {"W": np.ones_like(W)})
    assert params["W"] is W and W.dtype == dtype


@pytest.mark.formula("adam-v-hat")
@given(g=reals(-100, 100), b1=st.floats(0.0, 0.99), steps=st.integers(1, 50))
def test_bias_corrected_first_moment_of_a_constant_gradient_is_the_gradient(g, b1, steps):
    v, v_hat = oracle("adam-v").fn("V_dW", "beta_1", "dW"), oracle("adam-v-hat").fn("V_dW", "beta_1", "t")
    V = 0.0
    for t in range(1, steps + 1):
        V = v(V, b1, g)
        assert v_hat(V, b1, t) == pytest.approx(g, rel=1e-9, abs=1e-12)
    opt = Adam(0.1, beta1=b1)
    params = {"W": np.zeros(1)}
    for _ in range(steps):
        opt.step(params, {"W": np.array([g])})
    assert opt.t["W"] == steps  # t counts from 1: after `steps` steps it is `steps`
    assert opt.state["W"]["V"][0] / (1 - b1**steps) == pytest.approx(g, rel=1e-9, abs=1e-12)


@pytest.mark.formula("rms-w", "adam-w")
@pytest.mark.parametrize("make", [lambda: RMSprop(0.01, eps=1e-12), lambda: Adam(0.01, eps=1e-12)], ids=["rmsprop", "adam"])
@given(data=st.data(), c=st.floats(0.01, 100))
def test_invariant_to_rescaling_the_gradient(make, data, c):
    shape = data.draw(shapes(1, 1, max_side=5))
    W0 = data.draw(arrays(st.just(shape)))
    grads = [data.draw(arrays(st.just(shape), lo=0.1, hi=10)) * data.draw(st.sampled_from([-1, 1])) for _ in range(4)]
    a, b = {"W": W0.copy()}, {"W": W0.copy()}
    opt_a, opt_b = make(), make()
    for g in grads:
        opt_a.step(a, {"W": g})
        opt_b.step(b, {"W": c * g})
    np.testing.assert_allclose(a["W"], b["W"], rtol=1e-7, atol=1e-7)  # the only difference comes through eps


@pytest.mark.parametrize("make", [lambda: GradientDescent(0.1), lambda: GradientDescent(0.1, weight_decay=0.01),
                                  lambda: Momentum(0.1), lambda: RMSprop(0.1), lambda: Adam()],
                         ids=["gd", "gd-wd", "momentum", "rmsprop", "adam"])
def test_a_step_allocates_no_parameter_sized_array(make):
    W = np.zeros(1_000_000)
    dW = np.full_like(W, 0.5)
    opt = make()
    opt.step({"W": W}, {"W": dW})  # the first step allocates the state and the scratch buffer
    tracemalloc.start()
    try:
        opt.step({"W": W}, {"W": dW})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < W.nbytes // 10, f"a step allocated {peak} bytes for a {W.nbytes}-byte parameter"


@pytest.mark.formula("mom-default", "rms-default-beta", "rms-default-eps")
def test_momentum_and_rmsprop_defaults_are_the_note_values():
    def value(fid):
        return float(parse(latex(fid).split("=")[1]))

    momentum = inspect.signature(Momentum).parameters
    rmsprop = inspect.signature(RMSprop).parameters
    assert momentum["beta"].default == value("mom-default") == 0.9
    assert momentum["alpha"].default is inspect.Parameter.empty  # the learning rate has to be chosen
    assert rmsprop["beta"].default == value("rms-default-beta")
    assert rmsprop["eps"].default == value("rms-default-eps") == 1e-8


def test_bad_hyperparameters():
    for make, pattern in [(lambda: Momentum(0.1, beta=1.0), "beta: 应满足 0 ≤ beta < 1"),
                          (lambda: RMSprop(0.1, eps=0), "eps: 应 > 0"),
                          (lambda: Adam(beta2=-0.1), "beta2: 应满足 0 ≤ beta2 < 1"),
                          (lambda: Adam(alpha=0), "alpha: 应 > 0")]:
        with raises_as(ValueError, pattern):
            make()


# --------------------------------------------------------------------------------------------------------------
# Adam's name, defaults and initialisation (errata)

PAPER_DEFAULTS = {"alpha": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}  # Kingma & Ba (2015), Algorithm 1


def _table_defaults():
    rows = re.findall(r"^\| \$(.+?)\$ \| (.+?) \|$", latex("adam-defaults"), flags=re.M)
    names = {r"\alpha": "alpha", r"\beta_1": "beta1", r"\beta_2": "beta2", r"\epsilon": "eps"}
    return {names[sym]: float(parse(value.strip("$"))) for sym, value in rows}


@pytest.mark.formula("adam-defaults")
def test_adam_defaults_are_the_note_table_and_the_paper():
    table = _table_defaults()
    signature = {p: v.default for p, v in inspect.signature(Adam).parameters.items()}
    assert table == signature == PAPER_DEFAULTS


@pytest.mark.formula("adam-defaults")
def test_errata_adam_beta2_default():
    original = dict(re.findall(r"\\(beta_\d) = ([\d.]+)", errata.erratum("E8").fields["原文"]))
    assert float(original["beta_2"]) != PAPER_DEFAULTS["beta2"] == _table_defaults()["beta2"] == Adam().beta2


def test_errata_adam_name():
    prose = errata.prose(NOTE)
    assert "Adma" not in prose and "## Adam" in prose
    assert hasattr(optim, "Adam") and not hasattr(optim, "Adma")
    assert "Adma" in errata.erratum("E7").fields["原文"]


@pytest.mark.formula("adam-init")
def test_errata_adam_init():
    def assignments(tex):
        parts = [p.strip() for p in tex.split(",")]
        return all(re.fullmatch(r"[A-Z]_\{d[Wb]\}\s*=\s*0", p) for p in parts)

    assert assignments(latex("adam-init"))
    assert not assignments(errata.original_math(errata.erratum("E9")))  # S_{dW=0}: the = is inside the subscript
    section = errata.prose(NOTE).split("## Adam")[1].split("\n## ")[0]
    numbers = [int(x) for x in re.findall(r"^(\d+)\)\. ", section, flags=re.M)]
    assert numbers == list(range(1, len(numbers) + 1))  # numbered in order
    opt = Adam(0.1)
    opt.step({"W": np.zeros(2)}, {"W": np.array([1.0, -2.0])})
    np.testing.assert_allclose(opt.state["W"]["V"], 0.1 * np.array([1.0, -2.0]))  # V started at 0
    np.testing.assert_allclose(opt.state["W"]["S"], 0.001 * np.array([1.0, 4.0]))  # S started at 0


# --------------------------------------------------------------------------------------------------------------
# Learning-rate decay

EPOCHS = st.lists(st.integers(1, 500), min_size=1, max_size=20).map(np.array)


@pytest.mark.formula("lr-inverse-time", "lr-exponential", "lr-epoch-number", "lr-minibatch-number", "lr-staircase")
@given(epochs=EPOCHS, alpha0=reals(1e-4, 1), r=reals(0, 5), kk=reals(0.1, 3), drop=st.floats(0.1, 1),
       every=st.integers(1, 30))
def test_schedules_equal_the_note_formulas(epochs, alpha0, r, kk, drop, every):
    checks = [
        (schedules.inverse_time_decay(alpha0, r, epochs),
         oracle("lr-inverse-time").fn("alpha_0", "DecayRate", "EpochNumber")(alpha0, r, epochs)),
        (schedules.exponential_decay(alpha0, epochs), oracle("lr-exponential").fn("alpha_0", "EpochNumber")(alpha0, epochs)),
        (schedules.epoch_number_decay(alpha0, epochs, kk),
         oracle("lr-epoch-number").fn("alpha_0", "k", "EpochNumber")(alpha0, kk, epochs)),
        (schedules.minibatch_number_decay(alpha0, epochs, kk),
         oracle("lr-minibatch-number").fn("alpha_0", "k", "t")(alpha0, kk, epochs)),
        (schedules.staircase_decay(alpha0, epochs, drop, every),
         oracle("lr-staircase").fn("alpha_0", "d", "n", "s")(alpha0, drop, epochs, every)),
    ]
    for got, expected in checks:
        assert got.shape == epochs.shape
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        # scalar in, float out: the same value
        assert isinstance(schedules.exponential_decay(alpha0, int(epochs[0])), float)


def test_epochs_count_from_one():
    assert schedules.inverse_time_decay(0.2, 1.0, 1) == pytest.approx(0.1)  # the first epoch already decays
    assert schedules.staircase_decay(0.2, 1, 0.5, 10) == schedules.staircase_decay(0.2, 10, 0.5, 10) == 0.2
    assert schedules.staircase_decay(0.2, 11, 0.5, 10) == 0.1
    for f in (lambda e: schedules.inverse_time_decay(0.2, 1.0, e), lambda e: schedules.exponential_decay(0.2, e),
              lambda e: schedules.epoch_number_decay(0.2, e), lambda e: schedules.minibatch_number_decay(0.2, e),
              lambda e: schedules.staircase_decay(0.2, e)):
        for bad in (0, -1, [1, 0], 1.5, "3"):
            with pytest.raises((ValueError, TypeError)) as info:
                f(bad)
            assert "≥ 1" in str(info.value)  # the bound, whatever the wording around it


def _table(tex):
    """The numeric rows of the decay table (the last row, "5 | ...", only says the table goes on)."""
    rows = re.findall(r"^\| (\d+) \| (\S+) \|$", tex, flags=re.M)
    assert rows[-1] == ("5", "..."), rows
    return [(int(a), float(b)) for a, b in rows[:-1]]


@pytest.mark.formula("lr-table", "lr-inverse-time")
def test_decay_table_is_the_formula_at_alpha0_02_rate_1():
    rows = _table(latex("lr-table"))
    assert [e for e, _ in rows] == [1, 2, 3, 4]
    formula = oracle("lr-inverse-time").fn("alpha_0", "DecayRate", "EpochNumber")
    for epoch, value in rows:
        assert round(formula(0.2, 1.0, epoch), 3) == value
        assert round(schedules.inverse_time_decay(0.2, 1.0, epoch), 3) == value


@pytest.mark.formula("lr-table")
def test_errata_decay_table():
    original = [0.1] + [float(x) for x in re.findall(r"「\d \| ([\d.]+)」", errata.erratum("E10").fields["原文"])]
    corrected = [v for _, v in _table(latex("lr-table"))]
    formula = oracle("lr-inverse-time").fn("alpha_0", "DecayRate", "EpochNumber")
    assert original == [0.1, 0.67, 0.5, 0.4]
    assert [round(formula(0.2, 1.0, e), 3) for e in (1, 2, 3, 4)] == corrected != original
    assert corrected == sorted(corrected, reverse=True) and original != sorted(original, reverse=True)


@pytest.mark.formula("lr-epoch-number", "lr-minibatch-number")
def test_errata_decay_square_roots():
    original_epoch = parse(errata.original_math(errata.erratum("E11")).split("=")[1].replace("EpochNumber", "n"))
    note_epoch = plain(oracle("lr-epoch-number").expr).subs(sympy.Symbol("EpochNumber"), n)
    a0 = sympy.Symbol("alpha_0")
    assert sympy.simplify(note_epoch - k / sympy.sqrt(n) * a0) == 0
    assert sympy.simplify(plain(original_epoch) - k / n * a0) == 0  # what the original wrote ...
    assert schedules.epoch_number_decay(1.0, 4, k=1.0) == 0.5 != float((k / n).subs({k: 1, n: 4}))  # ... differs
    assert schedules.minibatch_number_decay(1.0, 4, k=1.0) == 0.5
    prose = errata.prose(NOTE)
    assert "基于小批量序号的衰减" in prose and "基于批量大小的衰减" not in prose
    assert list(inspect.signature(schedules.minibatch_number_decay).parameters) == ["alpha0", "t", "k"]


# --------------------------------------------------------------------------------------------------------------
# The b updates, the rules of thumb, and the errata E19–E21


B_RULES = [("mom-vb", "mom-v"), ("mom-b", "mom-w"), ("rms-sb", "rms-s"), ("rms-b", "rms-w"), ("adam-vb", "adam-v"),
           ("adam-sb", "adam-s"), ("adam-vb-hat", "adam-v-hat"), ("adam-sb-hat", "adam-s-hat"), ("adam-b", "adam-w")]


@pytest.mark.formula("mom-vb", "mom-b", "rms-sb", "rms-b", "adam-vb", "adam-sb", "adam-vb-hat", "adam-sb-hat", "adam-b")
@pytest.mark.parametrize("b_id, w_id", B_RULES, ids=[b for b, _ in B_RULES])
def test_b_update_is_the_w_rule_for_b(b_id, w_id):
    """The note writes b's steps out; they are W's steps with W → b (the code runs one rule per parameter name,
    and test_steps_equal_the_note_formulas checks the b it updates)."""
    rename = {}
    for sym in oracle(w_id).expr.free_symbols:
        new = sym.name.replace("dW", "db").replace("W", "b") if "W" in sym.name else sym.name
        rename[sym] = sympy.Symbol(new)
    assert sympy.simplify(plain(oracle(w_id).expr.xreplace(rename)) - plain(oracle(b_id).expr)) == 0
    assert sympy.simplify(plain(oracle(b_id).expr) - plain(oracle(w_id).expr)) != 0  # it names b's own state


@pytest.mark.formula("mb-small-data")
def test_small_data_rule_of_thumb():
    tex = latex("mb-small-data").replace(" ", "")
    threshold = int(re.fullmatch(r"m\\leq(\d+)", tex).group(1))
    assert threshold == 2000
    # at or below the threshold one batch is the whole set; above it the typical sizes all split it
    sizes = [int(x) for x in re.findall(r"\d+", latex("mb-typical-sizes"))]
    assert all(num_batches(threshold + 1, s) > 1 for s in sizes) and num_batches(threshold, threshold) == 1


@pytest.mark.formula("mb-typical-sizes")
def test_typical_batch_sizes_are_powers_of_two():
    sizes = [int(x) for x in re.findall(r"\d+", latex("mb-typical-sizes"))]
    assert sizes == [64, 128, 256, 512] and all(s & (s - 1) == 0 for s in sizes)


@pytest.mark.formula("mom-v")
def test_errata_velocity_is_an_average_of_all_past_gradients():
    beta = 0.9
    grads = [np.array([1.0]), np.array([0.0]), np.array([0.0]), np.array([2.0])]
    opt, params = Momentum(alpha=0.1, beta=beta), {"W": np.zeros(1)}
    for g in grads:
        opt.step(params, {"W": g})
    V = opt.state["W"]["V"]
    weighted = sum((1 - beta) * beta**k * g for k, g in enumerate(reversed(grads)))
    np.testing.assert_allclose(V, weighted)  # every past gradient is in it, the first one too
    assert not np.allclose(V, grads[-2]) and not np.allclose(V, grads[-1])  # not "the previous batch's gradient"
    assert "上一个批次的历史梯度数据" not in errata.prose(NOTE)


def test_errata_adam_estimates_moments():
    rng = np.random.default_rng(0)
    opt, params = Adam(alpha=1e-12), {"W": np.zeros(1)}
    for _ in range(5000):  # gradients with mean 0 and second moment 4
        opt.step(params, {"W": rng.normal(0.0, 2.0, size=1)})
    t = opt.t["W"]
    V_hat = opt.state["W"]["V"] / (1 - opt.beta1**t)
    S_hat = opt.state["W"]["S"] / (1 - opt.beta2**t)
    assert abs(V_hat[0]) < 1.0 and S_hat[0] == pytest.approx(4.0, rel=0.3)  # S estimates E[g²], the second moment
    prose = errata.prose(NOTE)
    assert "自适应矩估计" in prose and "自适应动量估计" not in prose


def test_errata_wording():
    prose = errata.prose(NOTE)
    assert "$t$是$\\beta$的指数" in prose and "$\\beta$的幂" not in prose
    assert "[1,M]" not in prose and "$M" not in prose and "为M" not in prose


# --------------------------------------------------------------------------------------------------------------
# Bad gradients never corrupt parameters: every optimizer refuses them, by name, before changing anything


ALL_OPTIMIZERS = {"gd": lambda: GradientDescent(0.1), "momentum": lambda: Momentum(0.1),
                  "rmsprop": lambda: RMSprop(0.1), "adam": lambda: Adam(0.1)}


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_gradient_is_refused_and_nothing_changes(name, bad):
    opt = ALL_OPTIMIZERS[name]()
    params = {"W": np.ones((2, 3)), "b": np.ones(2)}
    dW = np.zeros((2, 3))
    dW[0, 1] = dW[1, 2] = bad
    with np.errstate(invalid="ignore"), raises_for(ValueError, "grads['W']", "2 个"):  # the count of bad elements
        opt.step(params, {"b": np.ones(2), "W": dW})
    np.testing.assert_array_equal(params["W"], np.ones((2, 3)))
    np.testing.assert_array_equal(params["b"], np.ones(2))  # b, checked first, was not updated either
    opt.step(params, {"W": np.ones((2, 3)), "b": np.ones(2)})  # and the optimizer still works
    assert np.isfinite(params["W"]).all() and (params["W"] < 1).all()


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_wrong_types_name_the_argument(name):
    opt = ALL_OPTIMIZERS[name]()
    with raises_for(TypeError, 'params'):
        opt.step(np.ones(2), {"W": np.ones(2)})
    with raises_for(TypeError, 'grads'):
        opt.step({"W": np.ones(2)}, np.ones(2))
    with raises_for(TypeError, "grads['W']"):
        opt.step({"W": np.ones(2)}, {"W": np.array(["a", "b"])})
    with raises_for(TypeError, "grads['W']"):
        opt.step({"W": np.ones(2, dtype=np.float32)}, {"W": np.ones(2)})


@pytest.mark.parametrize("make", [GradientDescent, Momentum, RMSprop, Adam])
@pytest.mark.parametrize("bad", ["0.1", b"0.1", True, np.True_])
def test_learning_rate_must_be_a_number(make, bad):
    with raises_for(TypeError, 'alpha'):
        make(bad)


# --------------------------------------------------------------------------------------------------------------
# The schedules' defaults are the note's


def _note_value(fid):
    return float(parse(latex(fid).split("=")[1]))


@pytest.mark.formula("lr-default-drop", "lr-default-every", "lr-default-k", "lr-exponential")
def test_schedule_defaults_are_the_note_s():
    sig = {f: inspect.signature(getattr(schedules, f)).parameters for f in
           ("staircase_decay", "epoch_number_decay", "minibatch_number_decay", "exponential_decay")}
    assert sig["staircase_decay"]["drop"].default == _note_value("lr-default-drop") == 0.5
    assert sig["staircase_decay"]["every"].default == _note_value("lr-default-every") == 10
    assert sig["epoch_number_decay"]["k"].default == sig["minibatch_number_decay"]["k"].default == _note_value(
        "lr-default-k") == 1
    base = next(p.base for p in oracle("lr-exponential").expr.atoms(sympy.Pow) if p.exp.free_symbols)  # 0.95^n
    assert sig["exponential_decay"]["base"].default == float(base) == 0.95
    # and what the defaults do: ten epochs at α0, then halved; k = 1 gives α0 / √n
    assert [schedules.staircase_decay(1.0, n) for n in (1, 10, 11, 20, 21)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert schedules.epoch_number_decay(2.0, 4) == schedules.minibatch_number_decay(2.0, 4) == 1.0
    assert schedules.exponential_decay(1.0, 2) == pytest.approx(0.95**2)


def test_schedule_argument_bounds():
    assert schedules.exponential_decay(1.0, 5, base=1) == 1.0  # base 1: no decay, allowed
    assert schedules.staircase_decay(1.0, 25, drop=1) == 1.0  # drop 1: allowed
    for bad in (1.5, 2):
        with raises_for(ValueError, 'base'):
            schedules.exponential_decay(1.0, 5, base=bad)
        with raises_for(ValueError, 'drop'):
            schedules.staircase_decay(1.0, 5, drop=bad)
    with raises_for(ValueError, 'drop'):
        schedules.staircase_decay(1.0, 5, drop=0)
    for bad, error in ((True, TypeError), (0, ValueError), (2.5, TypeError)):
        with raises_for(error, 'every'):
            schedules.staircase_decay(1.0, 5, every=bad)
    assert schedules.staircase_decay(1.0, 3, every=1) == 0.25


def test_huge_but_finite_gradients_are_accepted():
    """The sum of large finite gradients can overflow; that alone is not a reason to refuse the step."""
    params = {"W": np.zeros(4)}
    with np.errstate(over="ignore"):
        GradientDescent(1e-300).step(params, {"W": np.full(4, 1e308)})
    np.testing.assert_allclose(params["W"], np.full(4, -1e8))
