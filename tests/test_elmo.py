"""Chapter 5, ELMo: the character CNN, the bidirectional LM, the scalar mix.

Oracles: SymPy expressions built by hand from the note's formulas (max over positions and ReLU as ``sympy.Max``,
differentiated by ``sympy.diff``) on tiny shapes for the character CNN and the scalar mix; central differences for the
whole biLM; brute-force log-softmax for its objective; the sequence chapter's LSTM for its layers; and properties
(causality of each direction, one-hot layer weights, context dependence).
"""

import inspect
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from smln import elmo
from smln.lstm import lstm_layer_forward
from smln.sequence import batch_major
from smln.validation import NotFittedError
from tests import errata
from tests.errors import raises_as, raises_for
from tests.numeric import central_difference
from tests.oracle import ROOT, assert_latex, derivation, symbol_matrix

NOTE = "notes/05-word-embeddings.md"
DEMO = ROOT / "notes" / "assets" / "data" / "ch5-elmo.json"




def _values(symbols, rng):
    """Random values for every entry of every SymPy matrix: (subs dict, NumPy arrays)."""
    arrays = {name: rng.standard_normal(M.shape) for name, M in symbols.items()}
    subs = {M[i, j]: float(arrays[name][i, j]) for name, M in symbols.items() for i in range(M.shape[0])
            for j in range(M.shape[1])}
    return subs, arrays


# ----------------------------------------------------------------------------------------------------------------
# The character CNN


CNN_IDS = ((1, 4, 2), (1, 3, 2))  # two words, L = 3 characters each
CNN_WIDTHS, CNN_FILTERS, CNN_D_C, CNN_V_C, CNN_D = (1, 2), {1: 1, 2: 1}, 2, 5, 2


@derivation
def _char_cnn_oracle(ids):
    """elmo-conv … elmo-proj for the words ``ids``, built by hand in SymPy, and the gradients of the loss
    Σ R ⊙ x (R a matrix of symbols) by ``sympy.diff``; all lambdified on the parameters and R, flattened row by row."""
    assert_latex("elmo-conv", r"f_i^{(w)} = \tanh\left(F^{(w)} \operatorname{vec}([c_i, c_{i+1}, \dots, c_{i+w-1}])",
                 r"+ b^{(w)}\right)")
    assert_latex("elmo-pool", r"y^{(w)} = \max_{i} f_i^{(w)}")
    assert_latex("elmo-highway", r"z = t \odot g + (1 - t) \odot y", r"t = \sigma(W_T y + b_T)",
                 r"g = \operatorname{ReLU}(W_H y + b_H)")
    assert_latex("elmo-proj", r"x_k = W_p z + b_p")
    d_c, d, n_f, L_w = CNN_D_C, CNN_D, CNN_FILTERS, len(ids[0])
    D = sum(n_f.values())
    symbols = {"char.C": symbol_matrix("C", d_c, CNN_V_C), "hw.WT": symbol_matrix("WT", D, D),
               "hw.bT": symbol_matrix("bT", D, 1), "hw.WH": symbol_matrix("WH", D, D),
               "hw.bH": symbol_matrix("bH", D, 1), "proj.W": symbol_matrix("Wp", d, D), "proj.b": symbol_matrix("bp", d, 1)}
    for w in CNN_WIDTHS:
        symbols |= {f"char.F{w}": symbol_matrix(f"F{w}", n_f[w], d_c * w), f"char.b{w}": symbol_matrix(f"b{w}", n_f[w], 1)}
    R = symbol_matrix("R", d, len(ids))
    loss = 0
    for word in range(len(ids)):
        c = [symbols["char.C"][:, ids[word][i]] for i in range(L_w)]
        y = []
        for w in CNN_WIDTHS:
            # vec([c_i … c_{i+w−1}]) in the order the code flattens (d_c, w): row r of the window, column j
            windows = [sympy.Matrix([c[i + j][r] for r in range(d_c) for j in range(w)]) for i in range(L_w - w + 1)]
            f = [(symbols[f"char.F{w}"] * win + symbols[f"char.b{w}"]).applyfunc(sympy.tanh) for win in windows]
            y += [sympy.Max(*(fi[k] for fi in f)) for k in range(n_f[w])]
        y = sympy.Matrix(y)
        t = (symbols["hw.WT"] * y + symbols["hw.bT"]).applyfunc(lambda v: 1 / (1 + sympy.exp(-v)))
        g = (symbols["hw.WH"] * y + symbols["hw.bH"]).applyfunc(lambda v: sympy.Max(0, v))
        z = sympy.Matrix([t[k] * g[k] + (1 - t[k]) * y[k] for k in range(D)])
        x = symbols["proj.W"] * z + symbols["proj.b"]
        loss += sum(R[k, word] * x[k] for k in range(d))
    names = sorted(symbols)
    args = [list(symbols[name]) for name in names] + [list(R)]
    # d Max / d argument is a Heaviside step, which lambdify would print as a Piecewise after a slow simplification
    # of its conditions: NumPy's heaviside says the same (ties have probability 0 here)
    step = sympy.Function("heaviside")

    def gradient(M):
        return M.applyfunc(loss.diff).replace(sympy.Heaviside, lambda x, *_: step(x, sympy.Rational(1, 2)))

    return (names, {name: M.shape for name, M in symbols.items()}, sympy.lambdify(args, loss, "numpy"),
            sympy.lambdify(args, [gradient(symbols[name]) for name in names], "numpy", cse=True))


