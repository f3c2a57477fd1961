import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import R, assert_close, numerical_grad, to_backend


@pytest.mark.parametrize("M,F", [(1, 1), (5, 3), (128, 10), (64, 1001)])
def test_mse(M, F, dtype, backend, rng):
    pred, target = (rng.standard_normal((M, F)).astype(dtype) for _ in range(2))
    bp, bt = to_backend(backend, pred, target)
    assert_close(ops.mse_forward(bp, bt, backend=backend), R(ref.mse_forward, pred, target), dtype)
    assert_close(ops.mse_backward(bp, bt, backend=backend), R(ref.mse_backward, pred, target), dtype)


@pytest.mark.parametrize("M,F", [(1, 1), (5, 3), (128, 10), (64, 1001)])
def test_bce_logits(M, F, dtype, backend, rng):
    logits = (rng.standard_normal((M, F)) * 10).astype(dtype)
    logits.reshape(-1)[0] = 500.0  # log(1 + e^500) must not overflow
    target = (rng.random((M, F)) < 0.5).astype(dtype)
    bl, bt = to_backend(backend, logits, target)
    loss = ops.bce_logits_forward(bl, bt, backend=backend)
    assert np.isfinite(np.asarray(loss)).all()
    assert_close(loss, R(ref.bce_logits_forward, logits, target), dtype)
    assert_close(ops.bce_logits_backward(bl, bt, scale=0.5, backend=backend), R(ref.bce_logits_backward, logits, target, 0.5), dtype)


@pytest.mark.parametrize("name", ["mse", "bce_logits"])
def test_loss_gradients_are_numerical_gradients(name, rng):
    x = rng.standard_normal((3, 4))
    t = rng.random((3, 4))
    fwd, bwd = getattr(ops, name + "_forward"), getattr(ops, name + "_backward")
    np.testing.assert_allclose(bwd(x, t), numerical_grad(lambda: fwd(x, t).mean(), x), rtol=1e-6, atol=1e-10)


def test_loss_gradients_reject_an_empty_batch():
    empty, labels = np.ones((0, 3)), np.zeros(0, np.int64)
    for fn, args, name in [(ops.mse_backward, (empty, empty), "pred"), (ops.bce_logits_backward, (empty, empty), "logits"),
                           (ops.hinge_backward, (empty, labels), "scores"),
                           (ops.softmax_cross_entropy_backward, (empty, labels), "probs")]:
        with pytest.raises(ValueError, match=f"{name}: expected a non-empty array, got shape \\(0, 3\\)"):
            fn(*args)


def test_loss_bad_input():
    with pytest.raises(ValueError, match=r"target: expected shape \(2, 3\) like pred"):
        ops.mse_forward(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="pred: expected a 2-D array"):
        ops.mse_forward(np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="target: expected dtype float32 like logits"):
        ops.bce_logits_forward(np.ones((2, 3), np.float32), np.ones((2, 3)))
