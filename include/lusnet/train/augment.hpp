#pragma once

/// @file augment.hpp
/// Seeded augmentation of ultrasound frames: horizontal flip, brightness and contrast jitter, a
/// small rotation and zoom, and a random crop (a shift).
///
/// It works on one frame `[1, C, H, W]` of intensities in [0, 1] (ToTensor's range, before
/// normalisation), so the zero that fills uncovered pixels is black, the ultrasound background,
/// and the frame keeps its shape. The steps run in a fixed order: brightness, contrast, flip,
/// rotation with zoom, shift. Every call draws the same seven numbers in that order whatever
/// is enabled, so switching one step off leaves the draws of the others unchanged, and a step
/// whose draw is the identity is skipped, so an all-zero `augmentation` returns the frame
/// bit for bit.

#include "lusnet/error.hpp"
#include "lusnet/tensor.hpp"
#include "lusnet/train/random.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

namespace lusnet {

/// How strongly to augment; each setting's default is mild enough to keep B-lines and the
/// pleural line recognisable.
struct augmentation {
    /// Chance of mirroring left and right. Probes are held either way round, so a mirrored
    /// frame is still a plausible frame.
    double flip_probability = 0.5;
    /// Gain factor drawn from [max(0, 1 - b), 1 + b]; values are multiplied by it (torchvision's
    /// brightness jitter, like a change of the scanner's gain).
    double brightness = 0.2;
    /// Contrast factor drawn from [max(0, 1 - c), 1 + c]; values move away from (or towards)
    /// the frame's mean by it (torchvision's contrast jitter, with the luma mean for RGB).
    double contrast = 0.2;
    /// Largest rotation in degrees, angle drawn from [-r, r]; positive turns counter-clockwise.
    double rotation = 10.0;
    /// Largest zoom change, factor drawn from [1 - s, 1 + s] (> 1 enlarges), about the centre.
    double scale = 0.1;
    /// Random crop: the frame is padded with `shift` zero pixels on every side and cropped
    /// back to its size at a uniform offset, i.e. shifted by up to `shift` pixels each way
    /// (torchvision's RandomCrop(size, padding=shift)).
    std::size_t shift = 8;

