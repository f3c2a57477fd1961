import numpy as np
import pytest

import fastnn
from fastnn import ops, reference as ref
from conftest import assert_close, one_thread, to_backend, to_numpy

# Random123's known-answer vectors for Philox4x32-10: (counter, key, output).
PHILOX_KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter,key,expected", PHILOX_KAT)
def test_philox_known_answers(counter, key, expected):
    assert fastnn._C.philox4x32_10(counter, key) == expected
    assert tuple(int(w) for w in ref.philox4x32_10(counter, key)) == expected


def test_philox_bad_words():
    with pytest.raises(ValueError, match="counter: expected 4 words, got 3"):
        fastnn._C.philox4x32_10((0, 0, 0), (0, 0))
    with pytest.raises(ValueError, match=r"key\[1\]: expected an int in \[0, 2\*\*32\), got 4294967296"):
        fastnn._C.philox4x32_10((0, 0, 0, 0), (0, 2**32))


# Sizes not a multiple of 4 (a partial last Philox call), and large enough to
# run several chunks on several threads; seeds and steps above 2^32 exercise
# the high key and counter words.
@pytest.mark.parametrize("shape", [(1,), (7,), (5, 3), (3, 17, 9, 11), (100_003,)])
@pytest.mark.parametrize("seed,step", [(0, 0), (42, 7), (2**40 + 3, 2**35 + 11), (2**64 - 1, 2**64 - 1)])
def test_dropout_mask_matches_numpy_philox(shape, seed, step):
    mask = ops.dropout_mask(shape, 0.3, seed, step)
    assert mask.dtype == np.uint8 and mask.shape == shape
    np.testing.assert_array_equal(mask, ref.dropout_mask(shape, 0.3, seed, step))


def test_dropout_keeps_u_equal_to_p():
    # keep iff u >= p: pick p equal to the u of element 5, which must be kept.
    bits = ref.philox4x32_10((1, 0, 3, 0), (8, 0))[1]  # element 4 * 1 + 1 = 5, seed 8, step 3
    p = int(bits >> 8) / 2**24
    mask = ops.dropout_mask((8,), p, 8, 3)
    assert mask[5] == 1
    np.testing.assert_array_equal(mask, ref.dropout_mask((8,), p, 8, 3))
    assert ops.dropout_mask((8,), np.nextafter(p, 1), 8, 3)[5] == 0


def test_dropout_mask_is_keyed_by_seed_and_step():
    shape = (64, 64)
    base = ops.dropout_mask(shape, 0.5, 123, 9)
    np.testing.assert_array_equal(base, ops.dropout_mask(shape, 0.5, 123, 9))
    for other in [ops.dropout_mask(shape, 0.5, 123, 10), ops.dropout_mask(shape, 0.5, 124, 9),
                  ops.dropout_mask(shape, 0.5, 123 + 2**32, 9), ops.dropout_mask(shape, 0.5, 123, 9 + 2**32)]:
        assert 0.3 < (other != base).mean() < 0.7  # independent masks differ in about half the units
    # A prefix of a longer array gets the same mask: it depends on the element index only.
    np.testing.assert_array_equal(ops.dropout_mask((1000,), 0.5, 5, 6)[:999], ops.dropout_mask((999,), 0.5, 5, 6))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_keep_rate(p):
    n = 1_000_000
    kept = ops.dropout_mask((n,), p, 2024, 1).mean(dtype=np.float64)
    sd = np.sqrt(p * (1 - p) / n)
    assert abs(kept - (1 - p)) < 4 * sd


