// The max-pooling comparison, shared by CPU and CUDA: does value v replace
// the window's best so far? Larger values do, and so does a NaN (the first
// NaN of a window wins), so NaN propagates as in numpy.max / numpy.argmax.
#pragma once
#include "hd.h"

namespace fastnn {

template <class T>
FASTNN_HD inline bool pool_takes(T v, T best) {
  return v > best || (v != v && best == best);
}

}  // namespace fastnn
