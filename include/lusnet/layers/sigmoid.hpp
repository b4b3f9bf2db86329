#pragma once

/// @file sigmoid.hpp
/// Logistic sigmoid element-wise (`nn.Sigmoid`).

#include "lusnet/layers/layer.hpp"

#include <cmath>

namespace lusnet {

/// `1 / (1 + exp(-x))` element-wise, evaluated without overflow for large |x|.
class sigmoid : public same_shape_layer {
public:
    const char* kind() const override { return "Sigmoid"; }
    using same_shape_layer::forward;
    tensor forward(const_tensor_view input) const override {
        tensor output = tensor::uninitialized(input.shape());
        const float* x = input.data();
        float* y = output.data();
        for (std::size_t i = 0; i < input.size(); ++i) {
            // exp of a non-positive number only, so neither branch overflows.
            const float e = std::exp(-std::fabs(x[i]));
            y[i] = x[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
        }
        return output;
    }

    backward_reads reads_for_backward(bool) const override { return {false, true}; }

protected:
    /// dL/dx = dL/dy * y * (1 - y), from the output alone.
    tensor do_backward(const_tensor_view input, const_tensor_view output,
                       const_tensor_view grad_output,
                       parameter_gradients* parameter_grads) const override {
        tensor grad_input = tensor::uninitialized(output.shape());
        const float* y = output.data();
        const float* dy = grad_output.data();
        float* dx = grad_input.data();
        for (std::size_t i = 0; i < output.size(); ++i) {
            dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        }
        return grad_input;
    }
};

} // namespace lusnet
