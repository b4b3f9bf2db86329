#pragma once

/// @file hires_cam.hpp
/// HiResCAM's weights (Draelos & Carin, 2020): the gradient itself, element by element, so the
/// map is the sum over channels of g * A and shows exactly where the score's linear part rests.

#include "lusnet/explain/cam_weights.hpp"

namespace lusnet {

/// w_kij = dy_c/dA_kij: `[N, K, h, w]`.
cam_weights hires_cam_weights(const_tensor_view activations, const_tensor_view gradients);

// ---------------------------------------------------------------------------------------------
// Definitions

inline cam_weights hires_cam_weights(const_tensor_view activations, const_tensor_view gradients) {
    detail::check_cam_inputs("HiResCAM", activations, gradients);
    return {tensor::copy_of(gradients), {}};
}

} // namespace lusnet
