// Dropout on the CPU: the mask's random bits come chunk by chunk from
// philox_stream.h and are applied as they come.
#include "../ops/dropout.h"

#include <algorithm>

#include "../common/dropout_math.h"
#include "philox_stream.h"
#include "simd_clones.h"

namespace fastnn {
namespace {

template <class T>
FASTNN_SIMD_CLONES void apply_bits(const T* in, T* out, int64_t m, const uint32_t* bits, uint32_t threshold,
                                   T scale) {
  // in * (keep ? scale : 0): a select between constants vectorizes as a
  // blend (a select of in * scale would stay a branch on random bits).
  for (int64_t i = 0; i < m; ++i) out[i] = in[i] * (dropout_keep(bits[i], threshold) ? scale : T(0));
}

}  // namespace

template <class T>
void dropout_apply(Cpu, const T* in, T* out, int64_t n, double p, uint64_t seed, uint64_t step, uint64_t first) {
  const uint32_t threshold = dropout_threshold(p);
  if (threshold == 0) {  // p = 0 (or below 2^-24): every unit kept, scale 1
    if (out != in) std::copy(in, in + n, out);
    return;
  }
  const T scale = T(1.0 / (1.0 - p));
  cpu::for_each_philox_chunk(n, seed, step, first, [&](int64_t i0, int64_t m, const uint32_t* bits) {
    apply_bits(in + i0, out + i0, m, bits, threshold, scale);
  });
}

void dropout_mask(Cpu, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t step, uint64_t first) {
  const uint32_t threshold = dropout_threshold(p);
  cpu::for_each_philox_chunk(n, seed, step, first, [&](int64_t i0, int64_t m, const uint32_t* bits) {
    for (int64_t i = 0; i < m; ++i) mask[i0 + i] = dropout_keep(bits[i], threshold);
  });
}

template void dropout_apply<float>(Cpu, const float*, float*, int64_t, double, uint64_t, uint64_t, uint64_t);
template void dropout_apply<double>(Cpu, const double*, double*, int64_t, double, uint64_t, uint64_t, uint64_t);

}  // namespace fastnn
