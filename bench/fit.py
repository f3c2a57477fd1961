"""Throughput of ``fit`` on the lecture MLP from three data sources, beside the bare step loop.

Model: 784-500-300-10, ReLU, Dropout(0.3) after each hidden layer, RMSprop(1e-3),
batch 128, float32. Columns:

* ``bare``: ``model.train_on_batch(x[i:i+128], y[i:i+128])`` over an in-memory array, no shuffling
  (the floor: the step alone, called from a plain Python loop);
* ``fit_array``: ``model.fit(x, y)`` on the same in-memory array (25,600 x 784), shuffled every epoch;
* ``fit_memmap``: ``model.fit(np.load(path, mmap_mode='r'), y)`` on a 1,000,000 x 784 float32
  file (3.1 GB) on disk, shuffled: read batch by batch, never loaded whole; timed over as many
  steps as the other columns (the step slows as the weights train, so every column starts from
  the same fresh model and runs the same steps), then one whole untimed pass for the peak RSS;
* ``fit_memmap_batch``: the same file with ``shuffle="batch"`` (Keras' option for data on disk:
  batches of consecutive rows in a random order, each batch one read);
* ``fit_generator``: ``model.fit(generator, steps_per_epoch=...)`` over in-memory batches.

Each round runs in a fresh process and measures the five columns one after another
there, so the ratios compare like with like. Printed: samples/s (range over rounds),
the ratio to ``bare``, and the round process's peak resident memory. The 3 GB file is
written once under ``--dir`` (default: a temporary directory) and is in the page cache
when read, as on a machine with enough RAM.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/fit.py   # as on users' machines
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

BATCH = 128
N_FILE = 1_000_000
N_MEMORY = 25_600  # in-memory columns: 200 steps an epoch, 4 epochs a measurement
COLUMNS = ("bare", "fit_array", "fit_generator", "fit_memmap", "fit_memmap_batch")


def model():
    from fastnn import Dense, Dropout, RMSprop, Sequential

    m = Sequential([Dense(500, activation="relu", input_shape=(784,)), Dropout(0.3),
                    Dense(300, activation="relu"), Dropout(0.3), Dense(10, activation="softmax")], seed=0)
    m.compile(loss="sparse_categorical_crossentropy", optimizer=RMSprop(1e-3), metrics=["accuracy"])
    return m


def write_file(path):
    rng = np.random.default_rng(0)
    x = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(N_FILE, 784))
    for start in range(0, N_FILE, 50_000):
        x[start:start + 50_000] = rng.random((50_000, 784), dtype=np.float32)
    x.flush()
    del x


def peak_rss_mb():
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def run_round(path):
    """Samples per second of every column, interleaved in this one process (the VM's speed varies
    from process to process by up to 30%, which a ratio between processes would measure instead)."""
    rng = np.random.default_rng(1)
    x = rng.random((N_MEMORY, 784), dtype=np.float32)
    y = rng.integers(0, 10, N_MEMORY)
    xm = np.load(path, mmap_mode="r")
    ym = rng.integers(0, 10, len(xm))
    steps, epochs = N_MEMORY // BATCH, 4

    def bare():
        for _ in range(epochs):
            for i in range(steps):
                m.train_on_batch(x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH])
        return epochs * steps * BATCH

    def fit_array():
        m.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0)  # shuffled every epoch
        return epochs * steps * BATCH

    def fit_generator():
        batches = ((x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH])
                   for _ in range(epochs) for i in range(steps))
        m.fit(batches, steps_per_epoch=steps, epochs=epochs, verbose=0)
        return epochs * steps * BATCH

    def fit_memmap():  # as many steps as the others, each batch drawn from the whole 3.1 GB file
        m.fit(xm, ym, batch_size=BATCH, epochs=epochs, steps_per_epoch=steps, verbose=0)
        return epochs * steps * BATCH

    def fit_memmap_batch():
        m.fit(xm, ym, batch_size=BATCH, epochs=epochs, steps_per_epoch=steps, shuffle="batch", verbose=0)
        return epochs * steps * BATCH

    rates = {}
    for column, fn in (("bare", bare), ("fit_array", fit_array), ("fit_generator", fit_generator),
                       ("fit_memmap", fit_memmap), ("fit_memmap_batch", fit_memmap_batch)):
        # A fresh model (same seed) for every column: the step's speed drifts as the weights train,
        # so every column must start from the same weights.
        m = model()
        m.fit(x[:BATCH * 20], y[:BATCH * 20], batch_size=BATCH, epochs=1, verbose=0)  # warm-up: buffers, threads
        t0 = time.perf_counter()
        rates[column] = fn() / (time.perf_counter() - t0)
    m.fit(xm, ym, batch_size=BATCH, epochs=1, verbose=0)  # untimed: one whole shuffled pass, for the peak RSS
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--round", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dir", default=None, help="where to write the 3 GB file (default: a temporary directory)")
    args = parser.parse_args()
    if args.round:
        print(json.dumps({"rates": run_round(args.file), "peak_rss_mb": peak_rss_mb()}))
        return

    from _common import describe_environment

    describe_environment()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = os.path.join(tmp, "x.npy")
        t0 = time.perf_counter()
        write_file(path)
        print(f"wrote {N_FILE:,} x 784 float32 ({os.path.getsize(path) / 1e9:.1f} GB) in {time.perf_counter() - t0:.0f}s")
        rounds = []
        for r in range(args.rounds):
            out = subprocess.run([sys.executable, __file__, "--round", "--file", path], capture_output=True,
                                 text=True, timeout=1800)
            if out.returncode != 0:
                raise RuntimeError(f"round {r + 1} failed:\n{out.stderr}")
            rounds.append(json.loads(out.stdout.strip().splitlines()[-1]))
            rates = rounds[-1]["rates"]
            print(f"round {r + 1}: " + ", ".join(f"{c} {rates[c]:,.0f}" for c in COLUMNS)
                  + f" samples/s; peak RSS {rounds[-1]['peak_rss_mb']:,.0f} MB", flush=True)
    print("\n| column | samples/s | vs bare loop |\n|---|---|---|")
    for column in COLUMNS:
        rates = [r["rates"][column] for r in rounds]
        ratios = [r["rates"][column] / r["rates"]["bare"] for r in rounds]
        print(f"| {column} | {min(rates):,.0f} – {max(rates):,.0f} | {min(ratios):.3f} – {max(ratios):.3f} |")
    for column in ("fit_memmap", "fit_memmap_batch"):
        ratios = [r["rates"][column] / r["rates"]["fit_array"] for r in rounds]
        print(f"\n{column} / fit_array: {min(ratios):.3f} – {max(ratios):.3f}", end="")
    print(f"\npeak RSS of a round's process (all five columns, the 3.1 GB file read once): "
          f"{max(r['peak_rss_mb'] for r in rounds):,.0f} MB")

if __name__ == "__main__":
    main()
