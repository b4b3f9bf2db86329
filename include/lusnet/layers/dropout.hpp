#pragma once

/// @file dropout.hpp
/// Dropout (`nn.Dropout`): the identity at inference.

#include "lusnet/layers/layer.hpp"

namespace lusnet {

/// Dropout with drop probability `p`; at inference it passes its input through.
class dropout : public same_shape_layer {
public:
    explicit dropout(float p = 0.5f) : m_p(p) {
        if (!(p >= 0.0f && p < 1.0f)) {
            throw invalid_argument("create Dropout", "",
                                   "expected 0 <= p < 1, got p = " + std::to_string(p));
        }
    }

    const char* kind() const override { return "Dropout"; }
    float p() const { return m_p; }
    using same_shape_layer::forward;
    tensor forward(const_tensor_view input) const override { return tensor::copy_of(input); }

protected:
    /// The identity's gradient: dL/dx = dL/dy.
    tensor do_backward(const_tensor_view input, const_tensor_view output,
                       const_tensor_view grad_output,
                       parameter_gradients* parameter_grads) const override {
        // TODO(#5): training drops and rescales; its backward must reuse the forward's mask.
        return tensor::copy_of(grad_output);
    }

private:
    float m_p;
};

} // namespace lusnet
