#pragma once

/// @file pleura.hpp
/// The pleural line of a lung ultrasound frame, and how much of a heatmap lies on it.
///
/// The pleura is the bright, roughly level line below the chest wall where the lung begins;
/// the study this library follows reads pleural changes, and its Grad-CAM maps are said to
/// dwell there. `pleural_band_share` makes that claim a number per frame: the share of a
/// heatmap's mass within a band around the line, next to the share a uniform map would give.
///
/// The line is sought in the region's own coordinates, where it is nearly straight: depth `v`
/// along the beam (the row in a rectangle, the distance from the apex in a fan, so the arc a
/// convex probe draws becomes a row) against the lateral position `u` (the column, or the beam
/// angle). On that resampled image:
///  1. A ridge filter: the mean of a thin band at each depth minus the brighter of the bands
///     just above and below it, on profiles averaged laterally over a few percent of the width,
///     times the band's own brightness / 128 (the pleura is hyperechoic: bright, not only
///     contrasted). Lines score high; an edge (bright above dark) and flat speckle near zero.
///  2. Dynamic programming finds the path through the depth window [`min_depth`, `max_depth`]
///     of the region with the largest total ridge, moving at most `max_step` pixels in depth
///     per lateral sample and paying `step_penalty` per pixel moved. The best few such paths
///     (each kept clear of the ones before) down to half the first one's strength are the
///     candidates, and the deepest wins: the chest wall's fasciae lie above the pleura and can
///     be as bright, while below it the lung's horizontal artefacts (A-lines) are fainter.
///  3. Confidence: the share of the path whose ridge exceeds `support` times the robust spread
///     (1.4826 MAD) of the ridge over the window.
///
/// Limits: a heuristic, checked by eye on the POCUS frames (docs/sector_check.png), not against
/// annotations. A bright fascia or rib surface that runs deeper than a faint pleura wins; an
/// A-line half as strong as the pleura wins; a path may jump between lines where neither
/// spans the width. Under a rib's shadow the path bridges the gap with low strength, which
/// the confidence reports, and a consolidated lung without a line gets a path of low
/// confidence. TODO(#6): measure the located line against expert annotations.

#include "lusnet/clinical/sector.hpp"
#include "lusnet/error.hpp"
#include "lusnet/io/image.hpp"
#include "lusnet/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace lusnet {

/// Settings of `find_pleural_line`. Shares of depth are of the region's visible depth.
struct pleura_options {
    double min_depth = 0.03;         ///< shallowest depth searched, share of the depth
    double max_depth = 0.6;          ///< deepest depth searched, share of the depth
    double thickness = 0.008;        ///< half-thickness of the line, share (at least 1 pixel)
    double lateral_smoothing = 0.03; ///< half-width of the lateral mean, share of the width
    double max_step = 1.0;           ///< depth pixels the line may move per lateral pixel
    double step_penalty = 4.0;       ///< ridge gray levels lost per pixel of depth moved
    double support = 2.0;            ///< robust spreads a sample's ridge must exceed to count
};

/// A pleural line, in the coordinates of the frame and region it was found in.
struct pleural_line {
    sector_geometry geometry;        ///< the region the line was sought in
    std::vector<double> lateral;     ///< x (rectangle) or beam angle in degrees (fan), rising
    std::vector<double> depth;       ///< y (rectangle) or distance from the apex (fan)
    std::vector<image_point> points; ///< the same samples in image coordinates
    std::vector<float> strength;     ///< ridge response per sample, gray levels
    double confidence = 0.0;         ///< share of samples whose ridge stands out, 0 to 1
};

/// The share of a heatmap's mass near the pleural line.
struct band_share {
    double share = 0.0;          ///< mass in the band / all mass; NaN when the map is all 0
    double uniform_share = 0.0;  ///< band pixels / all pixels: the share of a flat map
    double mass = 0.0;           ///< all mass
    std::size_t band_pixels = 0; ///< pixels in the band
    std::size_t pixels = 0;      ///< pixels in the map
};

/// Finds the pleural line in `frame` (gray or RGB) within `geometry` (in `frame`'s
/// coordinates, e.g. `ultrasound_frame::geometry` for a prepared frame); invalid_argument for
/// a malformed image, options out of their domain or a region too small to search.
pleural_line find_pleural_line(const image& frame, const sector_geometry& geometry,
                               const pleura_options& options = {});

