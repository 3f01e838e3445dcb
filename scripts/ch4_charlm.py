#!/usr/bin/env python3
"""Train the chapter-4 character language models once, with a fixed seed, and save what the note plots.

    python scripts/ch4_charlm.py                 # the committed run (about 5 minutes on one core: 274 s of training)
    python scripts/ch4_charlm.py --steps 5 --models rnn --out /tmp/x.json   # a short prefix of the same run

The text is the standard library's ``pydoc_data.topics`` (no download). Every model gets its own generator seeded
from ``SEED`` and its name, so a model's run does not depend on which others are trained or on ``--steps``.
Writes ``notes/assets/data/ch4-charlm.json``: the loss curves, the unigram entropy, text sampled at two temperatures,
and ‖∂L⟨T⟩/∂a⟨t⟩‖ against t for each model at initialisation and after training.
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
from smln import charlm  # noqa: E402
from smln.cells import get_cell  # noqa: E402

SEED = 2024
OUT = ROOT / "notes" / "assets" / "data" / "ch4-charlm.json"
# name → (cell, options); the two GRUs are the course's and PyTorch's placement of the reset gate
MODELS = {
    "rnn": ("rnn", {}),
    "lstm": ("lstm", {"forget_bias": 1.0}),
    "gru": ("gru", {}),
    "gru-reset-after": ("gru", {"reset_after": True}),
}
CONFIG = {"n_a": 128, "batch_size": 32, "T": 64, "alpha": 0.003, "max_norm": 5.0, "eval_every": 100}
PROBE_LENGTH = 100  # characters behind the loss whose gradient the figure follows back


def text() -> str:
    from pydoc_data.topics import topics

    return "".join(topics[k] for k in sorted(topics))


def rng_for(name: str, purpose: str) -> np.random.Generator:
    return np.random.default_rng([SEED, zlib.crc32(f"{name}/{purpose}".encode())])


def run(name: str, steps: int, corpus: str) -> dict:
    cell, options = MODELS[name]
    start = time.perf_counter()
    model = charlm.CharLM(cell, epochs=100, max_steps=steps, cell_options=options, rng=rng_for(name, "init"),
                          **CONFIG).fit(corpus)
    seconds = time.perf_counter() - start
    unit = get_cell(cell)
    init_options, forward_options = unit.split_options(options)
    chars, params = model.chars_, model.params_
    probe = corpus[-(PROBE_LENGTH + 1):]  # the end of the validation text
    init_params = unit.init(len(chars), CONFIG["n_a"], len(chars), rng_for(name, "init"), **init_options)
    return {
        "cell": cell, "options": options, "steps": steps, "seconds": round(seconds, 1),
        "train_loss": model.history_, "valid_loss": model.valid_history_,
        "unigram_entropy": model.unigram_entropy_,
        "samples": {str(tau): model.sample(400, temperature=tau, prime="The ", rng=rng_for(name, f"sample{tau}"))
                    for tau in (0.5, 1.0)},
        "gradient": {"init": charlm.gradient_through_time(cell, init_params, chars, probe, **forward_options).tolist(),
                     "trained": charlm.gradient_through_time(cell, params, chars, probe, **forward_options).tolist()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    corpus = text()
    data = {"seed": SEED, "config": CONFIG, "characters": len(corpus), "models": {}}
    for name in args.models:
        print(f"… {name}", file=sys.stderr, flush=True)
        data["models"][name] = run(name, args.steps, corpus)
        last = data["models"][name]["valid_loss"][-1]
        print(f"  {name}: valid {last[1]:.3f} nats/char after {last[0]} steps, "
              f"{data['models'][name]['seconds']} s", file=sys.stderr, flush=True)
    demo_json.write(args.out, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
