// Keras' gradient clipping (clipnorm, global_clipnorm, clipvalue) of one
// element, shared by the CPU loop and the CUDA kernels. The coupled L1/L2
// gradient is folded in first, as Keras clips the gradient of the whole loss
// (penalties included); the optimizer step then runs with l1 = l2 = 0.
#pragma once
#include <cmath>

#include "hd.h"

namespace fastnn {

enum class ClipMode : int {
  Norm,        // per range: g *= clip / max(||g||, clip)      (Keras clipnorm, one range per variable)
  GlobalNorm,  // all ranges: g *= clip / max(||g||_all, clip)  (Keras global_clipnorm)
  Value,       // g = min(max(g, -clip), clip)                  (Keras clipvalue)
};

template <class T>
FASTNN_HD inline T regularized_gradient(T g, T w, T l1, T l2) {
  return g + l2 * w + l1 * T((w > T(0)) - (w < T(0)));
}

// The factor that brings a gradient of squared norm sq down to norm clip (1 if already within):
// clip / max(norm, clip), so a NaN norm makes the whole range NaN, as in Keras.
FASTNN_HD inline double clip_norm_scale(double sq, double clip) {
  const double norm = sqrt(sq);
  return norm > clip ? clip / norm : (norm == norm ? 1.0 : norm);
}

// Comparisons, not fmin/fmax (library calls on the CPU); a NaN passes through, as in np.clip.
template <class T>
FASTNN_HD inline T clip_by_value(T g, T clip) {
  return g < -clip ? -clip : (g > clip ? clip : g);
}

template <class T>
FASTNN_HD inline T clip_by_scale(T g, double scale) {
  return T(double(g) * scale);
}

template <class T>
FASTNN_HD inline T clipped_gradient(ClipMode mode, T g_regularized, double scale, T clip) {
  return mode == ClipMode::Value ? clip_by_value(g_regularized, clip) : clip_by_scale(g_regularized, scale);
}

}  // namespace fastnn
