#pragma once

/// @file cam_weights.hpp
/// What a Grad-CAM family method contributes to the shared pipeline: weights for the
/// activations of the target layer, so that the map is `ReLU(sum over k of w_k * A_k + offset)`.

#include "lusnet/error.hpp"
#include "lusnet/tensor.hpp"

#include <string>
#include <vector>

namespace lusnet {

/// The weights one method gives the activations `A` `[N, K, h, w]` of the target layer.
struct cam_weights {
    /// `[N, K, 1, 1]`, one weight per channel (Grad-CAM), or `[N, K, h, w]`, one per element
    /// (HiResCAM, LayerCAM).
    tensor weights;
    /// Per image, added to the weighted sum before the ReLU; empty means zero. Only EigenCAM
    /// has one: its projection of centred activations is an affine map of the raw ones.
    std::vector<float> offset;
};

namespace detail {

/// Throws unless activations and gradients `[N, K, h, w]` have one shape.
inline void check_cam_inputs(const char* method, const_tensor_view activations,
                             const_tensor_view gradients) {
    if (activations.shape() != gradients.shape() || activations.size() == 0) {
        throw shape_error(std::string(method) + " weights", "activations and gradients",
                          "expected two non-empty tensors of one shape, got " +
                              activations.shape().str() + " and " + gradients.shape().str());
    }
}

} // namespace detail

} // namespace lusnet
