"""Benchmarks of fastnn's CPU ops beside plain NumPy and PyTorch (CPU).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/ops.py [section ...]

Without section names every section runs. A section is a function
``bench_<name>()`` listed in SECTIONS; it prints its own table. Times are the
median of several runs after warm-up runs (the minimum is shown beside it:
on a shared machine it is the steadier figure); the contenders of a table take
turns so that load changes hit them alike. fastnn is timed as a training loop
uses it, with its output, gradient and workspace arrays reused across steps.
"""
import argparse
import os
import statistics
import time

import numpy as np

import _common  # noqa: F401  (imports the installed fastnn, else the checkout's)
import fastnn
from fastnn import ops

try:
    import torch
except ImportError:  # the PyTorch columns are left out
    torch = None


def timeit(contenders, rounds=10, warmup=2):
    """{name: (median, min)} wall time in seconds of each contender's call.

    `contenders` maps a name to (fn, calls per round). The contenders take
    turns, round after round, so that a shared machine's load changes hit
    them alike; each first gets `warmup` untimed calls.
    """
    times = {name: [] for name in contenders}
    for fn, _ in contenders.values():
        for _ in range(warmup):
            fn()
    for _ in range(rounds):
        for name, (fn, calls) in contenders.items():
            for _ in range(calls):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def report(results, baseline):
    """Print timeit results {name: (median, min)}; `speed` is the baseline's median time over this row's."""
    base = results[baseline][0]
    for name, (med, best) in results.items():
        print(f"  {name:<22} median {med * 1e3:8.2f} ms   min {best * 1e3:8.2f} ms   speed {base / med:5.2f}x")


def environment():
    """Print what decides the speed: OpenBLAS kernel, its environment overrides, threads."""
    print(f"fastnn {fastnn.__version__}: OpenBLAS core {fastnn._C.blas_corename()}, "
          f"{fastnn.get_num_threads()} threads")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"  {var}={os.environ[var]!r}" if var in os.environ else f"  {var} not set")
    if torch is not None:
        torch.set_num_threads(fastnn.get_num_threads())
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    else:
        print("PyTorch not importable: its rows are left out")


# ---- conv ------------------------------------------------------------------

