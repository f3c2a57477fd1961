"""Throughput of ``fit`` on the lecture MLP from three data sources, beside the bare step loop.

Model: 784-500-300-10, ReLU, Dropout(0.3) after each hidden layer, RMSprop(1e-3),
batch 128, float32. Columns, each in its own process, interleaved over rounds:

* ``bare``: ``model.train_on_batch(x[i:i+128], y[i:i+128])`` over an in-memory array, no shuffling
  (the floor: the step alone, called from a plain Python loop);
* ``fit_array``: ``model.fit(x, y)`` on the same in-memory array, shuffled every epoch;
* ``fit_memmap``: ``model.fit(np.load(path, mmap_mode='r'), y)`` on a 1,000,000 x 784 float32
  file (3.1 GB) on disk, shuffled: read batch by batch, never loaded whole;
* ``fit_generator``: ``model.fit(generator, steps_per_epoch=...)`` over in-memory batches.

Printed: samples/s (range over rounds), ratio to ``bare``, and each process's peak
resident memory. The 3 GB file is written once under ``--dir`` (default: a temporary
directory) and is in the page cache when read, as on a machine with enough RAM.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/fit.py   # as on users' machines
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

BATCH = 128
N_FILE = 1_000_000
N_MEMORY = 200_000
COLUMNS = ("bare", "fit_array", "fit_memmap", "fit_generator")


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


def run_column(column, path):
    """Samples per second of one column, in this process."""
    m = model()
    rng = np.random.default_rng(1)
    if column == "fit_memmap":
        x = np.load(path, mmap_mode="r")
        y = rng.integers(0, 10, len(x))
    else:
        x = rng.random((N_MEMORY, 784), dtype=np.float32)
        y = rng.integers(0, 10, N_MEMORY)
    steps = len(x) // BATCH
    m.fit(x[:BATCH * 20], y[:BATCH * 20], batch_size=BATCH, epochs=1, verbose=0)  # warm-up: buffers, threads
    t0 = time.perf_counter()
    if column == "bare":
        for i in range(steps):
            m.train_on_batch(x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH])
    elif column == "fit_generator":
        batches = ((x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]) for i in range(steps))
        m.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)
    else:
        m.fit(x[:steps * BATCH] if column == "fit_array" else x, y[:steps * BATCH] if column == "fit_array" else y,
              batch_size=BATCH, epochs=1, verbose=0)
    seconds = time.perf_counter() - t0
    return steps * BATCH / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--column", choices=COLUMNS)
    parser.add_argument("--file")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dir", default=None, help="where to write the 3 GB file (default: a temporary directory)")
    args = parser.parse_args()
    if args.column:
        rate = run_column(args.column, args.file)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{rate} {peak_mb}")
        return

    from _common import describe_environment

    describe_environment()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = os.path.join(tmp, "x.npy")
        t0 = time.perf_counter()
        write_file(path)
        print(f"wrote {N_FILE:,} x 784 float32 ({os.path.getsize(path) / 1e9:.1f} GB) in {time.perf_counter() - t0:.0f}s")
        results = {c: [] for c in COLUMNS}
        for r in range(args.rounds):
            for column in COLUMNS:
                out = subprocess.run([sys.executable, __file__, "--column", column, "--file", path],
                                     capture_output=True, text=True, timeout=1800)
                if out.returncode != 0:
                    raise RuntimeError(f"{column} failed:\n{out.stderr}")
                rate, peak = map(float, out.stdout.split())
                results[column].append((rate, peak))
                print(f"round {r + 1}: {column:<14} {rate:>9,.0f} samples/s, peak RSS {peak:,.0f} MB", flush=True)
    bare = [rate for rate, _ in results["bare"]]
    print(f"\n| column | samples/s | vs bare loop | peak RSS |\n|---|---|---|---|")
    for column in COLUMNS:
        rates = [rate for rate, _ in results[column]]
        ratios = [r / b for r, b in zip(rates, bare)]
        peaks = [p for _, p in results[column]]
        print(f"| {column} | {min(rates):,.0f} – {max(rates):,.0f} | {min(ratios):.3f} – {max(ratios):.3f} | "
              f"{max(peaks):,.0f} MB |")
    mem = [r for r, _ in results["fit_array"]]
    mapped = [r for r, _ in results["fit_memmap"]]
    print(f"\nfit_memmap / fit_array: {min(m / a for m, a in zip(mapped, mem)):.3f} – "
          f"{max(m / a for m, a in zip(mapped, mem)):.3f}")


if __name__ == "__main__":
    main()
