"""Chapter 5: vocabulary, embeddings, the neural LM, skip-gram, negative sampling and GloVe.

Oracles: SymPy expressions built by hand from the note's formulas (sums over the vocabulary and ``θ_jᵀ e_c`` are
beyond the LaTeX parser; each builder asserts the LaTeX it follows) differentiated by ``sympy.diff``; central
differences on larger drawn shapes; brute-force counts; a chi-squared test for the samplers.
"""

import inspect
import json
import subprocess
import sys

import numpy as np
import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smln import embeddings, glove, losses, word2vec
from smln.embeddings import UNK, Vocabulary, WordVectors, embed, one_hot, tokenize
from tests import errata
from tests.errors import raises_for
from tests.numeric import central_difference
from tests.oracle import ROOT, assert_latex, derivation, symbol_matrix

NOTE = "notes/05-word-embeddings.md"
SENTENCE = "I want a glass of orange juice to go along with my cereal."




def _sigma(z):
    return 1 / (1 + sympy.exp(-z))


# --------------------------------------------------------------------------------------------------------------
# Vocabulary, one-hot, lookup, word vectors


@pytest.mark.formula("emb-onehot", "emb-lookup")
@given(V=st.integers(1, 12), d=st.integers(1, 5), data=st.data())
def test_lookup_is_the_product_with_one_hot_vectors(V, d, data):
    assert_latex("emb-onehot", r"1 & i = j \\ 0 & \text{否则}")
    assert_latex("emb-lookup", r"E \cdot O_j = e_j")
    ids = np.array(data.draw(st.lists(st.integers(0, V - 1), min_size=1, max_size=8)))
    E = np.random.default_rng(V * 10 + d).standard_normal((d, V))
    O = one_hot(ids, V)
    assert O.shape == (V, ids.size) and (O.sum(axis=0) == 1).all() and (O[ids, np.arange(ids.size)] == 1).all()
    np.testing.assert_array_equal(embed(E, ids), E @ O)


def test_vocabulary_counts_orders_and_maps_rare_words_to_unk():
    tokens = "b a b c a b d".split()
    vocab = Vocabulary(tokens, min_count=2)
    assert vocab.words == [UNK, "b", "a"] and len(vocab) == 3
    assert list(vocab.counts) == [2, 3, 2]  # c and d became <UNK>
    assert "a" in vocab and "c" not in vocab and list(vocab) == vocab.words
    assert list(vocab.encode(["a", "c", "b", "zzz"])) == [2, 0, 1, 0]
    assert vocab.decode(vocab.encode(["a", "b"])) == ["a", "b"]
    assert Vocabulary(tokens).counts.sum() == len(tokens)  # min_count defaults to 1: every word kept
    assert Vocabulary(tokens).counts[0] == 0
    assert repr(vocab) == "Vocabulary(3 个词,含 <UNK>)"


@given(st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=40), st.integers(1, 4))
def test_vocabulary_round_trip(tokens, min_count):
    counts = {w: tokens.count(w) for w in set(tokens)}
    if max(counts.values()) < min_count:
        with raises_for(ValueError, "min_count", str(max(counts.values()))):
            Vocabulary(tokens, min_count)
        return
    vocab = Vocabulary(tokens, min_count)
    kept = [w for w in tokens if counts[w] >= min_count]
    assert vocab.decode(vocab.encode(kept)) == kept
    assert vocab.counts.sum() == len(tokens)
    assert all(counts[a] >= counts[b] for a, b in zip(vocab.words[1:], vocab.words[2:], strict=False))


def test_word_vectors_queries_and_save_load(tmp_path):
    vocab = Vocabulary("a b c d a b a".split())
    E = np.random.default_rng(0).standard_normal((3, len(vocab)))
    model = WordVectors(vocab, E)
    ea, eb = E[:, vocab.id("a")], E[:, vocab.id("b")]
    assert model.similarity("a", "b") == pytest.approx(ea @ eb / np.linalg.norm(ea) / np.linalg.norm(eb))
    assert model.similarity("a", "b") == pytest.approx(model.similarity("b", "a"))
    sims = {w: model.similarity("a", w) for w in ("b", "c", "d")}
    assert [w for w, _ in model.most_similar("a", 3)] == sorted(sims, key=sims.get, reverse=True)
    assert len(model.most_similar("a")) == 3  # topn defaults to 10: all the other words, no <UNK>, not itself
    np.testing.assert_array_equal(model.vector("c"), E[:, vocab.id("c")])
    with pytest.raises(KeyError, match="'zebra' 不在词表中"):
        model.vector("zebra")
    with pytest.raises(ValueError, match="topn"):
        model.most_similar("a", 0)
    path = tmp_path / "w.npz"
    model.save(path)
    loaded = WordVectors.load(path)
    assert loaded.vocab.words == vocab.words and list(loaded.vocab.counts) == list(vocab.counts)
    np.testing.assert_array_equal(loaded.E, E)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_bad_vocabulary_and_lookup_input_is_a_clear_error():
    with raises_for(ValueError, "tokens"):
        Vocabulary([])
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary(["a"], min_count=0)
    with raises_for(TypeError, "tokens"):
        Vocabulary("a b c")
    with raises_for(ValueError, "ids", "[0, 3)", "3"):
        one_hot([0, 3], 3)
    with pytest.raises(TypeError, match="需要整数下标"):
        embed(np.zeros((2, 3)), [0.5])
    with raises_for(ValueError, 'E', '(d, V)'):
        embed(np.zeros(3), [0])
    with pytest.raises(ValueError, match="第一个词应为"):
        Vocabulary.from_words(["a"], [1])


def test_tokenize_lowercases_words():
    assert tokenize(SENTENCE) == "i want a glass of orange juice to go along with my cereal".split()


# --------------------------------------------------------------------------------------------------------------
# The fixed-window neural language model


NLM_SHAPES = {"E": (2, 3), "W1": (2, 4), "b1": (2, 1), "W2": (3, 2), "b2": (3, 1)}  # V 3, d 2, n 2, n_h 2
NLM_CONTEXT, NLM_TARGETS = ((0, 2), (1, 1)), (2, 0)  # (n, m): word 1 twice in the second sample


@derivation
def _nlm_oracle(context, targets):
    """The mean loss of nlm-h, nlm-y on the samples, and its gradient per parameter, built by hand in SymPy."""
    assert_latex("nlm-h", r"h = \tanh(W^{[1]} [e_{w_1}; e_{w_2}; \dots; e_{w_n}] + b^{[1]})")
    assert_latex("nlm-y", r"\hat{y} = \operatorname{softmax}(W^{[2]} h + b^{[2]})")
    P = {name: symbol_matrix(name, *shape) for name, shape in NLM_SHAPES.items()}
    V, m = P["W2"].shape[0], len(targets)
    L = 0
    for k in range(m):
        x = sympy.Matrix.vstack(*[P["E"][:, context[i][k]] for i in range(len(context))])
        h = (P["W1"] * x + P["b1"]).applyfunc(sympy.tanh)
        z = P["W2"] * h + P["b2"]
        L += -sympy.log(sympy.exp(z[targets[k]]) / sum(sympy.exp(z[j]) for j in range(V))) / m
    args = [list(P[name]) for name in NLM_SHAPES]
    return (sympy.lambdify(args, L, "numpy"),
            {name: sympy.lambdify(args, M.applyfunc(L.diff), "numpy") for name, M in P.items()})


