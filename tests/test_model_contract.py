"""The model contract of notes/index.md § 模型的约定, checked on every model that trains (in the spirit of
scikit-learn's ``check_estimator``): a model that breaks a row of the table fails here, and a new subclass of
``smln.base.Model`` that is not listed in CASES fails ``test_every_model_is_checked``."""

from __future__ import annotations

import importlib
import inspect
import itertools
import math
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

import smln
from smln import charlm, elmo, glove, logistic, seq2seq, word2vec
from smln.base import Model
from smln.validation import NotFittedError
from tests.errors import raises_for

TEXT = "abcabcabd " * 60
TOKENS = ("a set of objects is a set . the flag is set to true . set the value and return it . ") * 12
TOPICS = [["red", "green", "blue", "yellow"], ["cat", "dog", "horse", "cow"]]
_rng = np.random.default_rng(0)
CORPUS = [list(_rng.choice(TOPICS[_rng.integers(2)], size=6)) for _ in range(300)]
PAIRS = list(itertools.combinations([w for topic in TOPICS for w in topic], 2))
HUMAN = [float(any(a in t and b in t for t in TOPICS)) for a, b in PAIRS]  # a judge: same topic 1, else 0
SOURCES, TARGETS = ["ab", "ba", "abc", "cab"] * 8, ["12", "21", "123", "312"] * 8
_X = _rng.standard_normal((3, 80))
_Y = (_X[:1] + 0.3 * _rng.standard_normal((1, 80)) > 0).astype(int)


@dataclass
class Case:
    model: type
    settings: dict  # small sizes: every test trains several of these
    data: tuple  # what fit takes
    score: tuple  # what score takes
    fitted_methods: list[Callable] = field(default_factory=list)  # other uses that need a fitted model

    def make(self, **changes):
        return self.model(**{"progress": False, "rng": 0, **self.settings, **changes})


CASES = {
    "CharLM": Case(charlm.CharLM, {"cell": "rnn", "n_a": 8, "batch_size": 4, "T": 8, "epochs": 1, "max_steps": 20,
                                   "eval_every": 10, "alpha": 0.02}, (TEXT,), (TEXT[-60:],),
                   [lambda m: m.sample(5, prime="a")]),
    "NeuralLM": Case(word2vec.NeuralLM, {"d": 4, "n": 2, "n_h": 8, "epochs": 3, "batch_size": 16, "alpha": 0.02},
                     (TOKENS.split(),), (TOKENS.split()[:40],)),
    "Word2Vec": Case(word2vec.Word2Vec, {"dim": 10, "window": 3, "negative": 3, "epochs": 3, "min_count": 1,
                                         "sample": 0}, (CORPUS,), (PAIRS, HUMAN)),
    "GloVe": Case(glove.GloVe, {"dim": 8, "window": 3, "epochs": 10, "min_count": 1}, (CORPUS,), (PAIRS, HUMAN)),
    "BiLM": Case(elmo.BiLM, {"d": 4, "d_c": 2, "filters": ((1, 4), (2, 4)), "N": 6, "batch_size": 4, "epochs": 1,
                             "max_steps": 15, "min_count": 1, "alpha": 0.02}, (TOKENS.split(),), (TOKENS.split()[:30],),
                 [lambda m: m.layers(["a", "set"]), lambda m: elmo.elmo_embed(m, ["a", "set"])]),
    "Translator": Case(seq2seq.Translator, {"n_a": 4, "n_s": 6, "n_e": 3, "batch_size": 8, "epochs": 5, "alpha": 0.02},
                       (SOURCES, TARGETS), (SOURCES[:4], TARGETS[:4]),
                       [lambda m: m.translate("ab"), lambda m: m.log_prob("ab", "12"), lambda m: m.attention("ab", "12")]),
    "LogisticRegression": Case(logistic.LogisticRegression, {"epochs": 20}, (_X, _Y), (_X, _Y),
                               [lambda m: m.predict(_X), lambda m: m.predict_proba(_X)]),
}
NAMES = list(CASES)
PAIR_BY_PAIR = {"Word2Vec"}  # updates after every (c, t) pair: no mini-batch, so no batch_size


@pytest.fixture(scope="module")
def fitted():
    """One fitted model of each kind, shared by the tests that only read it."""
    return {name: case.make().fit(*case.data) for name, case in CASES.items()}


def test_every_model_is_checked():
    for info in pkgutil.iter_modules(smln.__path__):
        importlib.import_module(f"smln.{info.name}")
    models = {cls.__name__ for cls in _subclasses(Model)}
    assert models == set(CASES), f"add the new model to CASES: {sorted(models - set(CASES))}"