@pytest.mark.formula("elmo-conv", "elmo-pool", "elmo-highway", "elmo-proj")
@pytest.mark.parametrize("seed", [0, 1])
def test_the_character_cnn_and_its_gradients_are_sympys(seed):
    names, shapes, loss_of, grad_of = _char_cnn_oracle(CNN_IDS)
    rng = np.random.default_rng(seed)
    params = {name: rng.standard_normal(shapes[name]) for name in names}
    R = np.random.default_rng(seed + 10).standard_normal((CNN_D, len(CNN_IDS)))
    flat = [params[name].ravel() for name in names] + [R.ravel()]
    X, cache = elmo.char_cnn_forward(np.array(CNN_IDS), params, CNN_WIDTHS)
    assert X.shape == (CNN_D, 2)
    assert float(np.sum(R * X)) == pytest.approx(float(loss_of(*flat)), rel=1e-10)
    grads = elmo.char_cnn_backward(R, cache)
    assert set(grads) == set(names)
    for name, expected in zip(names, grad_of(*flat), strict=True):
        np.testing.assert_allclose(grads[name], np.asarray(expected, dtype=float), rtol=1e-9, atol=1e-12, err_msg=name)


def test_char_table_marks_word_boundaries_and_unknown_characters():
    table = elmo.char_table(["ab", "c?"], {"a": 4, "b": 5, "c": 6})
    np.testing.assert_array_equal(table, [[1, 4, 5, 2], [1, 6, 3, 2]])
    np.testing.assert_array_equal(elmo.char_table(["abc"], {"a": 4}, max_len=4), [[1, 4, 3, 2]])  # truncated
    params = elmo.init_elmo_params(7, 3, np.random.default_rng(0), filters=((1, 2), (3, 2)), d=2)
    X, _ = elmo.char_cnn_forward(np.array([[1, 4, 2]]), params, (1, 3))  # a width equal to L: one position
    assert X.shape == (2, 1)
    with pytest.raises(ValueError, match="比最宽的卷积 3 窄"):
        elmo.char_cnn_forward(np.array([[1, 2]]), elmo.init_elmo_params(7, 3, np.random.default_rng(0),
                                                                          filters=((1, 2), (3, 2)), d=2), (1, 3))


# ----------------------------------------------------------------------------------------------------------------
# The scalar mix


@derivation
def _scalar_mix_oracle(L, n):
    """elmo-mix with elmo-s for L + 1 layers of n components, and the gradients of r · ELMo, lambdified on
    (h flattened row by row, w, γ, r)."""
    assert_latex("elmo-mix", r"\mathrm{ELMo}_k^{task} = \gamma^{task} \sum_{j=0}^{L} s_j^{task} h_{k,j}")
    assert_latex("elmo-s", r"s_j = \frac{\exp(w_j)}{\sum_{i=0}^{L} \exp(w_i)}")
    h, w, gamma = symbol_matrix("h", L + 1, n), sympy.symbols(f"w0:{L + 1}"), sympy.Symbol("gamma")
    r = sympy.symbols(f"r0:{n}")
    s = [sympy.exp(wj) / sum(sympy.exp(wi) for wi in w) for wj in w]
    E = [gamma * sum(s[j] * h[j, k] for j in range(L + 1)) for k in range(n)]
    loss = sum(r[k] * E[k] for k in range(n))
    args = [list(h), list(w), gamma, list(r)]
    return (sympy.lambdify(args, E, "numpy"), sympy.lambdify(args, [loss.diff(wj) for wj in w], "numpy"),
            sympy.lambdify(args, loss.diff(gamma), "numpy"), sympy.lambdify(args, h.applyfunc(loss.diff), "numpy"))


