// MSE and binary cross-entropy on logits on the CPU: one row per iteration,
// row sums accumulated in double so float32 losses over wide rows stay exact.
#include "../ops/loss.h"

#include "../common/loss_math.h"

namespace fastnn {

constexpr int64_t kParallelMin = 1 << 14;

template <class T>
void mse_forward(Cpu, const T* pred, const T* target, T* loss, int64_t M, int64_t F) {
#pragma omp parallel for if (M * F > kParallelMin)
  for (int64_t i = 0; i < M; ++i) {
    double s = 0;
    for (int64_t j = i * F; j < (i + 1) * F; ++j) s += double(pred[j] - target[j]) * double(pred[j] - target[j]);
    loss[i] = T(s / double(F));
  }
}

template <class T>
void mse_backward(Cpu, const T* pred, const T* target, T* dpred, T scale, int64_t M, int64_t F) {
  const T k = scale * T(2) / T(F);
#pragma omp parallel for simd if (M * F > kParallelMin)
  for (int64_t j = 0; j < M * F; ++j) dpred[j] = k * (pred[j] - target[j]);
}

template <class T>
void bce_logits_forward(Cpu, const T* logits, const T* target, T* loss, int64_t M, int64_t F) {
#pragma omp parallel for if (M * F > kParallelMin)
  for (int64_t i = 0; i < M; ++i) {
    double s = 0;
    for (int64_t j = i * F; j < (i + 1) * F; ++j) s += double(bce_logits(logits[j], target[j]));
    loss[i] = T(s / double(F));
  }
}

template <class T>
void bce_logits_backward(Cpu, const T* logits, const T* target, T* dlogits, T scale, int64_t M, int64_t F) {
  const T k = scale / T(F);
#pragma omp parallel for simd if (M * F > kParallelMin)
  for (int64_t j = 0; j < M * F; ++j) dlogits[j] = k * bce_logits_grad(logits[j], target[j]);
}

#define INSTANTIATE(T)                                                                       \
  template void mse_forward<T>(Cpu, const T*, const T*, T*, int64_t, int64_t);              \
  template void mse_backward<T>(Cpu, const T*, const T*, T*, T, int64_t, int64_t);          \
  template void bce_logits_forward<T>(Cpu, const T*, const T*, T*, int64_t, int64_t);       \
  template void bce_logits_backward<T>(Cpu, const T*, const T*, T*, T, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
