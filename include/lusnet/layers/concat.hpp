#pragma once

/// @file concat.hpp
/// Concatenation along channels (`torch.cat(xs, dim=1)`), the join of Inception branches.

#include "lusnet/layers/layer.hpp"

#include <algorithm>

namespace lusnet {

/// Stacks the channels of one or more inputs of equal N, H and W, in input order.
class concat : public layer {
public:
    const char* kind() const override { return "Concat"; }
    std::size_t arity() const override { return 0; }

    shape4 output_shape(const std::vector<shape4>& inputs) const override {
        check_arity(inputs.size());
        shape4 out = inputs.front();
        for (std::size_t i = 1; i < inputs.size(); ++i) {
            const shape4& s = inputs[i];
            if (s.n != out.n || s.h != out.h || s.w != out.w) {
                throw shape_error("forward", describe(),
                                  "expected inputs of equal N, H and W, got " +
                                      inputs.front().str() + " and " + s.str());
            }
            out.c += s.c;
        }
        return out;
    }

    tensor forward(const std::vector<const_tensor_view>& inputs) const override {
        std::vector<shape4> shapes;
        for (const auto& x : inputs) {
            shapes.push_back(x.shape());
        }
        tensor output = tensor::uninitialized(output_shape(shapes));
        for (std::size_t n = 0; n < output.shape().n; ++n) {
            float* y = output.sample(n);
            for (const auto& x : inputs) {
                y = std::copy(x.sample(n), x.sample(n) + x.shape().sample_size(), y);
            }
        }
        return output;
    }

    /// dL/dy split back along channels: each input gets the slice it contributed.
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
        for (const auto& x : inputs) {
            grads.push_back(tensor::uninitialized(x.shape()));
        }
        for (std::size_t n = 0; n < grad_output.shape().n; ++n) {
            const float* dy = grad_output.sample(n);
            for (auto& g : grads) {
                const std::size_t count = g.shape().sample_size();
                std::copy(dy, dy + count, g.sample(n));
                dy += count;
            }
        }
        return grads;
    }
};

} // namespace lusnet
