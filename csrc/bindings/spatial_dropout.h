// Bindings of SpatialDropout2D for device Dev.
#pragma once
#include "../ops/spatial_dropout.h"
#include "dropout.h"  // check_dropout_p
#include "scalar_arg.h"
#include "tensor_arg.h"

namespace fastnn {

// out = in * keep(n, c) / (1 - p) over 4-D channels-last arrays.
template <class Dev>
void spatial_dropout_binding(const py::handle& in_, const py::handle& out_, double p, const py::handle& seed_,
                             const py::handle& step_, const char* in_name, const char* out_name) {
  check_dropout_p(p);
  const uint64_t seed = unsigned_arg(seed_, "seed"), step = unsigned_arg(step_, "step");
  const InOut arrays = in_out_args<Dev>(in_, out_, in_name, out_name);
  const Tensor &in = arrays.in, &out = arrays.out;
  check_ndim(in, 4);
  py::gil_scoped_release nogil;
  dispatch_float(in.dtype, [&](auto t) {
    using T = decltype(t);
    spatial_dropout_apply(Dev{}, in.ptr<T>(), out.ptr<T>(), in.dim(0), in.dim(1) * in.dim(2), in.dim(3), p, seed,
                          step);
  });
}

template <class Dev>
void bind_spatial_dropout(py::module_& m) {
  m.def(
      "spatial_dropout_forward",
      [](py::handle x, py::handle y, double p, py::handle seed, py::handle step) {
        spatial_dropout_binding<Dev>(x, y, p, seed, step, "x", "y");
      },
      py::arg("x"), py::arg("y"), py::arg("p"), py::arg("seed"), py::arg("step"),
      "y = x * keep(n, c) / (1 - p) over (N, H, W, C): whole channels dropped, keep drawn by Philox4x32-10\n"
      "from (seed, step, n * C + c); y may be x.");
  m.def(
      "spatial_dropout_backward",
      [](py::handle dy, py::handle dx, double p, py::handle seed, py::handle step) {
        spatial_dropout_binding<Dev>(dy, dx, p, seed, step, "dy", "dx");
      },
      py::arg("dy"), py::arg("dx"), py::arg("p"), py::arg("seed"), py::arg("step"),
      "dx = dy * keep(n, c) / (1 - p) with the forward pass's mask, regenerated from (seed, step); dx may be dy.");
}

}  // namespace fastnn
