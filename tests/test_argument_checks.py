"""Constructor argument checks, Keras' callback semantics, and saving optimizers' learning rates.

Every constructor of the Python API checks its arguments when called (not
in a later ``fit``), accepts NumPy scalars like Python numbers, and names
the argument first in its errors.
"""
import math

import numpy as np
import pytest

from fastnn import (SGD, Adadelta, Adagrad, Adam, AdamW, BatchNormalization, Conv2D, Dense, Dropout, GaussianNoise,
                    LeakyReLU, PReLU, RMSprop, Sequential, callbacks, constraints, initializers, layers,
                    load_model, optimizers, regularizers, schedules)


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def mlp(optimizer="adam"):
    model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")], seed=1)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


class StubModel:
    """What a callback touches of a model, without training one."""

    def __init__(self, learning_rate=0.1):
        self.optimizer = SGD(learning_rate)
        self.stop_training = False
        self.last_epoch = None


def run_epochs(callback, model, losses):
    """Drive ``callback`` through one training run with these per-epoch losses."""
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, loss in enumerate(losses):
        callback.on_epoch_end(epoch, {"loss": loss})
        if model.stop_training:
            break
    callback.on_train_end()


# -- EarlyStopping and ReduceLROnPlateau match Keras ---------------------------------------------


@pytest.mark.parametrize("patience,epochs_run", [(0, 2), (1, 2), (2, 3), (3, 4)])
def test_early_stopping_counts_patience_like_keras(patience, epochs_run):
    # Keras counts the epochs since the last improvement and stops once the count reaches patience.
    x, y = data()
    stopper = callbacks.EarlyStopping(monitor="loss", patience=patience, min_delta=1e9)  # only epoch 0 improves
    hist = mlp().fit(x, y, epochs=10, verbose=0, callbacks=[stopper])
    assert len(hist.epoch) == epochs_run and stopper.stopped_epoch == epochs_run - 1


def test_early_stopping_never_stops_at_epoch_0():
    stopper = callbacks.EarlyStopping(monitor="loss", patience=0)
    model = StubModel()
    run_epochs(stopper, model, [math.nan, math.nan, math.nan])  # NaN never improves
    assert stopper.stopped_epoch == 1


def test_callbacks_reset_their_state_when_reused():
    plateau = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, cooldown=3, min_delta=0)
    first = StubModel(0.1)
    run_epochs(plateau, first, [1.0, 1.0, 1.0])
    assert first.optimizer.learning_rate == 0.05
    second = StubModel(0.1)  # a fresh run: its first loss is an improvement, however large
    run_epochs(plateau, second, [5.0, 4.0])
    assert second.optimizer.learning_rate == 0.1 and plateau._m.best == 4.0

    stopper = callbacks.EarlyStopping(monitor="loss", patience=1)
    run_epochs(stopper, StubModel(), [1.0, 2.0])
    assert stopper.stopped_epoch == 1
    run_epochs(stopper, StubModel(), [5.0, 4.0, 3.0])
    assert stopper.stopped_epoch is None and stopper.best_epoch == 2


def test_reduce_lr_on_plateau_reused_across_fits():
    x, y = data()
    plateau = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0)
    mlp(SGD(0.1)).fit(x, y, epochs=3, verbose=0, callbacks=[plateau])
    hist = mlp(SGD(0.1)).fit(x, y, epochs=3, verbose=0, callbacks=[plateau])
    assert hist.history["lr"][0] == 0.1


# -- ModelCheckpoint's path template ---------------------------------------------------------------


def test_model_checkpoint_names_missing_template_keys(tmp_path):
    x, y = data()
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "m-{epoch}-{val_loss:.3f}.safetensors")
    with pytest.raises(ValueError, match=r"filepath: .*\{val_loss\}.*available: epoch, accuracy, loss"):
        mlp().fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "m-{loss:d}.safetensors")
    with pytest.raises(ValueError, match=r"filepath: .*m-\{loss:d\}.*Unknown format code"):
        mlp().fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])
    mlp().fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.ModelCheckpoint(tmp_path / "m-{epoch}-{loss:.3f}.st")])
    assert len(list(tmp_path.glob("m-1-*.st"))) == 1


# -- Saving learning rates ---------------------------------------------------------------------------


class HalvedRate(schedules.Schedule):
    """A user's schedule: half of ``lr`` at every step."""

    def __init__(self, lr):
        self.lr = lr

    def __call__(self, step):
        return self.lr / 2


