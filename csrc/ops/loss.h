// Element-wise losses on (M, F) predictions: the pointwise kinds of
// FASTNN_POINTWISE_LOSSES (mse, bce_logits, mae, huber, kl_divergence) and the
// categorical hinge. Forward writes the per-sample loss (the mean over the F
// features of sample i); backward is the gradient of scale * sum(loss).
#pragma once
#include <cstdint>

#include "../common/device.h"
#include "../common/loss_math.h"

namespace fastnn {

// Pointwise kinds: loss[i] = sum_j term(p_ij, t_ij) (divided by F for the
// mean kinds); param is Huber's delta.
template <class T>
void pointwise_loss_forward(Cpu, PointwiseLoss kind, T param, const T* pred, const T* target, T* loss, int64_t M,
                            int64_t F);
template <class T>
void pointwise_loss_forward(Cuda, PointwiseLoss kind, T param, const T* pred, const T* target, T* loss, int64_t M,
                            int64_t F);
template <class T>
void pointwise_loss_backward(Cpu, PointwiseLoss kind, T param, const T* pred, const T* target, T* dpred, T scale,
                             int64_t M, int64_t F);
template <class T>
void pointwise_loss_backward(Cuda, PointwiseLoss kind, T param, const T* pred, const T* target, T* dpred, T scale,
                             int64_t M, int64_t F);

// loss[i] = max(0, max_j (1 - t_ij) p_ij - sum_j t_ij p_ij + 1).
template <class T>
void categorical_hinge_forward(Cpu, const T* pred, const T* target, T* loss, int64_t M, int64_t F);
template <class T>
void categorical_hinge_forward(Cuda, const T* pred, const T* target, T* loss, int64_t M, int64_t F);
template <class T>
void categorical_hinge_backward(Cpu, const T* pred, const T* target, T* dpred, T scale, int64_t M, int64_t F);
template <class T>
void categorical_hinge_backward(Cuda, const T* pred, const T* target, T* dpred, T scale, int64_t M, int64_t F);

}  // namespace fastnn
