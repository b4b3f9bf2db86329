#pragma once

/// @file add.hpp
/// Element-wise sum of two tensors of one shape: the join of a residual connection.

#include "lusnet/layers/layer.hpp"

namespace lusnet {

/// a + b element-wise.
class add : public layer {
public:
    const char* kind() const override { return "Add"; }
    std::size_t arity() const override { return 2; }

    shape4 output_shape(const std::vector<shape4>& inputs) const override {
        check_arity(inputs.size());
        if (inputs[0] != inputs[1]) {
            throw shape_error("forward", describe(),
                              "expected inputs of one shape, got " + inputs[0].str() + " and " +
                                  inputs[1].str());
        }
        return inputs[0];
    }

    tensor forward(const std::vector<const_tensor_view>& inputs) const override {
        check_arity(inputs.size());
        tensor output = tensor::uninitialized(output_shape({inputs[0].shape(), inputs[1].shape()}));
        const float* a = inputs[0].data();
        const float* b = inputs[1].data();
        float* y = output.data();
        for (std::size_t i = 0; i < output.size(); ++i) {
            y[i] = a[i] + b[i];
        }
        return output;
    }

    /// dL/da = dL/db = dL/dy.
    std::vector<tensor> backward(const std::vector<const_tensor_view>& inputs,
                                 const_tensor_view output, const_tensor_view grad_output,
                                 parameter_gradients* parameter_grads = nullptr) const override {
        check_arity(inputs.size());
        std::vector<shape4> shapes;
        for (const auto& x : inputs) {
            shapes.push_back(x.shape());
        }
        check_backward_shapes(output_shape(shapes), output, grad_output);
        std::vector<tensor> grads;
        grads.push_back(tensor::copy_of(grad_output));
        grads.push_back(tensor::copy_of(grad_output));
        return grads;
    }
};

} // namespace lusnet
