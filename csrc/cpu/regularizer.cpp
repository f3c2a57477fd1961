// Activity regularization on the CPU: the gradient is one element-wise pass;
// the penalty sums |y| and y^2 in double over fixed blocks of n (their cut
// depends on n alone), one workspace slot pair per block, then adds the
// blocks in order, so the result does not depend on the thread count.
#include "../ops/regularizer.h"

#include <algorithm>

#include "../common/regularizer_math.h"
#include "parallel.h"
#include "simd_clones.h"

namespace fastnn {
namespace {

constexpr int64_t kMaxBlocks = 256;          // partial sums: at most this many
constexpr int64_t kMinBlockElems = 1 << 13;  // smaller blocks cost more in merging than they save

struct Blocks {
  int64_t size, count;
  explicit Blocks(int64_t n)
      : size(std::max((n + kMaxBlocks - 1) / kMaxBlocks, kMinBlockElems)), count((n + size - 1) / size) {}
};

template <class T>
FASTNN_SIMD_CLONES void grad_range(const T* __restrict__ y, T* __restrict__ dy, T l1_scaled, T two_l2_scaled,
                                   int64_t lo, int64_t hi) {
#pragma omp simd
  for (int64_t i = lo; i < hi; ++i) dy[i] = activity_regularizer_grad(y[i], dy[i], l1_scaled, two_l2_scaled);
}

// The vectorized reduction's order is fixed by the code the compiler chose
// for this CPU (one clone), not by timing.
template <class T>
FASTNN_SIMD_CLONES void block_sums(const T* __restrict__ y, int64_t lo, int64_t hi, double* out) {
  double abs_sum = 0, sq_sum = 0;
#pragma omp simd reduction(+ : abs_sum, sq_sum)
  for (int64_t i = lo; i < hi; ++i) activity_regularizer_sums(y[i], abs_sum, sq_sum);
  out[0] = abs_sum;
  out[1] = sq_sum;
}

}  // namespace

template <class T>
void activity_regularizer_backward(Cpu, const T* y, T* dy, double l1, double l2, int64_t batch, int64_t n) {
  const T l1_scaled = T(l1 / double(batch)), two_l2_scaled = T(2 * l2 / double(batch));
  cpu::for_ranges(n, 2 * n, [&](int64_t lo, int64_t hi) { grad_range(y, dy, l1_scaled, two_l2_scaled, lo, hi); });
}

int64_t activity_regularizer_workspace_size(Cpu, int64_t n) { return 1 + 2 * (n > 0 ? Blocks(n).count : 0); }

template <class T>
void activity_regularizer_penalty(Cpu, const T* y, double* workspace, double l1, double l2, int64_t batch,
                                  int64_t n) {
  const Blocks blocks(n);
  double* partial = workspace + 1;
#pragma omp parallel for schedule(static) if (n > cpu::kParallelMin)
  for (int64_t b = 0; b < blocks.count; ++b)
    block_sums(y, b * blocks.size, std::min(n, (b + 1) * blocks.size), partial + 2 * b);
  double abs_sum = 0, sq_sum = 0;
  for (int64_t b = 0; b < blocks.count; ++b) {
    abs_sum += partial[2 * b];
    sq_sum += partial[2 * b + 1];
  }
  workspace[0] = activity_regularizer_total(abs_sum, sq_sum, l1, l2, double(batch));
}

#define INSTANTIATE(T)                                                                                    \
  template void activity_regularizer_backward<T>(Cpu, const T*, T*, double, double, int64_t, int64_t); \
  template void activity_regularizer_penalty<T>(Cpu, const T*, double*, double, double, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
