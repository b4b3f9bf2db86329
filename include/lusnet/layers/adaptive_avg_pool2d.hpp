#pragma once

/// @file adaptive_avg_pool2d.hpp
/// Adaptive average pooling (`nn.AdaptiveAvgPool2d`): a fixed output size from any input size.

#include "lusnet/detail/parallel.hpp"
#include "lusnet/layers/layer.hpp"

namespace lusnet {

/// Averages bin `i` over input rows `[floor(i*H/OH), ceil((i+1)*H/OH))`, and likewise in width,
/// as PyTorch does; bins overlap when the input does not divide evenly.
class adaptive_avg_pool2d : public unary_layer {
public:
    explicit adaptive_avg_pool2d(size2 output_size) : m_output(output_size) {
        if (!output_size.h || !output_size.w) {
            throw invalid_argument("create AdaptiveAvgPool2d", "",
                                   "expected a positive output size, got " + output_size.str());
        }
    }

    const char* kind() const override { return "AdaptiveAvgPool2d"; }
    using unary_layer::forward;
    using unary_layer::output_shape;
    shape4 output_shape(const shape4& input) const override {
        if (input.h == 0 || input.w == 0) {
            throw shape_error("forward", describe(),
                              "expected a non-empty plane, got " + input.str());
        }
        return {input.n, input.c, m_output.h, m_output.w};
    }
    tensor forward(const_tensor_view input) const override;
    size2 output_size() const { return m_output; }

protected:
    /// Spreads each dL/dy evenly over its bin; overlapping bins add up.
    tensor do_backward(const_tensor_view input, const_tensor_view output,
                       const_tensor_view grad_output,
                       parameter_gradients* parameter_grads) const override;

private:
    size2 m_output;
};

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// First input index of adaptive bin `i`: floor(i * in / out).
inline std::size_t adaptive_begin(std::size_t i, std::size_t in_size, std::size_t out_size) {
    return i * in_size / out_size;
}

/// One past the last input index of adaptive bin `i`: ceil((i + 1) * in / out).
inline std::size_t adaptive_end(std::size_t i, std::size_t in_size, std::size_t out_size) {
    return ((i + 1) * in_size + out_size - 1) / out_size;
}

} // namespace detail

inline tensor adaptive_avg_pool2d::forward(const_tensor_view input) const {
    const shape4 in = input.shape();
    const shape4 out = output_shape(in);
    const auto begin = detail::adaptive_begin;
    const auto end = detail::adaptive_end;

    tensor output(out);
    LUSNET_PARALLEL_FOR
    for (std::size_t p = 0; p < in.n * in.c; ++p) {
        const float* x = input.data() + p * in.plane_size();
        float* y = output.data() + p * out.plane_size();
        for (std::size_t oy = 0; oy < out.h; ++oy) {
            const std::size_t y0 = begin(oy, in.h, out.h), y1 = end(oy, in.h, out.h);
            for (std::size_t ox = 0; ox < out.w; ++ox) {
                const std::size_t x0 = begin(ox, in.w, out.w), x1 = end(ox, in.w, out.w);
                float sum = 0.0f;
                for (std::size_t yy = y0; yy < y1; ++yy) {
                    for (std::size_t xx = x0; xx < x1; ++xx) {
                        sum += x[yy * in.w + xx];
                    }
                }
                y[oy * out.w + ox] = sum / static_cast<float>((y1 - y0) * (x1 - x0));
            }
        }
    }
    return output;
}

inline tensor adaptive_avg_pool2d::do_backward(const_tensor_view input, const_tensor_view output,
                                               const_tensor_view grad_output,
                                               parameter_gradients* parameter_grads) const {
    const shape4 in = input.shape();
    const shape4 out = grad_output.shape();
    const auto begin = detail::adaptive_begin;
    const auto end = detail::adaptive_end;

    tensor grad_input(in);
    LUSNET_PARALLEL_FOR
    for (std::size_t p = 0; p < in.n * in.c; ++p) {
        const float* dy = grad_output.data() + p * out.plane_size();
        float* dx = grad_input.data() + p * in.plane_size();
        for (std::size_t oy = 0; oy < out.h; ++oy) {
            const std::size_t y0 = begin(oy, in.h, out.h), y1 = end(oy, in.h, out.h);
            for (std::size_t ox = 0; ox < out.w; ++ox) {
                const std::size_t x0 = begin(ox, in.w, out.w), x1 = end(ox, in.w, out.w);
                const float share = dy[oy * out.w + ox] / static_cast<float>((y1 - y0) * (x1 - x0));
                for (std::size_t yy = y0; yy < y1; ++yy) {
                    for (std::size_t xx = x0; xx < x1; ++xx) {
                        dx[yy * in.w + xx] += share;
                    }
                }
            }
        }
    }
    return grad_input;
}

} // namespace lusnet
