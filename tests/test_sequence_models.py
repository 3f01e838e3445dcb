"""Chapter 4: RNN, GRU, LSTM and deep RNNs against SymPy, central differences and the note's claims.

The oracle for each cell is built by hand in SymPy from the note's formulas (the parser does not read
concatenations ``[a, x]`` or ``⊙``); each builder first asserts the note's LaTeX it follows. SymPy derives the
Jacobians of one time step symbolically (every gate, every parameter); the test chains them through time with the
plain chain rule on full Jacobian matrices — no code shared with the implementation's elementwise BPTT.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from smln import activations, charlm, deep_rnn, gru, losses, lstm, rnn, sequence
from smln.cells import get_cell
from smln.embeddings import one_hot
from smln.optim import Adam
from tests.errors import raises_for
from tests.numeric import central_difference
from tests.oracle import ROOT, assert_latex, derivation, latex, oracle

NOTE = "notes/04-sequence-models.md"

# the variants the tests run: a cell of smln.cells with its init and forward options
VARIANTS = {"rnn": ("rnn", {}, {}), "gru-simplified": ("gru", {"simplified": True}, {"simplified": True}),
            "gru": ("gru", {}, {}), "gru-reset-after": ("gru", {}, {"reset_after": True}), "lstm": ("lstm", {}, {})}
# variant → (forward, backward, init, init options, forward options, initial-state names), from the one registry
CELLS = {name: (get_cell(cell).forward, get_cell(cell).backward, get_cell(cell).init, init_options, options,
                get_cell(cell).states) for name, (cell, init_options, options) in VARIANTS.items()}


def run(cell, X, states, params):
    """Forward through the public API, with the initial states by name."""
    fwd, _, _, _, options, names = CELLS[cell]
    if cell == "lstm":
        return fwd(X, states["a0"], params, c0=states["c0"])
    return fwd(X, states[names[0]], params, **options)


def make(cell, n_x, n_a, n_y, m, rng, scale=0.6):
    """Parameters and initial states with every entry non-zero (so that no gradient vanishes trivially)."""
    _, _, init, init_options, _, names = CELLS[cell]
    params = init(n_x, n_a, n_y, rng, **init_options)
    params = {k: v + scale * rng.standard_normal(v.shape) for k, v in params.items()}
    states = {name: 0.5 * rng.standard_normal((n_a, m)) for name in names}
    return params, states


# --------------------------------------------------------------------------------------------------------------
# The SymPy oracle: one time step of each cell, from the note's formulas


def _mat(name, rows, cols):
    return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}_{i}_{j}"))


def _sig(M):
    return M.applyfunc(lambda v: 1 / (1 + sympy.exp(-v)))


def _tanh(M):
    return M.applyfunc(sympy.tanh)


def _hadamard(A, B):
    return A.multiply_elementwise(B)



@derivation
def symbolic_cell(cell, n_x, n_a):
    """One step of ``cell`` in SymPy: (state symbols, x symbols, {param: Matrix}, new state, a of the new state)."""
    x = _mat("x", n_x, 1)
    if cell == "rnn":
        assert_latex("rnn-a", r"a^{\langle t \rangle} = g_1(W_{aa} a^{\langle t-1 \rangle} + W_{ax} x^{\langle t \rangle} + b_a)")
        P = {"Wax": _mat("Wax", n_a, n_x), "Waa": _mat("Waa", n_a, n_a), "ba": _mat("ba", n_a, 1)}
        a = _mat("a", n_a, 1)
        new = _tanh(P["Waa"] * a + P["Wax"] * x + P["ba"])  # g₁ = tanh
        return a, x, P, new, new
    if cell.startswith("gru"):
        assert_latex("gru-u", r"\Gamma_u = \sigma(W_u [c^{\langle t-1 \rangle}, x^{\langle t \rangle}] + b_u)")
        assert_latex("gru-c", r"c^{\langle t \rangle} = \Gamma_u \odot \tilde{c}^{\langle t \rangle}",
                     r"+ (1 - \Gamma_u) \odot c^{\langle t-1 \rangle}")
        assert_latex("gru-a", r"a^{\langle t \rangle} = c^{\langle t \rangle}")
        gates = ("u", "c") if cell == "gru-simplified" else ("u", "r", "c")
        P = {}
        for g in gates:
            P[f"W{g}"], P[f"b{g}"] = _mat(f"W{g}", n_a, n_a + n_x), _mat(f"b{g}", n_a, 1)
        c = _mat("c", n_a, 1)
        Gamma_u = _sig(P["Wu"] * c.col_join(x) + P["bu"])
        if cell == "gru-simplified":
            assert_latex("gru-s-c-tilde", r"\tilde{c}^{\langle t \rangle} = ",
                         r"\tanh(W_c [c^{\langle t-1 \rangle}, x^{\langle t \rangle}] + b_c)")
            c_tilde = _tanh(P["Wc"] * c.col_join(x) + P["bc"])
        else:
            assert_latex("gru-r", r"\Gamma_r = \sigma(W_r [c^{\langle t-1 \rangle}, x^{\langle t \rangle}] + b_r)")
            Gamma_r = _sig(P["Wr"] * c.col_join(x) + P["br"])
            if cell == "gru":
                assert_latex("gru-c-tilde", r"\tanh(W_c [\Gamma_r \odot c^{\langle t-1 \rangle}, x^{\langle t \rangle}] + b_c)")
                c_tilde = _tanh(P["Wc"] * _hadamard(Gamma_r, c).col_join(x) + P["bc"])
            else:  # the note's reset-after form: W_c = [W_cc, W_cx]
                W_cc, W_cx = P["Wc"][:, :n_a], P["Wc"][:, n_a:]
                c_tilde = _tanh(W_cx * x + _hadamard(Gamma_r, W_cc * c) + P["bc"])
        new = _hadamard(Gamma_u, c_tilde) + _hadamard(sympy.ones(n_a, 1) - Gamma_u, c)
        return c, x, P, new, new
    assert cell == "lstm"
    for fid, gate, fn in (("lstm-c-tilde", "c", r"\tanh"), ("lstm-u", "u", r"\sigma"), ("lstm-f", "f", r"\sigma"),
                          ("lstm-o", "o", r"\sigma")):
        assert_latex(fid, fn + rf"(W_{gate} [a^{{\langle t-1 \rangle}}, x^{{\langle t \rangle}}] + b_{gate})")
    assert_latex("lstm-c", r"c^{\langle t \rangle} = \Gamma_u \odot \tilde{c}^{\langle t \rangle}",
                 r"+ \Gamma_f \odot c^{\langle t-1 \rangle}")
    assert_latex("lstm-a", r"a^{\langle t \rangle} = \Gamma_o \odot \tanh(c^{\langle t \rangle})")
    P = {}
    for g in "fuoc":
        P[f"W{g}"], P[f"b{g}"] = _mat(f"W{g}", n_a, n_a + n_x), _mat(f"b{g}", n_a, 1)
    a, c = _mat("a", n_a, 1), _mat("c", n_a, 1)
    v = a.col_join(x)
    Gamma_f, Gamma_u, Gamma_o = (_sig(P[f"W{g}"] * v + P[f"b{g}"]) for g in "fuo")
    c_tilde = _tanh(P["Wc"] * v + P["bc"])
    c_new = _hadamard(Gamma_u, c_tilde) + _hadamard(Gamma_f, c)
    a_new = _hadamard(Gamma_o, _tanh(c_new))
    return a.col_join(c), x, P, a_new.col_join(c_new), a_new


@derivation
def compiled_cell(cell, n_x, n_a):
    """SymPy's step function and its Jacobians (by ``sympy.Matrix.jacobian``), made numeric by ``lambdify``."""
    return _compile(*symbolic_cell(cell, n_x, n_a))


