"""Chapter 6: sequence-to-sequence models, greedy and beam search, BLEU, attention, the date translator.

Oracles: NLTK's BLEU (an independent, widely used implementation) and brute-force n-gram counts; exhaustive
enumeration of every output sequence of drawn toy decoders for beam search; SymPy expressions built by hand from the
note's attention formulas (softmax over positions and sums over t' are beyond the LaTeX parser; each builder asserts
the LaTeX it follows) differentiated by ``sympy.diff``; the sequence chapter's LSTM for the encoder and decoder; central
differences for the whole model.
"""

import datetime
import inspect
import itertools
import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from smln import beam, bleu, dates, seq2seq
from smln.losses import cross_entropy
from smln.lstm import lstm_layer_forward
from smln.validation import NotFittedError
from tests.errors import raises_as, raises_for
from tests.numeric import central_difference
from tests.oracle import ROOT, assert_latex, derivation, symbol_matrix

DEMO = ROOT / "notes" / "assets" / "data" / "ch6-dates.json"
REFERENCES = ["the cat is on the mat".split(), "there is a cat on the mat".split()]



def _nltk():
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu, sentence_bleu

    methods = SmoothingFunction()
    return sentence_bleu, corpus_bleu, {None: methods.method0, "floor": methods.method1, "add-one": methods.method2}


# ----------------------------------------------------------------------------------------------------------------
# BLEU


@pytest.mark.formula("bleu-example-1", "bleu-example-2", "bleu-clip", "bleu-pn")
def test_the_courses_worked_examples():
    assert_latex("bleu-example-1", r"p_1 = \frac{2}{7}")
    assert_latex("bleu-example-2", r"\frac{4}{6}", r"\frac{1 + 0 + 1 + 1 + 1}{2 + 1 + 1 + 1 + 1}")
    assert_latex("bleu-clip", r"\min\left(\operatorname{Count}(g), \max_{r} \operatorname{Count}_{r}(g)\right)")
    assert_latex("bleu-pn", r"\operatorname{Count}_{clip}(g)}{\sum_{g \in \text{n-grams}(\hat{y})} \operatorname{Count}(g)}")
    assert bleu.modified_precision(["the"] * 7, REFERENCES, 1) == (2, 7)
    assert bleu.modified_precision("the cat the cat on the mat".split(), REFERENCES, 2) == (4, 6)
    # plain precision would count all 7 "the": the clip is what brings it down
    assert sum(bleu.ngrams(["the"] * 7, 1).values()) == 7


def _brute_clipped(candidate, references, n):
    """Σ_g min(Count(g), max_r Count_r(g)) by counting list slices one by one."""
    grams = [tuple(candidate[i:i + n]) for i in range(len(candidate) - n + 1)]
    total = 0
    for g in set(grams):
        in_refs = [sum(1 for i in range(len(r) - n + 1) if tuple(r[i:i + n]) == g) for r in references]
        total += min(grams.count(g), max(in_refs))
    return total, len(grams)


sentences = st.lists(st.integers(0, 3), min_size=1, max_size=9)


@pytest.mark.formula("bleu-clip", "bleu-pn")
@given(sentences, st.lists(sentences, min_size=1, max_size=3), st.integers(1, 4))
def test_modified_precision_is_the_clipped_count_by_brute_force(candidate, references, n):
    clipped, total = bleu.modified_precision(candidate, references, n)
    assert (clipped, total) == _brute_clipped(candidate, references, n)
    # a clipped count never exceeds what the most generous reference holds
    most = bleu.ngrams(references[0], n)
    for r in references[1:]:
        most |= bleu.ngrams(r, n)
    assert clipped <= sum(min(c, most[g]) for g, c in bleu.ngrams(candidate, n).items()) <= total


@pytest.mark.formula("bleu", "bleu-bp")
@given(sentences, st.lists(sentences, min_size=1, max_size=3), st.sampled_from(bleu.SMOOTHING))
def test_sentence_bleu_is_nltks(candidate, references, smooth):
    assert_latex("bleu", r"BP \cdot \exp\left(\frac{1}{4} \sum_{n=1}^{4} \log p_n\right)")
    sentence_bleu, _, methods = _nltk()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NLTK warns about zero counts; the value is what is compared
        expected = sentence_bleu(references, candidate, smoothing_function=methods[smooth])
    assert bleu.bleu(candidate, references, smooth=smooth) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.formula("bleu")
@given(st.lists(st.tuples(st.lists(st.integers(0, 3), min_size=4, max_size=9), st.lists(sentences, min_size=1,
                                                                                          max_size=2)),
                min_size=1, max_size=5), st.sampled_from(bleu.SMOOTHING))
