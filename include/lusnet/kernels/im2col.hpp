#pragma once

/// @file im2col.hpp
/// Reference lowering of a 2-D convolution to a matrix product.
///
/// `im2col` lays every receptive field of one image's channel group out as a column, so the
/// convolution becomes `weight [O, C*kH*kW] x columns [C*kH*kW, OH*OW]`. Padding reads as zero.
/// `col2im` is its adjoint, the step of a convolution's backward pass that sums each column
/// entry back onto the input pixel it was read from.

#include "lusnet/detail/parallel.hpp"

#include <cstddef>

namespace lusnet::detail {

/// The geometry of a convolution or pooling window over one image.
struct window_geometry {
    std::size_t channels = 0;          ///< input channels taken by one group
    std::size_t height = 0, width = 0; ///< input plane
    std::size_t kernel_h = 1, kernel_w = 1;
    std::size_t stride_h = 1, stride_w = 1;
    std::size_t pad_h = 0, pad_w = 0;
    std::size_t dilation_h = 1, dilation_w = 1;
    std::size_t out_h = 0, out_w = 0; ///< output plane
};

/// Writes the columns of `input` (`[C, H, W]` of one group) to `columns`
/// (`[C * kH * kW, OH * OW]`, row-major).
inline void im2col(const float* input, const window_geometry& g, float* columns) {
    const std::size_t out_plane = g.out_h * g.out_w;
    LUSNET_PARALLEL_FOR
    for (std::size_t c = 0; c < g.channels; ++c) {
        const float* plane = input + c * g.height * g.width;
        for (std::size_t ky = 0; ky < g.kernel_h; ++ky) {
            for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
                float* row = columns + ((c * g.kernel_h + ky) * g.kernel_w + kx) * out_plane;
                for (std::size_t oy = 0; oy < g.out_h; ++oy) {
                    // Signed arithmetic: the window may start in the top or left padding.
                    const auto iy =
                        static_cast<std::ptrdiff_t>(oy * g.stride_h + ky * g.dilation_h) -
                        static_cast<std::ptrdiff_t>(g.pad_h);
                    float* out = row + oy * g.out_w;
                    if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.height)) {
                        for (std::size_t ox = 0; ox < g.out_w; ++ox) {
                            out[ox] = 0.0f;
                        }
                        continue;
                    }
                    const float* line = plane + static_cast<std::size_t>(iy) * g.width;
                    for (std::size_t ox = 0; ox < g.out_w; ++ox) {
                        const auto ix =
                            static_cast<std::ptrdiff_t>(ox * g.stride_w + kx * g.dilation_w) -
                            static_cast<std::ptrdiff_t>(g.pad_w);
                        const bool inside = ix >= 0 && ix < static_cast<std::ptrdiff_t>(g.width);
                        out[ox] = inside ? line[ix] : 0.0f;
                    }
                }
            }
        }
    }
}

/// Adds every entry of `columns` (`[C * kH * kW, OH * OW]`, row-major) onto the pixel of
/// `input` (`[C, H, W]` of one group) that `im2col` read it from; entries read from padding are
/// dropped. The transpose of `im2col`, so `input` must hold what it accumulates onto (zeros).
inline void col2im(const float* columns, const window_geometry& g, float* input) {
    const std::size_t out_plane = g.out_h * g.out_w;
    // Each channel only writes its own plane, so channels run in parallel without races.
    LUSNET_PARALLEL_FOR
    for (std::size_t c = 0; c < g.channels; ++c) {
        float* plane = input + c * g.height * g.width;
        for (std::size_t ky = 0; ky < g.kernel_h; ++ky) {
            for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
                const float* row = columns + ((c * g.kernel_h + ky) * g.kernel_w + kx) * out_plane;
                for (std::size_t oy = 0; oy < g.out_h; ++oy) {
                    const auto iy =
                        static_cast<std::ptrdiff_t>(oy * g.stride_h + ky * g.dilation_h) -
                        static_cast<std::ptrdiff_t>(g.pad_h);
                    if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.height)) {
                        continue;
                    }
                    float* line = plane + static_cast<std::size_t>(iy) * g.width;
                    const float* in = row + oy * g.out_w;
                    for (std::size_t ox = 0; ox < g.out_w; ++ox) {
                        const auto ix =
                            static_cast<std::ptrdiff_t>(ox * g.stride_w + kx * g.dilation_w) -
                            static_cast<std::ptrdiff_t>(g.pad_w);
                        if (ix >= 0 && ix < static_cast<std::ptrdiff_t>(g.width)) {
                            line[ix] += in[ox];
                        }
                    }
                }
            }
        }
    }
}

} // namespace lusnet::detail
