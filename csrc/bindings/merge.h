// Bindings of the merge ops (Add, Subtract, Multiply, Average, Maximum,
// Concatenate) for device Dev. Inputs come as a list of arrays of one dtype;
// every error names the list argument (xs, dxs) and the item at fault.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "../ops/merge.h"
#include "scalar_arg.h"
#include "tensor_arg.h"

namespace fastnn {

inline MergeKind merge_kind_arg(const std::string& kind, bool backward) {
  if (kind == "multiply") return MergeKind::Multiply;
  if (kind == "maximum") return MergeKind::Maximum;
  if (!backward) {
    if (kind == "add") return MergeKind::Add;
    if (kind == "subtract") return MergeKind::Subtract;
    if (kind == "average") return MergeKind::Average;
  }
  const std::string expected =
      backward ? "'multiply' or 'maximum'" : "'add', 'subtract', 'multiply', 'average' or 'maximum'";
  throw ValueError("kind: expected " + expected + ", got '" + kind + "'");
}

// A list (or tuple) of 1 to kMaxMergeInputs float arrays of one dtype.
template <class Dev>
std::vector<Tensor> tensor_list_arg(const py::handle& obj, const char* name, bool writable = false) {
  if (!py::isinstance<py::list>(obj) && !py::isinstance<py::tuple>(obj))
    throw TypeError(std::string(name) + ": expected a list of arrays, got " + type_name(obj));
  const auto items = py::reinterpret_borrow<py::sequence>(obj);
  const size_t count = items.size();
  if (count == 0) throw ValueError(std::string(name) + ": expected at least 1 array, got an empty list");
  if (count > size_t(kMaxMergeInputs))
    throw ValueError(std::string(name) + ": expected at most " + std::to_string(kMaxMergeInputs) + " arrays, got " +
                     std::to_string(count));
  std::vector<Tensor> ts;
  for (size_t i = 0; i < count; ++i) ts.push_back(tensor_arg<Dev>(items[i], name, writable));
  check_float(ts[0]);
  for (size_t i = 1; i < count; ++i)
    if (ts[i].dtype != ts[0].dtype)
      throw TypeError(std::string(name) + ": item " + std::to_string(i) + " has dtype " + ts[i].dtype_str() +
                      ", item 0 has " + dtype_name(ts[0].dtype));
  return ts;
}

inline void check_same_shapes(const std::vector<Tensor>& ts) {
  for (size_t i = 1; i < ts.size(); ++i)
    if (ts[i].shape != ts[0].shape)
      throw ValueError(ts[i].name + ": item " + std::to_string(i) + " has shape " + shape_str(ts[i].shape) +
                       ", item 0 has " + shape_str(ts[0].shape));
}

// Every output is disjoint from every array read (and from the other outputs).
inline void check_disjoint_lists(const std::vector<Tensor>& outs, const std::vector<const Tensor*>& reads) {
  for (size_t i = 0; i < outs.size(); ++i) {
    for (const Tensor* r : reads) check_disjoint(outs[i], {r});
    for (size_t j = 0; j < i; ++j) check_disjoint(outs[i], {&outs[j]});
  }
}

template <class P, class T>
MergeArrays<P> merge_arrays(const std::vector<Tensor>& ts) {
  MergeArrays<P> a{};
  a.count = static_cast<int>(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) a.p[i] = ts[i].ptr<T>();
  return a;
}

inline std::vector<const Tensor*> addresses(const std::vector<Tensor>& ts) {
  std::vector<const Tensor*> out;
  for (const Tensor& t : ts) out.push_back(&t);
  return out;
}

// Rows of the concatenation of `parts` along `axis`, and the shape it has;
// parts agree in every other axis.
inline ConcatGeometry concat_geometry(const std::vector<Tensor>& parts, int64_t axis, std::vector<int64_t>& whole) {
  const Tensor& first = parts[0];
  const int ndim = first.ndim();
  if (ndim == 0) throw ValueError(first.name + ": cannot concatenate 0-D arrays");
  if (axis < -ndim || axis >= ndim)
    throw ValueError("axis: expected an axis in [" + std::to_string(-ndim) + ", " + std::to_string(ndim) +
                     ") for " + std::to_string(ndim) + "-D arrays, got " + std::to_string(axis));
  const int a = static_cast<int>(axis < 0 ? axis + ndim : axis);
  whole = first.shape;
  whole[a] = 0;
  int64_t inner = 1;
  for (int d = a + 1; d < ndim; ++d) inner *= first.shape[d];
  ConcatGeometry g{};
  g.count = static_cast<int>(parts.size());
  g.outer = 1;
  for (int d = 0; d < a; ++d) g.outer *= first.shape[d];
  for (size_t i = 0; i < parts.size(); ++i) {
    std::vector<int64_t> s = parts[i].shape;
    bool same = s.size() == first.shape.size();
    for (int d = 0; same && d < ndim; ++d) same = d == a || s[d] == first.shape[d];
    if (!same)
      throw ValueError(parts[i].name + ": item " + std::to_string(i) + " has shape " + shape_str(s) + ", item 0 has " +
                       shape_str(first.shape) + "; they must match except along axis " + std::to_string(a));
    whole[a] += s[a];
    g.offset[i + 1] = g.offset[i] + s[a] * inner;
  }
  g.row = g.offset[g.count];
  return g;
}

inline void check_shape_is(const Tensor& t, const std::vector<int64_t>& shape, const std::string& why) {
  if (t.shape != shape)
    throw ValueError(t.name + ": expected shape " + shape_str(shape) + " (" + why + "), got " + shape_str(t.shape));
}

template <class Dev>
void bind_merge(py::module_& m) {
  m.def(
      "merge_forward",
      [](const std::string& kind_, py::handle xs_, py::handle y_) {
        const MergeKind kind = merge_kind_arg(kind_, false);
        const std::vector<Tensor> xs = tensor_list_arg<Dev>(xs_, "xs");
        Tensor y = tensor_arg<Dev>(y_, "y", true);
        if (kind == MergeKind::Subtract && xs.size() != 2)
          throw ValueError("xs: subtract takes exactly 2 arrays, got " + std::to_string(xs.size()));
        check_same_shapes(xs);
        check_same_float({&xs[0], &y});
        check_same_shape(y, xs[0]);
        check_disjoint_lists({y}, addresses(xs));
        py::gil_scoped_release nogil;
        dispatch_float(y.dtype, [&](auto t) {
          using T = decltype(t);
          merge_forward(Dev{}, kind, merge_arrays<const T, T>(xs), y.ptr<T>(), y.numel());
        });
      },
      py::arg("kind"), py::arg("xs"), py::arg("y"),
      "y = the element-wise merge of the same-shape arrays xs: kind 'add' (sum), 'subtract' (xs[0] - xs[1]),\n"
      "'multiply' (product), 'average' (sum / len(xs)) or 'maximum' (NaN propagates). y must not overlap xs.");
  m.def(
      "merge_backward",
      [](const std::string& kind_, py::handle xs_, py::handle dy_, py::handle dxs_) {
        const MergeKind kind = merge_kind_arg(kind_, true);
        const std::vector<Tensor> xs = tensor_list_arg<Dev>(xs_, "xs");
        Tensor dy = tensor_arg<Dev>(dy_, "dy");
        const std::vector<Tensor> dxs = tensor_list_arg<Dev>(dxs_, "dxs", true);
        check_same_shapes(xs);
        check_same_float({&xs[0], &dy, &dxs[0]});
        check_same_shape(dy, xs[0]);
        if (dxs.size() != xs.size())
          throw ValueError("dxs: expected " + std::to_string(xs.size()) + " arrays like xs, got " +
                           std::to_string(dxs.size()));
        for (const Tensor& dx : dxs) check_same_shape(dx, xs[0]);
        std::vector<const Tensor*> reads = addresses(xs);
        reads.push_back(&dy);
        check_disjoint_lists(dxs, reads);
        py::gil_scoped_release nogil;
        dispatch_float(dy.dtype, [&](auto t) {
          using T = decltype(t);
          merge_backward(Dev{}, kind, merge_arrays<const T, T>(xs), dy.ptr<T>(), merge_arrays<T, T>(dxs), dy.numel());
        });
      },
      py::arg("kind"), py::arg("xs"), py::arg("dy"), py::arg("dxs"),
      "The input gradients dxs of merge_forward's 'multiply' (dy times the product of the other inputs) or\n"
      "'maximum' (dy to the first input holding the maximum, 0 to the others). dxs must not overlap anything.");
  m.def(
      "merge_divide",
      [](py::handle dy_, py::handle dx_, double divisor) {
        if (!std::isfinite(divisor) || divisor == 0)
          throw ValueError("divisor: expected a finite nonzero number, got " + short_float(divisor));
        Tensor dy = tensor_arg<Dev>(dy_, "dy"), dx = tensor_arg<Dev>(dx_, "dx", true);
        check_same_float({&dy, &dx});
        check_same_shape(dx, dy);
        py::gil_scoped_release nogil;
        dispatch_float(dy.dtype, [&](auto t) {
          using T = decltype(t);
          merge_divide(Dev{}, dy.ptr<T>(), dx.ptr<T>(), dy.numel(), T(divisor));
        });
      },
      py::arg("dy"), py::arg("dx"), py::arg("divisor"),
      "dx = dy / divisor: Average's input gradient (divisor len(xs)), Subtract's second (-1); dx may be dy.");
  m.def(
      "concatenate_forward",
      [](py::handle xs_, py::handle y_, int64_t axis) {
        const std::vector<Tensor> xs = tensor_list_arg<Dev>(xs_, "xs");
        Tensor y = tensor_arg<Dev>(y_, "y", true);
        std::vector<int64_t> whole;
        const ConcatGeometry g = concat_geometry(xs, axis, whole);
        check_same_float({&xs[0], &y});
        check_shape_is(y, whole, "xs concatenated");
        check_disjoint_lists({y}, addresses(xs));
        py::gil_scoped_release nogil;
        dispatch_float(y.dtype, [&](auto t) {
          using T = decltype(t);
          concatenate_forward(Dev{}, g, merge_arrays<const T, T>(xs), y.ptr<T>());
        });
      },
      py::arg("xs"), py::arg("y"), py::arg("axis"),
      "y = the arrays xs joined along axis (they match in every other axis). y must not overlap xs.");
  m.def(
      "concatenate_backward",
      [](py::handle dy_, py::handle dxs_, int64_t axis) {
        Tensor dy = tensor_arg<Dev>(dy_, "dy");
        const std::vector<Tensor> dxs = tensor_list_arg<Dev>(dxs_, "dxs", true);
        std::vector<int64_t> whole;
        const ConcatGeometry g = concat_geometry(dxs, axis, whole);
        check_same_float({&dy, &dxs[0]});
        check_shape_is(dy, whole, "dxs concatenated");
        check_disjoint_lists(dxs, {&dy});
        py::gil_scoped_release nogil;
        dispatch_float(dy.dtype, [&](auto t) {
          using T = decltype(t);
          concatenate_backward(Dev{}, g, dy.ptr<T>(), merge_arrays<T, T>(dxs));
        });
      },
      py::arg("dy"), py::arg("dxs"), py::arg("axis"),
      "Splits dy along axis into dxs (their shapes give the split). dxs must not overlap dy or each other.");
}

}  // namespace fastnn
