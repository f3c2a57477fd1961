// Must be reported by AddressSanitizer when emulated: the last thread writes
// one element past the dynamic shared buffer. tests/test_emu_runtime.py
// builds it with -fsanitize=address and expects the report.
#include "emu/cuda_emu.h"

#include <cstdio>

__global__ void write_past_dynamic_shared(float* out) {
  FASTNN_DYNAMIC_SHARED(float, buffer);
  buffer[threadIdx.x + 1] = 1.0f;  // thread blockDim.x - 1 writes buffer[blockDim.x]
  __syncthreads();
  out[threadIdx.x] = buffer[threadIdx.x];
}

int main() {
  const int threads = 32;
  float* out = nullptr;
  if (cudaMalloc(&out, threads * sizeof(float)) != cudaSuccess) return 2;
  fastnn::launch(write_past_dynamic_shared, dim3(1), dim3(threads), threads * sizeof(float), nullptr, out);
  cudaDeviceSynchronize();
  cudaFree(out);
  std::printf("no out-of-bounds access was reported\n");
  return 0;
}