@pytest.mark.formula("nlm-h", "nlm-y")
def test_neural_lm_gradients_equal_sympy():
    loss_of, grad_of = _nlm_oracle(NLM_CONTEXT, NLM_TARGETS)
    rng = np.random.default_rng(0)
    values = {name: rng.standard_normal(shape) for name, shape in NLM_SHAPES.items()}
    flat = [values[name].ravel() for name in NLM_SHAPES]
    Z, cache = word2vec.nlm_forward(values, np.array(NLM_CONTEXT))
    loss, dZ = losses.softmax_cross_entropy(Z, np.array(NLM_TARGETS))
    assert loss == pytest.approx(float(loss_of(*flat)), rel=1e-12)
    grads = word2vec.nlm_backward(dZ, cache)
    for name in NLM_SHAPES:
        np.testing.assert_allclose(grads[name], np.asarray(grad_of[name](*flat), dtype=float), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


@settings(max_examples=15, deadline=None)
@given(V=st.integers(2, 8), d=st.integers(1, 4), n=st.integers(1, 3), n_h=st.integers(1, 5), m=st.integers(1, 6),
       seed=st.integers(0, 999))
def test_neural_lm_gradients_match_central_differences(V, d, n, n_h, m, seed):
    rng = np.random.default_rng(seed)
    params = word2vec.init_nlm_params(V, d, n, n_h, rng)
    context, targets = rng.integers(0, V, (n, m)), rng.integers(0, V, m)

    def loss():
        return losses.softmax_cross_entropy(word2vec.nlm_forward(params, context)[0], targets)[0]

    Z, cache = word2vec.nlm_forward(params, context)
    grads = word2vec.nlm_backward(losses.softmax_cross_entropy(Z, targets)[1], cache)
    for name, value in params.items():
        np.testing.assert_allclose(grads[name], central_difference(loss, value), rtol=1e-5, atol=1e-8, err_msg=name)


def test_neural_lm_learns_a_repeating_text():
    ids = np.tile([1, 2, 3, 4, 1, 2, 3, 5], 40)  # after 4 3 comes 1; the word after 1 2 3 depends on what came before
    context, targets = word2vec.context_windows(ids, 4)
    assert context.shape == (4, ids.size - 4) and (context[:, 0] == ids[:4]).all() and targets[0] == ids[4]
    tokens = [str(i) for i in ids]
    model = word2vec.NeuralLM(d=4, n=4, n_h=16, epochs=30, alpha=0.01, batch_size=32, rng=0, progress=False).fit(tokens)
    assert model.history_[-1] < 0.05 < model.history_[0]  # with 4 words of context every next word is determined
    assert model.score(tokens) > -0.05  # score: the mean log-likelihood of each next word
    assert model.vectors_.E is model.params_["E"] and model.vectors_.vocab is model.vocab_


# --------------------------------------------------------------------------------------------------------------
# Skip-gram and negative sampling


def _sg_symbolic(V, d, c, t):
    assert_latex("sg-softmax", r"\frac{e^{\theta_t^T e_c}}{\sum_{j=1}^{V} e^{\theta_j^T e_c}}")
    assert_latex("sg-loss", r"-\sum_{i=1}^{V} y_i \log \hat{y}_i")
    E, Th = symbol_matrix("E", d, V), symbol_matrix("T", d, V)
    L = 0
    for ck, tk in zip(c, t, strict=True):
        scores = [(Th[:, j].T * E[:, ck])[0] for j in range(V)]
        p_t = sympy.exp(scores[tk]) / sum(sympy.exp(s) for s in scores)
        L += -sympy.log(p_t) / len(c)  # y is one-hot at t: −Σ y_i log ŷ_i = −log p(t | c)
    return E, Th, L


@pytest.mark.formula("sg-softmax", "sg-loss", "sg-grad")
def test_softmax_skipgram_gradients_equal_sympy():
    assert_latex("sg-grad", r"\sum_{j=1}^{V} (\hat{y}_j - y_j) \theta_j", r"(\hat{y}_j - y_j) e_c")
    V, d, c, t = 3, 2, np.array([0, 2, 0]), np.array([1, 1, 2])
    E, Th, L = _sg_symbolic(V, d, c, t)
    rng = np.random.default_rng(1)
    Ev, Tv = rng.standard_normal((d, V)), rng.standard_normal((d, V))
    subs = {**{E[i, j]: Ev[i, j] for i in range(d) for j in range(V)}, **{Th[i, j]: Tv[i, j] for i in range(d) for j in range(V)}}
    loss, dE, dT = word2vec.skipgram_softmax_loss(Ev, Tv, c, t)
    assert loss == pytest.approx(float(L.subs(subs)), rel=1e-12)
    np.testing.assert_allclose(dE, [[float(sympy.diff(L, E[i, j]).subs(subs)) for j in range(V)] for i in range(d)],
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dT, [[float(sympy.diff(L, Th[i, j]).subs(subs)) for j in range(V)] for i in range(d)],
                               rtol=1e-9, atol=1e-12)


def _ns_symbolic(V, d, c, t, negatives):
    assert_latex("ns-prob", r"P(y = 1 \mid c, t) = \sigma(\theta_t^T e_c)")
    assert_latex("ns-loss", r"L = -\log \sigma(\theta_t^T e_c) - \sum_{k=1}^{K} \log \sigma(-\theta_{n_k}^T e_c)")
    E, Th = symbol_matrix("E", d, V), symbol_matrix("T", d, V)
    L = 0
    for ck, tk, neg in zip(c, t, negatives, strict=True):
        L += -sympy.log(_sigma((Th[:, tk].T * E[:, ck])[0]))
        L += -sum(sympy.log(_sigma(-(Th[:, n].T * E[:, ck])[0])) for n in neg)
    return E, Th, L / len(c)


@pytest.mark.formula("ns-prob", "ns-loss", "ns-grad")
def test_negative_sampling_gradients_equal_sympy():
    assert_latex("ns-grad", r"(\sigma(\theta_t^T e_c) - 1) \theta_t", r"\sigma(\theta_{n_k}^T e_c) e_c")
    V, d = 4, 2
    c, t, negatives = np.array([0, 3]), np.array([1, 1]), np.array([[2, 3], [0, 0]])  # repeated negatives add up
    E, Th, L = _ns_symbolic(V, d, c, t, negatives)
    rng = np.random.default_rng(2)
    Ev, Tv = rng.standard_normal((d, V)), rng.standard_normal((d, V))
    subs = {**{E[i, j]: Ev[i, j] for i in range(d) for j in range(V)}, **{Th[i, j]: Tv[i, j] for i in range(d) for j in range(V)}}
    loss, dE, dT = word2vec.negative_sampling_loss(Ev, Tv, c, t, negatives)
    assert loss == pytest.approx(float(L.subs(subs)), rel=1e-12)
    np.testing.assert_allclose(dE, [[float(sympy.diff(L, E[i, j]).subs(subs)) for j in range(V)] for i in range(d)],
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dT, [[float(sympy.diff(L, Th[i, j]).subs(subs)) for j in range(V)] for i in range(d)],
                               rtol=1e-9, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(V=st.integers(2, 10), d=st.integers(1, 5), m=st.integers(1, 6), K=st.integers(1, 6), seed=st.integers(0, 999))
def test_skipgram_losses_match_central_differences(V, d, m, K, seed):
    rng = np.random.default_rng(seed)
    E, Th = rng.standard_normal((d, V)), rng.standard_normal((d, V))
    c, t, neg = rng.integers(0, V, m), rng.integers(0, V, m), rng.integers(0, V, (m, K))
    for fn, args in ((word2vec.skipgram_softmax_loss, (c, t)), (word2vec.negative_sampling_loss, (c, t, neg))):
        _, dE, dT = fn(E, Th, *args)
        np.testing.assert_allclose(dE, central_difference(lambda fn=fn, args=args: fn(E, Th, *args)[0], E), rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(dT, central_difference(lambda fn=fn, args=args: fn(E, Th, *args)[0], Th), rtol=1e-5, atol=1e-8)


@pytest.mark.formula("ns-dist-freq", "ns-dist-34", "ns-dist-uniform")
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=20).filter(any))
@example([0, 3, 0, 1])  # words never seen, whatever examples a run draws
def test_noise_distributions_are_the_note_formulas(counts):
    assert_latex("ns-dist-freq", r"\frac{f(w_i)}{\sum_{j=1}^{V} f(w_j)}")
    assert_latex("ns-dist-34", r"\frac{f(w_i)^{3/4}}{\sum_{j=1}^{V} f(w_j)^{3/4}}")
    assert_latex("ns-dist-uniform", r"P(w_i) = \frac{1}{|V|}")
    f = np.array(counts, dtype=float)
    np.testing.assert_allclose(word2vec.noise_distribution(f, 1.0), f / f.sum(), rtol=1e-12)
    np.testing.assert_allclose(word2vec.noise_distribution(f), f**0.75 / (f**0.75).sum(), rtol=1e-12)  # default 3/4
    seen = f > 0
    np.testing.assert_allclose(word2vec.noise_distribution(f, 0.0)[seen], 1 / seen.sum(), rtol=1e-12)
    assert not word2vec.noise_distribution(f, 0.0)[~seen].any()  # 0⁰ = 1, but a word never seen is never drawn


def test_negative_samples_follow_the_distribution():
    """χ² goodness of fit at a fixed seed (10 categories, 200 000 draws) against the 99.9 % quantile of χ²(9)."""
    P = word2vec.noise_distribution(np.array([100, 50, 20, 10, 5, 3, 2, 1, 1, 8]))
    draws = word2vec.sample_negatives(P, (200_000,), np.random.default_rng(3))
    observed = np.bincount(draws, minlength=P.size)
    expected = P * draws.size
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert chi2 < 27.88  # the 99.9 % quantile of χ²(9)


@pytest.mark.formula("w2v-subsample")
def test_keep_probability_is_the_note_formula():
    assert_latex("w2v-subsample", r"\left(\sqrt{\frac{f(w)}{s N}} + 1\right) \frac{s N}{f(w)}")
    counts = np.array([10_000.0, 1000, 100, 10, 1])
    s, N = 1e-3, counts.sum()
    expected = np.minimum(1, (np.sqrt(counts / (s * N)) + 1) * s * N / counts)
    np.testing.assert_allclose(word2vec.keep_probability(counts, s), expected, rtol=1e-12)
    np.testing.assert_allclose(word2vec.keep_probability(counts), expected, rtol=1e-12)  # sample defaults to 1e-3
    assert word2vec.keep_probability(counts)[-1] == 1.0 and word2vec.keep_probability(counts)[0] < 0.2


@pytest.mark.formula("w2v-lr")
@given(alpha=st.floats(1e-4, 1), fraction=st.floats(-0.5, 1.5))
def test_learning_rate_decays_linearly(alpha, fraction):
    assert_latex("w2v-lr", r"\alpha - (\alpha - \alpha_{min}) \cdot \frac{")
    lo = alpha / 10
    expected = alpha - (alpha - lo) * min(1.0, max(0.0, fraction))
    assert word2vec.linear_decay(alpha, lo, fraction) == pytest.approx(expected)


# --------------------------------------------------------------------------------------------------------------
# The compiled training loop: one pair at a time, against the vectorised negative-sampling gradient


@pytest.mark.formula("sgns-update", "ns-loss", "ns-grad")
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), K=st.integers(1, 4), d=st.integers(1, 5), lr=st.floats(1e-3, 0.5))
def test_one_pair_update_is_a_step_of_the_vectorised_gradient(seed, K, d, lr):
    """sgns_update on one (c, t) and K distinct negatives = one SGD step along negative_sampling_loss's gradient."""
    assert_latex("sgns-update", r"\theta_k - \alpha\, g_k\, e_c", r"e_c - \alpha \sum_k g_k\, \theta_k")
    rng = np.random.default_rng(seed)
    V = K + 3
    E, Theta = rng.normal(size=(d, V)), rng.normal(size=(d, V))
    c, t, *negatives = rng.permutation(V)[: K + 2].tolist()  # distinct words: each θ_k is read once
    L, dE, dTheta = word2vec.negative_sampling_loss(E, Theta, [c], [t], [negatives])
    W_in, W_out = E.T.copy(), Theta.T.copy()
    loss = word2vec.sgns_update(W_in, W_out, c, np.array([t, *negatives]), lr, np.empty(d))
    assert loss == pytest.approx(L, rel=1e-12)
    np.testing.assert_allclose(W_in, (E - lr * dE).T, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(W_out, (Theta - lr * dTheta).T, rtol=1e-12, atol=1e-15)


def test_one_pair_update_skips_a_negative_equal_to_the_centre_word_and_survives_large_scores():
    rng = np.random.default_rng(0)
    W_in, W_out = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    a_in, a_out, b_in, b_out = W_in.copy(), W_out.copy(), W_in.copy(), W_out.copy()
    la = word2vec.sgns_update(a_in, a_out, 0, np.array([1, 1, 2]), 0.1, np.empty(3))  # the first negative is t itself
    lb = word2vec.sgns_update(b_in, b_out, 0, np.array([1, 2]), 0.1, np.empty(3))
    assert la == lb and np.array_equal(a_in, b_in) and np.array_equal(a_out, b_out)
    big_in, big_out = np.full((2, 1), 30.0), np.full((2, 1), 30.0)  # z = ±900: σ and log σ must not overflow
    with np.errstate(all="raise"):
        loss = word2vec.sgns_update(big_in, big_out, 0, np.array([1, 0]), 0.0, np.empty(1))
    assert loss == pytest.approx(900.0)  # −log σ(900) ≈ 0, −log σ(−900) = 900


def test_the_random_numbers_are_word2vec_c_s_generator():
    state, us = 12345, []
    r = 12345
    for _ in range(2000):
        state, u = word2vec.lcg_next(np.uint64(state))  # Numba returns a uint64 as a Python int
        r = (25214903917 * r + 11) % 2**64  # word2vec.c: next_random = next_random * 25214903917 + 11
        assert int(state) == r and u == (r >> 11) / 2**53
        us.append(u)
    us = np.array(us)
    assert 0 <= us.min() and us.max() < 1 and abs(us.mean() - 0.5) < 0.02 and abs(us.var() - 1 / 12) < 0.01


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=30).filter(any))
def test_the_alias_table_holds_the_distribution_exactly(counts):
    """Word j's probability under the table, (prob[j] + Σ_{alias[k] = j} (1 − prob[k])) / V, is P(j)."""
    P = word2vec.noise_distribution(np.array(counts, dtype=float))
    prob, alias = word2vec.alias_table(P)
    implied = (prob + np.bincount(alias, weights=1 - prob, minlength=P.size)) / P.size
    np.testing.assert_allclose(implied, P, atol=1e-12)
    assert ((0 <= prob) & (prob <= 1)).all() and ((0 <= alias) & (alias < P.size)).all()
    assert (P[alias[prob < 1]] > 0).all()  # the upper part of a cell never goes to a word of probability 0


