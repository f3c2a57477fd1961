// 2-D pooling over NHWC images, Keras semantics: a KH x KW window (g.KH, g.KW,
// dilation 1) slid with stride (g.sh, g.sw); with 'same' padding the cells
// outside the image are ignored (max) or not counted (average), so every
// window holds at least one real cell. x (N, H, W, C), y (N, OH, OW, C).
#pragma once
#include <cstdint>

#include "../common/device.h"
#include "../common/window_geometry.h"

namespace fastnn {

// y = the max of each window. If argmax is not null, it receives for every
// output element the position ih * W + iw of the max within its image; ties
// go to the first cell in row-major window order.
template <class T>
void max_pool2d_forward(Cpu, const T* x, T* y, int32_t* argmax, const Window2d& g);
template <class T>
void max_pool2d_forward(Cuda, const T* x, T* y, int32_t* argmax, const Window2d& g);

// dx = dy routed to the cells argmax names (a gather: each dx element sums
// the dy of the windows whose max it is, in a fixed order). An argmax value
// outside its window routes nothing (no access depends on it). Returns true
// when the kernel has also verified that every value lies in its window (the
// CPU's 2x2 path does, for free), false when it has not checked (CUDA never
// does: device arrays are not checked value by value).
template <class T>
bool max_pool2d_backward(Cpu, const T* dy, const int32_t* argmax, T* dx, const Window2d& g);
template <class T>
bool max_pool2d_backward(Cuda, const T* dy, const int32_t* argmax, T* dx, const Window2d& g);

// y = the mean of the real cells of each window.
template <class T>
void avg_pool2d_forward(Cpu, const T* x, T* y, const Window2d& g);
template <class T>
void avg_pool2d_forward(Cuda, const T* x, T* y, const Window2d& g);

// dx = each window's dy / (its real cells), summed over the windows holding the cell.
template <class T>
void avg_pool2d_backward(Cpu, const T* dy, T* dx, const Window2d& g);
template <class T>
void avg_pool2d_backward(Cuda, const T* dy, T* dx, const Window2d& g);

// y (N, C) = x (N, HW, C) averaged over its HW pixels.
template <class T>
void global_avg_pool2d_forward(Cpu, const T* x, T* y, int64_t N, int64_t HW, int64_t C);
template <class T>
void global_avg_pool2d_forward(Cuda, const T* x, T* y, int64_t N, int64_t HW, int64_t C);

// dx (N, HW, C) = dy (N, C) / HW at every pixel.
template <class T>
void global_avg_pool2d_backward(Cpu, const T* dy, T* dx, int64_t N, int64_t HW, int64_t C);
template <class T>
void global_avg_pool2d_backward(Cuda, const T* dy, T* dx, int64_t N, int64_t HW, int64_t C);

}  // namespace fastnn
