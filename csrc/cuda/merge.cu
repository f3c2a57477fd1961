// The merge ops on the GPU: one thread per element in grid-stride loops. A
// thread walks the (few) inputs of its element, so an N-ary merge reads each
// input once and writes y once; consecutive threads touch consecutive
// elements of every array, so all accesses coalesce. Concatenation in both
// directions maps each output element to its one source (no atomics).
#include "../ops/merge.h"

#include "common.cuh"

namespace fastnn {

#define FOR_EACH_ELEMENT(e, n) \
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < (n); e += int64_t(gridDim.x) * blockDim.x)

template <class T>
__global__ void merge_forward_kernel(MergeKind kind, MergeArrays<const T> xs, T* __restrict__ y, int64_t n) {
  FOR_EACH_ELEMENT(e, n) {
    T acc = xs.p[0][e];
    for (int k = 1; k < xs.count; ++k) {
      const T v = xs.p[k][e];
      switch (kind) {
        case MergeKind::Subtract: acc -= v; break;
        case MergeKind::Multiply: acc *= v; break;
        case MergeKind::Maximum: acc = merge_max(acc, v); break;
        default: acc += v;  // Add, Average
      }
    }
    y[e] = kind == MergeKind::Average ? acc / T(xs.count) : acc;
  }
}

template <class T>
__global__ void multiply_backward_kernel(MergeArrays<const T> xs, const T* __restrict__ dy, MergeArrays<T> dxs,
                                         int64_t n) {
  FOR_EACH_ELEMENT(e, n) {
    for (int i = 0; i < xs.count; ++i) {
      T g = dy[e];
      for (int j = 0; j < xs.count; ++j)
        if (j != i) g *= xs.p[j][e];  // the repeated reads of an element hit L1
      dxs.p[i][e] = g;
    }
  }
}

template <class T>
__global__ void maximum_backward_kernel(MergeArrays<const T> xs, const T* __restrict__ dy, MergeArrays<T> dxs,
                                        int64_t n) {
  FOR_EACH_ELEMENT(e, n) {
    T best = xs.p[0][e];
    int winner = 0;
    for (int k = 1; k < xs.count; ++k) {
      const T v = xs.p[k][e];
      if (merge_max_wins(v, best)) best = v, winner = k;
    }
    const T g = dy[e];
    for (int i = 0; i < xs.count; ++i) dxs.p[i][e] = i == winner ? g : T(0);
  }
}

// No __restrict__: dx may be dy (each element is read, then written, by one thread).
template <class T>
__global__ void merge_divide_kernel(const T* dy, T* dx, T divisor, int64_t n) {
  FOR_EACH_ELEMENT(e, n) dx[e] = dy[e] / divisor;
}

template <class T>
__global__ void concatenate_forward_kernel(ConcatGeometry g, MergeArrays<const T> xs, T* __restrict__ y, int64_t n) {
  FOR_EACH_ELEMENT(e, n) {
    const int64_t r = e / g.row, c = e % g.row;
    const int i = concat_input_of(g, c);
    y[e] = xs.p[i][r * (g.offset[i + 1] - g.offset[i]) + c - g.offset[i]];
  }
}

template <class T>
__global__ void concatenate_backward_kernel(ConcatGeometry g, const T* __restrict__ dy, MergeArrays<T> dxs,
                                            int64_t n) {
  FOR_EACH_ELEMENT(e, n) {
    const int64_t r = e / g.row, c = e % g.row;
    const int i = concat_input_of(g, c);
    dxs.p[i][r * (g.offset[i + 1] - g.offset[i]) + c - g.offset[i]] = dy[e];
  }
}

#undef FOR_EACH_ELEMENT

// Launches kernel(args..., n) over n elements; n == 0 launches nothing.
template <class Kernel, class... Args>
static void launch_elements(const char* name, const Cuda& dev, int64_t n, Kernel kernel, Args... args) {
  if (n == 0) return;
  launch(kernel, cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream_of(dev), args..., n);
  FASTNN_CHECK_LAUNCH(name);
}

template <class T>
void merge_forward(Cuda dev, MergeKind kind, const MergeArrays<const T>& xs, T* y, int64_t n) {
  launch_elements("merge_forward", dev, n, merge_forward_kernel<T>, kind, xs, y);
}

template <class T>
void merge_backward(Cuda dev, MergeKind kind, const MergeArrays<const T>& xs, const T* dy, const MergeArrays<T>& dxs,
                    int64_t n) {
  if (kind == MergeKind::Multiply)
    launch_elements("multiply_backward", dev, n, multiply_backward_kernel<T>, xs, dy, dxs);
  else
    launch_elements("maximum_backward", dev, n, maximum_backward_kernel<T>, xs, dy, dxs);
}

template <class T>
void merge_divide(Cuda dev, const T* dy, T* dx, int64_t n, T divisor) {
  launch_elements("merge_divide", dev, n, merge_divide_kernel<T>, dy, dx, divisor);
}

template <class T>
void concatenate_forward(Cuda dev, const ConcatGeometry& g, const MergeArrays<const T>& xs, T* y) {
  launch_elements("concatenate_forward", dev, g.outer * g.row, concatenate_forward_kernel<T>, g, xs, y);
}

template <class T>
void concatenate_backward(Cuda dev, const ConcatGeometry& g, const T* dy, const MergeArrays<T>& dxs) {
  launch_elements("concatenate_backward", dev, g.outer * g.row, concatenate_backward_kernel<T>, g, dy, dxs);
}

#define INSTANTIATE(T)                                                                                         \
  template void merge_forward<T>(Cuda, MergeKind, const MergeArrays<const T>&, T*, int64_t);                 \
  template void merge_backward<T>(Cuda, MergeKind, const MergeArrays<const T>&, const T*, const MergeArrays<T>&, \
                                  int64_t);                                                                    \
  template void merge_divide<T>(Cuda, const T*, T*, int64_t, T);                                               \
  template void concatenate_forward<T>(Cuda, const ConcatGeometry&, const MergeArrays<const T>&, T*);          \
  template void concatenate_backward<T>(Cuda, const ConcatGeometry&, const T*, const MergeArrays<T>&);
INSTANTIATE(float)
INSTANTIATE(double)
#undef INSTANTIATE

}  // namespace fastnn
