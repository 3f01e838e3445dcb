#!/usr/bin/env python3
"""Performance, measured side by side: smln against what an engineer would otherwise use.

    python benchmarks/run.py                     # every case at its real size
    python benchmarks/run.py --quick             # every case at a tiny size, in seconds (CI runs this)
    python benchmarks/run.py --case optimizer    # one case (repeatable)
    python benchmarks/run.py --json results.json
    python benchmarks/run.py --case word2vec --json results.json   # re-measure one case, keep the others' rows

Each case runs smln and its counterpart in this process, on the same data, dtype and thread count (one thread, for
NumPy's BLAS and for PyTorch), with warm-up and repetitions taken in turns (each round runs every side once, so a slow
spell of a shared machine falls on both), and reports the median time of each and their ratio (smln ÷ counterpart;
below 1 means smln is faster), next to the aim the project set. The counterparts come with the
``bench`` extra (``pip install -e ".[bench]"``: PyTorch's CPU build, gensim and scikit-learn); a case whose
counterpart is not installed says so and is skipped. Cases land with their chapters: optimizer steps, batch norm,
the recurrent layers (LSTM, GRU), word2vec, GloVe, the attention seq2seq and logistic regression.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread, before NumPy loads
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smln import batchnorm, glove, gru, losses, lstm, optim, sequence, validation, word2vec  # noqa: E402
from smln.embeddings import Vocabulary, tokenize  # noqa: E402


@dataclass
class Row:
    case: str
    variant: str
    smln_s: float
    other_s: float | None
    aim: float | None  # the ratio we aim for (smln ÷ counterpart at most this), or None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.other_s is None else self.smln_s / self.other_s


def median_times(fns: dict, repeat: int, warmup: int = 2) -> dict:
    """The median time of each function in ``fns``, timed in turns: every round runs each of them once, in order.

    On a shared machine the speed drifts from second to second; timed one after the other, a slow spell lands on one
    side of a ratio. Taken in turns, every side sees the same spells, and the ratio of the medians is stable.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def median_time(fn, repeat: int, warmup: int = 2) -> float:
    return median_times({"": fn}, repeat, warmup)[""]


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


# ------------------------------------------------------------------------------------------------------------
# Cases


def _torch_optimizer(torch, name, p, kwargs):
    """torch.optim configured to the notes' rules (torch's first Momentum step takes v = dW, ours (1 − β) dW)."""
    if name == "GradientDescent":
        return torch.optim.SGD([p], lr=0.01, **kwargs)
    if name == "Momentum":  # v = β v + (1 − dampening) dW with dampening = β: the notes' (1 − β)
        return torch.optim.SGD([p], lr=0.01, momentum=0.9, dampening=0.9, **kwargs)
    if name == "RMSprop":
        return torch.optim.RMSprop([p], lr=0.01, alpha=0.9, eps=1e-8, **kwargs)
    return torch.optim.Adam([p], lr=0.01, **kwargs)