def test_the_compiled_sampler_follows_the_distribution():
    """χ² goodness of fit of draw_word over the generator's numbers (as in the sampler test above)."""
    P = word2vec.noise_distribution(np.array([100, 50, 20, 10, 5, 3, 2, 1, 1, 8]))
    (prob, alias), state, draws = word2vec.alias_table(P), 7, []
    for _ in range(100_000):
        state, u = word2vec.lcg_next(np.uint64(state))
        draws.append(word2vec.draw_word(prob, alias, u))
    observed, expected = np.bincount(draws, minlength=P.size), P * 100_000
    assert float(((observed - expected) ** 2 / expected).sum()) < 27.88  # the 99.9 % quantile of χ²(9)
    never = word2vec.alias_table(np.array([0.0, 1.0, 0.0]))
    assert {word2vec.draw_word(*never, u) for u in np.linspace(0, 1 - 2**-53, 1001)} == {1}  # probability 0: never


def _epoch(sentences, window=1, negative=2, keep=None, alpha=0.0, V=6, d=3, seed=1):
    """sgns_epoch on integer sentences; negatives always the word V − 1 (in no sentence): no negative is skipped."""
    ids = np.concatenate([np.asarray(s, dtype=np.int64) for s in sentences])
    starts = np.cumsum([0, *map(len, sentences)]).astype(np.int64)
    rng = np.random.default_rng(0)
    W_in, W_out = rng.normal(size=(V, d)), rng.normal(size=(V, d))
    table = word2vec.alias_table(np.r_[np.zeros(V - 1), 1.0])
    keep = np.ones(V) if keep is None else np.asarray(keep, dtype=float)
    before = W_in.copy(), W_out.copy()
    loss, pairs, state = word2vec.sgns_epoch(W_in, W_out, ids, starts, keep, *table, window, negative, alpha, alpha,
                                              0.0, float(ids.size), np.uint64(seed))
    return loss, pairs, state, (W_in, W_out), before


