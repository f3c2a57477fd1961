import numpy as np
import pytest

import fastnn
from fastnn import ops, reference as ref
from conftest import RTOL, R, assert_close, to_backend, to_numpy

SHAPES = [(1, 1), (1, 10), (7, 3), (64, 1000)]


@pytest.mark.parametrize("M,C", SHAPES)
def test_softmax_forward_backward(M, C, dtype, backend, rng):
    x = (rng.standard_normal((M, C)) * 3).astype(dtype)
    dy = rng.standard_normal((M, C)).astype(dtype)
    bx, bdy = to_backend(backend, x, dy)
    y = ops.softmax_forward(bx, backend=backend)
    assert_close(y, R(ref.softmax_forward, x), dtype)
    # Backward is checked from the kernel's own y, so forward rounding is not counted twice.
    assert_close(ops.softmax_backward(y, bdy, backend=backend), R(ref.softmax_backward, to_numpy(y), dy), dtype,
                 atol=RTOL[dtype] * np.abs(dy).max())


def test_softmax_of_huge_inputs_does_not_overflow(dtype, backend):
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4 + 1, -1e4]], dtype=dtype)
    y = ops.softmax_forward(to_backend(backend, x), backend=backend)
    assert_close(y, R(ref.softmax_forward, x.astype(np.float64)).astype(dtype), dtype)
    probs, loss = ops.softmax_cross_entropy_forward(to_backend(backend, x), to_backend(backend, np.array([1, 0, 2])), backend=backend)
    assert np.isfinite(np.asarray(loss)).all()
    assert_close(loss, R(ref.softmax_cross_entropy_forward, x.astype(np.float64), np.array([1, 0, 2]))[1], dtype, rtol=1e-6)


@pytest.mark.parametrize("M,C", SHAPES)
@pytest.mark.parametrize("labels", ["int64", "int32", "onehot", "soft"])
def test_softmax_cross_entropy(M, C, labels, dtype, backend, rng):
    logits = (rng.standard_normal((M, C)) * 5).astype(dtype)
    idx = rng.integers(0, C, M)
    if labels == "onehot":
        target = np.eye(C, dtype=dtype)[idx]
    elif labels == "soft":
        target = R(ref.softmax_forward, rng.standard_normal((M, C))).astype(dtype)
    else:
        target = idx.astype(labels)
    bl, bt = to_backend(backend, logits, target)
    probs, loss = ops.softmax_cross_entropy_forward(bl, bt, backend=backend)
    rprobs, rloss = R(ref.softmax_cross_entropy_forward, logits, target)
    assert_close(probs, rprobs, dtype)
    assert_close(loss, rloss, dtype)
    d = ops.softmax_cross_entropy_backward(probs, bt, backend=backend)
    atol = RTOL[dtype] / M  # dlogits = (p - t) / M: terms of size 1/M
    assert_close(d, R(ref.softmax_cross_entropy_backward, to_numpy(probs), target), dtype, atol=atol)
    d2 = ops.softmax_cross_entropy_backward(probs, bt, scale=3.0, backend=backend)
    assert_close(d2, R(ref.softmax_cross_entropy_backward, to_numpy(probs), target, scale=3.0), dtype, atol=3 * M * atol)


def test_softmax_cross_entropy_gradient_is_numerical_gradient(rng):
    logits = rng.standard_normal((4, 5))
    target = np.array([0, 4, 2, 2])

    def loss():
        return ops.softmax_cross_entropy_forward(logits, target)[1].mean()

    from conftest import numerical_grad

    probs, _ = ops.softmax_cross_entropy_forward(logits, target)
    np.testing.assert_allclose(ops.softmax_cross_entropy_backward(probs, target), numerical_grad(loss, logits), rtol=1e-6, atol=1e-9)


def test_dtypes_are_matched_by_kind_and_size():
    """np.longlong is int64 and a dtype may carry metadata: both are the dtypes they equal; a
    byte-swapped array is not (the kernels read native order) and is named."""
    logits = np.random.default_rng(0).standard_normal((3, 4))
    expected = ops.softmax_cross_entropy_forward(logits, np.array([0, 3, 1]))[1]
    for target in (np.array([0, 3, 1], np.longlong), np.array([0, 3, 1], np.dtype(np.int64, metadata={"a": 1}))):
        np.testing.assert_array_equal(ops.softmax_cross_entropy_forward(logits, target)[1], expected)
    swapped = logits.astype(logits.dtype.newbyteorder(">"))
    with pytest.raises(TypeError, match="x: expected float32 or float64, got >f8"):  # the array's own dtype
        fastnn._C.softmax_forward(swapped, np.empty((3, 4)))


def test_softmax_cross_entropy_bad_targets():
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"target: class index 4 at position 1 is out of range \[0, 4\)"):
        ops.softmax_cross_entropy_forward(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"target: class index -1"):
        ops.softmax_cross_entropy_forward(logits, np.array([0, -1, 1], np.int32))
    with pytest.raises(ValueError, match=r"target: expected shape \(3,\)"):
        ops.softmax_cross_entropy_forward(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"target: expected shape \(3, 4\)"):
        ops.softmax_cross_entropy_forward(logits, np.zeros((3, 5)))
    with pytest.raises(TypeError, match="target: expected int32/int64 class indices"):
        ops.softmax_cross_entropy_forward(logits, np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="logits: expected a non-empty array"):
        ops.softmax_cross_entropy_forward(np.zeros((0, 4)), np.zeros(0, np.int64))


def test_class_indices_are_checked_on_host_memory_backends(backend):
    # The bindings read host labels (cpu, cuda-emu); an index out of range
    # would otherwise read outside its row.
    if backend.name == "cuda":
        pytest.skip("device labels are not read by the binding; the kernel makes such rows NaN")
    logits = to_backend(backend, np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"target: class index 4 at position 2 is out of range \[0, 4\)"):
        ops.softmax_cross_entropy_forward(logits, to_backend(backend, np.array([0, 1, 4])), backend=backend)
