// PReLU on the CPU: leaky ReLU's math (common/activation_math.h) with the
// slope taken per channel; the slope gradient is a per-column reduction in
// a fixed order (see parallel.h).
#include "../ops/prelu.h"

#include <algorithm>

#include "../common/activation_math.h"
#include "parallel.h"

namespace fastnn {

template <class T>
void prelu_forward(Cpu, const T* x, const T* alpha, T* y, int64_t M, int64_t C) {
#pragma omp parallel for if (M * C > cpu::kParallelMin)
  for (int64_t i = 0; i < M; ++i)
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) y[i * C + c] = activate<Activation::LeakyRelu>(x[i * C + c], alpha[c]);
}

template <class T>
void prelu_backward(Cpu, const T* x, const T* alpha, const T* dy, T* dx, T* dalpha, int64_t M, int64_t C) {
  cpu::for_column_blocks(M, C, [&](int64_t lo, int64_t hi) {
    std::fill(dalpha + lo, dalpha + hi, T(0));
    for (int64_t i = 0; i < M; ++i) {
      const int64_t r = i * C;
#pragma omp simd
      for (int64_t c = lo; c < hi; ++c) {
        const T xv = x[r + c], g = dy[r + c];
        dalpha[c] += xv > T(0) ? T(0) : g * xv;
        dx[r + c] = activate_backprop<Activation::LeakyRelu>(g, xv, xv, alpha[c]);
      }
    }
  });
}

template void prelu_forward<float>(Cpu, const float*, const float*, float*, int64_t, int64_t);
template void prelu_forward<double>(Cpu, const double*, const double*, double*, int64_t, int64_t);
template void prelu_backward<float>(Cpu, const float*, const float*, const float*, float*, float*, int64_t, int64_t);
template void prelu_backward<double>(Cpu, const double*, const double*, const double*, double*, double*, int64_t,
                                     int64_t);

}  // namespace fastnn