def case_optimizer(quick: bool) -> list[Row]:
    """One step of each optimizer on 4 M float64 parameters, against torch.optim configured to the same rule.

    Aims: at most torch's fused kernel where torch has one (GradientDescent, Momentum, Adam), at most half of torch's
    foreach for RMSprop, and within 1.3× the memory floor (the bytes the update reads and writes, at copy speed).
    """
    n = 20_000 if quick else 4_000_000
    repeat = 5 if quick else 50  # a step is a few milliseconds: many rounds, for a median that holds from run to run
    rng = np.random.default_rng(0)
    W0, G = rng.standard_normal(n), rng.standard_normal(n)
    torch = _torch()
    # the memory floor: streaming the bytes an update must touch once, at the speed of a plain copy
    a, b = np.empty(n), np.empty(n)
    smln_cases = {
        "GradientDescent": (lambda: optim.GradientDescent(0.01), 3),  # reads W, dW; writes W
        "Momentum": (lambda: optim.Momentum(0.01, 0.9), 5),  # + reads and writes V
        "RMSprop": (lambda: optim.RMSprop(0.01, 0.9), 5),
        "Adam": (lambda: optim.Adam(0.01), 7),  # W, dW, V, S read; W, V, S written
    }
    # every side has arrays of its own: one that read G just before another would find part of it still in the cache
    G_kernel, G_check = G.copy(), G.copy()
    kernels = {  # the update alone, without step's checks: what the all-or-nothing finite check costs is the rest
        "GradientDescent": lambda W, S1, S2: optim.gd_update(W, G_kernel, 0.01, 0.0),
        "Momentum": lambda W, S1, S2: optim.momentum_update(W, G_kernel, S1, 0.01, 0.9),
        "RMSprop": lambda W, S1, S2: optim.rmsprop_update(W, G_kernel, S1, 0.01, 0.9, 1e-8),
        "Adam": lambda W, S1, S2: optim.adam_update(W, G_kernel, S1, S2, 0.01, 0.9, 0.999, 1e-8, 1),
    }
    rows = []
    for name, (make, touched) in smln_cases.items():
        opt, params, grads = make(), {"W": W0.copy()}, {"W": G}
        W, S1, S2 = W0.copy(), np.zeros(n), np.zeros(n)
        fns = {"step": lambda opt=opt, params=params, grads=grads: opt.step(params, grads),
               "kernel": lambda kernel=kernels[name], W=W, S1=S1, S2=S2: kernel(W, S1, S2),
               "check": lambda: validation.all_finite(G_check),
               "copy": lambda: np.copyto(a, b)}  # the floor: reads n, writes n doubles, as fast as memory allows
        failed = {}
        for variant, kwargs in (("default", {}), ("foreach", {"foreach": True}), ("fused", {"fused": True})):
            if torch is None:
                break
            p = torch.nn.Parameter(torch.from_numpy(W0.copy()))
            p.grad = torch.from_numpy(G.copy())
            try:
                topt = _torch_optimizer(torch, name, p, kwargs)
                topt.step()
            except (RuntimeError, TypeError, ValueError) as exc:
                failed[variant] = f"torch: {exc}"[:80]
                continue
            fns[variant] = topt.step
        t = median_times(fns, repeat)  # every side in turns, the floor's copy too
        t_smln, floor = t["step"], touched * t["copy"] / 2  # the copy makes two passes
        rows.append(Row("optimizer", f"{name} ÷ memory floor", t_smln, floor, 1.3,
                        f"{touched} passes over {n:,} doubles (the finite-gradient check reads dW once more)"))
        for variant in ("default", "foreach", "fused"):
            if variant in failed:
                rows.append(Row("optimizer", f"{name} vs torch {variant}", t_smln, None, None, failed[variant]))
            if variant not in t:
                continue
            aim = {"fused": 1.0, "foreach": 0.5 if name == "RMSprop" else None}.get(variant)  # RMSprop has no fused
            rows.append(Row("optimizer", f"{name} vs torch {variant}", t_smln, t[variant], aim))
            if variant == "fused" or (name == "RMSprop" and variant == "foreach"):
                rows.append(Row("optimizer", f"{name}: the update kernel alone vs torch {variant}", t["kernel"],
                                t[variant], None, f"step = kernel + finite check of dW ({t['check'] * 1e3:.2f} ms, one "
                                                  f"more read of dW) + Python"))
    return rows


def case_batchnorm(quick: bool) -> list[Row]:
    """Batch norm forward + backward against torch autograd, at 1024 features × 512 examples and 64 × 4096."""
    repeat = 5 if quick else 20
    torch = _torch()
    rows = []
    for n, m in ((64, 32),) if quick else ((1024, 512), (64, 4096)):
        rng = np.random.default_rng(1)
        Z, dZt = rng.standard_normal((n, m)), rng.standard_normal((n, m))
        gamma, beta = rng.standard_normal((n, 1)), rng.standard_normal((n, 1))

        def smln_step(Z=Z, dZt=dZt, gamma=gamma, beta=beta):
            out, cache = batchnorm.batchnorm_forward(Z, gamma, beta)
            return batchnorm.batchnorm_backward(dZt, cache)

        label = f"forward + backward, {n} × {m}, vs torch autograd"
        if torch is None:
            rows.append(Row("batchnorm", label, median_time(smln_step, repeat), None, 1.0, "torch not installed"))
            continue
        x = torch.from_numpy(Z.T.copy()).requires_grad_()  # torch: (m, n)
        w = torch.from_numpy(gamma[:, 0].copy()).requires_grad_()
        b = torch.from_numpy(beta[:, 0].copy()).requires_grad_()
        g = torch.from_numpy(dZt.T.copy())

        def torch_step(x=x, w=w, b=b, g=g):
            x.grad = w.grad = b.grad = None
            y = torch.nn.functional.batch_norm(x, None, None, w, b, training=True, eps=1e-8)
            y.backward(g)

        t = median_times({"smln": smln_step, "torch": torch_step}, repeat)
        rows.append(Row("batchnorm", label, t["smln"], t["torch"], 1.0))
    return rows


def _torch_recurrent(torch, kind, params, n_x, n_a):
    """torch.nn.LSTM / torch.nn.GRU holding the same weights as smln's LSTM / reset-after GRU (b_hn = 0)."""
    net = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(n_x, n_a).double()
    # torch's gate order: LSTM (i, f, g, o) = (Γ_u, Γ_f, c̃, Γ_o); GRU (r, z, n) with z = 1 − Γ_u
    if kind == "lstm":
        order, sign = ("Wu", "Wf", "Wc", "Wo"), (1, 1, 1, 1)
    else:
        order, sign = ("Wr", "Wu", "Wc"), (1, -1, 1)
    W = np.concatenate([s * params[k] for k, s in zip(order, sign, strict=True)])
    b = np.concatenate([s * params["b" + k[1:]] for k, s in zip(order, sign, strict=True)])[:, 0]
    with torch.no_grad():
        net.weight_hh_l0.copy_(torch.from_numpy(W[:, :n_a]))
        net.weight_ih_l0.copy_(torch.from_numpy(W[:, n_a:]))
        net.bias_ih_l0.copy_(torch.from_numpy(b))
        net.bias_hh_l0.zero_()
    return net


