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
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
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


def test_metrics_by_name_and_object_match_a_hand_computation():
    from fastnn import metrics

    x, y = data(200)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["acc", "mae", metrics.TopKCategoricalAccuracy(k=2), metrics.Precision(), metrics.Recall()])
    logs = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0).astype(np.float64)
    onehot = np.eye(3)[y]
    assert list(logs) == ["loss", "acc", "mae", "top_k_categorical_accuracy", "precision", "recall"]
    assert logs["acc"] == pytest.approx((p.argmax(1) == y).mean())
    assert logs["mae"] == pytest.approx(np.abs(p - onehot).mean(), rel=1e-5)
    top2 = (p > p[np.arange(200), y][:, None]).sum(1) < 2
    assert logs["top_k_categorical_accuracy"] == pytest.approx(top2.mean())
    tp = ((p > 0.5) & (onehot > 0.5)).sum()
    assert logs["precision"] == pytest.approx(tp / (p > 0.5).sum()) and logs["recall"] == pytest.approx(tp / 200)
    hist = model.fit(x, y, epochs=1, verbose=0, validation_split=0.2)
    assert "val_top_k_categorical_accuracy" in hist.history


def test_auc_of_a_binary_classifier():
    from fastnn import metrics

    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 2)).astype("float32")
    y = (x[:, 0] + 0.5 * rng.standard_normal(400) > 0).astype("float32")
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["binary_accuracy", metrics.AUC()])
    model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)[:, 0].astype(np.float64)
    pos, neg = p[y == 1], p[y == 0]
    exact = ((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
    assert logs["auc"] == pytest.approx(exact, abs=0.01) and logs["auc"] > 0.8
    assert logs["binary_accuracy"] == pytest.approx(((p > 0.5) == (y > 0.5)).mean())
    with pytest.raises(ValueError, match="metrics: unknown metric 'f1'"):
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["f1"])


def test_saved_models_keep_their_metrics(tmp_path):
    from fastnn import metrics

    x, y = data()
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["acc", metrics.AUC(50)])
    model.save(tmp_path / "m.safetensors")
    again = keras.load_model(tmp_path / "m.safetensors")
    assert again.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
    assert again.metrics == ["acc", "auc"]


def test_backup_and_restore_resumes_a_crashed_fit_exactly(tmp_path):
    x, y = data(96)

    def make():
        model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="relu"), layers.Dropout(0.2),
                                  layers.Dense(3, activation="softmax")], seed=4)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    full = make()
    full.fit(x, y, epochs=4, batch_size=16, verbose=0)

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("power cut")

    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup")
    crashed = make()
    with pytest.raises(RuntimeError, match="power cut"):
        crashed.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[backup, Crash()])
    resumed = make()  # a new process would build the model again
    hist = resumed.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[backup])
    assert hist.epoch == [2, 3]
    np.testing.assert_array_equal(resumed.flat_params, full.flat_params)
    assert not (tmp_path / "backup" / "latest.safetensors").exists()  # deleted after a normal end


def test_learning_rate_scheduler_takes_one_or_two_arguments_and_monitors_warn():
    x, y = data()
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    seen = []
    model.fit(x, y, epochs=3, verbose=0, callbacks=[
        keras.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1)),
        keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(model.optimizer.learning_rate))])
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])
    model.fit(x, y, epochs=2, verbose=0,
              callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    assert model.optimizer.learning_rate == pytest.approx(0.1 / 3 / 4)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1)
    with pytest.warns(UserWarning, match="EarlyStopping: monitor 'val_loss' is not among the logged metrics"):
        hist = model.fit(x, y, epochs=3, verbose=0, callbacks=[stopper])  # no validation data: Keras warns
    assert len(hist.epoch) == 3


