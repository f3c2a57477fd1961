// Bindings of max / average / global-average pooling for device Dev.
#pragma once
#include <cstdint>
#include <limits>
#include <string>

#include "../ops/pool.h"
#include "tensor_arg.h"
#include "window_args.h"

namespace fastnn {

// Geometry of a pool_size window over x (N, H, W, C); strides None means
// strides = pool_size (Keras).
inline Window2d pool_window(const Tensor& x, const py::handle& pool_size, const py::handle& strides,
                            const py::handle& padding) {
  const Pair k = int_pair_arg(pool_size, "pool_size", 1);
  const Pair s = strides.is_none() ? k : int_pair_arg(strides, "strides", 1);
  return make_window(x, k.first, k.second, s, padding_arg(padding, false), {1, 1}, "pool_size");
}

// argmax holds positions ih * W + iw as int32.
inline void check_argmax(const Tensor& argmax, const Window2d& g) {
  if (argmax.dtype != DType::Int32)
    throw TypeError(argmax.name + ": expected int32, got " + argmax.dtype_str());
  check_shape(argmax, {g.N, g.OH, g.OW, g.C});
  if (g.H * g.W > std::numeric_limits<int32_t>::max())
    throw ValueError(argmax.name + ": images of " + std::to_string(g.H * g.W) + " pixels do not fit int32 positions");
}

// Every argmax value names a cell of the image inside its output's window,
// as max_pool2d_forward wrote it; any other value would drop (or misroute)
// a gradient. Host arrays only: a GPU array is not read here.
inline void check_argmax_values(const Tensor& argmax, const Window2d& g) {
  // This check runs on every backward call and must cost little beside the
  // kernel: walked window by window, the row of v found by a multiplication
  // (exact: (v + 0.5) / W is at least 0.5 / W from an integer, far more
  // than the rounding error for v < 2^31), no branch per element.
  const int32_t* a = argmax.ptr<int32_t>();
  const double inv_W = 1.0 / double(g.W);
  int64_t e = 0;
  bool bad = false;
  for (int64_t n = 0; n < g.N && !bad; ++n)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow, e += g.C) {
        const int64_t top = oh * g.sh - g.pad_top, left = ow * g.sw - g.pad_left;
        for (int64_t c = 0; c < g.C; ++c) {
          const int64_t v = a[e + c], ih = int64_t((double(v) + 0.5) * inv_W), iw = v - ih * g.W;
          bad |= (v < 0) | (v >= g.H * g.W) | (ih < top) | (ih >= top + g.KH) | (iw < left) | (iw >= left + g.KW);
        }
      }
  if (!bad) return;
  for (int64_t i = 0; i < argmax.numel(); ++i) {  // the first wrong value, for the message
    const int64_t ow = (i / g.C) % g.OW, oh = (i / (g.C * g.OW)) % g.OH, v = a[i];
    const int64_t ih = v / g.W, iw = v % g.W, top = oh * g.sh - g.pad_top, left = ow * g.sw - g.pad_left;
    if (v < 0 || v >= g.H * g.W || ih < top || ih >= top + g.KH || iw < left || iw >= left + g.KW)
      throw ValueError(argmax.name + ": value " + std::to_string(v) + " at flat index " + std::to_string(i) +
                       " is not a position ih * W + iw inside its window (argmax must come from "
                       "max_pool2d_forward with the same arguments)");
  }
}

