#pragma once

/// @file flatten.hpp
/// Flatten (`torch.flatten(x, 1)`): `[N, C, H, W]` -> `[N, C*H*W, 1, 1]`.

#include "lusnet/layers/layer.hpp"

namespace lusnet {

/// Folds channels and space into one feature axis in C, H, W order, as PyTorch does.
class flatten : public unary_layer {
public:
    const char* kind() const override { return "Flatten"; }
    using unary_layer::forward;
    using unary_layer::output_shape;
    shape4 output_shape(const shape4& input) const override {
        return {input.n, input.sample_size(), 1, 1};
    }
    tensor forward(const_tensor_view input) const override {
        return tensor::copy_of(input.reshape(output_shape(input.shape())));
    }

protected:
    /// dL/dy folded back into the input's shape.
    tensor do_backward(const_tensor_view input, const_tensor_view output,
                       const_tensor_view grad_output,
                       parameter_gradients* parameter_grads) const override {
        return tensor::copy_of(grad_output.reshape(input.shape()));
    }
};

} // namespace lusnet
