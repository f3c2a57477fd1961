"""Backends: where arrays live and which kernels run on them.

A backend pairs an array module (``numpy`` or ``cupy``) with a kernel module
whose functions all share one interface (``dense_forward``,
``softmax_forward``, ...). Layers and ``fastnn.ops`` call kernels only
through a backend, so the same model code runs on every backend:

* ``cpu``: numpy arrays, C++/OpenMP kernels with OpenBLAS GEMM (``fastnn._C``).
* ``cuda``: cupy arrays, the CUDA kernels (``fastnn._cuda``), launched on
  cupy's current stream; present when fastnn was built with nvcc, cupy is
  installed and a GPU is visible.
* ``cuda-emu``: numpy arrays, the very same CUDA kernel sources compiled by
  g++ and run on the CPU by fastnn's emulator (``fastnn._cuda_emu``): slow,
  but it executes every GPU kernel on machines without a GPU (tests, CI).

Arrays are plain ``numpy.ndarray`` (and ``cupy.ndarray`` on the GPU); there is
no tensor class of fastnn's own.
"""
from __future__ import annotations

import numpy as np

from ._native import _C, _cuda, _cuda_emu


class Backend:
    """An array module plus the kernel module that computes on its arrays."""

    def __init__(self, name: str, xp, kernels):
        self.name = name
        self.xp = xp
        self.kernels = kernels

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"

    def owns(self, a) -> bool:
        """True if ``a`` is an array of this backend's array module."""
        return isinstance(a, self.xp.ndarray)

    def contiguous(self, a):
        """``a`` itself if C-contiguous, else a C-contiguous copy.

        Anything that is not one of this backend's arrays is passed through
        unchanged, so the kernel's own check rejects it with a clear error.
        """
        if self.owns(a) and not a.flags.c_contiguous:
            return self.xp.ascontiguousarray(a)
        return a

    def empty(self, shape, dtype):
        return self.xp.empty(shape, dtype=dtype)

    def zeros(self, shape, dtype):
        return self.xp.zeros(shape, dtype=dtype)


class Buffers:
    """Arrays reused across training steps, one per (name, shape, dtype).

    Layers, losses and models draw their activations, gradients and
    workspaces from one of these, so a step in steady state allocates nothing:
    the first batch of a shape allocates, later ones reuse.
    """

    def __init__(self):
        self._arrays = {}

    def get(self, backend, name, shape, dtype):
        key = (backend.name, name, tuple(shape), np.dtype(dtype))
        array = self._arrays.get(key)
        if array is None:
            array = self._arrays[key] = backend.empty(shape, dtype)
        return array


CPU = Backend("cpu", np, _C)
_BACKENDS = {"cpu": CPU}
if _cuda_emu is not None:
    _BACKENDS["cuda-emu"] = Backend("cuda-emu", np, _cuda_emu)


def _cuda_backend():
    """The cuda backend, or None (no CUDA build, no cupy, or no GPU)."""
    if _cuda is None or _cuda.device_count() == 0:
        return None
    try:
        import cupy
    except ImportError:
        return None
    # GEMMs go to cuBLAS through cupy's handle (the library cupy loaded);
    # fastnn._cuda.set_gemm_backend("tiled") selects fastnn's own kernel.
    _cuda.set_cublas(cupy.cuda.device.get_cublas_handle())
    return Backend("cuda", cupy, _cuda)


_cuda_be = _cuda_backend()
if _cuda_be is not None:
    _BACKENDS["cuda"] = _cuda_be


def get(backend) -> Backend:
    """The backend named ``backend`` (a string), or ``backend`` if already one."""
    if isinstance(backend, Backend):
        return backend
    if not isinstance(backend, str):
        raise TypeError(f"backend: expected a name like 'cpu' or a Backend, got {type(backend).__name__}")
    try:
        return _BACKENDS[backend]
    except KeyError:
        hint = ""
        if backend == "cuda":
            hint = (" (cuda needs fastnn built with nvcc (FASTNN_CUDA=ON), a GPU, and cupy: "
                    f"pip install {cupy_package() or 'cupy-cuda13x'})"
                    if _cuda is None or _cuda.device_count() else " (no GPU is visible)")
        raise ValueError(
            f"backend: unknown or unavailable backend {backend!r}{hint}; available here: {', '.join(sorted(_BACKENDS))}"
        ) from None


def cuda_version():
    """``(major, minor)`` of the CUDA toolkit ``fastnn._cuda`` was built with, or None if it was not built."""
    if _cuda is None:
        return None
    version = _cuda.runtime_version()
    return version // 1000, version % 1000 // 10


def cupy_package():
    """The cupy wheel for fastnn's CUDA build (``'cupy-cuda13x'``), or None if CUDA was not built."""
    version = cuda_version()
    return None if version is None else f"cupy-cuda{version[0]}x"


def available() -> list[str]:
    """Names of the backends usable in this process."""
    return sorted(_BACKENDS)


def resolve(backend, *arrays) -> Backend:
    """``backend`` if given, else the backend that owns the first array."""
    if backend is not None:
        return get(backend)
    for a in arrays:
        for be in _BACKENDS.values():
            if be.owns(a) and be.xp is not np:
                return be
    return CPU
