// Gradient clipping on the GPU, two launches and no floating-point atomics:
//   1. (norm modes) block r sums the squared regularized gradient of range r
//      in double, its threads' sums combined by a fixed shared-memory tree,
//      into sq[r];
//   2. blockIdx.y = range r, a grid-stride loop over the range; each thread
//      forms the range's scale from sq (the global one sums sq in order), so
//      the host never waits for the norms.
// One block per range in step 1: the ranges are a model's parameter tensors,
// few and each streamed once, so the launch stays bandwidth-bound without a
// second reduction stage.
#include "../ops/gradient_clip.h"

#include "common.cuh"

namespace fastnn {

using cuda::kThreads;

template <class T>
__global__ void range_squared_norms_kernel(const T* __restrict__ w, const T* __restrict__ g,
                                           const int64_t* __restrict__ ranges, const T* __restrict__ l1,
                                           const T* __restrict__ l2, double* __restrict__ sq) {
  __shared__ double part[kThreads];
  const int64_t r = blockIdx.x, lo = ranges[2 * r], hi = ranges[2 * r + 1];
  double s = 0;
  for (int64_t i = lo + threadIdx.x; i < hi; i += kThreads) {
    const double v = regularized_gradient(g[i], w[i], l1[r], l2[r]);
    s += v * v;
  }
  part[threadIdx.x] = s;
  __syncthreads();
  for (int k = kThreads / 2; k > 0; k >>= 1) {
    if (int(threadIdx.x) < k) part[threadIdx.x] += part[threadIdx.x + k];
    __syncthreads();
  }
  if (threadIdx.x == 0) sq[r] = part[0];
}

template <class T>
__global__ void clip_gradients_kernel(ClipMode mode, double clip, const T* __restrict__ w, T* __restrict__ g,
                                      const int64_t* __restrict__ ranges, const T* __restrict__ l1,
                                      const T* __restrict__ l2, const double* __restrict__ sq, int64_t R) {
  const int64_t r = blockIdx.y, lo = ranges[2 * r], hi = ranges[2 * r + 1];
  double scale = 1.0;
  if (mode == ClipMode::Norm) {
    scale = clip_norm_scale(sq[r], clip);
  } else if (mode == ClipMode::GlobalNorm) {
    double total = 0;
    for (int64_t k = 0; k < R; ++k) total += sq[k];
    scale = clip_norm_scale(total, clip);
  }
  for (int64_t i = lo + blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < hi; i += int64_t(gridDim.x) * blockDim.x)
    g[i] = clipped_gradient(mode, regularized_gradient(g[i], w[i], l1[r], l2[r]), scale, T(clip));
}

__global__ void zero_kernel(double* sq, int64_t R) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < R; i += int64_t(gridDim.x) * blockDim.x)
    sq[i] = 0;
}

template <class T>
void clip_gradients(Cuda dev, ClipMode mode, double clip, const T* w, T* g, const int64_t* ranges, const T* l1,
                    const T* l2, double* sq, int64_t R) {
  if (R == 0) return;
  if (mode == ClipMode::Value)
    launch(zero_kernel, cuda::blocks_for(R), kThreads, 0, cuda::stream_of(dev), sq, R);
  else
    launch(range_squared_norms_kernel<T>, dim3(unsigned(R)), kThreads, 0, cuda::stream_of(dev), w, g, ranges, l1, l2,
           sq);
  // Blocks along x cover the largest range the host cannot see (ranges live
  // on the device): a fixed count, the loop strides over the rest.
  launch(clip_gradients_kernel<T>, dim3(64, unsigned(R)), kThreads, 0, cuda::stream_of(dev), mode, clip, w, g, ranges,
         l1, l2, sq, R);
  FASTNN_CHECK_LAUNCH("clip_gradients");
}

template void clip_gradients<float>(Cuda, ClipMode, double, const float*, float*, const int64_t*, const float*,
                                    const float*, double*, int64_t);
template void clip_gradients<double>(Cuda, ClipMode, double, const double*, double*, const int64_t*, const double*,
                                     const double*, double*, int64_t);

}  // namespace fastnn
