// Keras' gradient clipping over ranges of the flat gradient buffer (one
// range per parameter tensor): g[i] becomes the clipped regularized gradient
// g + l2[r] w + l1[r] sign(w) of its range r. sq[r] receives the range's
// squared norm before clipping (0 for ClipMode::Value). ranges holds R
// [start, stop) pairs that do not overlap.
#pragma once
#include <cstdint>

#include "../common/device.h"
#include "../common/gradient_clip_math.h"

namespace fastnn {

template <class T>
void clip_gradients(Cpu, ClipMode mode, double clip, const T* w, T* g, const int64_t* ranges, const T* l1,
                    const T* l2, double* sq, int64_t R);
template <class T>
void clip_gradients(Cuda, ClipMode mode, double clip, const T* w, T* g, const int64_t* ranges, const T* l1,
                    const T* l2, double* sq, int64_t R);

}  // namespace fastnn
