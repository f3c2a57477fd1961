// im2col / col2im for NHWC images (the Caffe scheme, channels last), shared
// by the convolution kernels.
//
// The column matrix has one row per output pixel, ordered (n, oh, ow) like
// the rows of an NHWC output, and KH * KW * C columns ordered (kh, kw, c)
// like a Keras kernel (KH, KW, C_in, C_out) read as a (KH*KW*C_in, C_out)
// matrix, so that   y (rows, C_out) = col (rows, KH*KW*C) @ W.
#pragma once
#include <cstdint>

#include "../common/device.h"
#include "../common/window_geometry.h"

namespace fastnn {

// Writes rows [r0, r1) of the column matrix of x (N, H, W, C) into col
// ((r1 - r0) x g.patch()); r counts output pixels over the whole batch, so a
// range may span images. Taps in the padding read 0.
template <class T>
void im2col(Cpu, const T* x, T* col, const Window2d& g, int64_t r0, int64_t r1);

// The adjoint of im2col for output pixels [p0, p1) of image n: every input
// pixel of dx (N, H, W, C) receives the sum of the col entries that im2col
// would have copied from it. col holds those (p1 - p0) rows.
//
// A gather: each dx pixel sums its own contributions in a fixed order (taps
// kh, kw ascending), so the result is deterministic without atomics. With
// accumulate = false the whole image must be given (p0 = 0, p1 = OH*OW) and
// every pixel of dx image n is written (0 where nothing falls); with
// accumulate = true the sums are added to dx, so an image can be built from
// consecutive pixel ranges.
template <class T>
void col2im(Cpu, const T* col, T* dx, const Window2d& g, int64_t n, int64_t p0, int64_t p1, bool accumulate);

// The GPU pair works on a run of column-matrix rows [r0, r1) of the whole
// batch (several images per launch, unlike the CPU's one image per col2im
// call). im2col as above. col2im: every dx pixel of the images the rows touch
// gathers the col entries of those rows that im2col would have copied from
// it, taps (kh, kw) ascending, so it is deterministic without atomics. With
// accumulate = false the rows must be whole images (r0 and r1 multiples of
// OH*OW) and every pixel of those images is written; with accumulate = true
// the sums are added to dx (cleared beforehand), so images may be built
// from consecutive row runs.
template <class T>
void im2col(Cuda, const T* x, T* col, const Window2d& g, int64_t r0, int64_t r1);
template <class T>
void col2im(Cuda, const T* col, T* dx, const Window2d& g, int64_t r0, int64_t r1, bool accumulate);

}  // namespace fastnn
