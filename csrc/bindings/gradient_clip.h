// Binding of Keras' gradient clipping over ranges of the flat gradient buffer, for Dev.
#pragma once
#include <cmath>
#include <string>

#include "../ops/gradient_clip.h"
#include "scalar_arg.h"
#include "tensor_arg.h"

namespace fastnn {

inline ClipMode parse_clip_mode(const std::string& mode) {
  if (mode == "clipnorm") return ClipMode::Norm;
  if (mode == "global_clipnorm") return ClipMode::GlobalNorm;
  if (mode == "clipvalue") return ClipMode::Value;
  throw ValueError("mode: expected 'clipnorm', 'global_clipnorm' or 'clipvalue', got '" + mode + "'");
}

// Host-side ranges must be sorted, non-overlapping [start, stop) pairs inside w.
inline void check_clip_ranges(const Tensor& ranges, int64_t n) {
  const int64_t* r = ranges.ptr<int64_t>();
  int64_t previous_stop = 0;
  for (int64_t k = 0; k < ranges.dim(0); ++k) {
    const int64_t lo = r[2 * k], hi = r[2 * k + 1];
    if (lo < previous_stop || hi < lo || hi > n)
      throw ValueError("ranges: pair " + std::to_string(k) + " [" + std::to_string(lo) + ", " + std::to_string(hi) +
                       ") is not a sorted, non-overlapping range inside w (size " + std::to_string(n) + ")");
    previous_stop = hi;
  }
}

template <class Dev>
void bind_gradient_clip(py::module_& m) {
  m.def(
      "clip_gradients",
      [](py::handle w_, py::handle g_, py::handle ranges_, py::handle l1_, py::handle l2_, py::handle sq_,
         const std::string& mode_name, double clip) {
        const ClipMode mode = parse_clip_mode(mode_name);
        if (!(clip > 0 && std::isfinite(clip)))
          throw ValueError("clip: expected a finite number > 0, got " + short_float(clip));
        Tensor w = tensor_arg<Dev>(w_, "w"), g = tensor_arg<Dev>(g_, "g", true),
               ranges = tensor_arg<Dev>(ranges_, "ranges"), l1 = tensor_arg<Dev>(l1_, "l1"),
               l2 = tensor_arg<Dev>(l2_, "l2"), sq = tensor_arg<Dev>(sq_, "sq", true);
        check_ndim(w, 1);
        check_same_shape(g, w);
        check_same_float({&w, &g});
        if (ranges.dtype != DType::Int64) throw TypeError("ranges: expected int64, got " + ranges.dtype_str());
        check_ndim(ranges, 2);
        const int64_t R = ranges.dim(0);
        check_shape(ranges, {R, 2});
        if (R > 65535) throw ValueError("ranges: at most 65535 ranges, got " + std::to_string(R));
        check_shape(l1, {R});
        check_shape(l2, {R});
        check_same_float({&w, &l1, &l2});
        check_float64(sq);
        check_shape(sq, {R});
        check_disjoint(g, {&w, &ranges, &l1, &l2, &sq});
        check_disjoint(sq, {&w, &ranges, &l1, &l2});
        if constexpr (host_arrays<Dev>) check_clip_ranges(ranges, w.numel());
        py::gil_scoped_release nogil;
        dispatch_float(w.dtype, [&](auto t) {
          using T = decltype(t);
          clip_gradients(Dev{}, mode, clip, w.ptr<T>(), g.ptr<T>(), ranges.ptr<int64_t>(), l1.ptr<T>(), l2.ptr<T>(),
                         sq.ptr<double>(), R);
        });
      },
      py::arg("w"), py::arg("g"), py::arg("ranges"), py::arg("l1"), py::arg("l2"), py::arg("sq"), py::arg("mode"),
      py::arg("clip"),
      "Clip the gradient g in place, range by range (ranges: (R, 2) int64 [start, stop) pairs), after adding\n"
      "l2[r] w + l1[r] sign(w): Keras' clipnorm (per range), global_clipnorm (over all) or clipvalue.\n"
      "sq (float64, (R,)) receives each range's squared norm before clipping (0 for clipvalue).");
}

}  // namespace fastnn