@derivation
def compiled_deep(cell, n_x, n_a1, n_a2):
    """Two layers of ``cell`` as one step: layer 2's input is layer 1's new output (deep-rnn-a)."""
    s1, x, P1, new1, a1 = symbolic_cell(cell, n_x, n_a1)
    s2, x2, P2, new2, a2 = symbolic_cell(cell, n_a1, n_a2)

    def rename(symbols, suffix):
        return {v: sympy.Symbol(f"{v.name}_L{suffix}") for v in symbols}

    r1 = rename([*s1, *(v for M in P1.values() for v in M)], 1)
    r2 = rename([*s2, *(v for M in P2.values() for v in M)], 2)
    a1 = a1.xreplace(r1)
    r2 |= {x2[i]: a1[i] for i in range(n_a1)}
    P = {f"l1.{k}": M.xreplace(r1) for k, M in P1.items()} | {f"l2.{k}": M.xreplace(r2) for k, M in P2.items()}
    return _compile(s1.xreplace(r1).col_join(s2.xreplace(r2)), x, P,
                    new1.xreplace(r1).col_join(new2.xreplace(r2)), a2.xreplace(r2))


def _compile(state, x, P, new, a_new):
    theta = [s for k in sorted(P) for s in P[k]]
    args = [list(state), list(x), theta]
    return (sympy.lambdify(args, new, "numpy"), sympy.lambdify(args, a_new, "numpy"),
            sympy.lambdify(args, new.jacobian(state), "numpy"), sympy.lambdify(args, a_new.jacobian(state), "numpy"),
            sympy.lambdify(args, new.jacobian(theta), "numpy"), sympy.lambdify(args, a_new.jacobian(theta), "numpy"),
            sorted(P), {k: P[k].shape for k in P})


@derivation
def compiled_loss(n_a, n_y):
    """ℓ = L⟨t⟩ of rnn-loss-t on softmax(W_y a + b_y) (rnn-y, g₂ = softmax), and its gradients by SymPy."""
    assert_latex("rnn-y", r"\hat{y}^{\langle t \rangle} = g_2(W_{ya} a^{\langle t \rangle} + b_y)")
    assert_latex("rnn-loss-t", r"= -\sum_{i} y_i^{\langle t \rangle} \log \hat{y}_i^{\langle t \rangle}")
    a, y, Wy, by = _mat("a", n_a, 1), _mat("y", n_y, 1), _mat("Wy", n_y, n_a), _mat("by", n_y, 1)
    z = Wy * a + by
    y_hat = [sympy.exp(z[i]) / sum(sympy.exp(z[j]) for j in range(n_y)) for i in range(n_y)]
    ell = -sum(y[i] * sympy.log(y_hat[i]) for i in range(n_y))
    args = [list(a), list(y), list(Wy), list(by)]
    grad = [sympy.diff(ell, s) for s in (*a, *Wy, *by)]
    return sympy.lambdify(args, ell, "numpy"), sympy.lambdify(args, grad, "numpy")


def oracle_loss_and_grads(cell, X, states, params, Y):
    """Total loss (rnn-loss) and every gradient, by SymPy's Jacobians chained through time (m = 1)."""
    names = CELLS[cell][5]
    n_a = states[names[0]].shape[0]
    L, grads, g = chain(compiled_cell(cell, X.shape[0], n_a), np.concatenate([states[n][:, 0] for n in names]), X,
                        params, Y, "Wy")
    for i, name in enumerate(names):
        grads[name] = g[i * n_a:(i + 1) * n_a, None]
    return L, grads


def chain(compiled, s, X, params, Y, W_name):
    """Run the compiled step through time from state ``s``; return the loss, the parameters' gradients and ∂L/∂s."""
    assert_latex("rnn-loss", r"L = \sum_{t=1}^{T_y} L^{\langle t \rangle}")
    T = X.shape[2]
    step, out_a, J_s, J_as, J_th, J_ath, keys, shapes = compiled
    theta = np.concatenate([params[k].ravel() for k in keys])
    Wy, by = params[W_name], params["by"]
    n_y, n_a = Wy.shape
    ell, dell = compiled_loss(n_a, n_y)
    seq = []  # (state before the step, x)
    L = 0.0
    for t in range(T):
        x = X[:, 0, t]
        seq.append((s, x))
        a = np.asarray(out_a(s, x, theta), dtype=float).ravel()
        L += float(ell(a, Y[:, 0, t], Wy.ravel(), by.ravel()))
        s = np.asarray(step(s, x, theta), dtype=float).ravel()
    # backward: g is ∂L/∂(state after step t), accumulated from the future
    g = np.zeros_like(s)
    d_theta = np.zeros_like(theta)
    dWy, dby = np.zeros(Wy.size), np.zeros(by.size)
    for t in reversed(range(T)):
        s_prev, x = seq[t]
        a = np.asarray(out_a(s_prev, x, theta), dtype=float).ravel()
        d = np.asarray(dell(a, Y[:, 0, t], Wy.ravel(), by.ravel()), dtype=float).ravel()
        da, dWy_t, dby_t = d[:n_a], d[n_a:n_a + Wy.size], d[n_a + Wy.size:]
        dWy += dWy_t
        dby += dby_t
        # the loss of step t sees the state after step t through a(new state); the future through g
        d_theta += np.asarray(J_ath(s_prev, x, theta), dtype=float).T @ da + \
            np.asarray(J_th(s_prev, x, theta), dtype=float).T @ g
        g = np.asarray(J_as(s_prev, x, theta), dtype=float).T @ da + np.asarray(J_s(s_prev, x, theta), dtype=float).T @ g
    grads, k = {}, 0
    for key in keys:
        size = int(np.prod(shapes[key]))
        grads[key] = d_theta[k:k + size].reshape(shapes[key])
        k += size
    grads[W_name], grads["by"] = dWy.reshape(Wy.shape), dby.reshape(by.shape)
    return L, grads, g


SHAPES = [(1, 1, 1), (1, 2, 3), (2, 1, 3), (2, 2, 2)]  # (n_x, n_a, T): n_x, n_a ≤ 2, T ≤ 3


