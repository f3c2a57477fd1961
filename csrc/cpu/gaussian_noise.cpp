// Gaussian noise on the CPU: Philox bits chunk by chunk from philox_stream.h,
// turned into normal values pair by pair (common/gaussian_noise_math.h).
#include "../ops/gaussian_noise.h"

#include <algorithm>

#include "../common/gaussian_noise_math.h"
#include "philox_stream.h"

namespace fastnn {

template <class T>
void gaussian_noise_add(Cpu, const T* x, T* y, int64_t n, double stddev, uint64_t seed, uint64_t step) {
  if (stddev == 0) {
    if (y != x) std::copy(x, x + n, y);
    return;
  }
  const T s = T(stddev);
  cpu::for_each_philox_chunk(n, gaussian_noise_seed(seed), step, 0, [&](int64_t i0, int64_t m, const uint32_t* bits) {
    for (int64_t i = 0; i < m; i += 2) {  // chunks start at multiples of 4: pairs stay whole
      T z0, z1;
      box_muller(bits[i], bits[i + 1], z0, z1);
      y[i0 + i] = x[i0 + i] + s * z0;
      if (i + 1 < m) y[i0 + i + 1] = x[i0 + i + 1] + s * z1;
    }
  });
}

template void gaussian_noise_add<float>(Cpu, const float*, float*, int64_t, double, uint64_t, uint64_t);
template void gaussian_noise_add<double>(Cpu, const double*, double*, int64_t, double, uint64_t, uint64_t);

}  // namespace fastnn
