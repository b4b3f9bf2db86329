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

protected:
    /// Spreads each dL/dy evenly, divided by forward's divisor, over its window's input pixels.
    tensor do_backward(const_tensor_view input, const_tensor_view output,
                       const_tensor_view grad_output,
                       parameter_gradients* parameter_grads) const override;

private:
    /// Input rows `[y0, y1)` and columns `[x0, x1)` of one window, and its divisor.
    struct window {
        std::ptrdiff_t y0, y1, x0, x1;
        float divisor;
        bool empty() const { return y0 >= y1 || x0 >= x1; }
    };
    /// Window (oy, ox) over an input plane of `in`, with PyTorch's divisor: the window clipped
    /// to the padded input, or to the input when padding is not counted.
    window window_at(const shape4& in, std::size_t oy, std::size_t ox) const;

    avg_pool2d_options m_options;
};

// ---------------------------------------------------------------------------------------------
// Definitions

inline avg_pool2d::avg_pool2d(const avg_pool2d_options& options) : m_options(options) {
    const auto& o = options;
    if (!(o.kernel.h && o.kernel.w && o.stride.h && o.stride.w)) {
        throw invalid_argument("create AvgPool2d", "", "expected positive kernel and stride");
    }
    detail::check_pool_padding("create AvgPool2d", o.kernel, o.padding);
}

inline shape4 avg_pool2d::output_shape(const shape4& input) const {
    const auto& o = m_options;
    return detail::pool_output_shape(describe(), input, o.kernel, o.stride, o.padding, size2(1),
                                     o.ceil_mode);
}

inline tensor avg_pool2d::forward(const_tensor_view input) const {
    const shape4 in = input.shape();
    const shape4 out = output_shape(in);
    const auto iw = static_cast<std::ptrdiff_t>(in.w);

    tensor output(out);
    LUSNET_PARALLEL_FOR
    for (std::size_t p = 0; p < in.n * in.c; ++p) {
        const float* x = input.data() + p * in.plane_size();
        float* y = output.data() + p * out.plane_size();
        for (std::size_t oy = 0; oy < out.h; ++oy) {
            for (std::size_t ox = 0; ox < out.w; ++ox) {
                const window win = window_at(in, oy, ox);
                if (win.empty()) {
                    continue;
                }
                float sum = 0.0f;
                for (auto yy = win.y0; yy < win.y1; ++yy) {
                    for (auto xx = win.x0; xx < win.x1; ++xx) {
                        sum += x[yy * iw + xx];
                    }
                }
                y[oy * out.w + ox] = sum / win.divisor;
            }
        }
    }
    return output;
}

inline avg_pool2d::window avg_pool2d::window_at(const shape4& in, std::size_t oy,
                                                std::size_t ox) const {
    const auto& o = m_options;
    const auto ih = static_cast<std::ptrdiff_t>(in.h), iw = static_cast<std::ptrdiff_t>(in.w);
    const auto ph = static_cast<std::ptrdiff_t>(o.padding.h);
    const auto pw = static_cast<std::ptrdiff_t>(o.padding.w);

    window win;
    win.y0 = static_cast<std::ptrdiff_t>(oy * o.stride.h) - ph;
    win.x0 = static_cast<std::ptrdiff_t>(ox * o.stride.w) - pw;
    win.y1 = std::min<std::ptrdiff_t>(win.y0 + o.kernel.h, ih + ph);
    win.x1 = std::min<std::ptrdiff_t>(win.x0 + o.kernel.w, iw + pw);
    const auto padded_count = (win.y1 - win.y0) * (win.x1 - win.x0);
    win.y0 = std::max<std::ptrdiff_t>(win.y0, 0);
    win.x0 = std::max<std::ptrdiff_t>(win.x0, 0);
    win.y1 = std::min(win.y1, ih);
    win.x1 = std::min(win.x1, iw);
    const auto count = o.count_include_pad ? padded_count : (win.y1 - win.y0) * (win.x1 - win.x0);
    win.divisor = static_cast<float>(count);
    return win;
}

inline tensor avg_pool2d::do_backward(const_tensor_view input, const_tensor_view output,
                                      const_tensor_view grad_output,
                                      parameter_gradients* parameter_grads) const {
    const shape4 in = input.shape();
    const shape4 out = grad_output.shape();
    const auto iw = static_cast<std::ptrdiff_t>(in.w);

    tensor grad_input(in);
    LUSNET_PARALLEL_FOR
    for (std::size_t p = 0; p < in.n * in.c; ++p) {
        const float* dy = grad_output.data() + p * out.plane_size();
        float* dx = grad_input.data() + p * in.plane_size();
        for (std::size_t oy = 0; oy < out.h; ++oy) {
            for (std::size_t ox = 0; ox < out.w; ++ox) {
                const window win = window_at(in, oy, ox);
                if (win.empty()) {
                    continue;
                }
                const float share = dy[oy * out.w + ox] / win.divisor;
                for (auto yy = win.y0; yy < win.y1; ++yy) {
                    for (auto xx = win.x0; xx < win.x1; ++xx) {
                        dx[yy * iw + xx] += share;
                    }
                }
            }
        }
    }
    return grad_input;
}

} // namespace lusnet