def test_the_epoch_loop_visits_every_pair_of_the_window():
    sentences = [[0, 1, 2, 3], [4, 2], [1]]
    loss, pairs, state, after, before = _epoch(sentences)  # window 1: the reduced window is always 1
    assert pairs == 2 * 3 + 2 * 1  # each neighbour, both ways, never across a sentence
    assert np.array_equal(after[0], before[0]) and np.array_equal(after[1], before[1])  # α = 0 moves nothing
    W_in, W_out = before
    brute = sum(np.logaddexp(0, -W_in[c] @ W_out[t]) + 2 * np.logaddexp(0, W_in[c] @ W_out[5])
                for s in sentences for i, t in enumerate(s) for j, c in enumerate(s) if abs(i - j) == 1)
    assert loss == pytest.approx(brute, rel=1e-12)  # the ns-loss of every pair, with K = 2
    assert int(state) != 1
    wide = [_epoch(sentences, window=3, seed=s)[1] for s in range(40)]
    assert min(wide) >= 8 and max(wide) <= 2 * (3 + 2 + 1) + 2  # between window 1 and the whole sentence
    assert len(set(wide)) > 1  # the reduced window is drawn, not fixed
    assert _epoch(sentences, keep=np.zeros(6))[:2] == (0.0, 0)  # sub-sampling drops every word: no pair


def test_sub_sampling_keeps_each_word_with_its_probability():
    sentence = [[0, 1] * 5000]
    pairs = _epoch(sentence, keep=[1.0, 0.25, 1, 1, 1, 1])[1]
    # kept words: all 5000 zeros, about 1250 ones; window 1 pairs adjacent kept words: 2 × (kept − 1)
    assert pairs == pytest.approx(2 * (5000 + 1250 - 1), rel=0.03)


@pytest.mark.formula("w2v-lr")
def test_the_epoch_loop_decays_the_learning_rate_word_by_word():
    """One sentence (0, 1), window 1, the negative always word 5: the loop is two updates, centre 0 (context 1) at
    progress 0, then centre 1 (context 0) at progress 1/6 of the words; its result is those two sgns_update calls."""
    V, d, alpha, done, total = 6, 2, 0.5, 0.0, 6.0
    table = word2vec.alias_table(np.r_[np.zeros(V - 1), 1.0])
    W_in, W_out = np.random.default_rng(0).normal(size=(2, V, d))
    A_in, A_out = W_in.copy(), W_out.copy()
    word2vec.sgns_epoch(W_in, W_out, np.array([0, 1]), np.array([0, 2]), np.ones(V), *table, 1, 1, alpha, 0.0, done, total,
                        np.uint64(3))
    for centre, context in ((0, 1), (1, 0)):
        lr = word2vec.linear_decay(alpha, 0.0, (done + centre) / total)
        word2vec.sgns_update(A_in, A_out, context, np.array([centre, 5]), lr, np.empty(d))
    np.testing.assert_allclose(W_in, A_in, rtol=1e-14)
    np.testing.assert_allclose(W_out, A_out, rtol=1e-14)
    at_the_end = W_in.copy(), W_out.copy()  # with the progress at the end, the rate is min_alpha = 0: nothing moves
    word2vec.sgns_epoch(W_in, W_out, np.array([0, 1]), np.array([0, 2]), np.ones(V), *table, 1, 1, alpha, 0.0, total, total,
                        np.uint64(3))
    assert np.array_equal(W_in, at_the_end[0]) and np.array_equal(W_out, at_the_end[1])


def _brute_pairs(sentences, window):
    pairs = []
    for s in sentences:
        for i in range(len(s)):
            for j in range(len(s)):
                if 0 < abs(i - j) <= window:
                    pairs.append((s[i], s[j]))
    return sorted(pairs)


@given(st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=8), min_size=1, max_size=4), st.integers(1, 4))
@example([[1, 2]], 4)  # a window wider than the whole corpus
def test_skipgram_pairs_are_every_word_within_the_window(sentences, window):
    c, t = word2vec.skipgram_pairs(sentences, window)
    assert sorted(zip(c.tolist(), t.tolist(), strict=True)) == _brute_pairs(sentences, window)
    c2, t2 = word2vec.skipgram_pairs(sentences, window, rng=np.random.default_rng(0))
    fixed = _brute_pairs(sentences, window)
    assert all(p in fixed for p in zip(c2.tolist(), t2.tolist(), strict=True))  # a reduced window: a subset


def test_skipgram_window_is_drawn_from_one_to_window_for_each_context_word():
    """With ``rng``, each context word's window is uniform on 1 … window (word2vec's reduced window), so a word k
    places away is its target with probability (window − k + 1)/window, on either side."""
    n, window = 20_000, 5
    c, t = word2vec.skipgram_pairs([np.arange(n)], window, rng=np.random.default_rng(1))
    for k in range(1, window + 1):
        for side in (k, -k):
            share = np.count_nonzero(t - c == side) / (n - k)
            assert share == pytest.approx((window - k + 1) / window, abs=0.02), (side, share)


def test_the_orange_example_of_the_note():
    words = tokenize(SENTENCE)
    vocab = Vocabulary(words)
    c, t = word2vec.skipgram_pairs([vocab.encode(words)], 6)
    targets = set(vocab.decode(t[c == vocab.id("orange")]))
    assert {"juice", "glass", "my"} <= targets and "cereal" not in targets


# --------------------------------------------------------------------------------------------------------------
# GloVe


@pytest.mark.formula("glove-x")
@settings(max_examples=40)
@given(st.lists(st.lists(st.integers(0, 6), min_size=1, max_size=10), min_size=1, max_size=5), st.integers(1, 4),
       st.integers(1, 12))
def test_sparse_cooccurrence_counts_equal_a_brute_force_count(sentences, window, chunk):
    assert_latex("glove-x", "X_{ij}")
    rows, cols, X = glove.cooccurrence(sentences, 7, window, chunk_words=chunk)
    dense = np.zeros((7, 7))
    for s in sentences:
        for a in range(len(s)):
            for b in range(len(s)):
                if 0 < abs(a - b) <= window:
                    dense[s[a], s[b]] += 1 / abs(a - b)
    got = np.zeros((7, 7))
    got[rows, cols] = X
    np.testing.assert_allclose(got, dense, rtol=1e-12)
    assert (X > 0).all() and np.count_nonzero(dense) == X.size
    np.testing.assert_allclose(got, got.T)


@pytest.mark.formula("glove-f")
@given(x=st.floats(0, 1e4), x_max=st.floats(1, 500), alpha=st.floats(0.1, 1))
def test_glove_weight_is_the_note_formula(x, x_max, alpha):
    assert_latex("glove-f", r"(x / x_{max})^{\alpha} & x < x_{max} \\ 1 & \text{否则}")
    expected = (x / x_max) ** alpha if x < x_max else 1.0
    assert float(glove.glove_weight(x, x_max, alpha)) == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert float(glove.glove_weight(0.0)) == 0.0 and float(glove.glove_weight(100.0)) == 1.0  # defaults 100, 3/4
    assert float(glove.glove_weight(50.0)) == pytest.approx(0.5**0.75)


@pytest.mark.formula("glove-loss", "glove-grad")
def test_glove_gradients_equal_sympy():
    assert_latex("glove-loss", r"f(X_{ij}) (\theta_i^T e_j + b_i + b'_j - \log X_{ij})^2")
    assert_latex("glove-grad", r"\sum_j 2 f(X_{ij}) \delta_{ij} e_j")
    V, d = 3, 2
    rows, cols, X = np.array([0, 1, 2, 0]), np.array([1, 0, 2, 2]), np.array([3.0, 3.0, 150.0, 0.5])
    E, Th, b, bt = symbol_matrix("E", d, V), symbol_matrix("T", d, V), symbol_matrix("b", V, 1), symbol_matrix("c", V, 1)
    fw = [min(1.0, (x / 100) ** 0.75) for x in X]
    J = sum(f * ((Th[:, i].T * E[:, j])[0] + b[i] + bt[j] - sympy.log(x)) ** 2
            for f, i, j, x in zip(fw, rows, cols, X, strict=True))
    rng = np.random.default_rng(4)
    Ev, Tv, bv, btv = rng.standard_normal((d, V)), rng.standard_normal((d, V)), rng.standard_normal(V), rng.standard_normal(V)
    subs = {**{E[i, j]: Ev[i, j] for i in range(d) for j in range(V)}, **{Th[i, j]: Tv[i, j] for i in range(d) for j in range(V)},
            **{b[i]: bv[i] for i in range(V)}, **{bt[i]: btv[i] for i in range(V)}}
    loss, grads = glove.glove_loss(Ev, Tv, bv, btv, rows, cols, X)
    assert loss == pytest.approx(float(J.subs(subs)), rel=1e-12)
    for name, M in (("E", E), ("Theta", Th)):
        np.testing.assert_allclose(grads[name], [[float(sympy.diff(J, M[i, j]).subs(subs)) for j in range(V)]
                                                 for i in range(d)], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads["b"], [float(sympy.diff(J, b[i]).subs(subs)) for i in range(V)], rtol=1e-9)
    np.testing.assert_allclose(grads["b_tilde"], [float(sympy.diff(J, bt[i]).subs(subs)) for i in range(V)], rtol=1e-9)


