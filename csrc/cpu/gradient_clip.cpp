// Gradient clipping on the CPU: the squared norm of each range is summed in
// double over fixed chunks (in parallel, each chunk in SIMD lanes) and the
// chunks added in order, so the result does not depend on the thread count;
// then one parallel pass per range writes the clipped gradient.
#include "../ops/gradient_clip.h"

#include <vector>

#include "parallel.h"

namespace fastnn {

constexpr int64_t kChunk = 1 << 13;

template <class T>
static double range_squared_norm(const T* w, const T* g, int64_t lo, int64_t hi, T l1, T l2) {
  const int64_t chunks = (hi - lo + kChunk - 1) / kChunk;
  std::vector<double> partial(chunks);
#pragma omp parallel for if (hi - lo > cpu::kParallelMin)
  for (int64_t c = 0; c < chunks; ++c) {
    double s = 0;
    const int64_t end = lo + (c + 1) * kChunk < hi ? lo + (c + 1) * kChunk : hi;
    // Vector lanes' partial sums: an order fixed by the build, not by the thread count.
#pragma omp simd reduction(+ : s)
    for (int64_t i = lo + c * kChunk; i < end; ++i) {
      const double r = regularized_gradient(g[i], w[i], l1, l2);
      s += r * r;
    }
    partial[c] = s;
  }
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

template <class T>
void clip_gradients(Cpu, ClipMode mode, double clip, const T* w, T* g, const int64_t* ranges, const T* l1,
                    const T* l2, double* sq, int64_t R) {
  double total = 0;
  for (int64_t r = 0; r < R; ++r) {
    sq[r] = mode == ClipMode::Value ? 0.0 : range_squared_norm(w, g, ranges[2 * r], ranges[2 * r + 1], l1[r], l2[r]);
    total += sq[r];
  }
  for (int64_t r = 0; r < R; ++r) {
    const double scale = mode == ClipMode::Norm ? clip_norm_scale(sq[r], clip)
                         : mode == ClipMode::GlobalNorm ? clip_norm_scale(total, clip)
                                                        : 1.0;
    const int64_t lo = ranges[2 * r], hi = ranges[2 * r + 1];
    const T a = l1[r], b = l2[r], c = T(clip);
    // One loop per mode, each branch-free, so both vectorize.
    if (mode == ClipMode::Value) {
#pragma omp parallel for simd if (hi - lo > cpu::kParallelMin)
      for (int64_t i = lo; i < hi; ++i) g[i] = clip_by_value(regularized_gradient(g[i], w[i], a, b), c);
    } else {
#pragma omp parallel for simd if (hi - lo > cpu::kParallelMin)
      for (int64_t i = lo; i < hi; ++i) g[i] = clip_by_scale(regularized_gradient(g[i], w[i], a, b), scale);
    }
  }
}

template void clip_gradients<float>(Cpu, ClipMode, double, const float*, float*, const int64_t*, const float*,
                                    const float*, double*, int64_t);
template void clip_gradients<double>(Cpu, ClipMode, double, const double*, double*, const int64_t*, const double*,
                                     const double*, double*, int64_t);

}  // namespace fastnn
