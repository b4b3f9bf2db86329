#pragma once

/// @file grad_cam_plus_plus.hpp
/// Grad-CAM++'s weights (Chattopadhay et al., WACV 2018, eq. 19 and 7), in the closed form that
/// takes the class score to be the exponential of the logit, so second and third derivatives
/// are powers of the first.

#include "lusnet/explain/cam_weights.hpp"

namespace lusnet {

/// w_k = sum over (i, j) of a_kij * ReLU(g_kij), with
/// a_kij = g^2 / (2 g^2 + (sum over (a, b) of A_kab) * g^3), and a = 0 where that denominator is
/// 0 (so where g = 0 too): `[N, K, 1, 1]`.
cam_weights grad_cam_plus_plus_weights(const_tensor_view activations, const_tensor_view gradients);

// ---------------------------------------------------------------------------------------------
// Definitions

inline cam_weights grad_cam_plus_plus_weights(const_tensor_view activations,
                                              const_tensor_view gradients) {
    detail::check_cam_inputs("Grad-CAM++", activations, gradients);
    const shape4 s = gradients.shape();
    const std::size_t plane = s.plane_size();

    cam_weights result{tensor::uninitialized({s.n, s.c, 1, 1}), {}};
    for (std::size_t p = 0; p < s.n * s.c; ++p) {
        const float* a = activations.data() + p * plane;
        const float* g = gradients.data() + p * plane;
        float activation_sum = 0.0f;
        for (std::size_t i = 0; i < plane; ++i) {
            activation_sum += a[i];
        }

        double weight = 0.0;
        for (std::size_t i = 0; i < plane; ++i) {
            // In float and in this order, as the definition reads, so it rounds as PyTorch.
            const float g2 = g[i] * g[i];
            const float g3 = g2 * g[i];
            const float denominator = 2.0f * g2 + activation_sum * g3;
            const float alpha = denominator != 0.0f ? g2 / denominator : 0.0f;
            weight += g[i] > 0.0f ? double(alpha) * double(g[i]) : 0.0;
        }
        result.weights.data()[p] = static_cast<float>(weight);
    }
    return result;
}

} // namespace lusnet
