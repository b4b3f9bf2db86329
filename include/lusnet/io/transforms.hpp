#pragma once

/// @file transforms.hpp
/// torchvision's evaluation preprocessing (Resize, CenterCrop, ToTensor, Normalize) on float
/// `[N, C, H, W]` tensors.
///
/// `resize` follows `torch.nn.functional.interpolate(mode="bilinear", align_corners=False)` on
/// float tensors, which is what torchvision's tensor Resize calls: with `antialias` the
/// separable triangle filter of PIL whose footprint widens with the downscale factor,
/// without it plain bilinear sampling of the two nearest pixels. The weights are computed in
/// float with PyTorch's own promotions, so results agree with PyTorch to float rounding.

#include "lusnet/error.hpp"
#include "lusnet/io/image.hpp"
#include "lusnet/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lusnet {

/// `img` as a `[1, C, H, W]` tensor of values / 255, like torchvision's ToTensor.
tensor to_tensor(const image& img);

/// `x` `[N, C, H, W]` resized to `[N, C, height, width]` like PyTorch's bilinear interpolate
/// (align_corners=False), antialiased when shrinking if `antialias`.
tensor resize(const_tensor_view x, std::size_t height, std::size_t width, bool antialias = true);

/// `x` `[N, C, H, W]` resized so its shorter side is `size`, like torchvision's Resize(size):
/// the longer side becomes int(size * long / short).
tensor resize_shorter(const_tensor_view x, std::size_t size, bool antialias = true);

/// The central `height` x `width` window of `x` `[N, C, H, W]`, like torchvision's CenterCrop:
/// zero padded where the window is larger than the image.
tensor center_crop(const_tensor_view x, std::size_t height, std::size_t width);

/// `x[:, c] = (x[:, c] - mean[c]) / std[c]` in place on `x` `[N, C, H, W]`; shape_error unless
/// both lists have C values, invalid_argument if a std is not positive.
void normalize(tensor_view x, const std::vector<float>& mean, const std::vector<float>& std);

/// The evaluation transforms applied to every image, ImageNet's by default.
struct preprocessing {
    color_mode mode = color_mode::rgb;               ///< channels the image is converted to
    std::size_t resize = 256;                        ///< shorter side after resizing; 0 = none
    std::size_t crop = 224;                          ///< side of the centre crop; 0 = none
    std::vector<float> mean{0.485f, 0.456f, 0.406f}; ///< per channel; empty = no normalization
    std::vector<float> std{0.229f, 0.224f, 0.225f};  ///< per channel; empty with `mean`
};

/// `img` converted to `p.mode`, resized, centre cropped and normalized: `[1, C, crop, crop]`.
tensor preprocess(const image& img, const preprocessing& p);

/// The images at `paths`, each read and preprocessed: `[N, C, crop, crop]`. Errors name the
/// file that caused them.
tensor load_batch(const std::vector<std::string>& paths, const preprocessing& p);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// One axis of a separable resampling: output `i` is the sum over `j < count[i]` of
/// `input[index[i * taps + j]] * weight[i * taps + j]`.
struct resample_axis {
    resample_axis(std::size_t out, std::size_t taps_per_output)
        : taps(taps_per_output), count(out, 0), index(out * taps_per_output, 0),
          weight(out * taps_per_output, 0.0f) {}

    std::size_t taps;
    std::vector<std::size_t> count;
    std::vector<std::size_t> index;
    std::vector<float> weight;
};

/// PIL's bilinear ("triangle") filter.
inline float triangle(float x) {
    x = std::abs(x);
    return x < 1.0f ? 1.0f - x : 0.0f;
}

