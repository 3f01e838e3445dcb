"""Test hygiene shared by every test: Hypothesis profiles and NumPy floating-point errors as exceptions."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# CI: derandomised and at least 100 examples per property. Editing: fewer examples, random.
settings.register_profile("ci", derandomize=True, max_examples=100, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def numpy_floating_point_errors_raise():
    """Overflow, division by zero and invalid operations raise FloatingPointError (underflow to 0 is fine)."""
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield


def pytest_terminal_summary(terminalreporter):
    """Say, at the end of every run, how much of the original is still to be written (tests/test_fidelity.py)."""
    import fidelity

    pending = [s.title for s in fidelity.read_original() if s.pending]
    if pending:
        terminalreporter.write_line(f"原文待写的小节({len(pending)}):{'、'.join(pending)}")