def numpy_im2col(x, KH, KW):
    """The (N*OH*OW, KH*KW*C) column matrix of a stride-1 'same' conv with an odd kernel."""
    xp = np.pad(x, ((0, 0), (KH // 2, KH // 2), (KW // 2, KW // 2), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(1, 2))  # (N, OH, OW, C, KH, KW)
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, KH * KW * x.shape[3])


def numpy_conv_forward(x, W, b):
    col = numpy_im2col(x, W.shape[0], W.shape[1])
    return (col @ W.reshape(-1, W.shape[3]) + b).reshape(*x.shape[:3], W.shape[3])


def numpy_conv_backward(x, W, dy):
    KH, KW, C, CO = W.shape
    N, H, Wd, _ = x.shape
    col = numpy_im2col(x, KH, KW)
    dy2 = dy.reshape(-1, CO)
    dW = (col.T @ dy2).reshape(W.shape)
    db = dy2.sum(axis=0)
    dcol = (dy2 @ W.reshape(-1, CO).T).reshape(N, H, Wd, KH, KW, C)
    dxp = np.zeros((N, H + KH - 1, Wd + KW - 1, C), x.dtype)
    for kh in range(KH):  # col2im: every tap adds its slice back where it came from
        for kw in range(KW):
            dxp[:, kh:kh + H, kw:kw + Wd] += dcol[:, :, :, kh, kw]
    return dxp[:, KH // 2:KH // 2 + H, KW // 2:KW // 2 + Wd], dW, db


def bench_conv(N=128, H=28, W=28, C_in=32, C_out=64, K=3):
    """Conv2D 3x3 'same', float32: forward and forward + backward (dx, dW, db)."""
    print(f"\n== conv: N={N}, {H}x{W}, {C_in}->{C_out} channels, {K}x{K}, 'same', stride 1, float32 ==")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, H, W, C_in), dtype=np.float32)
    Wt = (rng.standard_normal((K, K, C_in, C_out)) / np.sqrt(K * K * C_in)).astype(np.float32)
    b = rng.standard_normal(C_out, dtype=np.float32)
    geo = dict(stride=1, padding="same", dilation=1)
    y = np.empty(ops.conv2d_output_shape(x.shape, Wt.shape, **geo), np.float32)
    dy = rng.standard_normal(y.shape, dtype=np.float32)
    workspace = np.empty(ops.conv2d_workspace_size(x.shape, Wt.shape, dtype=np.float32, **geo), np.float32)
    dx, dW, db = np.empty_like(x), np.empty_like(Wt), np.empty_like(b)
    print(f"  workspace {workspace.nbytes / 2**20:.2f} MiB; "
          f"{2 * y.size * K * K * C_in / 1e9:.2f} GFLOP forward, 3x that forward + backward")

    def fastnn_forward():
        ops.conv2d_forward(x, Wt, b, out=y, workspace=workspace, **geo)

    def fastnn_step():
        fastnn_forward()
        ops.conv2d_backward(x, Wt, dy, dx=dx, dW=dW, db=db, workspace=workspace, **geo)

    # fastnn and PyTorch take turns; NumPy runs on its own, since its large
    # temporary arrays would make the others' allocations fault pages anew.
    fwd, step = {"fastnn": (fastnn_forward, 4)}, {"fastnn": (fastnn_step, 4)}
    numpy_fwd = timeit({"numpy im2col": (lambda: numpy_conv_forward(x, Wt, b), 1)}, rounds=5)
    numpy_step = timeit({"numpy im2col": (lambda: (numpy_conv_forward(x, Wt, b), numpy_conv_backward(x, Wt, dy)), 1)},
                        rounds=5)

    if torch is not None:
        # NHWC arrays seen as NCHW tensors in channels_last memory format: no copies.
        tx = torch.from_numpy(x).permute(0, 3, 1, 2)
        tW = torch.from_numpy(Wt).permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)
        tb = torch.from_numpy(b)
        tdy = torch.from_numpy(dy).permute(0, 3, 1, 2)
        assert tx.is_contiguous(memory_format=torch.channels_last)
        xg, Wg, bg = (t.detach().clone(memory_format=torch.preserve_format).requires_grad_() for t in (tx, tW, tb))

        def torch_forward():
            with torch.no_grad():
                torch.nn.functional.conv2d(tx, tW, tb, padding=K // 2)

        def torch_step():
            xg.grad = Wg.grad = bg.grad = None
            torch.nn.functional.conv2d(xg, Wg, bg, padding=K // 2).backward(tdy)

        fwd["torch channels_last"] = (torch_forward, 4)
        step["torch channels_last"] = (torch_step, 4)

        # The figures only count if the results agree.
        fastnn_step()
        torch_step()
        err = max(np.abs(a - t.detach().numpy()).max() / np.abs(a).max() for a, t in
                  [(y, torch.nn.functional.conv2d(tx, tW, tb, padding=K // 2).permute(0, 2, 3, 1)),
                   (dx, xg.grad.permute(0, 2, 3, 1)), (dW, Wg.grad.permute(2, 3, 1, 0)), (db, bg.grad)])
        print(f"  fastnn vs torch: max relative difference {err:.1e} over y, dx, dW, db")

    print(" forward (speed: fastnn's time / this one's):")
    report({**timeit(fwd), **numpy_fwd}, "fastnn")
    print(" forward + backward (dx, dW, db):")
    report({**timeit(step), **numpy_step}, "fastnn")


# ---- batch norm ------------------------------------------------------------

def numpy_batchnorm(x, gamma, beta, dy, eps=1e-3):
    """Training-mode batch norm forward and backward over all axes but the last, in plain NumPy."""
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    inv_std = 1 / np.sqrt(x.var(axis=axes) + eps)
    xhat = (x - mean) * inv_std
    y = gamma * xhat + beta
    m = x.size // x.shape[-1]
    dbeta, dgamma = dy.sum(axis=axes), (dy * xhat).sum(axis=axes)
    dx = gamma * inv_std / m * (m * dy - dbeta - xhat * dgamma)
    return y, dx, dgamma, dbeta


def bench_batchnorm(N=128, H=28, W=28, C=64):
    """Batch norm, training mode, forward + backward, float32."""
    print(f"\n== batch norm: {N}x{H}x{W}x{C}, training forward + backward, float32 ==")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, H, W, C), dtype=np.float32)
    dy = rng.standard_normal(x.shape, dtype=np.float32)
    gamma, beta = np.ones(C, np.float32), np.zeros(C, np.float32)
    rmean, rvar = np.zeros(C, np.float32), np.ones(C, np.float32)
    y, dx = np.empty_like(x), np.empty_like(x)
    mean, inv_std = np.empty(C), np.empty(C)
    dgamma, dbeta = np.empty(C, np.float32), np.empty(C, np.float32)
    ws = np.empty(fastnn._C.batchnorm_workspace_size(N * H * W, C))

    def fastnn_step():
        ops.batchnorm_forward(x, gamma, beta, rmean, rvar, training=True, out=y, save_mean=mean, save_inv_std=inv_std,
                              workspace=ws)
        ops.batchnorm_backward(x, gamma, dy, mean, inv_std, dx=dx, dgamma=dgamma, dbeta=dbeta, workspace=ws)

    contenders = {"fastnn": (fastnn_step, 4)}
    if torch is not None:
        bn = torch.nn.BatchNorm2d(C, eps=1e-3)
        tx = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_()
        tdy = torch.from_numpy(dy).permute(0, 3, 1, 2)

        def torch_step():
            tx.grad = None
            bn.weight.grad = bn.bias.grad = None
            bn(tx).backward(tdy)

        contenders["torch channels_last"] = (torch_step, 4)
    numpy_time = timeit({"numpy": (lambda: numpy_batchnorm(x, gamma, beta, dy), 1)}, rounds=5)
    report({**timeit(contenders), **numpy_time}, "fastnn")


# ---- optimizers ------------------------------------------------------------

def bench_optimizer(kind, n=10_000_000):
    """One optimizer step over n float32 parameters: fastnn's fused kernel, NumPy, PyTorch."""
    hyper = {"adam": dict(rho=0.9, beta2=0.999, eps=1e-8), "rmsprop": dict(rho=0.9, eps=1e-8)}[kind]
    arrays = 7 if kind == "adam" else 5  # float32 values moved per element: reads and writes
    print(f"\n== {kind} step: {n / 1e6:.0f}M float32 parameters ({arrays} float32 values moved per element) ==")
    rng = np.random.default_rng(0)
    w, g = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
    state = [np.zeros(n, np.float32) for _ in range(ops.STATE_COUNT[kind])]
    step = {"t": 0}

    def fastnn_step():
        step["t"] += 1
        ops.optimizer_update(kind, w, g, *state, *([None] * (2 - len(state))), lr=1e-3, step=step["t"], **hyper)

    nw, ng = w.copy(), g.copy()
    ns = [np.zeros(n, np.float32) for _ in state]
    tmp = np.empty(n, np.float32)

    def numpy_step():  # in place, with one scratch array: the best plain NumPy does
        nonlocal nw, tmp
        step["t"] += 1
        if kind == "adam":
            m, v = ns
            m *= 0.9
            m += 0.1 * ng
            v *= 0.999
            np.multiply(ng, ng, out=tmp)
            tmp *= 0.001
            v += tmp
            np.sqrt(v, out=tmp)
            tmp *= 1 / np.sqrt(1 - 0.999 ** step["t"])
            tmp += 1e-8
            np.divide(m, tmp, out=tmp)
            tmp *= 1e-3 / (1 - 0.9 ** step["t"])
        else:
            (s_,) = ns
            s_ *= 0.9
            np.multiply(ng, ng, out=tmp)
            tmp *= 0.1
            s_ += tmp
            np.sqrt(s_, out=tmp)
            tmp += 1e-8
            np.divide(ng, tmp, out=tmp)
            tmp *= 1e-3
        nw -= tmp

    contenders = {"fastnn": (fastnn_step, 4)}
    if torch is not None:
        def torch_optimizer(**kw):
            p = torch.zeros(n, requires_grad=True)
            p.grad = torch.from_numpy(g)
            cls = torch.optim.Adam if kind == "adam" else torch.optim.RMSprop
            return cls([p], lr=1e-3, **kw).step

        if kind == "adam":
            contenders["torch fused=True"] = (torch_optimizer(fused=True), 4)
            contenders["torch foreach=True"] = (torch_optimizer(foreach=True), 4)
        else:
            contenders["torch (foreach)"] = (torch_optimizer(foreach=True), 4)
    results = {**timeit(contenders), **timeit({"numpy (in place)": (numpy_step, 2)}, rounds=5)}
    report(results, "fastnn")
    gbs = arrays * 4 * n / results["fastnn"][0] / 1e9
    print(f"  fastnn effective bandwidth: {gbs:.1f} GB/s")


SECTIONS = {"conv": bench_conv, "batchnorm": bench_batchnorm,
            "adam": lambda: bench_optimizer("adam"), "rmsprop": lambda: bench_optimizer("rmsprop")}


def main(argv=None):
    """Run the named sections (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", choices=[[], *SECTIONS], help="sections to run (default: all)")
    args = parser.parse_args(argv)
    environment()
    for name in args.sections or SECTIONS:
        SECTIONS[name]()


if __name__ == "__main__":
    main()