def case_recurrent(quick: bool) -> list[Row]:
    """One layer, forward + BPTT, n_x = 64, n_a = 128, m = 32, T = 32, float64: LSTM and GRU against torch autograd.

    Before timing, each pair is checked to compute the same thing: torch's module gets smln's weights and the outputs
    and input gradients must agree (the GRU is smln's ``reset_after=True``, PyTorch's placement of the reset gate).
    """
    n_x, n_a, m, T = (8, 16, 4, 5) if quick else (64, 128, 32, 32)
    repeat = 5 if quick else 30
    rng = np.random.default_rng(2)
    X, dA = rng.standard_normal((n_x, m, T)), rng.standard_normal((n_a, m, T))
    torch = _torch()
    rows = []
    for kind, init, forward, backward, options in (
            ("lstm", lstm.init_lstm_params, lstm.lstm_layer_forward, lstm.lstm_layer_backward, {}),
            ("gru", gru.init_gru_params, gru.gru_layer_forward, gru.gru_layer_backward, {"reset_after": True})):
        params = init(n_x, n_a, None, rng)
        params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}

        def smln_step(params=params, forward=forward, backward=backward, options=options):
            A, cache = forward(X, None, params, **options)
            return A, backward(sequence.time_major(dA), cache)

        label = f"{kind.upper()} forward + BPTT vs torch.nn.{kind.upper()}"
        if torch is None:
            rows.append(Row("recurrent", label, median_time(smln_step, repeat), None, 1.0, "torch not installed"))
            continue
        net = _torch_recurrent(torch, kind, params, n_x, n_a)
        x = torch.from_numpy(X.transpose(2, 1, 0).copy()).requires_grad_()  # torch: (T, m, n_x)
        g = torch.from_numpy(dA.transpose(2, 1, 0).copy())

        def torch_step(net=net, x=x, g=g):
            net.zero_grad()
            x.grad = None
            out, _ = net(x)
            out.backward(g)
            return out

        out = torch_step()
        A, (dX, _) = smln_step()
        if not (np.allclose(out.detach().numpy().transpose(2, 1, 0), sequence.batch_major(A), atol=1e-10)
                and np.allclose(x.grad.numpy().transpose(2, 1, 0), sequence.batch_major(dX), atol=1e-10)):
            raise AssertionError(f"{kind}: smln and torch disagree on the same weights")
        t = median_times({"smln": smln_step, "torch": torch_step}, repeat)
        rows.append(Row("recurrent", label, t["smln"], t["torch"], 1.0, "outputs and input gradients checked equal"))
    return rows


def case_cells(quick: bool) -> list[Row]:
    """A Python loop of 32 cell steps (n_x 64, n_a 128, m 32) against the same loop over torch.nn.LSTMCell / GRUCell,
    with autograd on (torch records its graph as smln keeps its caches), the same weights, outputs checked equal."""
    n_x, n_a, m, T = (8, 16, 4, 4) if quick else (64, 128, 32, 32)
    repeat = 5 if quick else 30
    rng = np.random.default_rng(3)
    X = rng.standard_normal((T, n_x, m))
    torch = _torch()
    rows = []
    for kind in ("lstm", "gru"):
        if kind == "lstm":
            params = lstm.init_lstm_params(n_x, n_a, 10, rng)  # the cell functions include the output layer (n_y 10)

            def smln_loop(params=params):
                a = c = np.zeros((n_a, m))
                for t in range(T):
                    a, c, _, _ = lstm.lstm_cell_forward(X[t], a, c, params)
                return a
        else:
            params = gru.init_gru_params(n_x, n_a, 10, rng)

            def smln_loop(params=params):
                c = np.zeros((n_a, m))
                for t in range(T):
                    c, _, _ = gru.gru_cell_forward(X[t], c, params, reset_after=True)
                return c

        params.update({k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()})
        label = f"{T} calls of {kind}_cell_forward vs torch.nn.{kind.upper()}Cell"
        if torch is None:
            rows.append(Row("cells", label, median_time(smln_loop, repeat), None, 1.2, "torch not installed"))
            continue
        net = _torch_recurrent(torch, kind, params, n_x, n_a)
        cell = (torch.nn.LSTMCell if kind == "lstm" else torch.nn.GRUCell)(n_x, n_a).double()
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(getattr(net, name + "_l0"))
        x = torch.from_numpy(X.transpose(0, 2, 1).copy())

        def torch_loop(cell=cell, x=x, kind=kind):
            h = torch.zeros(m, n_a, dtype=torch.float64)
            state = (h, h) if kind == "lstm" else h
            for t in range(T):
                state = cell(x[t], state)
            return state[0] if kind == "lstm" else state

        if not np.allclose(torch_loop().detach().numpy().T, smln_loop(), atol=1e-10):
            raise AssertionError(f"{kind}: the cell loops disagree on the same weights")
        t = median_times({"smln": smln_loop, "torch": torch_loop}, repeat)
        rows.append(Row("cells", label, t["smln"], t["torch"], 1.2, "outputs checked equal"))
    return rows


