"""Augmentation: shifts, flips, rotations as exact pixel maps; seeding; training with fresh transforms each epoch."""
import csv

import numpy as np
import pytest

from fastnn import Adam, Dense, Flatten, Sequential, callbacks
from fastnn.augment import Augmenter, flow


def images(n=6, h=7, w=9, c=2, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, h, w, c)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_and_dtype_are_preserved(dtype):
    x = images(dtype=dtype)
    for aug in (Augmenter(shift=2), Augmenter(flip=True), Augmenter(rotate=15),
                Augmenter(shift=(1, 3), flip=0.3, rotate=10, interpolation="bilinear")):
        out = aug(x, np.random.default_rng(0))
        assert out.shape == x.shape and out.dtype == dtype
    assert Augmenter(shift=1)(x.astype(np.uint8), 0).dtype == np.float32


def test_shift_moves_content_and_fills_with_zeros():
    x = np.zeros((2, 6, 6, 1), np.float32)
    x[0, 2, 3, 0] = 1.0
    x[1] = np.arange(36).reshape(6, 6, 1) + 1
    out = Augmenter().apply(x, shifts=[[1, -2], [-2, 1]])
    assert np.argwhere(out[0, ..., 0]).tolist() == [[3, 1]]  # one row down, two columns left
    np.testing.assert_array_equal(out[1, :4, 1:, 0], x[1, 2:, :5, 0])  # two up, one right
    assert (out[1, 4:] == 0).all() and (out[1, :, 0] == 0).all()       # what moved in is zero fill
    np.testing.assert_array_equal(Augmenter(fill=-1.0).apply(x, shifts=[[0, 6], [0, 0]])[0], -1.0)
    # Integer images come back float32, and so does their fill (it was cast to uint8: 0.5 -> 0, -1 overflowed).
    u8 = np.full((1, 4, 4, 1), 200, np.uint8)
    for fill in (0.5, -1.0):
        out = Augmenter(fill=fill).apply(u8, shifts=[[1, 0]])
        assert out.dtype == np.float32 and (out[0, 0] == fill).all() and (out[0, 1:] == 200).all()


def test_flip_mirrors_and_flipping_twice_is_identity():
    x = images()
    once = Augmenter().apply(x, flips=True)
    np.testing.assert_array_equal(once, x[:, :, ::-1])
    np.testing.assert_array_equal(Augmenter().apply(once, flips=True), x)
    aug = Augmenter(flip=True)
    _, flips, _ = aug.sample(4000, np.random.default_rng(1))
    assert 0.45 < flips.mean() < 0.55
    assert not Augmenter().sample(10, 0)[1].any()


def test_rotation_maps_pixels_like_rot90_and_keeps_round_blobs():
    x = images(n=2, h=8, w=8, c=3)
    for interpolation in ("nearest", "bilinear"):
        out = Augmenter(interpolation=interpolation).apply(x, angles=90)
        np.testing.assert_allclose(out, np.rot90(x, axes=(1, 2)), atol=1e-6)  # counter-clockwise as displayed
        np.testing.assert_array_equal(Augmenter(interpolation=interpolation).apply(x, angles=0), x)
    yy, xx = np.mgrid[:15, :15] - 7.0
    blob = np.exp(-(yy**2 + xx**2) / 18.0)[None, :, :, None]
    rotated = Augmenter(interpolation="bilinear").apply(blob, angles=37)
    np.testing.assert_allclose(rotated, blob, atol=0.035)  # a round blob about the center is unchanged
    square = np.zeros((1, 15, 15, 1))
    square[0, 3:12, 3:12] = 1
    assert np.abs(Augmenter().apply(square, angles=30) - square).sum() > 10  # but a square is not


def test_random_draws_are_seeded_and_within_bounds():
    x = images(n=50)
    aug = Augmenter(shift=2, flip=True, rotate=15, interpolation="bilinear")
    a = aug(x, np.random.default_rng(7))
    np.testing.assert_array_equal(a, aug(x, np.random.default_rng(7)))
    np.testing.assert_array_equal(a, aug(x, 7))
    assert not np.array_equal(a, aug(x, np.random.default_rng(8)))
    angles, _, shifts = aug.sample(5000, 3)
    assert np.abs(angles).max() <= 15 and np.abs(angles).max() > 14.9
    assert set(np.unique(shifts).tolist()) == {-2, -1, 0, 1, 2}
    _, _, one_axis = Augmenter(shift=(0, 1)).sample(100, 0)
    assert (one_axis[:, 0] == 0).all() and set(np.unique(one_axis[:, 1]).tolist()) == {-1, 0, 1}


