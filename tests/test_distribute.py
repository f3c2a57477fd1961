"""Data-parallel training under ``mpiexec``: each test launches this file on 2 or 3 ranks.

Run as a script (``mpiexec -n N python tests/test_distribute.py CASE OUTDIR ...``)
it is the worker; under pytest it launches the workers and checks what they
wrote against a single-process run in this process. Every launch has an
``mpiexec --timeout`` and a subprocess timeout: a stuck rank fails the test.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import fastnn
from fastnn import layers

MPIEXEC = shutil.which("mpiexec")
LAUNCH_TIMEOUT = 60


def make_data(kind, n, dtype):
    rng = np.random.default_rng(7)
    shape = (8, 8, 2) if kind in ("cnn", "resnet") else (12,)
    x = rng.standard_normal((n, *shape)).astype(dtype)
    y = rng.integers(0, 4, n)
    return x, y


def make_model(kind, optimizer, dtype, width=16, device="cpu"):
    if kind == "mlp":
        stack = [layers.Dense(width, activation="relu", input_shape=(12,)), layers.Dropout(0.3),
                 layers.Dense(4, activation="softmax")]
    else:
        # No bias before batch norm: its gradient is exactly 0, rounding noise that Adam would amplify.
        stack = [layers.Conv2D(6, 3, padding="same", use_bias=False, input_shape=(8, 8, 2)),
                 layers.BatchNormalization(synchronized=True), layers.Activation("relu"), layers.MaxPooling2D(2),
                 layers.Dropout(0.25), layers.Flatten(), layers.Dense(4, activation="softmax")]
    if kind == "resnet":  # a functional graph: the same flat buffers, so the same allreduce
        inputs = fastnn.Input(shape=(8, 8, 2))
        y = layers.Activation("relu")(layers.BatchNormalization(synchronized=True)(
            layers.Conv2D(6, 3, padding="same", use_bias=False)(inputs)))
        y = layers.Add()([y, layers.Conv2D(6, 1)(inputs)])
        outputs = layers.Dense(4, activation="softmax")(layers.GlobalAveragePooling2D()(y))
        model = fastnn.Model(inputs, outputs, dtype=dtype, seed=11, device=device)
    else:
        model = fastnn.Sequential(stack, dtype=dtype, seed=11, device=device)
    opt = fastnn.optimizers.SGD(0.05, momentum=0.9) if optimizer == "sgd" else fastnn.optimizers.Adam(0.01)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=opt, metrics=["accuracy"])
    return model


# Global batches of 10 out of 23 samples: shares of 5/5 and 4/3/3, and a last batch of 3
# (2/1 and 1/1/1): uneven shards on 2 and 3 ranks.
N_SAMPLES, BATCH, EPOCHS = 23, 10, 2


def train(model, strategy=None, callbacks=None, epochs=EPOCHS, initial_epoch=0, batch=BATCH):
    x, y = make_data("mlp" if model.input_shape == (12,) else "cnn", N_SAMPLES, model.dtype)
    return model.fit(x, y, batch_size=batch, epochs=epochs, initial_epoch=initial_epoch, verbose=0,
                     callbacks=callbacks, strategy=strategy, validation_split=0.0)


class Batches(fastnn.data.Sequence):
    """The global batches of (x, y), in order."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return -(-len(self.x) // BATCH)

    def __getitem__(self, i):
        return self.x[i * BATCH:(i + 1) * BATCH], self.y[i * BATCH:(i + 1) * BATCH]


def endless(x, y):
    batches = Batches(x, y)
    while True:
        yield from (batches[i] for i in range(len(batches)))


class StopOnRank1(fastnn.callbacks.Callback):
    """Asks to stop on rank 1 alone: the chief decides, so training goes on everywhere."""

    def on_epoch_end(self, epoch, logs=None):
        if fastnn.distribute.rank() == 1:
            self.model.stop_training = True


def fit_source(model, kind, path, strategy=None, **kwargs):
    """Train from a memmap, a generator or a Sequence (the generator and Sequence yield global batches)."""
    x, y = make_data("mlp", N_SAMPLES, "float64")
    if kind == "memmap":
        return model.fit(np.load(path, mmap_mode="r"), y, batch_size=BATCH, epochs=EPOCHS, strategy=strategy,
                         **kwargs)
    if kind == "generator":
        return model.fit(endless(x, y), steps_per_epoch=len(Batches(x, y)), epochs=EPOCHS, strategy=strategy,
                         **kwargs)
    return model.fit(Batches(x, y), epochs=EPOCHS, strategy=strategy, **kwargs)


