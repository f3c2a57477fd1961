// Dense (fully connected) layer a = f(z), z = x W + b, with x: (M, K),
// W: (K, N), b: (N,) and f an element-wise activation (Linear: a = z).
#pragma once
#include <cstdint>

#include "../common/activation_math.h"
#include "../common/device.h"

namespace fastnn {

// z = x W + b by GEMM, then one epilogue pass adds b and, if a is non-null,
// writes a = f(z). b may be null (no bias).
template <class T>
void dense_forward(Cpu, const T* x, const T* W, const T* b, T* z, T* a, Activation f, T alpha, int64_t M, int64_t K,
                   int64_t N);
template <class T>
void dense_forward(Cuda, const T* x, const T* W, const T* b, T* z, T* a, Activation f, T alpha, int64_t M, int64_t K,
                   int64_t N);

// dy is the gradient with respect to the layer's output. For f != Linear a
// prologue pass writes dz = dy * f'(z) (z, a from the forward pass; dz may
// alias dy) and sums db in the same pass; then dW = x^T dz and dx = dz W^T.
// For f == Linear dz is unused (may be null). dx and db may be null.
template <class T>
void dense_backward(Cpu, const T* x, const T* W, const T* dy, T* dz, const T* z, const T* a, Activation f, T alpha,
                    T* dx, T* dW, T* db, int64_t M, int64_t K, int64_t N);
template <class T>
void dense_backward(Cuda, const T* x, const T* W, const T* dy, T* dz, const T* z, const T* a, Activation f, T alpha,
                    T* dx, T* dW, T* db, int64_t M, int64_t K, int64_t N);

// db[N] = sum over the M rows of dy[M, N] (the bias gradient of dense and conv layers).
// On both devices each column is summed in a fixed order: repeated runs give identical bits.
template <class T>
void bias_grad(Cpu, const T* dy, T* db, int64_t M, int64_t N);
template <class T>
void bias_grad(Cuda, const T* dy, T* db, int64_t M, int64_t N);

}  // namespace fastnn
