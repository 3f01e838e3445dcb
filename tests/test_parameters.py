"""Chapter 3, 参数: initialisation (statistical tests of the spread, the note's formulas as the oracle), samplers
(Kolmogorov–Smirnov and χ² tests at fixed seeds), random search (identical on one process, many, and a real Dask
cluster), and the chapter's errata."""

from __future__ import annotations

import json
import math
import re
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from smln import init, tuning
from smln.optim import Adam
from tests import errata
from tests.errors import raises_as, raises_for
from tests.oracle import ROOT, latex, parse

NOTE = "notes/03-parameters.md"
scipy_stats = pytest.importorskip("scipy.stats")  # installed with the data extra (scikit-learn needs it)


def _std_used(method, n_out, n_in):
    """The standard deviation the code multiplies by: W divided by the same seed's standard normal draws."""
    W = method(n_out, n_in, np.random.default_rng(7))
    ratio = W / np.random.default_rng(7).standard_normal((n_out, n_in))
    assert np.allclose(ratio, ratio.flat[0], rtol=1e-12)  # one constant factor
    return float(ratio.flat[0])


N_PREV, N_THIS = sympy.symbols("n_prev n_this", positive=True)


def _note_std(fid):
    """The note's √(…) with n^{l-1} and n^l read as the two layer sizes."""
    tex = latex(fid).replace("n^{l-1}", r"n_{prev}").replace("n^l", r"n_{this}")
    expr = parse(tex)
    return expr.xreplace({s: {"n_{prev}": N_PREV, "n_{this}": N_THIS}.get(s.name, s) for s in expr.free_symbols})


# --------------------------------------------------------------------------------------------------------------
# Initialisation


@pytest.mark.formula("init-std-scaled", "init-std-xavier", "init-std-he", "init-std-glorot")
@pytest.mark.parametrize("fid, method", [("init-std-scaled", init.xavier_normal), ("init-std-xavier", init.xavier_normal),
                                         ("init-std-he", init.he_normal), ("init-std-glorot", init.glorot_normal)])
@given(n_out=st.integers(1, 300), n_in=st.integers(1, 300))
def test_code_uses_the_note_standard_deviation(fid, method, n_out, n_in):
    expected = float(_note_std(fid).subs({N_PREV: n_in, N_THIS: n_out}))
    assert _std_used(method, n_out, n_in) == pytest.approx(expected, rel=1e-12)


@pytest.mark.formula("init-small-code", "init-scaled-code")
def test_pseudo_code_lines_compute_the_same_weights():
    """The note's lines, run with a seeded legacy generator standing in for numpy.random, give the same spread."""
    for fid, method in (("init-small-code", init.small_random), ("init-scaled-code", init.xavier_normal)):
        line = latex(fid).strip()
        shape, n = (40, 30), [30, 40]
        fake = SimpleNamespace(random=np.random.RandomState(3), sqrt=np.sqrt)
        env = {"numpy": fake, "shape": shape, "n": n, "l": 1}
        exec(line, env)  # noqa: S102 - the note's own line
        factor = env["W"] / np.random.RandomState(3).randn(*shape)
        assert np.allclose(factor, _std_used(method, *shape))


@pytest.mark.parametrize("method, std", [(init.small_random, lambda i, o: 0.01),
                                         (init.xavier_normal, lambda i, o: math.sqrt(1 / i)),
                                         (init.glorot_normal, lambda i, o: math.sqrt(2 / (i + o))),
                                         (init.he_normal, lambda i, o: math.sqrt(2 / i))])
@pytest.mark.parametrize("n_out, n_in", [(50, 200), (300, 20)])
def test_sample_variance_is_in_the_chi_square_interval(method, std, n_out, n_in):
    """(N − 1) s² / σ² follows χ²(N − 1) for normal samples: the 99.9% interval at a fixed seed."""
    W = method(n_out, n_in, np.random.default_rng(11))
    assert W.shape == (n_out, n_in) and W.dtype == np.float64
    N, sigma2 = W.size, std(n_in, n_out) ** 2
    stat = (N - 1) * W.var(ddof=1) / sigma2
    lo, hi = scipy_stats.chi2.ppf([0.0005, 0.9995], N - 1)
    assert lo < stat < hi
    assert abs(W.mean()) < 4 * math.sqrt(sigma2 / N)