@pytest.mark.formula("elmo-mix", "elmo-s")
@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**32 - 1))
@settings(max_examples=15, deadline=None)
def test_the_scalar_mix_and_its_gradients_are_sympys(L, n, seed):
    mix_of, dw_of, dgamma_of, dh_of = _scalar_mix_oracle(L, n)
    rng = np.random.default_rng(seed)
    h_val, w_val, r = rng.standard_normal((L + 1, n)), rng.standard_normal(L + 1), rng.standard_normal(n)
    g_val = float(rng.standard_normal())
    at = (h_val.ravel(), w_val, g_val, r)
    got, cache = elmo.scalar_mix(list(h_val), w_val, g_val)
    np.testing.assert_allclose(got, np.asarray(mix_of(*at), dtype=float), rtol=1e-12, atol=1e-14)
    d_layers, dw, dgamma = elmo.scalar_mix_backward(r, cache)
    np.testing.assert_allclose(dw, np.asarray(dw_of(*at), dtype=float), rtol=1e-9, atol=1e-12)
    assert dgamma == pytest.approx(float(dgamma_of(*at)), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(np.array(d_layers), np.asarray(dh_of(*at), dtype=float), rtol=1e-10, atol=1e-12)


def test_a_one_hot_s_picks_a_layer_and_uniform_s_averages():
    rng = np.random.default_rng(0)
    layers = [rng.standard_normal((4, 2, 3)) for _ in range(3)]
    for j in range(3):
        w = np.full(3, -np.inf)
        w[j] = 0.0
        np.testing.assert_array_equal(elmo.scalar_mix(layers, w)[0], layers[j])
        np.testing.assert_allclose(elmo.scalar_mix(layers, w, gamma=2.5)[0], 2.5 * layers[j], rtol=1e-15)
    np.testing.assert_allclose(elmo.scalar_mix(layers, np.zeros(3))[0], sum(layers) / 3, rtol=1e-12)
    assert inspect.signature(elmo.scalar_mix).parameters["gamma"].default == 1.0


@pytest.mark.formula("elmo-mix")
def test_errata_gamma_is_a_scalar():
    assert "缩放向量" in errata.erratum("E35").fields["原文"]
    assert "缩放整个ELMo的标量" in errata.prose(NOTE)
    layers = [np.ones((2, 3)), np.zeros((2, 3))]
    with raises_for(ValueError, 'gamma'):
        elmo.scalar_mix(layers, np.zeros(2), gamma=np.ones((2, 1)))
    # one number scales the entire ELMo vector: every direction is kept
    v1, v3 = elmo.scalar_mix(layers, np.zeros(2), 1.0)[0], elmo.scalar_mix(layers, np.zeros(2), 3.0)[0]
    np.testing.assert_allclose(v3, 3 * v1)


def test_errata_wording():
    prose = errata.prose(NOTE)
    assert "给定一个长度为$N$的序列" in prose and "我们可以得到单词在这个句子中的ELMo嵌入" in prose
    assert "$s$是经过softmax标准化的权重" in prose
    for wrong in ("给地方给你", "$N$D", "softmox", "将得到"):
        assert wrong not in prose and wrong in errata.erratum("E36").fields["原文"]


@pytest.mark.parametrize(("call", "match"), [
    (lambda: elmo.scalar_mix([np.ones(2), np.ones(2)], np.zeros(3)), r"w: 形状应为 \(2,\)"),
    (lambda: elmo.scalar_mix([np.ones(2), np.ones(2)], [np.nan, 0]), "不能有 NaN"),
    (lambda: elmo.scalar_mix([np.ones(2), np.ones(2)], [-np.inf, -np.inf]), "至少要有一个有限的层权重"),
    (lambda: elmo.scalar_mix([np.ones(2), np.ones(3)], [0, 0]), "各层形状应相同"),
])
def test_the_scalar_mix_rejects_bad_input(call, match):
    with raises_as(ValueError, match):
        call()


# ----------------------------------------------------------------------------------------------------------------
# The biLM


def _tiny(seed, V=5, m=2, N=4):
    rng = np.random.default_rng(seed)
    words = ["<unk>", "ab", "abc", "b", "ca", "cab"][:V]
    table = elmo.char_table(words, {"a": 4, "b": 5, "c": 6})
    params = elmo.init_elmo_params(7, V, rng, d_c=2, filters=((1, 2), (2, 1), (3, 2)), d=3)
    params = {k: v + rng.normal(0, 0.3, v.shape) for k, v in params.items()}
    return params, table, rng.integers(0, V, (m, N))


@pytest.mark.formula("elmo-bilm")
@given(st.integers(0, 2**32 - 1), st.integers(1, 2), st.integers(2, 4))
@settings(max_examples=4, deadline=None)
def test_every_gradient_of_the_bilm_is_the_central_difference(seed, m, N):
    params, table, tokens = _tiny(seed, m=m, N=N)
    R = np.random.default_rng(seed + 1).standard_normal((6, m, N))
    w = np.random.default_rng(seed + 2).standard_normal(3)

    def loss():  # the biLM objective plus a task loss reading the ELMo vectors
        layers, cache = elmo.bilm_forward(tokens, table, params)
        return elmo.bilm_loss(cache)[0] + float(np.sum(R * elmo.scalar_mix(layers, w, 0.7)[0]))

    layers, cache = elmo.bilm_forward(tokens, table, params)
    _, dZ = elmo.bilm_loss(cache)
    d_layers, _, _ = elmo.scalar_mix_backward(R, elmo.scalar_mix(layers, w, 0.7)[1])
    grads = elmo.bilm_backward(dZ, cache, d_layers)
    assert set(grads) == set(params)
    for name, W in params.items():
        np.testing.assert_allclose(grads[name], central_difference(loss, W), rtol=1e-5, atol=1e-8, err_msg=name)


def _log_softmax(Z):
    Z = Z - Z.max(axis=0)
    return Z - np.log(np.exp(Z).sum(axis=0))


@pytest.mark.formula("elmo-bilm", "elmo-fwd", "elmo-bwd")
def test_the_objective_is_both_directions_log_likelihoods():
    assert_latex("elmo-bilm", r"\log p(t_k \mid t_1, \dots, t_{k-1}; \Theta_x, \overrightarrow{\Theta}_{LSTM}, \Theta_s)",
                 r"\log p(t_k \mid t_{k+1}, \dots, t_N; \Theta_x, \overleftarrow{\Theta}_{LSTM}, \Theta_s)")
    params, table, tokens = _tiny(3, m=3, N=5)
    _, cache = elmo.bilm_forward(tokens, table, params)
    L, _ = elmo.bilm_loss(cache)
    m, N = tokens.shape
    fwd = sum(_log_softmax(cache["Z_fwd"][k][:, i])[tokens[i, k + 1]] for k in range(N - 1) for i in range(m))
    bwd = sum(_log_softmax(cache["Z_bwd"][N - 1 - k][:, i])[tokens[i, k - 1]] for k in range(1, N) for i in range(m))
    assert L == pytest.approx(-(fwd + bwd) / (2 * m * (N - 1)), rel=1e-12)


@pytest.mark.formula("elmo-fwd", "elmo-bwd", "elmo-lstm")
@given(st.integers(0, 2**32 - 1), st.integers(1, 3))
@settings(max_examples=10, deadline=None)
def test_each_direction_sees_only_its_side(seed, k):
    assert_latex("elmo-fwd", r"\prod_{k=1}^{N} p(t_k \mid t_1, t_2, \dots, t_{k-1})")
    assert_latex("elmo-bwd", r"\prod_{k=1}^{N} p(t_k \mid t_{k+1}, t_{k+2}, \dots, t_N)")
    assert_latex("elmo-lstm", r"\overrightarrow{h}_{k,0} = x_k",
                 r"p(t_{k+1} \mid t_1, \dots, t_k) = \operatorname{softmax}(W_s \overrightarrow{h}_{k,L} + b_s)")
    params, table, tokens = _tiny(seed, m=1, N=5)
    _, a = elmo.bilm_forward(tokens, table, params)
    # a tiny max-pooled character CNN can give two words the same vector: change t_k to a word it tells apart
    for shift in range(1, len(table)):
        changed = tokens.copy()
        changed[0, k] = (tokens[0, k] + shift) % len(table)
        _, b = elmo.bilm_forward(changed, table, params)
        if not np.allclose(a["Z_fwd"][k], b["Z_fwd"][k]):
            break
    else:
        assume(False)
    # the forward LM's prediction of t_{j+1} reads t_1 … t_j: positions before k do not change (up to rounding: the
    # batched products may sum in another order)
    np.testing.assert_allclose(a["Z_fwd"][:k], b["Z_fwd"][:k], rtol=0, atol=1e-12)
    # the backward LM reads from the end: its predictions made after k (reversed positions < N − 1 − k) do not change
    np.testing.assert_allclose(a["Z_bwd"][: 4 - k], b["Z_bwd"][: 4 - k], rtol=0, atol=1e-12)


@pytest.mark.formula("elmo-layers", "elmo-lstm")
def test_the_layers_are_the_token_representation_and_the_two_lstm_stacks():
    assert_latex("elmo-layers", r"h_{k,0} = [x_k; x_k]", r"h_{k,j} = [\overrightarrow{h}_{k,j}; \overleftarrow{h}_{k,j}]")
    params, table, tokens = _tiny(7, m=2, N=4)
    layers, _ = elmo.bilm_forward(tokens, table, params)
    X, _ = elmo.char_cnn_forward(table[tokens.ravel()], params, (1, 2, 3))
    X = X.reshape(3, 2, 4)
    np.testing.assert_allclose(layers[0], np.concatenate([X, X]), rtol=1e-12)

    def stack(direction, seq):
        part = {p: {k.split(".")[1]: v for k, v in params.items() if k.startswith(f"{direction}{p}.")} for p in (1, 2)}
        h1, _ = lstm_layer_forward(seq, None, part[1])
        h2, _ = lstm_layer_forward(batch_major(h1), None, part[2])
        return batch_major(h1), batch_major(h2)

    f1, f2 = stack("fwd", X)
    b1, b2 = stack("bwd", X[:, :, ::-1])
    np.testing.assert_allclose(layers[1], np.concatenate([f1, b1[:, :, ::-1]]), rtol=1e-12)
    np.testing.assert_allclose(layers[2], np.concatenate([f2, b2[:, :, ::-1]]), rtol=1e-12)


def test_bilm_forward_rejects_bad_tokens():
    params, table, _ = _tiny(0)
    with raises_for(ValueError, 'tokens'):
        elmo.bilm_forward(np.array([[1]]), table, params)
    with raises_for(ValueError, 'tokens'):
        elmo.bilm_forward(np.array([1.0, 2.0]), table, params)
    with pytest.raises(ValueError, match=r"下标应在 0 … 4 之间"):
        elmo.bilm_forward(np.array([[1, 5]]), table, params)


# ----------------------------------------------------------------------------------------------------------------
# BiLM and elmo_embed


@pytest.fixture(scope="module")
def small_bilm():
    text = ("a set of objects is a set . the flag is set to true . set the value and return it . "
            "the return value is a set . ") * 40
    model = elmo.BiLM(d=8, d_c=4, filters=((1, 4), (2, 4)), N=6, batch_size=4, epochs=100, max_steps=30, min_count=1,
                      rng=np.random.default_rng(0), progress=False)
    return model.fit(text.split())


def test_the_same_word_gets_different_vectors_in_different_sentences(small_bilm):
    a, b = "a set of objects".split(), "the flag is set to true".split()
    layers_a, layers_b = small_bilm.layers(a), small_bilm.layers(b)
    ka, kb = a.index("set"), b.index("set")
    np.testing.assert_array_equal(layers_a[0][:, ka], layers_b[0][:, kb])  # layer 0 reads only the spelling
    for j in (1, 2):
        assert not np.allclose(layers_a[j][:, ka], layers_b[j][:, kb])
    assert not np.allclose(elmo.elmo_embed(small_bilm, a)[:, ka], elmo.elmo_embed(small_bilm, b)[:, kb])
    # the default mix is the average of the three layers, γ = 1
    np.testing.assert_allclose(elmo.elmo_embed(small_bilm, a), sum(layers_a) / 3, rtol=1e-12)
    np.testing.assert_allclose(elmo.elmo_embed(small_bilm, a, gamma=2.0, w=[0, -np.inf, -np.inf]), 2 * layers_a[0])
    assert elmo.elmo_embed(small_bilm, ["unseen", "words"]).shape == (16, 2)  # spelled, not looked up


def test_bilm_score_is_minus_the_loss_over_segments_of_n_words(small_bilm):
    """Brute force: bilm_loss on each segment of N = 6 words (and the 2-word rest), weighted by its predictions."""
    words = "the flag is set to true . set the value and return it .".split()  # 14 = 6 + 6 + 2 words
    assert len(words) == 14
    ids = small_bilm.vocab_.encode(words)
    table, params = small_bilm._table, small_bilm.params_
    parts = [ids[0:6], ids[6:12], ids[12:14]]
    losses = [elmo.bilm_loss(elmo.bilm_forward(p[None], table, params)[1])[0] for p in parts]
    expected = -(5 * losses[0] + 5 * losses[1] + 1 * losses[2]) / 11
    assert small_bilm.score(words) == pytest.approx(expected, rel=1e-10)
    assert small_bilm.score(words) > -np.log(len(small_bilm.vocab_))  # better than a uniform guess after training


def test_bilm_trains_for_epochs_unless_max_steps_stops_it_first():
    tokens = ("a b c d " * 30).split()  # 120 words: 2 streams of 60, N = 6 → 10 steps an epoch
    model = elmo.BiLM(d=2, d_c=2, filters=((1, 2),), N=6, batch_size=2, epochs=2, min_count=1, rng=0,
                      progress=False).fit(tokens)
    assert len(model.history_) == 20


def test_bilm_training_and_defaults(small_bilm):
    assert len(small_bilm.history_) == 30 and np.mean(small_bilm.history_[-5:]) < np.mean(small_bilm.history_[:5])
    assert small_bilm.params_["proj.W"].shape == (8, 8) and small_bilm.params_["Wy"].shape[1] == 8
    defaults = {k: p.default for k, p in inspect.signature(elmo.BiLM).parameters.items()}
    assert defaults == {"d": 64, "d_c": 16, "filters": ((1, 32), (2, 32), (3, 64), (4, 64)), "N": 20, "batch_size": 32,
                        "epochs": 10, "max_steps": None, "alpha": 0.005, "max_norm": 5.0, "min_count": 5, "rng": None,
                        "progress": True}
    params = elmo.init_elmo_params(10, 7, np.random.default_rng(0))
    assert params["proj.W"].shape == (64, 192) and params["char.F4"].shape == (64, 16 * 4)
    assert (params["fwd1.bf"] == 1).all() and (params["hw.bT"] == -1).all()


def test_the_projection_is_initialised_from_the_data():
    words = ["<unk>", "the", "cat", "sat", "on", "mat", "and", "dog", "log"]
    table = elmo.char_table(words, {ch: i + 4 for i, ch in enumerate("abcdefghijklmnopqrstuvwxyz")})
    params = elmo.init_elmo_params(30, len(words), np.random.default_rng(0), d_c=3, filters=((1, 3), (2, 3)), d=4)
    X0, _ = elmo.char_cnn_forward(table, params, (1, 2))
    cos = (X0 / np.linalg.norm(X0, axis=0)).T @ (X0 / np.linalg.norm(X0, axis=0))
    assert cos[np.triu_indices(len(words), 1)].mean() > 0.5  # before: every word looks much the same
    elmo.standardize_projection(params, table)
    X, _ = elmo.char_cnn_forward(table, params, (1, 2))
    np.testing.assert_allclose(X.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=1), 1, rtol=1e-12)
    np.testing.assert_allclose(X, (X0 - X0.mean(axis=1, keepdims=True)) / X0.std(axis=1, keepdims=True), rtol=1e-10,
                               atol=1e-12)  # the same representation, standardised: an affine change only


