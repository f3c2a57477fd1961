"""GPU throughput: the dense training step, conv forward+backward and an Adam step
on the ``cuda`` backend, beside PyTorch CUDA when it is importable.

    python bench/gpu.py

Runs only where fastnn was built with nvcc, cupy is installed and a GPU is
visible; otherwise it says which of these is missing and exits cleanly.
Times are taken with CUDA events around many iterations, after warm-up.
"""
import sys

import numpy as np

import _common  # noqa: F401  (imports the installed fastnn, else the checkout's)
import fastnn
from fastnn import backend as fbackend
from fastnn import ops

SIZES = [784, 500, 300, 10]
BATCH = 128


def gpu_or_reason():
    """(cupy, None) if the cuda backend is usable, else (None, why not)."""
    cuda = fastnn._native._cuda
    if cuda is None:
        return None, "fastnn was built without CUDA (no nvcc at build time)"
    if cuda.device_count() == 0:
        return None, "no GPU is visible"
    if "cuda" not in fbackend.available():
        return None, f"cupy is not installed (pip install {fbackend.cupy_package()})"
    import cupy

    return cupy, None


def time_gpu(cupy, fn, iters=50):
    """Milliseconds per call, measured with CUDA events on the current stream."""
    for _ in range(5):
        fn()
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    start.record()
    for _ in range(iters):
        fn()
    stop.record()
    stop.synchronize()
    return cupy.cuda.get_elapsed_time(start, stop) / iters


def dense_step(cupy):
    rng = np.random.default_rng(0)
    model = fastnn.Sequential([fastnn.Dense(SIZES[1], activation="relu", input_shape=(SIZES[0],)),
                               fastnn.Dense(SIZES[2], activation="relu"),
                               fastnn.Dense(SIZES[3], activation="softmax")], device="cuda", seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=fastnn.SGD(0.01))
    xp = model.backend.xp
    x = xp.asarray(rng.standard_normal((BATCH, SIZES[0])).astype(np.float32))
    y = xp.asarray(rng.integers(0, 10, BATCH))
    return lambda: model.train_step_host(x, y)


def conv_fwd_bwd(cupy):
    x = cupy.random.standard_normal((128, 28, 28, 32), dtype=cupy.float32)
    W = cupy.random.standard_normal((3, 3, 32, 64), dtype=cupy.float32)
    b = cupy.zeros(64, cupy.float32)
    y = cupy.empty((128, 28, 28, 64), cupy.float32)
    ws = cupy.empty(ops.conv2d_workspace_size(x.shape, W.shape, padding="same", dtype=np.float32), cupy.float32)
    dx, dW, db = cupy.empty_like(x), cupy.empty_like(W), cupy.empty_like(b)

    def step():
        ops.conv2d_forward(x, W, b, padding="same", out=y, workspace=ws)
        ops.conv2d_backward(x, W, y, padding="same", dx=dx, dW=dW, db=db, workspace=ws)

    return step


def adam_step(cupy):
    n = 10_000_000
    w, g, m, v = (cupy.random.standard_normal(n, dtype=cupy.float32) for _ in range(4))
    v = cupy.abs(v)
    state = {"t": 0}

    def step():
        state["t"] += 1
        ops.optimizer_update("adam", w, g, m, v, lr=1e-3, rho=0.9, beta2=0.999, eps=1e-7, step=state["t"])

    return step


def torch_columns(cupy):
    try:
        import torch
    except ImportError:
        return {}
    if not torch.cuda.is_available():
        return {}
    nn = torch.nn
    dev = "cuda"
    mlp = nn.Sequential(nn.Linear(784, 500), nn.ReLU(), nn.Linear(500, 300), nn.ReLU(), nn.Linear(300, 10)).to(dev)
    opt = torch.optim.SGD(mlp.parameters(), lr=0.01)
    xt, yt = torch.randn(BATCH, 784, device=dev), torch.randint(0, 10, (BATCH,), device=dev)
    loss_fn = nn.CrossEntropyLoss()

    def dense():
        opt.zero_grad(set_to_none=False)
        loss_fn(mlp(xt), yt).backward()
        opt.step()

    conv = nn.Conv2d(32, 64, 3, padding=1).to(dev).to(memory_format=torch.channels_last)
    xc = torch.randn(128, 32, 28, 28, device=dev).to(memory_format=torch.channels_last).requires_grad_()

    def conv_step():
        conv(xc).backward(torch.ones(128, 64, 28, 28, device=dev).to(memory_format=torch.channels_last))

    p = torch.zeros(10_000_000, device=dev, requires_grad=True)
    p.grad = torch.randn_like(p)
    adam = torch.optim.Adam([p], lr=1e-3, fused=True)

    def torch_time(fn, iters=50):
        for _ in range(5):
            fn()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        stop.record()
        torch.cuda.synchronize()
        return start.elapsed_time(stop) / iters

    return {"dense": torch_time(dense), "conv": torch_time(conv_step), "adam": torch_time(adam.step)}


def main():
    cupy, why = gpu_or_reason()
    if cupy is None:
        print(f"bench/gpu.py skipped: {why}.")
        return 0
    dev = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    print(f"GPU: {dev['name'].decode()}, GEMM backend: {fastnn._native._cuda.gemm_backend()}")
    results = {"dense": time_gpu(cupy, dense_step(cupy)), "conv": time_gpu(cupy, conv_fwd_bwd(cupy)),
               "adam": time_gpu(cupy, adam_step(cupy))}
    torch_results = torch_columns(cupy)
    labels = {"dense": f"MLP 784-500-300-10 train step, batch {BATCH}", "conv": "conv 3x3 32->64, 128x28x28, fwd+bwd",
              "adam": "Adam step, 10M float32"}
    for key, ms in results.items():
        line = f"  {labels[key]:<42} fastnn {ms:8.3f} ms"
        if key in torch_results:
            line += f"   torch {torch_results[key]:8.3f} ms   ({torch_results[key] / ms:.2f}x)"
        print(line)
    gb = 7 * 4 * 10_000_000 / (results["adam"] / 1e3) / 1e9
    print(f"  Adam effective bandwidth: {gb:.0f} GB/s (7 float32 values moved per element)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
