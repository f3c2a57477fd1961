#include "philox_stream.h"

#include "../common/philox.h"
#include "simd_clones.h"

namespace fastnn::cpu {

FASTNN_SIMD_CLONES_AVX512 void philox_chunk(uint64_t seed, uint64_t step, uint64_t g0, int64_t count,
                                            uint32_t* bits) {
  for (int64_t i = 0; i < count; ++i) {
    const Philox4x32 r = philox_stream(seed, step, g0 + uint64_t(i));
    for (int j = 0; j < 4; ++j) bits[4 * i + j] = r.v[j];
  }
}

}  // namespace fastnn::cpu
