import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import assert_close, one_thread, to_backend, to_numpy

# Ranges with a gap (a frozen tensor) and one empty range; sizes past the CPU's chunk.
RANGES = np.array([[0, 7], [7, 7], [7, 20000], [25000, 25013], [25013, 40000]], np.int64)


def inputs(dtype, rng, scale=1.0):
    n = 40000
    w = rng.standard_normal(n).astype(dtype)
    g = (rng.standard_normal(n) * scale).astype(dtype)
    l1 = np.array([0.0, 0.1, 0.003, 0.0, 0.01], dtype)
    l2 = np.array([0.02, 0.0, 0.01, 0.0, 0.5], dtype)
    return w, g, l1, l2


@pytest.mark.parametrize("mode,clip", [("clipnorm", 3.0), ("global_clipnorm", 50.0), ("clipvalue", 0.5),
                                       ("clipnorm", 1e9), ("global_clipnorm", 1e9)])
def test_clip_gradients_matches_reference(mode, clip, dtype, backend, rng):
    w, g, l1, l2 = inputs(dtype, rng)
    bw, bg, br, b1, b2 = to_backend(backend, w, g.copy(), RANGES, l1, l2)
    sq = ops.clip_gradients(bw, bg, br, b1, b2, mode=mode, clip=clip, backend=backend)
    expected = g.astype(np.float64)
    rsq = ref.clip_gradients(w.astype(np.float64), expected, RANGES, l1.astype(np.float64), l2.astype(np.float64),
                             mode=mode, clip=clip)
    assert_close(bg, expected, dtype)
    np.testing.assert_allclose(to_numpy(sq), rsq, rtol=1e-5 if dtype == np.float32 else 1e-12)
    outside = to_numpy(bg)[20000:25000]
    np.testing.assert_array_equal(outside, g[20000:25000])  # a gap between ranges is not touched
    if mode == "clipnorm" and clip < 1e9:
        for (lo, hi) in RANGES:
            assert np.linalg.norm(to_numpy(bg)[lo:hi].astype(np.float64)) <= clip * (1 + 1e-5)


def test_clip_gradients_does_not_depend_on_the_thread_count(rng):
    w, g, l1, l2 = inputs(np.float32, rng)
    many = g.copy()
    ops.clip_gradients(w, many, RANGES, l1, l2, mode="global_clipnorm", clip=10.0)
    with one_thread():
        ops.clip_gradients(w, g, RANGES, l1, l2, mode="global_clipnorm", clip=10.0)
    np.testing.assert_array_equal(many, g)


def test_clip_gradients_bad_input():
    w, g = np.zeros(10), np.zeros(10)
    r, l = np.array([[0, 5]], np.int64), np.zeros(1)
    with pytest.raises(ValueError, match="mode: expected 'clipnorm'"):
        ops.clip_gradients(w, g, r, l, l, mode="norm", clip=1.0)
    with pytest.raises(ValueError, match="clip: expected a finite number > 0"):
        ops.clip_gradients(w, g, r, l, l, mode="clipnorm", clip=0.0)
    with pytest.raises(ValueError, match=r"ranges: pair 1 \[3, 8\) is not a sorted, non-overlapping range"):
        ops.clip_gradients(w, g, np.array([[0, 5], [3, 8]], np.int64), np.zeros(2), np.zeros(2), mode="clipvalue",
                           clip=1.0)
    with pytest.raises(ValueError, match=r"ranges: pair 0 \[0, 11\)"):
        ops.clip_gradients(w, g, np.array([[0, 11]], np.int64), l, l, mode="clipvalue", clip=1.0)
    with pytest.raises(TypeError, match="ranges: expected int64"):
        ops.clip_gradients(w, g, r.astype(np.int32), l, l, mode="clipvalue", clip=1.0)
    with pytest.raises(TypeError, match="l1: expected dtype float64 like w"):
        ops.clip_gradients(w, g, r, l.astype(np.float32), l, mode="clipvalue", clip=1.0)
    with pytest.raises(ValueError, match="g: expected a C-contiguous array"):
        ops.clip_gradients(w, g[::2], r, l, l, mode="clipvalue", clip=1.0)
