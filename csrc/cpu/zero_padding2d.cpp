// ZeroPadding2D on the CPU: row by row, an interior row is one contiguous
// copy of W * C elements between zero borders.
#include "../ops/zero_padding2d.h"

#include <algorithm>

#include "parallel.h"

namespace fastnn {

template <class T>
void zero_padding2d_forward(Cpu, const Padding2d& p, const T* x, T* y) {
  const int64_t OH = p.out_h(), OW = p.out_w(), row = OW * p.C;
#pragma omp parallel for if (p.N * OH * row > cpu::kParallelMin)
  for (int64_t r = 0; r < p.N * OH; ++r) {
    const int64_t n = r / OH, h = r % OH - p.top;
    T* out = y + r * row;
    if (h < 0 || h >= p.H) {
      std::fill(out, out + row, T(0));
      continue;
    }
    std::fill(out, out + p.left * p.C, T(0));
    std::copy_n(x + (n * p.H + h) * p.W * p.C, p.W * p.C, out + p.left * p.C);
    std::fill(out + (p.left + p.W) * p.C, out + row, T(0));
  }
}

template <class T>
void zero_padding2d_backward(Cpu, const Padding2d& p, const T* dy, T* dx) {
  const int64_t OW = p.out_w(), row = p.W * p.C;
#pragma omp parallel for if (p.N * p.H * row > cpu::kParallelMin)
  for (int64_t r = 0; r < p.N * p.H; ++r) {
    const int64_t n = r / p.H, h = r % p.H;
    std::copy_n(dy + ((n * p.out_h() + h + p.top) * OW + p.left) * p.C, row, dx + r * row);
  }
}

template void zero_padding2d_forward<float>(Cpu, const Padding2d&, const float*, float*);
template void zero_padding2d_forward<double>(Cpu, const Padding2d&, const double*, double*);
template void zero_padding2d_backward<float>(Cpu, const Padding2d&, const float*, float*);
template void zero_padding2d_backward<double>(Cpu, const Padding2d&, const double*, double*);

}  // namespace fastnn