@pytest.mark.parametrize("shape", [(5, 3), (3, 17, 9, 11), (70_001,)])
def test_dropout_forward_backward(shape, dtype, backend, rng):
    p, seed, step = 0.25, 77, 3
    x = rng.standard_normal(shape).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    bx, bdy = to_backend(backend, x, dy)
    mask = ref.dropout_mask(shape, p, seed, step)
    y = ops.dropout_forward(bx, p, seed=seed, step=step, backend=backend)
    assert_close(y, ref.dropout_forward(x.astype(np.float64), p, seed, step), dtype)
    assert_close(y, x.astype(np.float64) * mask / (1 - p), dtype)
    assert (to_numpy(y)[mask == 0] == 0).all()
    dx = ops.dropout_backward(bdy, p, seed=seed, step=step, backend=backend)
    assert_close(dx, dy.astype(np.float64) * mask / (1 - p), dtype)
    assert_close(dx, ref.dropout_backward(dy.astype(np.float64), p, seed, step), dtype)


# Every backend draws from the one Philox header (common/dropout_math.h): the
# mask, and the outputs (one multiply in T), equal the cpu backend's bit for bit,
# for sizes with a partial last Philox group, high seed and step words, p = 0.
@pytest.mark.parametrize("shape,p,seed,step", [
    ((1,), 0.3, 0, 0),
    ((7,), 0.5, 42, 7),
    ((5, 3), 0.9, 2**40 + 3, 2**35 + 11),
    ((3, 17, 9, 11), 0.1, 2**64 - 1, 2**64 - 1),
    ((2, 4099), 0.5, 123 + 2**32, 9 + 2**32),
    ((10_001,), 0.0, 5, 6),
])
def test_dropout_matches_cpu_bit_for_bit(shape, p, seed, step, dtype, backend, rng):
    if backend.name == "cpu":
        pytest.skip("compares the other backends with cpu")
    mask = ops.dropout_mask(shape, p, seed, step, backend=backend)
    assert to_numpy(mask).tobytes() == ops.dropout_mask(shape, p, seed, step, backend="cpu").tobytes()
    x = rng.standard_normal(shape).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    y = ops.dropout_forward(x, p, seed=seed, step=step, backend="cpu")
    dx = ops.dropout_backward(dy, p, seed=seed, step=step, backend="cpu")
    bx, bdy = to_backend(backend, x, dy)
    assert to_numpy(ops.dropout_forward(bx, p, seed=seed, step=step, backend=backend)).tobytes() == y.tobytes()
    assert to_numpy(ops.dropout_backward(bdy, p, seed=seed, step=step, backend=backend)).tobytes() == dx.tobytes()
    assert ops.dropout_forward(bx, p, seed=seed, step=step, out=bx, backend=backend) is bx  # in place
    assert to_numpy(bx).tobytes() == y.tobytes()


# A slice of an array starting at element ``first`` (a data-parallel rank's rows of
# the global batch) draws exactly that slice of the whole array's mask, for starts
# inside a Philox group, slices shorter than one, and across chunk boundaries.
@pytest.mark.parametrize("first,n", [(0, 9), (1, 2), (3, 5), (6, 1031), (4097, 70_001), (2**33 + 2, 13)])
def test_dropout_first_draws_the_slice_of_the_whole_mask(first, n, dtype, backend, rng):
    p, seed, step = 0.3, 2**40 + 5, 17
    whole = ref.dropout_mask((first + n,), p, seed, step) if first < 2**20 else None
    expected = ref.dropout_mask((n,), p, seed, step, first=first)
    if whole is not None:
        np.testing.assert_array_equal(expected, whole[first:])
    np.testing.assert_array_equal(to_numpy(ops.dropout_mask((n,), p, seed, step, first=first, backend=backend)),
                                  expected)
    x = rng.standard_normal(n).astype(dtype)
    bx = to_backend(backend, x)
    y = ops.dropout_forward(bx, p, seed=seed, step=step, first=first, backend=backend)
    assert_close(y, ref.dropout_forward(x.astype(np.float64), p, seed, step, first=first), dtype)
    dx = ops.dropout_backward(bx, p, seed=seed, step=step, first=first, backend=backend)
    assert to_numpy(dx).tobytes() == to_numpy(y).tobytes()