template <class Dev>
void bind_pool(py::module_& m) {
  m.def(
      "pool2d_output_shape",
      [](py::handle x_shape, py::handle pool_size, py::handle strides, py::handle padding,
         const std::string& x_name) {
        const Window2d g = pool_window(shape_arg(x_shape, x_name), pool_size, strides, padding);
        return py::make_tuple(g.N, g.OH, g.OW, g.C);
      },
      py::arg("x_shape"), py::arg("pool_size"), py::arg("strides"), py::arg("padding"),
      py::arg("x_name") = "x_shape",
      "(N, OH, OW, C) of 2-D pooling over x of shape (N, H, W, C); errors name the shape x_name.");

  m.def(
      "max_pool2d_forward",
      [](py::handle x_, py::handle y_, py::handle argmax_, py::handle pool_size, py::handle strides,
         py::handle padding) {
        Tensor x = tensor_arg<Dev>(x_, "x"), y = tensor_arg<Dev>(y_, "y", true);
        std::optional<Tensor> argmax = optional_tensor_arg<Dev>(argmax_, "argmax", true);
        const Window2d g = pool_window(x, pool_size, strides, padding);
        check_shape(y, {g.N, g.OH, g.OW, g.C});
        check_same_float({&x, &y});
        if (argmax) check_argmax(*argmax, g);
        check_disjoint(y, {&x});
        if (argmax) check_disjoint(*argmax, {&x, &y});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          max_pool2d_forward(Dev{}, x.ptr<T>(), y.ptr<T>(), argmax ? argmax->ptr<int32_t>() : nullptr, g);
        });
      },
      py::arg("x"), py::arg("y"), py::arg("argmax"), py::arg("pool_size"), py::arg("strides"), py::arg("padding"),
      "y = max over each window; argmax (int32, may be None) = position ih*W+iw of the first max.");

  m.def(
      "max_pool2d_backward",
      [](py::handle dy_, py::handle argmax_, py::handle dx_, py::handle pool_size, py::handle strides,
         py::handle padding) {
        Tensor dy = tensor_arg<Dev>(dy_, "dy"), argmax = tensor_arg<Dev>(argmax_, "argmax"),
               dx = tensor_arg<Dev>(dx_, "dx", true);
        const Window2d g = pool_window(dx, pool_size, strides, padding);
        check_shape(dy, {g.N, g.OH, g.OW, g.C});
        check_same_float({&dy, &dx});
        check_argmax(argmax, g);
        check_disjoint(dx, {&dy, &argmax});
        // argmax values are checked on host arrays, after the kernel (which
        // reads no memory by them) unless it verified them itself.
        bool verified = false;
        {
          py::gil_scoped_release nogil;
          dispatch_float(dy.dtype, [&](auto t) {
            using T = decltype(t);
            verified = max_pool2d_backward(Dev{}, dy.ptr<T>(), argmax.ptr<int32_t>(), dx.ptr<T>(), g);
          });
        }
        if constexpr (host_arrays<Dev>)
          if (!verified) check_argmax_values(argmax, g);
      },
      py::arg("dy"), py::arg("argmax"), py::arg("dx"), py::arg("pool_size"), py::arg("strides"),
      py::arg("padding"), "dx = dy routed to each window's argmax, written into dx (whose shape is x's).");

  m.def(
      "avg_pool2d_forward",
      [](py::handle x_, py::handle y_, py::handle pool_size, py::handle strides, py::handle padding) {
        Tensor x = tensor_arg<Dev>(x_, "x"), y = tensor_arg<Dev>(y_, "y", true);
        const Window2d g = pool_window(x, pool_size, strides, padding);
        check_shape(y, {g.N, g.OH, g.OW, g.C});
        check_same_float({&x, &y});
        check_disjoint(y, {&x});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          avg_pool2d_forward(Dev{}, x.ptr<T>(), y.ptr<T>(), g);
        });
      },
      py::arg("x"), py::arg("y"), py::arg("pool_size"), py::arg("strides"), py::arg("padding"),
      "y = mean over each window's cells inside the image.");

  m.def(
      "avg_pool2d_backward",
      [](py::handle dy_, py::handle dx_, py::handle pool_size, py::handle strides, py::handle padding) {
        Tensor dy = tensor_arg<Dev>(dy_, "dy"), dx = tensor_arg<Dev>(dx_, "dx", true);
        const Window2d g = pool_window(dx, pool_size, strides, padding);
        check_shape(dy, {g.N, g.OH, g.OW, g.C});
        check_same_float({&dy, &dx});
        check_disjoint(dx, {&dy});
        py::gil_scoped_release nogil;
        dispatch_float(dy.dtype, [&](auto t) {
          using T = decltype(t);
          avg_pool2d_backward(Dev{}, dy.ptr<T>(), dx.ptr<T>(), g);
        });
      },
      py::arg("dy"), py::arg("dx"), py::arg("pool_size"), py::arg("strides"), py::arg("padding"),
      "dx = dy spread evenly over each window's cells inside the image, written into dx.");

  m.def(
      "global_avg_pool2d_forward",
      [](py::handle x_, py::handle y_) {
        Tensor x = tensor_arg<Dev>(x_, "x"), y = tensor_arg<Dev>(y_, "y", true);
        check_ndim(x, 4);
        check_positive_sizes(x);
        check_shape(y, {x.dim(0), x.dim(3)});
        check_same_float({&x, &y});
        check_disjoint(y, {&x});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          global_avg_pool2d_forward(Dev{}, x.ptr<T>(), y.ptr<T>(), x.dim(0), x.dim(1) * x.dim(2), x.dim(3));
        });
      },
      py::arg("x"), py::arg("y"), "y (N, C) = x (N, H, W, C) averaged over H and W.");

  m.def(
      "global_avg_pool2d_backward",
      [](py::handle dy_, py::handle dx_) {
        Tensor dy = tensor_arg<Dev>(dy_, "dy"), dx = tensor_arg<Dev>(dx_, "dx", true);
        check_ndim(dx, 4);
        check_positive_sizes(dx);
        check_shape(dy, {dx.dim(0), dx.dim(3)});
        check_same_float({&dy, &dx});
        check_disjoint(dx, {&dy});
        py::gil_scoped_release nogil;
        dispatch_float(dy.dtype, [&](auto t) {
          using T = decltype(t);
          global_avg_pool2d_backward(Dev{}, dy.ptr<T>(), dx.ptr<T>(), dx.dim(0), dx.dim(1) * dx.dim(2), dx.dim(3));
        });
      },
      py::arg("dy"), py::arg("dx"), "dx (N, H, W, C) = dy (N, C) / (H W) at every pixel.");
}

}  // namespace fastnn