def test_corpus_bleu_is_nltks(pairs, smooth):
    _, corpus_bleu, methods = _nltk()
    candidates, references = [c for c, _ in pairs], [r for _, r in pairs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = corpus_bleu(references, candidates, smoothing_function=methods[smooth])
    assert bleu.corpus_bleu(candidates, references, smooth=smooth) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.formula("bleu")
@given(st.lists(st.tuples(st.lists(st.integers(0, 3), min_size=1, max_size=6),
                          st.lists(st.integers(0, 3), min_size=1, max_size=6)), min_size=1, max_size=4))
def test_corpus_bleu_is_sacrebleus_short_candidates_included(pairs):
    """At corpus level smln sums the counts as Papineni et al. define it: sacrebleu is the oracle, with candidates
    shorter than 4 words (where NLTK's corpus_bleu differs)."""
    import sacrebleu
    candidates, references = [c for c, _ in pairs], [[r] for _, r in pairs]
    words = lambda ids: " ".join(f"w{i}" for i in ids)  # noqa: E731
    theirs = sacrebleu.corpus_bleu([words(c) for c in candidates], [[words(r[0]) for r in references]],
                                   tokenize="none", smooth_method="none", force=True).score / 100
    assert bleu.corpus_bleu(candidates, references) == pytest.approx(theirs, rel=1e-9, abs=1e-12)


def test_corpus_bleu_of_short_exact_candidates_is_one():
    assert bleu.corpus_bleu([["a", "b", "c", "d"], ["e"]], [[["a", "b", "c", "d"]], [["e"]]]) == pytest.approx(1.0)


def test_corpus_bleu_adds_counts_before_dividing():
    candidates = ["the cat is on the mat".split(), "a dog sat on a log here".split()]
    references = [[REFERENCES[0]], ["the dog sat on the log".split()]]
    per_sentence = [bleu.bleu(c, r) for c, r in zip(candidates, references, strict=True)]
    assert per_sentence[1] == 0  # no 4-gram matches in the second sentence ...
    assert bleu.corpus_bleu(candidates, references) > 0.3 > np.mean(per_sentence) / 2  # ... but the corpus has some
    assert bleu.corpus_bleu(candidates, references) != pytest.approx(np.mean(per_sentence))


@pytest.mark.formula("bleu-bp")
@given(st.integers(1, 60), st.integers(0, 60))
def test_brevity_penalty_is_its_cases(c, r):
    assert_latex("bleu-bp", r"1 & c > r", r"e^{1 - r/c} & c \le r")
    c_, r_ = sympy.symbols("c r", positive=True)
    expected = 1 if c > r else sympy.exp(1 - r_ / c_).subs({c_: c, r_: r})
    assert bleu.brevity_penalty(c, r) == pytest.approx(float(expected), rel=1e-14)


@given(st.lists(st.integers(0, 5), min_size=4, max_size=9), st.lists(sentences, max_size=2), st.data())
def test_bleu_properties(reference, others, data):
    references = [reference, *others]
    assert bleu.bleu(reference, references) == 1.0  # a candidate equal to a reference (at least 4 words)
    shuffled = data.draw(st.permutations(references))
    candidate = data.draw(sentences)
    assert bleu.bleu(candidate, shuffled) == bleu.bleu(candidate, references)  # the order of references is irrelevant
    longer = reference + [9]
    assert bleu.brevity_penalty(len(longer), bleu.closest_ref_length(len(longer), [reference])) == 1.0
    assert 0.0 <= bleu.bleu(candidate, references, smooth="floor") <= 1.0


def test_closest_reference_length_prefers_the_shorter_on_ties():
    assert bleu.closest_ref_length(5, [[0] * 4, [0] * 6]) == 4
    assert bleu.closest_ref_length(5, [[0] * 6, [0] * 3]) == 6


def test_bleu_defaults_are_four_grams_without_smoothing():
    candidate = "the cat sat on the mat today".split()
    assert bleu.bleu(candidate, REFERENCES) == bleu.bleu(candidate, REFERENCES, max_n=4, smooth=None)
    assert bleu.bleu(candidate, REFERENCES) != bleu.bleu(candidate, REFERENCES, max_n=3)
    assert bleu.corpus_bleu([candidate], [REFERENCES]) == bleu.bleu(candidate, REFERENCES)
    assert bleu.bleu("the cat on a mat".split(), REFERENCES) == 0  # no 4-gram matches and no smoothing
    assert bleu.bleu(["mat"], REFERENCES, max_n=1) == pytest.approx(math.exp(1 - 6))  # BP with r = 6, c = 1


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: bleu.bleu([], REFERENCES), ValueError, "candidate: 机器译文是空的"),
    (lambda: bleu.bleu(["a"], []), ValueError, "references: 需要至少一个参考译文"),
    (lambda: bleu.bleu("the cat", REFERENCES), TypeError, "candidate: 需要词的列表"),
    (lambda: bleu.bleu(["a"], ["the cat"]), TypeError, r"references\[0\]: 需要词的列表"),
    (lambda: bleu.bleu(["a"], REFERENCES, max_n=0), ValueError, "max_n: 需要正整数"),
    (lambda: bleu.bleu(["the"], REFERENCES, smooth="laplace"), ValueError, "smooth: 应为"),
    (lambda: bleu.corpus_bleu([["a"]], []), ValueError, "应一样多且至少一句"),
    (lambda: bleu.corpus_bleu([], []), ValueError, "应一样多且至少一句"),
    (lambda: bleu.corpus_bleu([["a"], []], [REFERENCES, REFERENCES]), ValueError, r"candidates\[1\]: 机器译文是空的"),
    (lambda: bleu.corpus_bleu([["a"]], [REFERENCES], max_n=1.5), TypeError, "max_n: 需要正整数"),
    (lambda: bleu.brevity_penalty(0, 3), ValueError, "c: 机器译文的长度应是正整数"),
    (lambda: bleu.ngrams(["a"], 0), ValueError, "n: 需要正整数"),
])
def test_bleu_rejects_bad_input(call, error, match):
    with raises_as(error, match):
        call()


# ----------------------------------------------------------------------------------------------------------------
# Beam search


def _toy_decoder(seed, V, temperature):
    """A decoder whose next-token distribution is a fixed random function of the whole prefix (state = prefix)."""

    def step_fn(prefix, token):
        prefix = (*prefix, token)
        z = np.random.default_rng([seed, *prefix]).standard_normal(V) * temperature
        return z - np.log(np.exp(z - z.max()).sum()) - z.max(), prefix

    return step_fn


def _sequences(V, eos, max_len):
    """Every complete output: ends with <EOS> (no earlier <EOS>), or reaches max_len without one."""
    for k in range(1, max_len + 1):
        for seq in itertools.product(range(V), repeat=k):
            if eos not in seq[:-1] and (seq[-1] == eos or k == max_len):
                yield seq


def _log_prob(step_fn, bos, seq):
    state, last, total = (), bos, 0.0
    for token in seq:
        lp, state = step_fn(state, last)
        total, last = total + lp[token], token
    return total


toy = st.tuples(st.integers(0, 2**32 - 1), st.integers(2, 3), st.integers(1, 3), st.floats(0.0, 3.0))