def _subclasses(cls):
    for sub in cls.__subclasses__():
        if not inspect.isabstract(sub) and "fit" in vars(sub):
            yield sub
        yield from _subclasses(sub)


# ── hyperparameters ──────────────────────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("name", NAMES)
def test_hyperparameters_are_stored_as_given_and_checked_at_fit(name):
    case = CASES[name]
    params = inspect.signature(case.model).parameters
    assert all(p.default is not inspect.Parameter.empty for p in params.values())  # every one has a default
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params.values())  # no **kwargs
    model = case.model()
    assert model.get_params() == {k: p.default for k, p in params.items()}
    odd = object()
    strange = case.model(alpha=odd)  # __init__ stores, never checks: the check is fit's, and it names alpha
    assert strange.alpha is odd and strange.get_params()["alpha"] is odd
    with raises_for(TypeError, "alpha"):
        strange.fit(*case.data)


@pytest.mark.parametrize("name", NAMES)
def test_the_learning_rate_is_alpha_and_has_no_other_meaning(name):
    case = CASES[name]
    for bad, error in ((0, ValueError), (-0.1, ValueError), ("0.01", TypeError), (math.nan, ValueError)):
        with raises_for(error, "alpha"):
            case.make(alpha=bad).fit(*case.data)
    for method_name, method in inspect.getmembers(case.model, inspect.isfunction):
        if not method_name.startswith("_") and method_name != "__init__":
            assert "alpha" not in inspect.signature(method).parameters, f"{name}.{method_name} has another alpha"


@pytest.mark.parametrize("name", NAMES)
def test_batch_size_epochs_and_max_steps_are_named_and_checked(name):
    case = CASES[name]
    params = inspect.signature(case.model).parameters
    assert {"epochs", "rng", "progress"} <= set(params)
    assert ("batch_size" in params) == (name not in PAIR_BY_PAIR)
    assert not {"m", "steps", "max_epochs", "batch_words", "learning_rate"} & set(params)
    checked = [*(["batch_size"] if "batch_size" in params else []), "epochs",
               *(["max_steps"] if "max_steps" in params else [])]
    for argument in checked:
        with raises_for(ValueError, argument):
            case.make(**{argument: 0}).fit(*case.data)
        with raises_for(TypeError, argument):
            case.make(**{argument: 2.5}).fit(*case.data)
    if "max_steps" in params:
        assert params["max_steps"].default is None
        assert len(case.make(max_steps=2).fit(*case.data).history_) == 2


@pytest.mark.parametrize("name", NAMES)
def test_get_params_set_params_and_repr(name):
    case = CASES[name]
    model = case.make()
    clone = case.model(**model.get_params())
    assert clone.get_params() == model.get_params()
    assert model.set_params(epochs=3) is model and model.epochs == 3
    with raises_for(ValueError, "epoch"):
        model.set_params(epoch=3)
    text = repr(case.model(epochs=99))
    assert text == f"{name}(epochs=99)"  # only what differs from the defaults


# ── fit, history_, callback ──────────────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_the_model_and_records_its_history_with_the_callback(name):
    case = CASES[name]
    model, seen = case.make(), []

    def callback(step, m):
        seen.append((step, m, len(m.history_)))

    assert model.fit(*case.data, callback=callback) is model
    history = model.history_
    assert isinstance(history, list) and history and all(isinstance(x, float) and math.isfinite(x) for x in history)
    assert [s for s, _, _ in seen] == list(range(1, len(history) + 1))  # steps count from 1, one call a record
    assert all(m is model and n == s for s, m, n in seen)  # the model itself, its history up to this step
    fitted_attributes = [a for a in vars(model) if a.endswith("_") and not a.startswith("_")]
    assert "history_" in fitted_attributes and not any(a in vars(case.model()) for a in fitted_attributes)
    with raises_for(TypeError, "callback"):
        case.make().fit(*case.data, callback="print")


@pytest.mark.parametrize("name", NAMES)
def test_a_fit_that_fails_leaves_the_model_unfitted(name):
    case = CASES[name]
    model = case.make().fit(*case.data)

    def stop(step, m):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(*case.data, callback=stop)
    with pytest.raises(NotFittedError):
        model.score(*case.score)


