// Bindings of softmax and fused softmax + cross-entropy for device Dev.
#pragma once
#include <string>

#include "../ops/softmax.h"
#include "tensor_arg.h"

namespace fastnn {

// Class-index targets must lie in [0, C): checked here because an index out
// of range would read outside the row. Host memory only; on the GPU the
// kernels turn such a row's loss and gradient into NaN instead.
template <class Label>
void check_class_indices(const Tensor& target, int64_t C) {
  const Label* t = target.ptr<Label>();
  for (int64_t i = 0; i < target.numel(); ++i)
    if (t[i] < 0 || t[i] >= C)
      throw ValueError(target.name + ": class index " + std::to_string(t[i]) + " at position " + std::to_string(i) +
                       " is out of range [0, " + std::to_string(C) + ")");
}

// An int32/int64 class-index target (M,) of (M, C) scores: checks its shape
// (and its indices where Dev's arrays are readable) and calls f(T{}, Label{})
// with the scores' element type T and the target's element type Label.
template <class Dev, class F>
void dispatch_class_index_target(const Tensor& scores, const Tensor& target, F&& f) {
  check_shape(target, {scores.dim(0)});
  auto with_label = [&](auto label) {
    using L = decltype(label);
    if constexpr (host_arrays<Dev>) check_class_indices<L>(target, scores.dim(1));
    dispatch_float(scores.dtype, [&](auto t) { f(t, label); });
  };
  if (target.dtype == DType::Int32) with_label(int32_t{});
  else with_label(int64_t{});
}

// Checks target (class indices or one-hot rows) against (M, C) logits and
// calls f(T{}, Label{}) with the logits' element type T and the target's
// element type Label.
template <class Dev, class F>
void dispatch_target(const Tensor& logits, const Tensor& target, F&& f) {
  const int64_t M = logits.dim(0), C = logits.dim(1);
  if (target.dtype == DType::Int32 || target.dtype == DType::Int64) {
    dispatch_class_index_target<Dev>(logits, target, f);
  } else if (target.dtype == logits.dtype) {
    check_shape(target, {M, C});
    dispatch_float(logits.dtype, [&](auto t) { f(t, t); });
  } else {
    throw TypeError(target.name + ": expected int32/int64 class indices of shape (M,) or " +
                    dtype_name(logits.dtype) + " one-hot rows of shape (M, C), got " + target.dtype_str());
  }
}

template <class Dev>
void bind_softmax(py::module_& m) {
  m.def(
      "softmax_forward",
      [](py::handle x_, py::handle y_) {
        Tensor x = tensor_arg<Dev>(x_, "x"), y = tensor_arg<Dev>(y_, "y", true);
        check_ndim(x, 2);
        check_nonempty(x);
        check_same_shape(y, x);
        check_same_float({&x, &y});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          softmax_forward(Dev{}, x.ptr<T>(), y.ptr<T>(), x.dim(0), x.dim(1));
        });
      },
      py::arg("x"), py::arg("y"), "y = softmax(x) over the last axis of a 2-D x, written into y.");

  m.def(
      "softmax_backward",
      [](py::handle y_, py::handle dy_, py::handle dx_) {
        Tensor y = tensor_arg<Dev>(y_, "y"), dy = tensor_arg<Dev>(dy_, "dy"), dx = tensor_arg<Dev>(dx_, "dx", true);
        check_ndim(y, 2);
        check_same_shape(dy, y);
        check_same_shape(dx, y);
        check_same_float({&y, &dy, &dx});
        py::gil_scoped_release nogil;
        dispatch_float(y.dtype, [&](auto t) {
          using T = decltype(t);
          softmax_backward(Dev{}, y.ptr<T>(), dy.ptr<T>(), dx.ptr<T>(), y.dim(0), y.dim(1));
        });
      },
      py::arg("y"), py::arg("dy"), py::arg("dx"), "dx = y * (dy - sum(dy * y)) given y = softmax(x).");

  m.def(
      "softmax_cross_entropy_forward",
      [](py::handle logits_, py::handle target_, py::handle probs_, py::handle loss_) {
        Tensor z = tensor_arg<Dev>(logits_, "logits"), t = tensor_arg<Dev>(target_, "target"),
               p = tensor_arg<Dev>(probs_, "probs", true), loss = tensor_arg<Dev>(loss_, "loss", true);
        check_ndim(z, 2);
        check_nonempty(z);
        check_same_shape(p, z);
        check_shape(loss, {z.dim(0)});
        check_same_float({&z, &p, &loss});
        check_disjoint(p, {&z, &t});
        check_disjoint(loss, {&z, &t, &p});
        dispatch_target<Dev>(z, t, [&](auto tt, auto label) {
          using T = decltype(tt);
          using L = decltype(label);
          py::gil_scoped_release nogil;
          softmax_cross_entropy_forward(Dev{}, z.ptr<T>(), t.ptr<L>(), p.ptr<T>(), loss.ptr<T>(), z.dim(0), z.dim(1));
        });
      },
      py::arg("logits"), py::arg("target"), py::arg("probs"), py::arg("loss"),
      "probs = softmax(logits); loss[i] = cross-entropy of row i against target (class indices or one-hot rows).");

  m.def(
      "softmax_cross_entropy_backward",
      [](py::handle probs_, py::handle target_, py::handle dlogits_, double scale) {
        Tensor p = tensor_arg<Dev>(probs_, "probs"), t = tensor_arg<Dev>(target_, "target"),
               d = tensor_arg<Dev>(dlogits_, "dlogits", true);
        check_ndim(p, 2);
        check_nonempty(p);
        check_same_shape(d, p);
        check_same_float({&p, &d});
        check_disjoint(d, {&t});  // d may be probs
        dispatch_target<Dev>(p, t, [&](auto tt, auto label) {
          using T = decltype(tt);
          using L = decltype(label);
          py::gil_scoped_release nogil;
          softmax_cross_entropy_backward(Dev{}, p.ptr<T>(), t.ptr<L>(), d.ptr<T>(), T(scale), p.dim(0), p.dim(1));
        });
      },
      py::arg("probs"), py::arg("target"), py::arg("dlogits"), py::arg("scale"),
      "dlogits = scale * (probs - target): the gradient of scale * sum(loss).");
}

}  // namespace fastnn