@pytest.mark.parametrize(("settings_", "tokens", "error", "match"), [
    ({"d": 0}, ["a", "b"] * 50, ValueError, "d: 需要正整数"),
    ({"N": 1}, ["a", "b"] * 50, ValueError, "N: 每段至少 2 个词"),
    ({"filters": ()}, ["a", "b"] * 50, ValueError, "filters: 需要非空的"),
    ({"filters": ((0, 2),)}, ["a", "b"] * 50, ValueError, "filters: 需要非空的"),
    ({"alpha": -1}, ["a", "b"] * 50, ValueError, "alpha"),
    ({"max_norm": 0}, ["a", "b"] * 50, ValueError, "max_norm"),
    ({"min_count": 1}, "a b c", TypeError, "tokens: 需要非空字符串"),
    ({"min_count": 1}, ["a", ""], TypeError, "tokens: 需要非空字符串"),
    ({"min_count": 1, "batch_size": 4, "N": 20}, ["a", "b"] * 20, ValueError, "tokens: 40 个词分成 m = 4 条流"),
])
def test_bilm_rejects_bad_settings_and_data(settings_, tokens, error, match):
    with raises_as(error, match):
        elmo.BiLM(**settings_, rng=0, progress=False).fit(tokens)


def test_bilm_rejects_use_before_fit_and_bad_sentences(small_bilm):
    with pytest.raises(NotFittedError):
        elmo.BiLM().layers(["a"])
    with pytest.raises(NotFittedError):
        elmo.BiLM().score(["a", "b"])
    with raises_for(TypeError, 'sentence'):
        small_bilm.layers("a set of objects")
    with raises_for(TypeError, 'sentence'):
        small_bilm.layers([])
    with raises_for(TypeError, "rng"):
        elmo.BiLM(rng="0").fit(["a"])
    with raises_for(ValueError, "tokens"):
        small_bilm.score(["set"])


