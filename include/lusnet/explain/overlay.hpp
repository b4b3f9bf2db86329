#pragma once

/// @file overlay.hpp
/// Heatmaps drawn over the frames they explain: Turbo colours blended with the image.

#include "lusnet/error.hpp"
#include "lusnet/explain/colormap.hpp"
#include "lusnet/io/image.hpp"
#include "lusnet/io/transforms.hpp"
#include "lusnet/tensor.hpp"

#include <cmath>
#include <string>

namespace lusnet {

/// How a heatmap is blended.
struct overlay_options {
    /// Weight of the heatmap colour; the image gets `1 - alpha`. In [0, 1].
    float alpha = 0.4f;
};

/// `img` (gray or RGB) with `heatmap` (`[1, 1, h, w]`, values in [0, 1]; others are clamped) in
/// Turbo colours blended over it: `round((1 - alpha) * pixel + alpha * colour)` per channel, an
/// RGB image of `img`'s size. A heatmap of another size is first resized bilinearly to it.
image overlay(const image& img, const_tensor_view heatmap, const overlay_options& options = {});

/// The part of `img` the model sees, at the model's resolution: resized and centre cropped as
/// `preprocess` does, before normalisation, as 8-bit pixels with `img`'s channels. Heatmaps of
/// `grad_cam` line up with it pixel for pixel.
image model_view(const image& img, const preprocessing& p);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// A float in [0, 1] as an 8-bit level, rounded.
inline std::uint8_t to_level(float value) {
    const float clamped = value > 0.0f ? (value < 1.0f ? value : 1.0f) : 0.0f;
    return static_cast<std::uint8_t>(std::lround(clamped * 255.0f));
}

} // namespace detail

inline image overlay(const image& img, const_tensor_view heatmap, const overlay_options& options) {
    detail::check_image("overlay", "image", img);
    const shape4 s = heatmap.shape();
    if (s.n != 1 || s.c != 1 || s.size() == 0) {
        throw shape_error("overlay", "heatmap", "expected one map [1, 1, h, w], got " + s.str());
    }
    if (!(options.alpha >= 0.0f && options.alpha <= 1.0f)) {
        throw invalid_argument("overlay", "alpha",
                               "expected a value in [0, 1], got " + std::to_string(options.alpha));
    }
    tensor resized;
    if (s.h != img.height || s.w != img.width) {
        resized = resize(heatmap, img.height, img.width, false);
        heatmap = resized.view();
    }

    image out;
    out.width = img.width;
    out.height = img.height;
    out.channels = 3;
    out.pixels.resize(img.width * img.height * 3);
    const auto& colours = turbo_table();
    const float alpha = options.alpha;
    for (std::size_t i = 0; i < img.width * img.height; ++i) {
        const rgb8& colour = colours[detail::to_level(heatmap.data()[i])];
        for (std::size_t c = 0; c < 3; ++c) {
            const std::uint8_t pixel = img.pixels[i * img.channels + (img.channels == 3 ? c : 0)];
            const float blended = (1.0f - alpha) * pixel + alpha * colour[c];
            out.pixels[i * 3 + c] = static_cast<std::uint8_t>(std::lround(blended));
        }
    }
    return out;
}

inline image model_view(const image& img, const preprocessing& p) {
    tensor x = to_tensor(img);
    if (p.resize) {
        x = resize_shorter(x, p.resize);
    }
    if (p.crop) {
        x = center_crop(x, p.crop, p.crop);
    }

    const shape4 s = x.shape();
    image out;
    out.width = s.w;
    out.height = s.h;
    out.channels = s.c;
    out.pixels.resize(s.plane_size() * s.c);
    for (std::size_t i = 0; i < s.plane_size(); ++i) {
        for (std::size_t c = 0; c < s.c; ++c) {
            out.pixels[i * s.c + c] = detail::to_level(x.data()[c * s.plane_size() + i]);
        }
    }
    return out;
}

} // namespace lusnet
