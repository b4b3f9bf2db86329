#pragma once

/// @file ultrasound.hpp
/// Preparing an ultrasound frame for a model: crop to the imaging region, blank what is not
/// image, grayscale, and letterbox to a square.
///
/// `prepare_ultrasound` returns a clean `size` x `size` gray `image`, so it plugs in before the
/// model's usual preprocessing without changing it:
///
///     ultrasound_frame f = prepare_ultrasound(read_image(path), {});   // 224 x 224 gray
///     tensor x = preprocess(f.frame, net.preprocess());                // as for any image
///
/// With the default `size` equal to the model's crop and `preprocessing::resize` equal to it
/// too, resize and crop leave the square untouched; `ultrasound_tensor` does exactly that for
/// any preprocessing, so the letterboxed frame is never cropped a second time.
///
/// The steps:
///  1. `detect_sector` finds the imaging region (or reports the whole frame).
///  2. Colour overlays inside it (calipers, Doppler boxes, coloured text) are replaced by the
///     local gray: a pixel is an overlay when its colour departs from the frame's own tint by
///     more than `colour_threshold` gray levels (a blue- or sepia-tinted gray map is a tint,
///     not an overlay), and it takes the mean of the non-overlay pixels within
///     `inpaint_radius`, or 0 when there are none.
///  3. Grayscale (ITU-R 601 luma, as `convert_color`), cropped to the mask's bounding box;
///     every pixel outside the mask becomes 0, so text, UI and border are gone.
///  4. Letterbox: scaled so the longer side is `size` with the antialiased `resize`, centred on
///     a 0 canvas. `letterbox` records the map from frame to output coordinates, and
///     `geometry` is the region in output coordinates, so a Grad-CAM map of the model's input
///     can be compared with the pleural line found on `frame`.

#include "lusnet/clinical/sector.hpp"
#include "lusnet/error.hpp"
#include "lusnet/io/image.hpp"
#include "lusnet/io/transforms.hpp"
#include "lusnet/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lusnet {

/// Settings of `prepare_ultrasound`.
struct ultrasound_options {
    sector_options sector;          ///< how the imaging region is found
    std::size_t size = 224;         ///< side of the square output
    bool blank_colour = true;       ///< replace colour overlays inside the region by local gray
    double colour_threshold = 40.0; ///< gray levels a colour must depart from the frame's tint
    std::size_t inpaint_radius = 3; ///< pixels around an overlay pixel that give its gray
};

/// The map from frame coordinates to letterboxed output coordinates (pixel centres):
/// `out = (in - crop origin + 0.5) * scale - 0.5 + offset`, per axis.
struct letterbox {
    pixel_box crop;        ///< the part of the frame that was kept
    double scale_x = 1.0;  ///< output pixels per frame pixel, horizontally
    double scale_y = 1.0;  ///< output pixels per frame pixel, vertically
    double offset_x = 0.0; ///< padding columns left of the image
    double offset_y = 0.0; ///< padding rows above the image

    /// A frame point in output coordinates.
    image_point to_output(image_point p) const;
    /// An output point in frame coordinates.
    image_point to_frame(image_point p) const;
};

/// A frame ready for a model.
struct ultrasound_frame {
    image frame;                ///< `[size, size]` gray, 0 outside the imaging region
    sector region;              ///< the region found in the input frame
    sector_geometry geometry;   ///< the same region in `frame`'s coordinates
    letterbox transform;        ///< input frame to `frame` coordinates
    std::size_t overlay_pixels; ///< colour overlay pixels replaced inside the region
};

/// Finds the imaging region of `img` (gray or RGB), blanks everything else, and letterboxes it
/// to a square gray frame; invalid_argument for malformed or tiny images and bad options.
ultrasound_frame prepare_ultrasound(const image& img, const ultrasound_options& options = {});

/// `prepare_ultrasound(img, options).frame`: just the clean square frame.
image ultrasound_preprocess(const image& img, const ultrasound_options& options = {});

/// `img` prepared at the model's input size and run through `p` without its resize and crop,
/// which would cut into the letterbox: `[1, C, S, S]` with S = `p.crop` (or `p.resize` when
/// there is no crop, or `options.size` when there is neither) and C from `p.mode`.
tensor ultrasound_tensor(const image& img, const preprocessing& p, ultrasound_options options = {});

/// `geometry` in the coordinates `transform` maps to. The two axes' scales differ by at most
/// one output pixel over the image; a fan takes their mean, which moves it by under a pixel.
sector_geometry transform_geometry(const sector_geometry& geometry, const letterbox& transform);

// ---------------------------------------------------------------------------------------------
// Definitions

