// Rescaling on the CPU: one parallel, vectorized pass.
#include "../ops/rescaling.h"

#include "../common/rescaling_math.h"
#include "parallel.h"

namespace fastnn {

template <class T>
void rescaling_apply(Cpu, const T* in, T* out, int64_t n, T scale, T offset) {
#pragma omp parallel for simd if (n > cpu::kParallelMin)
  for (int64_t i = 0; i < n; ++i) out[i] = rescale(in[i], scale, offset);
}

template void rescaling_apply<float>(Cpu, const float*, float*, int64_t, float, float);
template void rescaling_apply<double>(Cpu, const double*, double*, int64_t, double, double);

}  // namespace fastnn