@pytest.mark.formula("rnn-a", "rnn-y", "rnn-loss-t", "rnn-loss", "gru-u", "gru-s-c-tilde", "gru-r", "gru-c-tilde",
                     "gru-c", "gru-a", "lstm-c-tilde", "lstm-u", "lstm-f", "lstm-o", "lstm-c", "lstm-a")
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("n_x, n_a, T", SHAPES)
def test_forward_and_loss_equal_the_sympy_evaluation_of_the_note(cell, n_x, n_a, T):
    rng = np.random.default_rng([n_x, n_a, T, len(cell)])
    n_y = 3
    params, states = make(cell, n_x, n_a, n_y, 1, rng)
    X = rng.standard_normal((n_x, 1, T))
    Y = np.eye(n_y)[rng.integers(0, n_y, (1, T))].transpose(2, 0, 1)
    step, out_a, *_, keys, _ = compiled_cell(cell, n_x, n_a)
    theta = np.concatenate([params[k].ravel() for k in keys])
    A, Y_hat, caches = run(cell, X, states, params)
    s = np.concatenate([states[n][:, 0] for n in CELLS[cell][5]])
    for t in range(T):
        np.testing.assert_allclose(A[:, 0, t], np.asarray(out_a(s, X[:, 0, t], theta), dtype=float).ravel(),
                                   rtol=1e-12, atol=1e-12)
        s = np.asarray(step(s, X[:, 0, t], theta), dtype=float).ravel()
    L, _ = losses.cross_entropy(caches["Z"], Y)
    np.testing.assert_allclose(L, oracle_loss_and_grads(cell, X, states, params, Y)[0], rtol=1e-12)
    np.testing.assert_allclose(Y_hat.sum(axis=0), 1.0, rtol=1e-12)


@pytest.mark.formula("bptt-dzy", "bptt-da", "bptt-dza", "bptt-dw")
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("n_x, n_a, T", SHAPES)
def test_every_backward_pass_equals_the_sympy_derived_gradient(cell, n_x, n_a, T):
    rng = np.random.default_rng([n_x, n_a, T, len(cell), 7])
    n_y = 2
    params, states = make(cell, n_x, n_a, n_y, 1, rng)
    X = rng.standard_normal((n_x, 1, T))
    Y = np.eye(n_y)[rng.integers(0, n_y, (1, T))].transpose(2, 0, 1)
    _, expected = oracle_loss_and_grads(cell, X, states, params, Y)
    _, bwd, *_ = CELLS[cell]
    _, _, caches = run(cell, X, states, params)
    grads = bwd(losses.cross_entropy(caches["Z"], Y)[1], caches)
    assert set(grads) == set(expected)
    for k in expected:
        np.testing.assert_allclose(grads[k], expected[k], rtol=1e-9, atol=1e-12, err_msg=f"{cell}: d{k}")


def test_the_bptt_formulas_are_the_ones_the_rnn_uses():
    assert_latex("bptt-dzy", r"dz_y^{\langle t \rangle} = \hat{y}^{\langle t \rangle} - y^{\langle t \rangle}")
    assert_latex("bptt-da", r"W_{ya}^T dz_y^{\langle t \rangle} + W_{aa}^T dz_a^{\langle t+1 \rangle}")
    assert_latex("bptt-dza", r"da^{\langle t \rangle} \odot (1 - (a^{\langle t \rangle})^2)")
    assert_latex("bptt-dw", r"dW_{aa} = \sum_{t=1}^{T_x} dz_a^{\langle t \rangle} (a^{\langle t-1 \rangle})^T")


def _numeric_grads(cell, X, states, params, Y):
    def loss():
        return losses.cross_entropy(run(cell, X, states, params)[2]["Z"], Y)[0]

    return {k: central_difference(loss, P) for store in (params, states) for k, P in store.items()}


@settings(max_examples=12, deadline=None)
@given(cell=st.sampled_from(list(CELLS)), n_x=st.integers(1, 4), n_a=st.integers(1, 5), n_y=st.integers(2, 4),
       m=st.integers(1, 3), T=st.integers(1, 5), seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 1.0))
def test_backward_matches_central_differences_on_larger_shapes(cell, n_x, n_a, n_y, m, T, seed, scale):
    rng = np.random.default_rng(seed)
    params, states = make(cell, n_x, n_a, n_y, m, rng, scale)
    X = rng.standard_normal((n_x, m, T))
    Y = np.eye(n_y)[rng.integers(0, n_y, (m, T))].transpose(2, 0, 1)
    _, bwd, *_ = CELLS[cell]
    grads = bwd(losses.cross_entropy(run(cell, X, states, params)[2]["Z"], Y)[1], run(cell, X, states, params)[2])
    numeric = _numeric_grads(cell, X, states, params, Y)
    for k, num in numeric.items():
        np.testing.assert_allclose(grads[k], num, rtol=1e-5, atol=1e-7, err_msg=f"{cell}: d{k}")


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_deep_rnn_backward_equals_the_sympy_derived_gradient(cell):
    """Two stacked layers (n_a = 1 each), T = 3: SymPy's Jacobians of the composed step, chained through time."""
    rng = np.random.default_rng(9)
    n_x, sizes, n_y, T = 1, (1, 1), 2, 3  # the smallest stack: two layers of one unit; one layer of two units is tested alone
    params = deep_rnn.init_deep_rnn_params(n_x, list(sizes), n_y, rng, cell=cell)
    params = {k: v + 0.5 * rng.standard_normal(v.shape) for k, v in params.items()}
    names = {"rnn": ("a0",), "gru": ("c0",), "lstm": ("a0", "c0")}[cell]
    states = {f"l{l}.{n}": 0.5 * rng.standard_normal((sizes[l - 1], 1)) for l in (1, 2) for n in names}
    X = rng.standard_normal((n_x, 1, T))
    Y = np.eye(n_y)[rng.integers(0, n_y, (1, T))].transpose(2, 0, 1)
    s0 = np.concatenate([states[f"l{l}.{n}"][:, 0] for l in (1, 2) for n in names])
    L, expected, g = chain(compiled_deep(cell, n_x, *sizes), s0, X, params, Y, "Wy")
    k = 0
    for l in (1, 2):
        for n in names:
            expected[f"l{l}.{n}"] = g[k:k + sizes[l - 1], None]
            k += sizes[l - 1]
    a0 = [states[f"l{l}.{names[0]}"] for l in (1, 2)]
    c0 = [states[f"l{l}.c0"] for l in (1, 2)] if cell == "lstm" else None
    _, _, caches = deep_rnn.deep_rnn_forward(X, a0, params, cell=cell, c0=c0)
    loss, dZ = losses.cross_entropy(caches["Z"], Y)
    assert loss == pytest.approx(L, rel=1e-12)
    grads = deep_rnn.deep_rnn_backward(dZ, caches)
    assert set(grads) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(grads[key], value, rtol=1e-9, atol=1e-12, err_msg=f"{cell}: d{key}")


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_deep_rnn_backward_matches_central_differences(cell):
    rng = np.random.default_rng(5)
    params = deep_rnn.init_deep_rnn_params(2, [3, 2], 3, rng, cell=cell)
    params = {k: v + 0.4 * rng.standard_normal(v.shape) for k, v in params.items()}
    X, Y = rng.standard_normal((2, 2, 3)), np.eye(3)[rng.integers(0, 3, (2, 3))].transpose(2, 0, 1)
    a0 = [0.3 * rng.standard_normal((3, 2)), 0.3 * rng.standard_normal((2, 2))]

    def loss():
        return losses.cross_entropy(deep_rnn.deep_rnn_forward(X, a0, params, cell=cell)[2]["Z"], Y)[0]

    caches = deep_rnn.deep_rnn_forward(X, a0, params, cell=cell)[2]
    grads = deep_rnn.deep_rnn_backward(losses.cross_entropy(caches["Z"], Y)[1], caches)
    for k, P in [*params.items(), ("l1.a0", a0[0]), ("l2.a0", a0[1])]:
        key = k.replace("a0", "c0") if cell == "gru" and k.endswith(".a0") else k
        np.testing.assert_allclose(grads[key], central_difference(loss, P), rtol=1e-5, atol=1e-8, err_msg=key)