    /// Settings that change nothing.
    static augmentation none() { return {0.0, 0.0, 0.0, 0.0, 0.0, 0}; }
};

/// The frame `x` `[1, C, H, W]` augmented with draws from `rng`; same shape. Values changed by
/// brightness or contrast are clamped to [0, 1] as torchvision does. shape_error unless N = 1;
/// invalid_argument for a negative setting, a probability above 1 or a scale of 1 or more.
tensor augment(const_tensor_view x, const augmentation& options, random_engine& rng);

/// The same with a generator seeded by `seed`: one seed, one result.
tensor augment(const_tensor_view x, const augmentation& options, std::uint64_t seed);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// The seven draws of one augmentation, already mapped to their ranges.
struct augmentation_draw {
    bool flip = false;
    double brightness = 1.0;
    double contrast = 1.0;
    double angle = 0.0; ///< radians
    double zoom = 1.0;
    std::ptrdiff_t shift_y = 0;
    std::ptrdiff_t shift_x = 0;
};

inline void check_augmentation(const augmentation& a) {
    const auto fail = [](const char* name, double value, const char* expected) {
        throw invalid_argument("augment", name,
                               std::string("expected ") + expected + ", got " +
                                   std::to_string(value));
    };
    if (!(a.flip_probability >= 0.0 && a.flip_probability <= 1.0)) {
        fail("flip_probability", a.flip_probability, "a probability in [0, 1]");
    }
    if (!(a.brightness >= 0.0)) {
        fail("brightness", a.brightness, "a value >= 0");
    }
    if (!(a.contrast >= 0.0)) {
        fail("contrast", a.contrast, "a value >= 0");
    }
    if (!(a.rotation >= 0.0 && a.rotation <= 180.0)) {
        fail("rotation", a.rotation, "degrees in [0, 180]");
    }
    if (!(a.scale >= 0.0 && a.scale < 1.0)) {
        fail("scale", a.scale, "a value in [0, 1)");
    }
}

inline augmentation_draw draw_augmentation(const augmentation& a, random_engine& rng) {
    const double pi = std::acos(-1.0);
    augmentation_draw d;
    d.flip = uniform_unit(rng) < a.flip_probability;
    d.brightness = uniform_between(rng, std::max(0.0, 1.0 - a.brightness), 1.0 + a.brightness);
    d.contrast = uniform_between(rng, std::max(0.0, 1.0 - a.contrast), 1.0 + a.contrast);
    d.angle = uniform_between(rng, -a.rotation, a.rotation) * pi / 180.0;
    d.zoom = uniform_between(rng, 1.0 - a.scale, 1.0 + a.scale);
    const auto span = static_cast<std::uint64_t>(2 * a.shift + 1);
    const auto shift = static_cast<std::ptrdiff_t>(a.shift);
    d.shift_y = static_cast<std::ptrdiff_t>(uniform_index(rng, span)) - shift;
    d.shift_x = static_cast<std::ptrdiff_t>(uniform_index(rng, span)) - shift;
    return d;
}

/// The mean torchvision's adjust_contrast blends towards: of the luma for RGB, else of all
/// values.
inline double contrast_mean(const_tensor_view x) {
    const shape4& s = x.shape();
    const std::size_t plane = s.plane_size();
    const double luma[3] = {0.2989, 0.587, 0.114};
    double sum = 0.0;
    for (std::size_t c = 0; c < s.c; ++c) {
        const double weight = s.c == 3 ? luma[c] : 1.0 / double(s.c);
        for (std::size_t i = 0; i < plane; ++i) {
            sum += weight * x.data()[c * plane + i];
        }
    }
    return sum / double(plane);
}

/// Mirrors every row of `x` in place.
inline void flip_rows(tensor& x) {
    const shape4& s = x.shape();
    for (std::size_t r = 0; r < s.c * s.h; ++r) {
        std::reverse(x.data() + r * s.w, x.data() + (r + 1) * s.w);
    }
}

/// `x` rotated by `angle` and zoomed by `zoom` about its centre, sampled bilinearly, zero where
/// the source falls outside. Output pixel p reads the input at c + R(-angle)(p - c) / zoom.
inline tensor rotate_and_zoom(const_tensor_view x, double angle, double zoom) {
    const shape4& s = x.shape();
    tensor out(s);
    const double cy = (double(s.h) - 1.0) / 2.0, cx = (double(s.w) - 1.0) / 2.0;
    const double cosine = std::cos(angle) / zoom, sine = std::sin(angle) / zoom;
    const auto h = static_cast<std::ptrdiff_t>(s.h), w = static_cast<std::ptrdiff_t>(s.w);

    for (std::size_t y = 0; y < s.h; ++y) {
        for (std::size_t x_out = 0; x_out < s.w; ++x_out) {
            // Image rows grow downwards, so a counter-clockwise turn on screen is clockwise in
            // (x, y) coordinates.
            const double dx = double(x_out) - cx, dy = double(y) - cy;
            const double sx = cx + cosine * dx - sine * dy;
            const double sy = cy + sine * dx + cosine * dy;
            const auto x0 = static_cast<std::ptrdiff_t>(std::floor(sx));
            const auto y0 = static_cast<std::ptrdiff_t>(std::floor(sy));
            const double fx = sx - double(x0), fy = sy - double(y0);
            const double weights[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
            const std::ptrdiff_t ys[4] = {y0, y0, y0 + 1, y0 + 1};
            const std::ptrdiff_t xs[4] = {x0, x0 + 1, x0, x0 + 1};

            for (std::size_t c = 0; c < s.c; ++c) {
                const float* plane = x.data() + c * s.plane_size();
                double value = 0.0;
                for (int t = 0; t < 4; ++t) {
                    if (ys[t] >= 0 && ys[t] < h && xs[t] >= 0 && xs[t] < w) {
                        value += weights[t] * plane[ys[t] * w + xs[t]];
                    }
                }
                out.data()[c * s.plane_size() + y * s.w + x_out] = static_cast<float>(value);
            }
        }
    }
    return out;
}

/// `x` moved down by `dy` and right by `dx` pixels, zero where nothing moves in.
inline tensor shift_frame(const_tensor_view x, std::ptrdiff_t dy, std::ptrdiff_t dx) {
    const shape4& s = x.shape();
    tensor out(s);
    const auto h = static_cast<std::ptrdiff_t>(s.h), w = static_cast<std::ptrdiff_t>(s.w);
    const std::ptrdiff_t x_begin = std::max<std::ptrdiff_t>(0, dx);
    const std::ptrdiff_t x_end = std::min(w, w + dx);
    for (std::size_t c = 0; c < s.c; ++c) {
        for (std::ptrdiff_t y = std::max<std::ptrdiff_t>(0, dy); y < std::min(h, h + dy); ++y) {
            const float* source = x.data() + c * s.plane_size() + (y - dy) * w;
            float* target = out.data() + c * s.plane_size() + y * w;
            if (x_begin < x_end) {
                std::copy(source + (x_begin - dx), source + (x_end - dx), target + x_begin);
            }
        }
    }
    return out;
}

} // namespace detail

inline tensor augment(const_tensor_view x, const augmentation& options, random_engine& rng) {
    if (x.shape().n != 1 || x.empty()) {
        throw shape_error("augment", x.shape().str(), "expected one frame [1, C, H, W]");
    }
    detail::check_augmentation(options);
    const detail::augmentation_draw d = detail::draw_augmentation(options, rng);

    tensor out = tensor::copy_of(x);
    float* values = out.data();
    if (d.brightness != 1.0) {
        const auto gain = static_cast<float>(d.brightness);
        for (std::size_t i = 0; i < out.size(); ++i) {
            values[i] = std::clamp(values[i] * gain, 0.0f, 1.0f);
        }
    }
    if (d.contrast != 1.0) {
        const auto factor = static_cast<float>(d.contrast);
        const auto mean = static_cast<float>(detail::contrast_mean(out));
        for (std::size_t i = 0; i < out.size(); ++i) {
            values[i] = std::clamp(factor * values[i] + (1.0f - factor) * mean, 0.0f, 1.0f);
        }
    }

    if (d.flip) {
        detail::flip_rows(out);
    }
    if (d.angle != 0.0 || d.zoom != 1.0) {
        out = detail::rotate_and_zoom(out, d.angle, d.zoom);
    }
    if (d.shift_y != 0 || d.shift_x != 0) {
        out = detail::shift_frame(out, d.shift_y, d.shift_x);
    }
    return out;
}

inline tensor augment(const_tensor_view x, const augmentation& options, std::uint64_t seed) {
    random_engine rng(seed);
    return augment(x, options, rng);
}

} // namespace lusnet