@pytest.mark.formula("seq-argmax", "beam-log", "beam-norm")
@given(toy, st.floats(0.0, 1.5))
@settings(max_examples=40, deadline=None)
def test_a_wide_enough_beam_finds_the_best_sequence_by_enumeration(decoder, alpha):
    assert_latex("seq-argmax", r"\hat{y} = \arg\max_{y^{\langle 1 \rangle}, \dots, y^{\langle T_y \rangle}}")
    assert_latex("beam-log", r"\arg\max_{y} \prod_{t=1}^{T_y}", r"= \arg\max_{y} \sum_{t=1}^{T_y} \log P")
    assert_latex("beam-norm", r"\frac{1}{T_y^{\alpha}} \sum_{t=1}^{T_y} \log P")
    seed, V, max_len, temperature = decoder
    step_fn, eos = _toy_decoder(seed, V, temperature), V - 1
    everything = {seq: _log_prob(step_fn, 0, seq) for seq in _sequences(V, eos, max_len)}
    best = max(lp / len(seq) ** alpha for seq, lp in everything.items())
    found = beam.beam_search(step_fn, (), 0, eos, V**max_len, max_len, alpha=alpha)
    assert len(found) == len(everything)  # nothing was pruned
    assert found[0].score == pytest.approx(best, rel=1e-9, abs=1e-12)
    for h in found:  # every score is the note's normalisation of the sequence's own log-probability
        assert h.log_prob == pytest.approx(everything[h.tokens], rel=1e-9, abs=1e-12)
        assert h.score == pytest.approx(h.log_prob / len(h.tokens) ** alpha, rel=1e-12, abs=1e-12)
    # beam-log: ranking by the product of probabilities and by the sum of their logs is the same ranking
    products = {seq: math.prod(math.exp(_log_prob(step_fn, 0, seq[:k + 1]) - _log_prob(step_fn, 0, seq[:k]))
                               for k in range(len(seq))) for seq in everything}
    by_product = max(products, key=products.get)
    assert math.log(products[by_product]) == pytest.approx(max(everything.values()), rel=1e-9, abs=1e-12)


@pytest.mark.formula("beam-log")
@given(toy)
@settings(max_examples=40, deadline=None)
def test_beam_width_one_is_greedy_decoding(decoder):
    seed, V, max_len, temperature = decoder
    step_fn, eos = _toy_decoder(seed, V, temperature), V - 1
    state, last, tokens = (), 0, []
    for _ in range(max_len):  # greedy, written out: the most likely next token until <EOS>
        lp, state = step_fn(state, last)
        last = int(np.argmax(lp))
        tokens.append(last)
        if last == eos:
            break
    for h in (beam.beam_search(step_fn, (), 0, eos, 1, max_len)[0], beam.greedy_decode(step_fn, (), 0, eos, max_len)):
        assert h.tokens == tuple(tokens)
    greedy = beam.greedy_decode(step_fn, (), 0, eos, max_len)
    assert greedy.score == greedy.log_prob == pytest.approx(_log_prob(step_fn, 0, greedy.tokens))  # not normalised


def _trap(p_first=0.6, V=5):
    """Greedy takes token 1 (P = 0.6) and then faces four equally likely tokens; token 2 (P = 0.4) leads to <EOS>.

    The state is the tokens read so far, <BOS> (9) first.
    """
    eos = 0

    def step_fn(read, token):
        if token == 9:  # the first step
            probs = np.full(V, 1e-9)
            probs[1], probs[2] = p_first, 1 - p_first
        elif read == (9,) and token == 1:
            probs = np.r_[0.0, np.full(V - 1, 1 / (V - 1))]
        else:
            probs = np.eye(V)[eos]
        with np.errstate(divide="ignore"):
            return np.log(probs / probs.sum()), (*read, token)

    return step_fn, eos


@pytest.mark.formula("beam-error")
def test_error_analysis_tells_a_search_error_from_a_model_error():
    assert_latex("beam-error", r"\operatorname{score}(y^*) > \operatorname{score}(\hat{y})")
    step_fn, eos = _trap()

    def score(tokens, alpha=0.7):  # the model's own normalised log-probability of a sequence
        return beam.normalized_score(_log_prob(step_fn, 9, tokens), len(tokens), alpha)

    greedy = beam.greedy_decode(step_fn, (), 9, eos, 4)
    best = beam.beam_search(step_fn, (), 9, eos, 2, 4)[0]
    assert greedy.tokens == (1, 1, eos) and best.tokens == (2, eos)
    # y* = the best sequence: greedy's output scores lower, so greedy made a search error that a wider beam fixes
    assert score(best.tokens) > score(greedy.tokens)
    # a model error: the reference is a sequence the model itself scores below what the beam found
    reference = (1, 3, eos)
    assert score(reference) <= score(best.tokens)
    assert beam.beam_search(step_fn, (), 9, eos, 25, 4)[0].tokens == best.tokens  # no beam width finds the reference


def test_beam_search_defaults_and_ordering():
    step_fn = _toy_decoder(7, 3, 2.0)
    assert inspect.signature(beam.beam_search).parameters["alpha"].default == 0.7
    default, explicit = beam.beam_search(step_fn, (), 0, 2, 3, 3), beam.beam_search(step_fn, (), 0, 2, 3, 3, alpha=0.7)
    assert default == explicit
    assert [h.score for h in default] == sorted((h.score for h in default), reverse=True)
    assert beam.normalized_score(-2.0, 4) == pytest.approx(-2.0 / 4**0.7)
    assert beam.normalized_score(-2.0, 4, alpha=0) == -2.0