def test_plain_callable_learning_rate_is_not_saveable(tmp_path):
    with pytest.raises(TypeError, match="learning_rate: .*use a fastnn.schedules schedule, or a float"):
        SGD(lambda step: 0.01).get_config()
    x, y = data()
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="learning_rate: "):
        mlp(SGD(lambda step: 0.01)).fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])
    unsaveable = HalvedRate(np.array([0.1]))
    with pytest.raises(TypeError, match="learning_rate: the config of HalvedRate cannot be saved"):
        SGD(unsaveable).get_config()


def test_user_schedule_saves_and_loads(tmp_path):
    model = mlp(SGD(HalvedRate(0.1)))
    model.save(tmp_path / "m.safetensors")
    lr = load_model(tmp_path / "m.safetensors").optimizer.learning_rate
    assert isinstance(lr, HalvedRate) and lr.lr == 0.1


def test_unknown_schedule_names_itself_and_the_known_ones():
    with pytest.raises(ValueError, match=r"config: unknown class_name 'Nope'; known: .*HalvedRate.*StepDecay"):
        schedules.get({"class_name": "Nope", "lr": 0.1})
    with pytest.raises(ValueError, match=r"optimizer: unknown class_name 'Nope'; known: Adadelta, .*SGD"):
        optimizers.get({"class_name": "Nope", "learning_rate": 0.1})
    with pytest.raises(ValueError, match=r"initializer: unknown class_name 'Nope'; known: Constant, .*Zeros"):
        initializers.get({"class_name": "Nope"})


# -- Argument types and ranges at construction ---------------------------------------------------------

