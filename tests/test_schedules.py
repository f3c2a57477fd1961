import math

import numpy as np
import pytest

from fastnn import SGD, Adam, Dense, Sequential, schedules


@pytest.mark.parametrize("schedule,expected", [
    (schedules.StepDecay(0.1, factor=0.5, step_size=10), {0: 0.1, 9: 0.1, 10: 0.05, 25: 0.025}),
    (schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5), {0: 0.1, 5: 0.1 * 0.5**0.5, 10: 0.05, 30: 0.0125}),
    (schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True), {5: 0.1, 10: 0.05, 19: 0.05}),
    (schedules.InverseTimeDecay(0.1, k=0.5), {0: 0.1, 2: 0.05, 18: 0.01}),
    (schedules.PowerDecay(0.1, epsilon=0.5), {0: 0.1, 3: 0.05, 99: 0.01}),
])
def test_schedule_values(schedule, expected):
    for step, lr in expected.items():
        assert math.isclose(schedule(step), lr, rel_tol=1e-12), (step, schedule(step), lr)
    assert math.isclose(schedules.get(schedule.get_config())(7), schedule(7))


def test_optimizer_uses_schedule_each_step():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 2))
    model = Sequential([Dense(1, input_shape=(2,), use_bias=False)], dtype="float64", seed=0)
    sched = schedules.InverseTimeDecay(0.1, k=1.0)
    model.compile(loss="mse", optimizer=SGD(sched))
    w0 = model.flat_params.copy()
    xb, yb = x, np.zeros((8, 1))
    model.compute_gradients(xb, yb)
    g = model.flat_grads.copy()
    model.apply_gradients()  # step 0 uses lr(0) = 0.1
    np.testing.assert_allclose(model.flat_params, w0 - 0.1 * g)
    w1 = model.flat_params.copy()
    model.compute_gradients(xb, yb)
    g = model.flat_grads.copy()
    model.apply_gradients()  # step 1 uses lr(1) = 0.05
    np.testing.assert_allclose(model.flat_params, w1 - 0.05 * g)


def test_schedule_argument_errors():
    with pytest.raises(ValueError, match="initial_learning_rate: expected a positive number"):
        schedules.StepDecay(-1)
    with pytest.raises(ValueError, match="learning_rate: expected a positive number or a schedule"):
        Adam(learning_rate=0)
    with pytest.raises(ValueError, match="beta_2: expected 0 <= beta_2 < 1"):
        Adam(beta_2=1.0)
