// Python arguments of sliding-window ops (conv, pooling): int-or-pair sizes
// and Keras padding, checked and turned into a Window2d. Every error names
// the argument it is about.
#pragma once
#include <cctype>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "../common/window_geometry.h"
#include "tensor_arg.h"

namespace fastnn {

using Pair = std::pair<int64_t, int64_t>;

inline std::string py_repr(const py::handle& obj) { return py::repr(obj).cast<std::string>(); }

inline bool is_py_int(const py::handle& obj) {
  return py::isinstance<py::int_>(obj) && !py::isinstance<py::bool_>(obj);
}

// Window sizes, strides, dilations and paddings are at most this: the
// window arithmetic (extents, padded sizes) then stays far from int64 overflow.
constexpr int64_t kMaxWindowArg = (int64_t(1) << 31) - 1;

// Whether a Python int lies in [min, max]; `value` gets it, clamped to int64.
inline bool int_in_range(const py::handle& obj, int64_t min, int64_t max, int64_t& value) {
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
  value = overflow > 0 ? INT64_MAX : overflow < 0 ? INT64_MIN : v;
  return value >= min && value <= max && !overflow;
}

// An int or a pair of ints (tuple or list), each in [min, kMaxWindowArg].
inline Pair int_pair_arg(const py::handle& obj, const char* name, int64_t min) {
  const std::string what = min > 0 ? "positive int" : "non-negative int";
  const auto type_error = [&] {
    return TypeError(std::string(name) + ": expected a " + what + " or a pair of them, got " + py_repr(obj));
  };
  std::vector<py::handle> items;
  if (is_py_int(obj)) {
    items.assign(2, obj);
  } else if ((py::isinstance<py::tuple>(obj) || py::isinstance<py::list>(obj)) && py::len(obj) == 2) {
    for (auto item : obj) items.push_back(item);
  } else {
    throw type_error();
  }
  int64_t v[2];
  for (int i = 0; i < 2; ++i) {
    if (!is_py_int(items[i])) throw type_error();
    if (!int_in_range(items[i], min, kMaxWindowArg, v[i]))
      throw ValueError(std::string(name) + ": expected a " + what + " or a pair of them" +
                       (v[i] < min ? "" : " (at most 2**31 - 1)") + ", got " + py_repr(obj));
  }
  return {v[0], v[1]};
}

struct PaddingArg {
  PaddingMode mode = PaddingMode::Valid;
  Pair pad{0, 0};
};

// 'valid' or 'same' (any case), or (convolutions only) explicit zero padding:
// an int or a pair (rows, columns) of ints >= 0, added on both sides.
inline PaddingArg padding_arg(const py::handle& obj, bool allow_explicit) {
  const std::string expected =
      allow_explicit ? "'valid', 'same', an int >= 0 or a pair of them" : "'valid' or 'same'";
  if (py::isinstance<py::str>(obj)) {
    std::string s = obj.cast<std::string>();
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (s == "valid") return {PaddingMode::Valid, {0, 0}};
    if (s == "same") return {PaddingMode::Same, {0, 0}};
    throw ValueError("padding: expected " + expected + ", got " + py_repr(obj));
  }
  if (!allow_explicit) throw TypeError("padding: expected " + expected + ", got " + py_repr(obj));
  return {PaddingMode::Explicit, int_pair_arg(obj, "padding", 0)};
}

// No array has more than 2**48 elements: sizes derived from shapes below it
// (workspaces, im2col rows, element counts) cannot overflow int64.
constexpr int64_t kMaxElements = int64_t(1) << 48;

// Whether the product of the (non-negative) sizes is at most kMaxElements.
inline bool product_fits(std::initializer_list<int64_t> sizes) {
  int64_t p = 1;
  for (int64_t s : sizes) {
    if (s == 0) return true;
    if (s < 0 || p > kMaxElements / s) return false;
    p *= s;
  }
  return true;
}

// A shape given as a tuple of ints (for the shape helpers), as a Tensor so
// the usual checks apply; dtype is not looked at.
inline Tensor shape_arg(const py::handle& obj, const std::string& name) {
  Tensor t;
  t.name = name;
  if (!py::isinstance<py::tuple>(obj) && !py::isinstance<py::list>(obj))
    throw TypeError(name + ": expected a tuple of ints, got " + py_repr(obj));
  for (auto item : obj) {
    int64_t v;
    if (!is_py_int(item)) throw TypeError(name + ": expected a tuple of ints, got " + py_repr(obj));
    if (!int_in_range(item, INT64_MIN, int64_t(1) << 48, v))  // no array is larger; keeps the arithmetic exact
      throw ValueError(name + ": expected sizes of at most 2**48, got " + py_repr(obj));
    t.shape.push_back(v);
  }
  int64_t elements = 1;
  for (int64_t v : t.shape)
    if (v > 0 && !product_fits({elements, v}))
      throw ValueError(name + ": expected at most 2**48 elements, got shape " + py_repr(obj));
    else if (v > 0)
      elements *= v;
  return t;
}

// Every size of t is at least 1.
inline void check_positive_sizes(const Tensor& t) {
  for (int64_t s : t.shape)
    if (s < 1) throw ValueError(t.name + ": expected positive sizes, got shape " + shape_str(t.shape));
}

// The window geometry of a KH x KW window over the NHWC input x (4-D, checked
// here). `window` names the argument that sets the window size, for the
// error raised when the window does not fit the padded input.
inline Window2d make_window(const Tensor& x, int64_t KH, int64_t KW, Pair stride, const PaddingArg& padding,
                            Pair dilation, const std::string& window) {
  check_ndim(x, 4);
  check_positive_sizes(x);
  Window2d g{};
  g.N = x.dim(0), g.H = x.dim(1), g.W = x.dim(2), g.C = x.dim(3);
  g.KH = KH, g.KW = KW;
  g.sh = stride.first, g.sw = stride.second;
  g.dh = dilation.first, g.dw = dilation.second;
  const WindowAxis rows = window_axis(g.H, KH, g.sh, g.dh, padding.mode, padding.pad.first);
  const WindowAxis cols = window_axis(g.W, KW, g.sw, g.dw, padding.mode, padding.pad.second);
  if (rows.out < 1 || cols.out < 1) {
    const int64_t eh = dilated_extent(KH, g.dh), ew = dilated_extent(KW, g.dw);
    const int64_t ph = padding.mode == PaddingMode::Explicit ? 2 * padding.pad.first : 0;
    const int64_t pw = padding.mode == PaddingMode::Explicit ? 2 * padding.pad.second : 0;
    throw ValueError(window + ": the window spans " + std::to_string(eh) + "x" + std::to_string(ew) +
                     " input cells, more than the " + std::to_string(g.H + ph) + "x" + std::to_string(g.W + pw) +
                     " padded input " + shape_str(x.shape) + " has");
  }
  g.OH = rows.out, g.OW = cols.out;
  g.pad_top = rows.pad_before, g.pad_left = cols.pad_before;
  if (!product_fits({g.N, g.OH, g.OW, g.C}) || !product_fits({KH, KW, g.C}))
    throw ValueError(window + ": the output (" + std::to_string(g.OH) + "x" + std::to_string(g.OW) +
                     " pixels) or the window (" + std::to_string(KH) + "x" + std::to_string(KW) +
                     ") would have more than 2**48 elements");
  return g;
}

// The dtype of a workspace-size query: float32 or float64, in bytes.
inline int64_t float_dtype_bytes(const py::handle& obj) {
  const py::dtype dt = py::dtype::from_args(py::reinterpret_borrow<py::object>(obj));
  const DType d = numpy_dtype(dt);
  if (d != DType::Float32 && d != DType::Float64)
    throw TypeError("dtype: expected float32 or float64, got " + py::str(dt).cast<std::string>());
  return d == DType::Float32 ? 4 : 8;
}

}  // namespace fastnn
