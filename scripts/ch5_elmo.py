#!/usr/bin/env python3
"""Train the chapter-5 ELMo biLM once, with a fixed seed, and save what the note shows.

    python scripts/ch5_elmo.py                           # the committed run (about 2 minutes on an idle core: 134 s of training)
    python scripts/ch5_elmo.py --steps 3 --out /tmp/x.json   # the first steps of the same run (no probes)

The text is the standard library's ``pydoc_data.topics`` (no download), the corpus of the chapter's other
demonstrations. Writes ``notes/assets/data/ch5-elmo.json``: the training loss, the unigram entropy, and for each probe
word two sentences using it in different senses — the cosine similarity of the word's two vectors layer by layer, and
the corpus contexts whose ELMo vector for the word is nearest to each sentence's.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread: the same sums every run
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import demo_json  # noqa: E402
from smln.elmo import BiLM, elmo_embed  # noqa: E402
from smln.embeddings import tokenize  # noqa: E402

SEED = 2024
OUT = ROOT / "notes" / "assets" / "data" / "ch5-elmo.json"
CONFIG = {"epochs": 100, "max_steps": 1500, "alpha": 0.005}  # the rest are BiLM's defaults; 1500 steps ≈ 15 epochs
WINDOW = 10  # a corpus occurrence is read in the context of this many words on each side
CONTEXTUAL = [-np.inf, 0.0, 0.0]  # the scalar mix that ranks neighbours: the two LSTM layers (s = ½, ½), not x_k
PROBES = {
    "set": ["a set is an unordered collection of distinct hashable objects",
            "the attribute is set to none if no value is given"],
    "return": ["the return value of the function is an integer",
               "the function will return a new list of items"],
}


def corpus() -> list[str]:
    from pydoc_data.topics import topics

    return tokenize("\n".join(topics[k] for k in sorted(topics)))


def cosine(u: np.ndarray, v: np.ndarray) -> float:
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def probe(model: BiLM, tokens: list[str], word: str, sentences: list[str]) -> dict:
    where = [i for i, t in enumerate(tokens) if t == word]
    contexts = [tokens[max(0, i - WINDOW) : i + WINDOW + 1] for i in where]
    centre = [min(i, WINDOW) for i in where]
    vectors = np.array([elmo_embed(model, c, w=CONTEXTUAL)[:, k] for c, k in zip(contexts, centre, strict=True)])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    out = {"occurrences": len(where), "sentences": []}
    layers = []
    for sentence in sentences:
        words = sentence.split()
        k = words.index(word)
        layers.append([h[:, k] for h in model.layers(words)])
        v = elmo_embed(model, words, w=CONTEXTUAL)[:, k]
        sims = vectors @ (v / np.linalg.norm(v))
        nearest = [{"cosine": round(float(sims[j]), 3),
                    "context": " ".join(contexts[j][max(0, centre[j] - 6) : centre[j] + 7])}
                   for j in np.argsort(-sims)[:4]]
        out["sentences"].append({"sentence": sentence, "nearest": nearest})
    out["cosine_by_layer"] = [round(cosine(a, b), 4) for a, b in zip(*layers, strict=True)]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=CONFIG["max_steps"])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    tokens = corpus()
    start = time.perf_counter()
    model = BiLM(**{**CONFIG, "max_steps": args.steps}, rng=np.random.default_rng([SEED, zlib.crc32(b"elmo")])).fit(tokens)
    seconds = time.perf_counter() - start
    counts = model.vocab_.counts[model.vocab_.counts > 0] / model.vocab_.counts.sum()
    run = {"seed": SEED, "config": CONFIG, "words": len(tokens), "vocabulary": len(model.vocab_),
           "seconds": round(seconds, 1), "unigram_entropy": float(-(counts * np.log(counts)).sum()),
           "history": [float(f"{x:.6g}") for x in model.history_]}
    if args.steps == CONFIG["max_steps"]:
        run["probes"] = {word: probe(model, tokens, word, sentences) for word, sentences in PROBES.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    demo_json.write(args.out, run)
    print(f"{len(model.history_)} steps in {seconds:.1f} s → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
