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


POINTWISE = {"mae": {}, "huber": {"delta": 0.7}, "kl_divergence": {}, "categorical_hinge": {}}


def _pointwise_inputs(name, M, F, dtype, rng):
    if name == "kl_divergence":  # probabilities, some below the clip at 1e-7 and some at 0
        pred = rng.dirichlet(np.ones(F), M).astype(dtype)
        target = rng.dirichlet(np.ones(F), M).astype(dtype)
        pred.reshape(-1)[0], target.reshape(-1)[-1] = 1e-9, 0.0
        return pred, target
    pred = rng.standard_normal((M, F)).astype(dtype)
    if name == "categorical_hinge":
        target = np.eye(F, dtype=dtype)[rng.integers(0, F, M)]
        return pred, target
    return pred, rng.standard_normal((M, F)).astype(dtype)


@pytest.mark.parametrize("name", list(POINTWISE))
@pytest.mark.parametrize("M,F", [(1, 1), (5, 3), (128, 10), (64, 1001)])
def test_pointwise_losses(name, M, F, dtype, backend, rng):
    pred, target = _pointwise_inputs(name, M, F, dtype, rng)
    kw = POINTWISE[name]
    fwd, bwd = getattr(ops, name + "_forward"), getattr(ops, name + "_backward")
    bp, bt = to_backend(backend, pred, target)
    assert_close(fwd(bp, bt, backend=backend, **kw), R(getattr(ref, name + "_forward"), pred, target, **kw), dtype)
    assert_close(bwd(bp, bt, scale=0.25, backend=backend, **kw),
                 R(getattr(ref, name + "_backward"), pred, target, scale=0.25, **kw), dtype)


@pytest.mark.parametrize("name", list(POINTWISE))
def test_pointwise_loss_gradients_are_numerical_gradients(name, rng):
    pred, target = _pointwise_inputs(name, 4, 5, np.float64, rng)
    if name == "kl_divergence":
        pred.reshape(-1)[0] = 0.3  # away from the clip's kink
    kw = POINTWISE[name]
    fwd, bwd = getattr(ops, name + "_forward"), getattr(ops, name + "_backward")
    np.testing.assert_allclose(bwd(pred, target, **kw), numerical_grad(lambda: fwd(pred, target, **kw).mean(), pred),
                               rtol=1e-6, atol=1e-9)


def test_huber_is_quadratic_inside_delta_and_linear_outside():
    pred, target = np.array([[0.5, 3.0]]), np.zeros((1, 2))
    np.testing.assert_allclose(ops.huber_forward(pred, target, delta=1.0), [(0.125 + 2.5) / 2])


def test_pointwise_loss_bad_input():
    with pytest.raises(ValueError, match="delta: expected a finite number > 0, got -1"):
        ops.huber_forward(np.ones((2, 3)), np.ones((2, 3)), delta=-1.0)
    with pytest.raises(ValueError, match=r"target: expected shape \(2, 3\) like pred"):
        ops.mae_forward(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="pred: expected a 2-D array"):
        ops.categorical_hinge_forward(np.ones(3), np.ones(3))
