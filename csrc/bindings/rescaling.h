// Bindings of Rescaling for device Dev.
#pragma once
#include <cmath>
#include <string>

#include "../ops/rescaling.h"
#include "scalar_arg.h"
#include "tensor_arg.h"

namespace fastnn {

template <class Dev>
void rescaling_binding(const py::handle& in_, const py::handle& out_, double scale, double offset, const char* in_name,
                       const char* out_name) {
  if (!std::isfinite(scale)) throw ValueError("scale: expected a finite number, got " + short_float(scale));
  if (!std::isfinite(offset)) throw ValueError("offset: expected a finite number, got " + short_float(offset));
  const InOut arrays = in_out_args<Dev>(in_, out_, in_name, out_name);
  const Tensor &in = arrays.in, &out = arrays.out;
  py::gil_scoped_release nogil;
  dispatch_float(in.dtype, [&](auto t) {
    using T = decltype(t);
    rescaling_apply(Dev{}, in.ptr<T>(), out.ptr<T>(), in.numel(), T(scale), T(offset));
  });
}

template <class Dev>
void bind_rescaling(py::module_& m) {
  m.def(
      "rescaling_forward",
      [](py::handle x, py::handle y, double scale, double offset) {
        rescaling_binding<Dev>(x, y, scale, offset, "x", "y");
      },
      py::arg("x"), py::arg("y"), py::arg("scale"), py::arg("offset"), "y = x * scale + offset; y may be x.");
  m.def(
      "rescaling_backward",
      [](py::handle dy, py::handle dx, double scale) { rescaling_binding<Dev>(dy, dx, scale, 0.0, "dy", "dx"); },
      py::arg("dy"), py::arg("dx"), py::arg("scale"), "dx = dy * scale; dx may be dy.");
}

}  // namespace fastnn