def test_small_random_scale_default_is_0_01_and_configurable():
    assert _std_used(init.small_random, 3, 4) == pytest.approx(0.01)
    assert _std_used(lambda o, i, r: init.small_random(o, i, r, scale=0.5), 3, 4) == pytest.approx(0.5)


def test_initialize_parameters_shapes_zero_biases_and_seed():
    params = init.initialize_parameters([64, 32, 16, 10], "he", np.random.default_rng(0))
    assert list(params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert [params[f"W{l}"].shape for l in (1, 2, 3)] == [(32, 64), (16, 32), (10, 16)]
    assert all((params[f"b{l}"] == 0).all() and params[f"b{l}"].shape == (n, 1) for l, n in ((1, 32), (2, 16), (3, 10)))
    again = init.initialize_parameters([64, 32, 16, 10], "he", np.random.default_rng(0))
    assert all(np.array_equal(params[k], again[k]) for k in params)
    for method, fn in init.INITIALIZERS.items():
        got = init.initialize_parameters([5, 3], method, np.random.default_rng(1))["W1"]
        np.testing.assert_array_equal(got, fn(3, 5, np.random.default_rng(1)))


@pytest.mark.parametrize("call, error, message", [
    (lambda: init.he_normal(0, 3, np.random.default_rng()), ValueError, r"^n_out: 应为正整数"),
    (lambda: init.he_normal(3, -1, np.random.default_rng()), ValueError, r"^n_in: 应为正整数"),
    (lambda: init.he_normal(3, 2.5, np.random.default_rng()), TypeError, r"^n_in: 应为正整数"),
    (lambda: init.he_normal(True, 2, np.random.default_rng()), TypeError, r"^n_out: 应为正整数"),
    (lambda: init.he_normal(3, 2, -1), ValueError, r"^rng: "),
    (lambda: init.he_normal(3, 2, np.random.RandomState(0)), TypeError, r"^rng: 需要 numpy.random.Generator"),
    (lambda: init.small_random(3, 2, np.random.default_rng(), scale=0), ValueError, r"^scale: 应 > 0"),
    (lambda: init.initialize_parameters([3, 2], "lecun", np.random.default_rng()), ValueError, r"^method: 应为 "),
    (lambda: init.initialize_parameters([3], "he", np.random.default_rng()), ValueError, r"^layer_dims: 至少需要"),
    (lambda: init.initialize_parameters([3, 0], "he", np.random.default_rng()), ValueError, r"^layer_dims\[1\]: 应为正整数"),
    (lambda: init.initialize_parameters([3, 2], "he", "0"), TypeError, r"^rng: "),
])
def test_initialisation_bad_input(call, error, message):
    with raises_as(error, message):
        call()


@pytest.mark.formula("init-neuron", "init-var-z")
def test_variance_of_a_neuron_output():
    """Var(Σ w_i x_i) = n Var(w) Var(x) for independent zero-mean w, x: by SymPy's statistics on n = 2, and the
    note's formula; then Var(w) = 1/n keeps Var(z) = Var(x) (the reason for √(1/n))."""
    from sympy import stats

    sw, sx = sympy.symbols("sigma_w sigma_x", positive=True)
    n = 2
    w = [stats.Normal(f"w{i}", 0, sw) for i in range(n)]
    x = [stats.Normal(f"x{i}", 0, sx) for i in range(n)]
    z = sum(wi * xi for wi, xi in zip(w, x, strict=True))
    assert "\\sum_{i=1}^{n} w_{i} x_{i}" in latex("init-neuron")
    var_z = sympy.simplify(stats.variance(z))
    # Var(·) is not read by the LaTeX parser: the note's right-hand side n·Var(w)·Var(x) is built by hand here
    assert latex("init-var-z").replace(" ", "") == "\\mathrm{Var}(z)=n\\mathrm{Var}(w)\\mathrm{Var}(x)"
    assert sympy.simplify(n * sw**2 * sx**2 - var_z) == 0
    assert sympy.simplify(var_z.subs(sw, 1 / sympy.sqrt(n))) == sx**2


# --------------------------------------------------------------------------------------------------------------
# Sampling


@pytest.mark.formula("tune-uniform-int")
def test_uniform_integers_chi_square():
    assert "U\\{2, \\dots, 6\\}" in latex("tune-uniform-int") and "U\\{50, \\dots, 100\\}" in latex("tune-uniform-int")
    rng = np.random.default_rng(5)
    for low, high in ((2, 6), (50, 100)):
        s = tuning.sample_uniform_int(low, high, 20_000, rng)
        counts = np.bincount(s - low, minlength=high - low + 1)
        assert s.min() == low and s.max() == high and len(counts) == high - low + 1
        assert scipy_stats.chisquare(counts).pvalue > 0.001
    assert isinstance(tuning.sample_uniform_int(2, 6, None, rng), int)


@pytest.mark.formula("tune-alpha-range", "tune-alpha-log")
def test_log_uniform_alpha_is_uniform_in_r():
    low_high, powers = latex("tune-alpha-range").split("=")
    nums = [float(v) for v in re.findall(r"[\d.]+", low_high.split("\\in")[1])]
    assert nums == [1e-4, 1.0] and [float(parse(p)) for p in re.findall(r"10\^\{?-?\d+\}?", powers)] == nums
    listed = [float(v) for v in re.findall(r"[\d.]+", latex("tune-alpha-log").split("(")[-1])]
    assert listed == [10.0**r for r in range(-4, 1)]  # the values 10^r at the integers of [-4, 0]
    alpha = tuning.sample_log_uniform(1e-4, 1, 5000, np.random.default_rng(6))
    assert alpha.min() >= 1e-4 and alpha.max() <= 1
    assert scipy_stats.kstest(np.log10(alpha), scipy_stats.uniform(-4, 4).cdf).pvalue > 0.001
    assert scipy_stats.kstest(alpha, scipy_stats.uniform(1e-4, 1).cdf).pvalue < 1e-6  # not uniform in α itself
    assert isinstance(tuning.sample_log_uniform(1e-4, 1, None, np.random.default_rng(0)), float)


@pytest.mark.formula("tune-one-minus-beta", "tune-beta", "tune-beta-r")
def test_beta_is_one_minus_a_log_uniform():
    r = sympy.Symbol("r")
    assert sympy.simplify(parse(latex("tune-beta").split("=")[1]) - (1 - 10**r)) == 0
    assert sympy.simplify(parse(latex("tune-one-minus-beta").split("=")[1]) - 10**r) == 0
    assert [int(v) for v in re.findall(r"-\d+", latex("tune-beta-r"))] == [-3, -1]
    beta = tuning.sample_one_minus_log(0.9, 0.999, 5000, np.random.default_rng(8))
    assert beta.min() >= 0.9 and beta.max() <= 0.999
    assert scipy_stats.kstest(np.log10(1 - beta), scipy_stats.uniform(-3, 2).cdf).pvalue > 0.001


@pytest.mark.formula("tune-beta-table")
def test_beta_table():
    rows = {r[0].strip(): [float(v) for v in r[1:]] for r in
            (line.strip().strip("|").split("|") for k, line in enumerate(latex("tune-beta-table").splitlines()) if k != 1)}
    betas, one_minus, rs = rows["$\\beta$"], rows["$1 - \\beta$"], rows["$r$"]
    assert one_minus == pytest.approx([1 - b for b in betas]) and rs == pytest.approx(list(np.log10(one_minus)))
    assert [1 / (1 - b) for b in betas] == pytest.approx([10, 100, 1000])  # the averaging windows, chapter 2


@given(low=st.floats(1e-6, 1e3), span=st.floats(1, 1e4), seed=st.integers(0, 2**32 - 1))
def test_samples_stay_in_range(low, span, seed):
    rng = np.random.default_rng(seed)
    a = tuning.sample_log_uniform(low, low * span, 50, rng)
    assert (a >= low * (1 - 1e-12)).all() and (a <= low * span * (1 + 1e-12)).all()
    b = tuning.sample_one_minus_log(1 - 1 / span, 1 - 1 / (10 * span), 50, rng)
    assert ((b >= 1 - 1 / span - 1e-12) & (b < 1)).all()


@pytest.mark.parametrize("call, error, message", [
    (lambda r: tuning.sample_uniform_int(6, 2, 3, r), ValueError, r"应满足 low ≤ high"),
    (lambda r: tuning.sample_uniform_int(2.0, 6, 3, r), TypeError, r"^low: 需要整数"),
    (lambda r: tuning.sample_log_uniform(0, 1, 3, r), ValueError, r"^low: 应 > 0"),
    (lambda r: tuning.sample_log_uniform(1, 0.1, 3, r), ValueError, r"应满足 low ≤ high"),
    (lambda r: tuning.sample_one_minus_log(0.9, 1.0, 3, r), ValueError, r"0 ≤ low ≤ high < 1"),
    (lambda r: tuning.sample_one_minus_log(float("nan"), 0.9, 3, r), ValueError, r"^low: 需要有限的实数"),
    (lambda r: tuning.sample_log_uniform(1e-3, 1, 3, 2.5), TypeError, r"^rng: "),
])
def test_sampler_bad_input(call, error, message):
    with raises_as(error, message):
        call(np.random.default_rng(0))


# --------------------------------------------------------------------------------------------------------------
# Random search


SPACE = {"alpha": (tuning.sample_log_uniform, 1e-3, 1.0), "beta": (tuning.sample_one_minus_log, 0.5, 0.99),
         "units": (tuning.sample_uniform_int, 2, 9)}


def quadratic(config, rng):
    """A cheap objective with its own noise: best near α = 0.1, β = 0.9; fails for few units."""
    if config["units"] == 2:
        raise RuntimeError("too few units")
    noise = rng.normal(scale=0.01)
    return -(math.log10(config["alpha"]) + 1) ** 2 - (config["beta"] - 0.9) ** 2 + noise


def _summary(trials):
    return [(t.index, t.seed, t.config, t.score if t.ok else None, t.error.split("\n")[0] if t.error else None)
            for t in trials]


def test_random_search_best_first_with_failures_recorded():
    with pytest.warns(RuntimeWarning, match="30 次试验中有 4 次失败"):
        trials = tuning.random_search(quadratic, SPACE, 30, np.random.default_rng(0))
    assert len(trials) == 30 and sorted(t.index for t in trials) == list(range(30))
    ok = [t for t in trials if t.ok]
    failed = [t for t in trials if not t.ok]
    assert failed and trials[-len(failed):] == failed  # failures last, none lost
    assert all(t.error.startswith("RuntimeError: too few units") and math.isnan(t.score) for t in failed)
    assert [t.score for t in ok] == sorted((t.score for t in ok), reverse=True)
    for t in trials:  # each trial is reproducible from its seed alone
        again = tuning.run_trial(quadratic, SPACE, t.index, t.seed)
        assert again.config == t.config and (again.score == t.score or not t.ok)
    assert all(1e-3 <= t.config["alpha"] <= 1 and 2 <= t.config["units"] <= 9 for t in trials)


@pytest.mark.site  # slow: starts a pool of worker processes
def test_same_results_with_two_processes():
    pytest.importorskip("joblib")
    with pytest.warns(RuntimeWarning):  # one trial fails, in either run
        one = tuning.random_search(quadratic, SPACE, 12, np.random.default_rng(3))
        two = tuning.random_search(quadratic, SPACE, 12, np.random.default_rng(3), n_jobs=2)
    assert _summary(one) == _summary(two)


@pytest.mark.site  # slow: starts a dask cluster
def test_same_results_on_a_dask_cluster():
    """A real dask.distributed LocalCluster with two worker processes, through joblib's dask backend."""
    distributed = pytest.importorskip("dask.distributed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers need not import this test module
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) \
                as cluster, distributed.Client(cluster) as client:
            assert len(client.scheduler_info()["workers"]) == 2
            with pytest.warns(RuntimeWarning, match="10"):  # one trial draws units = 2, which quadratic refuses
                on_dask = tuning.random_search(quadratic, SPACE, 10, np.random.default_rng(4), n_jobs=-1,
                                               backend="dask")
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    with pytest.warns(RuntimeWarning, match="10"):
        alone = tuning.random_search(quadratic, SPACE, 10, np.random.default_rng(4))
    assert _summary(on_dask) == _summary(alone)


def test_learning_curves_and_nan_scores():
    def panda(config, rng):
        curve = [1 - 0.5**k for k in range(1, 6)]
        return {"score": math.nan if config["units"] == 9 else curve[-1], "curve": curve}

    with pytest.warns(RuntimeWarning, match="20"):  # the failed trials are counted in a warning, not hidden
        trials = tuning.random_search(panda, SPACE, 20, np.random.default_rng(1))
    assert all(t.curve == [1 - 0.5**k for k in range(1, 6)] for t in trials)
    assert all((t.error is not None and "目标函数返回了 NaN" in t.error) == (t.config["units"] == 9) for t in trials)
    assert any(t.config["units"] == 9 for t in trials)


def test_progress_follows_the_models_rule(terminal):
    """One rule for progress bars (smln.base.progress_bar): True shows one on a terminal, False never does."""
    with terminal() as out:
        tuning.random_search(quadratic, SPACE, 3, np.random.default_rng(0))
    assert "随机搜索" in out.getvalue()
    with terminal() as out:
        tuning.random_search(quadratic, SPACE, 3, np.random.default_rng(0), progress=False)
    assert out.getvalue() == ""
    with raises_for(TypeError, "progress", "None"):
        tuning.random_search(quadratic, SPACE, 3, np.random.default_rng(0), progress=None)


def test_progress_bar_is_quiet_off_a_terminal(capsys):
    tuning.random_search(quadratic, SPACE, 3, np.random.default_rng(0), progress=True)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("kwargs, error, message", [
    ({"space": {}}, TypeError, r"^space: 需要非空字典"),
    ({"space": {"a": (np.random.uniform, 0, 1)}}, TypeError, r"^space\['a'\]: 需要 \(采样函数, low, high\)"),
    ({"n_trials": 0}, ValueError, r"^n_trials: 应为正整数"),
    ({"objective": 3}, TypeError, r"^objective: 需要可调用对象"),
    ({"rng": 3.0}, TypeError, r"^rng: "),
])
def test_random_search_bad_input(kwargs, error, message):
    args = {"objective": quadratic, "space": SPACE, "n_trials": 3, "rng": np.random.default_rng(0), **kwargs}
    with raises_as(error, message):
        tuning.random_search(**args)


# --------------------------------------------------------------------------------------------------------------
# The chapter's numbers, examples and demonstration


@pytest.mark.formula("param-linear", "param-linear-example")
def test_learned_w_and_b_match_least_squares():
    """The example's W and b (after 100 steps) against the closed-form least-squares fit of the same data."""
    assert latex("param-linear").replace(" ", "") == "y=Wx+b"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 200))
    y = 2 * x - 1 + 0.1 * rng.normal(size=(1, 200))
    W, b = np.polyfit(x[0], y[0], 1)
    printed = re.search(r"\(array\(\[\[(\S+)\]\]\), array\(\[\[(\S+)\]\]\)\)", latex("param-linear-example"))
    assert (float(printed.group(1)), float(printed.group(2))) == (round(W, 2), round(b, 2))


