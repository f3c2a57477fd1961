// The merge layers (Add, Subtract, Multiply, Average, Maximum, Concatenate)
// over arrays of any shape. Element-wise merges read count inputs of n
// elements each and write y; outputs never overlap inputs (the bindings check).
#pragma once
#include <cstdint>

#include "../common/device.h"
#include "../common/merge_math.h"

namespace fastnn {

// y = x0 + x1 + ... (Add), x0 - x1 (Subtract, count 2), x0 * x1 * ...
// (Multiply), (x0 + x1 + ...) / count (Average), max(x0, x1, ...) (Maximum).
template <class T>
void merge_forward(Cpu, MergeKind kind, const MergeArrays<const T>& xs, T* y, int64_t n);
template <class T>
void merge_forward(Cuda, MergeKind kind, const MergeArrays<const T>& xs, T* y, int64_t n);

// The gradients that depend on the inputs: Multiply's dx_i = dy * prod_{j != i} x_j,
// Maximum's dx_i = dy where input i is the first holding the maximum, else 0.
template <class T>
void merge_backward(Cpu, MergeKind kind, const MergeArrays<const T>& xs, const T* dy, const MergeArrays<T>& dxs,
                    int64_t n);
template <class T>
void merge_backward(Cuda, MergeKind kind, const MergeArrays<const T>& xs, const T* dy, const MergeArrays<T>& dxs,
                    int64_t n);

// dx = dy / divisor: Average's gradient (divisor count) and Subtract's second
// one (divisor -1).
template <class T>
void merge_divide(Cpu, const T* dy, T* dx, int64_t n, T divisor);
template <class T>
void merge_divide(Cuda, const T* dy, T* dx, int64_t n, T divisor);

// Concatenate: y's rows are the inputs' rows side by side; the backward
// splits dy's rows back into dxs.
template <class T>
void concatenate_forward(Cpu, const ConcatGeometry& g, const MergeArrays<const T>& xs, T* y);
template <class T>
void concatenate_forward(Cuda, const ConcatGeometry& g, const MergeArrays<const T>& xs, T* y);
template <class T>
void concatenate_backward(Cpu, const ConcatGeometry& g, const T* dy, const MergeArrays<T>& dxs);
template <class T>
void concatenate_backward(Cuda, const ConcatGeometry& g, const T* dy, const MergeArrays<T>& dxs);

}  // namespace fastnn
