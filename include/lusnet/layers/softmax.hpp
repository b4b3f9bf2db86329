#pragma once

/// @file softmax.hpp
/// Softmax over the channel axis (`nn.Softmax(dim=1)`).

#include "lusnet/layers/layer.hpp"

#include <algorithm>
#include <cmath>

namespace lusnet {

/// exp(x_c - max) / sum over c of exp(x_c - max), at every (n, h, w).
class softmax : public same_shape_layer {
public:
    const char* kind() const override { return "Softmax"; }
    using same_shape_layer::forward;
    tensor forward(const_tensor_view input) const override {
        const shape4 s = input.shape();
        tensor output = tensor::uninitialized(s);
        const std::size_t plane = s.plane_size();
        for (std::size_t n = 0; n < s.n; ++n) {
            for (std::size_t i = 0; i < plane; ++i) {
                const float* x = input.sample(n) + i;
                float* y = output.sample(n) + i;
                // Shift by the maximum so exp never overflows.
                float top = x[0];
                for (std::size_t c = 1; c < s.c; ++c) {
                    top = std::max(top, x[c * plane]);
                }
                float sum = 0.0f;
                for (std::size_t c = 0; c < s.c; ++c) {
                    y[c * plane] = std::exp(x[c * plane] - top);
                    sum += y[c * plane];
                }
                for (std::size_t c = 0; c < s.c; ++c) {
                    y[c * plane] /= sum;
                }
            }
        }
        return output;
    }

    backward_reads reads_for_backward(bool) const override { return {false, true}; }

protected:
    /// dL/dx_c = y_c * (dL/dy_c - sum over k of dL/dy_k * y_k), at every (n, h, w).
    tensor do_backward(const_tensor_view input, const_tensor_view output,
                       const_tensor_view grad_output,
                       parameter_gradients* parameter_grads) const override {
        const shape4 s = output.shape();
        tensor grad_input = tensor::uninitialized(s);
        const std::size_t plane = s.plane_size();
        for (std::size_t n = 0; n < s.n; ++n) {
            for (std::size_t i = 0; i < plane; ++i) {
                const float* y = output.sample(n) + i;
                const float* dy = grad_output.sample(n) + i;
                float* dx = grad_input.sample(n) + i;
                float dot = 0.0f;
                for (std::size_t c = 0; c < s.c; ++c) {
                    dot += dy[c * plane] * y[c * plane];
                }
                for (std::size_t c = 0; c < s.c; ++c) {
                    dx[c * plane] = y[c * plane] * (dy[c * plane] - dot);
                }
            }
        }
        return grad_input;
    }
};

} // namespace lusnet