/// Whether image point (x, y) lies within `half_width` pixels of `line`, measured along the
/// beam (vertically in a rectangle, radially in a fan) and within the line's lateral extent.
bool in_pleural_band(const pleural_line& line, double x, double y, double half_width);

/// The band of `half_width` around `line` on a `width` x `height` frame: 255 inside, else 0.
image pleural_band_mask(const pleural_line& line, std::size_t width, std::size_t height,
                        double half_width);

/// The share of `heatmap`'s mass within `half_width` of `line`. `heatmap` is `[1, 1, H, W]`
/// (`[H, W]` viewed as a tensor), non-negative, in the pixel grid the line was found in
/// (a Grad-CAM map at the model's input size for a line found on the prepared frame).
/// shape_error for another shape, invalid_argument for negative or non-finite values.
band_share pleural_band_share(const_tensor_view heatmap, const pleural_line& line,
                              double half_width);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// The region as a depth x lateral grid: where each sample sits in the image.
struct beam_grid {
    std::vector<double> lateral; ///< u of each column
    std::vector<double> depth;   ///< v of each row
    bool fan = false;
    image_point apex;

    image_point at(double u, double v) const {
        if (!fan) {
            return {u, v};
        }
        const double radians = u / degrees_per_radian;
        return {apex.x + v * std::sin(radians), apex.y + v * std::cos(radians)};
    }
};

/// The (u, v) of image point (x, y) in `g`'s beam coordinates.
inline void beam_coordinates(const sector_geometry& g, double x, double y, double& u, double& v) {
    if (g.kind != sector_kind::fan) {
        u = x;
        v = y;
        return;
    }
    const double dx = x - g.apex.x, dy = y - g.apex.y;
    u = std::atan2(dx, dy) * degrees_per_radian;
    v = std::sqrt(dx * dx + dy * dy);
}

/// The sampling grid over the search window of `g` on a `width` x `height` frame.
inline beam_grid search_grid(const sector_geometry& g, std::size_t width, std::size_t height,
                             const pleura_options& o) {
    beam_grid grid;
    grid.fan = g.kind == sector_kind::fan;
    grid.apex = g.apex;
    double near = g.top, far = g.bottom, u0 = g.left, u1 = g.right;
    if (grid.fan) {
        // Depth along the central beam, from where it enters the frame to where it leaves it.
        const double middle = 0.5 * (g.left_angle + g.right_angle);
        near = g.outer_radius;
        far = g.inner_radius;
        for (double r = g.inner_radius; r <= g.outer_radius; r += 0.5) {
            const image_point p = grid.at(middle, r);
            if (p.x >= 0 && p.y >= 0 && p.x <= double(width - 1) && p.y <= double(height - 1)) {
                near = std::min(near, r);
                far = std::max(far, r);
            }
        }
        u0 = g.left_angle;
        u1 = g.right_angle;
    }
    const double first = near + o.min_depth * (far - near);
    const double last = near + o.max_depth * (far - near);
    for (double v = std::ceil(first); v <= last; v += 1.0) {
        grid.depth.push_back(v);
    }

    // About one lateral sample per pixel at the middle of the window.
    const double middle_radius = 0.5 * (first + last);
    const double span = grid.fan ? (u1 - u0) / degrees_per_radian * middle_radius : u1 - u0;
    const auto count = static_cast<std::size_t>(std::clamp(std::ceil(span) + 1.0, 2.0, 8192.0));
    for (std::size_t i = 0; i < count; ++i) {
        grid.lateral.push_back(u0 + (u1 - u0) * double(i) / double(count - 1));
    }
    return grid;
}

/// Bilinear sample of `gray` (1 channel) at (x, y); NaN outside the frame.
inline float sample_gray(const image& gray, double x, double y) {
    if (!(x >= 0.0 && y >= 0.0 && x <= double(gray.width - 1) && y <= double(gray.height - 1))) {
        return std::numeric_limits<float>::quiet_NaN();
    }
    const auto x0 = std::min(static_cast<std::size_t>(x), gray.width - 1);
    const auto y0 = std::min(static_cast<std::size_t>(y), gray.height - 1);
    const std::size_t x1 = std::min(x0 + 1, gray.width - 1), y1 = std::min(y0 + 1, gray.height - 1);
    const double fx = x - double(x0), fy = y - double(y0);
    const auto at = [&](std::size_t u, std::size_t v) {
        return double(gray.pixels[v * gray.width + u]);
    };
    const double top = at(x0, y0) * (1 - fx) + at(x1, y0) * fx;
    const double bottom = at(x0, y1) * (1 - fx) + at(x1, y1) * fx;
    return static_cast<float>(top * (1 - fy) + bottom * fy);
}

