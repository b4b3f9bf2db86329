#pragma once

/// @file avg_pool2d.hpp
/// 2-D average pooling with PyTorch's `nn.AvgPool2d` semantics (zero padding, ceil_mode,
/// count_include_pad).

#include "lusnet/detail/parallel.hpp"
#include "lusnet/layers/layer.hpp"

#include <algorithm>

namespace lusnet {

/// Settings of an average pooling, named as in `nn.AvgPool2d`.
struct avg_pool2d_options {
    size2 kernel{2};
    /// Step between windows; PyTorch's default (`None`) is the kernel size.
    size2 stride{2};
    size2 padding{0};
    bool ceil_mode = false;
    /// Whether padded positions count in the divisor (PyTorch's default: yes).
    bool count_include_pad = true;

    avg_pool2d_options() = default;
    explicit avg_pool2d_options(size2 kernel_size, size2 stride_ = 0, size2 padding_ = 0)
        : kernel(kernel_size), stride(stride_.h ? stride_ : kernel_size), padding(padding_) {}
};

/// The mean of each window.
class avg_pool2d : public unary_layer {
public:
    explicit avg_pool2d(const avg_pool2d_options& options);

    const char* kind() const override { return "AvgPool2d"; }
    using unary_layer::forward;
    using unary_layer::output_shape;
    shape4 output_shape(const shape4& input) const override;
    tensor forward(const_tensor_view input) const override;
    const avg_pool2d_options& options() const { return m_options; }

private:
    avg_pool2d_options m_options;
};

// ---------------------------------------------------------------------------------------------
// Definitions

inline avg_pool2d::avg_pool2d(const avg_pool2d_options& options) : m_options(options) {
    const auto& o = options;
    if (!(o.kernel.h && o.kernel.w && o.stride.h && o.stride.w)) {
        throw invalid_argument("create AvgPool2d", "", "expected positive kernel and stride");
    }
    if (2 * o.padding.h > o.kernel.h || 2 * o.padding.w > o.kernel.w) {
        throw invalid_argument("create AvgPool2d", "",
                               "expected padding " + o.padding.str() + " at most half the kernel " +
                                   o.kernel.str());
    }
}

inline shape4 avg_pool2d::output_shape(const shape4& input) const {
    const auto& o = m_options;
    const auto oh =
        detail::window_output_size(input.h, o.kernel.h, o.stride.h, o.padding.h, 1, o.ceil_mode);
    const auto ow =
        detail::window_output_size(input.w, o.kernel.w, o.stride.w, o.padding.w, 1, o.ceil_mode);
    if (oh <= 0 || ow <= 0) {
        throw shape_error("forward", describe(),
                          "input " + input.str() + " is smaller than the window " + o.kernel.str() +
                              " with padding " + o.padding.str());
    }
    return {input.n, input.c, static_cast<std::size_t>(oh), static_cast<std::size_t>(ow)};
}

inline tensor avg_pool2d::forward(const_tensor_view input) const {
    const shape4 in = input.shape();
    const shape4 out = output_shape(in);
    const auto& o = m_options;
    const auto ih = static_cast<std::ptrdiff_t>(in.h), iw = static_cast<std::ptrdiff_t>(in.w);
    const auto ph = static_cast<std::ptrdiff_t>(o.padding.h);
    const auto pw = static_cast<std::ptrdiff_t>(o.padding.w);

    tensor output(out);
    LUSNET_PARALLEL_FOR
    for (std::size_t p = 0; p < in.n * in.c; ++p) {
        const float* x = input.data() + p * in.plane_size();
        float* y = output.data() + p * out.plane_size();
        for (std::size_t oy = 0; oy < out.h; ++oy) {
            for (std::size_t ox = 0; ox < out.w; ++ox) {
                // PyTorch's divisor: the window clipped to the padded input, or to the input.
                auto y0 = static_cast<std::ptrdiff_t>(oy * o.stride.h) - ph;
                auto x0 = static_cast<std::ptrdiff_t>(ox * o.stride.w) - pw;
                auto y1 = std::min<std::ptrdiff_t>(y0 + o.kernel.h, ih + ph);
                auto x1 = std::min<std::ptrdiff_t>(x0 + o.kernel.w, iw + pw);
                const auto padded_count = (y1 - y0) * (x1 - x0);
                y0 = std::max<std::ptrdiff_t>(y0, 0);
                x0 = std::max<std::ptrdiff_t>(x0, 0);
                y1 = std::min(y1, ih);
                x1 = std::min(x1, iw);
                if (y0 >= y1 || x0 >= x1) {
                    continue;
                }
                float sum = 0.0f;
                for (auto yy = y0; yy < y1; ++yy) {
                    for (auto xx = x0; xx < x1; ++xx) {
                        sum += x[yy * iw + xx];
                    }
                }
                const auto count = o.count_include_pad ? padded_count : (y1 - y0) * (x1 - x0);
                y[oy * out.w + ox] = sum / static_cast<float>(count);
            }
        }
    }
    return output;
}

} // namespace lusnet
