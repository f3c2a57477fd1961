// Binding of gaussian_noise for device Dev.
#pragma once
#include <cmath>

#include "../ops/gaussian_noise.h"
#include "scalar_arg.h"
#include "tensor_arg.h"

namespace fastnn {

template <class Dev>
void bind_gaussian_noise(py::module_& m) {
  m.def(
      "gaussian_noise",
      [](py::handle x_, py::handle y_, double stddev, py::handle seed_, py::handle step_) {
        if (!(stddev >= 0 && std::isfinite(stddev)))
          throw ValueError("stddev: expected a finite value >= 0, got " + short_float(stddev));
        const uint64_t seed = unsigned_arg(seed_, "seed"), step = unsigned_arg(step_, "step");
        const InOut arrays = in_out_args<Dev>(x_, y_, "x", "y");
        const Tensor &x = arrays.in, &y = arrays.out;
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          gaussian_noise_add(Dev{}, x.ptr<T>(), y.ptr<T>(), x.numel(), stddev, seed, step);
        });
      },
      py::arg("x"), py::arg("y"), py::arg("stddev"), py::arg("seed"), py::arg("step"),
      "y = x + stddev * z, z standard normal drawn by Philox4x32-10 and Box-Muller from (seed, step, element "
      "index); y may be x.");
}

}  // namespace fastnn