/// Antialiased weights, as PyTorch's upsample_bilinear2d_aa computes them for float tensors.
///
/// The triangle's half-width is 1 input pixel, stretched to `in / out` pixels when shrinking so
/// that every input pixel under an output pixel contributes (PIL's antialias). When enlarging
/// the half-width stays 1 and the normalized weights are those of plain bilinear sampling.
inline resample_axis antialias_axis(std::size_t in, std::size_t out) {
    const float scale = static_cast<float>(in) / static_cast<float>(out);
    const float support = scale >= 1.0f ? scale : 1.0f;
    const float inv_scale = scale >= 1.0f ? static_cast<float>(1.0 / scale) : 1.0f;
    resample_axis axis(out, static_cast<std::size_t>(std::ceil(support)) * 2 + 1);
    const auto taps = static_cast<std::int64_t>(axis.taps);

    for (std::size_t i = 0; i < out; ++i) {
        // PyTorch's mixed float/double steps, kept so the bounds and weights round alike.
        const auto center = static_cast<float>(scale * (static_cast<double>(i) + 0.5));
        const auto lo =
            std::max<std::int64_t>(static_cast<std::int64_t>(center - support + 0.5), 0);
        const auto hi = std::min<std::int64_t>(static_cast<std::int64_t>(center + support + 0.5),
                                               static_cast<std::int64_t>(in));
        const auto count = static_cast<std::size_t>(std::clamp<std::int64_t>(hi - lo, 0, taps));

        float* weight = &axis.weight[i * axis.taps];
        float total = 0.0f;
        for (std::size_t j = 0; j < count; ++j) {
            const float distance = static_cast<float>(lo + static_cast<std::int64_t>(j)) - center;
            weight[j] = triangle(static_cast<float>((distance + 0.5) * inv_scale));
            total += weight[j];
            axis.index[i * axis.taps + j] = static_cast<std::size_t>(lo) + j;
        }
        for (std::size_t j = 0; total != 0.0f && j < count; ++j) {
            weight[j] /= total;
        }
        axis.count[i] = count;
    }
    return axis;
}

/// Bilinear weights without antialiasing: the two pixels around the half-pixel-centred source
/// position, clamped to the edges, as PyTorch's upsample_bilinear2d computes them in float.
inline resample_axis bilinear_axis(std::size_t in, std::size_t out) {
    const float scale = static_cast<float>(in) / static_cast<float>(out);
    resample_axis axis(out, 2);

    for (std::size_t i = 0; i < out; ++i) {
        const float source = std::max(scale * (static_cast<float>(i) + 0.5f) - 0.5f, 0.0f);
        const std::size_t i0 = std::min(static_cast<std::size_t>(source), in - 1);
        const float lambda = std::clamp(source - static_cast<float>(i0), 0.0f, 1.0f);
        axis.index[2 * i] = i0;
        axis.index[2 * i + 1] = i0 + 1 < in ? i0 + 1 : i0;
        axis.weight[2 * i] = 1.0f - lambda;
        axis.weight[2 * i + 1] = lambda;
        axis.count[i] = 2;
    }
    return axis;
}

/// Resamples the last axis: `rows` rows of `in_width` values into rows of the axis' outputs.
inline void resample_rows(const float* src, std::size_t rows, std::size_t in_width,
                          const resample_axis& axis, float* dst) {
    const std::size_t out_width = axis.count.size();
    for (std::size_t r = 0; r < rows; ++r) {
        const float* row = src + r * in_width;
        float* out = dst + r * out_width;
        for (std::size_t i = 0; i < out_width; ++i) {
            const std::size_t* index = &axis.index[i * axis.taps];
            const float* weight = &axis.weight[i * axis.taps];
            float sum = 0.0f;
            for (std::size_t j = 0; j < axis.count[i]; ++j) {
                sum += row[index[j]] * weight[j];
            }
            out[i] = sum;
        }
    }
}

/// Resamples the row axis of `planes` planes of `in_height` x `width`, whole rows at a time so
/// the inner loop runs over contiguous memory.
inline void resample_columns(const float* src, std::size_t planes, std::size_t in_height,
                             std::size_t width, const resample_axis& axis, float* dst) {
    const std::size_t out_height = axis.count.size();
    for (std::size_t p = 0; p < planes; ++p) {
        for (std::size_t i = 0; i < out_height; ++i) {
            float* out = dst + (p * out_height + i) * width;
            std::fill(out, out + width, 0.0f);
            for (std::size_t j = 0; j < axis.count[i]; ++j) {
                const float* row = src + (p * in_height + axis.index[i * axis.taps + j]) * width;
                const float weight = axis.weight[i * axis.taps + j];
                for (std::size_t x = 0; x < width; ++x) {
                    out[x] += row[x] * weight;
                }
            }
        }
    }
}