def _constant(V):
    return lambda state, token: (np.log(np.full(V, 1 / V)), state)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: beam.beam_search(_constant(3), None, 0, 2, 0, 3), ValueError, "beam_width: 需要正整数"),
    (lambda: beam.beam_search(_constant(3), None, 0, 2, 1.0, 3), TypeError, "beam_width: 需要正整数"),
    (lambda: beam.beam_search(_constant(3), None, 0, 2, True, 3), TypeError, "beam_width: 需要正整数"),
    (lambda: beam.beam_search(_constant(3), None, 0, 2, 2, 0), ValueError, "max_len: 需要正整数"),
    (lambda: beam.beam_search(_constant(3), None, 0, 2, 2, 3, alpha=-0.1), ValueError, "alpha: 长度归一化的指数"),
    (lambda: beam.beam_search(_constant(3), None, 0, 2, 2, 3, alpha="0.7"), TypeError, "alpha: 长度归一化的指数"),
    (lambda: beam.beam_search(_constant(3), None, 0, 3, 2, 3), ValueError, "eos: 应是 0 … 2 之间的词号"),
    (lambda: beam.beam_search(lambda s, t: (np.zeros((1, 3)), s), None, 0, 2, 2, 3), ValueError,
     r"log_probs 形状应为 \(V,\)"),
    (lambda: beam.beam_search(lambda s, t: (np.zeros(0), s), None, 0, 2, 2, 3), ValueError, r"log_probs 形状应为"),
    (lambda: beam.beam_search(lambda s, t: (np.log(np.full(s + 3, 1 / (s + 3))), s + 1), 0, 0, 1, 2, 3), ValueError,
     r"形状应为 \(3,\)\(与第一次调用相同\)"),
    (lambda: beam.beam_search(lambda s, t: np.zeros(3), None, 0, 2, 2, 3), TypeError, "应返回 \\(log_probs, new_state\\)"),
    (lambda: beam.beam_search(lambda s, t: (np.zeros(3), s, s), None, 0, 2, 2, 3), TypeError, "二元组,得到 tuple"),
    (lambda: beam.beam_search(lambda s, t: [np.zeros(3), s], None, 0, 2, 2, 3), TypeError, "二元组,得到 list"),
    (lambda: beam.beam_search(lambda s, t: (np.ones(3), s), None, 0, 2, 2, 3), ValueError, r"应是对数概率\(≤ 0\),最大值为 1.0"),
    (lambda: beam.beam_search(lambda s, t: (np.full(3, np.nan), s), None, 0, 2, 2, 3), ValueError, "含有 3 个 NaN"),
    (lambda: beam.beam_search(lambda s, t: (np.full(3, -np.inf), s), None, 0, 2, 2, 3), ValueError, "没有一个候选"),
    (lambda: beam.normalized_score(-1.0, 0), ValueError, "length: 需要正整数"),
])
def test_beam_search_rejects_bad_input(call, error, match):
    with raises_as(error, match):
        call()


# ----------------------------------------------------------------------------------------------------------------
# Attention



@derivation
def _attention_oracle(n_s, n_a2, n_e, T_x):
    """The note's att-e, att-alpha and att-context for one sequence, built by hand in SymPy, and the gradients of
    the loss w^T c (which reads every component of the context) by ``sympy.diff``; all lambdified on
    (s, A, Ws, Wa, b, v, w) flattened row by row."""
    assert_latex("att-e", r"e^{\langle t, t' \rangle} = v^T \tanh(W_s s^{\langle t-1 \rangle} + W_a a^{\langle t' \rangle} + b)")
    assert_latex("att-alpha", r"\frac{\exp(e^{\langle t, t' \rangle})}{\sum_{t''=1}^{T_x} \exp(e^{\langle t, t'' \rangle})}")
    assert_latex("att-context", r"c^{\langle t \rangle} = \sum_{t'=1}^{T_x} "
                                r"\alpha^{\langle t, t' \rangle} a^{\langle t' \rangle}")
    s, A = symbol_matrix("s", n_s, 1), symbol_matrix("a", n_a2, T_x)
    Ws, Wa = symbol_matrix("Ws", n_e, n_s), symbol_matrix("Wa", n_e, n_a2)
    b, v, w = symbol_matrix("b", n_e, 1), symbol_matrix("v", 1, n_e), symbol_matrix("w", n_a2, 1)
    e = [(v * (Ws * s + Wa * A[:, k] + b).applyfunc(sympy.tanh))[0] for k in range(T_x)]
    alpha = [sympy.exp(ek) / sum(sympy.exp(ej) for ej in e) for ek in e]
    context = sum((alpha[k] * A[:, k] for k in range(T_x)), sympy.zeros(n_a2, 1))
    L = (w.T * context)[0]
    args = [list(M) for M in (s, A, Ws, Wa, b, v, w)]
    grads = {name: sympy.lambdify(args, M.applyfunc(L.diff), "numpy")
             for name, M in zip(("s", "A", "att.Ws", "att.Wa", "att.b", "att.v"), (s, A, Ws, Wa, b, v), strict=True)}
    return sympy.lambdify(args, alpha, "numpy"), sympy.lambdify(args, context, "numpy"), grads


