// Checks of scalar arguments and of fixed-dtype buffers at the binding
// boundary, with error messages that name the argument.
#pragma once
#include <sstream>
#include <string>

#include "../common/tensor.h"

namespace fastnn {

// "1", "0.5", "nan": a double printed short, as in Python's repr of 1.0 -> "1".
inline std::string short_float(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

inline void check_float64(const Tensor& t) {
  if (t.dtype != DType::Float64) throw TypeError(t.name + ": expected float64, got " + dtype_name(t.dtype));
}

}  // namespace fastnn