# --------------------------------------------------------------------------------------------------------------
# The note's claims as properties


@pytest.mark.formula("sigmoid-tanh")
@given(z=st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=20))
def test_in_place_sigmoid_is_the_note_identity_and_never_overflows(z):
    identity = oracle("sigmoid-tanh")
    zz = sympy.Symbol("z")
    assert sympy.simplify((identity.expr - 1 / (1 + sympy.exp(-zz))).rewrite(sympy.exp)) == 0
    arr = np.array(z)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        got = sequence.sigmoid_(arr.copy())
    # 1 + tanh(z/2) cancels for z ≪ 0: the error is absolute, at the level of the machine epsilon (as the note says)
    np.testing.assert_allclose(got, activations.sigmoid(arr), rtol=0, atol=2.3e-16)
    assert ((0 <= got) & (got <= 1)).all()
    moderate = np.abs(arr) < 30
    np.testing.assert_allclose(got[moderate], identity.fn("z")(arr[moderate]), rtol=0, atol=2.3e-16)


@settings(max_examples=25, deadline=None)
@given(n_x=st.integers(1, 3), n_a=st.integers(1, 4), m=st.integers(1, 3), T=st.integers(1, 6), seed=st.integers(0, 99))
def test_simplified_gru_is_the_full_gru_with_the_reset_gate_open(n_x, n_a, m, T, seed):
    rng = np.random.default_rng(seed)
    full, states = make("gru", n_x, n_a, 2, m, rng)
    full["Wr"][:] = 0.0
    full["br"][:] = 40.0  # Γ_r = σ(40) = 1 to double precision
    simple = {k: v for k, v in full.items() if k not in ("Wr", "br")}
    X = rng.standard_normal((n_x, m, T))
    np.testing.assert_allclose(gru.gru_forward(X, states["c0"], full)[0],
                               gru.gru_forward(X, states["c0"], simple, simplified=True)[0], rtol=1e-14, atol=1e-15)