BAD_ARGUMENTS = [
    # optimizers
    (lambda: SGD(learning_rate="0.1"), TypeError, "learning_rate: expected a positive number or a schedule, got str"),
    (lambda: SGD(learning_rate=True), TypeError, "learning_rate: expected a positive number or a schedule, got bool"),
    (lambda: SGD(learning_rate=math.inf), ValueError, "learning_rate: expected a positive number or a schedule"),
    (lambda: SGD(momentum="0.9"), TypeError, "momentum: expected a number, got str"),
    (lambda: SGD(momentum=1.0), ValueError, "momentum: expected 0 <= momentum < 1, got 1.0"),
    (lambda: Adam(epsilon=-1.0), ValueError, "epsilon: expected a positive number, got -1.0"),
    (lambda: Adam(epsilon=0.0), ValueError, "epsilon: expected a positive number, got 0.0"),
    (lambda: Adam(beta_1=None), TypeError, "beta_1: expected a number, got NoneType"),
    (lambda: Adagrad(epsilon="1e-7"), TypeError, "epsilon: expected a number, got str"),
    (lambda: Adadelta(rho=1.0), ValueError, "rho: expected 0 <= rho < 1, got 1.0"),
    (lambda: RMSprop(epsilon=math.nan), ValueError, "epsilon: expected a positive number, got nan"),
    (lambda: AdamW(weight_decay=-0.1), ValueError, "weight_decay: expected a finite value >= 0, got -0.1"),
    (lambda: AdamW(weight_decay="0"), TypeError, "weight_decay: expected a number, got str"),
    # schedules
    (lambda: schedules.StepDecay(0.1, step_size=0.5), TypeError, "step_size: expected an int, got float"),
    (lambda: schedules.StepDecay(0.1, step_size=0), ValueError, "step_size: expected a positive int, got 0"),
    (lambda: schedules.StepDecay("0.1"), TypeError, "initial_learning_rate: expected a number, got str"),
    (lambda: schedules.ExponentialDecay(0.1, None, 0.5), TypeError, "decay_steps: expected a number, got NoneType"),
    (lambda: schedules.InverseTimeDecay(0.1, k="1"), TypeError, "k: expected a number, got str"),
    (lambda: schedules.InverseTimeDecay(0.1, k=-1), ValueError, "k: expected a finite value >= 0, got -1"),
    (lambda: schedules.PowerDecay(0.1, epsilon=0), ValueError, "epsilon: expected a positive number, got 0"),
    # regularizers, constraints, initializers
    (lambda: regularizers.l2("0.1"), TypeError, "l2: expected a number, got str"),
    (lambda: regularizers.l1(-1), ValueError, "l1: expected a finite value >= 0, got -1"),
    (lambda: constraints.MaxNorm("a"), TypeError, "max_value: expected a number, got str"),
    (lambda: constraints.max_norm(0), ValueError, "max_value: expected a positive number, got 0"),
    (lambda: initializers.Constant("a"), TypeError, "value: expected a number, got str"),
    (lambda: initializers.RandomNormal(stddev=-1.0), ValueError, "stddev: expected a finite value >= 0, got -1.0"),
    (lambda: initializers.RandomUniform(0.1, -0.1), ValueError, "maxval: expected a finite value >= 0.1, got -0.1"),
    # layers
    (lambda: Dense(3, lr_multiplier="1"), TypeError, "lr_multiplier: expected a number, got str"),
    (lambda: Dense(3, lr_multiplier=-1), ValueError, "lr_multiplier: expected a finite value >= 0, got -1"),
    (lambda: Dense(3.0), TypeError, "units: expected an int, got float"),
    (lambda: Dense(3, input_shape=4), TypeError, "input_shape: expected a tuple of positive ints, got int"),
    (lambda: Dense(3, input_shape=(4, 0)), ValueError, r"input_shape: expected a tuple of positive ints, got \(4, 0\)"),
    (lambda: Dense(3, activation="relu", alpha="0.1"), TypeError, "alpha: expected a number, got str"),
    (lambda: Conv2D(2.5, 3), TypeError, "filters: expected an int, got float"),
    (lambda: Dropout(None), TypeError, "rate: expected a number, got NoneType"),
    (lambda: Dropout(1.0), ValueError, "rate: expected 0 <= rate < 1, got 1.0"),
    (lambda: Dropout(0.5, seed="a"), TypeError, "seed: expected an int in \\[0, 2\\*\\*64\\), got str"),
    (lambda: Dropout(0.5, seed=1.5), TypeError, "seed: expected an int in \\[0, 2\\*\\*64\\), got float"),
    (lambda: Dropout(0.5, seed=-1), ValueError, "seed: expected an int in \\[0, 2\\*\\*64\\), got -1"),
    (lambda: GaussianNoise(0.1, seed="a"), TypeError, "seed: expected an int in \\[0, 2\\*\\*64\\), got str"),
    (lambda: GaussianNoise(0.1, seed=2**64), ValueError, "seed: expected an int in \\[0, 2\\*\\*64\\)"),
    (lambda: GaussianNoise("0.1"), TypeError, "stddev: expected a number, got str"),
    (lambda: BatchNormalization(momentum="0.9"), TypeError, "momentum: expected a number, got str"),
    (lambda: BatchNormalization(momentum=1.5), ValueError, "momentum: expected 0 <= momentum <= 1, got 1.5"),
    (lambda: BatchNormalization(epsilon=0), ValueError, "epsilon: expected a positive number, got 0"),
    (lambda: LeakyReLU(negative_slope="0.3"), TypeError, "negative_slope: expected a number, got str"),
    (lambda: PReLU(alpha_initializer="0.25"), ValueError, "initializer: expected one of"),
    # callbacks
    (lambda: callbacks.EarlyStopping(patience=1.5), TypeError, "patience: expected an int, got float"),
    (lambda: callbacks.EarlyStopping(patience=-1), ValueError, "patience: expected an int >= 0, got -1"),
    (lambda: callbacks.EarlyStopping(min_delta="0"), TypeError, "min_delta: expected a number, got str"),
    (lambda: callbacks.EarlyStopping(monitor=None), TypeError, "monitor: expected a str, got NoneType"),
    (lambda: callbacks.ReduceLROnPlateau(factor="0.5"), TypeError, "factor: expected a number, got str"),
    (lambda: callbacks.ReduceLROnPlateau(factor=1.0), ValueError, "factor: expected 0 < factor < 1, got 1.0"),
    (lambda: callbacks.ReduceLROnPlateau(cooldown=-1), ValueError, "cooldown: expected an int >= 0, got -1"),
    (lambda: callbacks.ReduceLROnPlateau(min_lr=-1.0), ValueError, "min_lr: expected a finite value >= 0, got -1.0"),
    (lambda: callbacks.ExponentialMovingAverage(decay=1), ValueError, "decay: expected 0 < decay < 1, got 1"),
    (lambda: callbacks.LearningRateScheduler(0.1), TypeError, "schedule: expected a callable"),
    (lambda: callbacks.ModelCheckpoint(3), TypeError, "filepath: expected a str or path, got int"),
    (lambda: callbacks.CSVLogger(None), TypeError, "filename: expected a str or path, got NoneType"),
]


