// Bindings of conv2d_forward / conv2d_backward and their shape and
// workspace-size helpers for device Dev.
#pragma once
#include <string>

#include "../ops/conv2d.h"
#include "activation.h"
#include "tensor_arg.h"
#include "window_args.h"

namespace fastnn {

// The im2col workspace bound used when the caller does not choose one.
constexpr int64_t kConv2dMaxWorkspaceBytes = int64_t(64) << 20;

// Geometry of conv(x, W) for x (N, H, W, C_in) and W (KH, KW, C_in, C_out),
// every argument checked.
inline Window2d conv2d_window(const Tensor& x, const Tensor& W, const py::handle& stride,
                              const py::handle& padding, const py::handle& dilation) {
  check_ndim(x, 4);
  check_positive_sizes(x);
  check_ndim(W, 4);
  check_positive_sizes(W);
  if (W.dim(2) != x.dim(3))
    throw ValueError(W.name + ": expected " + std::to_string(x.dim(3)) + " input channels (the C_in of " + x.name +
                     " " + shape_str(x.shape) + ") in the kernel shape (KH, KW, C_in, C_out), got " +
                     shape_str(W.shape));
  return make_window(x, W.dim(0), W.dim(1), int_pair_arg(stride, "stride", 1), padding_arg(padding, true),
                     int_pair_arg(dilation, "dilation", 1), W.name);
}

// The workspace argument: None or a 1-D array of x's dtype, long enough.
template <class Dev>
int64_t conv2d_workspace_arg(const std::optional<Tensor>& ws, const Tensor& x, const Window2d& g, int64_t C_out) {
  const int64_t have = ws ? ws->numel() : 0, need = conv2d_min_workspace_elems(Dev{}, g, C_out);
  if (ws) check_ndim(*ws, 1), check_same_float({&x, &*ws});
  if (have < need)
    throw ValueError("workspace: expected at least " + std::to_string(need) +
                     " elements (conv2d_workspace_size gives the preferred size), got " +
                     (ws ? std::to_string(have) : std::string("None")));
  return have;
}

template <class Dev>
void bind_conv2d(py::module_& m) {
  m.def(
      "conv2d_output_shape",
      [](py::handle x_shape, py::handle W_shape, py::handle stride, py::handle padding, py::handle dilation,
         const std::string& x_name, const std::string& W_name) {
        const Tensor x = shape_arg(x_shape, x_name), W = shape_arg(W_shape, W_name);
        const Window2d g = conv2d_window(x, W, stride, padding, dilation);
        return py::make_tuple(g.N, g.OH, g.OW, W.dim(3));
      },
      py::arg("x_shape"), py::arg("W_shape"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
      py::arg("x_name") = "x_shape", py::arg("W_name") = "W_shape",
      "(N, OH, OW, C_out) of conv2d for x of shape (N, H, W, C_in) and kernel (KH, KW, C_in, C_out); errors "
      "name the shapes x_name and W_name.");

  m.def(
      "conv2d_workspace_size",
      [](py::handle x_shape, py::handle W_shape, py::handle stride, py::handle padding, py::handle dilation,
         py::handle dtype, int64_t max_bytes) {
        const Tensor x = shape_arg(x_shape, "x_shape"), W = shape_arg(W_shape, "W_shape");
        const Window2d g = conv2d_window(x, W, stride, padding, dilation);
        const int64_t elem_bytes = float_dtype_bytes(dtype);
        if (max_bytes < 1) throw ValueError("max_bytes: expected a positive int, got " + std::to_string(max_bytes));
        return conv2d_workspace_elems(Dev{}, g, W.dim(3), elem_bytes, max_bytes);
      },
      py::arg("x_shape"), py::arg("W_shape"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
      py::arg("dtype"), py::arg("max_bytes") = kConv2dMaxWorkspaceBytes,
      "Elements of the workspace conv2d_forward/backward use best (at most max_bytes, default 64 MiB, "
      "unless one im2col row is larger; 0 for a 1x1 stride-1 unpadded conv).");

  m.def(
      "conv2d_forward",
      [](py::handle x_, py::handle W_, py::handle b_, py::handle y_, py::handle stride, py::handle padding,
         py::handle dilation, py::handle workspace_, const std::string& activation, double alpha) {
        const Activation f = parse_activation(activation, "activation");
        Tensor x = tensor_arg<Dev>(x_, "x"), W = tensor_arg<Dev>(W_, "W"), y = tensor_arg<Dev>(y_, "y", true);
        std::optional<Tensor> b = optional_tensor_arg<Dev>(b_, "b"),
                              ws = optional_tensor_arg<Dev>(workspace_, "workspace", true);
        const Window2d g = conv2d_window(x, W, stride, padding, dilation);
        const int64_t C_out = W.dim(3);
        check_shape(y, {g.N, g.OH, g.OW, C_out});
        check_same_float({&x, &W, &y});
        if (b) check_shape(*b, {C_out}), check_same_float({&x, &*b});
        const int64_t ws_elems = conv2d_workspace_arg<Dev>(ws, x, g, C_out);
        check_disjoint(y, {&x, &W, maybe(b)});
        if (ws) check_disjoint(*ws, {&x, &W, maybe(b), &y});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          conv2d_forward(Dev{}, x.ptr<T>(), W.ptr<T>(), b ? b->ptr<T>() : nullptr, y.ptr<T>(), g, C_out,
                         ws ? ws->ptr<T>() : nullptr, ws_elems, f, T(alpha));
        });
      },
      py::arg("x"), py::arg("W"), py::arg("b"), py::arg("y"), py::arg("stride"), py::arg("padding"),
      py::arg("dilation"), py::arg("workspace"), py::arg("activation") = "linear", py::arg("alpha") = 0.0,
      "y = activation(conv2d(x, W) + b) (NHWC, Keras kernel layout; b may be None), written into y; alpha is "
      "leaky_relu's slope.");

  m.def(
      "conv2d_backward",
      [](py::handle x_, py::handle W_, py::handle dy_, py::handle dx_, py::handle dW_, py::handle db_,
         py::handle stride, py::handle padding, py::handle dilation, py::handle workspace_) {
        Tensor x = tensor_arg<Dev>(x_, "x"), W = tensor_arg<Dev>(W_, "W"), dy = tensor_arg<Dev>(dy_, "dy"),
               dW = tensor_arg<Dev>(dW_, "dW", true);
        std::optional<Tensor> dx = optional_tensor_arg<Dev>(dx_, "dx", true),
                              db = optional_tensor_arg<Dev>(db_, "db", true),
                              ws = optional_tensor_arg<Dev>(workspace_, "workspace", true);
        const Window2d g = conv2d_window(x, W, stride, padding, dilation);
        const int64_t C_out = W.dim(3);
        check_shape(dy, {g.N, g.OH, g.OW, C_out});
        check_same_shape(dW, W);
        check_same_float({&x, &W, &dy, &dW});
        if (dx) check_same_shape(*dx, x), check_same_float({&x, &*dx});
        if (db) check_shape(*db, {C_out}), check_same_float({&x, &*db});
        const int64_t ws_elems = conv2d_workspace_arg<Dev>(ws, x, g, C_out);
        if (dx) check_disjoint(*dx, {&x, &W, &dy});
        check_disjoint(dW, {&x, &W, &dy, maybe(dx)});
        if (db) check_disjoint(*db, {&x, &W, &dy, maybe(dx), &dW});
        if (ws) check_disjoint(*ws, {&x, &W, &dy, maybe(dx), &dW, maybe(db)});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          conv2d_backward(Dev{}, x.ptr<T>(), W.ptr<T>(), dy.ptr<T>(), dx ? dx->ptr<T>() : nullptr, dW.ptr<T>(),
                          db ? db->ptr<T>() : nullptr, g, C_out, ws ? ws->ptr<T>() : nullptr, ws_elems);
        });
      },
      py::arg("x"), py::arg("W"), py::arg("dy"), py::arg("dx"), py::arg("dW"), py::arg("db"), py::arg("stride"),
      py::arg("padding"), py::arg("dilation"), py::arg("workspace"),
      "dW, db (may be None) and dx (may be None) of conv2d given dy, written in place.");
}

}  // namespace fastnn
