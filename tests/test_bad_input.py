"""Bad input meets one rule everywhere (smln.validation): each case here was answered wrongly once — a silent wrong
result, an obscure NumPy or Python error, or an error blaming the wrong argument. Each asserts the error type, the
argument named and the values shown, never the wording."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from smln import (
    batches,
    beam,
    bleu,
    cells,
    charlm,
    deep_rnn,
    elmo,
    glove,
    gru,
    init,
    logistic,
    losses,
    lstm,
    optim,
    rnn,
    seq2seq,
    sequence,
    tuning,
    validation,
    word2vec,
)
from smln.validation import ConvergenceWarning
from tests.errors import raises_for

RNG = np.random.default_rng(0)


# ── 1. gradient clipping ──────────────────────────────────────────────────────────────────────────────────────────────
def test_clipping_scales_integer_and_boolean_gradients():
    for g in (np.array([10, 10]), np.array([True, True])):
        clipped = sequence.clip_gradients({"W": g}, 1.0)["W"]
        assert clipped.dtype == np.float64
        np.testing.assert_allclose(clipped, np.full(2, 1 / math.sqrt(2)))


@pytest.mark.parametrize("dtype, value", [(np.float16, 300.0), (np.float32, 1e20), (np.float64, 1e200)])
def test_large_finite_gradients_are_clipped_not_called_infinite(dtype, value):
    g = np.array([value, value], dtype=dtype)
    assert sequence.global_norm({"W": g}) == pytest.approx(float(g[0]) * math.sqrt(2), rel=1e-12)
    clipped = sequence.clip_gradients({"W": g}, 1.0)["W"]
    assert clipped.dtype == dtype
    np.testing.assert_allclose(clipped.astype(np.float64), np.full(2, 1 / math.sqrt(2)), rtol=2 * np.finfo(dtype).eps)


@given(st.sampled_from([np.float16, np.float32, np.float64]).flatmap(
    lambda dt: hnp.arrays(dt, st.integers(1, 6), elements=st.floats(-1e3, 1e3, width=np.finfo(dt).bits))),
    st.floats(1e-3, 10))
@settings(max_examples=200)
def test_the_clipped_norm_never_exceeds_max_norm(g, max_norm):
    assert sequence.global_norm(sequence.clip_gradients({"W": g}, max_norm)) <= max_norm


def test_clipping_refuses_what_has_no_norm():
    with raises_for(ValueError, "grads"):
        sequence.clip_gradients({"W": np.array([1.0, np.inf])}, 1.0)
    with raises_for(TypeError, "grads"):
        sequence.clip_gradients([np.ones(2)], 1.0)
    with raises_for(TypeError, "grads['W']"):
        sequence.clip_gradients({"W": np.array(["a"])}, 1.0)


# ── 6. non-finite input to the recurrent models ───────────────────────────────────────────────────────────────────────
MODELS = {
    "rnn": (lambda: rnn.init_rnn_params(2, 3, 4, RNG), lambda X, s, p: rnn.rnn_forward(X, s, p), ("a0",)),
    "gru": (lambda: gru.init_gru_params(2, 3, 4, RNG), lambda X, s, p: gru.gru_forward(X, s, p), ("c0",)),
    "lstm": (lambda: lstm.init_lstm_params(2, 3, 4, RNG), lambda X, s, p: lstm.lstm_forward(X, s, p), ("a0",)),
}


@pytest.mark.parametrize("cell", MODELS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_recurrent_models_refuse_non_finite_input(cell, bad):
    init, forward, (state,) = MODELS[cell]
    params, X = init(), RNG.standard_normal((2, 5, 3))
    X_bad = X.copy()
    X_bad[1, 2, 0] = bad
    with raises_for(ValueError, "X", "(1, 2, 0)"):
        forward(X_bad, None, params)
    with raises_for(ValueError, state):
        forward(X, np.full((3, 5), bad), params)
    name = next(k for k in params if k.startswith("W"))
    with raises_for(ValueError, f"params[{name!r}]"):
        forward(X, None, params | {name: np.full_like(params[name], bad)})


# ── 7. errors blame the argument that is wrong ────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("cell", MODELS)
def test_a_wrong_input_width_blames_X_not_the_parameters(cell):
    init, forward, _ = MODELS[cell]
    with raises_for(ValueError, "X", "(2, m, T_x)", "(7, 5, 3)"):
        forward(np.zeros((7, 5, 3)), None, init())


def test_a_cell_names_its_own_arguments():
    p_rnn, p_lstm, p_gru = rnn.init_rnn_params(2, 3, 4, RNG), lstm.init_lstm_params(2, 3, 4, RNG), \
        gru.init_gru_params(2, 3, 4, RNG)
    xt, good, bad = np.zeros((2, 5)), np.zeros((3, 5)), np.zeros((3, 4))
    with raises_for(ValueError, "a_prev", "(3, 5)", "(3, 4)"):
        rnn.rnn_cell_forward(xt, bad, p_rnn)
    with raises_for(ValueError, "a_prev", "(3, 5)"):
        lstm.lstm_cell_forward(xt, bad, good, p_lstm)
    with raises_for(ValueError, "c_prev", "(3, 5)"):
        lstm.lstm_cell_forward(xt, good, bad, p_lstm)
    with raises_for(ValueError, "c_prev", "(3, 5)"):
        gru.gru_cell_forward(xt, bad, p_gru)
    with raises_for(ValueError, "xt", "(2, m, T_x)"):
        rnn.rnn_cell_forward(np.zeros((7, 5)), good, p_rnn)


# ── 11. obscure errors become clear ones ──────────────────────────────────────────────────────────────────────────────
def test_backward_passes_check_their_caches():
    X = RNG.standard_normal((2, 5, 3))
    _, _, caches = rnn.rnn_forward(X, None, rnn.init_rnn_params(2, 3, 4, RNG))
    _, _, gru_caches = gru.gru_forward(X, None, gru.init_gru_params(2, 3, 4, RNG))
    dZ = np.zeros((4, 5, 3))
    with raises_for(TypeError, "caches"):
        rnn.rnn_backward(dZ, None)
    with raises_for(ValueError, "caches", "gru", "rnn"):
        rnn.rnn_backward(dZ, gru_caches)
    with raises_for(ValueError, "cache", "gru", "rnn"):
        rnn.rnn_layer_backward(np.zeros((3, 3, 5)), gru_caches["layer"])
    with raises_for(ValueError, "dA", "(3, 3, 5)"):
        rnn.rnn_layer_backward([[0.0]], caches["layer"])
    rnn.rnn_backward(dZ, caches)  # the right caches still work


@pytest.mark.parametrize("m, s, error, argument", [
    (10, 0, ValueError, "batch_size"), (10, 3.5, TypeError, "batch_size"), (-5, 2, ValueError, "m"),
    (10.0, 2, TypeError, "m"), (10, True, TypeError, "batch_size"),
])
def test_the_number_of_minibatches_checks_its_counts(m, s, error, argument):
    with raises_for(error, argument):
        batches.num_batches(m, s)


@given(st.integers(0, 10**30), st.integers(1, 10**20))
def test_the_number_of_minibatches_is_the_exact_ceiling(m, s):
    T = batches.num_batches(m, s)
    assert (T - 1) * s < m <= T * s or (m == 0 and T == 0)


# ── 2–5. corpora, ids and counts in the embeddings chapter ────────────────────────────────────────────────────────────
@pytest.mark.parametrize("train", ["word2vec", "glove"])
def test_a_string_is_not_a_sentence(train):
    model = {"word2vec": word2vec.Word2Vec, "glove": glove.GloVe}[train](min_count=1, rng=0, progress=False)
    with raises_for(TypeError, "sentences[0]", "text.split()"):
        model.fit(["the cat sat on the mat"])
    with raises_for(TypeError, "sentences"):
        model.fit("the cat sat on the mat")


@pytest.mark.parametrize("train", ["word2vec", "glove"])
def test_nothing_to_train_on_is_an_error(train):
    model = {"word2vec": word2vec.Word2Vec, "glove": glove.GloVe}[train](min_count=1, rng=0, progress=False)
    with raises_for(ValueError, "sentences"):  # one-word sentences: no pair, no co-occurrence
        model.fit([["a"], ["b"], ["a"]])


def test_float_word_ids_are_refused_not_truncated():
    with raises_for(TypeError, "sentences_ids[0]", "float64"):
        glove.cooccurrence([np.array([0.0, 1.7, 2.2])], 3)
    with raises_for(TypeError, "sentences_ids[1]"):
        word2vec.skipgram_pairs([[0, 1], [1.5, 2.0]], 2)


def test_nan_counts_are_refused():
    with raises_for(ValueError, "x", "nan"):
        glove.glove_weight(np.array([1.0, np.nan]))
    with raises_for(ValueError, "x"):
        glove.glove_weight(np.array([-1.0]))
    with raises_for(ValueError, "counts", "nan"):
        word2vec.noise_distribution(np.array([3.0, np.nan, 1.0]))
    with raises_for(TypeError, "power"):
        word2vec.noise_distribution(np.array([3.0, 1.0]), power="0.75")


def test_word2vec_needs_a_float_dtype():
    with raises_for(TypeError, "dtype"):
        word2vec.Word2Vec(min_count=1, rng=0, progress=False, dtype=int).fit([["a", "b", "a"]])


# ── 3, 10, 11. the character language model ───────────────────────────────────────────────────────────────────────────
def test_a_too_short_validation_part_is_refused_before_training():
    text = "abcdefgh" * 60  # 480 characters: 50 streams of 8 train, but the last 10 % (48) is fewer than m + 1 = 51
    with raises_for(ValueError, "valid_fraction", "51"):
        charlm.CharLM(cell="rnn", n_a=4, batch_size=50, T=4, max_steps=1, rng=0, progress=False).fit(text)
    with raises_for(ValueError, "ids"):
        charlm.evaluate("rnn", rnn.init_rnn_params(2, 3, 2, RNG), np.array([0, 1]), 2, m=4)


def test_sampling_blames_the_prime_and_checks_the_length():
    params = rnn.init_rnn_params(2, 3, 2, RNG)
    with raises_for(ValueError, "prime"):  # the default prime "\n" is not a character of this model
        charlm.sample("rnn", params, list("ab"), 5, RNG)
    with raises_for(ValueError, "length"):
        charlm.sample("rnn", params, list("ab"), -1, RNG, prime="a")
    assert charlm.sample("rnn", params, list("ab"), 0, RNG, prime="a") == ""


# ── 7–9. logistic regression ──────────────────────────────────────────────────────────────────────────────────────────
@pytest.fixture(scope="module")
def cancer():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_breast_cancer(return_X_y=True)
    return X.T, y[None, :]  # smln's shapes: one example per column


def test_transposed_features_blame_X_and_say_why(cancer):
    X, Y = cancer
    model = logistic.LogisticRegression(epochs=1).fit((X - X.mean(1, keepdims=True)) / X.std(1, keepdims=True), Y)
    with raises_for(ValueError, "X", "(30, *)", "(569, 30)", "(n_x, m)"):
        model.predict(X.T)
    with raises_for(ValueError, "X", "(*, 569)", "(n_x, m)"):
        logistic.LogisticRegression(epochs=1).fit(X.T, Y)


def test_not_converging_is_reported(cancer):
    X, Y = cancer
    with pytest.warns(ConvergenceWarning, match="标准化"):  # raw features: the loss stalls far from the optimum
        logistic.LogisticRegression(rng=0).fit(X, Y)
    with raises_for(ValueError, "X", "2e+200"):  # the squared gradient would overflow: the weights could not move
        logistic.LogisticRegression(epochs=3).fit(np.array([[1e200, -1e200, 2e200, -2e200]]), np.array([[1, 0, 1, 0]]))
    standardised = (X - X.mean(1, keepdims=True)) / X.std(1, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        logistic.LogisticRegression(rng=0).fit(standardised, Y)


@pytest.mark.parametrize("W, b, argument", [
    (np.array([[np.nan], [0.0]]), 0.0, "W"), (np.zeros((2, 1)), np.nan, "b"), (np.zeros((2, 1)), "1", "b"),
])
def test_parameters_must_be_finite_numbers(W, b, argument):
    error = TypeError if isinstance(b, str) else ValueError
    with raises_for(error, argument):
        logistic.loss_and_gradients(W, b, np.ones((2, 3)), np.array([[0, 1, 1]]))


# ── 9, 11, 12. numbers that are strings, generators, decoders that return the wrong thing ────────────────────────────
@pytest.mark.parametrize("call, error, argument", [
    (lambda: optim.Adam(beta1="0.9"), TypeError, "beta1"),
    (lambda: optim.Momentum(0.1, beta="0.9"), TypeError, "beta"),
    (lambda: bleu.corpus_bleu((c for c in [["a"]]), [[["a"]]]), TypeError, "candidates"),
    (lambda: bleu.corpus_bleu([["a"]], iter([[["a"]]])), TypeError, "references"),
    (lambda: beam.normalized_score(float("nan"), 3), ValueError, "log_prob"),
    (lambda: beam.normalized_score(0.5, 3), ValueError, "log_prob"),
    (lambda: beam.normalized_score("-3", 3), TypeError, "log_prob"),
    (lambda: beam.beam_search(lambda s, t: (["a", "b"], s), None, 0, 1, 2, 3), TypeError, "step_fn"),
    (lambda: beam.beam_search(lambda s, t: (np.array([-1 + 1j, -2j]), s), None, 0, 1, 2, 3), TypeError, "step_fn"),
])
def test_numbers_must_be_numbers(call, error, argument):
    with raises_for(error, argument):
        call()


def test_a_numpy_integer_is_a_length():
    assert bleu.brevity_penalty(np.int64(3), 5) == pytest.approx(math.exp(1 - 5 / 3))
    assert bleu.brevity_penalty(3, np.int64(5)) == pytest.approx(math.exp(1 - 5 / 3))
    with raises_for(TypeError, "c"):
        bleu.brevity_penalty(3.0, 5)


# ── 7, 11, 13. obscure errors and silent failures elsewhere ───────────────────────────────────────────────────────────
@pytest.mark.parametrize("call, error, argument, shows", [
    (lambda: tuning.sample_uniform_int(0, 2**70, 2, RNG), ValueError, "high", ("int64",)),
    (lambda: tuning.sample_uniform_int(0, 3, -1, RNG), ValueError, "size", ()),
    (lambda: tuning.sample_log_uniform(1e-3, 1, 2.5, RNG), TypeError, "size", ()),
    (lambda: tuning.sample_one_minus_log(0.9, 0.999, (2, -1), RNG), ValueError, "size", ()),
    (lambda: tuning.sample_log_uniform("1e-3", 1, 2, RNG), TypeError, "low", ()),
    (lambda: init.initialize_parameters(5, "he", RNG), TypeError, "layer_dims", ("[4]",)),
    (lambda: init.initialize_parameters([3, 2], ["he"], RNG), ValueError, "method", ("'he'",)),
    (lambda: deep_rnn.init_deep_rnn_params(2, 4, 3, RNG), TypeError, "n_a", ("[4]",)),
    (lambda: deep_rnn.init_deep_rnn_params(2, None, 3, RNG), TypeError, "n_a", ()),
    (lambda: init.initialize_parameters("32", "he", RNG), TypeError, "layer_dims", ()),
    (lambda: deep_rnn.init_deep_rnn_params(2, [4], 3, RNG, cell="lstm", simplified=True), TypeError, "simplified", ()),
    (lambda: elmo.char_table(["ab"], chars=list("ab")), TypeError, "chars", ()),
    (lambda: elmo.char_table("ab", chars={"a": 4}), TypeError, "words", ()),
    (lambda: losses.cross_entropy(np.zeros((2, 1, 1)), np.array([[[-1.0]], [[2.0]]])), ValueError, "Y", ("(0, 0)",)),
    (lambda: losses.cross_entropy(np.zeros((2, 1, 1)), np.array([[[1.0]], [[1.0]]])), ValueError, "Y", ()),
])
def test_clear_errors_instead_of_obscure_ones(call, error, argument, shows):
    with raises_for(error, argument, *shows):
        call()


def test_a_gru_stack_accepts_reset_after_like_a_single_layer():
    params = deep_rnn.init_deep_rnn_params(2, [3, 3], 4, np.random.default_rng(0), cell="gru", reset_after=True)
    assert params.keys() == deep_rnn.init_deep_rnn_params(2, [3, 3], 4, np.random.default_rng(0), cell="gru").keys()


def test_cross_entropy_takes_soft_and_masked_targets():
    Z = RNG.standard_normal((3, 2, 2))
    Y = np.zeros((3, 2, 2))
    Y[:, 0, 0] = 1 / 3  # a distribution
    Y[1, 1, 0] = 1  # one-hot; (0, 1) and (1, 1) are padding
    L, _ = losses.cross_entropy(Z, Y)
    log_p = Z - np.log(np.exp(Z).sum(axis=0))
    assert L == pytest.approx(-(log_p[:, 0, 0].mean() + log_p[1, 1, 0]) / 2)


def test_the_translator_says_it_translates_one_sentence():
    model = seq2seq.Translator(n_a=2, n_s=2, n_e=2, batch_size=1, max_steps=1, rng=0, progress=False).fit(["ab"], ["1"])
    for method in (model.translate, model.step_function):
        with raises_for(TypeError, "source", "translate(s) for s in sources"):
            method(["3 May 1979"])


def _fails(config, rng):
    raise RuntimeError("diverged")


def test_a_random_search_where_every_trial_failed_is_an_error():
    space = {"alpha": (tuning.sample_log_uniform, 1e-3, 1.0)}
    with raises_for(ValueError, "objective", "3", "diverged"):
        tuning.random_search(_fails, space, 3, 0)


# ── the recurrent registry ───────────────────────────────────────────────────────────────────────────────────────────
def test_a_cell_is_frozen_and_knows_its_keys():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        cells.get_cell("rnn").name = "gru"
    assert cells.get_cell("gru").keys(simplified=True, reset_after=True) == gru.gru_keys(True)
    assert cells.get_cell("lstm").keys() == lstm.LSTM_KEYS
    with raises_for(ValueError, "cell", "'lstm'"):
        cells.get_cell("LSTM")


@pytest.mark.parametrize("cell, states", [("lstm", (None,)), ("rnn", (None, None)), ("gru", np.zeros((3, 5)))])
def test_a_cell_takes_one_initial_state_per_name(cell, states):
    unit = cells.get_cell(cell)
    params = unit.init(2, 3, 4, RNG)
    X = RNG.standard_normal((2, 5, 3))
    with raises_for(ValueError, "states"):
        unit.run(X, states, params)
    with raises_for(ValueError, "states"):
        unit.run_layer(X, states, {k: params[k] for k in unit.keys()})


# ── the validation module's own defaults and the values its messages show (found by mutation) ────────────────────────
def test_scalar_errors_show_the_bounds_they_checked():
    with raises_for(ValueError, "rho", "0 ≤ rho < 1", "1.0"):
        validation.check_scalar(1.0, "rho", low=0, high=1, include_high=False)
    with raises_for(ValueError, "x", "0 < x") as info:
        validation.check_scalar(-1.0, "x", low=0, include_low=False)
    assert "None" not in str(info.value)
    with raises_for(ValueError, "x", "x ≤ 0") as info:
        validation.check_scalar(2, "x", high=0)
    assert "None" not in str(info.value)
    with raises_for(ValueError, "x", "nan"):
        validation.check_scalar(float("nan"), "x")
    assert validation.check_scalar(np.int64(3), "x", low=3, high=3) == 3.0


def test_an_empty_list_of_words_is_refused_unless_allowed():
    with raises_for(ValueError, "tokens"):
        validation.check_tokens([], "tokens")
    assert validation.check_tokens((), "tokens", allow_empty=True) == []
    assert validation.check_tokens(iter(["a", "b"]), "tokens") == ["a", "b"]


def test_array_and_id_checks_show_what_was_wrong():
    with raises_for(ValueError, "X", "(3,)"):
        validation.check_array(np.zeros(3), "X", ndim=2)
    with raises_for(ValueError, "ids", "-1"):
        validation.check_ids([-1, 5], "ids", 3)
    with raises_for(ValueError, "ids", "5"):
        validation.check_ids([0, 5], "ids", 3)
    assert validation.check_corpus([["a"], []]) == [["a"], []]  # an empty sentence is part of a corpus
    assert tuning.sample_log_uniform(1e-3, 1.0, 0, RNG).shape == (0,)  # size 0 is a valid (empty) sample
    assert tuning.sample_uniform_int(1, 3, (2, 0), RNG).shape == (2, 0)


# ── what the mutation run found (scripts/mutate.py over validation and sequence) ──────────────────────────────────────
def test_a_shape_error_lists_exactly_the_axes_that_are_wrong():
    from smln.validation import check_shape

    with raises_for(ValueError, "X", "第 1 维 m 应为 5,实际为 4") as info:
        check_shape(np.zeros((3, 4)), "X", (3, 5), axes=("n_x", "m"))
    assert "第 0 维" not in str(info.value)  # n_x is right: it is not blamed
    with raises_for(ValueError, "X", "第 0 维 n_x 应为 2,实际为 3") as info:
        check_shape(np.zeros((3, 4)), "X", (2, None), axes=("n_x", "m"))
    assert "第 1 维" not in str(info.value)  # None accepts any length


def test_the_global_norm_of_tiny_gradients_beside_an_empty_one():
    grads = {"W": np.array([3e-200, 4e-200]), "b": np.zeros(0)}  # squared, 3e-200 underflows to 0 unless rescaled
    assert sequence.global_norm(grads) == pytest.approx(5e-200, rel=1e-12, abs=0)


def test_clipping_keeps_the_largest_scale_whose_norm_is_within_max_norm():
    clipped = sequence.clip_gradients({"W": np.array([6.0, 8.0])}, 5.0)  # scale 1/2 gives exactly norm 5
    assert clipped["W"].tolist() == [3.0, 4.0]  # not shrunk one more step below 5


@pytest.mark.parametrize("max_norm", [5e-324, 1e-320, 3e-310])
def test_clipping_to_a_subnormal_max_norm_ends_within_it(max_norm):
    # the scale θ/‖g‖ is subnormal: scale × (1 − eps) rounds back to scale, only the step to the next float down ends
    clipped = sequence.clip_gradients({"W": np.array([938.2, -577.4, 1702.7])}, max_norm)
    assert sequence.global_norm(clipped) <= max_norm


def test_a_gate_weight_without_its_input_columns_is_blamed_not_the_input():
    params = lstm.init_lstm_params(2, 3, 4, np.random.default_rng(0))
    params["Wc"] = params["Wc"][:, :3]  # (n_a, n_a): the x columns are missing
    with raises_for(ValueError, "params['Wc']"):
        lstm.lstm_forward(np.zeros((2, 5, 4)), np.zeros((3, 5)), params)
