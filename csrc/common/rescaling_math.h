// Rescaling's element map, shared by CPU and CUDA: y = x * scale + offset
// (the gradient is the same map with offset 0).
#pragma once
#include "hd.h"

namespace fastnn {

template <class T>
FASTNN_HD inline T rescale(T x, T scale, T offset) {
  return x * scale + offset;
}

}  // namespace fastnn
