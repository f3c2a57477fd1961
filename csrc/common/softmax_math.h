// Row math of softmax and softmax cross-entropy, shared by CPU and CUDA.
// A row is walked by the lanes of a Row: columns first, first + step, ...,
// with Row::sum / Row::max combining the lanes' partial results so that every
// lane ends with the row's total. The CPU passes SerialRow (one lane, sums in
// column order); CUDA passes a warp (csrc/cuda/softmax.cu). Every lane of a
// row calls these functions together.
//
// The row max is subtracted before exp (log-sum-exp), so inputs of any
// magnitude neither overflow nor lose the loss to cancellation; the exp sum is
// kept in double, since a confident row's loss is log(1 + tiny) and would
// otherwise round away in float32.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "hd.h"

namespace fastnn {

struct SerialRow {
  static constexpr int64_t first = 0, step = 1;
  template <class V>
  FASTNN_HD V sum(V v) const { return v; }
  template <class V>
  FASTNN_HD V max(V v) const { return v; }
};

template <class T, class Row>
FASTNN_HD inline T softmax_row_max(const Row& row, const T* x, int64_t C) {
  T mx = x[0];
  for (int64_t c = row.first; c < C; c += row.step) mx = x[c] > mx ? x[c] : mx;
  return row.max(mx);
}

// y = exp(x - mx) / sum; returns log(sum), the row's log-sum-exp minus mx.
// Each lane rescales the entries it wrote itself: no barrier needed.
template <class T, class Row>
FASTNN_HD inline double softmax_row(const Row& row, const T* x, T* y, T mx, int64_t C) {
  using std::exp, std::log;
  double sum = 0;
  for (int64_t c = row.first; c < C; c += row.step) {
    const T e = exp(x[c] - mx);
    y[c] = e;
    sum += e;
  }
  sum = row.sum(sum);
  const T inv = T(1.0 / sum);
  for (int64_t c = row.first; c < C; c += row.step) y[c] *= inv;
  return log(sum);
}

// dx = y * (dy - sum(dy * y)). Every lane reads its dy entries before writing
// dx, so dx may alias dy.
template <class T, class Row>
FASTNN_HD inline void softmax_backward_row(const Row& row, const T* y, const T* dy, T* dx, int64_t C) {
  T dot = 0;
  for (int64_t c = row.first; c < C; c += row.step) dot += dy[c] * y[c];
  dot = row.sum(dot);
  for (int64_t c = row.first; c < C; c += row.step) dx[c] = y[c] * (dy[c] - dot);
}

// The bindings check class indices where they can read them (host memory);
// elsewhere (the GPU) an index outside [0, C) makes the row's loss and
// gradient NaN instead of reading outside the row.
template <class Label>
FASTNN_HD inline bool valid_class(Label t, int64_t C) {
  return t >= 0 && int64_t(t) < C;
}

// Entries per row of a target: one class index, or C soft / one-hot entries.
template <class Label>
FASTNN_HD constexpr int64_t softmax_target_stride(int64_t C) {
  return std::is_integral_v<Label> ? 1 : C;
}

// probs = softmax(z); returns the row's loss sum_c t_c (lse - z_c), with
// lse = mx + log_sum and z_c - mx exact. `target` points at the row's class
// index (integral Label) or at its C soft / one-hot entries (Label = T).
template <class T, class Label, class Row>
FASTNN_HD inline T softmax_cross_entropy_row(const Row& row, const T* z, const Label* target, T* probs, int64_t C) {
  const T mx = softmax_row_max(row, z, C);
  const double log_sum = softmax_row(row, z, probs, mx, C);
  if constexpr (std::is_integral_v<Label>) {
    const Label t = *target;
    return valid_class(t, C) ? T(log_sum - double(z[t] - mx)) : T(NAN);
  } else {
    double tz = 0, tsum = 0;
    for (int64_t c = row.first; c < C; c += row.step) {
      tz += double(target[c]) * double(z[c] - mx);
      tsum += target[c];
    }
    tz = row.sum(tz);
    tsum = row.sum(tsum);
    return T(tsum * log_sum - tz);
  }
}

// d = scale * (tsum * probs - target), the gradient of scale * loss.
template <class T, class Label, class Row>
FASTNN_HD inline void softmax_cross_entropy_grad_row(const Row& row, const T* p, const Label* target, T* d, T scale,
                                                     int64_t C) {
  if constexpr (std::is_integral_v<Label>) {
    const Label t = *target;
    const bool valid = valid_class(t, C);
    for (int64_t c = row.first; c < C; c += row.step) {
      T v = scale * p[c];
      if (c == int64_t(t)) v -= scale;
      d[c] = valid ? v : T(NAN);
    }
  } else {
    T tsum = 0;
    for (int64_t c = row.first; c < C; c += row.step) tsum += target[c];
    tsum = row.sum(tsum);
    for (int64_t c = row.first; c < C; c += row.step) d[c] = scale * (tsum * p[c] - target[c]);
  }
}

}  // namespace fastnn