KERNEL_CALLS = """
import time
start = time.perf_counter()
import numpy as np
from smln import batchnorm, optim, validation
from smln.word2vec import Word2Vec
Word2Vec(dim=4, min_count=1, rng=0, progress=False).fit([["a", "b", "c"]])
for opt in (optim.GradientDescent(0.1), optim.Momentum(0.1), optim.RMSprop(0.1), optim.Adam()):
    opt.step({"W": np.ones(3)}, {"W": np.ones(3)})
out, cache = batchnorm.batchnorm_forward(np.ones((2, 3)), np.ones((2, 1)), np.zeros((2, 1)))
batchnorm.batchnorm_backward(out, cache)
validation.check_array(np.ones(3), "x")
print(time.perf_counter() - start)
"""


def case_compile(quick: bool) -> list[Row]:
    """The compile time of every kernel, paid on its first call: a fresh process that calls each kernel once with an
    empty Numba cache, minus the same process run again with the cache the first one left (then nothing compiles)."""
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        cold, warm = (float(subprocess.run([sys.executable, "-c", KERNEL_CALLS], env=env, capture_output=True,
                                           text=True, check=True, cwd=ROOT).stdout) for _ in range(2))
    return [Row("compile", "first call of every kernel (word2vec, optimizers, batch norm, checks)", cold - warm, None,
                None, f"{cold:.1f} s with an empty cache, {warm:.1f} s with the cache; paid once per installation")]


def _corpus() -> list[list[str]]:
    """The standard library's language reference, one sentence per line (the chapter-5 demonstration's corpus)."""
    from pydoc_data.topics import topics

    text = "\n".join(topics[k] for k in sorted(topics))
    return [s for s in (tokenize(line) for line in text.splitlines()) if s]


def _timed(fn):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def _peak(fn):
    """(result, seconds, peak bytes allocated through Python's allocators — NumPy's arrays included)."""
    import tracemalloc

    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak


def _gensim_corpora(quick: bool) -> dict[str, list[list[str]]]:
    """Real English that ships with gensim's tests: news (the Lee corpus) and stemmed Wikipedia (head500)."""
    import gensim
    from gensim.utils import simple_preprocess

    data = Path(gensim.__file__).parent / "test" / "test_data"
    found = {}
    for name, label in (("lee_background.cor", "news (Lee corpus)"), ("head500.noblanks.cor", "Wikipedia, stemmed")):
        lines = (data / name).read_text(encoding="utf-8", errors="replace").splitlines()
        found[label] = [s for s in map(simple_preprocess, lines[: 20 if quick else None]) if s]
    return found


def _word2vec_quality(smln_model, gmodel) -> dict[str, tuple]:
    """The same evaluators (gensim's) on both models: Spearman on WordSim-353 and SimLex-999, analogy accuracy on
    questions-words.txt, each on what both vocabularies hold; and the overlap of the 10 nearest neighbours.
    Measure → (smln's value, gensim's value, how many pairs or probes)."""
    import gensim
    from gensim.models import KeyedVectors

    data = Path(gensim.__file__).parent / "test" / "test_data"
    mine = KeyedVectors(smln_model.dim)
    vocab = smln_model.vocab_.words[1:]  # without <UNK>
    mine.add_vectors(vocab, smln_model.vectors_.E.T[1:])
    common = set(vocab) & set(gmodel.wv.index_to_key)
    found = {}
    probes = [w for w in gmodel.wv.index_to_key[20:120] if w in common][:50]  # frequent words, past the stop words
    overlap = np.mean([len({w for w, _ in mine.most_similar(p, topn=10)} & {w for w, _ in gmodel.wv.most_similar(p, topn=10)})
                       for p in probes])
    found["top-10 overlap"] = (overlap, None, len(probes))
    for name in ("wordsim353.tsv", "simlex999.txt"):
        pairs = [line.split("\t")[:2] for line in (data / name).read_text(encoding="utf-8").splitlines()
                 if line and not line.startswith("#")]
        n = sum(a.lower() in common and b.lower() in common for a, b in pairs)
        if n >= 20:
            rho = [kv.evaluate_word_pairs(data / name, restrict_vocab=10**6, case_insensitive=True)[1].statistic
                   for kv in (mine, gmodel.wv)]
            found[name.split(".")[0]] = (rho[0], rho[1], n)
    acc = [kv.evaluate_word_analogies(data / "questions-words.txt", restrict_vocab=10**6)[0] for kv in (mine, gmodel.wv)]
    found["analogies"] = (acc[0], acc[1], None)
    return found