@pytest.mark.formula("tune-defaults")
def test_defaults_are_adam_s():
    values = dict(re.findall(r"(\\beta _\d|\\epsilon) = ([\d.^{}\-]+)", latex("tune-defaults")))
    adam = Adam()
    assert float(values["\\beta _1"]) == adam.beta1 and float(values["\\beta _2"]) == adam.beta2
    assert float(parse(values["\\epsilon"])) == adam.eps


@pytest.mark.site  # slow: the whole search of the script
def test_demonstration_is_reproduced_by_its_script():
    """The committed search results are what scripts/ch3_search.py computes from its seed (needs scikit-learn)."""
    pytest.importorskip("sklearn")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import ch3_search
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    committed = json.loads((ROOT / "notes/assets/data/ch3-search.json").read_text(encoding="utf-8"))
    from scripts import demo_json

    again = demo_json.stable(json.loads(json.dumps(ch3_search.search(), ensure_ascii=False)))
    assert again == committed  # what the script writes: 6 significant digits, no timings
    assert committed["test_accuracy"] > 0.9 and committed["best"]["score"] >= committed["coarse"]["trials"][0]["score"]


# --------------------------------------------------------------------------------------------------------------
# Errata of this chapter


def test_errata_a_layer_weight_is_a_matrix():
    W = init.initialize_parameters([4, 3], "he", np.random.default_rng(0))["W1"]
    assert W.ndim == 2 and W.shape == (3, 4)  # one row per neuron: the original's [w_1, …, w_n] is one row
    assert "权重向量$[w_1, w_2...,w_n]$" in errata.erratum("E23").fields["原文"]
    assert "$W$通常表示权重矩阵$W^{[l]}$" in errata.prose(NOTE)


