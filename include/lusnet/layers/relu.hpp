#pragma once

/// @file relu.hpp
/// Rectified linear unit, `max(x, 0)` element-wise (`nn.ReLU`).

#include "lusnet/detail/parallel.hpp"
#include "lusnet/layers/layer.hpp"

namespace lusnet {

/// `max(x, 0)` element-wise.
class relu : public same_shape_layer {
public:
    const char* kind() const override { return "ReLU"; }
    using same_shape_layer::forward;
    tensor forward(const_tensor_view input) const override {
        tensor output = tensor::uninitialized(input.shape());
        const float* x = input.data();
        float* y = output.data();
        LUSNET_PARALLEL_FOR
        for (std::size_t i = 0; i < input.size(); ++i) {
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        }
        return output;
    }
};

} // namespace lusnet
