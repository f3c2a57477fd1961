// Dropout on the CPU: elements are taken in chunks of kGroups Philox calls
// (4 elements each); a chunk's random bits are generated into a stack
// buffer by a loop the compiler vectorizes across calls, then applied. Any
// split of the chunks over threads gives the same result: the mask depends
// only on (seed, step, index).
#include "../ops/dropout.h"

#include <algorithm>

#include "../common/dropout_math.h"
#include "simd_clones.h"

namespace fastnn {
namespace {

constexpr int64_t kGroups = 256;              // Philox calls per chunk: 4 KiB of bits
constexpr int64_t kParallelMin = 1 << 15;     // below this many elements, one thread

// bits[4i + j] = word j of the Philox output for group g0 + i, i < count.
FASTNN_SIMD_CLONES_AVX512 void chunk_bits(uint64_t seed, uint64_t step, uint64_t g0, int64_t count, uint32_t* bits) {
  for (int64_t i = 0; i < count; ++i) {
    const Philox4x32 r = dropout_bits(seed, step, g0 + uint64_t(i));
    for (int j = 0; j < 4; ++j) bits[4 * i + j] = r.v[j];
  }
}

template <class T>
FASTNN_SIMD_CLONES void apply_bits(const T* in, T* out, int64_t m, const uint32_t* bits, uint32_t threshold,
                                   T scale) {
  // in * (keep ? scale : 0): a select between constants vectorizes as a
  // blend (a select of in * scale would stay a branch on random bits).
  for (int64_t i = 0; i < m; ++i) out[i] = in[i] * (dropout_keep(bits[i], threshold) ? scale : T(0));
}

// Calls f(first element, element count, bits) for every chunk, in parallel.
template <class F>
void for_each_chunk(int64_t n, uint64_t seed, uint64_t step, F&& f) {
  const int64_t groups = (n + 3) / 4, chunks = (groups + kGroups - 1) / kGroups;
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t k = 0; k < chunks; ++k) {
    uint32_t bits[4 * kGroups];
    const int64_t g0 = k * kGroups, count = std::min(kGroups, groups - g0);
    chunk_bits(seed, step, uint64_t(g0), count, bits);
    f(4 * g0, std::min(4 * count, n - 4 * g0), bits);
  }
}

}  // namespace

template <class T>
void dropout_apply(Cpu, const T* in, T* out, int64_t n, double p, uint64_t seed, uint64_t step) {
  const uint32_t threshold = dropout_threshold(p);
  if (threshold == 0) {  // p = 0 (or below 2^-24): every unit kept, scale 1
    if (out != in) std::copy(in, in + n, out);
    return;
  }
  const T scale = T(1.0 / (1.0 - p));
  for_each_chunk(n, seed, step, [&](int64_t i0, int64_t m, const uint32_t* bits) {
    apply_bits(in + i0, out + i0, m, bits, threshold, scale);
  });
}

void dropout_mask(Cpu, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t step) {
  const uint32_t threshold = dropout_threshold(p);
  for_each_chunk(n, seed, step, [&](int64_t i0, int64_t m, const uint32_t* bits) {
    for (int64_t i = 0; i < m; ++i) mask[i0 + i] = dropout_keep(bits[i], threshold);
  });
}

template void dropout_apply<float>(Cpu, const float*, float*, int64_t, double, uint64_t, uint64_t);
template void dropout_apply<double>(Cpu, const double*, double*, int64_t, double, uint64_t, uint64_t);

}  // namespace fastnn
