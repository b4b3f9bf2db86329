#pragma once

/// @file conv2d.hpp
/// 2-D convolution with PyTorch's `nn.Conv2d` semantics (cross-correlation, zero padding,
/// dilation, groups, optional bias). Reference path: im2col and an Eigen matrix product; the
/// backward pass is the transposed product and col2im.

#include "lusnet/kernels/gemm.hpp"
#include "lusnet/kernels/im2col.hpp"
#include "lusnet/layers/layer.hpp"

#include <memory>
#include <vector>

namespace lusnet {

/// Settings of a convolution, named as in `nn.Conv2d`.
struct conv2d_options {
    std::size_t in_channels = 0;
    std::size_t out_channels = 0;
    size2 kernel{3};
    size2 stride{1};
    size2 padding{0};
    size2 dilation{1};
    std::size_t groups = 1;
    bool bias = true;

    conv2d_options() = default;
    conv2d_options(std::size_t in, std::size_t out, size2 kernel_size)
        : in_channels(in), out_channels(out), kernel(kernel_size) {}
};

/// 2-D convolution; weight `[O, I/groups, kH, kW]`, bias `[O]`.
class conv2d : public unary_layer {
public:
    explicit conv2d(const conv2d_options& options);

    const char* kind() const override { return "Conv2d"; }
    using unary_layer::forward;
    using unary_layer::output_shape;
    /// `[N, I, H, W]` -> `[N, O, OH, OW]`.
    shape4 output_shape(const shape4& input) const override;
    tensor forward(const_tensor_view input) const override;
    /// The input's values only for the weight gradient.
    backward_reads reads_for_backward(bool parameter_grads) const override {
        return {parameter_grads, false};
    }
    std::vector<parameter*> parameters() override;
    std::size_t macs(const std::vector<shape4>& inputs) const override {
        const shape4 out = output_shape(inputs);
        return out.size() * m_weight.size() / m_options.out_channels;
    }

    const conv2d_options& options() const { return m_options; }
    parameter& weight() { return m_weight; }
    const parameter& weight() const { return m_weight; }
    /// The bias; all zeros (and absent from `parameters()`) when the options have none.
    parameter& bias() { return m_bias; }
    const parameter& bias() const { return m_bias; }

protected:
    /// dL/dx `[N, I, H, W]` = col2im(W^T dL/dy); with a sink, dL/dW += dL/dy im2col(x)^T and
    /// dL/db += the sum of dL/dy over positions.
    tensor do_backward(const_tensor_view input, const_tensor_view output,
                       const_tensor_view grad_output,
                       parameter_gradients* parameter_grads) const override;

private:
    detail::window_geometry geometry(const shape4& input) const;
    /// A 1x1 stride-1 unpadded convolution reads its input plane as the column matrix directly.
    static bool is_pointwise(const detail::window_geometry& g);
    /// dL/dW and dL/db of sample `n`, added into the sink's buffers (either may be null).
    void add_parameter_grads(const_tensor_view input, const_tensor_view grad_output, std::size_t n,
                             float* columns, float* grad_weight, float* grad_bias) const;

