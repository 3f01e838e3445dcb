#!/usr/bin/env python3
"""The random search shown in notes/03-parameters.md, run once with fixed seeds: a two-layer network
(64 → hidden → 10, ReLU and softmax, He initialisation) trained by smln's Momentum on scikit-learn's digits.

    python scripts/ch3_search.py            # writes notes/assets/data/ch3-search.json (5 s on an idle core, 18 s on a busy one)
    python scripts/ch3_search.py --jobs 2   # the same results, on two processes

A coarse round of random search over α (log scale), β (1 − β on a log scale) and the hidden units, then a fine
round in the region of the coarse round's best trials (coarse to fine), then the best configuration's accuracy on
the held-out test set. Needs the ``data`` extra (scikit-learn) and, for ``--jobs``, the ``parallel`` extra.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import demo_json  # noqa: E402
from smln import init, tuning  # noqa: E402
from smln.activations import relu, relu_grad, softmax  # noqa: E402
from smln.batches import minibatches  # noqa: E402
from smln.optim import Momentum  # noqa: E402

OUT = ROOT / "notes/assets/data/ch3-search.json"
SEED = 2024
EPOCHS = 15
BATCH = 64


def digits(seed: int = 0):
    """scikit-learn's digits as columns (64, m), scaled to [0, 1]; one-hot labels (10, m); split 1197/300/300."""
    from sklearn.datasets import load_digits

    data = load_digits()
    X, y = data.data.T / 16.0, data.target  # (64, 1797)
    Y = np.eye(10)[:, y]  # (10, 1797)
    order = np.random.default_rng(seed).permutation(X.shape[1])
    parts = np.split(order, [1197, 1497])
    return [(X[:, idx], Y[:, idx]) for idx in parts]


def train(config, rng, data, epochs=EPOCHS):
    """Train the two-layer network; return the validation accuracy after each epoch and the final parameters."""
    (X, Y), (Xv, Yv) = data[0], data[1]
    params = init.initialize_parameters([64, config["n_hidden"], 10], "he", rng)
    opt = Momentum(alpha=config["alpha"], beta=config["beta"])
    curve = []
    for _ in range(epochs):
        for Xb, Yb in minibatches(X, Y, BATCH, rng):
            m = Xb.shape[1]
            Z1 = params["W1"] @ Xb + params["b1"]  # (n_hidden, m)
            A1 = relu(Z1)
            P = softmax(params["W2"] @ A1 + params["b2"])  # (10, m)
            dZ2 = (P - Yb) / m  # softmax + cross-entropy
            dZ1 = (params["W2"].T @ dZ2) * relu_grad(Z1)
            opt.step(params, {"W2": dZ2 @ A1.T, "b2": dZ2.sum(axis=1, keepdims=True),
                              "W1": dZ1 @ Xb.T, "b1": dZ1.sum(axis=1, keepdims=True)})
        curve.append(accuracy(params, Xv, Yv))
    return curve, params


def accuracy(params, X, Y):
    with np.errstate(over="ignore", invalid="ignore"):
        scores = params["W2"] @ relu(params["W1"] @ X + params["b1"]) + params["b2"]
    if not np.isfinite(scores).all():
        return 0.0
    return float((scores.argmax(axis=0) == Y.argmax(axis=0)).mean())


class Objective:
    """objective(config, rng) for tuning.random_search: the validation accuracy, with its learning curve."""

    def __init__(self, epochs=EPOCHS):
        self.epochs = epochs
        self.data = digits()

    def __call__(self, config, rng):
        curve, _ = train(config, rng, self.data, self.epochs)
        return {"score": curve[-1], "curve": curve}


def _space_json(space):
    return {name: [sampler.__name__, low, high] for name, (sampler, low, high) in space.items()}


def _trial_json(t):
    return {"index": t.index, "seed": t.seed, "config": t.config, "score": None if math.isnan(t.score) else t.score,
            "error": t.error, "curve": t.curve}


def fine_space(trials, keep=4):
    """Coarse to fine: the range that the best ``keep`` trials span, widened a little."""
    best = [t for t in trials if t.ok][:keep]
    alphas = [t.config["alpha"] for t in best]
    betas = [t.config["beta"] for t in best]
    units = [t.config["n_hidden"] for t in best]
    return {"alpha": (tuning.sample_log_uniform, max(min(alphas) / 2, 1e-4), min(max(alphas) * 2, 1.0)),
            "beta": (tuning.sample_one_minus_log, min(betas), max(betas)),
            "n_hidden": (tuning.sample_uniform_int, min(units), max(units))}


COARSE = {"alpha": (tuning.sample_log_uniform, 1e-4, 1.0), "beta": (tuning.sample_one_minus_log, 0.5, 0.999),
          "n_hidden": (tuning.sample_uniform_int, 16, 64)}


def search(n_coarse=24, n_fine=16, epochs=EPOCHS, n_jobs=1, seed=SEED):
    rng = np.random.default_rng(seed)
    objective = Objective(epochs)
    coarse = tuning.random_search(objective, COARSE, n_coarse, rng, n_jobs=n_jobs)
    fine_sp = fine_space(coarse)
    fine = tuning.random_search(objective, fine_sp, n_fine, rng, n_jobs=n_jobs)
    best = fine[0] if fine[0].ok and fine[0].score >= coarse[0].score else coarse[0]
    _, params = train(best.config, np.random.default_rng(best.seed), objective.data, epochs)
    test = accuracy(params, *objective.data[2])
    return {"seed": seed, "epochs": epochs,
            "coarse": {"space": _space_json(COARSE), "trials": [_trial_json(t) for t in coarse]},
            "fine": {"space": _space_json(fine_sp), "trials": [_trial_json(t) for t in fine]},
            "best": _trial_json(best), "test_accuracy": test}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    result = search(n_jobs=args.jobs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    demo_json.write(args.out, result)
    best = result["best"]
    print(f"best: {best['config']} validation {best['score']:.3f}, test {result['test_accuracy']:.3f} → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