@pytest.mark.formula("att-e", "att-alpha", "att-context", "att-dalpha", "att-de")
@pytest.mark.parametrize(("n_s", "n_a2", "n_e", "T_x"), [(1, 1, 1, 2), (2, 2, 2, 3), (1, 2, 2, 1)])
def test_attention_and_its_gradients_are_sympys(n_s, n_a2, n_e, T_x):
    alpha_of, context_of, grad_of = _attention_oracle(n_s, n_a2, n_e, T_x)
    rng = np.random.default_rng(n_s * 100 + n_a2 * 10 + T_x)
    values = [rng.standard_normal(shape) for shape in ((n_s, 1), (n_a2, T_x), (n_e, n_s), (n_e, n_a2), (n_e, 1),
                                                         (1, n_e))]
    w = rng.standard_normal((n_a2, 1))
    flat = [x.ravel() for x in (*values, w)]
    s, A, Ws, Wa, b, v = values
    params = {"att.Ws": Ws, "att.Wa": Wa, "att.b": b, "att.v": v}
    got_context, got_alpha, cache = seq2seq.attention_forward(s, A[:, None, :], params)
    np.testing.assert_allclose(got_alpha[:, 0], np.asarray(alpha_of(*flat), dtype=float), rtol=1e-12)
    np.testing.assert_allclose(got_context, np.asarray(context_of(*flat), dtype=float), rtol=1e-12, atol=1e-14)
    ds, dA, grads = seq2seq.attention_backward(w, cache)
    got = {"s": ds, "A": dA[:, 0, :], **grads}
    for name, grad in grad_of.items():
        np.testing.assert_allclose(got[name], np.asarray(grad(*flat), dtype=float), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


@pytest.mark.formula("att-dalpha", "att-de")
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_the_two_new_backward_steps_are_sympys(T_x, n_a2, seed):
    assert_latex("att-dalpha", r"\left(\frac{\partial \mathcal{L}}{\partial c^{\langle t \rangle}}\right)^T "
                               r"a^{\langle t' \rangle}")
    assert_latex("att-de", r"\alpha^{\langle t, t' \rangle} \left(\frac{\partial \mathcal{L}}"
                           r"{\partial \alpha^{\langle t, t' \rangle}} - \sum_{t''=1}^{T_x}")
    rng = np.random.default_rng(seed)
    e_val, A_val, w_val = rng.standard_normal(T_x), rng.standard_normal((n_a2, T_x)), rng.standard_normal(n_a2)
    e = sympy.symbols(f"e0:{T_x}")
    alphas = sympy.symbols(f"alpha0:{T_x}")
    softmax = [sympy.exp(ek) / sum(map(sympy.exp, e)) for ek in e]
    L_of_alpha = sum(w_val[i] * sum(alphas[k] * A_val[i, k] for k in range(T_x)) for i in range(n_a2))
    d_alpha = np.array([float(sympy.diff(L_of_alpha, a)) for a in alphas])  # ∂L/∂α = (∂L/∂c)ᵀ a⟨t'⟩
    L_of_e = L_of_alpha.subs(dict(zip(alphas, softmax, strict=True)))
    de = np.array([float(sympy.diff(L_of_e, ek).subs(dict(zip(e, e_val, strict=True)))) for ek in e])
    np.testing.assert_allclose(d_alpha, w_val @ A_val, rtol=1e-12)
    # the implementation's backward step with one hidden unit h = tanh(e) and v = 1: ∂L/∂e = ∂L/∂h (its dP) / tanh'
    alpha = np.exp(e_val - e_val.max())
    alpha /= alpha.sum()
    dP, _, _, _ = seq2seq._attend_backward(w_val[:, None], A_val.T[:, :, None], np.tanh(e_val)[:, None, None],
                                           alpha[:, None], np.ones((1, 1)))
    np.testing.assert_allclose(dP[:, 0, 0] / (1 - np.tanh(e_val) ** 2), de, rtol=1e-9, atol=1e-12)


@given(st.integers(1, 5), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**32 - 1),
       st.floats(0.1, 1000))
def test_attention_weights_are_a_distribution_over_positions(T_x, m, n_s, n_e, seed, scale):
    rng = np.random.default_rng(seed)
    params = {"att.Ws": rng.standard_normal((n_e, n_s)) * scale, "att.Wa": rng.standard_normal((n_e, 2)) * scale,
              "att.b": rng.standard_normal((n_e, 1)), "att.v": rng.standard_normal((1, n_e)) * scale}
    A = rng.standard_normal((2, m, T_x))
    context, alpha, _ = seq2seq.attention_forward(rng.standard_normal((n_s, m)), A, params)
    assert alpha.shape == (T_x, m) and (alpha >= 0).all()
    np.testing.assert_allclose(alpha.sum(axis=0), 1.0, rtol=1e-12)
    # the context is a convex combination: inside the range of the positions' features
    assert (context <= A.max(axis=2) + 1e-12).all() and (context >= A.min(axis=2) - 1e-12).all()
    if T_x == 1:
        np.testing.assert_array_equal(alpha, 1.0)
        np.testing.assert_allclose(context, A[:, :, 0], rtol=1e-15)  # one position: the context is its activation


def test_attention_rejects_bad_input():
    params = {"att.Ws": np.ones((2, 3)), "att.Wa": np.ones((2, 4)), "att.b": np.zeros((2, 1)), "att.v": np.ones((1, 2))}
    A = np.ones((4, 5, 6))
    with raises_for(ValueError, 's_prev', '(*, 5)', '(3, 4)'):
        seq2seq.attention_forward(np.ones((3, 4)), A, params)
    with raises_for(ValueError, "params['att.Wa']", '(2, 3)', '(2, 4)'):
        seq2seq.attention_forward(np.ones((3, 5)), np.ones((3, 5, 6)), params)
    with pytest.raises(ValueError, match="缺少 \\['att.v'\\]"):
        seq2seq.attention_forward(np.ones((3, 5)), A, {k: v for k, v in params.items() if k != "att.v"})
    _, _, cache = seq2seq.attention_forward(np.ones((3, 5)), A, params)
    with raises_for(ValueError, 'd_context', '(4, 5)'):
        seq2seq.attention_backward(np.ones((4, 4)), cache)


# ----------------------------------------------------------------------------------------------------------------
# The whole model


def _model(rng, n_x=3, n_y=3, n_a=2, n_s=3, n_e=2, m=2, T_x=3, T_y=2, scale=0.5):
    params = seq2seq.init_seq2seq_params(n_x, n_y, n_a, n_s, n_e, rng)
    for k in params:
        params[k] = params[k] + rng.normal(0, scale, params[k].shape)
    X = rng.standard_normal((n_x, m, T_x))
    Y_in = np.eye(n_y)[rng.integers(0, n_y, (m, T_y))].transpose(2, 0, 1)
    Y = np.eye(n_y)[rng.integers(0, n_y, (m, T_y))].transpose(2, 0, 1)
    return params, X, Y_in, Y


