"""Shared fixtures: every op test runs over dtype x backend, comparing with
fastnn.reference at tolerances tight enough to catch a real bug."""
import contextlib
import os

import numpy as np
import pytest

import fastnn
from fastnn import backend as fbackend

DTYPES = [np.float32, np.float64]
# Relative error bound, measured as ||actual - expected|| / ||expected||.
RTOL = {np.float32: 1e-5, np.float64: 1e-10}
ALL_BACKENDS = ["cpu", "cuda-emu", "cuda"]


def pytest_configure(config):
    # CI builds the emulator with FASTNN_CUDA_EMU=ON and must run its cases:
    # a build that silently lost the module would otherwise skip them all.
    if os.environ.get("FASTNN_CUDA_EMU", "").upper() in ("ON", "1", "TRUE", "YES") \
            and "cuda-emu" not in fbackend.available():
        raise pytest.UsageError("FASTNN_CUDA_EMU=ON but fastnn._cuda_emu is not importable: "
                                "the cuda-emu tests would all be skipped")


@pytest.fixture(params=DTYPES, ids=lambda d: np.dtype(d).name)
def dtype(request):
    return request.param


@pytest.fixture(params=ALL_BACKENDS)
def backend(request):
    if request.param not in fbackend.available():
        pytest.skip(f"backend {request.param!r} is not available here")
    return fbackend.get(request.param)


@contextlib.contextmanager
def one_thread():
    """Run the block with fastnn on one thread (results must not depend on the count)."""
    threads = fastnn.get_num_threads()
    fastnn.set_num_threads(1)
    try:
        yield
    finally:
        fastnn.set_num_threads(threads)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def to_backend(be, *arrays):
    """Copies of numpy arrays on backend ``be``."""
    out = tuple(None if a is None else be.xp.asarray(a) for a in arrays)
    return out if len(out) > 1 else out[0]


def to_numpy(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def assert_close(actual, expected, dtype=None, rtol=None, atol=0.0):
    """Norm-wise relative comparison, plus an element-wise bound scaled by the largest value.

    ``atol`` forgives absolute errors up to that size: for results that are small
    differences of O(1) terms (p - t near p = 1), where float32 rounding of the
    terms is the floor.
    """
    actual = to_numpy(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    if dtype is not None:
        assert actual.dtype == np.dtype(dtype), f"dtype {actual.dtype} != {np.dtype(dtype)}"
    rtol = rtol if rtol is not None else RTOL[np.dtype(dtype or expected.dtype).type]
    scale = max(float(np.max(np.abs(expected), initial=0.0)), np.finfo(np.float64).tiny)
    err = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    err[err < np.finfo(actual.dtype).tiny] = 0  # below the kernel dtype's normal range
    err = np.maximum(err - atol, 0)
    assert np.isfinite(actual).all() == np.isfinite(expected).all(), "non-finite values differ"
    norm = np.linalg.norm(expected.astype(np.float64)) or 1.0
    assert np.linalg.norm(err) / norm <= rtol, f"relative error {np.linalg.norm(err) / norm:.3g} > {rtol}"
    assert err.max(initial=0) <= 10 * rtol * scale, f"max abs error {err.max():.3g} > {10 * rtol * scale:.3g}"


def numerical_grad(f, x, eps=1e-6):
    """Central differences of the scalar function f at x (float64), one element at a time."""
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


def R(fn, *args, **kwargs):
    """Call the reference ``fn`` in float64 (float inputs upcast), so the oracle's
    own rounding does not count against the kernel under test."""
    up = lambda a: a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
    return fn(*(up(a) for a in args), **kwargs)
