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

    backward_reads reads_for_backward(bool) const override { return {false, true}; }

protected:
    /// dL/dx = dL/dy where y > 0, else 0 (PyTorch's choice at the kink x = 0 too).
    tensor do_backward(const_tensor_view input, const_tensor_view output,
                       const_tensor_view grad_output,
                       parameter_gradients* parameter_grads) const override {
        tensor grad_input = tensor::uninitialized(output.shape());
        const float* y = output.data();
        const float* dy = grad_output.data();
        float* dx = grad_input.data();
        LUSNET_PARALLEL_FOR
        for (std::size_t i = 0; i < output.size(); ++i) {
            dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        }
        return grad_input;
    }
};

} // namespace lusnet