/// Refuses an empty input or an empty output size.
inline void check_resize(const char* operation, const shape4& shape, std::size_t height,
                         std::size_t width) {
    if (shape.size() == 0) {
        throw shape_error(operation, shape.str(), "expected a non-empty [N, C, H, W] tensor");
    }
    if (height == 0 || width == 0) {
        throw invalid_argument(operation, shape.str(),
                               "expected an output size of at least 1x1, got " +
                                   std::to_string(height) + "x" + std::to_string(width));
    }
}

/// torchvision's CenterCrop offset along one axis: int(round((size - crop) / 2.0)) when the
/// crop fits, minus the zero padding before the image when it does not.
inline std::ptrdiff_t crop_offset(std::size_t size, std::size_t crop) {
    if (crop > size) {
        return -static_cast<std::ptrdiff_t>((crop - size) / 2);
    }
    // (size - crop) / 2.0 ends in .5 exactly when the difference is odd, and Python's round()
    // takes the even neighbour then: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2.
    const std::size_t difference = size - crop;
    const std::size_t half = difference / 2;
    const bool round_up = difference % 2 == 1 && half % 2 == 1;
    return static_cast<std::ptrdiff_t>(round_up ? half + 1 : half);
}

/// Refuses preprocessing options that no image could satisfy.
inline void check_preprocessing(const preprocessing& p) {
    const std::size_t channels = p.mode == color_mode::gray ? 1 : 3;
    const bool no_normalization = p.mean.empty() && p.std.empty();
    if (!no_normalization && (p.mean.size() != channels || p.std.size() != channels)) {
        throw invalid_argument(
            "preprocess", "mean and std",
            "expected one mean and one std per channel (" + std::to_string(channels) +
                " for this colour mode) or both empty, got " + std::to_string(p.mean.size()) +
                " and " + std::to_string(p.std.size()));
    }
    for (std::size_t c = 0; c < p.std.size(); ++c) {
        if (!(p.std[c] > 0.0f)) {
            throw invalid_argument("preprocess", "std[" + std::to_string(c) + "]",
                                   "expected a standard deviation > 0, got " +
                                       std::to_string(p.std[c]));
        }
    }
}

} // namespace detail

inline tensor to_tensor(const image& img) {
    detail::check_image("to tensor", "image", img);

    const std::size_t channels = img.channels;
    const std::size_t plane = img.width * img.height;
    tensor out(shape4{1, channels, img.height, img.width});

    float* values = out.data();
    for (std::size_t i = 0; i < plane; ++i) {
        for (std::size_t c = 0; c < channels; ++c) {
            values[c * plane + i] = static_cast<float>(img.pixels[i * channels + c]) / 255.0f;
        }
    }
    return out;
}

inline tensor resize(const_tensor_view x, std::size_t height, std::size_t width, bool antialias) {
    detail::check_resize("resize", x.shape(), height, width);
    const shape4 in = x.shape();
    const auto make_axis = antialias ? detail::antialias_axis : detail::bilinear_axis;

    // Width first, then height, as PyTorch's separable kernel does; an axis whose size does
    // not change is left alone, so the order of float rounding matches PyTorch's too.
    tensor wide;
    const float* rows = x.data();
    if (width != in.w) {
        wide = tensor(shape4{in.n, in.c, in.h, width});
        detail::resample_rows(x.data(), in.n * in.c * in.h, in.w, make_axis(in.w, width),
                              wide.data());
        rows = wide.data();
    }
    if (height == in.h) {
        return width != in.w ? std::move(wide) : tensor::copy_of(x);
    }

    tensor out(shape4{in.n, in.c, height, width});
    detail::resample_columns(rows, in.n * in.c, in.h, width, make_axis(in.h, height), out.data());
    return out;
}

inline tensor resize_shorter(const_tensor_view x, std::size_t size, bool antialias) {
    detail::check_resize("resize shorter", x.shape(), size, size);
    const shape4& in = x.shape();

    // torchvision computes the longer side as int(size * long / short): a double quotient,
    // truncated.
    const std::size_t shorter = std::min(in.h, in.w);
    const std::size_t longer = std::max(in.h, in.w);
    const auto stretched = static_cast<std::size_t>(
        static_cast<double>(size) * static_cast<double>(longer) / static_cast<double>(shorter));
    return in.w <= in.h ? resize(x, stretched, size, antialias)
                        : resize(x, size, stretched, antialias);
}

