"""Optimizer objects drive the fused kernel with the right hyperparameters."""
import numpy as np
import pytest

import fastnn
from fastnn import Dense, Sequential, optimizers, reference as ref

CASES = [
    (fastnn.SGD(0.1), "sgd", {}),
    (fastnn.SGD(0.1, momentum=0.9), "momentum", {"rho": 0.9}),
    (fastnn.SGD(0.1, momentum=0.8, averaged=True), "momentum_avg", {"rho": 0.8}),
    (fastnn.SGD(0.1, momentum=0.9, nesterov=True), "nesterov", {"rho": 0.9}),
    (fastnn.Adagrad(0.1), "adagrad", {"eps": 1e-7}),
    (fastnn.Adadelta(1.0, rho=0.9), "adadelta", {"rho": 0.9, "eps": 1e-7}),
    (fastnn.RMSprop(0.01, rho=0.8), "rmsprop", {"rho": 0.8, "eps": 1e-7}),
    (fastnn.Adam(0.01), "adam", {"rho": 0.9, "beta2": 0.999, "eps": 1e-7}),
    (fastnn.AdamW(0.01, weight_decay=0.1), "adamw", {"rho": 0.9, "beta2": 0.999, "eps": 1e-7, "weight_decay": 0.1}),
    (fastnn.Nadam(0.01), "nadam", {"rho": 0.9, "beta2": 0.999, "eps": 1e-7}),
    (fastnn.Adamax(0.01, beta_1=0.8), "adamax", {"rho": 0.8, "beta2": 0.999, "eps": 1e-7}),
    (fastnn.SGD(0.1, momentum=0.9, weight_decay=0.05), "momentum", {"rho": 0.9, "weight_decay": 0.05}),
    (fastnn.RMSprop(0.01, weight_decay=0.02), "rmsprop", {"rho": 0.9, "eps": 1e-7, "weight_decay": 0.02}),
]


@pytest.mark.parametrize("opt,kind,hyper", CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_optimizer_object_matches_reference_over_steps(opt, kind, hyper):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    model = Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(2)], dtype="float64", seed=0)
    model.compile(loss="mse", optimizer=opt)
    xb, yb = x, y
    w = model.flat_params.copy()
    states = [np.zeros_like(w) for _ in range(fastnn.ops.STATE_COUNT[kind])]
    for t in range(1, 6):
        model.compute_gradients(xb, yb)
        g = model.flat_grads.copy()
        model.apply_gradients()
        ref.optimizer_update(kind, w, g, *states, *([None] * (2 - len(states))), lr=opt.learning_rate, step=t, **hyper)
        np.testing.assert_allclose(model.flat_params, w, rtol=1e-12, atol=1e-14)
    assert optimizers.get(opt.get_config()).get_config() == opt.get_config()


def test_optimizer_by_name():
    assert isinstance(optimizers.get("adam"), fastnn.Adam)
    assert isinstance(optimizers.get("RMSprop"), fastnn.RMSprop)
    with pytest.raises(ValueError, match="optimizer: expected one of"):
        optimizers.get("lbfgs")
    with pytest.raises(ValueError, match="nesterov: needs momentum > 0"):
        fastnn.SGD(nesterov=True)
