#!/usr/bin/env python3
"""Train the chapter-5 embeddings once, with a fixed seed, and save what the note shows.

    python scripts/ch5_embeddings.py                      # the committed run (about 20 s on one core)
    python scripts/ch5_embeddings.py --out /tmp/x.json    # the same run, elsewhere (the test compares the two)
    python scripts/ch5_embeddings.py --short --out /tmp/x.json   # word2vec whole, the first epochs of GloVe and the
                                                                 # neural LM (their losses begin as the committed run's)

The text is the standard library's ``pydoc_data.topics`` (no download), one sentence per line. Trains word2vec
(skip-gram with negative sampling), GloVe and the fixed-window neural language model with smln, and writes
``notes/assets/data/ch5-embeddings.json``: the losses, the nearest neighbours of the probe words, and a 2-D PCA
projection of a few dozen words for each model.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread: the same sums every run
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import demo_json  # noqa: E402
from smln import glove, word2vec  # noqa: E402
from smln.embeddings import WordVectors, tokenize  # noqa: E402

SEED = 2024
OUT = ROOT / "notes" / "assets" / "data" / "ch5-embeddings.json"
PROBES = ["list", "class", "integer", "string", "exception", "true", "function", "file"]
MAP_WORDS = ["list", "tuple", "dictionary", "set", "sequence", "mapping", "string", "bytes", "integer", "float",
             "number", "class", "instance", "object", "method", "function", "module", "attribute", "exception",
             "error", "raise", "except", "try", "finally", "true", "false", "none", "if", "else", "while", "for",
             "return", "yield", "import", "lambda", "loop", "file", "line"]


def sentences() -> list[list[str]]:
    from pydoc_data.topics import topics

    text = "\n".join(topics[k] for k in sorted(topics))
    return [s for s in (tokenize(line) for line in text.splitlines()) if s]


def pca_2d(model: WordVectors, words: list[str]) -> dict[str, list[float]]:
    """The first two principal components of the unit-length vectors of ``words`` (NumPy's SVD)."""
    V = np.stack([model.vector(w) / np.linalg.norm(model.vector(w)) for w in words])
    V = V - V.mean(axis=0)
    U, S, _ = np.linalg.svd(V, full_matrices=False)
    xy = U[:, :2] * S[:2]
    xy *= np.sign(xy[0])  # the sign of a principal component is arbitrary: fix it by the first word
    return {w: [round(float(a), 5) for a in p] for w, p in zip(words, xy, strict=True)}


def describe(model, seconds: float) -> dict:
    vectors = model.vectors_
    words = [w for w in MAP_WORDS if w in vectors.vocab]
    return {"seconds": round(seconds, 1), "vocabulary": len(vectors.vocab), "loss": [float(x) for x in model.history_],
            "neighbours": {p: [[w, round(s, 4)] for w, s in vectors.most_similar(p, 8)] for p in PROBES},
            "map": pca_2d(vectors, words)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--short", action="store_true",
                        help="GloVe 2 epochs and the neural LM 1 (their schedules do not depend on the epoch count)")
    args = parser.parse_args(argv)
    corpus = sentences()
    data = {"seed": SEED, "sentences": len(corpus), "words": sum(map(len, corpus)), "models": {}}
    start = time.perf_counter()
    w2v = word2vec.Word2Vec(dim=100, window=5, negative=5, epochs=5, min_count=5, rng=np.random.default_rng(SEED),
                            progress=False).fit(corpus)
    data["models"]["word2vec"] = describe(w2v, time.perf_counter() - start)
    start = time.perf_counter()
    glv = glove.GloVe(dim=50, window=10, epochs=2 if args.short else 25, min_count=5, rng=np.random.default_rng(SEED),
                      progress=False).fit(corpus)
    data["models"]["glove"] = describe(glv, time.perf_counter() - start) | {"nnz": int(glv.nnz_)}
    start = time.perf_counter()
    nlm = word2vec.NeuralLM(d=32, n=4, n_h=128, epochs=1 if args.short else 3, min_count=5, rng=np.random.default_rng(SEED),
                            progress=False).fit([w for s in corpus for w in s])
    data["models"]["nlm"] = describe(nlm, time.perf_counter() - start)
    for name, model in data["models"].items():
        print(f"{name}: {model['seconds']} s, loss {model['loss'][0]:.3f} → {model['loss'][-1]:.3f}", file=sys.stderr)
    demo_json.write(args.out, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
