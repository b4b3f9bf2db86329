#pragma once

/// @file max_pool2d.hpp
/// 2-D max pooling with PyTorch's `nn.MaxPool2d` semantics (padding reads as -inf, dilation,
/// ceil_mode, NaN propagates).

#include "lusnet/detail/parallel.hpp"
#include "lusnet/layers/layer.hpp"

#include <cmath>
#include <limits>

namespace lusnet {

/// Settings of a max pooling, named as in `nn.MaxPool2d`.
struct max_pool2d_options {
    size2 kernel{2};
    /// Step between windows; PyTorch's default (`None`) is the kernel size.
    size2 stride{2};
    size2 padding{0};
    size2 dilation{1};
    bool ceil_mode = false;

    max_pool2d_options() = default;
    /// A window of `kernel_size` stepping by `stride_` (the kernel size when 0).
    explicit max_pool2d_options(size2 kernel_size, size2 stride_ = 0, size2 padding_ = 0)
        : kernel(kernel_size), stride(stride_.h ? stride_ : kernel_size), padding(padding_) {}
};

/// The maximum of each window.
class max_pool2d : public unary_layer {
public:
    explicit max_pool2d(const max_pool2d_options& options);

    const char* kind() const override { return "MaxPool2d"; }
    using unary_layer::forward;
    using unary_layer::output_shape;
    shape4 output_shape(const shape4& input) const override;
    tensor forward(const_tensor_view input) const override;
    const max_pool2d_options& options() const { return m_options; }

private:
    max_pool2d_options m_options;
};

// ---------------------------------------------------------------------------------------------
// Definitions

inline max_pool2d::max_pool2d(const max_pool2d_options& options) : m_options(options) {
    const auto& o = options;
    if (!(o.kernel.h && o.kernel.w && o.stride.h && o.stride.w && o.dilation.h && o.dilation.w)) {
        throw invalid_argument("create MaxPool2d", "",
                               "expected positive kernel, stride and dilation");
    }
    // PyTorch's rule: a window must always hold at least one real input value.
    if (2 * o.padding.h > o.kernel.h || 2 * o.padding.w > o.kernel.w) {
        throw invalid_argument("create MaxPool2d", "",
                               "expected padding " + o.padding.str() + " at most half the kernel " +
                                   o.kernel.str());
    }
}

inline shape4 max_pool2d::output_shape(const shape4& input) const {
    const auto& o = m_options;
    const auto oh = detail::window_output_size(input.h, o.kernel.h, o.stride.h, o.padding.h,
                                               o.dilation.h, o.ceil_mode);
    const auto ow = detail::window_output_size(input.w, o.kernel.w, o.stride.w, o.padding.w,
                                               o.dilation.w, o.ceil_mode);
    if (oh <= 0 || ow <= 0) {
        throw shape_error("forward", describe(),
                          "input " + input.str() + " is smaller than the window " + o.kernel.str() +
                              " with padding " + o.padding.str());
    }
    return {input.n, input.c, static_cast<std::size_t>(oh), static_cast<std::size_t>(ow)};
}

inline tensor max_pool2d::forward(const_tensor_view input) const {
    const shape4 in = input.shape();
    const shape4 out = output_shape(in);
    const auto& o = m_options;

    tensor output = tensor::uninitialized(out);
    LUSNET_PARALLEL_FOR
    for (std::size_t p = 0; p < in.n * in.c; ++p) {
        const float* x = input.data() + p * in.plane_size();
        float* y = output.data() + p * out.plane_size();
        for (std::size_t oy = 0; oy < out.h; ++oy) {
            for (std::size_t ox = 0; ox < out.w; ++ox) {
                float best = -std::numeric_limits<float>::infinity();
                for (std::size_t ky = 0; ky < o.kernel.h; ++ky) {
                    const auto iy =
                        static_cast<std::ptrdiff_t>(oy * o.stride.h + ky * o.dilation.h) -
                        static_cast<std::ptrdiff_t>(o.padding.h);
                    if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(in.h)) {
                        continue;
                    }
                    for (std::size_t kx = 0; kx < o.kernel.w; ++kx) {
                        const auto ix =
                            static_cast<std::ptrdiff_t>(ox * o.stride.w + kx * o.dilation.w) -
                            static_cast<std::ptrdiff_t>(o.padding.w);
                        if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(in.w)) {
                            continue;
                        }
                        const float v = x[static_cast<std::size_t>(iy) * in.w + ix];
                        if (v > best || std::isnan(v)) {
                            best = v;
                        }
                    }
                }
                y[oy * out.w + ox] = best;
            }
        }
    }
    return output;
}

} // namespace lusnet