# ── rng, progress ────────────────────────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("name", NAMES)
def test_rng_is_one_rule(name):
    case = CASES[name]
    first, again = case.make(rng=3).fit(*case.data), case.make(rng=np.random.default_rng(3)).fit(*case.data)
    assert again.history_ == first.history_  # a seed and a generator seeded alike: the same model
    assert first.fit(*case.data).history_ == again.history_  # an integer seed: every fit the same
    other = case.make(rng=4).fit(*case.data)
    assert other.history_ != first.history_
    fresh = [case.make(rng=None).fit(*case.data).history_ for _ in range(2)]
    assert fresh[0] != fresh[1]  # None: fresh entropy every time
    for bad in (np.random.RandomState(0), 1.5, -1, True):
        with raises_for(TypeError if not isinstance(bad, int) or isinstance(bad, bool) else ValueError, "rng"):
            case.make(rng=bad).fit(*case.data)


@pytest.mark.parametrize("name", NAMES)
def test_progress_is_one_rule(name, terminal, capsys):
    case = CASES[name]
    assert inspect.signature(case.model).parameters["progress"].default is True
    with terminal() as out:
        case.make(progress=True).fit(*case.data)
    assert "|" in out.getvalue()  # a tqdm bar on a terminal …
    assert out.getvalue().endswith("\r") and not out.getvalue().rstrip("\r ").endswith("\n")  # … cleared at the end
    with terminal() as out:
        case.make(progress=False).fit(*case.data)
    assert out.getvalue() == ""
    case.make(progress=True).fit(*case.data)
    assert capsys.readouterr().err == ""  # not a terminal: no bar
    with raises_for(TypeError, "progress"):
        case.make(progress=None).fit(*case.data)


# ── score, NotFittedError ────────────────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("name", NAMES)
def test_use_before_fit_is_not_fitted_error(name):
    case = CASES[name]
    model = case.make()
    for use in [lambda m: m.score(*case.score), *case.fitted_methods]:
        with pytest.raises(NotFittedError):
            use(model)


@pytest.mark.parametrize("name", NAMES)
def test_score_is_higher_for_the_trained_model(name, fitted):
    case = CASES[name]
    trained = fitted[name]
    untrained = case.make(alpha=1e-12).fit(*case.data)  # the same model that has not moved from its start
    good, bad = trained.score(*case.score), untrained.score(*case.score)
    assert type(good) is float and math.isfinite(good)  # a Python float, not a NumPy scalar
    assert good > bad
    for use in case.fitted_methods:
        use(trained)


# ── BLAS threads ─────────────────────────────────────────────────────────────────────────────────────────────────────
def _blas_threads():
    from threadpoolctl import threadpool_info

    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


@pytest.mark.parametrize("name", NAMES)
def test_training_uses_one_blas_thread_for_small_matrices(name, monkeypatch):
    case, seen = CASES[name], []
    monkeypatch.delenv("SMLN_BLAS_THREADS", raising=False)
    model = case.make(**({"max_steps": 1} if "max_steps" in inspect.signature(case.model).parameters else {"epochs": 1}))
    model.fit(*case.data, callback=lambda step, m: seen.append(_blas_threads()))
    assert seen and all(threads <= {1} for threads in seen)  # every BLAS pool limited to one thread while training


def test_blas_threads_follow_the_matrix_size_and_the_environment(monkeypatch):
    from smln.base import SMALL_MATRIX, blas_threads

    monkeypatch.delenv("SMLN_BLAS_THREADS", raising=False)
    assert blas_threads(SMALL_MATRIX - 1) == 1 and blas_threads(SMALL_MATRIX) is None
    monkeypatch.setenv("SMLN_BLAS_THREADS", "1")
    assert blas_threads(SMALL_MATRIX * 4) == 1  # one thread even for large matrices, when asked
    monkeypatch.setenv("SMLN_BLAS_THREADS", "2")
    assert blas_threads(8) == 2
    seen = []
    CASES["LogisticRegression"].make(epochs=1).fit(_X, _Y, callback=lambda step, m: seen.append(_blas_threads()))
    assert seen == [{2}]  # the user's choice
    monkeypatch.setenv("SMLN_BLAS_THREADS", "auto")
    assert blas_threads(8) is None
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("SMLN_BLAS_THREADS", bad)
        with raises_for(ValueError, "SMLN_BLAS_THREADS"):
            blas_threads(8)


def test_the_blas_pools_are_found_once_and_again_after_new_imports(monkeypatch):
    import sys
    import types

    from smln import base

    first = base._threadpools()
    assert base._threadpools() is first  # /proc/self/maps is read once, not at every fit
    monkeypatch.setitem(sys.modules, "smln_test_new_module", types.ModuleType("smln_test_new_module"))
    assert base._threadpools() is not first  # a new import may have brought its own BLAS: look again
