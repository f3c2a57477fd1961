// Conv2D on the CPU for few output channels (C_out <= kNarrowMaxCout): the
// im2col GEMM y = col(x) W with an implicit im2col, fed to a register-blocked
// micro-kernel. See conv2d_narrow.cpp.
#pragma once
#include <cstdint>

#include "../common/activation_math.h"
#include "../common/window_geometry.h"

namespace fastnn::cpu {

constexpr int64_t kNarrowMaxCout = 16;

// True when the narrow kernels take this convolution (C_out <= kNarrowMaxCout).
bool conv2d_narrow_applies(const Window2d& g, int64_t C_out);

// The workspace (elements) the narrow kernels use with `threads` threads.
int64_t conv2d_narrow_workspace_elems(const Window2d& g, int64_t C_out, int threads);

// Run the convolution and return true, or return false (doing nothing) when
// the narrow kernels do not apply or the workspace is too small for them on
// even one thread. The forward writes y = f(conv + b), f applied in registers.
template <class T>
bool conv2d_narrow_forward(const T* x, const T* W, const T* b, T* y, const Window2d& g, int64_t C_out, T* workspace,
                           int64_t workspace_elems, Activation f, T alpha);
template <class T>
bool conv2d_narrow_backward(const T* x, const T* W, const T* dy, T* dx, T* dW, T* db, const Window2d& g,
                            int64_t C_out, T* workspace, int64_t workspace_elems);

}  // namespace fastnn::cpu
