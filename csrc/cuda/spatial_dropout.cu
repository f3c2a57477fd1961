// SpatialDropout2D on the GPU: one thread per element in a grid-stride loop,
// each drawing its (sample, channel) unit's Philox word itself. The HW
// elements of a unit repeat the draw, but it is ALU work on a memory-bound
// pass and needs no mask buffer; the bits come from the header the CPU uses,
// so the mask is identical on every device.
#include "../ops/spatial_dropout.h"

#include "../common/spatial_dropout_math.h"
#include "common.cuh"

namespace fastnn {

// No __restrict__: out may alias in (each element is read, then written, by one thread).
template <class T>
__global__ void spatial_dropout_kernel(const T* in, T* out, int64_t n, int64_t HW, int64_t C, uint32_t threshold,
                                       T scale, uint64_t seed, uint64_t step) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const bool keep = spatial_dropout_keep(seed, step, spatial_dropout_unit(i, HW, C), threshold);
    out[i] = in[i] * (keep ? scale : T(0));
  }
}

template <class T>
void spatial_dropout_apply(Cuda dev, const T* in, T* out, int64_t N, int64_t HW, int64_t C, double p, uint64_t seed,
                           uint64_t step) {
  const int64_t n = N * HW * C;
  const uint32_t threshold = dropout_threshold(p);
  if (n == 0 || (threshold == 0 && out == in)) return;
  launch(spatial_dropout_kernel<T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), in, out, n, HW, C,
         threshold, T(threshold ? 1.0 / (1.0 - p) : 1.0), seed, step);
  FASTNN_CHECK_LAUNCH("spatial_dropout_apply");
}

template void spatial_dropout_apply<float>(Cuda, const float*, float*, int64_t, int64_t, int64_t, double, uint64_t,
                                           uint64_t);
template void spatial_dropout_apply<double>(Cuda, const double*, double*, int64_t, int64_t, int64_t, double, uint64_t,
                                            uint64_t);

}  // namespace fastnn