@pytest.mark.parametrize("make,error,match", BAD_ARGUMENTS, ids=[m for _, _, m in BAD_ARGUMENTS])
def test_constructors_name_the_bad_argument(make, error, match):
    with pytest.raises(error, match=f"^{match}"):
        make()


def test_numpy_scalars_are_numbers():
    adam = Adam(np.float32(1e-3), beta_1=np.float64(0.8), epsilon=np.float32(1e-6))
    cfg = adam.get_config()
    assert type(cfg["learning_rate"]) is float and math.isclose(cfg["learning_rate"], 1e-3, rel_tol=1e-6)
    assert type(cfg["beta_1"]) is float and type(cfg["epsilon"]) is float
    assert SGD(momentum=np.float32(0.5)).get_config()["momentum"] == 0.5
    assert regularizers.l2(np.float32(0.25)).l2 == 0.25
    assert constraints.MaxNorm(np.int64(3)).max_value == 3.0
    assert schedules.StepDecay(np.float32(0.5), step_size=np.int64(10))(10) == 0.25
    assert Dense(np.int64(3), lr_multiplier=np.float32(0.5)).lr_multiplier == 0.5
    dropout = Dropout(np.float32(0.5), seed=np.uint64(2**63))
    assert dropout.rate == 0.5 and type(dropout.seed) is int and dropout.seed == 2**63
    assert GaussianNoise(np.float32(0.5), seed=np.int32(7)).get_config()["seed"] == 7
    assert PReLU(alpha_initializer=np.float32(0.5)).alpha_initializer.value == 0.5
    assert callbacks.EarlyStopping(patience=np.int64(2)).patience == 2


def test_numpy_seeded_layers_save(tmp_path):
    x, y = data()
    model = Sequential([Dense(8, input_shape=(4,)), Dropout(0.25, seed=np.int64(5)),
                        GaussianNoise(0.1, seed=np.uint32(6)), Dense(3, activation="softmax")], seed=1)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(np.float32(0.01)))
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(load_model(tmp_path / "m.safetensors").predict(x), model.predict(x))


# -- Docstrings on the public API ---------------------------------------------------------------------


@pytest.mark.parametrize("obj", [
    regularizers.get, regularizers.Regularizer.get_config, constraints.get, constraints.max_norm,
    constraints.MaxNorm.apply, constraints.MaxNorm.get_config, initializers.Zeros, initializers.Ones,
    initializers.Constant, initializers.Initializer.sample, initializers.Initializer.get_config,
    optimizers.Optimizer.get_config, optimizers.Optimizer.current_learning_rate, schedules.Schedule.get_config,
    callbacks.Callback.set_model, callbacks.Callback.on_train_begin, callbacks.Callback.on_train_end,
    callbacks.Callback.on_epoch_begin, callbacks.Callback.on_epoch_end, callbacks.Callback.on_train_batch_end,
    layers.Layer.attach, layers.Layer.add_weight, layers.Layer.forward, layers.Layer.backward,
], ids=lambda o: o.__qualname__)
def test_public_api_has_docstrings(obj):
    assert obj.__doc__ and obj.__doc__.strip()


# -- Flags and names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make,name", [
    (lambda v: SGD(0.1, momentum=0.9, nesterov=v), "nesterov"),
    (lambda v: SGD(0.1, momentum=0.9, averaged=v), "averaged"),
    (lambda v: Dense(3, use_bias=v), "use_bias"),
    (lambda v: Dense(3, trainable=v), "trainable"),
    (lambda v: callbacks.EarlyStopping(restore_best_weights=v), "restore_best_weights"),
    (lambda v: callbacks.ModelCheckpoint("m.safetensors", save_best_only=v), "save_best_only"),
])
def test_flags_take_only_true_or_false(make, name):
    """A string such as "False" is truthy: taken as a flag it would switch the feature on."""
    with pytest.raises(TypeError, match=f"{name}: expected True or False, got 'False'"):
        make("False")
    make(np.bool_(True))  # numpy's bools are bools


def test_layer_names_are_strings():
    with pytest.raises(TypeError, match="name: expected a non-empty str or None, got 3"):
        Dense(3, name=3)
    with pytest.raises(TypeError, match="name: expected a non-empty str or None, got ''"):
        Dense(3, name="")