# -- the worker ---------------------------------------------------------------------------------
def worker(case, outdir, *args):
    from fastnn.distribute import DataParallel

    strategy = DataParallel()
    os.makedirs(outdir, exist_ok=True)
    out = os.path.join(outdir, f"rank{strategy.rank}")
    if case == "train":
        kind, optimizer, batch = args
        model = make_model(kind, optimizer, "float64")
        history = train(model, strategy, batch=int(batch))
        np.savez(out, params=model.flat_params, state=model.flat_state, loss=history.history["loss"],
                 accuracy=history.history["accuracy"])
    elif case == "checkpoint":  # 2 ranks write (the chief alone), 3 ranks or 1 resume
        mode, path = args
        if mode == "write":
            model = make_model("mlp", "adam", "float64")
            train(model, strategy, [fastnn.callbacks.ModelCheckpoint(path, monitor="loss")])
        else:
            model = fastnn.load_model(path)
            train(model, strategy, epochs=EPOCHS + 1, initial_epoch=model.epoch)
        np.savez(out, params=model.flat_params)
    elif case == "sources":
        kind, path = args
        model = make_model("mlp", "sgd", "float64")
        logger = fastnn.callbacks.CSVLogger(os.path.join(outdir, "log.csv"))
        history = fit_source(model, kind, path, strategy, verbose=2, callbacks=[logger, StopOnRank1()])
        np.savez(out, params=model.flat_params, loss=history.history["loss"])
    elif case == "select":  # which collectives each backend gets
        from fastnn.backend import Backend
        from fastnn.distribute.collectives import HostStagedCollectives, MpiCollectives, for_backend

        chosen = {name: type(strategy.collectives_for(fastnn.backend.get(name))).__name__
                  for name in fastnn.backend.available() if name != "cuda"}
        fake_gpu = Backend("cuda", np, None)  # a GPU backend on a machine whose cupy has no NCCL
        staged = for_backend(strategy.comm, fake_gpu)
        buf = np.full(5, strategy.rank + 1.0)
        staged.allreduce(buf)
        np.savez(out, staged=type(staged).__name__, sum=buf, **chosen)
        assert isinstance(staged, HostStagedCollectives) or type(staged).__name__ == "NcclCollectives"
        assert all(cls == MpiCollectives.__name__ for cls in chosen.values())
    elif case == "gpu":
        kind = args[0]
        model = make_model(kind, "adam", "float64", device="cuda")
        train(model, strategy)
        np.savez(out, params=fastnn.backend.get("cuda").xp.asnumpy(model.flat_params),
                 collectives=type(strategy.collectives_for(model.backend)).__name__)
    elif case == "raise":
        class Fail(fastnn.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if strategy.rank == 1 and batch == 1:
                    raise RuntimeError("rank 1 fails on purpose")
        train(make_model("mlp", "sgd", "float32"), strategy, [Fail()], epochs=1000)
    elif case == "mismatch":
        model = make_model("mlp", "sgd", "float32", width=16 if strategy.rank == 0 else 17)
        train(model, strategy)
    elif case == "evaluate":
        batch = int(args[0])
        fastnn.distribute.set_strategy(strategy)
        model = make_model("mlp", "sgd", "float64")
        x, y = make_data("mlp", N_SAMPLES, "float64")
        np.savez(out, evaluate=model.evaluate(x, y, batch_size=batch, verbose=0),
                 predict=model.predict(x, batch_size=batch, verbose=0), rank=fastnn.distribute.rank(),
                 world_size=fastnn.distribute.world_size())


# -- the launcher -----------------------------------------------------------------------------
def _mpiexec_flags():
    version = subprocess.run([MPIEXEC, "--version"], capture_output=True, text=True, timeout=30).stdout
    if "Open MPI" not in version and "OpenRTE" not in version:
        return ["-n"]
    flags = ["--timeout", str(LAUNCH_TIMEOUT), "--oversubscribe", "--bind-to", "none"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--allow-run-as-root")
    return flags + ["-n"]


def launch(ranks, *args, expect_ok=True):
    if MPIEXEC is None:
        pytest.skip("mpiexec not found: install the [mpi] extra (pip install 'fastnn[mpi]') to run these tests")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [MPIEXEC, *_mpiexec_flags(), str(ranks), sys.executable, os.path.abspath(__file__), *map(str, args)]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT + 30, env=env)
    if expect_ok and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc, time.monotonic() - start


def results(outdir, ranks):
    return [dict(np.load(os.path.join(outdir, f"rank{r}.npz"))) for r in range(ranks)]


def assert_close(actual, expected, rtol=1e-10):
    scale = max(np.abs(expected).max(), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("ranks,batch", [(2, BATCH), (3, BATCH)])
@pytest.mark.parametrize("kind,optimizer", [("mlp", "sgd"), ("mlp", "adam"), ("cnn", "sgd"), ("cnn", "adam"),
                                            ("resnet", "sgd")])
def test_ranks_train_exactly_as_one_process(kind, optimizer, ranks, batch, tmp_path):
    launch(ranks, "train", tmp_path, kind, optimizer, batch)
    got = results(tmp_path, ranks)
    for r in range(1, ranks):  # the same update on the same values: bit-identical parameters
        assert got[r]["params"].tobytes() == got[0]["params"].tobytes()
    model = make_model(kind, optimizer, "float64")
    history = train(model, batch=batch)
    assert not np.array_equal(model.flat_params, make_model(kind, optimizer, "float64").flat_params)
    assert_close(got[0]["params"], model.flat_params)
    if kind in ("cnn", "resnet"):  # synchronized batch norm: the moving statistics of the global batches
        assert_close(got[0]["state"], model.flat_state)
        assert got[ranks - 1]["state"].tobytes() == got[0]["state"].tobytes()
    assert_close(got[0]["loss"], np.array(history.history["loss"]))
    np.testing.assert_array_equal(got[0]["accuracy"], history.history["accuracy"])


@pytest.mark.parametrize("kind", ["memmap", "generator", "sequence"])
def test_every_source_is_sharded_and_only_the_chief_writes(kind, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, make_data("mlp", N_SAMPLES, "float64")[0])
    proc, _ = launch(3, "sources", tmp_path / "out", kind, path)
    got = results(tmp_path / "out", 3)
    assert got[1]["params"].tobytes() == got[0]["params"].tobytes() == got[2]["params"].tobytes()
    model = make_model("mlp", "sgd", "float64")
    history = fit_source(model, kind, path, verbose=0)
    assert_close(got[0]["params"], model.flat_params)
    assert_close(got[0]["loss"], np.array(history.history["loss"]))
    assert proc.stdout.count(f"Epoch 1/{EPOCHS}") == 1  # the chief's progress alone
    with open(tmp_path / "out" / "log.csv") as f:
        assert len(f.read().splitlines()) == EPOCHS + 1  # the chief's log: a header and one line per epoch


# A last batch of 23 % 11 = 1 row on 3 ranks: two of them have no rows and still take part
# in every allreduce (synchronized batch norm's included).
def test_ranks_without_rows_in_a_batch(tmp_path):
    test_ranks_train_exactly_as_one_process("cnn", "adam", 3, 11, tmp_path)


@pytest.mark.parametrize("batch", [BATCH, 11])
def test_evaluate_and_predict_shard_and_gather(batch, tmp_path):
    launch(3, "evaluate", tmp_path, batch)
    got = results(tmp_path, 3)
    model = make_model("mlp", "sgd", "float64")
    x, y = make_data("mlp", N_SAMPLES, "float64")
    for r, res in enumerate(got):
        assert (int(res["rank"]), int(res["world_size"])) == (r, 3)
        assert_close(res["evaluate"], np.array(model.evaluate(x, y, batch_size=batch, verbose=0)))
        np.testing.assert_array_equal(res["predict"], model.predict(x, batch_size=batch, verbose=0))


def test_chief_checkpoint_resumes_on_one_and_three_ranks(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    launch(2, "checkpoint", tmp_path / "w", "write", path)
    assert sorted(os.listdir(tmp_path)) == ["ckpt.safetensors", "w"]  # written once, by the chief
    launch(3, "checkpoint", tmp_path / "r3", "resume", path)
    three = results(tmp_path / "r3", 3)
    one = fastnn.load_model(str(path))
    train(one, epochs=EPOCHS + 1, initial_epoch=one.epoch)
    straight = make_model("mlp", "adam", "float64")
    train(straight, epochs=EPOCHS + 1)
    assert_close(one.flat_params, straight.flat_params)
    assert_close(three[0]["params"], straight.flat_params)
    assert three[2]["params"].tobytes() == three[0]["params"].tobytes()


def test_a_raising_rank_ends_the_job_with_its_traceback(tmp_path):
    proc, seconds = launch(2, "raise", tmp_path, expect_ok=False)
    assert proc.returncode != 0
    assert "RuntimeError: rank 1 fails on purpose" in proc.stderr + proc.stdout
    assert seconds < 30  # ended by MPI_Abort, not by the launcher's timeout


def test_mismatched_models_are_an_error_on_every_rank(tmp_path):
    proc, seconds = launch(2, "mismatch", tmp_path, expect_ok=False)
    assert proc.returncode != 0
    assert "model: rank 1 built a different model from rank 0's" in proc.stderr + proc.stdout
    assert seconds < 30


def test_collectives_are_chosen_by_backend(tmp_path):
    launch(2, "select", tmp_path)
    got = results(tmp_path, 2)
    for res in got:
        assert str(res["cpu"]) == "MpiCollectives"
        np.testing.assert_array_equal(res["sum"], np.full(5, 3.0))  # 1 + 2, through the host-staged path
    if "cuda-emu" in fastnn.backend.available():
        assert str(got[0]["cuda-emu"]) == "MpiCollectives"  # emulated GPU arrays are NumPy's


@pytest.mark.skipif("cuda" not in fastnn.backend.available(), reason="needs a GPU (and cupy with NCCL)")
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_gpu_ranks_train_over_nccl_as_one_process(kind, tmp_path):
    import cupy

    ranks = min(2, cupy.cuda.runtime.getDeviceCount())  # NCCL needs a GPU per rank
    launch(ranks, "gpu", tmp_path, kind)
    got = results(tmp_path, ranks)
    assert str(got[0]["collectives"]) == "NcclCollectives"
    model = make_model(kind, "adam", "float64")
    train(model)
    assert_close(got[0]["params"], model.flat_params)
    assert got[-1]["params"].tobytes() == got[0]["params"].tobytes()


def test_launch_detection_without_mpi():
    from fastnn.distribute import launch as detect

    assert detect.detect({}) == detect.Launch(None, 0, 1, 0, 1)
    ompi = {"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
            "OMPI_COMM_WORLD_LOCAL_SIZE": "2"}
    assert detect.detect(ompi) == detect.Launch("Open MPI", 3, 4, 1, 2)
    assert detect.detect({"PMI_RANK": "1", "PMI_SIZE": "2"}) == detect.Launch("MPICH", 1, 2, 0, 2)
    slurm = {"SLURM_PROCID": "5", "SLURM_NTASKS": "6", "SLURM_LOCALID": "1", "SLURM_NTASKS_PER_NODE": "2(x3)"}
    assert detect.detect(slurm) == detect.Launch("Slurm", 5, 6, 1, 2)
    assert detect.threads_per_rank(2, affinity=16, cpu_count=16) == 8  # unbound: a share of the host
    assert detect.threads_per_rank(8, affinity=4, cpu_count=16) == 4   # bound by the launcher: its cores
    assert detect.threads_per_rank(32, affinity=16, cpu_count=16) == 1
    # Importing fastnn and asking the rank leave MPI uninitialised (mpi4py unimported).
    code = "import sys, fastnn; fastnn.distribute.rank(); fastnn.distribute.is_chief(); print('mpi4py' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout == "False\n"


def test_shares_of_a_batch():
    from fastnn.training.adapters import _share

    for n in (0, 1, 2, 7, 10, 23):
        for size in (1, 2, 3):
            parts = [_share(n, (r, size)) for r in range(size)]
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
            assert max(h - lo for lo, h in parts) - min(h - lo for lo, h in parts) <= 1


def test_bad_strategy():
    model = make_model("mlp", "sgd", "float32")
    x, y = make_data("mlp", 4, "float32")
    with pytest.raises(TypeError, match="strategy: expected a fastnn.distribute.DataParallel or None, got str"):
        model.fit(x, y, strategy="mpi", verbose=0)
    with pytest.raises(TypeError, match="strategy: expected"):
        fastnn.distribute.set_strategy(3)


if __name__ == "__main__":
    worker(*sys.argv[1:])