def test_dropout_inference_and_p0_are_identity(rng):
    x = rng.standard_normal((6, 5))
    assert ops.dropout_forward(x, 0.5, seed=1, step=2, training=False) is x
    out = np.empty_like(x)
    assert ops.dropout_forward(x, 0.5, seed=1, step=2, training=False, out=out) is out
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(ops.dropout_forward(x, 0.0, seed=1, step=2), x)
    np.testing.assert_array_equal(ops.dropout_backward(x, 0.0, seed=1, step=2), x)
    assert ops.dropout_mask((100,), 0.0, 1, 2).all()
    # The inference copy checks out like the training path (numpy would broadcast and truncate).
    with pytest.raises(ValueError, match=r"out: expected shape \(6, 5\) like x, got \(2, 6, 5\)"):
        ops.dropout_forward(x, 0.5, seed=1, step=2, training=False, out=np.empty((2, 6, 5)))
    with pytest.raises(TypeError, match="out: expected dtype float64 like x, got int8"):
        ops.dropout_forward(x, 0.5, seed=1, step=2, training=False, out=np.empty((6, 5), np.int8))


def test_dropout_in_place_and_deterministic(rng):
    x = rng.standard_normal(10_000).astype(np.float32)
    y = ops.dropout_forward(x, 0.4, seed=9, step=1)
    y2 = ops.dropout_forward(x, 0.4, seed=9, step=1)
    assert y.tobytes() == y2.tobytes()
    with one_thread():
        assert ops.dropout_forward(x, 0.4, seed=9, step=1).tobytes() == y.tobytes()
    xin = x.copy()
    assert ops.dropout_forward(xin, 0.4, seed=9, step=1, out=xin) is xin
    np.testing.assert_array_equal(xin, y)


def test_dropout_bad_input():
    x = np.ones((4, 3))
    with pytest.raises(ValueError, match="p: expected 0 <= p < 1, got 1"):
        ops.dropout_forward(x, 1, seed=0, step=0)
    with pytest.raises(ValueError, match="p: expected 0 <= p < 1, got 1"):
        fastnn._C.dropout_forward(x, np.empty_like(x), 1.0, 0, 0)
    with pytest.raises(ValueError, match="p: expected 0 <= p < 1, got -0.1"):
        ops.dropout_backward(x, -0.1, seed=0, step=0)
    with pytest.raises(ValueError, match="p: expected 0 <= p < 1, got nan"):
        ops.dropout_mask((3,), float("nan"), 0, 0)
    with pytest.raises(ValueError, match="p: expected 0 <= p < 1, got 1"):
        ops.dropout_forward(x, 1.0, seed=0, step=0, training=False)
    with pytest.raises(ValueError, match=r"seed: expected an int in \[0, 2\*\*64\), got -1"):
        ops.dropout_forward(x, 0.5, seed=-1, step=0)
    with pytest.raises(ValueError, match=r"step: expected an int in \[0, 2\*\*64\), got 18446744073709551616"):
        ops.dropout_forward(x, 0.5, seed=0, step=2**64)
    with pytest.raises(TypeError, match="seed: expected an int, got builtins.float"):
        ops.dropout_forward(x, 0.5, seed=1.5, step=0)
    ops.dropout_forward(x, 0.5, seed=np.uint64(2**63), step=np.int64(5))  # numpy integers are ints
    with pytest.raises(ValueError, match=r"out: expected shape \(4, 3\) like x, got \(3, 4\)"):
        ops.dropout_forward(x, 0.5, seed=0, step=0, out=np.empty((3, 4)))
    with pytest.raises(TypeError, match="out: expected dtype float64 like dy, got float32"):
        ops.dropout_backward(x, 0.5, seed=0, step=0, out=np.empty((4, 3), np.float32))
    with pytest.raises(TypeError, match="x: expected float32 or float64, got int64"):
        ops.dropout_forward(np.ones(3, np.int64), 0.5, seed=0, step=0)
    with pytest.raises(TypeError, match="mask: expected uint8, got float64"):
        fastnn._C.dropout_mask(np.empty(3), 0.5, 0, 0)
