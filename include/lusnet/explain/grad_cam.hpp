#pragma once

/// @file grad_cam.hpp
/// Grad-CAM's weights (Selvaraju et al., ICCV 2017, eq. 1): the spatial mean of the gradient.

#include "lusnet/explain/cam_weights.hpp"

namespace lusnet {

/// alpha_k = mean over (i, j) of dy_c/dA_kij, one weight per channel: `[N, K, 1, 1]`.
cam_weights grad_cam_weights(const_tensor_view activations, const_tensor_view gradients);

// ---------------------------------------------------------------------------------------------
// Definitions

inline cam_weights grad_cam_weights(const_tensor_view activations, const_tensor_view gradients) {
    detail::check_cam_inputs("Grad-CAM", activations, gradients);
    const shape4 s = gradients.shape();
    const std::size_t plane = s.plane_size();

    cam_weights result{tensor::uninitialized({s.n, s.c, 1, 1}), {}};
    for (std::size_t p = 0; p < s.n * s.c; ++p) {
        const float* g = gradients.data() + p * plane;
        double sum = 0.0;
        for (std::size_t i = 0; i < plane; ++i) {
            sum += g[i];
        }
        result.weights.data()[p] = static_cast<float>(sum / static_cast<double>(plane));
    }
    return result;
}

} // namespace lusnet
