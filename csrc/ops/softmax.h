// Softmax over the last axis of (M, C), and softmax fused with cross-entropy.
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

template <class T>
void softmax_forward(Cpu, const T* x, T* y, int64_t M, int64_t C);
template <class T>
void softmax_forward(Cuda, const T* x, T* y, int64_t M, int64_t C);

// dx = y * (dy - sum(dy * y)) row by row; dx may alias dy.
template <class T>
void softmax_backward(Cpu, const T* y, const T* dy, T* dx, int64_t M, int64_t C);
template <class T>
void softmax_backward(Cuda, const T* y, const T* dy, T* dx, int64_t M, int64_t C);

// Targets are either class indices (Label = int32/int64, shape (M,)) or
// one-hot / soft rows (Label = T, shape (M, C)).
// Forward: probs = softmax(logits) and the per-sample loss
//   loss[i] = logsumexp(logits[i]) - sum_c target[i,c] * logits[i,c].
template <class T, class Label>
void softmax_cross_entropy_forward(Cpu, const T* logits, const Label* target, T* probs, T* loss, int64_t M,
                                   int64_t C);
template <class T, class Label>
void softmax_cross_entropy_forward(Cuda, const T* logits, const Label* target, T* probs, T* loss, int64_t M,
                                   int64_t C);

// Backward of scale * sum_i loss[i]: dlogits = scale * (probs - target).
template <class T, class Label>
void softmax_cross_entropy_backward(Cpu, const T* probs, const Label* target, T* dlogits, T scale, int64_t M,
                                    int64_t C);
template <class T, class Label>
void softmax_cross_entropy_backward(Cuda, const T* probs, const Label* target, T* dlogits, T scale, int64_t M,
                                    int64_t C);

// The explicit instantiations each backend's definitions provide.
#define FASTNN_INSTANTIATE_SOFTMAX_CROSS_ENTROPY(Dev, T, L)                                                   \
  template void softmax_cross_entropy_forward<T, L>(Dev, const T*, const L*, T*, T*, int64_t, int64_t);       \
  template void softmax_cross_entropy_backward<T, L>(Dev, const T*, const L*, T*, T, int64_t, int64_t);
#define FASTNN_INSTANTIATE_SOFTMAX_TYPE(Dev, T)                                    \
  template void softmax_forward<T>(Dev, const T*, T*, int64_t, int64_t);            \
  template void softmax_backward<T>(Dev, const T*, const T*, T*, int64_t, int64_t); \
  FASTNN_INSTANTIATE_SOFTMAX_CROSS_ENTROPY(Dev, T, T)                                \
  FASTNN_INSTANTIATE_SOFTMAX_CROSS_ENTROPY(Dev, T, int32_t)                          \
  FASTNN_INSTANTIATE_SOFTMAX_CROSS_ENTROPY(Dev, T, int64_t)
#define FASTNN_INSTANTIATE_SOFTMAX(Dev)     \
  FASTNN_INSTANTIATE_SOFTMAX_TYPE(Dev, float) \
  FASTNN_INSTANTIATE_SOFTMAX_TYPE(Dev, double)

}  // namespace fastnn
