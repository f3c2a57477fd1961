// Activity regularization of a layer output y (any rank, batch = its first
// axis, n elements): the penalty (l1 sum|y| + l2 sum y^2) / batch, and its
// gradient added into dy in place.
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

// dy += (l1 sign(y) + 2 l2 y) / batch; dy does not overlap y.
template <class T>
void activity_regularizer_backward(Cpu, const T* y, T* dy, double l1, double l2, int64_t batch, int64_t n);
template <class T>
void activity_regularizer_backward(Cuda, const T* y, T* dy, double l1, double l2, int64_t batch, int64_t n);

// Length of the float64 workspace activity_regularizer_penalty needs: the
// result, then per-block partial sums (each device cuts n its own way).
int64_t activity_regularizer_workspace_size(Cpu, int64_t n);
int64_t activity_regularizer_workspace_size(Cuda, int64_t n);

// workspace[0] = (l1 sum|y| + l2 sum y^2) / batch, summed in double over
// blocks that depend only on n, added in a fixed order: the same bits on
// every run and for any number of threads.
template <class T>
void activity_regularizer_penalty(Cpu, const T* y, double* workspace, double l1, double l2, int64_t batch,
                                  int64_t n);
template <class T>
void activity_regularizer_penalty(Cuda, const T* y, double* workspace, double l1, double l2, int64_t batch,
                                  int64_t n);

}  // namespace fastnn
