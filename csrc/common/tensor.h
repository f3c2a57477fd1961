// Tensor: a borrowed view (pointer, dtype, shape) of a C-contiguous array
// handed over at the binding boundary, plus the checks every binding runs on
// it. Checks throw fastnn::ValueError / fastnn::TypeError naming the argument;
// the Python module turns them into ValueError / TypeError. Past the
// bindings, kernels trust their arguments.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fastnn {

struct ValueError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
struct TypeError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

enum class DType { Float32, Float64, Int32, Int64, UInt8, Other };

inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
    default: return "unsupported dtype";
  }
}

inline int64_t dtype_size(DType d) {
  switch (d) {
    case DType::Float32: case DType::Int32: return 4;
    case DType::Float64: case DType::Int64: return 8;
    case DType::UInt8: return 1;
    default: return 0;
  }
}

struct Tensor {
  void* data = nullptr;
  DType dtype = DType::Other;
  std::vector<int64_t> shape;
  std::string name;         // the argument name, for error messages
  std::string other_dtype;  // the array's own dtype when dtype is Other, for error messages

  int ndim() const { return static_cast<int>(shape.size()); }
  int64_t dim(int i) const { return shape[i < 0 ? i + ndim() : i]; }
  int64_t numel() const {
    int64_t n = 1;
    for (auto s : shape) n *= s;
    return n;
  }
  bool is_float() const { return dtype == DType::Float32 || dtype == DType::Float64; }
  std::string dtype_str() const { return dtype == DType::Other && !other_dtype.empty() ? other_dtype : dtype_name(dtype); }
  template <class T>
  T* ptr() const { return static_cast<T*>(data); }
};

inline std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + (shape.size() == 1 ? ",)" : ")");
}

// Checks that t has the given shape; -1 matches any size.
inline void check_shape(const Tensor& t, std::initializer_list<int64_t> expected) {
  std::vector<int64_t> want(expected);
  bool ok = t.shape.size() == want.size();
  for (size_t i = 0; ok && i < want.size(); ++i) ok = want[i] < 0 || want[i] == t.shape[i];
  if (!ok) {
    std::string w = "(";
    for (size_t i = 0; i < want.size(); ++i)
      w += (i ? ", " : "") + (want[i] < 0 ? std::string("any") : std::to_string(want[i]));
    w += want.size() == 1 ? ",)" : ")";
    throw ValueError(t.name + ": expected shape " + w + ", got " + shape_str(t.shape));
  }
}

inline void check_same_shape(const Tensor& t, const Tensor& like) {
  if (t.shape != like.shape)
    throw ValueError(t.name + ": expected shape " + shape_str(like.shape) + " like " + like.name + ", got " +
                     shape_str(t.shape));
}

inline void check_ndim(const Tensor& t, int ndim) {
  if (t.ndim() != ndim)
    throw ValueError(t.name + ": expected a " + std::to_string(ndim) + "-D array, got " +
                     std::to_string(t.ndim()) + "-D with shape " + shape_str(t.shape));
}

inline void check_float(const Tensor& t) {
  if (!t.is_float())
    throw TypeError(t.name + ": expected float32 or float64, got " + t.dtype_str());
}

inline void check_nonempty(const Tensor& t) {
  if (t.numel() == 0) throw ValueError(t.name + ": expected a non-empty array, got shape " + shape_str(t.shape));
}

// All tensors share the first one's floating dtype (no silent casting).
inline void check_same_float(std::initializer_list<const Tensor*> ts) {
  const Tensor& first = **ts.begin();
  check_float(first);
  for (const Tensor* t : ts)
    if (t->dtype != first.dtype)
      throw TypeError(t->name + ": expected dtype " + dtype_name(first.dtype) + " like " + first.name + ", got " +
                      t->dtype_str());
}

// The tensor of an optional argument, or null.
inline const Tensor* maybe(const std::optional<Tensor>& t) { return t ? &*t : nullptr; }

// An output must not share memory with the arrays its kernel reads while
// writing it (or with its other outputs): the result would depend on the
// order of the writes. Null entries are skipped.
inline void check_disjoint(const Tensor& out, std::initializer_list<const Tensor*> others) {
  const auto* lo = static_cast<const char*>(out.data);
  const auto* hi = lo + out.numel() * dtype_size(out.dtype);
  for (const Tensor* t : others) {
    if (!t) continue;
    const auto* tlo = static_cast<const char*>(t->data);
    if (lo < tlo + t->numel() * dtype_size(t->dtype) && tlo < hi)
      throw ValueError(out.name + ": must not overlap " + t->name + ", which the kernel reads while writing " +
                       out.name + "; pass a separate array");
  }
}

// Calls f(T{}) with T = float or double according to dtype.
template <class F>
void dispatch_float(DType dtype, F&& f) {
  if (dtype == DType::Float32) f(float{});
  else f(double{});
}

}  // namespace fastnn
