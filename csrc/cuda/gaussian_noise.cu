// Gaussian noise on the GPU: one thread per Philox call, i.e. per group of 4
// consecutive elements (two Box-Muller pairs), in a grid-stride loop, from
// the same header as the CPU's (common/gaussian_noise_math.h).
#include "../ops/gaussian_noise.h"

#include "../common/gaussian_noise_math.h"
#include "common.cuh"

namespace fastnn {

// No __restrict__: y may alias x (each element is read, then written, by one thread).
template <class T>
__global__ void gaussian_noise_kernel(const T* x, T* y, int64_t n, T stddev, uint64_t seed, uint64_t step) {
  const int64_t groups = (n + 3) / 4;
  for (int64_t g = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; g < groups; g += int64_t(gridDim.x) * blockDim.x) {
    T z[4] = {};
    if (stddev != T(0)) {  // stddev 0: an exact copy, drawing nothing (as on the CPU)
      const Philox4x32 r = philox_stream(seed, step, uint64_t(g));
      box_muller(r.v[0], r.v[1], z[0], z[1]);
      box_muller(r.v[2], r.v[3], z[2], z[3]);
    }
    FASTNN_UNROLL
    for (int j = 0; j < 4; ++j) {
      const int64_t i = 4 * g + j;
      if (i < n) y[i] = stddev != T(0) ? x[i] + stddev * z[j] : x[i];
    }
  }
}

template <class T>
void gaussian_noise_add(Cuda dev, const T* x, T* y, int64_t n, double stddev, uint64_t seed, uint64_t step) {
  if (n == 0 || (stddev == 0 && y == x)) return;
  launch(gaussian_noise_kernel<T>, cuda::blocks_for((n + 3) / 4), cuda::kThreads, 0, cuda::stream_of(dev), x, y, n,
         T(stddev), gaussian_noise_seed(seed), step);
  FASTNN_CHECK_LAUNCH("gaussian_noise_add");
}

template void gaussian_noise_add<float>(Cuda, const float*, float*, int64_t, double, uint64_t, uint64_t);
template void gaussian_noise_add<double>(Cuda, const double*, double*, int64_t, double, uint64_t, uint64_t);

}  // namespace fastnn