@pytest.mark.formula("seq-loss")
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(1, 2), st.integers(1, 3), st.integers(1, 3))
@settings(max_examples=6, deadline=None)
def test_every_gradient_of_the_model_is_the_central_difference(seed, T_x, m, T_y, n_a):
    assert_latex("seq-loss", r"\mathcal{L} = -\log P(y \mid x) = -\sum_{t=1}^{T_y} \log P")
    params, X, Y_in, Y = _model(np.random.default_rng(seed), n_a=n_a, m=m, T_x=T_x, T_y=T_y)
    Z, cache = seq2seq.seq2seq_forward(X, Y_in, params)
    grads = seq2seq.seq2seq_backward(cross_entropy(Z, Y)[1], cache)
    assert set(grads) == set(params) == set(seq2seq.seq2seq_keys())
    for name, W in params.items():
        numeric = central_difference(lambda: cross_entropy(seq2seq.seq2seq_forward(X, Y_in, params)[0], Y)[0], W)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)


@pytest.mark.formula("att-bidir", "att-decoder", "att-y", "att-cost")
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 3))
@settings(max_examples=20, deadline=None)
def test_the_model_is_the_sequence_chapters_lstms_joined_by_attention(seed, T_x, T_y):
    assert_latex("att-bidir", r"[\overrightarrow{a}^{\langle t' \rangle}; \overleftarrow{a}^{\langle t' \rangle}]")
    assert_latex("att-decoder", r"\operatorname{LSTM}(s^{\langle t-1 \rangle}, [c^{\langle t \rangle}; y^{\langle t-1 \rangle}])")
    assert_latex("att-y", r"\operatorname{softmax}(W_y s^{\langle t \rangle} + b_y)")
    assert_latex("att-cost", r"N_{\alpha} = T_x T_y")
    params, X, Y_in, _ = _model(np.random.default_rng(seed), T_x=T_x, T_y=T_y)
    Z, cache = seq2seq.seq2seq_forward(X, Y_in, params)
    part = {p: {k.split(".")[1]: v for k, v in params.items() if k.startswith(p + ".")} for p in ("enc_f", "enc_b", "dec")}
    forward, _ = lstm_layer_forward(X, None, part["enc_f"])
    backward, _ = lstm_layer_forward(X[:, :, ::-1], None, part["enc_b"])  # the same LSTM reading right to left
    np.testing.assert_allclose(cache["A"], np.concatenate([forward, backward[::-1]], axis=1), rtol=1e-12)
    # the decoder is chapter 4's LSTM reading [c⟨t⟩; y⟨t−1⟩], given the contexts the attention produced
    decoder_input = np.concatenate([cache["context"], Y_in.transpose(2, 0, 1)], axis=1).transpose(1, 2, 0)
    S, _ = lstm_layer_forward(decoder_input, None, part["dec"])
    np.testing.assert_allclose(cache["S"], S, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(Z, (params["Wy"] @ S + params["by"]).transpose(1, 2, 0), rtol=1e-10, atol=1e-14)
    # one attention weight for every (output position, input position) pair of every sequence
    assert cache["alpha"].shape == (T_y, T_x, X.shape[1])
    assert cache["alpha"][:, :, 0].size == T_x * T_y
    # each step's context is attention_forward on the previous decoder state
    s_prev = np.zeros_like(S[0])
    for t in range(T_y):
        context, alpha, _ = seq2seq.attention_forward(s_prev, cache["A"].transpose(1, 2, 0),
                                                      {k: params[k] for k in seq2seq.ATTENTION_KEYS})
        np.testing.assert_allclose(alpha, cache["alpha"][t], rtol=1e-10)
        np.testing.assert_allclose(context, cache["context"][t], rtol=1e-10, atol=1e-14)
        s_prev = S[t]


def test_the_model_rejects_bad_input():
    params, X, Y_in, Y = _model(np.random.default_rng(0))
    with raises_for(ValueError, 'Y_in'):
        seq2seq.seq2seq_forward(X, Y_in[:, :1], params)
    with pytest.raises(ValueError, match=r"缺少 \['Wy'\]"):
        seq2seq.seq2seq_forward(X, Y_in, {k: v for k, v in params.items() if k != "Wy"})
    with raises_for(ValueError, "params['dec.Wf']", '(3, 9)', '(3, 10)'):
        seq2seq.seq2seq_forward(X, Y_in[:2], params)  # the decoder reads 2 + 2·2 + 3 inputs, not 2 + 2·2 + 2
    with raises_for(ValueError, 'X'):
        seq2seq.seq2seq_forward(X[:, :, 0], Y_in, params)
    _, cache = seq2seq.seq2seq_forward(X, Y_in, params)
    with raises_for(ValueError, 'dZ', '(3, 2, 2)'):
        seq2seq.seq2seq_backward(Y[:, :, :1], cache)
    with pytest.raises(TypeError, match="rng"):
        seq2seq.init_seq2seq_params(3, 3, 2, 2, 2, rng=0.5)
    for key in ("enc_f.Wc", "dec.Wc"):
        with pytest.raises(ValueError, match="enc_f.Wc 与 dec.Wc 应是二维数组"):
            seq2seq.seq2seq_forward(X, Y_in, {**params, key: 1.0})


def test_init_defaults():
    params = seq2seq.init_seq2seq_params(5, 4, 2, 3, 2, np.random.default_rng(0))
    assert params["dec.Wf"].shape == (3, 3 + 2 * 2 + 4)  # n_yin defaults to n_y
    assert (params["enc_f.bf"] == 1.0).all() and (params["dec.bf"] == 1.0).all()  # forget_bias = 1
    assert (params["dec.bc"] == 0).all() and (params["att.b"] == 0).all()
    np.testing.assert_allclose(np.std(seq2seq.init_seq2seq_params(5, 4, 2, 3, 300, np.random.default_rng(1))["att.Ws"]),
                               math.sqrt(1 / 3), rtol=0.1)  # xavier: √(1/n_in)
    other = seq2seq.init_seq2seq_params(5, 4, 2, 3, 2, np.random.default_rng(0), n_yin=6)
    assert other["dec.Wf"].shape == (3, 3 + 2 * 2 + 6)


# ----------------------------------------------------------------------------------------------------------------
# Translator and the dates


def test_each_date_format_is_named_by_what_it_writes_for_3_may_1979():
    day = datetime.date(1979, 5, 3)
    assert day.weekday() == 3  # a Thursday
    for name, write in dates.FORMATS.items():
        assert write(day) == name
    assert len(dates.FORMATS) == 12


def test_make_dates_is_seeded_and_consistent():
    pairs = dates.make_dates(300, np.random.default_rng(5))
    assert pairs == dates.make_dates(300, np.random.default_rng(5))
    used = {name for source, iso in pairs for name, write in dates.FORMATS.items()
            if write(datetime.date.fromisoformat(iso)) == source}
    assert used == set(dates.FORMATS)  # every format is drawn, the first and the last included
    assert dates.make_dates(0, np.random.default_rng(5)) == []
    for source, iso in pairs:
        day = datetime.date.fromisoformat(iso)
        assert datetime.date(1900, 1, 1) <= day <= datetime.date(2099, 12, 31)
        assert source in {write(day) for write in dates.FORMATS.values()}
    with raises_for(ValueError, 'n'):
        dates.make_dates(-1, np.random.default_rng(0))
    with raises_for(TypeError, "rng"):
        dates.make_dates(3, "0")


@pytest.fixture(scope="module")
def small_translator():
    pairs = dates.make_dates(256, np.random.default_rng(1))
    seen = []
    model = seq2seq.Translator(n_a=4, n_s=6, n_e=3, batch_size=32, epochs=2, rng=np.random.default_rng(2),
                               progress=False).fit([s for s, _ in pairs], [t for _, t in pairs],
                                                   callback=lambda step, _: seen.append(step))
    return model, pairs, seen


@pytest.mark.formula("seq-cond-lm")
def test_translator_probabilities_follow_the_chain_rule(small_translator):
    assert_latex("seq-cond-lm", r"= \prod_{t=1}^{T_y} P(y^{\langle t \rangle} \mid x, "
                                r"y^{\langle 1 \rangle}, \dots, y^{\langle t-1 \rangle})")
    model, pairs, _ = small_translator
    source, target = pairs[0]
    step_fn, state = model.step_function(source)
    total, last = 0.0, 0
    for ch in [*target, "<EOS>"]:  # one step at a time, each conditioned on the prefix
        lp, state = step_fn(state, last)
        np.testing.assert_allclose(np.exp(lp).sum(), 1.0, rtol=1e-12)
        last = model.tgt_chars_.index(ch)
        total += lp[last]
    assert model.log_prob(source, target) == pytest.approx(total, rel=1e-10)  # the whole batch at once
    assert model.normalized_score(source, target) == pytest.approx(total / (len(target) + 1) ** 0.7, rel=1e-10)
    assert model.normalized_score(source, target, length_norm=1.0) == pytest.approx(total / (len(target) + 1), rel=1e-10)
    # score: the mean log-likelihood per target character (with <EOS>) over the pairs given, higher is better
    two = pairs[:2]
    chars = sum(len(t) + 1 for _, t in two)
    assert model.score([s for s, _ in two], [t for _, t in two]) == pytest.approx(
        sum(model.log_prob(s, t) for s, t in two) / chars, rel=1e-10)
    best = beam.beam_search(step_fn, model.step_function(source)[1], 0, 1, 1, model.T_y_)[0]
    assert model.translate(source) == "".join(model.tgt_chars_[i] for i in best.tokens if i > 1)


def test_translator_training_and_shapes(small_translator):
    model, pairs, seen = small_translator
    assert seen == list(range(1, 17)) and len(model.history_) == 16  # 2 epochs × 256 / 32
    assert model.history_[-1] < model.history_[0]
    assert model.src_chars_[:2] == ["<PAD>", "<UNK>"] and model.tgt_chars_ == ["<BOS>", "<EOS>", "-", *"0123456789"]
    alpha = model.attention("3 May 1979", "1979-05-03")
    assert alpha.shape == (11, 10) and (alpha >= 0).all() and (alpha.sum(axis=1) <= 1 + 1e-12).all()
    assert len(model.translate("§ 3 May 1979")) <= model.T_y_  # an unseen character becomes <UNK>, not an error
    capped = seq2seq.Translator(n_a=2, n_s=2, n_e=2, batch_size=8, max_steps=3, rng=0, progress=False).fit(["ab"] * 50,
                                                                                                          ["1"] * 50)
    assert len(capped.history_) == 3


def test_translator_defaults():
    model = seq2seq.Translator()
    assert (model.n_a, model.n_s, model.n_e, model.batch_size, model.epochs) == (32, 64, 16, 64, 3)
    assert (model.alpha, model.max_norm, model.max_steps, model.rng, model.progress) == (0.005, 5.0, None, None, True)
    model.set_params(max_steps=1, progress=False)
    model.fit(["ab", "abc"], ["1", "12"])
    assert model.params_["dec.Wf"].shape == (64, 64 + 2 * 32 + 4)  # <BOS> <EOS> 1 2
    assert model.params_["att.Ws"].shape == (16, 64)


@pytest.mark.parametrize(("settings_", "data", "error", "match"), [
    ({"n_a": 0}, (["a"], ["1"]), ValueError, "n_a: 需要正整数"),
    ({"batch_size": 2.0}, (["a"], ["1"]), TypeError, "batch_size: 需要正整数"),
    ({"epochs": 0}, (["a"], ["1"]), ValueError, "epochs: 需要正整数"),
    ({"max_steps": 0}, (["a"], ["1"]), ValueError, "max_steps: 需要正整数"),
    ({"alpha": 0}, (["a"], ["1"]), ValueError, "alpha"),
    ({"max_norm": -1}, (["a"], ["1"]), ValueError, "max_norm"),
    ({}, (["a", "b"], ["1"]), ValueError, "targets: 应与 sources 一样多且非空"),
    ({}, ([], []), ValueError, "targets: 应与 sources 一样多且非空"),
    ({}, (["a", ""], ["1", "2"]), ValueError, r"sources\[1\]: 是空字符串"),
    ({}, ("ab", ["1", "2"]), TypeError, "sources: 需要字符串的列表"),
])
def test_translator_rejects_bad_settings_and_data(settings_, data, error, match):
    with raises_as(error, match):
        seq2seq.Translator(**settings_, rng=0, progress=False).fit(*data)


def test_translator_rejects_use_before_fit_and_unknown_targets(small_translator):
    with pytest.raises(NotFittedError):
        seq2seq.Translator().translate("3 May 1979")
    model, _, _ = small_translator
    with raises_for(ValueError, 'targets'):
        model.log_prob("3 May 1979", "1979-05-0x")
    with raises_for(ValueError, 'beam_width'):
        model.translate("3 May 1979", beam_width=0)
    with raises_for(TypeError, "rng"):
        seq2seq.Translator(rng=np.random.RandomState(0)).fit(["a"], ["1"])
    with raises_for(ValueError, "targets"):
        model.score(["3 May 1979"], [])


# ----------------------------------------------------------------------------------------------------------------
# The demonstration


def test_the_committed_demonstration_is_what_the_script_computes(tmp_path):
    out = tmp_path / "run.json"
    subprocess.run([sys.executable, "scripts/ch6_dates.py", "--steps", "4", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    short, full = json.loads(out.read_text(encoding="utf-8")), json.loads(DEMO.read_text(encoding="utf-8"))
    np.testing.assert_allclose(short["history"], full["history"][:4], rtol=1e-5)


def test_the_demonstration_shows_what_the_note_says():
    run = json.loads(DEMO.read_text(encoding="utf-8"))
    final, half = run["evaluation"]["final"], run["evaluation"]["checkpoint"]
    assert final["greedy"]["accuracy"] >= 0.95 and final["beam"]["accuracy"] >= 0.95  # the bar
    assert half["beam"]["accuracy"] > half["greedy"]["accuracy"]  # "束搜索比贪心解码多译对了几个百分点"
    errors = run["error_analysis"]
    assert errors["search"] + errors["model"] == round((1 - half["beam"]["accuracy"]) * run["n_test"])
    assert errors["model"] > 50 * errors["search"]  # "剩下的错误几乎都是模型的错"
    assert len(run["history"]) == 626 and run["history"][-1] < run["history"][0] / 100
    assert all(ex["greedy"] != ex["beam"] for ex in run["examples"]) and run["examples"]
    for m in run["attention"]:
        alpha = np.array(m["alpha"])
        assert alpha.shape == (len(m["output"]) + 1, len(m["source"]))
    assert [m["output"] for m in run["attention"]] == ["2019-09-10", "1979-05-03", "1979-05-03"]


def test_translator_pads_short_targets_without_counting_them():
    model = seq2seq.Translator(n_a=3, n_s=4, n_e=2, batch_size=2, max_steps=1, rng=0, progress=False).fit(
        ["ab", "abc"], ["1", "123"])
    assert model.T_x_ == 3 and model.T_y_ == 4  # the longest target and its <EOS>
    X, Y_in, Y = model._batch(["ab", "abc"], ["1", "123"])
    eos, one = 1, model.tgt_chars_.index("1")
    np.testing.assert_array_equal(Y[:, 0, :].sum(axis=0), [1, 1, 0, 0])  # "1" <EOS>, then two padded steps
    np.testing.assert_array_equal(Y[:, 0, :].argmax(axis=0)[:2], [one, eos])
    np.testing.assert_array_equal(Y_in[:, 0, :].argmax(axis=0), [0, one, eos, eos])  # <BOS> first
    assert model._source_ids(["a§"])[0].tolist() == [model.src_chars_.index("a"), 1, 0]  # § → <UNK>, then <PAD>
    Z, _ = seq2seq.seq2seq_forward(X, Y_in, model.params_)
    L, _ = cross_entropy(Z, Y)  # mean over the two sequences; padded steps add nothing
    assert 2 * L == pytest.approx(-(model.log_prob("ab", "1") + model.log_prob("abc", "123")), rel=1e-12)


def test_translator_history_is_the_loss_per_target_character_before_each_step():
    sources, targets = ["ab", "ba", "abc", "cab"], ["12", "21", "123", "312"]
    seed = 11
    model = seq2seq.Translator(n_a=3, n_s=4, n_e=2, batch_size=4, max_steps=1, rng=np.random.default_rng(seed),
                               progress=False).fit(sources, targets)
    rng = np.random.default_rng(seed)  # the same draws: initialisation first, then the epoch's order
    params = seq2seq.init_seq2seq_params(len(model.src_chars_), len(model.tgt_chars_), 3, 4, 2, rng)
    order = rng.permutation(4)
    X, Y_in, Y = model._batch([sources[j] for j in order], [targets[j] for j in order])
    L, _ = cross_entropy(seq2seq.seq2seq_forward(X, Y_in, params)[0], Y)
    assert model.history_[0] == pytest.approx(L * 4 / Y.sum(), rel=1e-12)  # nats per target character
    assert inspect.signature(seq2seq.Translator.translate).parameters["length_norm"].default == 0.7
    assert inspect.signature(seq2seq.Translator.normalized_score).parameters["length_norm"].default == 0.7


def test_a_trained_translator_stops_at_eos():
    sources, targets = ["a", "b", "ab", "ba"] * 16, ["1", "2", "12", "21"] * 16
    model = seq2seq.Translator(n_a=8, n_s=16, n_e=4, batch_size=16, epochs=60, alpha=0.02, rng=0, progress=False).fit(
        sources, targets)
    for source, target in zip(sources[:4], targets[:4], strict=True):
        assert model.translate(source) == target
        assert model.translate(source, beam_width=3) == target
