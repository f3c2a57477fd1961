// The merge ops on the CPU. Element-wise merges walk their elements in blocks
// that stay in L1 and make one simple loop per input over each block (y = x0 op
// x1, then y = y op xk), so each loop vectorizes; a loop whose body ran over the
// input list would not.
#include "../ops/merge.h"

#include <algorithm>

#include "parallel.h"
#include "simd_clones.h"

namespace fastnn {
namespace {

constexpr int64_t kBlock = 1024;  // elements per block: y's block and one input's fit in L1 together

// y = a (op) b; a may be y.
template <class T>
FASTNN_SIMD_CLONES void combine(MergeKind kind, const T* a, const T* b, T* y, int64_t m) {
  switch (kind) {
    case MergeKind::Subtract: for (int64_t i = 0; i < m; ++i) y[i] = a[i] - b[i]; break;
    case MergeKind::Multiply: for (int64_t i = 0; i < m; ++i) y[i] = a[i] * b[i]; break;
    case MergeKind::Maximum: for (int64_t i = 0; i < m; ++i) y[i] = merge_max(a[i], b[i]); break;
    default: for (int64_t i = 0; i < m; ++i) y[i] = a[i] + b[i];  // Add, Average
  }
}

template <class T>
FASTNN_SIMD_CLONES void divide(const T* x, T* y, int64_t m, T divisor) {
  for (int64_t i = 0; i < m; ++i) y[i] = x[i] / divisor;
}

template <class T>
FASTNN_SIMD_CLONES void product_of_others(const MergeArrays<const T>& xs, int skip, const T* dy, T* dx, int64_t at,
                                          int64_t m) {
  const T* from = dy + at;  // dy, then the running product in dx
  for (int j = 0; j < xs.count; ++j) {
    if (j == skip) continue;
    const T* x = xs.p[j] + at;
    for (int64_t i = 0; i < m; ++i) dx[i] = from[i] * x[i];
    from = dx;
  }
  if (from != dx) std::copy_n(from, m, dx);  // a single input: its gradient is dy
}

// winner[i] = the first input holding the maximum of element at + i.
template <class T>
FASTNN_SIMD_CLONES void max_winners(const MergeArrays<const T>& xs, int64_t at, int64_t m, T* best, int32_t* winner) {
  std::copy_n(xs.p[0] + at, m, best);
  std::fill_n(winner, m, 0);
  for (int k = 1; k < xs.count; ++k) {
    const T* x = xs.p[k] + at;
    for (int64_t i = 0; i < m; ++i) {
      const bool wins = merge_max_wins(x[i], best[i]);
      best[i] = wins ? x[i] : best[i];
      winner[i] = wins ? k : winner[i];
    }
  }
}

template <class T>
FASTNN_SIMD_CLONES void route(const int32_t* winner, int32_t k, const T* dy, T* dx, int64_t m) {
  for (int64_t i = 0; i < m; ++i) dx[i] = winner[i] == k ? dy[i] : T(0);
}

// Calls body(at, m) for blocks [at, at + m) of [0, n), on the threads when the work is large.
template <class F>
void for_blocks(int64_t n, int64_t work, F&& body) {
  cpu::for_ranges(n, work, [&](int64_t lo, int64_t hi) {
    for (int64_t at = lo; at < hi; at += kBlock) body(at, std::min(kBlock, hi - at));
  });
}

}  // namespace

template <class T>
void merge_forward(Cpu, MergeKind kind, const MergeArrays<const T>& xs, T* y, int64_t n) {
  for_blocks(n, n * xs.count, [&](int64_t at, int64_t m) {
    if (xs.count == 1) std::copy_n(xs.p[0] + at, m, y + at);
    for (int k = 1; k < xs.count; ++k) combine(kind, k == 1 ? xs.p[0] + at : y + at, xs.p[k] + at, y + at, m);
    if (kind == MergeKind::Average) divide(y + at, y + at, m, T(xs.count));
  });
}

template <class T>
void merge_backward(Cpu, MergeKind kind, const MergeArrays<const T>& xs, const T* dy, const MergeArrays<T>& dxs,
                    int64_t n) {
  if (kind == MergeKind::Multiply) {
    for_blocks(n, n * xs.count * xs.count, [&](int64_t at, int64_t m) {
      for (int i = 0; i < xs.count; ++i) product_of_others(xs, i, dy, dxs.p[i] + at, at, m);
    });
    return;
  }
  for_blocks(n, n * xs.count * 2, [&](int64_t at, int64_t m) {  // Maximum
    T best[kBlock];
    int32_t winner[kBlock];
    max_winners(xs, at, m, best, winner);
    for (int i = 0; i < xs.count; ++i) route(winner, i, dy + at, dxs.p[i] + at, m);
  });
}

template <class T>
void merge_divide(Cpu, const T* dy, T* dx, int64_t n, T divisor) {
  for_blocks(n, n, [&](int64_t at, int64_t m) { divide(dy + at, dx + at, m, divisor); });
}

// Concatenation is copies of row segments; rows go to the threads.
template <class T>
void concatenate_forward(Cpu, const ConcatGeometry& g, const MergeArrays<const T>& xs, T* y) {
#pragma omp parallel for if (g.outer * g.row > cpu::kParallelMin)
  for (int64_t r = 0; r < g.outer; ++r)
    for (int i = 0; i < g.count; ++i) {
      const int64_t width = g.offset[i + 1] - g.offset[i];
      std::copy_n(xs.p[i] + r * width, width, y + r * g.row + g.offset[i]);
    }
}

template <class T>
void concatenate_backward(Cpu, const ConcatGeometry& g, const T* dy, const MergeArrays<T>& dxs) {
#pragma omp parallel for if (g.outer * g.row > cpu::kParallelMin)
  for (int64_t r = 0; r < g.outer; ++r)
    for (int i = 0; i < g.count; ++i) {
      const int64_t width = g.offset[i + 1] - g.offset[i];
      std::copy_n(dy + r * g.row + g.offset[i], width, dxs.p[i] + r * width);
    }
}

#define INSTANTIATE(T)                                                                                 \
  template void merge_forward<T>(Cpu, MergeKind, const MergeArrays<const T>&, T*, int64_t);                 \
  template void merge_backward<T>(Cpu, MergeKind, const MergeArrays<const T>&, const T*, const MergeArrays<T>&, \
                                  int64_t);                                                                   \
  template void merge_divide<T>(Cpu, const T*, T*, int64_t, T);                                               \
  template void concatenate_forward<T>(Cpu, const ConcatGeometry&, const MergeArrays<const T>&, T*);          \
  template void concatenate_backward<T>(Cpu, const ConcatGeometry&, const T*, const MergeArrays<T>&);
INSTANTIATE(float)
INSTANTIATE(double)
#undef INSTANTIATE

}  // namespace fastnn
