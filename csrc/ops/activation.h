// Element-wise activations a = f(z) and their backward dz = da * f'(z).
#pragma once
#include <cstdint>

#include "../common/activation_math.h"
#include "../common/device.h"

namespace fastnn {

template <class T>
void activation_forward(Cpu, Activation kind, T alpha, const T* z, T* a, int64_t n);
template <class T>
void activation_forward(Cuda, Activation kind, T alpha, const T* z, T* a, int64_t n);

// Needs z and a = f(z) from the forward pass; dz may alias da.
template <class T>
void activation_backward(Cpu, Activation kind, T alpha, const T* z, const T* a, const T* da, T* dz, int64_t n);
template <class T>
void activation_backward(Cuda, Activation kind, T alpha, const T* z, const T* a, const T* da, T* dz, int64_t n);

}  // namespace fastnn