@settings(max_examples=15, deadline=None)
@given(V=st.integers(2, 8), d=st.integers(1, 4), nnz=st.integers(1, 10), seed=st.integers(0, 999))
def test_glove_gradients_match_central_differences(V, d, nnz, seed):
    rng = np.random.default_rng(seed)
    rows, cols, X = rng.integers(0, V, nnz), rng.integers(0, V, nnz), rng.uniform(0.2, 200, nnz)
    P = {"E": rng.standard_normal((d, V)), "Theta": rng.standard_normal((d, V)), "b": rng.standard_normal(V),
         "b_tilde": rng.standard_normal(V)}

    def loss():
        return glove.glove_loss(P["E"], P["Theta"], P["b"], P["b_tilde"], rows, cols, X)[0]

    grads = glove.glove_loss(P["E"], P["Theta"], P["b"], P["b_tilde"], rows, cols, X)[1]
    for name, value in P.items():
        np.testing.assert_allclose(grads[name], central_difference(loss, value), rtol=1e-5, atol=1e-6, err_msg=name)


TOPICS = [["red", "green", "blue", "yellow"], ["cat", "dog", "horse", "cow"]]


def _topic_corpus(rng, n=600):
    """Sentences that each speak of one topic: words of a topic share their contexts."""
    return [list(rng.choice(TOPICS[rng.integers(2)], size=6)) for _ in range(n)]


@pytest.mark.formula("glove-final")
def test_glove_learns_topics_and_averages_the_two_embeddings():
    assert_latex("glove-final", r"e_w^{(final)} = \frac{e_w + \theta_w}{2}")
    corpus = _topic_corpus(np.random.default_rng(0))
    model = glove.GloVe(dim=8, window=3, epochs=30, min_count=1, rng=np.random.default_rng(1), progress=False).fit(corpus)
    np.testing.assert_allclose(model.vectors_.E, (model.E_context_ + model.Theta_) / 2)
    assert model.history_[-1] < model.history_[0]
    assert model.nnz_ == 2 * 4 * 4  # every pair of words of one topic co-occurs (a word with itself too), no cross pairs
    assert model.vectors_.similarity("red", "blue") > model.vectors_.similarity("red", "dog")


def test_word2vec_learns_topics():
    corpus = _topic_corpus(np.random.default_rng(2))
    model = word2vec.Word2Vec(dim=10, window=3, negative=3, epochs=5, min_count=1, rng=np.random.default_rng(3),
                              progress=False, sample=0).fit(corpus)
    vectors = model.vectors_
    assert vectors.E.shape == (10, len(model.vocab_)) and vectors.E.dtype == np.float32
    assert model.Theta_.shape == vectors.E.shape
    assert model.history_[-1] < model.history_[0]
    for a, b, other in (("red", "blue", "dog"), ("cat", "cow", "green")):
        assert vectors.similarity(a, b) > vectors.similarity(a, other)
    # score: rank agreement with a human judge who rates same-topic pairs 1 and the rest 0
    pairs = [("red", "blue"), ("cat", "cow"), ("red", "dog"), ("cat", "green"), ("green", "blue"), ("dog", "cow")]
    assert model.score(pairs, [1, 1, 0, 0, 1, 1]) > 0.5


def test_word2vec_defaults_are_gensims():
    defaults = {k: v.default for k, v in inspect.signature(word2vec.Word2Vec).parameters.items()
                if v.default is not inspect.Parameter.empty}
    assert defaults == {"dim": 100, "window": 5, "negative": 5, "epochs": 5, "alpha": 0.025, "min_count": 5,
                        "rng": None, "sample": 1e-3, "min_alpha": 1e-4, "progress": True,
                        "dtype": np.float32}


def test_bad_training_input_is_a_clear_error():
    rng = np.random.default_rng(0)
    for Model in (word2vec.Word2Vec, glove.GloVe):
        with raises_for(ValueError, "sentences"):
            Model(rng=rng).fit([])
        with raises_for(ValueError, "sentences"):
            Model(rng=rng).fit([[], []])
        with raises_for(ValueError, "min_count"):
            Model(min_count=5, rng=rng).fit([["a", "b"]])
        with raises_for(ValueError, 'dim'):
            Model(dim=0, min_count=1, rng=rng).fit([["a", "b"]])
        with raises_for(TypeError, "rng"):
            Model(min_count=1, rng=1.5).fit([["a", "b"]])
        with raises_for(ValueError, 'window'):
            Model(window=0, min_count=1, rng=rng).fit([["a", "b"]])
    with raises_for(ValueError, "x_max"):
        glove.GloVe(x_max=0, min_count=1).fit([["a", "b"]])
    with raises_for(ValueError, "weight_power"):
        glove.GloVe(weight_power=-1, min_count=1).fit([["a", "b"]])
    with raises_for(ValueError, "sample"):
        word2vec.Word2Vec(sample=-1e-3, min_count=1).fit([["a", "b"]])
    with raises_for(ValueError, 'window'):
        glove.cooccurrence([[0, 1]], 2, window=0)
    with raises_for(ValueError, 'X'):
        glove.glove_loss(np.zeros((1, 2)), np.zeros((1, 2)), np.zeros(2), np.zeros(2), [0], [1], [0.0])
    with raises_for(ValueError, 'counts'):
        word2vec.noise_distribution([0, 0])


# --------------------------------------------------------------------------------------------------------------
# Errata


def test_errata_the_target_after_a_glass_of_orange_is_juice():
    words = tokenize(SENTENCE)
    vocab = Vocabulary(words)
    context, targets = word2vec.context_windows(vocab.encode(words), 4)
    k = list(vocab.decode(context[-1])).index("orange")  # the sample whose last context word is orange
    assert vocab.decode(context[:, k]) == ["a", "glass", "of", "orange"]
    assert vocab.decode(targets[k : k + 1]) == ["juice"]  # not “to”, which comes after juice
    assert "目标单词是“ to”" in errata.erratum("E30").fields["原文"]
    assert "上下文是最后4个单词(即a,glass,of,orange),目标单词是“juice”" in errata.prose(NOTE)


def test_errata_negative_sampling_is_k_plus_one_binary_classifiers():
    """The loss is the sum of K + 1 logistic-regression losses (no softmax), and only K + 1 θ's get a gradient."""
    rng = np.random.default_rng(5)
    V, d, K = 50, 4, 3
    E, Th = rng.standard_normal((d, V)), rng.standard_normal((d, V))
    c, t, neg = np.array([7]), np.array([9]), np.array([[1, 2, 3]])
    loss, _, dT = word2vec.negative_sampling_loss(E, Th, c, t, neg)
    p = [1 / (1 + np.exp(-Th[:, w] @ E[:, 7])) for w in (9, 1, 2, 3)]  # ns-prob: one logistic regression each
    assert loss == pytest.approx(-np.log(p[0]) - sum(np.log(1 - q) for q in p[1:]))
    assert np.count_nonzero(np.abs(dT).sum(axis=0)) == K + 1
    _, _, dT_softmax = word2vec.skipgram_softmax_loss(E, Th, c, t)
    assert np.count_nonzero(np.abs(dT_softmax).sum(axis=0)) == V  # the softmax touches every θ_j
    assert "只能训练softmax函数的$K+1$个逻辑斯蒂回归模型" in errata.erratum("E33").fields["原文"]
    assert "只需训练$K+1$个逻辑斯蒂回归模型,而不是一个$V$路的softmax" in errata.prose(NOTE)