@settings(max_examples=25, deadline=None)
@given(n_x=st.integers(1, 3), n_a=st.integers(1, 4), m=st.integers(1, 3), T=st.integers(1, 6), seed=st.integers(0, 99))
def test_lstm_with_forget_and_update_gates_open_sums_the_candidates(n_x, n_a, m, T, seed):
    rng = np.random.default_rng(seed)
    params, states = make("lstm", n_x, n_a, 2, m, rng)
    for g in "fu":
        params[f"W{g}"][:] = 0.0
        params[f"b{g}"][:] = 40.0
    X = rng.standard_normal((n_x, m, T))
    A, _, caches = lstm.lstm_forward(X, states["a0"], params, c0=states["c0"])
    C = caches["layer"]["C"]  # (T, n_a, m)
    a_prev = np.concatenate([states["a0"][:, :, None], A[:, :, :-1]], axis=2)  # a⟨t−1⟩
    c_tilde = np.tanh(np.einsum("ij,jmt->imt", params["Wc"], np.concatenate([a_prev, X], axis=0)) + params["bc"][:, :, None])
    np.testing.assert_allclose(np.moveaxis(C, 0, 2), states["c0"][:, :, None] + np.cumsum(c_tilde, axis=2),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.formula("gru-torch")
@settings(max_examples=25, deadline=None)
@given(n_x=st.integers(1, 3), n_a=st.integers(1, 4), m=st.integers(1, 3), seed=st.integers(0, 99))
def test_reset_after_gru_is_pytorchs_formula_with_z_one_minus_gamma_u(n_x, n_a, m, seed):
    """PyTorch's GRU, written from the note's formula gru-torch (b_hn = 0), against gru_cell_forward(reset_after)."""
    assert_latex("gru-torch", r"n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))",
                 r"h' = (1 - z) \odot n + z \odot h")
    rng = np.random.default_rng(seed)
    params, states = make("gru-reset-after", n_x, n_a, 2, m, rng)
    x, h = rng.standard_normal((n_x, m)), states["c0"]

    def split(W):
        return W[:, n_a:], W[:, :n_a]  # (W_i·, W_h·): the x part and the h part

    W_ir, W_hr = split(params["Wr"])
    W_iz, W_hz = split(-params["Wu"])  # z = 1 − Γ_u = σ(−(W_u[h, x] + b_u))
    W_in, W_hn = split(params["Wc"])
    r = activations.sigmoid(W_ir @ x + W_hr @ h + params["br"])
    z = activations.sigmoid(W_iz @ x + W_hz @ h - params["bu"])
    n = np.tanh(W_in @ x + params["bc"] + r * (W_hn @ h + 0.0))
    torch_h = (1 - z) * n + z * h
    c_next, _, _ = gru.gru_cell_forward(x, h, params, reset_after=True)
    np.testing.assert_allclose(c_next, torch_h, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", ["gru", "gru-reset-after", "gru-simplified"])
def test_gru_memory_stays_in_minus_one_one(cell):
    rng = np.random.default_rng(3)
    params, states = make(cell, 3, 4, 2, 5, rng, scale=3.0)
    states["c0"] = np.clip(states["c0"], -1, 1)
    C, _, _ = run(cell, 5 * rng.standard_normal((3, 5, 40)), states, params)
    assert np.abs(C).max() <= 1.0


@pytest.mark.formula("deep-rnn-a")
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_a_deep_rnn_of_one_layer_is_the_single_layer_rnn(cell):
    assert_latex("deep-rnn-a", r"W_a^{[l]} [a^{[l]\langle t-1 \rangle}, a^{[l-1]\langle t \rangle}] + b_a^{[l]}")
    rng = np.random.default_rng(11)
    params, states = make(cell, 3, 4, 5, 2, rng)
    deep = {(k if k in ("Wy", "by") else f"l1.{k}"): v for k, v in params.items()}
    X = rng.standard_normal((3, 2, 4))
    single = run(cell, X, states, params)
    stacked = deep_rnn.deep_rnn_forward(X, [states.get("a0", states.get("c0"))], deep, cell=cell,
                                        c0=[states["c0"]] if cell == "lstm" else None)
    np.testing.assert_array_equal(stacked[0], single[0])
    np.testing.assert_array_equal(stacked[1], single[1])
    Y = np.eye(5)[rng.integers(0, 5, (2, 4))].transpose(2, 0, 1)
    g1 = CELLS[cell][1](losses.cross_entropy(single[2]["Z"], Y)[1], single[2])
    g2 = deep_rnn.deep_rnn_backward(losses.cross_entropy(stacked[2]["Z"], Y)[1], stacked[2])
    for k, v in g1.items():
        key = k if k in ("Wy", "by") else f"l1.{k}"
        np.testing.assert_array_equal(g2[key], v)


def test_a_deep_rnn_feeds_each_layer_the_layer_below():
    rng = np.random.default_rng(2)
    params = deep_rnn.init_deep_rnn_params(3, [4, 2], 5, rng)
    X = rng.standard_normal((3, 2, 4))
    A, _, caches = deep_rnn.deep_rnn_forward(X, None, params)
    A1, _ = rnn.rnn_layer_forward(X, None, {k: params[f"l1.{k}"] for k in rnn.RNN_KEYS})
    A2, _ = rnn.rnn_layer_forward(sequence.batch_major(A1), None, {k: params[f"l2.{k}"] for k in rnn.RNN_KEYS})
    np.testing.assert_array_equal(A, sequence.batch_major(A2))
    assert A.shape == (2, 2, 4)


@pytest.mark.parametrize("cell", list(CELLS))
def test_stepping_the_cell_equals_the_sequence_forward(cell):
    rng = np.random.default_rng(4)
    params, states = make(cell, 3, 4, 5, 2, rng)
    X = rng.standard_normal((3, 2, 5))
    A, Y_hat, _ = run(cell, X, states, params)
    options = CELLS[cell][4]
    a, c = states.get("a0"), states.get("c0")
    for t in range(5):
        if cell == "lstm":
            a, c, y, _ = lstm.lstm_cell_forward(X[:, :, t], a, c, params)
        elif cell == "rnn":
            a, y, _ = rnn.rnn_cell_forward(X[:, :, t], a, params)
        else:
            c, y, _ = gru.gru_cell_forward(X[:, :, t], c, params, **options)
            a = c
        np.testing.assert_allclose(a, A[:, :, t], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(y, Y_hat[:, :, t], rtol=1e-13, atol=1e-15)


@pytest.mark.formula("bptt-jacobian")
@pytest.mark.parametrize("t, T", [(0, 1), (1, 4), (2, 6)])
def test_the_jacobian_through_time_is_the_product_of_the_steps(t, T):
    assert_latex("bptt-jacobian", r"\prod_{k=t+1}^{T} \operatorname{diag}\left(1 - (a^{\langle k \rangle})^2\right) W_{aa}")
    rng = np.random.default_rng(t * 10 + T)
    params, states = make("rnn", 2, 3, 2, 1, rng)
    X = rng.standard_normal((2, 1, T))
    p = {k: params[k] for k in rnn.RNN_KEYS}
    A, _ = rnn.rnn_layer_forward(X, states["a0"], p)  # A[k − 1] = a⟨k⟩
    a_t = states["a0"] if t == 0 else A[t - 1]
    product = np.eye(3)
    for k in range(t + 1, T + 1):
        product = np.diag(1 - A[k - 1][:, 0] ** 2) @ params["Waa"] @ product
    h = 1e-6
    numeric = np.zeros((3, 3))
    for j in range(3):
        e = np.zeros((3, 1))
        e[j] = h
        up = rnn.rnn_layer_forward(X[:, :, t:], a_t + e, p)[0][-1][:, 0]
        down = rnn.rnn_layer_forward(X[:, :, t:], a_t - e, p)[0][-1][:, 0]
        numeric[:, j] = (up - down) / (2 * h)
    np.testing.assert_allclose(product, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.formula("grad-norm", "clip")
@given(data=st.data(), theta=st.floats(1e-3, 1e3), big=st.floats(1e-3, 1e4))
def test_clipping_bounds_the_global_norm_and_keeps_the_direction(data, theta, big):
    assert_latex("grad-norm", r"\sqrt{\sum_{k} \lVert dW_k \rVert_F^2}")
    assert_latex("clip", r"\frac{\theta}{\max(\theta, \lVert g \rVert)} \, g")
    n = data.draw(st.integers(1, 4))
    rng = np.random.default_rng(data.draw(st.integers(0, 999)))
    grads = {f"g{i}": big * rng.standard_normal(tuple(rng.integers(1, 4, size=2))) for i in range(n)}
    before = {k: v.copy() for k, v in grads.items()}
    norm = np.sqrt(sum((v**2).sum() for v in grads.values()))
    assert sequence.global_norm(grads) == pytest.approx(norm, rel=1e-12)
    clipped = sequence.clip_gradients(grads, theta)
    assert sequence.global_norm(clipped) <= theta * (1 + 1e-12) or norm <= theta
    flat, flat_c = (np.concatenate([d[k].ravel() for k in sorted(d)]) for d in (grads, clipped))
    if norm <= theta:
        np.testing.assert_array_equal(flat_c, flat)  # unchanged under the threshold
    else:
        assert sequence.global_norm(clipped) == pytest.approx(theta, rel=1e-12)
        np.testing.assert_allclose(flat_c, flat * theta / norm, rtol=1e-12)  # the same direction
    for k in grads:
        np.testing.assert_array_equal(grads[k], before[k])  # the input is not touched


def test_clipping_keeps_float32():
    clipped = sequence.clip_gradients({"W": np.full((2, 2), 10.0, dtype=np.float32)}, 1.0)
    assert clipped["W"].dtype == np.float32
    assert sequence.global_norm(clipped) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.formula("rnn-train-example")
@pytest.mark.parametrize("seed", [1, 2])
def test_the_note_training_example_holds_for_other_seeds(seed):
    """The note's example, run from its own text with other seeds: the claim does not hang on seed 0."""
    code, shown = latex("rnn-train-example").rsplit("\n", 1)  # the example's code, and the line it shows
    assert shown == "(True, 1.0)"
    lines = code.splitlines()
    source = "\n".join(lines[:-1]).replace("default_rng(0)", f"default_rng({seed})")
    namespace: dict = {}
    exec(source, namespace)  # noqa: S102 - the note's own example
    assert eval(lines[-1], namespace) == (True, 1.0)  # noqa: S307


def test_cross_entropy_is_stable_and_matches_the_probabilities():
    Z = np.array([[[1000.0, -1000.0]], [[0.0, 0.0]]])  # (n_y=2, m=1, T=2)
    Y = np.array([[[0.0, 1.0]], [[1.0, 0.0]]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # e^{−2000} may underflow to 0: that is exact
        L, dZ = losses.cross_entropy(Z, Y)
    assert L == 2000.0  # step 1: z = (1000, 0), y = 2: −log ŷ_2 = 1000; step 2: z = (−1000, 0), y = 1: 1000
    np.testing.assert_array_equal(dZ[:, 0, 0], [1.0, -1.0])  # ŷ − y with ŷ = (1, e^{−1000})
    np.testing.assert_array_equal(dZ[:, 0, 1], [-1.0, 1.0])


# --------------------------------------------------------------------------------------------------------------
# Defaults, dtypes and bad input


def test_defaults_initial_states_are_zero_and_init_is_xavier():
    rng = np.random.default_rng(0)
    p = rnn.init_rnn_params(200, 300, 10, rng)
    assert p["Waa"].std() == pytest.approx(np.sqrt(1 / 300), rel=0.02)
    assert p["Wax"].std() == pytest.approx(np.sqrt(1 / 200), rel=0.02)
    assert not p["ba"].any() and not p["by"].any()
    g = gru.init_gru_params(20, 30, None, rng)
    assert sorted(g) == ["Wc", "Wr", "Wu", "bc", "br", "bu"]
    assert g["Wu"].std() == pytest.approx(np.sqrt(1 / 50), rel=0.1)
    assert sorted(gru.init_gru_params(2, 3, 4, rng, simplified=True)) == ["Wc", "Wu", "Wy", "bc", "bu", "by"]
    lp = lstm.init_lstm_params(2, 3, None, rng)
    assert not lp["bf"].any()
    assert (lstm.init_lstm_params(2, 3, None, rng, forget_bias=1.0)["bf"] == 1.0).all()
    X = rng.standard_normal((2, 3, 4))
    zero = np.zeros((3, 3))
    np.testing.assert_array_equal(rnn.rnn_forward(X, None, rnn.init_rnn_params(2, 3, 2, np.random.default_rng(1)))[0],
                                  rnn.rnn_forward(X, zero, rnn.init_rnn_params(2, 3, 2, np.random.default_rng(1)))[0])
    lp = lstm.init_lstm_params(2, 3, 2, rng)
    np.testing.assert_array_equal(lstm.lstm_forward(X, None, lp)[0], lstm.lstm_forward(X, zero, lp, c0=zero)[0])
    gp = gru.init_gru_params(2, 3, 2, rng)
    np.testing.assert_array_equal(gru.gru_forward(X, None, gp)[0], gru.gru_forward(X, zero, gp, simplified=False,
                                                                                    reset_after=False)[0])
    assert deep_rnn.init_deep_rnn_params(2, [3], 2, rng)["l1.Wax"].std() == pytest.approx(np.sqrt(1 / 2), rel=0.9)


@pytest.mark.parametrize("cell", list(CELLS))
def test_float32_in_float32_out(cell):
    rng = np.random.default_rng(0)
    params, states = make(cell, 2, 3, 4, 2, rng)
    params = {k: v.astype(np.float32) for k, v in params.items()}
    states = {k: v.astype(np.float32) for k, v in states.items()}
    A, Y_hat, caches = run(cell, rng.standard_normal((2, 2, 3)).astype(np.float32), states, params)
    assert A.dtype == Y_hat.dtype == np.float32
    grads = CELLS[cell][1](losses.cross_entropy(caches["Z"], np.ones((4, 2, 3), dtype=np.float32) / 4)[1], caches)
    assert all(g.dtype == np.float32 for g in grads.values())


def test_bad_input_is_a_clear_error():
    rng = np.random.default_rng(0)
    p = rnn.init_rnn_params(2, 3, 4, rng)
    X = rng.standard_normal((2, 5, 3))
    with raises_for(ValueError, 'X', '(n_x, m, T_x)', '(2, 5)'):
        rnn.rnn_forward(X[:, :, 0], None, p)
    with pytest.raises(ValueError, match=r"T_x = 0"):
        rnn.rnn_forward(X[:, :, :0], None, p)
    with raises_for(ValueError, "X", '(2, m, T_x)', '(7, 5, 3)'):  # the parameters define the model: X is wrong
        rnn.rnn_forward(np.zeros((7, 5, 3)), None, p)
    with raises_for(ValueError, 'a0', '(3, 5)', '(3, 4)'):
        rnn.rnn_forward(X, np.zeros((3, 4)), p)
    with pytest.raises(ValueError, match=r"缺少 \['Waa'\]"):
        rnn.rnn_forward(X, None, {k: v for k, v in p.items() if k != "Waa"})
    with pytest.raises(ValueError, match=r"多出 \['Wr'\]"):
        rnn.rnn_forward(X, None, p | {"Wr": p["Waa"]})
    with raises_for(TypeError, 'params'):
        rnn.rnn_forward(X, None, [1, 2])
    with raises_for(ValueError, "params['by']", '(4, 1)'):
        rnn.rnn_forward(X, None, p | {"by": np.zeros((3, 1))})
    with raises_for(ValueError, 'xt', '(n_x, m)'):
        rnn.rnn_cell_forward(X, None, p)
    _, _, caches = rnn.rnn_forward(X, None, p)
    with raises_for(ValueError, 'dZ', '(4, 5, 3)'):
        rnn.rnn_backward(np.zeros((4, 5, 2)), caches)
    with raises_for(ValueError, 'dA', '(3, 5, 3)'):
        rnn.rnn_backward(np.zeros((4, 5, 3)), caches, dA=np.zeros((3, 5, 2)))
    with raises_for(ValueError, 'Y'):
        losses.cross_entropy(np.zeros((4, 5, 3)), np.zeros((4, 5, 2)))
    with pytest.raises(ValueError, match="simplified=True 与 reset_after=True"):
        gru.gru_forward(X, None, gru.init_gru_params(2, 3, 4, rng, simplified=True), simplified=True, reset_after=True)
    with raises_for(ValueError, 'method'):
        rnn.init_rnn_params(2, 3, 4, rng, method="orthogonal")
    with pytest.raises(ValueError, match="max_norm"):
        sequence.clip_gradients({"W": np.ones(2)}, 0.0)
    with pytest.raises(ValueError, match="全局范数为"):
        sequence.clip_gradients({"W": np.array([1.0, np.nan])}, 1.0)
    with raises_for(TypeError, 'grads'):
        sequence.global_norm({})


def test_bad_deep_rnn_input_is_a_clear_error():
    rng = np.random.default_rng(0)
    p = deep_rnn.init_deep_rnn_params(2, [3, 3], 4, rng)
    X = rng.standard_normal((2, 5, 3))
    with raises_for(ValueError, 'cell'):
        deep_rnn.deep_rnn_forward(X, None, p, cell="transformer")
    with raises_for(ValueError, 'cell'):
        deep_rnn.init_deep_rnn_params(2, [3], 4, rng, cell="transformer")
    with raises_for(ValueError, "params", "l1.Wax"):
        deep_rnn.deep_rnn_forward(X, None, {"Wy": p["Wy"], "by": p["by"]})
    with raises_for(ValueError, 'a0'):
        deep_rnn.deep_rnn_forward(X, [None], p)
    with raises_for(ValueError, 'c0'):
        deep_rnn.deep_rnn_forward(X, None, p, c0=[np.zeros((3, 5)), None])
    with raises_for(TypeError, "reset_after"):  # an RNN cell has no reset gate
        deep_rnn.deep_rnn_forward(X, None, p, reset_after=True)
    with raises_for(ValueError, 'n_a'):
        deep_rnn.init_deep_rnn_params(2, [], 4, rng)
    with pytest.raises(ValueError, match=r"缺少 \['l2.ba'\]"):
        deep_rnn.deep_rnn_forward(X, None, {k: v for k, v in p.items() if k != "l2.ba"})


# --------------------------------------------------------------------------------------------------------------
# The character language model


TEXT = "abcabcabd " * 60


def test_char_lm_learns_a_repeating_text_and_samples_it():
    model = charlm.CharLM("lstm", n_a=16, batch_size=4, T=8, epochs=100, max_steps=150, alpha=0.02,
                          rng=np.random.default_rng(0), eval_every=50, progress=False).fit(TEXT)
    assert model.chars_ == [" ", "a", "b", "c", "d"]
    assert model.history_[-1] < 0.35 < model.history_[0]
    assert [s for s, _ in model.valid_history_] == [50, 100, 150]
    assert model.unigram_entropy_ == pytest.approx(charlm.unigram_entropy(charlm.encode(TEXT[:540], model.chars_), 5))
    text = charlm.sample("lstm", model.params_, model.chars_, 30, np.random.default_rng(1), temperature=0.2,
                         prime="abcab")
    assert text.startswith("cabd abcab")
    assert model.sample(30, temperature=0.2, prime="abcab", rng=np.random.default_rng(1)) == text
    # score is the mean log-likelihood per character: minus the validation loss the training recorded last
    assert model.score(TEXT[540:]) == pytest.approx(-model.valid_history_[-1][1], rel=1e-12)


def test_char_lm_trains_for_epochs_unless_max_steps_stops_it_first():
    """One epoch walks every stream once: n // T steps (TEXT: 540 training characters, 4 streams of 134, T = 8)."""
    model = charlm.CharLM("rnn", n_a=4, batch_size=4, T=8, epochs=2, rng=0, progress=False).fit(TEXT)
    assert len(model.history_) == 2 * (134 // 8) and model.valid_history_[-1][0] == 2 * (134 // 8)
    assert len(model.set_params(max_steps=5).fit(TEXT).history_) == 5


def test_unigram_entropy_is_the_entropy_of_the_character_frequencies():
    ids = np.array([0, 0, 1, 2])
    assert charlm.unigram_entropy(ids, 4) == pytest.approx(-(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25)))


def test_low_temperature_sampling_is_greedy():
    rng = np.random.default_rng(0)
    chars = list("ab")
    params = rnn.init_rnn_params(2, 3, 2, rng)
    params["by"][:] = [[2.0], [0.0]]  # 'a' is always the likeliest next character
    params["Wy"][:] = 0.0
    assert charlm.sample("rnn", params, chars, 20, rng, temperature=1e-3, prime="b") == "a" * 20


def test_gradient_through_time_equals_the_jacobian_product():
    rng = np.random.default_rng(1)
    chars = list("abc")
    params = rnn.init_rnn_params(3, 4, 3, rng)
    text = "abcbacab"
    norms = charlm.gradient_through_time("rnn", params, chars, text)
    ids = charlm.encode(text, chars)
    X = one_hot(ids[None, :-1], 3)
    T = X.shape[2]
    A, Y_hat, _ = rnn.rnn_forward(X, None, params)
    da_T = params["Wy"].T @ (Y_hat[:, :, -1] - np.eye(3)[[ids[-1]]].T)  # ∂L⟨T⟩/∂a⟨T⟩
    expected = []
    for t in range(1, T):
        J = np.eye(4)
        for k in range(t + 1, T + 1):
            J = np.diag(1 - A[:, 0, k - 1] ** 2) @ params["Waa"] @ J
        expected.append(np.linalg.norm(J.T @ da_T))
    np.testing.assert_allclose(norms, expected, rtol=1e-10)


def test_bad_char_lm_input_is_a_clear_error():
    rng = np.random.default_rng(0)
    with raises_for(ValueError, 'cell'):
        charlm.CharLM("transformer", rng=rng).fit(TEXT)
    with raises_for(ValueError, 'max_steps'):
        charlm.CharLM(max_steps=0, rng=rng).fit(TEXT)
    with raises_for(ValueError, "valid_fraction"):
        charlm.CharLM(valid_fraction=1.0, rng=rng).fit(TEXT)
    with raises_for(ValueError, "text"):
        charlm.CharLM(rng=rng).fit("abc" * 10)
    with raises_for(TypeError, "text"):
        charlm.CharLM(rng=rng).fit(list(TEXT))
    with raises_for(TypeError, "dropout"):
        charlm.CharLM(rng=rng, cell_options={"dropout": 0.5}).fit(TEXT)
    with raises_for(TypeError, "cell_options"):
        charlm.CharLM(rng=rng, cell_options=[("forget_bias", 1.0)]).fit(TEXT)
    with raises_for(TypeError, "rng"):
        charlm.CharLM(rng=np.random.RandomState(0)).fit(TEXT)
    with pytest.raises(ValueError, match="有字符不在字符表里:'z'"):
        charlm.encode("abz", list("ab"))
    with raises_for(ValueError, 'prime'):
        charlm.sample("rnn", rnn.init_rnn_params(2, 3, 2, rng), list("ab"), 5, rng, prime="")
    with pytest.raises(ValueError, match="temperature"):
        charlm.sample("rnn", rnn.init_rnn_params(2, 3, 2, rng), list("ab"), 5, rng, temperature=0)


DEMO = ROOT / "notes" / "assets" / "data" / "ch4-charlm.json"


def test_the_committed_demonstration_is_what_the_script_computes(tmp_path):
    out = tmp_path / "run.json"
    subprocess.run([sys.executable, "scripts/ch4_charlm.py", "--steps", "3", "--models", "rnn", "lstm",
                    "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    short, full = json.loads(out.read_text(encoding="utf-8")), json.loads(DEMO.read_text(encoding="utf-8"))
    for name in ("rnn", "lstm"):
        np.testing.assert_allclose(short["models"][name]["train_loss"], full["models"][name]["train_loss"][:3],
                                   rtol=1e-5)  # the scripts store 6 significant digits (scripts/demo_json.py)
        np.testing.assert_allclose(short["models"][name]["gradient"]["init"], full["models"][name]["gradient"]["init"],
                                   rtol=1e-5)


def test_the_demonstration_shows_what_the_note_says():
    full = json.loads(DEMO.read_text(encoding="utf-8"))
    models = full["models"]
    for m in models.values():
        assert m["valid_loss"][-1][1] < 0.5 * m["unigram_entropy"]  # far below predicting by frequency alone
        assert np.mean(m["train_loss"][-100:]) < np.mean(m["train_loss"][:100])
        assert set(m["samples"]) == {"0.5", "1.0"}
    # 99 steps back, a trained LSTM keeps orders of magnitude more gradient than a trained RNN
    assert models["lstm"]["gradient"]["trained"][0] > 1e3 * models["rnn"]["gradient"]["trained"][0]


def test_the_adam_and_clipping_loop_of_the_note_runs_in_float32():
    rng = np.random.default_rng(0)
    params = {k: v.astype(np.float32) for k, v in rnn.init_rnn_params(3, 4, 3, rng).items()}
    X = np.eye(3, dtype=np.float32)[rng.integers(0, 3, (2, 5))].transpose(2, 0, 1)
    _, _, caches = rnn.rnn_forward(X, None, params)
    grads = rnn.rnn_backward(losses.cross_entropy(caches["Z"], X)[1], caches)
    Adam(0.01).step(params, sequence.clip_gradients({k: grads[k] for k in params}, 1.0))
    assert all(v.dtype == np.float32 for v in params.values())


# --------------------------------------------------------------------------------------------------------------
# Edges the mutation run found untested


def test_softmax_output_does_not_overflow_on_large_logits():
    rng = np.random.default_rng(0)
    params = rnn.init_rnn_params(2, 3, 2, rng)
    params["by"][:] = [[800.0], [0.0]]  # e^800 overflows: the maximum must be subtracted
    _, Y_hat, _ = rnn.rnn_forward(rng.standard_normal((2, 1, 2)), None, params)
    np.testing.assert_allclose(Y_hat[:, 0, :], [[1.0, 1.0], [0.0, 0.0]], atol=1e-300)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_extra_upstream_gradient_on_the_activations_is_added(cell):
    """backward(dZ, caches, dA=G) is the gradient of L + Σ G ⊙ A (as when another layer reads A)."""
    rng = np.random.default_rng(1)
    params, states = make(cell, 2, 3, 2, 2, rng)
    X, G = rng.standard_normal((2, 2, 4)), rng.standard_normal((3, 2, 4))  # T = 4 ≠ n_a = 3
    Y = np.eye(2)[rng.integers(0, 2, (2, 4))].transpose(2, 0, 1)

    def loss():
        A, _, caches = run(cell, X, states, params)
        return losses.cross_entropy(caches["Z"], Y)[0] + float(np.sum(G * A))

    A, _, caches = run(cell, X, states, params)
    grads = CELLS[cell][1](losses.cross_entropy(caches["Z"], Y)[1], caches, dA=G)
    for k, P in params.items():
        np.testing.assert_allclose(grads[k], central_difference(loss, P), rtol=1e-5, atol=1e-8, err_msg=k)



def test_char_lm_defaults_are_the_notes():
    import inspect

    def defaults(fn):
        return {k: v.default for k, v in inspect.signature(fn).parameters.items()
                if v.default is not inspect.Parameter.empty}

    assert defaults(charlm.CharLM) == {"cell": "lstm", "n_a": 128, "batch_size": 32, "T": 64, "epochs": 5,
                                        "max_steps": None, "alpha": 0.002, "max_norm": 5.0, "valid_fraction": 0.1,
                                        "eval_every": 100, "cell_options": None, "rng": None, "progress": True}
    assert defaults(charlm.CharLM.sample) == {"temperature": 1.0, "prime": "\n", "rng": None}
    assert defaults(charlm.sample) == {"temperature": 1.0, "prime": "\n"}
    assert defaults(charlm.evaluate) == {"m": 32, "T": 64}  # the training defaults
    # temperature 1 samples from the model's own distribution: the same draws as sampling from softmax(z) directly
    rng = np.random.default_rng(0)
    params = rnn.init_rnn_params(3, 4, 3, rng)
    text = charlm.sample("rnn", params, list("ab\n"), 5, np.random.default_rng(1))
    assert text == charlm.sample("rnn", params, list("ab\n"), 5, np.random.default_rng(1), temperature=1.0, prime="\n")


def test_evaluate_is_the_mean_cross_entropy_per_character_with_the_state_carried():
    """Brute force: step the cell character by character along each of the m streams."""
    rng = np.random.default_rng(4)
    chars = list("abc")
    params = rnn.init_rnn_params(3, 4, 3, rng, method="he")
    ids = rng.integers(0, 3, 23)
    m, T = 2, 3  # 11 characters a stream: four segments of at most 3, the state carried across them
    n = (ids.size - 1) // m
    losses = []
    for j in range(m):
        a = np.zeros((4, 1))
        for k in range(n):
            x = np.eye(3)[:, [ids[j * n + k]]]
            a, y_hat, _ = rnn.rnn_cell_forward(x, a, params)
            losses.append(-np.log(y_hat[ids[j * n + k + 1], 0]))
    assert charlm.evaluate("rnn", params, ids, len(chars), m=m, T=T) == pytest.approx(np.mean(losses), rel=1e-12)


def test_char_lm_training_edges():
    text = "abcabcabcabcabcabcabc"  # 21 characters; valid_fraction 0.5 → 10 for training → one stream of 9 steps
    rng = np.random.default_rng(0)
    model = charlm.CharLM("rnn", n_a=1, batch_size=1, T=9, epochs=2, eval_every=1, valid_fraction=0.5, rng=rng,
                          progress=False).fit(text)  # the smallest sizes, and a segment exactly as long as the stream
    assert len(model.history_) == 2 and [s for s, _ in model.valid_history_] == [1, 2]
    with raises_for(ValueError, "text", "10"):
        charlm.CharLM("rnn", batch_size=1, T=10, valid_fraction=0.5, rng=rng).fit(text)
    for bad in (0.0, 1.0):
        with raises_for(ValueError, "valid_fraction"):
            charlm.CharLM(valid_fraction=bad, rng=rng).fit(text)
    lstm_run = charlm.CharLM("lstm", n_a=2, batch_size=1, T=3, max_steps=1, valid_fraction=0.5,
                             cell_options={"forget_bias": 1.0}, rng=0, progress=False).fit(text)
    assert (lstm_run.params_["bf"] != 0).all()  # forget_bias reaches the initialisation, not the forward pass
    gru_run = charlm.CharLM("gru", n_a=2, batch_size=1, T=3, max_steps=1, valid_fraction=0.5,
                            cell_options={"reset_after": True}, rng=0, progress=False).fit(text)
    assert "Wr" in gru_run.params_
