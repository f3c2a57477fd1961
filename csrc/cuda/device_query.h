// What the CUDA module reports about the GPUs it can see.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace fastnn {

struct CudaDeviceInfo {
  int index;
  std::string name;
  int major, minor;  // compute capability
  size_t total_memory;
  int multiprocessors;
};

int cuda_device_count();  // 0 when there is no driver or no device
std::vector<CudaDeviceInfo> cuda_devices();
int cuda_runtime_version();

}  // namespace fastnn