def test_errata_wording():
    prose = errata.prose(NOTE)
    for fixed in ("- 最后$n$个词", "- 目标单词左右各$n$个单词", "- 附近的一个词(skip-gram的思想)", "问题是分母的计算成本太大"):
        assert fixed in prose
    assert "最后$n$个字" in errata.erratum("E31").fields["原文"]
    assert "问题分母" in errata.erratum("E32").fields["原文"]


# --------------------------------------------------------------------------------------------------------------
# The demonstration


DEMO = ROOT / "notes" / "assets" / "data" / "ch5-embeddings.json"


def _run_demo(tmp_path, *options) -> dict:
    out = tmp_path / "run.json"
    subprocess.run([sys.executable, "scripts/ch5_embeddings.py", *options, "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    return json.loads(out.read_text(encoding="utf-8")), out


def test_the_committed_demonstration_begins_as_the_script_computes(tmp_path):
    """The fast check: word2vec whole, and the first epochs of GloVe and the neural LM, as the committed run has them."""
    (short, _), full = _run_demo(tmp_path, "--short"), json.loads(DEMO.read_text(encoding="utf-8"))
    np.testing.assert_allclose(short["models"]["word2vec"]["loss"], full["models"]["word2vec"]["loss"], rtol=1e-5)
    assert short["models"]["word2vec"]["neighbours"] == full["models"]["word2vec"]["neighbours"]
    for name, epochs in (("glove", 2), ("nlm", 1)):
        assert len(short["models"][name]["loss"]) == epochs
        np.testing.assert_allclose(short["models"][name]["loss"], full["models"][name]["loss"][:epochs], rtol=1e-5)


@pytest.mark.site  # slow: the whole script (about 20 s); the fast set checks its beginning above
def test_the_committed_demonstration_is_what_the_script_computes(tmp_path):
    run, out = _run_demo(tmp_path)
    full = json.loads(DEMO.read_text(encoding="utf-8"))
    for name, model in full["models"].items():
        np.testing.assert_allclose(run["models"][name]["loss"], model["loss"], rtol=1e-5)  # 6 digits stored
        assert run["models"][name]["neighbours"] == model["neighbours"]
    # the script writes stable JSON (scripts/demo_json.py): re-running it would leave git status clean
    assert out.read_text(encoding="utf-8") == DEMO.read_text(encoding="utf-8")


def test_the_demonstration_shows_what_the_note_says():
    full = json.loads(DEMO.read_text(encoding="utf-8"))
    models = full["models"]
    assert full["words"] == pytest.approx(64_000, rel=0.01) and models["glove"]["vocabulary"] == 1353 + 1  # + <UNK>
    assert models["glove"]["nnz"] == pytest.approx(117_000, rel=0.01)
    for m in models.values():
        assert m["loss"][-1] < m["loss"][0]
    w2v = [w for w, _ in models["word2vec"]["neighbours"]["exception"]]
    assert {"raised", "except", "finally"} <= set(w2v)
    assert {"typeerror", "valueerror", "indexerror"} <= {w for w, _ in models["nlm"]["neighbours"]["exception"]}
    assert {"tuple", "sequence", "mapping"} <= {w for w, _ in models["glove"]["neighbours"]["list"]}


# --------------------------------------------------------------------------------------------------------------
# Edges the mutation run found untested


def test_vocabulary_edges():
    with pytest.raises(ValueError, match="最多的 'a' 出现 2 次"):
        Vocabulary(["a", "a", "b"], min_count=3)
    vocab = Vocabulary(["a", "b"])
    assert vocab.decode([2, 0]) == ["b", UNK]
    for bad in ([-1], [3]):
        with raises_for(ValueError, "ids", "[0, 3)", str(bad[0])):
            vocab.decode(bad)
    with pytest.raises(KeyError, match="'c' 不在词表中"):
        vocab.id("c")


def test_word_vectors_edges():
    vocab = Vocabulary([f"w{i}" for i in range(14)])  # 14 words + <UNK>
    E = np.random.default_rng(1).standard_normal((3, len(vocab))) * 0.1  # norms below 1 still get normalised
    E[:, vocab.id("w3")] = 0.0  # a zero vector: similarity 0, not NaN
    model = WordVectors(vocab, E)
    with np.errstate(all="raise"):
        assert model.similarity("w3", "w4") == 0.0
    e1, e2 = E[:, vocab.id("w1")], E[:, vocab.id("w2")]
    assert model.similarity("w1", "w2") == pytest.approx(e1 @ e2 / np.linalg.norm(e1) / np.linalg.norm(e2))
    assert model.similarity("w1", "w1") == pytest.approx(1.0)
    assert len(model.most_similar("w1")) == 10  # topn defaults to 10
    assert len(model.most_similar("w1", 1)) == 1
    assert len(model.most_similar("w1", 100)) == len(vocab) - 2  # everything but the word and <UNK>
    assert WordVectors(Vocabulary(["x"]), np.ones((2, 2))).most_similar("x") == []
    for bad in (np.ones(2), np.ones((2, 3))):
        with raises_for(ValueError, 'E', '(d, 2)'):
            WordVectors(Vocabulary(["x"]), bad)


def test_cooccurrence_edges():
    sentence = list(range(12))
    rows, cols, X = glove.cooccurrence([sentence], 12)  # window defaults to 10
    pairs = {(r, c): x for r, c, x in zip(rows.tolist(), cols.tolist(), X.tolist(), strict=True)}
    assert pairs[(0, 10)] == pytest.approx(0.1) and (0, 11) not in pairs
    for bad in ([[-1, 0]], [[0, 12]]):
        with raises_for(ValueError, "sentences_ids", "[0, 12)"):
            glove.cooccurrence(bad, 12)


def test_glove_defaults_initialisation_and_reported_loss():
    defaults = {k: v.default for k, v in inspect.signature(glove.GloVe).parameters.items()
                if v.default is not inspect.Parameter.empty}
    assert defaults == {"dim": 50, "window": 10, "epochs": 25, "alpha": 0.05, "x_max": 100.0, "weight_power": 0.75,
                        "min_count": 5, "rng": None, "batch_size": 4096, "progress": True}
    corpus = _topic_corpus(np.random.default_rng(6), n=40)
    dim = 4
    model = glove.GloVe(dim=dim, epochs=1, alpha=1e-12, min_count=1, rng=np.random.default_rng(7),
                        progress=False).fit(corpus)  # a step of 1e-12: the parameters stay at their initial values
    for part in (model.E_context_, model.Theta_):  # uniform in [−0.5/d, 0.5/d), as GloVe's C code
        assert np.abs(part).max() <= 0.5 / dim and part.min() < -0.1 / dim and part.max() > 0.1 / dim
    vocab = model.vocab_
    rows, cols, X = glove.cooccurrence([vocab.encode(s) for s in corpus], len(vocab), 10)
    J, _ = glove.glove_loss(model.E_context_, model.Theta_, np.zeros(len(vocab)), np.zeros(len(vocab)), rows, cols, X)
    assert model.history_ == [pytest.approx(J / X.size, rel=1e-6)]  # loss is J / nnz of the epoch
    # weight_power and x_max reach the weighting f: with x_max below every count, f = 1 whatever the power
    flat = glove.GloVe(dim=dim, epochs=1, alpha=1e-12, x_max=1e-9, weight_power=5.0, min_count=1, rng=7,
                       progress=False).fit(corpus)
    J1, _ = glove.glove_loss(flat.E_context_, flat.Theta_, np.zeros(len(vocab)), np.zeros(len(vocab)), rows, cols, X,
                             x_max=1e-9)
    assert flat.history_ == [pytest.approx(J1 / X.size, rel=1e-6)] and J1 != pytest.approx(J, rel=1e-3)


def test_rare_words_take_no_part_in_training():
    corpus = [["a", "b", "rare1", "a", "b"], ["b", "a", "rare2", "b"]] * 5  # rare1, rare2: 5 times each → <UNK>
    glv = glove.GloVe(dim=2, epochs=1, min_count=6, rng=0, progress=False).fit(corpus)
    assert glv.vocab_.words == [UNK, "b", "a"] and glv.nnz_ == 4  # (a, a), (a, b), (b, a), (b, b): no <UNK> pair
    w2v = word2vec.Word2Vec(dim=2, epochs=1, min_count=6, rng=0, progress=False).fit(corpus)
    untouched = word2vec.Word2Vec(dim=2, epochs=1, min_count=6, rng=0, progress=False, alpha=1e-30, min_alpha=0).fit(corpus)
    np.testing.assert_array_equal(w2v.vectors_.E[:, 0], untouched.vectors_.E[:, 0])  # <UNK>'s vector is never updated
    assert not w2v.Theta_[:, 0].any()
    # without sub-sampling (which, in 40 words, drops almost every word) hundreds of negatives are drawn: none is <UNK>
    busy = word2vec.Word2Vec(dim=2, epochs=5, min_count=6, sample=0, rng=0, progress=False).fit(corpus)
    assert not busy.Theta_[:, 0].any() and busy.Theta_[:, 1:].all()


def test_word2vec_module_edges():
    with np.errstate(over="raise", invalid="raise"):
        L, dZ = losses.softmax_cross_entropy(np.array([[900.0], [0.0]]), np.array([1]))
    assert L == pytest.approx(900.0) and dZ[:, 0] == pytest.approx([1.0, -1.0])
    params = word2vec.init_nlm_params(5, 2, 2, 3, np.random.default_rng(0))
    for bad in (np.array([0, 1]), np.array([[0.0], [1.0]])):
        with raises_for(ValueError, 'context', '(n, m)'):
            word2vec.nlm_forward(params, bad)
    with pytest.raises(ValueError, match="至少需要 n \\+ 1 = 4 个词"):
        word2vec.context_windows(np.arange(3), 3)
    assert word2vec.context_windows(np.arange(4), 3)[0].shape == (3, 1)
    with pytest.raises(ValueError, match="语料是空的"):
        word2vec.skipgram_pairs([[]], 2)
    defaults = {k: v.default for k, v in inspect.signature(word2vec.NeuralLM).parameters.items()
                if v.default is not inspect.Parameter.empty}
    assert defaults == {"d": 16, "n": 4, "n_h": 64, "epochs": 3, "alpha": 0.003, "batch_size": 256, "min_count": 1,
                        "rng": None, "progress": True}


def test_initialisations_and_the_neural_lm_reported_loss():
    p = word2vec.init_nlm_params(200, 40, 3, 300, np.random.default_rng(0))
    assert p["E"].std() == pytest.approx(0.1, rel=0.05)
    assert p["W1"].std() == pytest.approx(np.sqrt(1 / 120), rel=0.05)
    assert p["W2"].std() == pytest.approx(np.sqrt(1 / 300), rel=0.05)
    assert not p["b1"].any() and not p["b2"].any()
    tokens = [str(i) for i in np.tile(np.arange(6), 20)]
    model = word2vec.NeuralLM(d=3, n=2, n_h=4, epochs=1, alpha=1e-12, batch_size=7, rng=1,
                              progress=False).fit(tokens)  # a step of 1e-12: the loss of the start
    context, targets = word2vec.context_windows(model.vocab_.encode(tokens), 2)
    expected = losses.softmax_cross_entropy(word2vec.nlm_forward(model.params_, context)[0], targets)[0]
    assert model.history_ == [pytest.approx(expected, rel=1e-9)]  # the mean over every sample, in batches of 7
    assert model.score(tokens) == pytest.approx(-expected, rel=1e-9)  # score is minus that, in batches of 7 too
    rare = word2vec.NeuralLM(d=3, n=2, n_h=4, epochs=1, min_count=21, rng=1, progress=False).fit(tokens + ["5"])
    assert rare.vocab_.words == [UNK, "5"]  # min_count reaches the vocabulary
    dim = 8
    w2v = word2vec.Word2Vec(dim=dim, epochs=1, min_count=1, alpha=1e-30, min_alpha=0, rng=2,
                            progress=False).fit([["a", "b", "c", "a"]] * 5)
    E = w2v.vectors_.E
    assert np.abs(E).max() <= 1 / dim and E.min() < -0.5 / dim and E.max() > 0.5 / dim  # uniform in [−1/d, 1/d)
    assert np.abs(w2v.Theta_).max() < 1e-20  # Θ starts at 0


def test_sentence_chunks_cut_only_at_sentence_starts():
    sent = np.repeat(np.arange(5), [3, 1, 4, 2, 3])  # sentences start at 0, 3, 4, 8, 10
    assert word2vec.sentence_chunks(sent, 4) == [(0, 4), (4, 8), (8, 13)]
    assert word2vec.sentence_chunks(sent, 100) == [(0, 13)]
    assert word2vec.sentence_chunks(sent, 1) == [(0, 3), (3, 4), (4, 8), (8, 10), (10, 13)]


@given(st.lists(st.integers(0, 6), min_size=1, max_size=30), st.integers(1, 12))
def test_corpus_chunks_cut_where_sentence_chunks_cuts(lengths, size):
    """Streaming the corpus (word2vec reads it again each epoch) cuts it where the vectorised cut of the whole corpus
    does; sentences left empty without <UNK> are skipped, and every word comes out once, in order."""
    vocab = Vocabulary(["w"] * 2 + ["rare"])  # "rare" is kept too: min_count 1
    vocab.index.pop("rare")  # … and now encodes as <UNK>, as a word under min_count does
    sentences = [["w", "rare"][: 1 if n else 0] * n + ["rare"] for n in lengths]  # n words, then one <UNK>
    chunks = list(word2vec.corpus_chunks(vocab, sentences, size))
    kept = [n for n in lengths if n]
    if not kept:
        assert chunks == []
        return
    sent = np.repeat(np.arange(len(kept)), kept)
    cuts = word2vec.sentence_chunks(sent, size)
    assert [ids.size for ids, _ in chunks] == [hi - lo for lo, hi in cuts]
    for (ids, starts), (lo, hi) in zip(chunks, cuts, strict=True):
        expected = np.r_[np.flatnonzero(np.r_[True, sent[lo + 1:hi] != sent[lo:hi - 1]]), hi - lo]
        np.testing.assert_array_equal(starts, expected)
        assert ids.dtype == np.int64 and set(ids.tolist()) == {vocab.id("w")}


def test_word2vec_reads_the_corpus_again_instead_of_holding_it(monkeypatch):
    """The memory word2vec allocates does not grow with the corpus: eight times the text (the same vocabulary) peaks
    within a tenth of the once-through peak, because each epoch reads and encodes the sentences again, a chunk at a
    time (here chunks of 1,000 words, so that a small corpus has many)."""
    import tracemalloc

    monkeypatch.setattr(word2vec, "CHUNK_WORDS", 1_000)
    rng = np.random.default_rng(0)
    base = [[f"w{k}" for k in rng.integers(0, 100, 20)] for _ in range(500)]  # 10,000 words, 100 distinct

    def fit(corpus):
        return word2vec.Word2Vec(dim=8, window=2, negative=2, epochs=1, min_count=1, rng=0, progress=False).fit(corpus)

    fit(base)  # compiled (or loaded from Numba's cache) before anything is measured
    peaks = {}
    for times in (1, 8):
        corpus = base * times
        tracemalloc.start()
        fit(corpus)
        peaks[times] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[8] < 1.25 * peaks[1], peaks  # holding the ids (8 bytes a word) alone would add 560 kB


def test_word2vec_trains_the_same_in_chunks_of_any_size(monkeypatch):
    """The corpus goes to the kernel a chunk at a time; the learning rate's linear decay continues from the words
    already done and the random state from the previous chunk, so the vectors are the same bit for bit whether the
    300 sentences come in one chunk or in chunks of 10 words (the losses differ only by how the sum is split)."""
    rng = np.random.default_rng(0)
    corpus = [[f"w{k}" for k in rng.integers(0, 30, rng.integers(1, 9))] for _ in range(300)]

    def fit():
        return word2vec.Word2Vec(dim=8, window=3, negative=3, epochs=2, min_count=1, rng=2, progress=False).fit(corpus)

    whole = fit()
    monkeypatch.setattr(word2vec, "CHUNK_WORDS", 10)
    chunked = fit()
    np.testing.assert_array_equal(chunked.vectors_.E, whole.vectors_.E)
    np.testing.assert_array_equal(chunked.Theta_, whole.Theta_)
    assert chunked.history_ == pytest.approx(whole.history_, rel=1e-12)


def test_word2vec_keeps_its_two_matrices_and_no_copies():
    """After training, ``vectors_.E`` and ``Theta_`` are the training matrices themselves (transposed views), and the
    unit-length columns for similarities are computed on the first question, not at the end of every epoch: ``fit``
    peaks near the two V × d matrices plus the vocabulary, where copying them (and normalising one) took six."""
    import tracemalloc

    rng = np.random.default_rng(0)
    corpus = [[f"w{k}" for k in rng.integers(0, 4000, 10)] for _ in range(2000)]  # ≈ 4,000 distinct words

    def fit():
        return word2vec.Word2Vec(dim=64, window=2, negative=2, epochs=2, min_count=1, rng=0, progress=False).fit(corpus)

    fit()
    tracemalloc.start()
    model = fit()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    matrix = len(model.vocab_) * 64 * 4  # float32
    assert peak < 4 * matrix, (peak, matrix)  # one more copy of a matrix would pass 4
    assert "_unit" not in vars(model.vectors_)  # not computed until asked
    word = model.vocab_.words[1]
    E = model.vectors_.E
    expected = E / np.linalg.norm(E, axis=0)
    best = model.vectors_.most_similar(word, topn=1)[0]
    assert best[1] == pytest.approx(float(expected[:, model.vocab_.id(best[0])] @ expected[:, 1]), rel=1e-5)


def test_word2vec_gives_a_callback_each_epochs_vectors_to_keep():
    """A callback sees the vectors of its epoch, and what it keeps is not changed by the epochs after it; with or
    without a callback, training is the same."""
    corpus = [["a", "b", "c", "a"], ["b", "c", "d"]] * 30
    seen = []

    def keep(step, model):
        seen.append((step, model.vectors_.E, model.vectors_.E.copy(), model.Theta_, model.Theta_.copy()))

    make = lambda: word2vec.Word2Vec(dim=4, epochs=3, min_count=1, rng=5, progress=False)  # noqa: E731
    watched, plain = make().fit(corpus, callback=keep), make().fit(corpus)
    assert [step for step, *_ in seen] == [1, 2, 3]
    for _, E, E_then, Theta, Theta_then in seen:
        np.testing.assert_array_equal(E, E_then)
        np.testing.assert_array_equal(Theta, Theta_then)
    assert not np.array_equal(seen[0][1], seen[1][1]) and not np.array_equal(seen[1][1], seen[2][1])
    np.testing.assert_array_equal(watched.vectors_.E, plain.vectors_.E)
    np.testing.assert_array_equal(watched.Theta_, plain.Theta_)
    assert watched.history_ == plain.history_


def test_word2vec_takes_a_generator_or_any_corpus_it_can_read_again():
    """A generator is read once, into a list; an object whose ``iter()`` starts again is streamed every epoch. Both
    train exactly as the list of the same sentences does; a sentence that is a string is refused, by its index."""
    corpus = [["a", "b", "c", "a"], ["b", "c"]] * 20

    class Again:
        def __iter__(self):
            return iter(corpus)

    def fit(sentences):
        return word2vec.Word2Vec(dim=4, epochs=2, min_count=1, rng=3, progress=False).fit(sentences)

    reference = fit(corpus)
    for sentences in (iter(corpus), (s for s in corpus), Again()):
        model = fit(sentences)
        np.testing.assert_array_equal(model.vectors_.E, reference.vectors_.E)
        assert model.history_ == reference.history_
    with raises_for(TypeError, "sentences[1]"):
        fit([["a", "b"], "a b"])
    with raises_for(ValueError, "sentences"):
        fit([[], []])


def test_word2vec_first_epoch_loss_and_initial_vectors():
    """Before anything is learned (α ≈ 0) Θ is still 0, so every σ(θᵀe) is 1/2 and each pair costs log 2 for its
    positive word and for each of its K negatives (a negative that happens to be the target itself is skipped, as in
    word2vec.c: about K/V per pair here). E starts as one draw of (2u − 1)/d, V × d numbers in a row — the same however
    many rows are drawn at a time (here V > 256, the rows drawn at once)."""
    words = [f"w{k}" for k in range(300)]
    corpus = [words[k:k + 10] for k in range(0, 300, 10)] * 2
    dim, K = 6, 3
    model = word2vec.Word2Vec(dim=dim, negative=K, epochs=1, min_count=1, alpha=1e-30, min_alpha=0, sample=0, rng=5,
                              progress=False).fit(corpus)
    assert (1 + K - 0.05) * np.log(2) < model.history_[0] <= (1 + K) * np.log(2)
    draw = ((2 * np.random.default_rng(5).random((len(model.vocab_), dim)) - 1) / dim).astype(np.float32)
    np.testing.assert_array_equal(model.vectors_.E, draw.T)


def test_word2vec_needs_a_sentence_of_two_words():
    """One sentence of two words is enough to train; single words are refused at once, naming the corpus."""
    fit = word2vec.Word2Vec(dim=4, epochs=1, min_count=1, sample=0, rng=0, progress=False).fit
    assert fit([["a"], ["b", "c"]]).history_[0] > 0
    with raises_for(ValueError, "sentences"):
        fit([["a"], ["b"], ["c"]])


def test_short_sentences_give_their_pairs():
    c, t = word2vec.skipgram_pairs([[4, 7]], 5)  # a window wider than the sentence
    assert sorted(zip(c.tolist(), t.tolist(), strict=True)) == [(4, 7), (7, 4)]
    assert word2vec.skipgram_pairs([[4]], 5)[0].size == 0


def test_zero_counts_are_never_sampled_nor_kept():
    np.testing.assert_array_equal(word2vec.noise_distribution([0, 3]), [0.0, 1.0])
    np.testing.assert_array_equal(word2vec.keep_probability([0, 5], sample=1.0), [0.0, 1.0])
    with raises_for(ValueError, 'counts'):
        word2vec.noise_distribution([-1, 3])
    draws = word2vec.sample_negatives(word2vec.noise_distribution([0, 3, 0, 1]), (1000,), np.random.default_rng(0))
    assert set(np.unique(draws)) == {1, 3}


@settings(max_examples=30)
@given(V=st.integers(2, 20), topn=st.integers(1, 25), seed=st.integers(0, 999))
def test_most_similar_is_the_brute_force_top_n(V, topn, seed):
    vocab = Vocabulary([f"w{i}" for i in range(V)])
    E = np.random.default_rng(seed).standard_normal((3, len(vocab)))
    model = WordVectors(vocab, E)
    sims = {w: model.similarity("w0", w) for w in vocab.words[1:] if w != "w0"}
    expected = sorted(sims, key=lambda w: -sims[w])[:topn]
    assert [w for w, _ in model.most_similar("w0", topn)] == expected
    np.testing.assert_array_equal(word2vec.noise_distribution([0, 1]), [0.0, 1.0])


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=3, max_size=12))
def test_spearman_is_scipys_with_ties_averaged(pairs):
    from scipy.stats import spearmanr

    x, y = np.array(pairs, dtype=float).T
    if np.ptp(x) == 0 or np.ptp(y) == 0:  # no ranking: the coefficient is undefined
        with raises_for(ValueError, "x" if np.ptp(x) == 0 else "y"):
            embeddings.spearman(x, y)
        return
    assert embeddings.spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)


def test_word_vectors_score_skips_unknown_pairs_and_needs_two():
    vocab = Vocabulary(["a", "b", "c"])
    vectors = WordVectors(vocab, np.array([[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]]))  # <UNK>, a, b, c
    pairs = [("a", "b"), ("a", "c"), ("b", "c"), ("a", "zebra")]
    # cosines: a·b 0.707, a·c 0, b·c 0.707 — a judge ranking (a, c) lowest agrees; the unknown pair is skipped
    assert vectors.score(pairs, [2, 0, 2, 99]) == pytest.approx(1.0)
    assert vectors.score(pairs, [0, 2, 0, -99]) == pytest.approx(-1.0)
    with raises_for(ValueError, "pairs", "1"):
        vectors.score([("a", "b"), ("a", "zebra")], [1, 2])
    with raises_for(ValueError, "similarities", "(3,)"):
        vectors.score(pairs[:3], [1, 2])