/// The mean of `values[from, to)` skipping NaN; NaN when none is left.
inline float mean_skipping_nan(const float* values, std::size_t from, std::size_t to) {
    double sum = 0.0;
    std::size_t n = 0;
    for (std::size_t i = from; i < to; ++i) {
        if (!std::isnan(values[i])) {
            sum += values[i];
            ++n;
        }
    }
    return n ? static_cast<float>(sum / double(n)) : std::numeric_limits<float>::quiet_NaN();
}

/// The line's half-thickness in depth samples: `thickness` of the region's depth, at least 1.
inline std::size_t line_half_thickness(const beam_grid& grid, const pleura_options& o) {
    const double window = grid.depth.back() - grid.depth.front() + 1.0;
    return std::max<std::size_t>(1,
                                 std::lround(o.thickness * window / (o.max_depth - o.min_depth)));
}

/// Step 1: the ridge response `[depth, lateral]`, NaN where the window leaves the region.
inline std::vector<float> ridge_response(const image& gray, const sector_geometry& g,
                                         const beam_grid& grid, const pleura_options& o) {
    const std::size_t rows = grid.depth.size(), cols = grid.lateral.size();
    const double depth_span = grid.depth.back() - grid.depth.front() + 1.0;
    const auto half = std::max<std::size_t>(
        1, std::lround(o.thickness * depth_span / (o.max_depth - o.min_depth)));
    const auto lateral = std::max<std::size_t>(1, std::lround(o.lateral_smoothing * double(cols)));

    // Each column's profile along the beam, then the lateral mean of the profiles.
    std::vector<float> column(rows * cols), smooth(rows * cols);
    for (std::size_t c = 0; c < cols; ++c) {
        for (std::size_t r = 0; r < rows; ++r) {
            const image_point p = grid.at(grid.lateral[c], grid.depth[r]);
            column[c * rows + r] = g.contains(p.x, p.y) ? sample_gray(gray, p.x, p.y)
                                                        : std::numeric_limits<float>::quiet_NaN();
        }
    }
    std::vector<float> across(cols);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < cols; ++c) {
            across[c] = column[c * rows + r];
        }
        for (std::size_t c = 0; c < cols; ++c) {
            smooth[c * rows + r] = mean_skipping_nan(across.data(), c > lateral ? c - lateral : 0,
                                                     std::min(cols, c + lateral + 1));
        }
    }

    // Core [v - half, v + half] against the brighter flank of 2 half on either side.
    std::vector<float> ridge(rows * cols, std::numeric_limits<float>::quiet_NaN());
    const std::size_t reach = 3 * half;
    for (std::size_t c = 0; c < cols; ++c) {
        const float* profile = &smooth[c * rows];
        for (std::size_t r = reach; r + reach < rows; ++r) {
            const float core = mean_skipping_nan(profile, r - half, r + half + 1);
            const float above = mean_skipping_nan(profile, r - reach, r - half);
            const float below = mean_skipping_nan(profile, r + half + 1, r + reach + 1);
            const float contrast = core - std::max(above, below);
            ridge[r * cols + c] = contrast * core / 128.0f;
        }
    }
    return ridge;
}

/// Step 2: the depth row of the best path in each column, by dynamic programming.
inline std::vector<std::size_t> best_path(const std::vector<float>& ridge, std::size_t rows,
                                          std::size_t cols, const pleura_options& o) {
    // Missing samples cost a little, so the path prefers the region but may cross a gap.
    const auto value = [&](std::size_t r, std::size_t c) {
        const float v = ridge[r * cols + c];
        return std::isnan(v) ? -1.0 : double(v);
    };
    const auto step = static_cast<std::ptrdiff_t>(std::max(1.0, std::floor(o.max_step)));
    std::vector<double> score(rows), next(rows);
    std::vector<std::size_t> from(rows * cols, 0);
    for (std::size_t r = 0; r < rows; ++r) {
        score[r] = value(r, 0);
    }
    for (std::size_t c = 1; c < cols; ++c) {
        for (std::size_t r = 0; r < rows; ++r) {
            double best = -std::numeric_limits<double>::infinity();
            for (std::ptrdiff_t d = -step; d <= step; ++d) {
                const std::ptrdiff_t q = static_cast<std::ptrdiff_t>(r) + d;
                if (q < 0 || q >= static_cast<std::ptrdiff_t>(rows)) {
                    continue;
                }
                const double s = score[std::size_t(q)] - o.step_penalty * double(std::abs(d));
                if (s > best) {
                    best = s;
                    from[c * rows + r] = std::size_t(q);
                }
            }
            next[r] = best + value(r, c);
        }
        std::swap(score, next);
    }

    std::vector<std::size_t> path(cols);
    path[cols - 1] = std::size_t(std::max_element(score.begin(), score.end()) - score.begin());
    for (std::size_t c = cols - 1; c > 0; --c) {
        path[c - 1] = from[c * rows + path[c]];
    }
    return path;
}

