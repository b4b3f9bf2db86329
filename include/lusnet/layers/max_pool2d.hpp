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
    /// The input, to find each window's maximum again.
    backward_reads reads_for_backward(bool) const override { return {true, false}; }
    const max_pool2d_options& options() const { return m_options; }

protected:
    /// Routes each dL/dy to the window's maximum, the first in scan order on ties, as
    /// PyTorch's indices do; windows that overlap add up.
    tensor do_backward(const_tensor_view input, const_tensor_view output,
                       const_tensor_view grad_output,
                       parameter_gradients* parameter_grads) const override;

private:
    /// Offset in the input plane of the maximum of window (oy, ox) as PyTorch's kernel picks it:
    /// the first maximum in row-major scan order, the last NaN if any, the first valid position
    /// if all are -inf.
    std::size_t argmax(const float* plane, const shape4& in, std::size_t oy, std::size_t ox) const;

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
    detail::check_pool_padding("create MaxPool2d", o.kernel, o.padding);
}

inline shape4 max_pool2d::output_shape(const shape4& input) const {
    const auto& o = m_options;
    return detail::pool_output_shape(describe(), input, o.kernel, o.stride, o.padding, o.dilation,
                                     o.ceil_mode);
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

inline std::size_t max_pool2d::argmax(const float* plane, const shape4& in, std::size_t oy,
                                      std::size_t ox) const {
    const auto& o = m_options;
    float best = -std::numeric_limits<float>::infinity();
    std::size_t best_at = in.plane_size(); // no valid position seen yet
    for (std::size_t ky = 0; ky < o.kernel.h; ++ky) {
        const auto iy = static_cast<std::ptrdiff_t>(oy * o.stride.h + ky * o.dilation.h) -
                        static_cast<std::ptrdiff_t>(o.padding.h);
        if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(in.h)) {
            continue;
        }
        for (std::size_t kx = 0; kx < o.kernel.w; ++kx) {
            const auto ix = static_cast<std::ptrdiff_t>(ox * o.stride.w + kx * o.dilation.w) -
                            static_cast<std::ptrdiff_t>(o.padding.w);
            if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(in.w)) {
                continue;
            }
            const std::size_t at = static_cast<std::size_t>(iy) * in.w + ix;
            if (best_at == in.plane_size() || plane[at] > best || std::isnan(plane[at])) {
                best = plane[at];
                best_at = at;
            }
        }
    }
    return best_at;
}

inline tensor max_pool2d::do_backward(const_tensor_view input, const_tensor_view output,
                                      const_tensor_view grad_output,
                                      parameter_gradients* parameter_grads) const {
    const shape4 in = input.shape();
    const shape4 out = grad_output.shape();

    tensor grad_input(in);
    LUSNET_PARALLEL_FOR
    for (std::size_t p = 0; p < in.n * in.c; ++p) {
        const float* x = input.data() + p * in.plane_size();
        const float* dy = grad_output.data() + p * out.plane_size();
        float* dx = grad_input.data() + p * in.plane_size();
        for (std::size_t oy = 0; oy < out.h; ++oy) {
            for (std::size_t ox = 0; ox < out.w; ++ox) {
                dx[argmax(x, in, oy, ox)] += dy[oy * out.w + ox];
            }
        }
    }
    return grad_input;
}

} // namespace lusnet
