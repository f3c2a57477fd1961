// Conversion of Python arguments to fastnn::Tensor at the binding boundary.
// Raw bindings take only C-contiguous, aligned arrays of the right memory
// kind; anything else is rejected with an error naming the argument (the
// public fastnn.ops layer copies non-contiguous inputs before calling here).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
#include <string>

#include "../common/device.h"
#include "../common/tensor.h"

namespace fastnn {
namespace py = pybind11;

inline DType numpy_dtype(const py::dtype& dt) {
  if (dt.is(py::dtype::of<float>())) return DType::Float32;
  if (dt.is(py::dtype::of<double>())) return DType::Float64;
  if (dt.is(py::dtype::of<int32_t>())) return DType::Int32;
  if (dt.is(py::dtype::of<int64_t>())) return DType::Int64;
  if (dt.is(py::dtype::of<uint8_t>())) return DType::UInt8;
  return DType::Other;
}

inline std::string type_name(const py::handle& obj) {
  return py::str(py::type::handle_of(obj).attr("__module__")).cast<std::string>() + "." +
         py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>();
}

// A host (numpy) array argument. `writable` is required of outputs.
inline Tensor host_tensor(const py::handle& obj, const char* name, bool writable = false) {
  if (!py::isinstance<py::array>(obj))
    throw TypeError(std::string(name) + ": expected a numpy.ndarray, got " + type_name(obj));
  auto a = py::reinterpret_borrow<py::array>(obj);
  const int flags = py::detail::array_proxy(a.ptr())->flags;
  if (!(flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_))
    throw ValueError(std::string(name) +
                     ": expected a C-contiguous array (raw kernels do not copy; use fastnn.ops or "
                     "numpy.ascontiguousarray)");
  if (!(flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw ValueError(std::string(name) + ": expected an aligned array");
  if (writable && !a.writeable()) throw ValueError(std::string(name) + ": output array is read-only");
  Tensor t;
  t.data = const_cast<void*>(a.data());
  t.dtype = numpy_dtype(a.dtype());
  t.shape.assign(a.shape(), a.shape() + a.ndim());
  t.name = name;
  return t;
}

template <class Dev>
Tensor tensor_arg(const py::handle& obj, const char* name, bool writable = false);

template <>
inline Tensor tensor_arg<Cpu>(const py::handle& obj, const char* name, bool writable) {
  return host_tensor(obj, name, writable);
}

// An argument that may be None (an optional bias, a gradient not wanted).
template <class Dev>
std::optional<Tensor> optional_tensor_arg(const py::handle& obj, const char* name, bool writable = false) {
  if (obj.is_none()) return std::nullopt;
  return tensor_arg<Dev>(obj, name, writable);
}

}  // namespace fastnn
