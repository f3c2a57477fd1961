// Shared by every CUDA kernel file: the portability/emulation header, launch
// error checks and grid sizing. Compiled by nvcc, or by g++ in emulation.
#pragma once
#include "emu/cuda_emu.h"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "../common/device.h"

namespace fastnn::cuda {

inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

// Every launch is followed by this: a bad configuration fails here, loudly.
#define FASTNN_CHECK_LAUNCH(name) ::fastnn::cuda::check(cudaGetLastError(), name)

inline cudaStream_t stream_of(const Cuda& dev) { return static_cast<cudaStream_t>(dev.stream); }

constexpr int kThreads = 256;  // threads per block of element-wise kernels

// Blocks for a grid-stride loop over n elements (capped: each thread loops).
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : b > 65535 ? 65535 : b);
}

}  // namespace fastnn::cuda
