"""The CUDA emulator (csrc/emu) runs CUDA kernels on the CPU.

tests/emu/emu_selftest.cu is built with g++ in emulation mode and must pass,
plainly (with OpenMP, blocks on two OS threads) and under AddressSanitizer;
the two out-of-bounds programs must be caught by ASan; and nvcc must accept
the self-test as CUDA, so that the emulated source is real CUDA source.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EMU_DIR = REPO / "tests" / "emu"
EMU_RUNTIME = REPO / "csrc" / "emu" / "cuda_emu.cpp"
GXX = shutil.which("g++")
NVCC = shutil.which("nvcc")

pytestmark = pytest.mark.skipif(GXX is None, reason="g++ not found")

# What any .cu file needs to build in emulation mode.
EMU_FLAGS = ["-x", "c++", "-std=c++17", "-DFASTNN_CUDA_EMU", f"-I{REPO / 'csrc'}"]
WARNINGS = ["-Wall", "-Wextra", "-Werror"]
ASAN_FLAGS = ["-fsanitize=address", "-fno-omit-frame-pointer"]

BUILDS = {  # name: (source, extra flags)
    "selftest": ("emu_selftest.cu", ["-O1", "-fopenmp"]),
    "selftest_asan": ("emu_selftest.cu", ["-O1", *ASAN_FLAGS]),
    "oob_shared_asan": ("oob_shared.cu", ["-O1", *ASAN_FLAGS]),
    "oob_global_asan": ("oob_global.cu", ["-O1", *ASAN_FLAGS]),
}


@pytest.fixture(scope="module")
def binaries(tmp_path_factory):
    """Builds every program at once (the builds dominate this file's time)."""
    out_dir = tmp_path_factory.mktemp("emu")
    running = {}
    for name, (source, flags) in BUILDS.items():
        command = [GXX, *EMU_FLAGS, *WARNINGS, *flags, str(EMU_DIR / source), str(EMU_RUNTIME),
                   "-o", str(out_dir / name)]
        running[name] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    failures = []
    for name, process in running.items():
        output, _ = process.communicate()
        if process.returncode != 0:
            failures.append(f"{name}:\n{output}")
    assert not failures, "build failed:\n" + "\n".join(failures)
    return {name: out_dir / name for name in BUILDS}


def run(binary, *args, **env):
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def test_selftest_passes_with_blocks_on_two_os_threads(binaries):
    result = run(binaries["selftest"], FASTNN_EMU_THREADS="2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout


def test_selftest_passes_under_address_sanitizer(binaries):
    result = run(binaries["selftest_asan"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "AddressSanitizer" not in result.stderr


@pytest.mark.parametrize("program", ["oob_shared_asan", "oob_global_asan"])
def test_out_of_bounds_kernel_access_is_reported(binaries, program):
    result = run(binaries[program])
    assert result.returncode != 0, result.stdout
    assert "AddressSanitizer" in result.stderr
    assert "heap-buffer-overflow" in result.stderr


def test_threads_exiting_before_a_barrier_abort_with_a_message(binaries):
    result = run(binaries["selftest"], "--divergent-barrier")
    assert result.returncode != 0
    assert "deadlock in block (0, 0, 0)" in result.stderr
    assert "16 wait at __syncthreads()" in result.stderr and "16 have exited" in result.stderr


@pytest.mark.skipif(NVCC is None, reason="nvcc not found")
def test_selftest_is_valid_cuda(tmp_path):
    command = [NVCC, "-c", "-std=c++17", "-arch=sm_80", f"-I{REPO / 'csrc'}", "-Xptxas", "-v",
               "--Werror", "all-warnings", str(EMU_DIR / "emu_selftest.cu"), "-o", str(tmp_path / "selftest.o")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
