#pragma once

/// @file linear.hpp
/// Fully connected layer (`nn.Linear`): y = x W^T + b.

#include "lusnet/kernels/gemm.hpp"
#include "lusnet/layers/layer.hpp"

namespace lusnet {

/// Settings of a fully connected layer, named as in `nn.Linear`.
struct linear_options {
    std::size_t in_features = 0;
    std::size_t out_features = 0;
    bool bias = true;

    linear_options() = default;
    linear_options(std::size_t in, std::size_t out, bool with_bias = true)
        : in_features(in), out_features(out), bias(with_bias) {}
};

/// y = x W^T + b on each sample's `C*H*W` features; weight `[out, in]`, bias `[out]`.
/// Output `[N, out, 1, 1]`.
class linear : public unary_layer {
public:
    explicit linear(const linear_options& options);

    const char* kind() const override { return "Linear"; }
    using unary_layer::forward;
    using unary_layer::output_shape;
    shape4 output_shape(const shape4& input) const override;
    tensor forward(const_tensor_view input) const override;
    /// The input's values only for the weight gradient.
    backward_reads reads_for_backward(bool parameter_grads) const override {
        return {parameter_grads, false};
    }
    std::vector<parameter*> parameters() override;
    std::size_t macs(const std::vector<shape4>& inputs) const override {
        return output_shape(inputs).n * m_weight.size();
    }

    const linear_options& options() const { return m_options; }
    parameter& weight() { return m_weight; }
    const parameter& weight() const { return m_weight; }
    parameter& bias() { return m_bias; }
    const parameter& bias() const { return m_bias; }

protected:
    /// dL/dx = dL/dy W in the input's shape; with a sink, dL/dW += dL/dy^T x and
    /// dL/db += the sum of dL/dy over the batch.
    tensor do_backward(const_tensor_view input, const_tensor_view output,
                       const_tensor_view grad_output,
                       parameter_gradients* parameter_grads) const override;

private:
    linear_options m_options;
    parameter m_weight;
    parameter m_bias;
};

// ---------------------------------------------------------------------------------------------
// Definitions

inline linear::linear(const linear_options& options)
    : m_options(options), m_weight("weight", {options.out_features, options.in_features}),
      m_bias("bias", {options.out_features}) {
    if (!options.in_features || !options.out_features) {
        throw invalid_argument("create Linear", "",
                               "expected positive in_features and out_features, got " +
                                   std::to_string(options.in_features) + " and " +
                                   std::to_string(options.out_features));
    }
}

inline std::vector<parameter*> linear::parameters() {
    if (m_options.bias) {
        return {&m_weight, &m_bias};
    }
    return {&m_weight};
}

inline shape4 linear::output_shape(const shape4& input) const {
    if (input.sample_size() != m_options.in_features) {
        throw shape_error("forward", describe(),
                          "expected " + std::to_string(m_options.in_features) +
                              " features per sample, got input " + input.str());
    }
    return {input.n, m_options.out_features, 1, 1};
}

inline tensor linear::forward(const_tensor_view input) const {
    const shape4 shape = output_shape(input.shape());
    const std::size_t in = m_options.in_features, out = m_options.out_features;

    tensor output = tensor::uninitialized(shape);
    auto y = detail::as_matrix(output.data(), shape.n, out);
    y.noalias() = detail::as_matrix(input.data(), shape.n, in) *
                  detail::as_matrix(m_weight.data(), out, in).transpose();
    if (m_options.bias) {
        y.rowwise() +=
            Eigen::Map<const Eigen::RowVectorXf>(m_bias.data(), static_cast<Eigen::Index>(out));
    }
    return output;
}

inline tensor linear::do_backward(const_tensor_view input, const_tensor_view output,
                                  const_tensor_view grad_output,
                                  parameter_gradients* parameter_grads) const {
    const std::size_t batch = input.shape().n;
    const std::size_t in = m_options.in_features, out = m_options.out_features;
    const auto dy = detail::as_matrix(grad_output.data(), batch, out);
    float* grad_weight = parameter_grads ? parameter_grads->find(m_weight) : nullptr;
    float* grad_bias = parameter_grads && m_options.bias ? parameter_grads->find(m_bias) : nullptr;

    tensor grad_input = tensor::uninitialized(input.shape());
    detail::as_matrix(grad_input.data(), batch, in).noalias() =
        dy * detail::as_matrix(m_weight.data(), out, in);
    if (grad_weight) {
        detail::as_matrix(grad_weight, out, in).noalias() +=
            dy.transpose() * detail::as_matrix(input.data(), batch, in);
    }
    if (grad_bias) {
        Eigen::Map<Eigen::RowVectorXf>(grad_bias, static_cast<Eigen::Index>(out)) +=
            dy.colwise().sum();
    }
    return grad_input;
}

} // namespace lusnet
