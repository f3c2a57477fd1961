// Multiclass hinge loss on the CPU: one row per iteration of a parallel loop
// over the shared row math.
#include "../ops/hinge.h"

#include "../common/hinge_math.h"
#include "parallel.h"

namespace fastnn {

template <class T, class Label>
void hinge_forward(Cpu, const T* scores, const Label* target, T* loss, int64_t M, int64_t C) {
#pragma omp parallel for if (M * C > cpu::kParallelMin)
  for (int64_t i = 0; i < M; ++i) loss[i] = hinge_row_loss(scores + i * C, int64_t(target[i]), C);
}

template <class T, class Label>
void hinge_backward(Cpu, const T* scores, const Label* target, T* dscores, T scale, int64_t M, int64_t C) {
#pragma omp parallel for if (M * C > cpu::kParallelMin)
  for (int64_t i = 0; i < M; ++i) hinge_row_grad(scores + i * C, int64_t(target[i]), C, scale, dscores + i * C);
}

FASTNN_INSTANTIATE_HINGE(Cpu)

}  // namespace fastnn
