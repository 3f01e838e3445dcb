#!/usr/bin/env python3
"""Train the chapter-6 date translator once, with a fixed seed, and save what the note shows.

    python scripts/ch6_dates.py                          # the committed run (about 30 s on an idle core: 16 s of training)
    python scripts/ch6_dates.py --steps 5 --out /tmp/x.json   # the first steps of the same run

The data are made by ``smln.dates.make_dates`` (Python's ``datetime``; no download): 20,000 training pairs and a
held-out set of 1,000. Writes ``notes/assets/data/ch6-dates.json``: the training loss, exact-match accuracy and BLEU
of greedy and beam search on the held-out set at a half-trained checkpoint and at the end, the error analysis of the
checkpoint's beam-search mistakes, examples where greedy and beam search disagree, and three attention maps.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread: the same sums every run
    os.environ[_var] = "1"

import argparse  # noqa: E402
import copy  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import demo_json  # noqa: E402
from smln.bleu import corpus_bleu  # noqa: E402
from smln.dates import make_dates  # noqa: E402
from smln.seq2seq import Translator  # noqa: E402

SEED = 2024
OUT = ROOT / "notes" / "assets" / "data" / "ch6-dates.json"
N_TRAIN, N_TEST = 20_000, 1_000
CONFIG = {"epochs": 2}  # the rest are Translator's defaults
CHECKPOINT = 300  # a half-trained model, for greedy against beam search and the error analysis
BEAM_WIDTH = 3
ATTENTION_EXAMPLES = ["Tuesday, 09/10/2019", "1979年5月3日", "3 May 1979"]


def rng_for(purpose: str) -> np.random.Generator:
    return np.random.default_rng([SEED, zlib.crc32(purpose.encode())])


def tokens(text: str) -> list[str]:
    return list(text) or ["∅"]  # BLEU on characters; an empty output is one token that matches nothing


def evaluate(model: Translator, test: list[tuple[str, str]]) -> tuple[dict, dict]:
    outputs, results = {}, {}
    for search, width in (("greedy", 1), ("beam", BEAM_WIDTH)):
        out = [model.translate(source, beam_width=width) for source, _ in test]
        outputs[search] = out
        results[search] = {
            "accuracy": float(np.mean([o == ref for o, (_, ref) in zip(out, test, strict=True)])),
            "bleu": corpus_bleu([tokens(o) for o in out], [[list(ref)] for _, ref in test]),
        }
    return results, outputs


def error_analysis(model: Translator, test, outputs) -> dict:
    """Each beam-search mistake: a search error if the model scores the reference higher than its output."""
    counts = {"search": 0, "model": 0}
    for (source, ref), out in zip(test, outputs, strict=True):
        if out != ref:
            counts["search" if model.normalized_score(source, ref) > model.normalized_score(source, out) else "model"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps (no evaluation)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    data = rng_for("data")
    train, test = make_dates(N_TRAIN, data), make_dates(N_TEST, data)
    saved = {}

    def keep_checkpoint(step, model):
        if step == CHECKPOINT:
            saved["params"] = copy.deepcopy(model.params_)

    start = time.perf_counter()
    model = Translator(**CONFIG, max_steps=args.steps, rng=rng_for("train")).fit([s for s, _ in train],
                                                                                [t for _, t in train],
                                                                                callback=keep_checkpoint)
    seconds = time.perf_counter() - start
    run = {"seed": SEED, "n_train": N_TRAIN, "n_test": N_TEST, "config": CONFIG, "checkpoint": CHECKPOINT,
           "beam_width": BEAM_WIDTH, "seconds": round(seconds, 1),
           "history": [float(f"{x:.6g}") for x in model.history_]}
    if args.steps is None:
        half = copy.copy(model)
        half.params_ = saved["params"]
        run["evaluation"], run["examples"] = {}, []
        run["evaluation"]["checkpoint"], half_out = evaluate(half, test)
        run["evaluation"]["final"], final_out = evaluate(model, test)
        run["error_analysis"] = error_analysis(half, test, half_out["beam"])
        for i, (source, ref) in enumerate(test):
            if half_out["greedy"][i] != half_out["beam"][i] and len(run["examples"]) < 8:
                run["examples"].append({"source": source, "reference": ref, "greedy": half_out["greedy"][i],
                                        "beam": half_out["beam"][i], "final": final_out["greedy"][i]})
        run["attention"] = []
        for source in ATTENTION_EXAMPLES:
            output = model.translate(source)
            alpha = model.attention(source, output)
            run["attention"].append({"source": source, "output": output, "alpha": np.round(alpha, 3).tolist()})
        for when in ("checkpoint", "final"):
            print(when, run["evaluation"][when])
        print("error analysis at the checkpoint:", run["error_analysis"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    demo_json.write(args.out, run)
    print(f"{len(model.history_)} steps in {seconds:.1f} s → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
