import numpy as np
import pytest

import fastnn
from fastnn import Dense, Sequential, ops, reference as ref
from conftest import R, assert_close, numerical_grad, to_backend, to_numpy


@pytest.mark.parametrize("M,C", [(1, 2), (7, 3), (64, 10), (33, 101)])
@pytest.mark.parametrize("labels", ["int64", "int32"])
def test_hinge(M, C, labels, dtype, backend, rng):
    scores = rng.standard_normal((M, C)).astype(dtype)
    target = rng.integers(0, C, M).astype(labels)
    bs, bt = to_backend(backend, scores, target)
    assert_close(ops.hinge_forward(bs, bt, backend=backend), R(ref.hinge_forward, scores, target), dtype)
    assert_close(ops.hinge_backward(bs, bt, scale=0.5, backend=backend), R(ref.hinge_backward, scores, target, 0.5),
                 dtype)


def test_hinge_gradient_matches_central_differences(rng):
    scores = rng.standard_normal((5, 4)) * 2
    target = np.array([0, 3, 1, 1, 2])
    num = numerical_grad(lambda: float(ops.hinge_forward(scores, target).mean()), scores)
    np.testing.assert_allclose(ops.hinge_backward(scores, target), num, rtol=1e-6, atol=1e-9)


def test_hinge_loss_of_a_nan_score_is_nan(backend):
    scores = to_backend(backend, np.array([[np.nan, 0.0, 0.0], [0.0, np.nan, 1.0]]))
    loss = to_numpy(ops.hinge_forward(scores, to_backend(backend, np.array([0, 0])), backend=backend))
    assert np.isnan(loss).all()  # the true class's score, or a wrong class's, is NaN
    np.testing.assert_array_equal(loss, ref.hinge_forward(to_numpy(scores), np.array([0, 0])))


def test_hinge_bad_targets():
    with pytest.raises(ValueError, match=r"target: class index 5 at position 0 is out of range \[0, 3\)"):
        ops.hinge_forward(np.zeros((1, 3)), np.array([5]))
    with pytest.raises(TypeError, match="target: expected int32/int64 class indices"):
        ops.hinge_forward(np.zeros((2, 3)), np.zeros((2, 3)))


def test_model_trains_with_hinge_loss_on_one_hot_or_indices(rng):
    centers = rng.standard_normal((3, 5)) * 4
    y = rng.integers(0, 3, 300)
    x = (centers[y] + rng.standard_normal((300, 5))).astype(np.float32)
    for targets in (y, fastnn.datasets.to_categorical(y, 3)):
        model = Sequential([Dense(3, input_shape=(5,))], seed=0)
        model.compile(loss="hinge", optimizer=fastnn.SGD(0.05), metrics=["accuracy"])
        hist = model.fit(x, targets, epochs=10, verbose=0)
        assert hist.history["accuracy"][-1] > 0.95