def _quality_notes(runs: list[dict[str, tuple]]) -> list[str]:
    """The measures of ``_word2vec_quality``, averaged over the runs (one per seed, both libraries each time); a
    correlation also with its standard deviation from seed to seed, the scale on which two means can be told apart."""
    notes = []
    for key in runs[0]:
        values = [[r[key][k] for r in runs] if runs[0][key][k] is not None else None for k in (0, 1)]
        (mine, theirs), n = (float(np.mean(v)) if v is not None else None for v in values), runs[0][key][2]
        if key == "top-10 overlap":
            notes.append(f"top-10 overlap {mine:.1f}/10 on {n} words")
        elif key == "analogies":
            notes.append(f"analogies {mine:.1%} vs {theirs:.1%}")
        else:
            sd = [float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for v in values]
            notes.append(f"{key} ({n} pairs) ρ {mine:.3f} ± {sd[0]:.3f} vs {theirs:.3f} ± {sd[1]:.3f}")
    return notes


def case_word2vec(quick: bool) -> list[Row]:
    """Skip-gram with negative sampling against gensim's Word2Vec (one worker, the same settings), words per second.

    The ratio is of times (smln ÷ gensim; the aim, at least gensim's words per second, is a ratio ≤ 1), on three real
    corpora of different sizes: the chapter's (the standard library's language reference) and two that ship with
    gensim's tests. Beside it: the same quality measures on both models (gensim's own evaluators, averaged over five
    seeds), the peak memory of each (a separate run, traced), and the compile time of the kernels on their first call
    (paid once: the compiled code is cached).
    """
    settings = {"dim": 100, "window": 5, "negative": 5, "epochs": 1 if quick else 5, "min_count": 5}
    word2vec.Word2Vec(dim=4, min_count=1, rng=0, progress=False).fit([["a", "b", "c"]])  # compiled (or cached) first
    corpus = _corpus()[: 600 if quick else None]
    try:
        from gensim.models import Word2Vec as GensimWord2Vec
    except ImportError:
        _, t_smln, _ = _peak(lambda: word2vec.Word2Vec(rng=0, progress=False, **settings).fit(corpus))
        return [Row("word2vec", f"Python language reference × {settings['epochs']} epochs", t_smln, None, 1.0,
                    "gensim not installed")]
    corpora = {"Python language reference": corpus, **_gensim_corpora(quick)}
    rows = []

    def fit_smln(corpus, seed):
        return word2vec.Word2Vec(rng=np.random.default_rng(seed), progress=False, **settings).fit(corpus)

    def fit_gensim(corpus, seed):
        return GensimWord2Vec(corpus, vector_size=settings["dim"], window=settings["window"],
                              negative=settings["negative"], epochs=settings["epochs"],
                              min_count=settings["min_count"], sg=1, workers=1, seed=seed)

    for label, corpus in corpora.items():
        words = sum(map(len, corpus))
        # timed untraced (tracing every allocation slows Python code unevenly); the peak from a second, traced run
        (fitted, t_smln), (gmodel, t_gensim) = (_timed(lambda fit=fit, corpus=corpus: fit(corpus, 0))
                                                for fit in (fit_smln, fit_gensim))
        peak_smln, peak_gensim = (_peak(lambda fit=fit, corpus=corpus: fit(corpus, 0))[2]
                                  for fit in (fit_smln, fit_gensim))
        # quality: the mean over five seeds of both (one run's ρ on some dozens of pairs moves by a few hundredths
        # from seed to seed, more than the differences compared)
        quality = [] if quick else _quality_notes([_word2vec_quality(fitted, gmodel)] + [
            _word2vec_quality(fit_smln(corpus, seed), fit_gensim(corpus, seed)) for seed in (1, 2, 3, 4)])
        notes = [f"{words * settings['epochs'] / t_smln:,.0f} vs {words * settings['epochs'] / t_gensim:,.0f} words/s",
                 *quality, f"peak {peak_smln / 2**20:.0f} vs {peak_gensim / 2**20:.0f} MB"]
        rows.append(Row("word2vec", f"{label}: {words:,} words × {settings['epochs']} epochs vs gensim", t_smln,
                        t_gensim, 1.0, "; ".join(notes)))
    return rows


def _stdlib_corpus() -> list[list[str]]:
    """A larger real text that ships with Python: the standard library's own source (no tests), one line a sentence."""
    import sysconfig

    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts and "test" not in p.parts)
    lines = (line for f in files for line in f.read_text(encoding="utf-8", errors="replace").splitlines())
    return [s for s in map(tokenize, lines) if s]


