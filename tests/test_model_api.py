"""The Keras-like model API: callbacks, saving, resuming, freezing, regularizers, averaging, ensembles."""
import csv

import numpy as np
import pytest

import fastnn
from fastnn import SGD, Adam, Dense, Ensemble, Sequential, callbacks, constraints, load_model, regularizers


def blobs(n=240, seed=0):
    """Three Gaussian blobs in 4-D: a small, learnable classification problem."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, 4)) * 3
    y = rng.integers(0, 3, n)
    return (centers[y] + rng.standard_normal((n, 4))).astype(np.float32), y


def mlp(seed=0, dropout=0.0, **dense_kwargs):
    layers = [Dense(16, activation="relu", input_shape=(4,), **dense_kwargs)]
    if dropout:
        layers.append(fastnn.Dropout(dropout))
    model = Sequential(layers + [Dense(3, activation="softmax")], seed=seed)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(0.01), metrics=["accuracy"])
    return model


def test_save_and_load_predict_identically(tmp_path):
    x, y = blobs()
    model = mlp()
    model.fit(x, y, epochs=3, verbose=0)
    model.save(tmp_path / "m.safetensors")
    again = load_model(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert [type(l) for l in again.layers] == [type(l) for l in model.layers]
    assert again.optimizer.iterations == model.optimizer.iterations
    with open(tmp_path / "m.safetensors", "rb") as f:
        assert b"pickle" not in f.read(4096)


def test_resumed_run_ends_with_the_same_weights(tmp_path):
    x, y = blobs()
    full = mlp(seed=5, dropout=0.3)  # dropout masks must repeat after the resume too
    full.fit(x, y, batch_size=16, epochs=6, verbose=0)

    first = mlp(seed=5, dropout=0.3)
    first.fit(x, y, batch_size=16, epochs=6, verbose=0, callbacks=[callbacks.ModelCheckpoint(tmp_path / "e{epoch}.safetensors", save_best_only=False, monitor="loss")])
    resumed = load_model(tmp_path / "e3.safetensors")
    assert resumed.epoch == 3
    resumed.fit(x, y, batch_size=16, epochs=6, initial_epoch=resumed.epoch, verbose=0)
    np.testing.assert_array_equal(resumed.flat_params, full.flat_params)
    np.testing.assert_array_equal(resumed.optimizer.state[0], full.optimizer.state[0])


def test_set_random_seed_repeats_unseeded_models():
    x, y = blobs()

    def run():
        model = Sequential([Dense(16, activation="relu", input_shape=(4,)), fastnn.Dropout(0.3),
                            Dense(3, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(0.01))
        model.fit(x, y, epochs=2, verbose=0)
        return model.seed, model.flat_params.copy(), np.random.random()

    try:
        fastnn.set_random_seed(7)
        first, second = run(), run()
        fastnn.set_random_seed(7)
        again = run()
        assert first[0] != second[0]  # each model draws its own seed from the sequence
        assert again[0] == first[0] and again[2] == first[2]
        np.testing.assert_array_equal(again[1], first[1])
        with pytest.raises(ValueError, match="seed"):
            fastnn.set_random_seed(-1)
    finally:
        fastnn.set_random_seed(None)
    assert run()[0] != first[0]


def test_early_stopping_restores_best_weights():
    x, y = blobs()
    model = mlp()
    seen = []

    class Record(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((logs["val_loss"], model.get_flat_weights()[0].copy()))

    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    # A learning rate this large makes the validation loss bounce, so it stops early.
    model.optimizer.learning_rate = 0.5
    hist = model.fit(x, y, epochs=40, verbose=0, validation_split=0.25, callbacks=[Record(), stopper])
    assert len(hist.epoch) < 40 and stopper.stopped_epoch is not None
    best = min(range(len(seen)), key=lambda i: seen[i][0])
    np.testing.assert_array_equal(model.flat_params, seen[best][1])


def test_frozen_layer_does_not_change_and_lr_multiplier_scales():
    x, y = blobs()
    model = mlp()
    first = model.layers[0]
    first.trainable = False
    before = first.params["W"].copy()
    head = model.layers[1].params["W"].copy()
    model.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(first.params["W"], before)
    assert not np.array_equal(model.layers[1].params["W"], head)
    assert model.count_params(trainable=False) == first.count_params()

    zero = mlp()
    zero.layers[1].lr_multiplier = 0.0
    head = zero.layers[1].params["W"].copy()
    zero.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(zero.layers[1].params["W"], head)


def test_transfer_learning_reuses_trained_layers():
    x, y = blobs()
    base = mlp()
    base.fit(x, y, epochs=3, verbose=0)
    trained = base.layers[0].params["W"].copy()
    base.pop()
    features = base.predict(x)
    new = Sequential(base.layers + [Dense(2, activation="softmax")], seed=1)
    new.layers[0].trainable = False
    new.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(0.1))
    np.testing.assert_array_equal(new.layers[0].params["W"], trained)
    new.fit(x, (y == 0).astype(int), epochs=2, verbose=0)
    np.testing.assert_array_equal(new.layers[0].params["W"], trained)
    assert features.shape == (len(x), 16)


def test_regularizers_and_max_norm_fold_into_the_update():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 4)), rng.standard_normal((32, 3))
    model = Sequential([Dense(3, input_shape=(4,), kernel_regularizer=regularizers.l1_l2(0.01, 0.02))],
                       dtype="float64", seed=0)
    model.compile(loss="mse", optimizer=SGD(0.1))
    xb, yb = x, y
    W = model.layers[0].params["W"].copy()
    b = model.layers[0].params["b"].copy()
    model.compute_gradients(xb, yb)
    gW, gb = model.layers[0].grads["W"].copy(), model.layers[0].grads["b"].copy()
    model.apply_gradients()
    np.testing.assert_allclose(model.layers[0].params["W"], W - 0.1 * (gW + 0.01 * np.sign(W) + 2 * 0.02 * W))
    np.testing.assert_allclose(model.layers[0].params["b"], b - 0.1 * gb)  # biases unregularized by default
    assert [(g.l1, g.l2) for g in model.parameters.groups] == [(0.01, 0.04), (0.0, 0.0)]

    capped = Sequential([Dense(5, input_shape=(4,), kernel_constraint=constraints.max_norm(0.5),
                               kernel_initializer="ones")], seed=0)
    capped.compile(loss="mse", optimizer=SGD(0.01))
    capped.fit(rng.standard_normal((8, 4)), rng.standard_normal((8, 5)), epochs=1, verbose=0)
    norms = np.linalg.norm(capped.layers[0].params["W"], axis=0)
    assert np.all(norms <= 0.5 * (1 + 1e-6))


def test_activity_regularizer_adds_its_gradient(rng):
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    reg = regularizers.l1_l2(0.05, 0.1)
    model = Sequential([Dense(4, activation="tanh", input_shape=(3,), activity_regularizer=reg), Dense(2)],
                       dtype="float64", seed=0)
    model.compile(loss="mse", optimizer="sgd")
    model.compute_gradients(x, y)
    analytic = model.flat_grads.copy()

    def loss():
        layer = model.layers[0]
        h = np.tanh(x @ layer.params["W"] + layer.params["b"])
        return float(model.compute_gradients(x, y)[1].mean()) + (
            reg.l1 * np.abs(h).sum() + reg.l2 * (h**2).sum()) / len(x)

    from conftest import numerical_grad
    np.testing.assert_allclose(analytic, numerical_grad(loss, model.flat_params), rtol=1e-6, atol=1e-9)


def test_callbacks_lr_schedule_plateau_csv_and_nan(tmp_path):
    x, y = blobs()
    model = mlp()
    log = tmp_path / "log.csv"
    seen = []

    class LR(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(model.optimizer.current_learning_rate())

    model.fit(x, y, epochs=3, verbose=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1)), LR(), callbacks.CSVLogger(log)])
    assert np.allclose(seen, [0.1, 0.05, 0.1 / 3])
    rows = list(csv.DictReader(open(log)))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2] and "accuracy" in rows[0]

    plateau = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)
    model.optimizer.learning_rate = 0.01
    model.fit(x, y, epochs=model.epoch + 3, verbose=0, callbacks=[plateau])
    assert model.optimizer.learning_rate < 0.01

    bad = mlp()
    bad.optimizer.learning_rate = 1e30  # diverges to NaN within a few steps
    hist = bad.fit(x * 1e6, y, epochs=5, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert len(hist.epoch) == 1


def test_polyak_average_and_ensemble(tmp_path):
    x, y = blobs()
    model = mlp()
    ema = callbacks.ExponentialMovingAverage(decay=0.9)
    model.fit(x, y, epochs=4, verbose=0, callbacks=[ema])
    assert not np.array_equal(model.average_params, model.flat_params)
    live = model.predict(x)
    averaged = model.predict(x, use_average=True)
    assert not np.allclose(live, averaged)
    np.testing.assert_array_equal(model.predict(x), live)  # weights restored after use
    with model.averaged_weights():
        np.testing.assert_array_equal(model.predict(x), averaged)
    assert model.evaluate(x, y, use_average=True, return_dict=True)["accuracy"] > 0.8

    other = mlp(seed=9)
    other.fit(x, y, epochs=4, verbose=0)
    other.save(tmp_path / "other.safetensors")
    ens = Ensemble([model, tmp_path / "other.safetensors"])
    np.testing.assert_allclose(ens.predict(x), (model.predict(x) + other.predict(x)) / 2, rtol=1e-6)
    assert ens.evaluate(x, y)["accuracy"] > 0.8
    # Class indices as a column score the same; wrong lengths and weights are named errors.
    assert ens.evaluate(x, y[:, None]) == ens.evaluate(x, y) == ens.evaluate(x, np.eye(3)[y])
    with pytest.raises(ValueError, match="y: expected 240 labels, one per sample of x, got 239"):
        ens.evaluate(x, y[:-1])
    with pytest.raises(ValueError, match="weights: expected 2 finite, non-negative weights"):
        Ensemble([model, other], weights=[float("nan"), 1.0])


def test_layer_names_stay_unique_so_weights_load_into_the_right_layer(tmp_path):
    x, y = blobs()
    model = Sequential([Dense(8, activation="relu", input_shape=(4,), name="dense_1"), Dense(8, activation="relu"),
                        Dense(3, activation="softmax")], seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(0.01))
    assert [l.name for l in model.layers] == ["dense_1", "dense", "dense_2"]
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(load_model(tmp_path / "m.safetensors").predict(x), model.predict(x))


def test_a_layer_moved_into_another_model_still_infers_in_the_old_one_but_cannot_train_there(tmp_path):
    x, y = blobs()
    base = mlp()
    new = Sequential(base.layers[:1] + [Dense(3, activation="softmax")], seed=1)
    new.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(0.01))
    new.fit(x, y, epochs=1, verbose=0)  # trains the shared first layer, now in new's buffers
    before = base.predict(x, verbose=0)
    np.testing.assert_array_equal(base.layers[0].params["W"], new.layers[0].params["W"])
    with pytest.raises(RuntimeError, match="layer 'dense' now belongs to another model"):
        base.fit(x, y, verbose=0)  # its weights live in two models' buffers
    new.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(base.predict(x, verbose=0), before)  # shared weights: base sees new's training
    base.build()  # gathers the layer back, with the weights the new model trained
    np.testing.assert_array_equal(base.layers[0].params["W"], new.layers[0].params["W"])
    base.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(RuntimeError, match="now belongs to another model"):
        new.fit(x, y, verbose=0)


def test_models_made_of_one_models_layers_share_its_weights_and_train_them():
    x, y = blobs()
    base = mlp()
    base.fit(x, y, epochs=1, verbose=0)
    twin = Sequential(base.layers)  # every weight lives in base: twin works on a view of base's buffers
    twin.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(0.1))
    np.testing.assert_array_equal(twin.predict(x, verbose=0), base.predict(x, verbose=0))
    w0 = base.get_weights()
    twin.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(base.get_weights()[0], w0[0])
    np.testing.assert_array_equal(twin.predict(x, verbose=0), base.predict(x, verbose=0))
    base.fit(x, y, epochs=1, verbose=0)  # and the other way round
    np.testing.assert_array_equal(twin.predict(x, verbose=0), base.predict(x, verbose=0))
    base.layers[0].trainable = False  # the view's optimizer groups follow the owner's layers
    w0 = base.layers[0].get_weights()
    twin.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(base.layers[0].get_weights()[0], w0[0])


def test_fit_evaluate_predict_check_their_arguments_first(tmp_path):
    x, y = blobs()
    model = mlp()
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size: expected a positive int or None, got"):
            model.evaluate(x, y, batch_size=bad)
        with pytest.raises(ValueError, match="batch_size: expected a positive int or None, got"):
            model.predict(x, batch_size=bad)
    for bad in ((x,), (x, y, None, None), [x, y], x):
        with pytest.raises(ValueError, match=r"validation_data: expected \(x_val, y_val\)"):
            model.fit(x, y, validation_data=bad, verbose=0)
    with pytest.raises(ValueError, match="initial_epoch: expected an int >= 0, got -3"):
        model.fit(x, y, initial_epoch=-3, verbose=0)
    assert model.epoch == 0 and model.optimizer.iterations == 0  # nothing trained by the failed calls


def test_failed_save_leaves_no_temporary_file(tmp_path):
    model = mlp()
    target = tmp_path / "taken"
    target.mkdir()  # os.replace onto a directory fails
    with pytest.raises(OSError):
        model.save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_history_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    x, y = blobs()
    hist = mlp().fit(x, y, epochs=3, verbose=0, validation_split=0.2)
    hist.plot(tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(hist.history)


@pytest.mark.parametrize("verbose", ["auto", 1, 2])
def test_progress_is_a_bar_on_a_terminal_and_one_line_per_epoch_in_logs(verbose, capsys, monkeypatch):
    x, y = blobs()
    mlp().fit(x, y, epochs=2, verbose=verbose, validation_split=0.25)  # capsys: not a terminal
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[-1].startswith("Epoch 2/2: ") and "val_loss:" in lines[-1]
    assert "val_accuracy:" in lines[-1] and "\r" not in out + err  # nothing but whole lines in a log file

    from fastnn.training import progress
    monkeypatch.setattr(progress, "_is_terminal", lambda stream: True)
    mlp().fit(x, y, epochs=2, verbose=verbose, validation_split=0.25)
    out, err = capsys.readouterr()
    assert len(out.strip().splitlines()) == 2
    assert ("step" in err) == (verbose != 2)  # tqdm's bar, on stderr


def test_steady_state_training_allocates_no_new_arrays():
    """numpy reports its buffers to tracemalloc: the peak over 50 steps must stay
    below one activation array (64 x 16 float32 = 4 KiB); Python's own small
    objects (floats, tuples) account for the ~2 KiB allowed."""
    import tracemalloc

    x, y = blobs(512)
    model = mlp()
    xb, yb = x[:64].astype(np.float32), y[:64].astype(np.int64)  # the loop's converted batches
    for _ in range(5):
        model.train_step_host(xb, yb)
    tracemalloc.start()
    try:
        model.train_step_host(xb, yb)
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        for _ in range(50):
            model.train_step_host(xb, yb)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert peak < 3000, f"a training step allocated {peak} bytes of new arrays"