@pytest.mark.formula("init-small-code", "init-scaled-code")
def test_errata_randn_takes_the_dimensions():
    quotes = re.findall(r"「(.+?)」", errata.erratum("E24").fields["原文"])
    for line in quotes:
        env = {"numpy": SimpleNamespace(random=np.random.RandomState(0), sqrt=np.sqrt), "shape": (3, 4), "n": [4, 3], "l": 1}
        with pytest.raises(TypeError):
            exec(line, env)  # noqa: S102 - the original's line does not run
    assert all("randn(*shape)" in latex(fid) for fid in ("init-small-code", "init-scaled-code"))


@pytest.mark.formula("init-std-xavier", "init-std-glorot")
def test_errata_the_two_xavier_variances_differ():
    v1, v2 = _note_std("init-std-xavier") ** 2, _note_std("init-std-glorot") ** 2
    assert sympy.simplify(v1 / v2 - (N_PREV + N_THIS) / (2 * N_PREV)) == 0
    assert v1.subs({N_PREV: 100, N_THIS: 10}) / v2.subs({N_PREV: 100, N_THIS: 10}) == sympy.Rational(55, 100)
    assert sympy.simplify((v1 - v2).subs(N_THIS, N_PREV)) == 0  # the same only when the layers are equal
    std1 = init.xavier_normal(10, 100, np.random.default_rng(0)).std()
    std2 = init.glorot_normal(10, 100, np.random.default_rng(0)).std()
    assert std2 / std1 == pytest.approx(math.sqrt(200 / 110), rel=1e-12)  # same seed, different distribution


