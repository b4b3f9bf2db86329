#pragma once

/// @file batch_norm2d.hpp
/// Batch normalisation at inference (`nn.BatchNorm2d` in eval mode): running statistics.

#include "lusnet/detail/parallel.hpp"
#include "lusnet/layers/layer.hpp"

#include <cmath>

namespace lusnet {

/// Settings of a batch normalisation, named as in `nn.BatchNorm2d`.
struct batch_norm2d_options {
    std::size_t num_features = 0;
    /// Added to the variance; PyTorch's default is 1e-5, InceptionV3 uses 1e-3.
    float eps = 1e-5f;
    /// Running-statistics momentum, used by training.
    float momentum = 0.1f;
    /// Whether the layer has a learnable scale (weight) and shift (bias).
    bool affine = true;

    batch_norm2d_options() = default;
    explicit batch_norm2d_options(std::size_t features, float eps_ = 1e-5f)
        : num_features(features), eps(eps_) {}
};

/// y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, per channel.
class batch_norm2d : public unary_layer {
public:
    explicit batch_norm2d(const batch_norm2d_options& options);

    const char* kind() const override { return "BatchNorm2d"; }
    using unary_layer::forward;
    using unary_layer::output_shape;
    shape4 output_shape(const shape4& input) const override;
    tensor forward(const_tensor_view input) const override;
    /// The input's values only for the weight gradient.
    backward_reads reads_for_backward(bool parameter_grads) const override {
        return {parameter_grads && m_options.affine, false};
    }
    std::vector<parameter*> parameters() override;
    std::vector<std::string> ignored_keys() const override { return {"num_batches_tracked"}; }

    const batch_norm2d_options& options() const { return m_options; }
    parameter& weight() { return m_weight; }
    const parameter& weight() const { return m_weight; }
    parameter& bias() { return m_bias; }
    const parameter& bias() const { return m_bias; }
    parameter& running_mean() { return m_mean; }
    parameter& running_var() { return m_var; }

    /// The per-channel affine map `y = scale * x + shift` the layer applies at inference.
    void affine_map(std::vector<float>& scale, std::vector<float>& shift) const;

protected:
    /// dL/dx = scale * dL/dy per channel (the statistics are constants at inference); with a
    /// sink, dL/dweight += sum of dL/dy * (x - mean) / sqrt(var + eps), dL/dbias += sum of dL/dy.
    tensor do_backward(const_tensor_view input, const_tensor_view output,
                       const_tensor_view grad_output,
                       parameter_gradients* parameter_grads) const override;

private:
    batch_norm2d_options m_options;
    parameter m_weight;
    parameter m_bias;
    parameter m_mean;
    parameter m_var;
};

// ---------------------------------------------------------------------------------------------
// Definitions

inline batch_norm2d::batch_norm2d(const batch_norm2d_options& options)
    : m_options(options), m_weight("weight", {options.num_features}, 1.0f),
      m_bias("bias", {options.num_features}), m_mean("running_mean", {options.num_features}),
      m_var("running_var", {options.num_features}, 1.0f) {
    if (options.num_features == 0 || !(options.eps > 0.0f)) {
        throw invalid_argument("create BatchNorm2d", "",
                               "expected num_features > 0 and eps > 0, got num_features = " +
                                   std::to_string(options.num_features) +
                                   ", eps = " + std::to_string(options.eps));
    }
}

inline std::vector<parameter*> batch_norm2d::parameters() {
    if (m_options.affine) {
        return {&m_weight, &m_bias, &m_mean, &m_var};
    }
    return {&m_mean, &m_var};
}

inline shape4 batch_norm2d::output_shape(const shape4& input) const {
    if (input.c != m_options.num_features) {
        throw shape_error("forward", describe(),
                          "expected " + std::to_string(m_options.num_features) +
                              " channels, got input " + input.str());
    }
    return input;
}

inline void batch_norm2d::affine_map(std::vector<float>& scale, std::vector<float>& shift) const {
    const std::size_t channels = m_options.num_features;
    scale.resize(channels);
    shift.resize(channels);
    for (std::size_t c = 0; c < channels; ++c) {
        // Same order of operations as PyTorch's CPU kernel: invstd first, then the affine part.
        const float invstd = 1.0f / std::sqrt(m_var.values[c] + m_options.eps);
        const float gamma = m_options.affine ? m_weight.values[c] : 1.0f;
        const float beta = m_options.affine ? m_bias.values[c] : 0.0f;
        scale[c] = invstd * gamma;
        shift[c] = beta - m_mean.values[c] * scale[c];
    }
}

inline tensor batch_norm2d::forward(const_tensor_view input) const {
    const shape4 shape = output_shape(input.shape());
    std::vector<float> scale, shift;
    affine_map(scale, shift);

    tensor output = tensor::uninitialized(shape);
    const std::size_t plane = shape.plane_size();
    LUSNET_PARALLEL_FOR
    for (std::size_t p = 0; p < shape.n * shape.c; ++p) {
        const std::size_t c = p % shape.c;
        const float* x = input.data() + p * plane;
        float* y = output.data() + p * plane;
        for (std::size_t i = 0; i < plane; ++i) {
            y[i] = x[i] * scale[c] + shift[c];
        }
    }
    return output;
}

inline tensor batch_norm2d::do_backward(const_tensor_view input, const_tensor_view output,
                                        const_tensor_view grad_output,
                                        parameter_gradients* parameter_grads) const {
    // TODO(#5): training-mode batch norm normalises by batch statistics, whose backward also
    // carries the gradient through the mean and variance; this is the inference-mode backward.
    const shape4 shape = input.shape();
    std::vector<float> scale, shift;
    affine_map(scale, shift);
    const bool affine = m_options.affine && parameter_grads;
    float* grad_weight = affine ? parameter_grads->find(m_weight) : nullptr;
    float* grad_bias = affine ? parameter_grads->find(m_bias) : nullptr;

    tensor grad_input = tensor::uninitialized(shape);
    const std::size_t plane = shape.plane_size();
    LUSNET_PARALLEL_FOR
    for (std::size_t p = 0; p < shape.n * shape.c; ++p) {
        const std::size_t c = p % shape.c;
        const float* dy = grad_output.data() + p * plane;
        float* dx = grad_input.data() + p * plane;
        for (std::size_t i = 0; i < plane; ++i) {
            dx[i] = dy[i] * scale[c];
        }
    }

    // Channel sums over the batch, in double: a plane of 50k terms loses digits in float.
    for (std::size_t c = 0; c < shape.c && (grad_weight || grad_bias); ++c) {
        const float invstd = 1.0f / std::sqrt(m_var.values[c] + m_options.eps);
        double weighted = 0.0, total = 0.0;
        for (std::size_t n = 0; n < shape.n; ++n) {
            const float* dy = grad_output.sample(n) + c * plane;
            const float* x = grad_weight ? input.sample(n) + c * plane : nullptr;
            for (std::size_t i = 0; i < plane; ++i) {
                total += dy[i];
                weighted += x ? double(dy[i]) * double((x[i] - m_mean.values[c]) * invstd) : 0.0;
            }
        }
        if (grad_weight) {
            grad_weight[c] += static_cast<float>(weighted);
        }
        if (grad_bias) {
            grad_bias[c] += static_cast<float>(total);
        }
    }
    return grad_input;
}

} // namespace lusnet
