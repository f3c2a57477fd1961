// Device tags. Every op is declared once per device as an overload on its tag
// (see csrc/ops/*.h); the bindings are templates over the tag, so one binding
// (with its argument checks) serves the CPU module and the CUDA modules.
#pragma once

namespace fastnn {

struct Cpu {};

}  // namespace fastnn
