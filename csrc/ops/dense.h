// Dense (fully connected) layer y = x W + b, x: (M, K), W: (K, N), b: (N,).
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

// b may be null (no bias).
template <class T>
void dense_forward(Cpu, const T* x, const T* W, const T* b, T* y, int64_t M, int64_t K, int64_t N);

// dW = x^T dy, db = column sums of dy, dx = dy W^T; dx and db may be null.
template <class T>
void dense_backward(Cpu, const T* x, const T* W, const T* dy, T* dx, T* dW, T* db, int64_t M, int64_t K,
                    int64_t N);

// db[N] = sum over the M rows of dy[M, N] (the bias gradient of dense and conv layers).
template <class T>
void bias_grad(Cpu, const T* dy, T* db, int64_t M, int64_t N);

}  // namespace fastnn