/// The mean ridge along `path`, gaps counting 0.
inline double path_strength(const std::vector<float>& ridge, const std::vector<std::size_t>& path,
                            std::size_t cols) {
    double sum = 0.0;
    for (std::size_t c = 0; c < cols; ++c) {
        const float v = ridge[path[c] * cols + c];
        sum += std::isnan(v) ? 0.0 : double(v);
    }
    return sum / double(cols);
}

/// Step 2 with the anatomy: the strongest paths, each next one kept clear of those before,
/// down to half the strength of the first; of these the deepest.
///
/// The chest wall's fasciae lie above the pleura and can be as bright and longer; below the
/// pleura the lung shows only artefacts, whose horizontal ones (A-lines, reverberations of the
/// pleura) are fainter than the pleura itself. So the pleura is the deepest strong line.
inline std::vector<std::size_t> pleural_path(std::vector<float> ridge, const beam_grid& grid,
                                             const pleura_options& o) {
    const std::size_t rows = grid.depth.size(), cols = grid.lateral.size();
    const std::size_t clear = 3 * line_half_thickness(grid, o);
    std::vector<std::size_t> deepest;
    double deepest_depth = -1.0, first_strength = 0.0;
    for (int k = 0; k < 4; ++k) {
        const std::vector<std::size_t> path = best_path(ridge, rows, cols, o);
        const double strength = path_strength(ridge, path, cols);
        if (k == 0) {
            first_strength = strength;
        } else if (!(strength >= 0.5 * first_strength) || strength <= 0.0) {
            break;
        }

        std::vector<double> depths;
        for (std::size_t c = 0; c < cols; ++c) {
            const std::size_t r = path[c];
            depths.push_back(grid.depth[r]);
            for (std::size_t q = r > clear ? r - clear : 0; q <= std::min(rows - 1, r + clear);
                 ++q) {
                ridge[q * cols + c] = std::numeric_limits<float>::quiet_NaN();
            }
        }
        const double depth = rank_quantile(depths, 0.5);
        if (depth > deepest_depth) {
            deepest_depth = depth;
            deepest = path;
        }
    }
    return deepest;
}

/// `lateral[i] <= u <= lateral[i + 1]`'s linear interpolation of `depth` at `u`; false when `u`
/// lies outside the line.
inline bool depth_at(const pleural_line& line, double u, double& v) {
    const std::vector<double>& lateral = line.lateral;
    if (lateral.empty() || u < lateral.front() || u > lateral.back()) {
        return false;
    }
    const auto it = std::upper_bound(lateral.begin(), lateral.end(), u);
    const std::size_t i =
        it == lateral.end() ? lateral.size() - 1 : std::size_t(it - lateral.begin());
    if (i == 0 || lateral[i] == lateral[i - 1]) {
        v = line.depth[i];
        return true;
    }
    const double t = (u - lateral[i - 1]) / (lateral[i] - lateral[i - 1]);
    v = line.depth[i - 1] + t * (line.depth[i] - line.depth[i - 1]);
    return true;
}

inline void check_pleura_options(const pleura_options& o) {
    const bool fine = o.min_depth >= 0.0 && o.min_depth < o.max_depth && o.max_depth <= 1.0 &&
                      o.thickness > 0.0 && o.thickness < 0.25 && o.lateral_smoothing >= 0.0 &&
                      o.lateral_smoothing < 0.5 && o.max_step >= 1.0 && o.step_penalty >= 0.0 &&
                      o.support >= 0.0;
    if (!fine) {
        throw invalid_argument("find pleural line", "pleura_options",
                               "expected 0 <= min_depth < max_depth <= 1, thickness in (0, 0.25), "
                               "lateral_smoothing in [0, 0.5), max_step >= 1 and non-negative "
                               "penalty and support, got other values");
    }
}

} // namespace detail

