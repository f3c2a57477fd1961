"""Constructor argument checks, Keras' callback semantics, and saving optimizers' learning rates.

Every constructor of the Python API checks its arguments when called (not
in a later ``fit``), accepts NumPy scalars like Python numbers, and names
the argument first in its errors.
"""
import math

import numpy as np
import pytest

import fastnn
from fastnn import (SGD, Adadelta, Adagrad, Adam, AdamW, BatchNormalization, Conv2D, Dense, Dropout, GaussianNoise,
                    LeakyReLU, PReLU, RMSprop, Sequential, callbacks, constraints, initializers, load_model,
                    optimizers, regularizers, schedules)


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
