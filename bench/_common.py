"""Shared helpers of the bench/ scripts: timing and the environment header."""
import os
import statistics
import sys
import time

try:
    import fastnn
except ModuleNotFoundError as missing:
    # Not installed: the checkout's own package (its compiled modules must
    # have been built into python/fastnn). An installed fastnn always wins.
    if missing.name != "fastnn":
        raise
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import fastnn


def describe_environment():
    """Print what the figures depend on: BLAS kernel, threads, OpenBLAS variables."""
    pinned = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    print(f"fastnn {fastnn.__version__}: OpenBLAS kernel {fastnn._C.blas_corename()}, "
          f"{fastnn.get_num_threads()} threads")
    if pinned:
        print(f"note: {pinned} set: OpenBLAS is pinned to older kernels; users' machines set neither. "
              f"For reported figures run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...")
    else:
        print("OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: unset (OpenBLAS picks its kernel for this CPU)")
    try:
        import threadpoolctl

        for info in threadpoolctl.threadpool_info():
            if info.get("internal_api") in ("openblas", "mkl"):
                print(f"  {info['prefix']} ({info.get('internal_api')}): {info.get('architecture', '?')}, "
                      f"{info.get('num_threads')} threads")
    except ImportError:
        pass


def time_call(fn, *, repeat=7, min_time=0.2):
    """Median seconds per call of ``fn`` over ``repeat`` rounds, each at least ``min_time`` long, after a warm-up."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t0 >= min_time / 4:
            break
        n *= 2
    n = max(1, int(n * min_time / max(time.perf_counter() - t0, 1e-9)))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


def run_isolated(script, column, timeout=600):
    """Seconds per call of one benchmark column, measured in a fresh Python process.

    Each framework keeps its own thread pool (OpenMP, OpenBLAS, MKL) whose
    threads spin for a while after work; in one process they would steal the
    2 cores from each other and every column would measure the others' noise.
    """
    import subprocess
    import sys

    out = subprocess.run([sys.executable, script, "--column", column], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{column} failed:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def try_import_torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(fastnn.get_num_threads())
    return torch
