// SpatialDropout2D on the CPU: the (N, C) unit mask is drawn once from the
// Philox stream (philox_stream.h, as dropout's), then one parallel pass over
// the samples applies each sample's C scales to its HW pixels.
#include "../ops/spatial_dropout.h"

#include <algorithm>
#include <vector>

#include "../common/spatial_dropout_math.h"
#include "parallel.h"
#include "philox_stream.h"

namespace fastnn {

template <class T>
void spatial_dropout_apply(Cpu, const T* in, T* out, int64_t N, int64_t HW, int64_t C, double p, uint64_t seed,
                           uint64_t step) {
  const uint32_t threshold = dropout_threshold(p);
  const int64_t n = N * HW * C;
  if (threshold == 0) {  // p = 0 (or below 2^-24): every unit kept, scale 1
    if (out != in) std::copy(in, in + n, out);
    return;
  }
  const T scale = T(1.0 / (1.0 - p));
  std::vector<T> unit_scale(size_t(N * C));
  cpu::for_each_philox_chunk(N * C, seed, step, 0, [&](int64_t u0, int64_t m, const uint32_t* bits) {
    for (int64_t u = 0; u < m; ++u) unit_scale[u0 + u] = dropout_keep(bits[u], threshold) ? scale : T(0);
  });
#pragma omp parallel for if (n > cpu::kParallelMin)
  for (int64_t s = 0; s < N; ++s) {
    const T* k = unit_scale.data() + s * C;
    for (int64_t i = s * HW * C, end = (s + 1) * HW * C; i < end; i += C)
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) out[i + c] = in[i + c] * k[c];  // a dropped inf or nan gives nan
  }
}

template void spatial_dropout_apply<float>(Cpu, const float*, float*, int64_t, int64_t, int64_t, double, uint64_t,
                                           uint64_t);
template void spatial_dropout_apply<double>(Cpu, const double*, double*, int64_t, int64_t, int64_t, double, uint64_t,
                                            uint64_t);

}  // namespace fastnn