inline image_point letterbox::to_output(image_point p) const {
    return {(p.x - double(crop.x) + 0.5) * scale_x - 0.5 + offset_x,
            (p.y - double(crop.y) + 0.5) * scale_y - 0.5 + offset_y};
}

inline image_point letterbox::to_frame(image_point p) const {
    return {(p.x + 0.5 - offset_x) / scale_x - 0.5 + double(crop.x),
            (p.y + 0.5 - offset_y) / scale_y - 0.5 + double(crop.y)};
}

inline sector_geometry transform_geometry(const sector_geometry& geometry,
                                          const letterbox& transform) {
    sector_geometry g = geometry;
    g.apex = transform.to_output(geometry.apex);
    const double scale = 0.5 * (transform.scale_x + transform.scale_y);
    g.inner_radius = geometry.inner_radius * scale;
    g.outer_radius = geometry.outer_radius * scale;

    // A box's edges are pixel centres; its outer pixel edges map, then shrink back by half.
    const image_point first = transform.to_output({geometry.left - 0.5, geometry.top - 0.5});
    const image_point last = transform.to_output({geometry.right + 0.5, geometry.bottom + 0.5});
    g.left = first.x + 0.5;
    g.top = first.y + 0.5;
    g.right = last.x - 0.5;
    g.bottom = last.y - 0.5;
    return g;
}

namespace detail {

/// The frame's tint: the median of (R - G) / luma and (B - G) / luma over bright pixels inside
/// the mask, so a tinted gray map reads as gray. Zero for a neutral or gray frame.
inline void frame_tint(const image& img, const image& mask, double& red, double& blue) {
    std::vector<double> reds, blues;
    for (std::size_t i = 0; i < mask.pixels.size(); ++i) {
        const std::uint8_t* p = &img.pixels[3 * i];
        const double y = luma(p);
        if (mask.pixels[i] && y >= 40.0) {
            reds.push_back((double(p[0]) - double(p[1])) / y);
            blues.push_back((double(p[2]) - double(p[1])) / y);
        }
    }
    red = reds.empty() ? 0.0 : rank_quantile(reds, 0.5);
    blue = blues.empty() ? 0.0 : rank_quantile(blues, 0.5);
}

/// Marks the colour-overlay pixels of `img` (RGB) inside `mask`, and their 8 neighbours, which
/// carry the overlay's colour bleeding through JPEG's half-resolution chroma.
inline std::vector<std::uint8_t> overlay_pixels(const image& img, const image& mask,
                                                double threshold) {
    double red = 0.0, blue = 0.0;
    frame_tint(img, mask, red, blue);
    const std::size_t w = img.width, h = img.height;
    std::vector<std::uint8_t> core(w * h, 0), out(w * h, 0);
    for (std::size_t i = 0; i < core.size(); ++i) {
        const std::uint8_t* p = &img.pixels[3 * i];
        const double y = luma(p);
        const double off_red = double(p[0]) - double(p[1]) - red * y;
        const double off_blue = double(p[2]) - double(p[1]) - blue * y;
        core[i] = mask.pixels[i] && std::max(std::abs(off_red), std::abs(off_blue)) > threshold;
    }
    for (std::size_t y = 0; y < h; ++y) {
        for (std::size_t x = 0; x < w; ++x) {
            bool near = false;
            for (std::size_t v = y > 0 ? y - 1 : 0; v <= std::min(h - 1, y + 1); ++v) {
                for (std::size_t u = x > 0 ? x - 1 : 0; u <= std::min(w - 1, x + 1); ++u) {
                    near = near || core[v * w + u];
                }
            }
            out[y * w + x] = near && mask.pixels[y * w + x];
        }
    }
    return out;
}

/// Replaces every marked pixel of `gray` by the mean of unmarked ones within `radius`, or 0,
/// from summed-area tables of values and counts.
inline void inpaint(image& gray, const std::vector<std::uint8_t>& marked, std::size_t radius) {
    const std::size_t w = gray.width, h = gray.height;
    std::vector<double> sums((w + 1) * (h + 1), 0.0), counts((w + 1) * (h + 1), 0.0);
    for (std::size_t y = 0; y < h; ++y) {
        double row_sum = 0.0, row_count = 0.0;
        for (std::size_t x = 0; x < w; ++x) {
            const bool keep = !marked[y * w + x];
            row_sum += keep ? gray.pixels[y * w + x] : 0.0;
            row_count += keep ? 1.0 : 0.0;
            sums[(y + 1) * (w + 1) + x + 1] = sums[y * (w + 1) + x + 1] + row_sum;
            counts[(y + 1) * (w + 1) + x + 1] = counts[y * (w + 1) + x + 1] + row_count;
        }
    }
    const auto box = [&](const std::vector<double>& t, std::size_t x0, std::size_t y0,
                         std::size_t x1, std::size_t y1) {
        return t[y1 * (w + 1) + x1] - t[y0 * (w + 1) + x1] - t[y1 * (w + 1) + x0] +
               t[y0 * (w + 1) + x0];
    };
    for (std::size_t y = 0; y < h; ++y) {
        for (std::size_t x = 0; x < w; ++x) {
            if (!marked[y * w + x]) {
                continue;
            }
            const std::size_t x0 = x > radius ? x - radius : 0, x1 = std::min(w, x + radius + 1);
            const std::size_t y0 = y > radius ? y - radius : 0, y1 = std::min(h, y + radius + 1);
            const double n = box(counts, x0, y0, x1, y1);
            const double mean = n > 0.0 ? box(sums, x0, y0, x1, y1) / n : 0.0;
            gray.pixels[y * w + x] = static_cast<std::uint8_t>(std::lround(mean));
        }
    }
}

/// `gray` (1 channel) letterboxed into a `size` x `size` 0 canvas with the antialiased resize.
inline image letterbox_image(const image& gray, std::size_t size, letterbox& transform) {
    const double longer = double(std::max(gray.width, gray.height));
    const auto fit = [&](std::size_t side) {
        return std::max<std::size_t>(1, std::lround(double(side) * double(size) / longer));
    };
    const std::size_t w = std::min(size, fit(gray.width)), h = std::min(size, fit(gray.height));
    const std::size_t left = (size - w) / 2, top = (size - h) / 2;
    transform.scale_x = double(w) / double(gray.width);
    transform.scale_y = double(h) / double(gray.height);
    transform.offset_x = double(left);
    transform.offset_y = double(top);

    const tensor scaled = resize(to_tensor(gray), h, w, true);
    image out{size, size, 1, std::vector<std::uint8_t>(size * size, 0)};
    for (std::size_t y = 0; y < h; ++y) {
        for (std::size_t x = 0; x < w; ++x) {
            const float v = scaled.data()[y * w + x] * 255.0f;
            out.pixels[(top + y) * size + left + x] =
                static_cast<std::uint8_t>(std::clamp(std::lround(v), 0l, 255l));
        }
    }
    return out;
}

} // namespace detail

