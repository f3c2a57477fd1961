// Element-wise losses on (M, F) predictions: mean squared error and binary
// cross-entropy on logits. Forward writes the per-sample loss (the mean over
// the F features of sample i); backward is the gradient of scale * sum(loss).
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

template <class T>
void mse_forward(Cpu, const T* pred, const T* target, T* loss, int64_t M, int64_t F);
template <class T>
void mse_forward(Cuda, const T* pred, const T* target, T* loss, int64_t M, int64_t F);
template <class T>
void mse_backward(Cpu, const T* pred, const T* target, T* dpred, T scale, int64_t M, int64_t F);
template <class T>
void mse_backward(Cuda, const T* pred, const T* target, T* dpred, T scale, int64_t M, int64_t F);

// loss = max(z, 0) - z t + log(1 + e^-|z|), the stable form of
// -t log sigmoid(z) - (1 - t) log(1 - sigmoid(z)).
template <class T>
void bce_logits_forward(Cpu, const T* logits, const T* target, T* loss, int64_t M, int64_t F);
template <class T>
void bce_logits_forward(Cuda, const T* logits, const T* target, T* loss, int64_t M, int64_t F);
template <class T>
void bce_logits_backward(Cpu, const T* logits, const T* target, T* dlogits, T scale, int64_t M, int64_t F);
template <class T>
void bce_logits_backward(Cuda, const T* logits, const T* target, T* dlogits, T scale, int64_t M, int64_t F);

}  // namespace fastnn