def test_errata_a_continuous_hyperparameter_has_no_list_of_all_values():
    """E26: a learning rate in [1e-4, 1] takes infinitely many values: every new draw is one not tried before, so
    "all possible values" cannot be tried; a finite budget can only try as many different values as it has trials."""
    rng = np.random.default_rng(0)
    tried = tuning.sample_log_uniform(1e-4, 1, 10_000, rng)
    assert len(set(tried.tolist())) == tried.size  # no value comes round again: there is no list to exhaust
    more = tuning.sample_log_uniform(1e-4, 1, 100, rng)
    assert not set(more.tolist()) & set(tried.tolist())  # after 10 000 trials, the next 100 are all new
    assert "尝试参数所有的可能取值" not in errata.prose(NOTE)
    assert "尽可能多地尝试参数的不同取值" in errata.prose(NOTE)


def test_errata_beta1_beta2_epsilon_are_adams():
    """E37: β₁, β₂, ε with the defaults 0.9, 0.999, 1e-8 are Adam's; momentum and RMSprop have one β each."""
    import inspect as _inspect

    from smln import optim

    def params(cls):
        return {k: p.default for k, p in _inspect.signature(cls).parameters.items() if k != "alpha"}

    assert params(optim.Adam) == {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert set(params(optim.Momentum)) == {"beta"} and set(params(optim.RMSprop)) == {"beta", "eps"}
    prose = errata.prose(NOTE)
    assert "Adam 的参数($\\beta _1,\\beta _2,\\epsilon$)" in prose and "Adam 的参数通常取默认值" in prose
    assert "动量法和RMSprop的参数" not in prose
    assert "动量法和RMSprop的参数($\\beta _1,\\beta _2,\\epsilon$)" in errata.erratum("E37").fields["原文"]


COURSE_PRIORITIES = {  # Deep Learning AI, course 2, "Tuning process"
    "学习率$\\alpha$": 1, "$\\beta$(动量法的参数)": 2, "隐藏层单元数": 2, "批训练的批大小": 2, "网络层数": 3,
    "学习率衰减系数": 3}


@pytest.mark.formula("tune-priorities")
def test_errata_priority_table_is_the_course_s():
    rows = [line.strip().strip("|").split("|") for line in latex("tune-priorities").splitlines()[2:]]
    table = {name.strip(): int(p) for p, name in rows}
    assert table == COURSE_PRIORITIES
    original = errata.erratum("E27").fields["原文"]
    assert "\\beta _1,\\beta _2,\\epsilon" in original and not any("beta _1" in k for k in COURSE_PRIORITIES)


@pytest.mark.formula("tune-defaults")
def test_errata_beta2_default_again():
    original = re.search(r"\\beta _2 = ([\d.]+)", errata.erratum("E28").fields["原文"]).group(1)
    assert float(original) == 0.99 != Adam().beta2 == 0.999
    assert "\\beta _2 = 0.999" in latex("tune-defaults")


def test_errata_wording():
    assert "都很多超参数" not in errata.prose(NOTE) and "有很多超参数" in errata.prose(NOTE)



def test_search_defaults_run_in_this_process_and_one_trial_is_enough():
    import inspect
    import os
    import time

    assert inspect.signature(tuning.random_search).parameters["n_jobs"].default == 1

    def where(config, rng):
        time.sleep(0.01)
        return float(os.getpid())

    trials = tuning.random_search(where, SPACE, 3, np.random.default_rng(0))
    assert {t.score for t in trials} == {float(os.getpid())}  # n_jobs=1: no other process
    assert all(0.01 <= t.seconds < 5 for t in trials)  # the time each trial took, measured
    (one,) = tuning.random_search(where, SPACE, 1, np.random.default_rng(0))
    assert one.ok and tuning.Trial(0, 1, {}).seconds == 0.0 and tuning.Trial(0, 1, {}).curve == []


def test_beta_range_may_start_at_zero_and_be_a_single_value():
    b = tuning.sample_one_minus_log(0.0, 0.9, 1000, np.random.default_rng(0))
    assert b.min() >= 0 and b.max() <= 0.9
    assert tuning.sample_one_minus_log(0.99, 0.99, None, np.random.default_rng(0)) == pytest.approx(0.99)


def test_one_job_needs_no_joblib_and_two_jobs_use_other_processes(monkeypatch):
    import builtins
    import os

    def where(config, rng):
        return float(os.getpid())

    pytest.importorskip("joblib")
    two = tuning.random_search(where, SPACE, 6, np.random.default_rng(0), n_jobs=2)
    assert {t.score for t in two} - {float(os.getpid())}  # worker processes did the work
    real_import = builtins.__import__

    def no_joblib(name, *args, **kwargs):
        if name.startswith("joblib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_joblib)
    one = tuning.random_search(where, SPACE, 6, np.random.default_rng(0))  # n_jobs=1, no backend: NumPy only
    assert {t.score for t in one} == {float(os.getpid())}
    with pytest.raises(ImportError, match=r"并行的随机搜索需要 joblib"):
        tuning.random_search(where, SPACE, 2, np.random.default_rng(0), n_jobs=2)


@pytest.mark.site  # slow: starts a pool of worker processes
def test_errata_parallel_search_trains_one_model_per_configuration():
    """E39: the trials of a parallel search are separate models, each with its own values, in separate processes
    (the caviar strategy); one model never gets several values at once."""
    pytest.importorskip("joblib")
    parallel = tuning.random_search(_pid_after_a_while, SPACE, 6, np.random.default_rng(0), n_jobs=2)
    assert len({tuple(sorted(t.config.items())) for t in parallel}) == 6  # six trials, six sets of values
    assert len({t.score for t in parallel}) >= 2  # trained in two worker processes, side by side
    assert "传给同一个模型" in errata.erratum("E39").fields["原文"]


def _pid_after_a_while(config, rng):
    import os
    import time

    time.sleep(0.05)  # long enough that the second worker takes a trial
    return float(os.getpid())
