// The merge layers' per-element math and array lists, shared by CPU and CUDA.
// Kernels take their inputs as a fixed-capacity list of pointers passed by
// value (kernel parameters), so an N-ary merge is one pass with no device-side
// pointer table to allocate.
#pragma once
#include <cstdint>

#include "hd.h"

namespace fastnn {

constexpr int kMaxMergeInputs = 64;  // 64 pointers: 512 bytes of kernel parameters

enum class MergeKind : int { Add, Subtract, Multiply, Average, Maximum };

// count arrays of the same number of elements (or, for concatenation, of the
// same extent outside the axis).
template <class T>
struct MergeArrays {
  T* p[kMaxMergeInputs];
  int count;
};

// NaN propagates (as numpy.maximum and Keras' ops.maximum do); otherwise the
// larger value. The first NaN stays once it is the accumulator.
template <class T>
FASTNN_HD inline T merge_max(T acc, T v) {
  return (v > acc || v != v) ? v : acc;
}

// Whether v takes the max from best, the running winner of inputs before it:
// only if strictly larger, or the first NaN. Ties keep the earlier input, so
// the gradient goes to the first input holding the maximum (numpy.argmax).
template <class T>
FASTNN_HD inline bool merge_max_wins(T v, T best) {
  return v > best || (v != v && best == best);
}

// A concatenation seen as rows: every input is (outer, size_i * inner) and the
// output (outer, row) with row = sum of size_i * inner; input i fills columns
// [offset[i], offset[i + 1]) of each output row.
struct ConcatGeometry {
  int64_t outer;
  int64_t row;
  int64_t offset[kMaxMergeInputs + 1];
  int count;
};

// The input that holds column c of an output row (offsets are ascending; a
// linear scan, as merges have few inputs).
FASTNN_HD inline int concat_input_of(const ConcatGeometry& g, int64_t c) {
  int i = 0;
  while (c >= g.offset[i + 1]) ++i;
  return i;
}

}  // namespace fastnn
