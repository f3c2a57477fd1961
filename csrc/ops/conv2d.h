// 2-D convolution, channels last (Keras layout): x (N, H, W, C_in), kernel
// W (KH, KW, C_in, C_out), bias b (C_out,), y (N, OH, OW, C_out), with the
// window geometry (stride, padding, dilation) in g (g.C = C_in).
//
// Computed as im2col + GEMM: y = col(x) W. The column matrix is never built
// whole: it is made piece by piece in a caller-provided workspace whose size
// conv2d_workspace_elems gives (bounded by max_bytes however large the batch).
#pragma once
#include <cstdint>

#include "../common/activation_math.h"
#include "../common/device.h"
#include "../common/window_geometry.h"

namespace fastnn {

// A 1x1 window, stride 1, no padding: x itself is the column matrix, so the
// kernels need no workspace.
inline bool conv2d_is_pointwise(const Window2d& g) {
  return g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.pad_top == 0 && g.pad_left == 0 &&
         g.OH == g.H && g.OW == g.W;
}

// The least workspace (in elements) the kernels accept: one column-matrix
// row (KH*KW*C_in elements) and a bias-gradient row of C_out; on the CPU also
// the transposed kernel (KH*KW*C_in x C_out), which its backward multiplies by.
inline int64_t conv2d_min_workspace_elems(Cuda, const Window2d& g, int64_t C_out) {
  return conv2d_is_pointwise(g) ? 0 : g.patch() + C_out;
}
inline int64_t conv2d_min_workspace_elems(Cpu, const Window2d& g, int64_t C_out) {
  return conv2d_is_pointwise(g) ? 0 : g.patch() * (1 + C_out) + C_out;
}

// Workspace (in elements of elem_bytes each) that conv2d_forward and
// conv2d_backward use best with the current thread count: at most max_bytes,
// unless conv2d_min_workspace_elems is larger. The kernels accept any
// workspace of at least conv2d_min_workspace_elems; less means smaller pieces
// or fewer threads.
int64_t conv2d_workspace_elems(Cpu, const Window2d& g, int64_t C_out, int64_t elem_bytes, int64_t max_bytes);
// The GPU's: one column-matrix chunk, as many whole images as fit max_bytes
// (larger GEMMs run faster on the GPU; whole images spare col2im a pass).
int64_t conv2d_workspace_elems(Cuda, const Window2d& g, int64_t C_out, int64_t elem_bytes, int64_t max_bytes);

// y = f(conv(x, W) + b); b may be null. The activation f (alpha: leaky_relu's
// slope) is applied as each piece of y is written, while it is in cache; with
// f = Linear y is the convolution itself.
template <class T>
void conv2d_forward(Cpu, const T* x, const T* W, const T* b, T* y, const Window2d& g, int64_t C_out,
                    T* workspace, int64_t workspace_elems, Activation f = Activation::Linear, T alpha = T(0));
template <class T>
void conv2d_forward(Cuda, const T* x, const T* W, const T* b, T* y, const Window2d& g, int64_t C_out,
                    T* workspace, int64_t workspace_elems, Activation f = Activation::Linear, T alpha = T(0));

// Given dy = dL/dy: dW = col(x)^T dy, db = dy summed over pixels (if db is
// not null), dx = col2im(dy W^T) (if dx is not null).
template <class T>
void conv2d_backward(Cpu, const T* x, const T* W, const T* dy, T* dx, T* dW, T* db, const Window2d& g,
                     int64_t C_out, T* workspace, int64_t workspace_elems);
template <class T>
void conv2d_backward(Cuda, const T* x, const T* W, const T* dy, T* dx, T* dW, T* db, const Window2d& g,
                     int64_t C_out, T* workspace, int64_t workspace_elems);

}  // namespace fastnn
