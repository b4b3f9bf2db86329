#pragma once

/// @file layer_cam.hpp
/// LayerCAM's weights (Jiang et al., IEEE TIP 2021, eq. 5): the positive part of the gradient,
/// element by element, so locations that lower the score do not cancel those that raise it.

#include "lusnet/explain/cam_weights.hpp"

namespace lusnet {

/// w_kij = ReLU(dy_c/dA_kij): `[N, K, h, w]`.
cam_weights layer_cam_weights(const_tensor_view activations, const_tensor_view gradients);

// ---------------------------------------------------------------------------------------------
// Definitions

inline cam_weights layer_cam_weights(const_tensor_view activations, const_tensor_view gradients) {
    detail::check_cam_inputs("LayerCAM", activations, gradients);
    cam_weights result{tensor::uninitialized(gradients.shape()), {}};
    const float* g = gradients.data();
    float* w = result.weights.data();
    for (std::size_t i = 0; i < gradients.size(); ++i) {
        w[i] = g[i] > 0.0f ? g[i] : 0.0f;
    }
    return result;
}

} // namespace lusnet
