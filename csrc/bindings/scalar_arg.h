// Checks of scalar arguments and of fixed-dtype buffers at the binding
// boundary, with error messages that name the argument.
#pragma once
#include <pybind11/pybind11.h>

#include <cmath>
#include <sstream>
#include <string>

#include "../common/tensor.h"
#include "tensor_arg.h"

namespace fastnn {

// "1", "0.5", "nan": a double printed short, as in Python's repr of 1.0 -> "1".
inline std::string short_float(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// A hyperparameter such as a learning rate or a penalty factor.
inline void check_finite_nonneg(double v, const char* name) {
  if (!std::isfinite(v) || v < 0)
    throw ValueError(std::string(name) + ": expected a finite value >= 0, got " + std::to_string(v));
}

inline void check_float64(const Tensor& t) {
  if (t.dtype != DType::Float64) throw TypeError(t.name + ": expected float64, got " + t.dtype_str());
}

// A Python integer (or anything with __index__, like numpy.int64) in [0, 2^bits).
inline uint64_t unsigned_arg(const py::handle& obj, const std::string& name, int bits = 64) {
  PyObject* index = PyNumber_Index(obj.ptr());
  if (!index) {
    PyErr_Clear();
    throw TypeError(name + ": expected an int, got " + type_name(obj));
  }
  const auto value = py::reinterpret_steal<py::int_>(index);
  const unsigned long long v = PyLong_AsUnsignedLongLong(value.ptr());
  const bool overflow = v == static_cast<unsigned long long>(-1) && PyErr_Occurred();
  if (overflow) PyErr_Clear();
  if (overflow || (bits < 64 && (v >> bits) != 0))
    throw ValueError(name + ": expected an int in [0, 2**" + std::to_string(bits) + "), got " +
                     py::repr(value).cast<std::string>());
  return v;
}

}  // namespace fastnn