def test_transfer_learning_with_a_nested_base_model(tmp_path):
    """The lecture's recipe: train a base, freeze it inside a new model, train the head, unfreeze, fine-tune."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 3, 120)
    base = keras.Sequential([keras.Input(shape=(6, 6, 1)), layers.Conv2D(4, 3, activation="relu"),
                             layers.BatchNormalization(), layers.Flatten()], name="base")
    model = keras.Sequential([base, layers.Dense(3, activation="softmax")])
    base.trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    frozen = [w.copy() for w in base.get_weights()]
    printed = []
    model.summary(print_fn=printed.append)
    assert "base (Sequential)" in printed[0] and "conv2d" not in printed[0]  # one row, as Keras
    assert model.count_params(True) == 64 * 3 + 3 and len(model.weights) == 8
    model.fit(x, y, epochs=2, verbose=0)
    for got, want in zip(base.get_weights(), frozen):  # frozen: batch norm's moving statistics too
        np.testing.assert_array_equal(got, want)
    base.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(base.get_weights()[0], frozen[0])  # shared, not copied: the base trained
    np.testing.assert_allclose(base.predict(x, verbose=0), model.layers[0].predict(x, verbose=0))
    base.compile(optimizer="sgd", loss="mse")
    base.fit(x, np.zeros((120, 64)), epochs=1, verbose=0)  # the nested model trains on its own too (shared)
    np.testing.assert_allclose(base.predict(x, verbose=0), model.layers[0].predict(x, verbose=0))
    model.save(tmp_path / "m.safetensors")
    again = keras.load_model(tmp_path / "m.safetensors")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    dense = layers.Dense(2)
    with pytest.raises(ValueError, match="appears twice in the model"):
        keras.Sequential([keras.Input(shape=(2,)), dense, dense]).build()


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softplus", "swish", "silu", "linear", "softmax"])
def test_activations_as_callables(name):
    from fastnn import activations, reference

    x = np.linspace(-3, 3, 12).reshape(3, 4)
    fn = getattr(activations, name)
    kind = {"silu": "swish"}.get(name, name)
    want = reference.softmax_forward(x) if kind == "softmax" else reference.activation_forward(kind, x)
    np.testing.assert_allclose(fn(x), want, rtol=1e-12)
    layer = layers.Dense(2, activation=fn)
    assert layer.activation == kind
    with pytest.raises(ValueError, match="activation: expected one of"):
        layers.Dense(2, activation=np.tanh)


def test_loss_weights_scale_the_loss_and_its_gradient(tmp_path):
    x, y = data(16)
    plain = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="softmax")], seed=1, dtype="float64")
    plain.compile("sgd", "sparse_categorical_crossentropy")
    scaled = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="softmax")], seed=1,
                              dtype="float64")
    scaled.compile("sgd", "sparse_categorical_crossentropy", [2.5])
    assert scaled.test_on_batch(x, y) == pytest.approx(2.5 * plain.test_on_batch(x, y))
    plain.compute_gradients(x, y)
    scaled.compute_gradients(x, y)
    np.testing.assert_allclose(scaled.flat_grads, 2.5 * plain.flat_grads, rtol=1e-12)
    scaled.save(tmp_path / "m.safetensors")
    assert keras.load_model(tmp_path / "m.safetensors").compiled.outputs[0].weight == 2.5
    with pytest.raises(ValueError, match=r"loss_weights: expected one entry per model output \(1: "):
        plain.compile("sgd", "mse", [1.0, 2.0])


def test_filter_and_feature_map_plots_render_to_png(tmp_path):
    pytest.importorskip("matplotlib")
    model = keras.Sequential([keras.Input(shape=(8, 8, 1)), layers.Conv2D(6, 3, activation="relu", name="c1"),
                              layers.MaxPooling2D(), layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    keras.utils.plot_filters(model.get_layer("c1"), tmp_path / "filters.png")
    keras.utils.plot_feature_maps(model, np.ones((8, 8, 1)), "c1", tmp_path / "maps.png")
    for name in ("filters.png", "maps.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(TypeError, match="layer: expected a Conv2D layer"):
        keras.utils.plot_filters(model.get_layer(index=3))
    with pytest.raises(ValueError, match="not feature maps"):
        keras.utils.plot_feature_maps(model, np.ones((8, 8, 1)), model.get_layer(index=2))
