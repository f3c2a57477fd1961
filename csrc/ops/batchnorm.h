// Batch normalization over the channel (last) axis of x viewed as (M, C):
// M = N for (N, C) inputs, M = N*H*W for (N, H, W, C) inputs.
//
//   y = gamma * (x - mean) * inv_std + beta,   inv_std = 1 / sqrt(var + eps)
//
// Training uses the batch mean and biased variance and updates the running
// statistics Keras's way (biased variance, running = momentum * running +
// (1 - momentum) * batch); inference uses the running statistics.
//
// The saved statistics (mean, inv_std) are float64 for every T: a float32
// mean rounded to float32 would be off by up to half an ulp of the mean,
// which for inputs around 1e4 with unit spread is 5e-4 of a standard
// deviation in every normalized value of the backward pass.
//
// relu = true fuses an Activation('relu') after the normalization (the
// model's plan does so for BatchNormalization -> Activation('relu')):
// y = max(z, 0) with z the normalized value, and the backward takes dy as the
// gradient with respect to that ReLU's output, masking it where z <= 0 with
// z recomputed from x (common/batchnorm_math.h), in both of its passes. The
// ReLU so costs no memory traffic of its own.
#pragma once
#include <cstdint>

#include "../common/device.h"

namespace fastnn {

// Number of float64 values of the workspace that the training forward and
// the backward need (per-block partial sums, reduced in a fixed order). Each
// device cuts the rows into blocks its own way, so the sizes differ.
int64_t batchnorm_workspace_size(Cpu, int64_t M, int64_t C);
int64_t batchnorm_workspace_size(Cuda, int64_t M, int64_t C);

// Training forward: writes y, save_mean, save_inv_std (float64, C each; the
// statistics of x, with or without relu), updates running_mean / running_var
// in place. y may alias x.
template <class T>
void batchnorm_forward_train(Cpu, const T* x, const T* gamma, const T* beta, T* running_mean, T* running_var, T* y,
                             double* save_mean, double* save_inv_std, double* workspace, double momentum,
                             double eps, int64_t M, int64_t C, bool relu);
template <class T>
void batchnorm_forward_train(Cuda, const T* x, const T* gamma, const T* beta, T* running_mean, T* running_var, T* y,
                             double* save_mean, double* save_inv_std, double* workspace, double momentum,
                             double eps, int64_t M, int64_t C, bool relu);

// Inference forward with the running statistics. y may alias x.
template <class T>
void batchnorm_forward_infer(Cpu, const T* x, const T* gamma, const T* beta, const T* running_mean,
                             const T* running_var, T* y, double eps, int64_t M, int64_t C, bool relu);
template <class T>
void batchnorm_forward_infer(Cuda, const T* x, const T* gamma, const T* beta, const T* running_mean,
                             const T* running_var, T* y, double eps, int64_t M, int64_t C, bool relu);

// Backward of the inference forward (the running statistics are constants):
// dx = dy * gamma / sqrt(running_var + eps). dx may alias dy.
template <class T>
void batchnorm_inference_backward(Cpu, const T* dy, const T* gamma, const T* running_var, T* dx, double eps,
                                  int64_t M, int64_t C);
template <class T>
void batchnorm_inference_backward(Cuda, const T* dy, const T* gamma, const T* running_var, T* dx, double eps,
                                  int64_t M, int64_t C);

// Backward of the training forward, with xhat = (x - mean) * inv_std and
// g = dy (relu: dy where z > 0, else 0):
//   dbeta = sum(g), dgamma = sum(g * xhat),
//   dx = gamma * inv_std / M * (M * g - dbeta - xhat * dgamma).
// beta is read only with relu (it may be null otherwise). dx may alias dy or x.
template <class T>
void batchnorm_backward(Cpu, const T* x, const T* gamma, const T* beta, const T* dy, const double* save_mean,
                        const double* save_inv_std, T* dx, T* dgamma, T* dbeta, double* workspace, int64_t M,
                        int64_t C, bool relu);
template <class T>
void batchnorm_backward(Cuda, const T* x, const T* gamma, const T* beta, const T* dy, const double* save_mean,
                        const double* save_inv_std, T* dx, T* dgamma, T* dbeta, double* workspace, int64_t M,
                        int64_t C, bool relu);

// The passes of a training step whose batch is spread over several processes
// (synchronized batch norm), each on this process's M rows; the caller sums
// the per-channel sums over the processes between them:
//   batchnorm_sums:       sums = [sum(x - shift), sum((x - shift)^2)]  (2C doubles)
//   batchnorm_apply:      y = gamma * (x - mean) * inv_std + beta      (y may alias x)
//   batchnorm_grad_sums:  sums = [sum(dy), sum(dy * (x - mean))]
//   batchnorm_grad_apply: dx from the totals of batchnorm_grad_sums over M_total
//                         rows, as batchnorm_backward (dx may alias dy or x).
template <class T>
void batchnorm_sums(Cpu, const T* x, const double* shift, double* sums, double* workspace, int64_t M, int64_t C);
template <class T>
void batchnorm_sums(Cuda, const T* x, const double* shift, double* sums, double* workspace, int64_t M, int64_t C);
template <class T>
void batchnorm_apply(Cpu, const T* x, const T* gamma, const T* beta, const double* mean, const double* inv_std, T* y,
                     int64_t M, int64_t C);
template <class T>
void batchnorm_apply(Cuda, const T* x, const T* gamma, const T* beta, const double* mean, const double* inv_std, T* y,
                     int64_t M, int64_t C);
template <class T>
void batchnorm_grad_sums(Cpu, const T* x, const T* dy, const double* mean, double* sums, double* workspace, int64_t M,
                         int64_t C);
template <class T>
void batchnorm_grad_sums(Cuda, const T* x, const T* dy, const double* mean, double* sums, double* workspace,
                         int64_t M, int64_t C);
template <class T>
void batchnorm_grad_apply(Cpu, const T* x, const T* gamma, const T* dy, const double* mean, const double* inv_std,
                          const double* sums, double M_total, T* dx, int64_t M, int64_t C);
template <class T>
void batchnorm_grad_apply(Cuda, const T* x, const T* gamma, const T* dy, const double* mean, const double* inv_std,
                          const double* sums, double M_total, T* dx, int64_t M, int64_t C);

}  // namespace fastnn
