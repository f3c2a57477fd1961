// SpatialDropout2D's keep mask: dropout's (common/dropout_math.h) drawn over
// the (sample, channel) units instead of elements, so a whole feature map is
// kept or dropped: unit = n * C + c keys the Philox stream exactly as element
// index `unit` keys dropout's (the mask equals dropout_mask of shape (N, C)).
#pragma once
#include <cstdint>

#include "dropout_math.h"

namespace fastnn {

// The (sample, channel) unit of element i of an (N, HW, C) array.
FASTNN_HD inline int64_t spatial_dropout_unit(int64_t i, int64_t HW, int64_t C) {
  return (i / (HW * C)) * C + i % C;
}

// Whether unit `unit` is kept: word unit % 4 of Philox group unit / 4.
FASTNN_HD inline bool spatial_dropout_keep(uint64_t seed, uint64_t step, int64_t unit, uint32_t threshold) {
  return threshold == 0 || dropout_keep(philox_stream(seed, step, uint64_t(unit / 4)).v[unit % 4], threshold);
}

}  // namespace fastnn