inline pleural_line find_pleural_line(const image& frame, const sector_geometry& geometry,
                                      const pleura_options& options) {
    const std::string operation = "find pleural line";
    detail::check_image(operation, "frame", frame);
    detail::check_pleura_options(options);
    const image gray = convert_color(frame, color_mode::gray);
    const detail::beam_grid grid =
        detail::search_grid(geometry, frame.width, frame.height, options);
    const std::size_t rows = grid.depth.size(), cols = grid.lateral.size();
    if (rows < 12 || cols < 2) {
        throw invalid_argument(operation, "geometry",
                               "expected a region at least 12 pixels deep in the search window, "
                               "got " +
                                   std::to_string(rows));
    }

    const std::vector<float> ridge = detail::ridge_response(gray, geometry, grid, options);
    const std::vector<std::size_t> path = detail::pleural_path(ridge, grid, options);

    // The ridge's robust spread over the window gives the scale a sample must stand out on.
    std::vector<double> values;
    for (float v : ridge) {
        if (!std::isnan(v)) {
            values.push_back(v);
        }
    }
    double spread = 0.0;
    if (!values.empty()) {
        const double median = detail::rank_quantile(values, 0.5);
        for (double& v : values) {
            v = std::abs(v - median);
        }
        spread = 1.4826 * detail::rank_quantile(values, 0.5);
    }

    pleural_line line;
    line.geometry = geometry;
    std::size_t seen = 0;
    for (std::size_t c = 0; c < cols; ++c) {
        const float strength = ridge[path[c] * cols + c];
        line.lateral.push_back(grid.lateral[c]);
        line.depth.push_back(grid.depth[path[c]]);
        line.points.push_back(grid.at(grid.lateral[c], grid.depth[path[c]]));
        line.strength.push_back(std::isnan(strength) ? 0.0f : strength);
        seen +=
            !std::isnan(strength) && strength > 0.0f && double(strength) > options.support * spread
                ? 1
                : 0;
    }
    line.confidence = double(seen) / double(cols);
    return line;
}

inline bool in_pleural_band(const pleural_line& line, double x, double y, double half_width) {
    double u = 0.0, v = 0.0, line_v = 0.0;
    detail::beam_coordinates(line.geometry, x, y, u, v);
    return detail::depth_at(line, u, line_v) && std::abs(v - line_v) <= half_width;
}

inline image pleural_band_mask(const pleural_line& line, std::size_t width, std::size_t height,
                               double half_width) {
    image mask{width, height, 1, std::vector<std::uint8_t>(width * height, 0)};
    for (std::size_t y = 0; y < height; ++y) {
        for (std::size_t x = 0; x < width; ++x) {
            mask.pixels[y * width + x] =
                in_pleural_band(line, double(x), double(y), half_width) ? 255 : 0;
        }
    }
    return mask;
}

inline band_share pleural_band_share(const_tensor_view heatmap, const pleural_line& line,
                                     double half_width) {
    const std::string operation = "pleural band share";
    const shape4& s = heatmap.shape();
    if (s.n != 1 || s.c != 1 || s.h == 0 || s.w == 0) {
        throw shape_error(operation, s.str(), "expected a [1, 1, H, W] heatmap");
    }
    if (!(half_width >= 0.0) || line.lateral.size() != line.depth.size()) {
        throw invalid_argument(operation, "line and half width",
                               "expected a half width >= 0 and a line with one depth per "
                               "lateral sample, got " +
                                   std::to_string(half_width) + " and " +
                                   std::to_string(line.lateral.size()) + " vs " +
                                   std::to_string(line.depth.size()));
    }

    band_share out;
    out.pixels = s.h * s.w;
    double inside = 0.0;
    for (std::size_t y = 0; y < s.h; ++y) {
        for (std::size_t x = 0; x < s.w; ++x) {
            const float value = heatmap.data()[y * s.w + x];
            if (!(value >= 0.0f) || std::isinf(value)) {
                throw invalid_argument(
                    operation, "heatmap[" + std::to_string(y) + ", " + std::to_string(x) + "]",
                    "expected a finite value >= 0, got " + std::to_string(value));
            }
            const bool in_band = in_pleural_band(line, double(x), double(y), half_width);
            out.mass += value;
            inside += in_band ? value : 0.0;
            out.band_pixels += in_band ? 1 : 0;
        }
    }
    out.share = out.mass > 0.0 ? inside / out.mass : std::numeric_limits<double>::quiet_NaN();
    out.uniform_share = double(out.band_pixels) / double(out.pixels);
    return out;
}

} // namespace lusnet
