// Must be reported by AddressSanitizer when emulated: the bounds check is off
// by one, so the last thread writes one element past a cudaMalloc'd buffer.
// tests/test_emu_runtime.py builds it with -fsanitize=address and expects the
// report.
#include "emu/cuda_emu.h"

#include <cstdio>

__global__ void fill_one_too_many(float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i <= n) out[i] = 1.0f;
}

int main() {
  const int n = 100, threads = 64;
  float* out = nullptr;
  if (cudaMalloc(&out, n * sizeof(float)) != cudaSuccess) return 2;
  fastnn::launch(fill_one_too_many, dim3((n + threads) / threads), dim3(threads), 0, nullptr, out, n);
  cudaDeviceSynchronize();
  cudaFree(out);
  std::printf("no out-of-bounds access was reported\n");
  return 0;
}
