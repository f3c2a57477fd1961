import importlib

import numpy as np
import pytest

import fastnn
from fastnn import ops, reference as ref
from conftest import assert_close, one_thread, to_backend, to_numpy

noise_ref = importlib.import_module("fastnn.reference.gaussian_noise")  # the module: the package exports the function

# Odd sizes: a partial last Philox call (n % 4) and a half Box-Muller pair (n odd);
# 40_001 spans several CPU chunks and threads.
SHAPES = [(1,), (3,), (6,), (7, 13), (40_001,)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_gaussian_noise_matches_reference(shape, dtype, backend, rng):
    x = rng.standard_normal(shape).astype(dtype)
    seed, step = 2**63 + 5, 2**40 + 3  # both 32-bit halves of key and counter in use
    y = ops.gaussian_noise(to_backend(backend, x), 0.5, seed=seed, step=step, backend=backend)
    assert_close(y, ref.gaussian_noise(x, 0.5, seed, step), dtype)
    if backend.name == "cuda-emu":  # the same C library's log, sin and cos as the CPU: the same bits
        cpu = ops.gaussian_noise(x, 0.5, seed=seed, step=step, backend="cpu")
        assert to_numpy(y).tobytes() == cpu.tobytes()


def test_gaussian_noise_is_standard_normal_and_new_each_step():
    n = 1_000_000
    z = ops.gaussian_noise(np.zeros(n), 1.0, seed=11, step=0)
    tol = 5 / np.sqrt(n)  # 5 standard errors
    assert abs(z.mean()) < tol and abs(z.std() - 1) < tol
    assert abs((np.abs(z) > 2).mean() - 0.0455) < 0.002  # the tails of N(0, 1), not just its moments
    assert abs(np.mean(z[:-1] * z[1:])) < tol  # Box-Muller pairs and neighbours uncorrelated
    assert abs(np.corrcoef(z, ops.gaussian_noise(np.zeros(n), 1.0, seed=11, step=1))[0, 1]) < tol
    assert abs(np.corrcoef(z, ops.gaussian_noise(np.zeros(n), 1.0, seed=12, step=0))[0, 1]) < tol


def test_gaussian_noise_stream_is_apart_from_dropouts(monkeypatch):
    """Noise and dropout with the same (seed, step) must not share random words."""
    n = 1000
    assert not np.any(ref.philox_stream(n, 7, 3) == ref.philox_stream(n, 7 ^ noise_ref.NOISE_KEY, 3))
    y = ops.gaussian_noise(np.zeros(n), 1.0, seed=7, step=3)
    assert_close(y, ref.gaussian_noise(np.zeros(n), 1.0, 7, 3), np.float64)
    monkeypatch.setattr(noise_ref, "NOISE_KEY", 0)  # the reference drawing from dropout's own words
    assert not np.allclose(y, ref.gaussian_noise(np.zeros(n), 1.0, 7, 3))


def test_gaussian_noise_in_place_deterministic_and_thread_independent(rng):
    x = rng.standard_normal(100_003).astype(np.float32)
    y = ops.gaussian_noise(x, 0.3, seed=4, step=9)
    with one_thread():
        assert ops.gaussian_noise(x, 0.3, seed=4, step=9).tobytes() == y.tobytes()
    xin = x.copy()
    assert ops.gaussian_noise(xin, 0.3, seed=4, step=9, out=xin) is xin
    assert xin.tobytes() == y.tobytes()
    np.testing.assert_array_equal(ops.gaussian_noise(x, 0.0, seed=4, step=9), x)  # stddev 0: a copy


def test_gaussian_noise_layer_draws_on_its_device(rng):
    """The layer's noise comes from ops.gaussian_noise, on the model's backend: cuda-emu equals cpu."""
    if "cuda-emu" not in fastnn.backend.available():
        pytest.skip("the cuda-emu backend is not built")
    x = rng.standard_normal((8, 5)).astype(np.float32)
    outs = []
    for device in ("cpu", "cuda-emu"):
        model = fastnn.Sequential([fastnn.GaussianNoise(0.2, input_shape=(5,))], device=device, seed=3)
        model.compile(loss="mse", optimizer="sgd")
        outs.append(to_numpy(model.layers[0].forward(model.backend.xp.asarray(x), training=True)))
    assert outs[0].tobytes() == outs[1].tobytes() and not np.array_equal(outs[0], x)
    seed = (3 * 1_000_003 + 0) % 2**63  # the derived seed of layer 0
    np.testing.assert_array_equal(outs[0], ops.gaussian_noise(x, 0.2, seed=seed, step=0))


def test_gaussian_noise_bad_input():
    x = np.ones((4, 3))
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="stddev: expected a finite value >= 0"):
            ops.gaussian_noise(x, bad, seed=0, step=0)
        with pytest.raises(ValueError, match="stddev: expected a finite value >= 0"):
            fastnn.GaussianNoise(bad)
    with pytest.raises(TypeError, match="stddev: expected a number, got str"):
        ops.gaussian_noise(x, "0.1", seed=0, step=0)
    with pytest.raises(ValueError, match=r"seed: expected an int in \[0, 2\*\*64\), got -1"):
        ops.gaussian_noise(x, 0.1, seed=-1, step=0)
    with pytest.raises(ValueError, match=r"out: expected shape \(4, 3\) like x, got \(3, 4\)"):
        ops.gaussian_noise(x, 0.1, seed=0, step=0, out=np.empty((3, 4)))
    with pytest.raises(TypeError, match="x: expected float32 or float64, got int64"):
        ops.gaussian_noise(np.ones(3, np.int64), 0.1, seed=0, step=0)