def test_chunking_does_not_change_results(monkeypatch):
    import fastnn.augment as augment

    x = images(n=40)
    aug = Augmenter(shift=1, flip=True, rotate=5)
    whole = aug(x, 3)
    monkeypatch.setattr(augment, "_CHUNK", 7)
    np.testing.assert_array_equal(aug(x, 3), whole)


def test_bad_arguments_name_themselves():
    for kwargs, name in (({"shift": -1}, "shift"), ({"shift": 1.5}, "shift"), ({"flip": 2}, "flip"),
                         ({"rotate": 200}, "rotate"), ({"interpolation": "cubic"}, "interpolation")):
        with pytest.raises(ValueError, match=f"{name}:"):
            Augmenter(**kwargs)
    with pytest.raises(ValueError, match=r"batch: expected images of shape \(n, H, W, C\)"):
        Augmenter(shift=1)(np.zeros((3, 8, 8)), 0)


def test_flow_covers_each_epoch_in_batches():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    y = np.arange(10)
    gen = flow(x, y, batch_size=4, seed=0)
    for _ in range(2):
        batches = [next(gen) for _ in range(3)]
        assert [len(b[1]) for b in batches] == [4, 4, 2]
        ys = np.concatenate([b[1] for b in batches])
        assert sorted(ys.tolist()) == list(range(10))
        np.testing.assert_array_equal(np.concatenate([b[0] for b in batches])[:, 0, 0, 0], ys)
    xb, _ = next(flow(images(n=8), np.zeros(8), batch_size=8, augmenter=Augmenter(flip=1.0), shuffle=False))
    np.testing.assert_array_equal(xb, images(n=8)[:, :, ::-1])
    with pytest.raises(ValueError, match="batch_size"):
        next(flow(x, y, batch_size=0))


def problem(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.random((n, 4, 4, 1)).astype(np.float32) * 0.3
    x[y == 1, :, :2] += 0.7  # class 1: bright left half
    return x, y


def model(seed=0):
    m = Sequential([Flatten(input_shape=(4, 4, 1)), Dense(8, activation="relu"), Dense(2, activation="softmax")],
                   seed=seed)
    m.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(0.02), metrics=["accuracy"])
    return m


def test_fit_augments_each_training_batch_repeatably_and_resumes_exactly():
    x, y = problem()
    aug = Augmenter(shift=1)
    full = model()
    hist = full.fit(x, y, epochs=4, verbose=0, augment=aug, batch_size=32)
    assert hist.epoch == [0, 1, 2, 3] and full.epoch == 4 and len(hist.history["loss"]) == 4

    half = model()
    half.fit(x, y, epochs=2, verbose=0, augment=aug, batch_size=32)
    half.fit(x, y, epochs=4, initial_epoch=2, verbose=0, augment=aug, batch_size=32)
    np.testing.assert_array_equal(half.flat_params, full.flat_params)

    seen = []

    def recording(batch, rng):
        out = aug(batch, rng)
        seen.append(out)
        return out

    model().fit(x, y, epochs=2, verbose=0, validation_split=0.25, augment=recording, batch_size=90)
    assert [len(s) for s in seen] == [90, 90]  # one batch per epoch; the validation part is never augmented
    assert not np.array_equal(seen[0], seen[1])


def test_fit_with_augment_runs_callbacks_as_usual(tmp_path, capsys):
    x, y = problem()
    log = tmp_path / "log.csv"
    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=10.0)  # never "improves" after epoch 0
    hist = model().fit(x, y, epochs=10, validation_data=(x[:20], y[:20]), augment=Augmenter(shift=1),
                       callbacks=[callbacks.CSVLogger(log), stopper], verbose=2)
    assert len(hist.epoch) == 3 and stopper.stopped_epoch == 2
    rows = list(csv.DictReader(open(log)))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2] and "val_loss" in rows[0]
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("Epoch 1/10: ") and "val_accuracy" in out[0] and len(out) == 3
    with pytest.raises(TypeError, match="augment"):
        model().fit(x, y, epochs=1, augment="shift")
