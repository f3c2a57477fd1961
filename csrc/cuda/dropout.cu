// Dropout on the GPU: one thread per Philox call, i.e. per group of 4
// consecutive elements (common/dropout_math.h), in a grid-stride loop. The
// bits come from the same header as the CPU's, so the mask is identical bit
// for bit on every device; so is the output, a single multiply in T.
#include "../ops/dropout.h"

#include "../common/dropout_math.h"
#include "common.cuh"

namespace fastnn {

// Calls f(i, keep) for the up to 4 elements 0 <= i < n (stream element
// first + i) of each Philox group this thread owns. threshold == 0 (p = 0)
// keeps every element without drawing.
template <class F>
__device__ __forceinline__ void for_each_group(int64_t n, uint64_t seed, uint64_t step, uint64_t first,
                                               uint32_t threshold, F&& f) {
  const uint64_t g_begin = first / 4;
  const int64_t groups = int64_t((first + uint64_t(n) + 3) / 4 - g_begin);
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < groups; k += int64_t(gridDim.x) * blockDim.x) {
    const uint64_t g = g_begin + uint64_t(k);
    const Philox4x32 r = threshold ? philox_stream(seed, step, g) : Philox4x32{};
    FASTNN_UNROLL
    for (int j = 0; j < 4; ++j) {
      const int64_t i = int64_t(4 * g + j - first);  // wraps to < 0 before first: skipped
      if (i >= 0 && i < n) f(i, threshold == 0 || dropout_keep(r.v[j], threshold));
    }
  }
}

// No __restrict__: out may alias in (each element is read, then written, by one thread).
template <class T>
__global__ void dropout_apply_kernel(const T* in, T* out, int64_t n, uint32_t threshold, T scale, uint64_t seed,
                                     uint64_t step, uint64_t first) {
  // in * (keep ? scale : 0), as on the CPU: a dropped inf or nan gives nan.
  for_each_group(n, seed, step, first, threshold, [&](int64_t i, bool keep) { out[i] = in[i] * (keep ? scale : T(0)); });
}

__global__ void dropout_mask_kernel(uint8_t* __restrict__ mask, int64_t n, uint32_t threshold, uint64_t seed,
                                    uint64_t step, uint64_t first) {
  for_each_group(n, seed, step, first, threshold, [&](int64_t i, bool keep) { mask[i] = keep; });
}

template <class T>
void dropout_apply(Cuda dev, const T* in, T* out, int64_t n, double p, uint64_t seed, uint64_t step,
                   uint64_t first) {
  const uint32_t threshold = dropout_threshold(p);
  // p = 0 keeps every unit at scale 1: nothing to do in place, else a copy
  // (the kernel then skips the generator).
  if (n == 0 || (threshold == 0 && out == in)) return;
  launch(dropout_apply_kernel<T>, cuda::blocks_for((first % 4 + n + 3) / 4), cuda::kThreads, 0, cuda::stream_of(dev), in, out, n,
         threshold, T(1.0 / (1.0 - p)), seed, step, first);
  FASTNN_CHECK_LAUNCH("dropout_apply");
}

void dropout_mask(Cuda dev, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t step, uint64_t first) {
  if (n == 0) return;
  launch(dropout_mask_kernel, cuda::blocks_for((first % 4 + n + 3) / 4), cuda::kThreads, 0, cuda::stream_of(dev), mask, n,
         dropout_threshold(p), seed, step, first);
  FASTNN_CHECK_LAUNCH("dropout_mask");
}

template void dropout_apply<float>(Cuda, const float*, float*, int64_t, double, uint64_t, uint64_t, uint64_t);
template void dropout_apply<double>(Cuda, const double*, double*, int64_t, double, uint64_t, uint64_t, uint64_t);

}  // namespace fastnn