# ----------------------------------------------------------------------------------------------------------------
# The demonstration


def test_the_committed_demonstration_is_what_the_script_computes(tmp_path):
    out = tmp_path / "run.json"
    subprocess.run([sys.executable, "scripts/ch5_elmo.py", "--steps", "3", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    short, full = json.loads(out.read_text(encoding="utf-8")), json.loads(DEMO.read_text(encoding="utf-8"))
    np.testing.assert_allclose(short["history"], full["history"][:3], rtol=1e-5)
    assert short["unigram_entropy"] == pytest.approx(full["unigram_entropy"], rel=1e-12)


def test_the_demonstration_shows_what_the_note_says():
    run = json.loads(DEMO.read_text(encoding="utf-8"))
    loss = np.array(run["history"])
    assert len(loss) == 1500 and loss[-100:].mean() < run["unigram_entropy"] < loss[:20].mean()
    for result in run["probes"].values():
        cos = result["cosine_by_layer"]
        assert cos[0] == pytest.approx(1.0) and cos[0] > cos[1] > cos[2]  # layer 0 is the spelling alone
        noun, verb = result["sentences"]
        assert noun["nearest"] and verb["nearest"]
    # the noun "a set is …" sits among noun uses (none is the verb "is set to"), the verb among verb uses; the same
    # for "return": the noun among "the return value", the verb among "will/should return …"
    set_noun, set_verb = run["probes"]["set"]["sentences"]
    assert not any(" set to " in f" {n['context']} " for n in set_noun["nearest"])
    assert sum(re.search(r"\b(a|the|index|character|intrinsic) set\b", n["context"]) is not None
               for n in set_noun["nearest"]) >= 3
    assert sum(" set to " in f" {n['context']} " for n in set_verb["nearest"]) >= 3
    return_noun, return_verb = run["probes"]["return"]["sentences"]
    assert sum("return value" in n["context"] for n in return_noun["nearest"]) >= 3
    assert sum(re.search(r"\b(will|should|must|can|to) return\b", n["context"]) is not None
               for n in return_verb["nearest"]) >= 3
    assert not any("return value" in n["context"] for n in return_verb["nearest"])


def test_standardising_a_single_word_only_centres_it():
    table = elmo.char_table(["cat", "cat"], {"a": 4, "c": 5, "t": 6})
    params = elmo.init_elmo_params(7, 2, np.random.default_rng(0), d_c=2, filters=((1, 2),), d=3)
    W = params["proj.W"].copy()
    elmo.standardize_projection(params, table)
    np.testing.assert_array_equal(params["proj.W"], W)  # σ = 0 in every dimension: no division
    np.testing.assert_allclose(elmo.char_cnn_forward(table, params, (1,))[0], 0, atol=1e-12)
