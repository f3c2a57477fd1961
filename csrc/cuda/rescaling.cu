// Rescaling on the GPU: one element-wise grid-stride launch over the shared map.
#include "../ops/rescaling.h"

#include "../common/rescaling_math.h"
#include "common.cuh"

namespace fastnn {

// No __restrict__: out may alias in (each element is read, then written, by one thread).
template <class T>
__global__ void rescaling_kernel(const T* in, T* out, int64_t n, T scale, T offset) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = rescale(in[i], scale, offset);
}

template <class T>
void rescaling_apply(Cuda dev, const T* in, T* out, int64_t n, T scale, T offset) {
  if (n == 0) return;
  launch(rescaling_kernel<T>, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), in, out, n, scale, offset);
  FASTNN_CHECK_LAUNCH("rescaling_apply");
}

template void rescaling_apply<float>(Cuda, const float*, float*, int64_t, float, float);
template void rescaling_apply<double>(Cuda, const double*, double*, int64_t, double, double);

}  // namespace fastnn
