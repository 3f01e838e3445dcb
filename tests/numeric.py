"""Central differences: the numeric gradient the tests hold analytic gradients against."""

import numpy as np


def central_difference(f, X, h=1e-6):
    """∂f/∂X by (f(X + h) − f(X − h)) / 2h, one entry at a time; ``X`` is perturbed in place and restored."""
    out = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        old = X[idx]
        X[idx] = old + h
        up = f()
        X[idx] = old - h
        down = f()
        X[idx] = old
        out[idx] = (up - down) / (2 * h)
    return out
