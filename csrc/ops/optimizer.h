// Fused optimizer update of one parameter group: a contiguous range of the
// model's flat parameter buffer, its gradients and its optimizer state,
// updated in a single pass (regularization included). The moving average
// of the weights (EMA). And the max-norm constraint, a projection applied
// after the update.
#pragma once
#include <cstdint>

#include "../common/device.h"
#include "../common/optimizer_math.h"

namespace fastnn {

// s1 / s2 may be null when the optimizer keeps fewer state arrays.
template <class T>
void optimizer_update(Cpu, Optimizer kind, const StepParams<T>& p, T* w, const T* g, T* s1, T* s2, int64_t n);
template <class T>
void optimizer_update(Cuda, Optimizer kind, const StepParams<T>& p, T* w, const T* g, T* s1, T* s2, int64_t n);

// average = decay * average + (1 - decay) * w, in place (Keras's EMA of the
// weights); average and w do not overlap.
template <class T>
void ema_update(Cpu, T* average, const T* w, double decay, int64_t n);
template <class T>
void ema_update(Cuda, T* average, const T* w, double decay, int64_t n);

// w viewed as (rows, cols) row-major: every column whose L2 norm exceeds
// max_norm is scaled down to it (Keras max_norm: one column = one unit's
// incoming weights).
template <class T>
void max_norm_project(Cpu, T* w, int64_t rows, int64_t cols, T max_norm);
template <class T>
void max_norm_project(Cuda, T* w, int64_t rows, int64_t cols, T max_norm);

}  // namespace fastnn
