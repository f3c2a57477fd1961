// Bindings of dropout and of the Philox4x32-10 generator for device Dev.
#pragma once
#include <string>

#include "../common/philox.h"
#include "../ops/dropout.h"
#include "scalar_arg.h"
#include "tensor_arg.h"

namespace fastnn {

inline void check_dropout_p(double p) {
  if (!(p >= 0 && p < 1)) throw ValueError("p: expected 0 <= p < 1, got " + short_float(p));
}

// out = in * keep / (1 - p), the body of dropout_forward and dropout_backward.
template <class Dev>
void dropout_binding(const py::handle& in_, const py::handle& out_, double p, const py::handle& seed_,
                     const py::handle& step_, const py::handle& first_, const char* in_name, const char* out_name) {
  check_dropout_p(p);
  const uint64_t seed = unsigned_arg(seed_, "seed"), step = unsigned_arg(step_, "step");
  const uint64_t first = unsigned_arg(first_, "first");
  const InOut arrays = in_out_args<Dev>(in_, out_, in_name, out_name);
  const Tensor &in = arrays.in, &out = arrays.out;
  py::gil_scoped_release nogil;
  dispatch_float(in.dtype, [&](auto t) {
    using T = decltype(t);
    dropout_apply(Dev{}, in.ptr<T>(), out.ptr<T>(), in.numel(), p, seed, step, first);
  });
}

template <class Dev>
void bind_dropout(py::module_& m) {
  m.def(
      "dropout_forward",
      [](py::handle x, py::handle y, double p, py::handle seed, py::handle step, py::handle first) {
        dropout_binding<Dev>(x, y, p, seed, step, first, "x", "y");
      },
      py::arg("x"), py::arg("y"), py::arg("p"), py::arg("seed"), py::arg("step"), py::arg("first") = 0,
      "y = x * keep / (1 - p), keep drawn by Philox4x32-10 from (seed, step, first + element index); y may be x.");

  m.def(
      "dropout_backward",
      [](py::handle dy, py::handle dx, double p, py::handle seed, py::handle step, py::handle first) {
        dropout_binding<Dev>(dy, dx, p, seed, step, first, "dy", "dx");
      },
      py::arg("dy"), py::arg("dx"), py::arg("p"), py::arg("seed"), py::arg("step"), py::arg("first") = 0,
      "dx = dy * keep / (1 - p) with the forward pass's mask, regenerated from (seed, step); dx may be dy.");

  m.def(
      "dropout_mask",
      [](py::handle mask_, double p, py::handle seed_, py::handle step_, py::handle first_) {
        check_dropout_p(p);
        const uint64_t seed = unsigned_arg(seed_, "seed"), step = unsigned_arg(step_, "step");
        const uint64_t first = unsigned_arg(first_, "first");
        Tensor mask = tensor_arg<Dev>(mask_, "mask", true);
        if (mask.dtype != DType::UInt8)
          throw TypeError("mask: expected uint8, got " + mask.dtype_str());
        py::gil_scoped_release nogil;
        dropout_mask(Dev{}, mask.ptr<uint8_t>(), mask.numel(), p, seed, step, first);
      },
      py::arg("mask"), py::arg("p"), py::arg("seed"), py::arg("step"), py::arg("first") = 0,
      "mask = 1 where dropout keeps the unit, 0 where it drops it (uint8, any shape, flat element order).");

  // The raw generator (host-side), for known-answer tests.
  m.def(
      "philox4x32_10",
      [](py::sequence counter, py::sequence key) {
        if (counter.size() != 4) throw ValueError("counter: expected 4 words, got " + std::to_string(counter.size()));
        if (key.size() != 2) throw ValueError("key: expected 2 words, got " + std::to_string(key.size()));
        uint32_t c[4], k[2];
        for (int i = 0; i < 4; ++i) c[i] = uint32_t(unsigned_arg(counter[i], "counter[" + std::to_string(i) + "]", 32));
        for (int i = 0; i < 2; ++i) k[i] = uint32_t(unsigned_arg(key[i], "key[" + std::to_string(i) + "]", 32));
        const Philox4x32 r = philox4x32_10(c[0], c[1], c[2], c[3], k[0], k[1]);
        return py::make_tuple(r.v[0], r.v[1], r.v[2], r.v[3]);
      },
      py::arg("counter"), py::arg("key"),
      "The 4 32-bit words of Philox4x32-10 for a counter of 4 words and a key of 2 words.");
}

}  // namespace fastnn
