import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import assert_close, to_backend, to_numpy

HYPER = {
    "sgd": {},
    "momentum": {"rho": 0.9},
    "momentum_avg": {"rho": 0.9},
    "nesterov": {"rho": 0.9},
    "adagrad": {"eps": 1e-7},
    "adadelta": {"rho": 0.95, "eps": 1e-6},
    "rmsprop": {"rho": 0.9, "eps": 1e-7},
    "adam": {"rho": 0.9, "beta2": 0.999, "eps": 1e-7},
    "adamw": {"rho": 0.9, "beta2": 0.999, "eps": 1e-7, "weight_decay": 0.01},
    "nadam": {"rho": 0.9, "beta2": 0.999, "eps": 1e-7},
    "adamax": {"rho": 0.9, "beta2": 0.999, "eps": 1e-7},
}
REGULARIZERS = {"none": {}, "l2": {"l2": 0.01}, "l1": {"l1": 0.003}, "elastic": {"l1": 0.002, "l2": 0.02},
                "weight_decay": {"weight_decay": 0.05}}


@pytest.mark.parametrize("kind", ops.OPTIMIZERS)
@pytest.mark.parametrize("reg", REGULARIZERS)
def test_50_step_trajectory_matches_reference(kind, reg, dtype, backend, rng):
    n = 1037  # odd size: no vector-width multiple
    w0 = rng.standard_normal(n).astype(dtype)
    grads = [rng.standard_normal(n).astype(dtype) for _ in range(50)]
    lr = 0.5 if kind == "adadelta" else 0.01
    hyper = {**HYPER[kind], **REGULARIZERS[reg]}
    states = [np.zeros(n, dtype) for _ in range(ops.STATE_COUNT[kind])]
    w, *s = to_backend(backend, w0, *states) if states else (to_backend(backend, w0),)
    rw, rs = w0.astype(np.float64), [st.astype(np.float64) for st in states]
    for t, g in enumerate(grads, start=1):
        rg = g.astype(np.float64)
        ops.optimizer_update(kind, w, to_backend(backend, g), *s, *([None] * (2 - len(s))), lr=lr, step=t, backend=backend, **hyper)
        ref.optimizer_update(kind, rw, rg, *rs, *([None] * (2 - len(rs))), lr=lr, step=t, **hyper)
    assert_close(w, rw, dtype, rtol=1e-6 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("kind", ops.OPTIMIZERS)
def test_50_step_float64_trajectory_without_resync(kind, rng):
    n = 257
    w = rng.standard_normal(n)
    rw = w.copy()
    s = [np.zeros(n) for _ in range(ops.STATE_COUNT[kind])]
    rs = [np.zeros(n) for _ in range(ops.STATE_COUNT[kind])]
    hyper = {**HYPER[kind], "l1": 0.001, "l2": 0.01}
    pad = [None] * (2 - len(s))
    for t in range(1, 51):
        g = rng.standard_normal(n) + w
        ops.optimizer_update(kind, w, g, *s, *pad, lr=0.01, step=t, **hyper)
        ref.optimizer_update(kind, rw, g.copy(), *rs, *pad, lr=0.01, step=t, **hyper)
        np.testing.assert_allclose(w, rw, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("step", [1, 999, 1000, 1001, 5000])
def test_nadam_momentum_schedule_at_late_steps(step, rng):
    w, g, m, v = (rng.standard_normal(33) for _ in range(4))
    v = np.abs(v)
    rw, rm, rv = w.copy(), m.copy(), v.copy()
    ops.optimizer_update("nadam", w, g, m, v, lr=0.01, step=step, **HYPER["nadam"])
    ref.optimizer_update("nadam", rw, g, rm, rv, lr=0.01, step=step, **HYPER["nadam"])
    np.testing.assert_allclose(w, rw, rtol=1e-12)


def test_max_norm_project(dtype, backend, rng):
    w0 = (rng.standard_normal((3, 3, 4, 5)) * 2).astype(dtype)
    w = to_backend(backend, w0.copy())
    ops.max_norm_project(w, 1.5, backend=backend)
    expected = w0.astype(np.float64)
    ref.max_norm_project(expected, 1.5)
    assert_close(w, expected, dtype)
    norms = np.sqrt((to_numpy(w).reshape(-1, 5).astype(np.float64) ** 2).sum(0))
    assert (norms <= 1.5 * (1 + 1e-6)).all()


def test_optimizer_bad_input():
    w, g = np.zeros(4), np.zeros(4)
    with pytest.raises(ValueError, match="kind: unknown optimizer 'lbfgs'"):
        ops.optimizer_update("lbfgs", w, g, lr=0.1)
    with pytest.raises(ValueError, match="s1: optimizer 'adam' needs 2 state array"):
        ops.optimizer_update("adam", w, g, lr=0.1)
    with pytest.raises(ValueError, match=r"g: expected shape \(4,\) like w"):
        ops.optimizer_update("sgd", w, np.zeros(5), lr=0.1)
    with pytest.raises(TypeError, match="s1: expected dtype float64 like w, got float32"):
        ops.optimizer_update("momentum", w, g, np.zeros(4, np.float32), lr=0.1)
    with pytest.raises(ValueError, match="lr: expected a finite value >= 0"):
        ops.optimizer_update("sgd", w, g, lr=float("nan"))
    with pytest.raises(ValueError, match="step: expected the 1-based step number"):
        ops.optimizer_update("sgd", w, g, lr=0.1, step=0)
    with pytest.raises(ValueError, match="max_norm: expected a value > 0"):
        ops.max_norm_project(np.ones((2, 2)), 0.0)


def test_optimizer_rejects_decays_of_one_or_more(backend):
    """A decay >= 1 never forgets (RMSProp then returned NaN, Adam stepped the wrong way)."""
    w, g, s1, s2 = (to_backend(backend, np.ones(4)) for _ in range(4))
    for kind, hyper, name in [("adam", {"rho": 1.5, "beta2": 0.999}, "rho"), ("rmsprop", {"rho": 3.0}, "rho"),
                              ("momentum", {"rho": 1.0}, "rho"), ("adam", {"rho": 0.9, "beta2": 1.0}, "beta2")]:
        with pytest.raises(ValueError, match=f"{name}: expected 0 <= {name} < 1"):
            ops.optimizer_update(kind, w, g, s1, s2, lr=0.1, eps=1e-7, step=1, backend=backend, **hyper)
    np.testing.assert_array_equal(to_numpy(w), np.ones(4))


def test_optimizer_state_updated_in_place_must_be_contiguous():
    """A strided w (or state) would be updated in a copy, silently: it is an error instead."""
    w, g = np.ones(8), np.ones(4)
    with pytest.raises(ValueError, match="w: expected a C-contiguous array of the backend"):
        ops.optimizer_update("sgd", w[::2], g, lr=0.5)
    with pytest.raises(ValueError, match="s1: expected a C-contiguous array of the backend"):
        ops.optimizer_update("momentum", w[:4], g, np.zeros(8)[::2], lr=0.5, rho=0.9)
    ops.optimizer_update("sgd", w[:4], g[::-1], lr=0.5)  # g is only read: copied when strided
    np.testing.assert_array_equal(w, [0.5] * 4 + [1] * 4)


def test_max_norm_project_sizes_do_not_overflow():
    import fastnn

    with pytest.raises(ValueError, match=r"rows, cols: expected positive sizes with rows \* cols == w.size \(8\)"):
        fastnn._C.max_norm_project(np.ones(8), 2**62 + 2, 4, 1.0)  # (2^62 + 2) * 4 wraps to 8


def test_optimizer_kinds_one_table_in_every_kernel_module(backend):
    """OPTIMIZERS and STATE_COUNT are read from the native table; every kernel module shares it."""
    kinds = backend.kernels.optimizer_kinds()
    assert kinds == [(name, ops.STATE_COUNT[name]) for name in ops.OPTIMIZERS]
    assert ops.OPTIMIZERS[:2] == ("sgd", "momentum") and ops.STATE_COUNT["adam"] == 2  # Python callers' names
    with pytest.raises(ValueError, match="kind: unknown optimizer 'lbfgs', expected one of " + ", ".join(ops.OPTIMIZERS)):
        backend.kernels.optimizer_update("lbfgs", *to_backend(backend, np.zeros(2), np.zeros(2)), None, None, lr=0.1)


@pytest.mark.parametrize("n", [1, 1037, 70001])  # 70001: several threads on the CPU, several blocks' strides on CUDA
def test_ema_update_matches_reference(n, dtype, backend, rng):
    average0 = rng.standard_normal(n).astype(dtype)
    ws = [rng.standard_normal(n).astype(dtype) for _ in range(5)]
    average = to_backend(backend, average0.copy())
    expected = average0.astype(np.float64)
    for w in ws:
        assert ops.ema_update(average, to_backend(backend, w), 0.99, backend=backend) is average
        ref.ema_update(expected, w.astype(np.float64), 0.99)
    assert_close(average, expected, dtype)


def test_ema_update_decay_zero_copies_w(backend, rng):
    w = rng.standard_normal(9)
    average = to_backend(backend, np.full(9, -1e300))
    ops.ema_update(average, to_backend(backend, w), 0.0, backend=backend)
    np.testing.assert_array_equal(to_numpy(average), w)


def test_ema_update_bad_input(backend):
    a, w = to_backend(backend, np.zeros(4), np.ones(4))
    with pytest.raises(TypeError, match="w: expected dtype float64 like average, got float32"):
        ops.ema_update(a, w.astype(np.float32), 0.9, backend=backend)
    with pytest.raises(ValueError, match=r"w: expected shape \(4,\) like average, got \(5,\)"):
        ops.ema_update(a, backend.xp.ones(5), 0.9, backend=backend)
    with pytest.raises(ValueError, match="average: expected a 1-D array, got 2-D"):
        ops.ema_update(backend.xp.zeros((2, 2)), backend.xp.ones((2, 2)), 0.9, backend=backend)
    with pytest.raises(ValueError, match="average: must not overlap w"):
        ops.ema_update(a, a, 0.9, backend=backend)
    buf = backend.xp.zeros(6)
    with pytest.raises(ValueError, match="average: must not overlap w"):
        ops.ema_update(buf[:4], buf[2:], 0.9, backend=backend)
    for decay in (1.0, -0.1, float("nan"), 1.5):
        with pytest.raises(ValueError, match=f"decay: expected 0 <= decay < 1, got {decay:g}"):
            ops.ema_update(a, w, decay, backend=backend)
    with pytest.raises(ValueError, match="average: expected a C-contiguous array of the backend"):
        ops.ema_update(backend.xp.zeros(8)[::2], w, 0.9, backend=backend)
    np.testing.assert_array_equal(to_numpy(a), np.zeros(4))  # no failed call wrote


@pytest.mark.parametrize("kind", [k for k in ops.OPTIMIZERS if ops.STATE_COUNT[k]])
def test_subnormal_states_are_flushed_to_zero(kind, dtype, backend):
    # A weight whose gradient stays 0 (an always-zero input pixel, a dead ReLU) has states that decay
    # into the subnormal range, which x86 cores compute on ~100x slower: they become exactly 0.
    tiny = np.finfo(dtype).tiny  # the smallest normal number
    n = 67
    w0 = np.linspace(-1, 1, n).astype(dtype)
    states = [np.full(n, tiny / 64, dtype) for _ in range(ops.STATE_COUNT[kind])]
    states[0][::2] = -tiny / 64  # momentum-like states decay from either side
    states[0][1] = tiny  # a normal state stays as it is, or decays normally
    hyper = {k: v for k, v in HYPER[kind].items() if k != "weight_decay"}
    w, *s = to_backend(backend, w0, *states)
    ops.optimizer_update(kind, w, to_backend(backend, np.zeros(n, dtype)), *s, *([None] * (2 - len(s))), lr=0.01,
                         step=1, backend=backend, **hyper)
    for state in map(to_numpy, s):
        assert np.count_nonzero(state[np.arange(n) != 1]) == 0
        assert np.all((state == 0) | (np.abs(state) >= tiny))  # no subnormal left anywhere
    np.testing.assert_array_equal(to_numpy(w), w0)
