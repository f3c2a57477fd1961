"""Keras 3 programs with only the import changed: model entry, weights, layers by name, JSON, weight files."""
import numpy as np
import pytest

import fastnn as keras
from fastnn import layers


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype("float32"), rng.integers(0, 3, n)


def test_input_first_compile_in_keras_order_and_lazy_build():
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    lazy = keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax")])
    lazy.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert not lazy.built
    lazy.fit(x, y, epochs=1, verbose=0)  # built from the first batch
    assert lazy.built and lazy.input_shape == (4,) and lazy.count_params() == model.count_params()
    fresh = keras.Sequential([layers.Dense(2)])
    assert fresh.predict(x, verbose=0).shape == (64, 2)
    with pytest.raises(ValueError, match="Input can only come first"):
        keras.Sequential([layers.Dense(2), keras.Input(shape=(4,))])


def test_weights_in_keras_order_and_set_weights():
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(5, name="hidden"), layers.BatchNormalization(),
                              layers.Dense(3, activation="softmax")])
    hidden = model.get_layer("hidden")
    assert model.get_layer(index=0) is hidden
    assert [w.shape for w in hidden.get_weights()] == [(4, 5), (5,)]
    assert hidden.kernel.shape == (4, 5) and hidden.bias.shape == (5,)
    bn = model.get_layer(index=1)
    gamma, beta, mean, var = bn.get_weights()
    assert (gamma == 1).all() and (beta == 0).all() and (mean == 0).all() and (var == 1).all()
    assert len(model.weights) == 8 and len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    weights = [w + 1 for w in model.get_weights()]
    model.set_weights(weights)
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match=r"weights: hidden's W has shape \(4, 5\), got \(5, 4\)"):
        model.set_weights([weights[0].T] + weights[1:])
    with pytest.raises(ValueError, match="name: no layer named 'nope'"):
        model.get_layer("nope")


def test_json_round_trip_and_weight_files(tmp_path):
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    again = keras.models.model_from_json(model.to_json())
    assert [type(l) for l in again.layers] == [type(l) for l in model.layers]
    model.save_weights(tmp_path / "m.weights.h5")
    again.load_weights(tmp_path / "m.weights.h5")
    x, _ = data()
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    clone = keras.models.clone_model(model)
    assert clone.count_params() == model.count_params() and clone.layers[0] is not model.layers[0]
    with pytest.raises(ValueError, match="exists and overwrite=False"):
        model.save_weights(tmp_path / "m.weights.h5", overwrite=False)


def test_utils_under_keras_names():
    from fastnn import utils

    np.testing.assert_array_equal(utils.to_categorical([0, 2], 3), [[1, 0, 0], [0, 0, 1]])
    utils.set_random_seed(3)
    a = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(2)]).get_weights()
    utils.set_random_seed(3)
    b = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(2)]).get_weights()
    np.testing.assert_array_equal(a[0], b[0])
    utils.set_random_seed(None)
    assert issubclass(utils.PyDataset, keras.data.Sequence)
