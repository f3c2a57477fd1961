// Softmax and fused softmax + cross-entropy on the CPU: one row per iteration
// of a parallel loop over the shared row math (common/softmax_math.h).
#include "../ops/softmax.h"

#include "../common/softmax_math.h"
#include "parallel.h"

namespace fastnn {

template <class T>
void softmax_forward(Cpu, const T* x, T* y, int64_t M, int64_t C) {
  const SerialRow row;
#pragma omp parallel for if (M * C > cpu::kParallelMin)
  for (int64_t i = 0; i < M; ++i) {
    const T* xr = x + i * C;
    softmax_row(row, xr, y + i * C, softmax_row_max(row, xr, C), C);
  }
}

template <class T>
void softmax_backward(Cpu, const T* y, const T* dy, T* dx, int64_t M, int64_t C) {
  const SerialRow row;
#pragma omp parallel for if (M * C > cpu::kParallelMin)
  for (int64_t i = 0; i < M; ++i) softmax_backward_row(row, y + i * C, dy + i * C, dx + i * C, C);
}

template <class T, class Label>
void softmax_cross_entropy_forward(Cpu, const T* logits, const Label* target, T* probs, T* loss, int64_t M,
                                   int64_t C) {
  const SerialRow row;
  const int64_t stride = softmax_target_stride<Label>(C);
#pragma omp parallel for if (M * C > cpu::kParallelMin)
  for (int64_t i = 0; i < M; ++i)
    loss[i] = softmax_cross_entropy_row(row, logits + i * C, target + i * stride, probs + i * C, C);
}

template <class T, class Label>
void softmax_cross_entropy_backward(Cpu, const T* probs, const Label* target, T* dlogits, T scale, int64_t M,
                                    int64_t C) {
  const SerialRow row;
  const int64_t stride = softmax_target_stride<Label>(C);
#pragma omp parallel for if (M * C > cpu::kParallelMin)
  for (int64_t i = 0; i < M; ++i)
    softmax_cross_entropy_grad_row(row, probs + i * C, target + i * stride, dlogits + i * C, scale, C);
}

FASTNN_INSTANTIATE_SOFTMAX(Cpu)

}  // namespace fastnn
