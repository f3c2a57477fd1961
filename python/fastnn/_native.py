"""Loads the compiled modules.

OpenBLAS (from the scipy-openblas32 wheel) is loaded first by its full path,
so that ``fastnn._C`` finds it however fastnn was installed (wheel, editable
install or a build tree).
"""
import ctypes
import os

import scipy_openblas32

ctypes.CDLL(
    os.path.join(scipy_openblas32.get_lib_dir(), "lib" + scipy_openblas32.get_library() + ".so"),
    mode=ctypes.RTLD_GLOBAL,
)

from . import _C  # noqa: E402

try:
    from . import _cuda
except ImportError:  # built without nvcc
    _cuda = None

try:
    from . import _cuda_emu
except ImportError:  # built with FASTNN_CUDA_EMU=OFF
    _cuda_emu = None