inline ultrasound_frame prepare_ultrasound(const image& img, const ultrasound_options& options) {
    const std::string operation = "prepare ultrasound";
    detail::check_image(operation, "image", img);
    if (options.size == 0 || options.size > 16384 || !(options.colour_threshold >= 0.0)) {
        throw invalid_argument(operation, "ultrasound_options",
                               "expected a size of 1 to 16384 and a colour threshold >= 0, got " +
                                   std::to_string(options.size) + " and " +
                                   std::to_string(options.colour_threshold));
    }

    ultrasound_frame out;
    out.region = detect_sector(img, options.sector);
    image gray = convert_color(img, color_mode::gray);
    std::vector<std::uint8_t> overlay;
    if (img.channels == 3 && options.blank_colour) {
        overlay = detail::overlay_pixels(img, out.region.mask, options.colour_threshold);
        out.overlay_pixels =
            static_cast<std::size_t>(std::count(overlay.begin(), overlay.end(), 1));
        detail::inpaint(gray, overlay, options.inpaint_radius);
    } else {
        out.overlay_pixels = 0;
    }

    // Crop to the mask's box, blanking what lies outside the mask.
    const pixel_box& box = out.region.bounds;
    image crop{box.width, box.height, 1, std::vector<std::uint8_t>(box.width * box.height, 0)};
    for (std::size_t y = 0; y < box.height; ++y) {
        for (std::size_t x = 0; x < box.width; ++x) {
            const std::size_t i = (box.y + y) * img.width + box.x + x;
            crop.pixels[y * box.width + x] = out.region.mask.pixels[i] ? gray.pixels[i] : 0;
        }
    }

    out.transform.crop = box;
    out.frame = detail::letterbox_image(crop, options.size, out.transform);
    out.geometry = transform_geometry(out.region.geometry, out.transform);
    return out;
}

inline image ultrasound_preprocess(const image& img, const ultrasound_options& options) {
    return prepare_ultrasound(img, options).frame;
}

inline tensor ultrasound_tensor(const image& img, const preprocessing& p,
                                ultrasound_options options) {
    options.size = p.crop > 0 ? p.crop : p.resize > 0 ? p.resize : options.size;
    preprocessing square = p;
    square.resize = 0;
    square.crop = 0;
    return preprocess(prepare_ultrasound(img, options).frame, square);
}

} // namespace lusnet