def case_glove(quick: bool) -> list[Row]:
    """GloVe's co-occurrence counting and one epoch of training on two corpus sizes: time, non-zero pairs, peak memory.

    The corpus is the standard library's source. The peak grows with the non-zero pairs, while a dense V × V matrix
    (the size quoted beside it) grows with V² and would not fit in memory at the larger size.
    """
    corpus = _stdlib_corpus()
    total = sum(map(len, corpus))
    rows = []
    for target in ((20_000, 80_000) if quick else (total // 4, total)):
        part, n = [], 0
        for sentence in corpus:
            if n >= target:
                break
            part.append(sentence)
            n += len(sentence)
        vocab = Vocabulary((w for s in part for w in s), min_count=5)
        ids = [v[v > 0] for v in (vocab.encode(s) for s in part)]
        (r, c, X), t_count, peak_count = _peak(lambda ids=ids, vocab=vocab: glove.cooccurrence(ids, len(vocab), 10))
        V, nnz = len(vocab), X.size
        rows.append(Row("glove", f"co-occurrence counts, {n:,} words", t_count, None, None,
                        f"V = {V:,}, nnz = {nnz:,} ({nnz / V**2:.2%} of V²); peak {peak_count / 2**20:.0f} MB "
                        f"({peak_count / nnz:.0f} B per pair); a dense V × V float64 matrix: {8 * V**2 / 2**30:.2f} GB"))
        _, t_train, peak_train = _peak(lambda part=part: glove.GloVe(dim=50, epochs=1, min_count=5,
                                                                     rng=np.random.default_rng(0), progress=False).fit(part))
        rows.append(Row("glove", f"counting + 1 epoch of training, {n:,} words", t_train, None, None,
                        f"peak {peak_train / 2**20:.0f} MB"))
    return rows


def _torch_seq2seq(torch, params, n_a, n_s):
    """The same attention encoder–decoder in PyTorch, holding smln's weights: a bidirectional ``nn.LSTM`` encoder, the
    additive attention written with tensor operations, an ``nn.LSTMCell`` decoder and a linear output layer."""
    def gates(prefix, n):  # smln's [h; x] columns and (f, u, o, c) rows → torch's hh, ih and (i, f, g, o) rows
        W = np.concatenate([params[f"{prefix}.W{k}"] for k in "ufco"])
        b = np.concatenate([params[f"{prefix}.b{k}"] for k in "ufco"])[:, 0]
        return W[:, :n], W[:, n:], b

    n_x = params["enc_f.Wf"].shape[1] - n_a
    encoder = torch.nn.LSTM(n_x, n_a, bidirectional=True).double()
    decoder = torch.nn.LSTMCell(params["dec.Wf"].shape[1] - n_s, n_s).double()
    t = {k: torch.from_numpy(params[k].copy()).requires_grad_() for k in ("att.Ws", "att.Wa", "att.b", "att.v",
                                                                           "Wy", "by")}
    with torch.no_grad():
        for suffix, prefix in (("l0", "enc_f"), ("l0_reverse", "enc_b")):
            hh, ih, b = gates(prefix, n_a)
            getattr(encoder, f"weight_hh_{suffix}").copy_(torch.from_numpy(hh))
            getattr(encoder, f"weight_ih_{suffix}").copy_(torch.from_numpy(ih))
            getattr(encoder, f"bias_ih_{suffix}").copy_(torch.from_numpy(b))
            getattr(encoder, f"bias_hh_{suffix}").zero_()
        hh, ih, b = gates("dec", n_s)
        decoder.weight_hh.copy_(torch.from_numpy(hh))
        decoder.weight_ih.copy_(torch.from_numpy(ih))
        decoder.bias_ih.copy_(torch.from_numpy(b))
        decoder.bias_hh.zero_()

    def loss(x, y_in, y):
        """x (T_x, m, n_x), y_in (T_y, m, n_y) one-hot, y (T_y, m) class indices → the summed cross-entropy / m."""
        A, _ = encoder(x)  # (T_x, m, 2 n_a)
        P = A @ t["att.Wa"].T + t["att.b"][:, 0]  # (T_x, m, n_e)
        s = c = torch.zeros(x.shape[1], n_s, dtype=x.dtype)
        states = []
        for step in range(y_in.shape[0]):
            e = torch.tanh(P + s @ t["att.Ws"].T) @ t["att.v"][0]  # (T_x, m)
            alpha = torch.softmax(e, dim=0)
            context = (alpha[:, :, None] * A).sum(dim=0)
            s, c = decoder(torch.cat([context, y_in[step]], dim=1), (s, c))
            states.append(s)
        Z = torch.stack(states) @ t["Wy"].T + t["by"][:, 0]  # (T_y, m, n_y)
        return torch.nn.functional.cross_entropy(Z.reshape(-1, Z.shape[2]), y.reshape(-1), reduction="sum") / x.shape[1]

    return loss, [*encoder.parameters(), *decoder.parameters(), *t.values()], t


def case_seq2seq(quick: bool) -> list[Row]:
    """One training step (forward, loss, backward) of the chapter-6 date translator against the same model in PyTorch.

    A batch of m = 64 dates (T_x = 29 input characters, T_y = 11 output characters) and the Translator's default sizes
    (n_a = 32, n_s = 64, n_e = 16), float64. Before timing, torch's model gets smln's weights and the loss and the
    attention and output gradients must agree.
    """
    from smln.dates import make_dates
    from smln.seq2seq import Translator, seq2seq_backward, seq2seq_forward

    m, sizes, repeat = (4, {"n_a": 4, "n_s": 6, "n_e": 3}, 5) if quick else (64, {}, 20)
    pairs = make_dates(2000, np.random.default_rng(3))
    model = Translator(**sizes, max_steps=1, rng=np.random.default_rng(4), progress=False).fit([s for s, _ in pairs],
                                                                                              [t for _, t in pairs])
    X, Y_in, Y = model._batch([s for s, _ in pairs[:m]], [t for _, t in pairs[:m]])
    params = model.params_

    def smln_step():
        Z, cache = seq2seq_forward(X, Y_in, params)
        L, dZ = losses.cross_entropy(Z, Y)
        return L, seq2seq_backward(dZ, cache)

    label = "attention seq2seq training step vs PyTorch"
    torch = _torch()
    if torch is None:
        return [Row("seq2seq", label, median_time(smln_step, repeat), None, 2.0, "torch not installed")]
    loss, parameters, named = _torch_seq2seq(torch, params, model.n_a, model.n_s)
    x, y_in = (torch.from_numpy(a.transpose(2, 1, 0).copy()) for a in (X, Y_in))
    y = torch.from_numpy(Y.argmax(axis=0).T.copy())

    def torch_step():
        for p in parameters:
            p.grad = None
        L = loss(x, y_in, y)
        L.backward()
        return L

    L_torch, (L, grads) = torch_step(), smln_step()
    if not (np.isclose(L_torch.item(), L, rtol=1e-10)
            and all(np.allclose(named[k].grad.numpy(), grads[k], rtol=1e-7, atol=1e-10) for k in named)):
        raise AssertionError("seq2seq: smln and torch disagree on the same weights")
    t = median_times({"smln": smln_step, "torch": torch_step}, repeat)
    return [Row("seq2seq", label, t["smln"], t["torch"], 2.0,
                f"m = {m}, T_x = {X.shape[2]}, T_y = {Y.shape[2]}; loss, attention and output gradients checked equal")]


def case_logistic(quick: bool) -> list[Row]:
    """Logistic regression on scikit-learn's breast-cancer data: fit time and test accuracy against scikit-learn's
    ``LogisticRegression`` with its defaults (L-BFGS, C = 1, the same objective as smln's default λ = 1).

    A stratified 70/30 split, standardised with the training set's statistics. Accuracy within one point is the aim;
    the time of the mini-batch Adam the note teaches is reported, the full-batch Newton solver's aims at 2× L-BFGS.
    """
    try:
        from sklearn.datasets import load_breast_cancer
        from sklearn.linear_model import LogisticRegression as Sklearn
        from sklearn.model_selection import train_test_split
    except ImportError:
        return [Row("logistic", "fit on breast cancer vs scikit-learn", float("nan"), None, None,
                    "scikit-learn not installed")]
    from smln.logistic import LogisticRegression

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    repeat = 3 if quick else 15
    ours = LogisticRegression(rng=0, progress=False).fit(X_train.T, y_train[None])
    theirs = Sklearn().fit(X_train, y_train)
    acc_ours, acc_theirs = ours.score(X_test.T, y_test[None]), theirs.score(X_test, y_test)
    if abs(acc_ours - acc_theirs) > 0.01:
        raise AssertionError(f"logistic: test accuracy {acc_ours:.3f} is not within a point of scikit-learn's "
                             f"{acc_theirs:.3f}")
    newton = LogisticRegression(solver="newton", progress=False).fit(X_train.T, y_train[None])
    acc_newton = newton.score(X_test.T, y_test[None])
    t = median_times({"sklearn": lambda: Sklearn().fit(X_train, y_train),
                      "adam": lambda: LogisticRegression(rng=0, progress=False).fit(X_train.T, y_train[None]),
                      "newton": lambda: LogisticRegression(solver="newton", progress=False).fit(X_train.T, y_train[None])},
                     repeat, warmup=1)
    return [Row("logistic", "fit on breast cancer (Adam) vs scikit-learn", t["adam"], t["sklearn"], None,
                f"test accuracy {acc_ours:.1%} vs {acc_theirs:.1%} ({ours.n_iter_} epochs of Adam vs L-BFGS)"),
            Row("logistic", "fit on breast cancer (Newton) vs scikit-learn", t["newton"], t["sklearn"], 2.0,
                f"test accuracy {acc_newton:.1%} vs {acc_theirs:.1%} ({newton.n_iter_} Newton steps)")]


def _edit_loop_seconds() -> float:
    """Wall time of ``python -m litnotes.changed`` after flipping the sign of Adam's update in a committed copy of the
    repository (the scenario of tests/test_tangle.py): tangling, planning, and the run up to its first failure."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        for name in ("notes", "smln", "smln_site", "litnotes", "hooks", "tests", "original"):
            shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
        for name in ("mkdocs.yml", "tangle.py", "fidelity.py", "pyproject.toml"):
            shutil.copy(ROOT / name, repo / name)
        env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
               "GIT_COMMITTER_EMAIL": "b@b"}
        for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "notes"]):
            subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)
        note = repo / "notes" / "02b-optimizers.md"
        text = note.read_text(encoding="utf-8")
        flip = text.index("W[i] -= a * (V[i] / c1)")  # the sign of Adam's update
        note.write_text(text[:flip] + "W[i] += a" + text[flip + len("W[i] -= a"):], encoding="utf-8")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "litnotes.changed", "-q"], cwd=repo, env=env, capture_output=True,
                              text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 1 or "FAILED tests/test_optimizers.py" not in done.stdout:
            raise AssertionError(f"the edit loop did not fail on the optimizer tests:\n{done.stdout[-2000:]}")
        return seconds


def case_loop(quick: bool) -> list[Row]:
    """The working loop: tangling every note (and, at full size, the edit loop, the fast set with and without the
    cache of SymPy derivations, the whole suite and the site build). Reported only."""
    def run(*cmd):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
        return time.perf_counter() - start

    rows = [Row("loop", "python tangle.py --check", run(sys.executable, "tangle.py", "--check"), None, None)]
    if not quick:
        rows.append(Row("loop", "edit loop: Adam's sign flipped → first failure", _edit_loop_seconds(), None, None,
                        "python -m litnotes.changed in a committed copy of the repository; aim ≤ 15 s"))
        fast = [sys.executable, "-m", "pytest", "-q", "-m", "not site"]
        rows.append(Row("loop", 'pytest -m "not site" (SymPy derivations computed afresh)',
                        run(*fast, "-p", "no:cacheprovider"), None, None,
                        "-p no:cacheprovider: no cache read or written, as on a fresh clone"))
        run(*fast)  # fills the cache of SymPy derivations, if it was empty
        rows.append(Row("loop", 'pytest -m "not site"', run(*fast), None, None,
                        "the SymPy derivations read from pytest's cache; aim ≤ 60 s"))
        rows.append(Row("loop", "pytest (the whole suite)", run(sys.executable, "-m", "pytest", "-q"), None, None,
                        "aim ≤ 5 min"))
        rows.append(Row("loop", "mkdocs build", run(sys.executable, "-m", "mkdocs", "build", "-q", "-d",
                                                     str(Path(os.environ.get("TMPDIR", "/tmp")) / "smln-bench-site")),
                        None, None))
    return rows


CASES = {"optimizer": case_optimizer, "batchnorm": case_batchnorm, "recurrent": case_recurrent, "cells": case_cells,
         "word2vec": case_word2vec, "glove": case_glove, "seq2seq": case_seq2seq,
         "logistic": case_logistic, "compile": case_compile, "loop": case_loop}


# ------------------------------------------------------------------------------------------------------------


def machine() -> dict:
    info = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "threads": 1}
    torch = _torch()
    if torch is not None:
        info["torch"] = torch.__version__
    return info


def table(rows: list[Row]) -> str:
    lines = [f"{'case':10} {'variant':42} {'smln':>10} {'other':>10} {'ratio':>7} {'aim':>6}  note"]
    for r in rows:
        other = f"{r.other_s * 1e3:9.3f}m" if r.other_s is not None else f"{'—':>10}"
        ratio = f"{r.ratio:7.2f}" if r.ratio is not None else f"{'—':>7}"
        aim = f"≤{r.aim:4.1f}" if r.aim is not None else f"{'':6}"
        miss = " ✗" if r.aim is not None and r.ratio is not None and r.ratio > r.aim else ""
        lines.append(f"{r.case:10} {r.variant:42} {r.smln_s * 1e3:9.3f}m {other} {ratio} {aim}{miss}  {r.note}")
    return "\n".join(lines) + "\n(times are medians in milliseconds; ratio = smln ÷ counterpart)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every case at a tiny size")
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="only this case (repeatable)")
    parser.add_argument("--json", type=Path, help="write the results (and the machine) here")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for name in args.case or list(CASES):
        print(f"… {name}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        rows += CASES[name](args.quick)
        print(f"  {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        new = [{**asdict(r), "ratio": r.ratio} for r in rows]
        kept = []  # with --case, the other cases' rows of a previous run at the same size stay in the file
        if args.case and args.json.exists():
            old = json.loads(args.json.read_text(encoding="utf-8"))
            if old.get("quick") == args.quick:
                kept = [r for r in old["rows"] if r["case"] not in args.case]
        order = list(CASES)
        data = {"machine": machine(), "quick": args.quick,
                "rows": sorted(kept + new, key=lambda r: order.index(r["case"]))}  # stable: rows keep their order
        args.json.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