    conv2d_options m_options;
    parameter m_weight;
    parameter m_bias;
};

// ---------------------------------------------------------------------------------------------
// Definitions

inline conv2d::conv2d(const conv2d_options& options)
    : m_options(options),
      m_weight("weight",
               {options.out_channels, options.groups ? options.in_channels / options.groups : 0,
                options.kernel.h, options.kernel.w}),
      m_bias("bias", {options.out_channels}) {
    const auto& o = options;
    const bool positive = o.in_channels && o.out_channels && o.kernel.h && o.kernel.w &&
                          o.stride.h && o.stride.w && o.dilation.h && o.dilation.w && o.groups;
    if (!positive) {
        throw invalid_argument("create Conv2d", "",
                               "expected positive channels, kernel, stride, dilation and groups");
    }
    if (o.in_channels % o.groups || o.out_channels % o.groups) {
        throw invalid_argument("create Conv2d", "",
                               "expected in_channels (" + std::to_string(o.in_channels) +
                                   ") and out_channels (" + std::to_string(o.out_channels) +
                                   ") divisible by groups (" + std::to_string(o.groups) + ")");
    }
}

inline std::vector<parameter*> conv2d::parameters() {
    if (m_options.bias) {
        return {&m_weight, &m_bias};
    }
    return {&m_weight};
}

inline detail::window_geometry conv2d::geometry(const shape4& input) const {
    const auto& o = m_options;
    detail::window_geometry g;
    g.channels = o.in_channels / o.groups;
    g.height = input.h;
    g.width = input.w;
    g.kernel_h = o.kernel.h;
    g.kernel_w = o.kernel.w;
    g.stride_h = o.stride.h;
    g.stride_w = o.stride.w;
    g.pad_h = o.padding.h;
    g.pad_w = o.padding.w;
    g.dilation_h = o.dilation.h;
    g.dilation_w = o.dilation.w;
    const auto oh =
        detail::window_output_size(input.h, o.kernel.h, o.stride.h, o.padding.h, o.dilation.h);
    const auto ow =
        detail::window_output_size(input.w, o.kernel.w, o.stride.w, o.padding.w, o.dilation.w);
    g.out_h = static_cast<std::size_t>(oh);
    g.out_w = static_cast<std::size_t>(ow);
    return g;
}

inline shape4 conv2d::output_shape(const shape4& input) const {
    if (input.c != m_options.in_channels) {
        throw shape_error("forward", describe(),
                          "expected " + std::to_string(m_options.in_channels) +
                              " input channels, got input " + input.str());
    }
    const auto g = geometry(input);
    if (g.out_h == 0 || g.out_w == 0) {
        throw shape_error("forward", describe(),
                          "input " + input.str() + " is smaller than the kernel " +
                              m_options.kernel.str() + " with padding " + m_options.padding.str() +
                              " and dilation " + m_options.dilation.str());
    }
    return {input.n, m_options.out_channels, g.out_h, g.out_w};
}

inline bool conv2d::is_pointwise(const detail::window_geometry& g) {
    return g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 &&
           g.pad_h == 0 && g.pad_w == 0;
}

inline tensor conv2d::forward(const_tensor_view input) const {
    const shape4 out_shape = output_shape(input.shape());
    const auto g = geometry(input.shape());
    const std::size_t groups = m_options.groups;
    const std::size_t group_out = m_options.out_channels / groups;
    const std::size_t patch = g.channels * g.kernel_h * g.kernel_w;
    const std::size_t out_plane = g.out_h * g.out_w;
    const bool pointwise = is_pointwise(g);

    tensor output = tensor::uninitialized(out_shape);
    // Every element is written by im2col before it is read, so the buffer is left unset.
    std::unique_ptr<float[]> columns(pointwise ? nullptr : new float[patch * out_plane]);

    for (std::size_t n = 0; n < input.shape().n; ++n) {
        for (std::size_t grp = 0; grp < groups; ++grp) {
            const float* in = input.sample(n) + grp * g.channels * g.height * g.width;
            if (!pointwise) {
                detail::im2col(in, g, columns.get());
            }
            const float* cols = pointwise ? in : columns.get();
            auto out = detail::as_matrix(output.sample(n) + grp * group_out * out_plane, group_out,
                                         out_plane);
            out.noalias() =
                detail::as_matrix(m_weight.data() + grp * group_out * patch, group_out, patch) *
                detail::as_matrix(cols, patch, out_plane);
        }
        if (m_options.bias) {
            auto out = detail::as_matrix(output.sample(n), m_options.out_channels, out_plane);
            out.colwise() += Eigen::Map<const Eigen::VectorXf>(
                m_bias.data(), static_cast<Eigen::Index>(m_options.out_channels));
        }
    }
    return output;
}

inline tensor conv2d::do_backward(const_tensor_view input, const_tensor_view output,
                                  const_tensor_view grad_output,
                                  parameter_gradients* parameter_grads) const {
    const auto g = geometry(input.shape());
    const std::size_t groups = m_options.groups;
    const std::size_t group_out = m_options.out_channels / groups;
    const std::size_t patch = g.channels * g.kernel_h * g.kernel_w;
    const std::size_t out_plane = g.out_h * g.out_w;
    const std::size_t group_in = g.channels * g.height * g.width;
    const bool pointwise = is_pointwise(g);
    float* grad_weight = parameter_grads ? parameter_grads->find(m_weight) : nullptr;
    float* grad_bias = parameter_grads && m_options.bias ? parameter_grads->find(m_bias) : nullptr;

    // col2im accumulates, so the input gradient starts at zero; the pointwise path assigns.
    tensor grad_input = pointwise ? tensor::uninitialized(input.shape()) : tensor(input.shape());
    std::unique_ptr<float[]> columns(pointwise ? nullptr : new float[patch * out_plane]);

    for (std::size_t n = 0; n < input.shape().n; ++n) {
        for (std::size_t grp = 0; grp < groups; ++grp) {
            const auto weight =
                detail::as_matrix(m_weight.data() + grp * group_out * patch, group_out, patch);
            const auto dy = detail::as_matrix(grad_output.sample(n) + grp * group_out * out_plane,
                                              group_out, out_plane);
            float* dx = grad_input.sample(n) + grp * group_in;
            if (pointwise) {
                detail::as_matrix(dx, patch, out_plane).noalias() = weight.transpose() * dy;
            } else {
                detail::as_matrix(columns.get(), patch, out_plane).noalias() =
                    weight.transpose() * dy;
                detail::col2im(columns.get(), g, dx);
            }
        }
        if (grad_weight || grad_bias) {
            add_parameter_grads(input, grad_output, n, columns.get(), grad_weight, grad_bias);
        }
    }
    return grad_input;
}

inline void conv2d::add_parameter_grads(const_tensor_view input, const_tensor_view grad_output,
                                        std::size_t n, float* columns, float* grad_weight,
                                        float* grad_bias) const {
    const auto g = geometry(input.shape());
    const std::size_t groups = m_options.groups;
    const std::size_t group_out = m_options.out_channels / groups;
    const std::size_t patch = g.channels * g.kernel_h * g.kernel_w;
    const std::size_t out_plane = g.out_h * g.out_w;
    const bool pointwise = is_pointwise(g);

    for (std::size_t grp = 0; grp < groups && grad_weight; ++grp) {
        const float* in = input.sample(n) + grp * g.channels * g.height * g.width;
        if (!pointwise) {
            detail::im2col(in, g, columns);
        }
        const auto dy = detail::as_matrix(grad_output.sample(n) + grp * group_out * out_plane,
                                          group_out, out_plane);
        auto dw = detail::as_matrix(grad_weight + grp * group_out * patch, group_out, patch);
        dw.noalias() +=
            dy * detail::as_matrix(pointwise ? in : columns, patch, out_plane).transpose();
    }
    if (grad_bias) {
        const auto dy = detail::as_matrix(grad_output.sample(n), m_options.out_channels, out_plane);
        Eigen::Map<Eigen::VectorXf>(grad_bias, static_cast<Eigen::Index>(m_options.out_channels)) +=
            dy.rowwise().sum();
    }
}

} // namespace lusnet