inline tensor center_crop(const_tensor_view x, std::size_t height, std::size_t width) {
    detail::check_resize("center crop", x.shape(), height, width);
    const shape4& in = x.shape();
    const std::ptrdiff_t top = detail::crop_offset(in.h, height);
    const std::ptrdiff_t left = detail::crop_offset(in.w, width);

    // Columns of the output that fall inside the image; the rest keep torchvision's fill, 0.
    const auto w = static_cast<std::ptrdiff_t>(in.w);
    const auto x_begin = static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, -left));
    const auto x_end = static_cast<std::size_t>(
        std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(width), w - left));
    tensor out(shape4{in.n, in.c, height, width});

    for (std::size_t p = 0; p < in.n * in.c; ++p) {
        for (std::size_t y = 0; y < height; ++y) {
            const std::ptrdiff_t source_y = top + static_cast<std::ptrdiff_t>(y);
            if (source_y < 0 || source_y >= static_cast<std::ptrdiff_t>(in.h)) {
                continue;
            }
            const float* row = x.data() + (p * in.h + static_cast<std::size_t>(source_y)) * in.w;
            float* out_row = out.data() + (p * height + y) * width;
            std::copy(row + left + static_cast<std::ptrdiff_t>(x_begin),
                      row + left + static_cast<std::ptrdiff_t>(x_end), out_row + x_begin);
        }
    }
    return out;
}

inline void normalize(tensor_view x, const std::vector<float>& mean,
                      const std::vector<float>& std) {
    const shape4& s = x.shape();
    if (mean.size() != s.c || std.size() != s.c) {
        throw shape_error("normalize", s.str(),
                          "expected " + std::to_string(s.c) +
                              " means and standard deviations (one per channel), got " +
                              std::to_string(mean.size()) + " and " + std::to_string(std.size()));
    }
    for (std::size_t c = 0; c < s.c; ++c) {
        if (!(std[c] > 0.0f)) {
            throw invalid_argument("normalize", "std[" + std::to_string(c) + "]",
                                   "expected a standard deviation > 0, got " +
                                       std::to_string(std[c]));
        }
    }

    // Subtract, then divide, in float: torchvision's sub_ and div_, so values match exactly.
    for (std::size_t n = 0; n < s.n; ++n) {
        for (std::size_t c = 0; c < s.c; ++c) {
            float* plane = x.sample(n) + c * s.plane_size();
            for (std::size_t i = 0; i < s.plane_size(); ++i) {
                plane[i] = (plane[i] - mean[c]) / std[c];
            }
        }
    }
}

inline tensor preprocess(const image& img, const preprocessing& p) {
    detail::check_preprocessing(p);

    const std::size_t channels = p.mode == color_mode::gray ? 1 : 3;
    tensor x = img.channels == channels ? to_tensor(img) : to_tensor(convert_color(img, p.mode));
    if (p.resize > 0) {
        x = resize_shorter(x, p.resize);
    }
    if (p.crop > 0) {
        x = center_crop(x, p.crop, p.crop);
    }
    if (!p.mean.empty()) {
        normalize(x.view(), p.mean, p.std);
    }
    return x;
}

inline tensor load_batch(const std::vector<std::string>& paths, const preprocessing& p) {
    if (paths.empty()) {
        throw invalid_argument("load batch", "paths", "expected at least one image path, got none");
    }
    detail::check_preprocessing(p);

    tensor batch;
    for (std::size_t i = 0; i < paths.size(); ++i) {
        const tensor sample = preprocess(read_image(paths[i], p.mode), p);
        const shape4& s = sample.shape();
        if (i == 0) {
            batch = tensor(shape4{paths.size(), s.c, s.h, s.w});
        } else if (s.c != batch.shape().c || s.h != batch.shape().h || s.w != batch.shape().w) {
            // Only possible without a crop, when the images differ in size.
            throw shape_error("load batch", paths[i],
                              "expected a sample of " + std::to_string(batch.shape().h) + "x" +
                                  std::to_string(batch.shape().w) + " like " + paths[0] + ", got " +
                                  std::to_string(s.h) + "x" + std::to_string(s.w));
        }
        std::copy(sample.data(), sample.data() + sample.size(), batch.sample(i));
    }
    return batch;
}

} // namespace lusnet
