// Device discovery for the CUDA module. A missing driver (error 35,
// cudaErrorInsufficientDriver) or no device means "no GPU", not a failure.
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "device_query.h"

namespace fastnn {

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  return n;
}

std::vector<CudaDeviceInfo> cuda_devices() {
  std::vector<CudaDeviceInfo> out;
  for (int i = 0, n = cuda_device_count(); i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    out.push_back({i, p.name, p.major, p.minor, static_cast<size_t>(p.totalGlobalMem), p.multiProcessorCount});
  }
  return out;
}

int cuda_runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return v;
}

}  // namespace fastnn
