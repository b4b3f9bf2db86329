#pragma once

/// @file sector.hpp
/// Finding the imaging region of an ultrasound frame: the fan of a convex or phased-array probe,
/// or the rectangle of a linear probe, among the black border, text, calipers and UI around it.
///
/// The method, step by step (all in a working copy no larger than `working_size` per side):
///  1. Luma, smoothed by a 3 x 3 box (wider on large frames); the background level is the
///     image's 1st percentile, and every pixel a few gray levels above it is signal. Speckle is
///     rarely black, so even the dark depths of a fan pass while a flat border does not.
///  2. Connected components of the signal: the largest is the imaging region; components at
///     least a tenth of its size join it (a near field split off by a dark band), while small
///     ones (text, calipers, logos) are left out.
///  3. Per row, the leftmost and rightmost pixel of the largest component.
///  4. A straight edge on each side by RANSAC over those points, refined by least squares on
///     its longest run of inliers. An edge must have the region on one side only: a line with
///     signal beyond it is a shadow's or a B-line's border, not the region's. Rows where the
///     frame cuts the region count against a line but never for it.
///  5. Shapes from the edges, most direct first: a rectangle when both edges stand upright;
///     the fan between two edges that open downward (the apex where they cross, often above
///     the image); a fan mirrored about the vertical through its apex when only one edge shows
///     (the other side dark or cut off), the apex being where the arcs centre on that edge; and
///     with no edge at all a fan around the circle that the depth arc fits (RANSAC over three
///     boundary points), or a rectangle bounded by the frame when the region spans it. A fan's
///     inner radius is a low quantile of the nearest region pixel over angular bins, its outer
///     radius the farthest region pixel (the depths are often black).
///  6. Each shape is checked against the signal in turn, and the first that holds
///     `min_signal_inside` of it (weighted by brightness above the background, so losing a
///     bright structure weighs more than dim speckle) and is `min_fill` filled by it wins.
///     The smoothing grows a bright region by its radius; edges and radii are moved back.
///     With no shape left the region is the whole frame, reported as
///     `sector_kind::whole_frame` with the reason in `note`.
///
/// On the 615 POCUS frames (tests/test_sector.cpp) 536 become fans, 50 rectangles and 29 the
/// whole frame, and every mask keeps at least 97 % of its frame's tissue intensity.
/// TODO(#6): a UI element touching the region (a depth scale against the fan's edge) joins its
/// component and can pass for an edge; regions of DICOM files could come from their
/// SequenceOfUltrasoundRegions instead.
///
/// Coordinates are pixel centres: pixel (x, y) has its centre at (x, y), x to the right and y
/// down. Angles are in degrees from straight down, positive towards +x, so a fan's left edge
/// usually has a negative angle.

#include "lusnet/error.hpp"
#include "lusnet/io/image.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace lusnet {

/// The shape of an imaging region.
enum class sector_kind {
    fan,        ///< convex or phased-array probe: two straight edges from an apex, two arcs
    rectangle,  ///< linear probe
    whole_frame ///< nothing was found; the region is the whole frame (the fallback)
};

/// The name of a kind, for messages and reports: "fan", "rectangle" or "whole frame".
const char* to_string(sector_kind kind);

/// A point in image coordinates (pixel centres at integers, y down).
struct image_point {
    double x = 0.0; ///< column
    double y = 0.0; ///< row
};

/// An axis-aligned box of whole pixels.
struct pixel_box {
    std::size_t x = 0;      ///< first column
    std::size_t y = 0;      ///< first row
    std::size_t width = 0;  ///< columns
    std::size_t height = 0; ///< rows
};

/// The geometry of an imaging region; which fields apply depends on `kind`.
struct sector_geometry {
    sector_kind kind = sector_kind::whole_frame; ///< fan, rectangle or whole frame

    image_point apex;          ///< fan: where the edges meet, often above the image
    double left_angle = 0.0;   ///< fan: left edge, degrees from straight down (+ to the right)
    double right_angle = 0.0;  ///< fan: right edge, degrees, greater than `left_angle`
    double inner_radius = 0.0; ///< fan: distance from the apex to the probe face
    double outer_radius = 0.0; ///< fan: distance from the apex to the deepest arc

    double left = 0.0;   ///< rectangle and whole frame: first column inside
    double top = 0.0;    ///< rectangle and whole frame: first row inside
    double right = 0.0;  ///< rectangle and whole frame: last column inside
    double bottom = 0.0; ///< rectangle and whole frame: last row inside

    /// True if the point lies inside the region (its edges included).
    bool contains(double x, double y) const;
};

/// The imaging region found in one frame.
struct sector {
    sector_geometry geometry; ///< the fitted shape
    image mask;               ///< `[H, W]` gray image of the frame's size: 255 inside, 0 outside
    pixel_box bounds;         ///< the smallest box holding every mask pixel
    std::string note;         ///< why the detector fell back to the whole frame; empty otherwise
};

/// Settings of `detect_sector`. Sizes given as shares are of the working image's shorter side.
struct sector_options {
    std::size_t min_side = 16;       ///< smaller images are refused (invalid_argument)
    std::size_t working_size = 640;  ///< larger frames are box-downscaled to this for detection
    double smoothing = 0.0025;       ///< box filter radius, share of the side (at least 1 pixel)
    double threshold = 4.0;          ///< gray levels above the background that count as signal
    double edge_tolerance = 1.5;     ///< pixels: distance of a RANSAC inlier from its edge line
    double min_edge_share = 0.05;    ///< share of the region's rows an edge must explain
    double rectangle_angle = 5.0;    ///< degrees: edges this close to vertical form a rectangle
    double min_fan_angle = 10.0;     ///< degrees: a narrower opening is no fan
    double min_region_share = 0.02;  ///< a smaller signal region means nothing was found
    double min_signal_inside = 0.97; ///< share of the (brightness-weighted) signal to hold
    double min_fill = 0.4;           ///< share of the fitted shape the signal must fill
};

/// Finds the imaging region of `img` (gray or RGB): invalid_argument if the image is malformed,
/// empty or smaller than `options.min_side` on a side, or if an option is out of its domain.
/// Never fails on content: when no region is found the result is the whole frame, with
/// `kind == sector_kind::whole_frame` and the reason in `note`.
sector detect_sector(const image& img, const sector_options& options = {});

/// The mask of `geometry` on a `width` x `height` frame: 255 inside, 0 outside.
image render_mask(const sector_geometry& geometry, std::size_t width, std::size_t height);

// ---------------------------------------------------------------------------------------------
// Definitions

inline const char* to_string(sector_kind kind) {
    switch (kind) {
    case sector_kind::fan:
        return "fan";
    case sector_kind::rectangle:
        return "rectangle";
    case sector_kind::whole_frame:
        return "whole frame";
    }
    return "unknown";
}

namespace detail {

inline constexpr double degrees_per_radian = 57.29577951308232;

/// A single-channel float image `[H, W]`, row by row.
struct gray_plane {
    std::size_t width = 0;
    std::size_t height = 0;
    std::vector<float> values;

    float at(std::size_t x, std::size_t y) const { return values[y * width + x]; }
};

/// A fan edge as a unit direction: (sin angle, cos angle) in (x, y).
struct edge_direction {
    double x = 0.0;
    double y = 1.0;
};

/// The unit direction of the edge at `degrees` from straight down.
inline edge_direction edge_direction_of(double degrees) {
    const double radians = degrees / degrees_per_radian;
    return {std::sin(radians), std::cos(radians)};
}

/// sin of the angle from `a` to `b` (both measured from straight down), times their lengths:
/// positive when `b` has the larger angle, i.e. lies further towards +x.
inline double edge_turn(double ax, double ay, double bx, double by) {
    return ay * bx - ax * by;
}

/// Whether the offset (dx, dy) from a fan's apex lies inside the fan.
inline bool fan_contains(const sector_geometry& g, const edge_direction& left,
                         const edge_direction& right, double dx, double dy) {
    const double r2 = dx * dx + dy * dy;
    if (r2 < g.inner_radius * g.inner_radius || r2 > g.outer_radius * g.outer_radius) {
        return false;
    }
    // Between the edges means a larger angle than the left one and a smaller one than the
    // right one; the fan's opening is below 180 degrees, so the two signs decide it.
    return edge_turn(left.x, left.y, dx, dy) >= 0.0 && edge_turn(dx, dy, right.x, right.y) >= 0.0;
}

/// Luma of `img`, box-averaged over `factor` x `factor` blocks (partial blocks at the far
/// edges average what they hold).
inline gray_plane working_luma(const image& img, std::size_t factor) {
    gray_plane out;
    out.width = (img.width + factor - 1) / factor;
    out.height = (img.height + factor - 1) / factor;
    out.values.assign(out.width * out.height, 0.0f);
    std::vector<float> counts(out.values.size(), 0.0f);

    for (std::size_t y = 0; y < img.height; ++y) {
        for (std::size_t x = 0; x < img.width; ++x) {
            const std::uint8_t* p = &img.pixels[(y * img.width + x) * img.channels];
            const float value = img.channels == 3 ? static_cast<float>(luma(p)) : p[0];
            const std::size_t i = (y / factor) * out.width + x / factor;
            out.values[i] += value;
            counts[i] += 1.0f;
        }
    }
    for (std::size_t i = 0; i < out.values.size(); ++i) {
        out.values[i] /= counts[i];
    }
    return out;
}

/// The mean of `in` over a (2 radius + 1)^2 box around each pixel, clipped to the image, from a
/// summed-area table (double, so a 16k x 16k plane of 255s still sums exactly).
inline gray_plane box_mean(const gray_plane& in, std::size_t radius) {
    const std::size_t w = in.width, h = in.height;
    std::vector<double> sums((w + 1) * (h + 1), 0.0);
    for (std::size_t y = 0; y < h; ++y) {
        double row = 0.0;
        for (std::size_t x = 0; x < w; ++x) {
            row += in.at(x, y);
            sums[(y + 1) * (w + 1) + x + 1] = sums[y * (w + 1) + x + 1] + row;
        }
    }

    gray_plane out{w, h, std::vector<float>(w * h)};
    for (std::size_t y = 0; y < h; ++y) {
        const std::size_t y0 = y > radius ? y - radius : 0, y1 = std::min(h, y + radius + 1);
        for (std::size_t x = 0; x < w; ++x) {
            const std::size_t x0 = x > radius ? x - radius : 0, x1 = std::min(w, x + radius + 1);
            const double sum = sums[y1 * (w + 1) + x1] - sums[y0 * (w + 1) + x1] -
                               sums[y1 * (w + 1) + x0] + sums[y0 * (w + 1) + x0];
            out.values[y * w + x] = static_cast<float>(sum / double((y1 - y0) * (x1 - x0)));
        }
    }
    return out;
}

/// The value below which a share `q` of the plane's values lie, to one gray level.
inline float gray_percentile(const gray_plane& p, double q) {
    std::vector<std::size_t> histogram(256, 0);
    for (float v : p.values) {
        histogram[static_cast<std::size_t>(std::clamp(v, 0.0f, 255.0f))] += 1;
    }
    const auto wanted = static_cast<std::size_t>(q * static_cast<double>(p.values.size()));
    std::size_t seen = 0;
    for (std::size_t level = 0; level < histogram.size(); ++level) {
        seen += histogram[level];
        if (seen > wanted) {
            return static_cast<float>(level);
        }
    }
    return 255.0f;
}

/// 4-connected components of the set pixels of `on` (`[H, W]`): a label per pixel (0 = unset,
/// components from 1) and each component's area, `areas[0]` unused. An explicit stack keeps
/// the search off the call stack however large a component is.
inline std::vector<std::uint32_t> label_components(const std::vector<std::uint8_t>& on,
                                                   std::size_t w, std::size_t h,
                                                   std::vector<std::size_t>& areas) {
    std::vector<std::uint32_t> labels(w * h, 0);
    std::vector<std::size_t> stack;
    areas.assign(1, 0);

    for (std::size_t start = 0; start < on.size(); ++start) {
        if (!on[start] || labels[start]) {
            continue;
        }
        const auto label = static_cast<std::uint32_t>(areas.size());
        std::size_t area = 0;
        labels[start] = label;
        stack.push_back(start);
        while (!stack.empty()) {
            const std::size_t i = stack.back();
            stack.pop_back();
            ++area;
            const std::size_t x = i % w, y = i / w;
            const std::size_t neighbours[4] = {x > 0 ? i - 1 : i, x + 1 < w ? i + 1 : i,
                                               y > 0 ? i - w : i, y + 1 < h ? i + w : i};
            for (std::size_t n : neighbours) {
                if (on[n] && !labels[n]) {
                    labels[n] = label;
                    stack.push_back(n);
                }
            }
        }
        areas.push_back(area);
    }
    return labels;
}

/// The `q` quantile (0..1) of `values` by the nearest rank; `values` is reordered.
inline double rank_quantile(std::vector<double>& values, double q) {
    const auto k = static_cast<std::size_t>(
        std::lround(std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1)));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
    return values[k];
}

/// A boundary sample of a region: the outermost pixel of row `y` on one side.
struct edge_point {
    double y = 0.0;
    double x = 0.0;
    bool clipped = false; ///< on the image border: the frame, not the region, ends the row
};

/// The line x = a + b y along one side of a region.
struct edge_line {
    double a = 0.0;
    double b = 0.0;
    std::size_t inliers = 0;
    bool found = false;

    double x_at(double y) const { return a + b * y; }
    /// The line's angle in degrees from straight down, positive when it leans to +x.
    double angle() const { return std::atan(b) * degrees_per_radian; }
};

/// Whether `p` is a sample of `line`: off the border and within `tolerance` of it.
inline bool on_line(const edge_point& p, const edge_line& line, double tolerance) {
    return !p.clipped && std::abs(p.x - line.x_at(p.y)) <= tolerance;
}

/// Least squares of x on y over the samples of `line`; returns the refit and its inliers.
inline edge_line refit(const std::vector<edge_point>& points, const edge_line& line,
                       double tolerance) {
    double n = 0, sy = 0, sx = 0, syy = 0, sxy = 0;
    for (const edge_point& p : points) {
        if (on_line(p, line, tolerance)) {
            n += 1;
            sy += p.y;
            sx += p.x;
            syy += p.y * p.y;
            sxy += p.x * p.y;
        }
    }
    const double det = n * syy - sy * sy;
    if (n < 2 || det <= 0.0) {
        return line;
    }
    edge_line out = line;
    out.b = (n * sxy - sy * sx) / det;
    out.a = (sx - out.b * sy) / n;
    out.inliers = 0;
    for (const edge_point& p : points) {
        out.inliers += on_line(p, out, tolerance) ? 1 : 0;
    }
    return out;
}

/// The samples of `line` in its longest run of rows, gaps of up to `max_gap` rows allowed.
///
/// A real edge is one run of rows (with gaps where a rib shadow darkens it); inliers elsewhere,
/// where an arc or a ragged boundary happens to cross the line, are not part of it.
inline std::vector<edge_point> longest_run(const std::vector<edge_point>& points,
                                           const edge_line& line, double tolerance,
                                           double max_gap) {
    double run_first = 0, run_last = -1, first = 0, last = -1e300;
    std::size_t run = 0, count = 0;
    for (const edge_point& p : points) {
        if (!on_line(p, line, tolerance)) {
            continue;
        }
        if (p.y - last > max_gap) {
            first = p.y;
            count = 0;
        }
        last = p.y;
        count += 1;
        if (count > run) {
            run = count;
            run_first = first;
            run_last = last;
        }
    }
    std::vector<edge_point> along;
    for (const edge_point& p : points) {
        if (p.y >= run_first && p.y <= run_last) {
            along.push_back(p);
        }
    }
    return along;
}

/// RANSAC for the line along one side (`outward` = -1 for the left, +1 for the right) of a
/// region whose row extents are `points`, then least-squares refits on its longest run.
///
/// An edge of the imaging region has the region on one side only: a candidate with more than
/// a few rows of signal beyond it is an inner boundary (a shadow's edge, a B-line's flank),
/// whatever its inliers. Pairs come from a fixed-seed Mersenne twister, so results repeat.
inline edge_line fit_edge(const std::vector<edge_point>& points, double outward, double tolerance,
                          std::size_t min_inliers) {
    edge_line best;
    if (points.size() < 2 || points.size() < min_inliers) {
        return best;
    }

    // Fan edges lean at most 45 degrees (a 90-degree phased array); lines flatter than 60
    // degrees from vertical are the steep ends of the arcs.
    const double max_slope = 1.732;
    const std::size_t max_outside = 2 + points.size() / 50;
    std::mt19937 random(20260611u);
    for (int trial = 0; trial < 500; ++trial) {
        const edge_point& p = points[random() % points.size()];
        const edge_point& q = points[random() % points.size()];
        if (p.clipped || q.clipped || std::abs(q.y - p.y) < 2.0) {
            continue;
        }
        edge_line candidate;
        candidate.b = (q.x - p.x) / (q.y - p.y);
        candidate.a = p.x - candidate.b * p.y;
        if (std::abs(candidate.b) > max_slope) {
            continue;
        }
        std::size_t outside = 0;
        for (const edge_point& r : points) {
            candidate.inliers += on_line(r, candidate, tolerance) ? 1 : 0;
            outside += outward * (r.x - candidate.x_at(r.y)) > tolerance ? 1 : 0;
        }
        if (outside <= max_outside && candidate.inliers > best.inliers) {
            best = candidate;
        }
    }
    if (best.inliers < 2) {
        return best;
    }

    // Most rows along the run must lie on the line: a line that threads a ragged boundary
    // collects scattered points, a real edge a continuous run.
    const double max_gap = std::max(4.0, 0.03 * (points.back().y - points.front().y));
    const std::vector<edge_point> along = longest_run(points, best, tolerance, max_gap);
    best = refit(along, refit(along, best, tolerance), tolerance);
    best.found = best.inliers >= min_inliers && 2 * best.inliers >= along.size() &&
                 std::abs(best.b) <= max_slope;
    return best;
}

/// What the detector measured in the working image.
struct region_scan {
    gray_plane luma;                     ///< smoothed luma
    float level = 0.0f;                  ///< signal threshold: background plus `threshold`
    double grown = 0.0;                  ///< pixels the smoothing grows a bright region by
    std::vector<std::uint8_t> signal;    ///< above the threshold
    std::vector<std::uint8_t> region;    ///< the largest component and the large others
    std::vector<std::uint8_t> main;      ///< the largest component alone
    std::size_t area = 0;                ///< pixels in `region`
    std::vector<edge_point> left, right; ///< row extents of `main`
    std::size_t rows = 0;                ///< rows `main` touches
    std::size_t first_row = 0;           ///< first row of `main`
    std::vector<std::size_t> full_width; ///< rows of `main` that span border to border
};

/// Steps 1 to 3: threshold, components and row extents.
inline region_scan scan_region(const gray_plane& luma, const sector_options& o) {
    region_scan s;
    const std::size_t w = luma.width, h = luma.height;
    const double side = static_cast<double>(std::min(w, h));
    const auto radius = std::max<std::size_t>(1, std::lround(o.smoothing * side));
    s.luma = box_mean(luma, radius);
    s.grown = double(radius);

    s.level = gray_percentile(s.luma, 0.01) + static_cast<float>(o.threshold);
    s.signal.resize(w * h);
    for (std::size_t i = 0; i < s.signal.size(); ++i) {
        s.signal[i] = s.luma.values[i] > s.level ? 1 : 0;
    }

    std::vector<std::size_t> areas;
    const std::vector<std::uint32_t> labels = label_components(s.signal, w, h, areas);
    const auto largest =
        static_cast<std::uint32_t>(std::max_element(areas.begin(), areas.end()) - areas.begin());
    s.region.assign(w * h, 0);
    s.main.assign(w * h, 0);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const std::uint32_t label = labels[i];
        if (label != 0 && 10 * areas[label] >= areas[largest]) {
            s.region[i] = 1;
            s.main[i] = label == largest ? 1 : 0;
            s.area += 1;
        }
    }

    bool any = false;
    for (std::size_t y = 0; y < h; ++y) {
        const std::uint8_t* row = &s.main[y * w];
        const auto first = static_cast<std::size_t>(std::find(row, row + w, 1) - row);
        if (first == w) {
            continue;
        }
        if (!any) {
            s.first_row = y;
            any = true;
        }
        std::size_t last = w - 1;
        while (!row[last]) {
            --last;
        }
        s.rows += 1;
        s.left.push_back({double(y), double(first), first == 0});
        s.right.push_back({double(y), double(last), last + 1 == w});
        if (first == 0 && last + 1 == w) {
            s.full_width.push_back(y);
        }
    }
    return s;
}

/// Step 5: the inner and outer radius of a fan whose apex and edges are set in `g`.
inline void fit_radii(const region_scan& s, std::size_t w, std::size_t h, sector_geometry& g) {
    // The probe face is one arc: the median over angular bins of the nearest region pixel,
    // leaving out bins where the frame's top or sides stop the region instead. The bins cover
    // the central 80 % of the opening; near the edges the nearest pixel lies on an edge line.
    const std::size_t bins = 64;
    const double from = g.left_angle + 0.1 * (g.right_angle - g.left_angle);
    const double span = 0.8 * (g.right_angle - g.left_angle);
    std::vector<double> nearest(bins, -1.0);
    std::vector<char> clipped(bins, 0);
    double any_nearest = 1e300, any_farthest = 0.0;

    for (std::size_t y = 0; y < h; ++y) {
        for (std::size_t x = 0; x < w; ++x) {
            if (!s.region[y * w + x]) {
                continue;
            }
            const double dx = double(x) - g.apex.x, dy = double(y) - g.apex.y;
            const double r = std::sqrt(dx * dx + dy * dy);
            const double angle = std::atan2(dx, dy) * degrees_per_radian;
            if (angle < g.left_angle || angle > g.right_angle) {
                continue;
            }
            any_nearest = std::min(any_nearest, r);
            any_farthest = std::max(any_farthest, r);
            const double t = (angle - from) / span;
            if (t < 0.0 || t >= 1.0) {
                continue;
            }
            const auto bin = static_cast<std::size_t>(t * double(bins));
            if (nearest[bin] < 0.0 || r < nearest[bin]) {
                nearest[bin] = r;
                clipped[bin] = x == 0 || x + 1 == w || y == 0;
            }
        }
    }

    // Signal never starts before the probe face, but starts late where the near field is dark,
    // so a low quantile of the free bins. A bin the frame cuts only bounds the face from below.
    std::vector<double> inner;
    double bound = 1e300;
    for (std::size_t b = 0; b < bins; ++b) {
        if (nearest[b] >= 0.0 && !clipped[b]) {
            inner.push_back(nearest[b]);
        } else if (nearest[b] >= 0.0) {
            bound = std::min(bound, nearest[b]);
        }
    }
    const double face = inner.size() >= bins / 5 ? rank_quantile(inner, 0.1) : any_nearest;
    g.inner_radius = std::max(0.0, std::min(face, bound) + s.grown - 0.5);
    if (g.inner_radius <= 4.0 * s.grown + 1.0) {
        // A phased array images from its apex; the first pixels there are too few to tell a
        // face a few pixels out from none.
        g.inner_radius = 0.0;
    }

    // The depth arc fades where the beam weakens, and the lung below the pleura is often
    // black, so the outer radius is the deepest signal anywhere in the fan.
    g.outer_radius = std::max(any_farthest - s.grown, g.inner_radius + 1.0);
}

/// Step 4 for a rectangle: bounds from the edge lines, or the region where a side has none.
inline sector_geometry fit_rectangle(const region_scan& s, const edge_line& left,
                                     const edge_line& right, std::size_t w, std::size_t h) {
    sector_geometry g;
    g.kind = sector_kind::rectangle;
    const double middle = double(s.first_row) + 0.5 * double(s.rows);
    g.left = left.found ? std::max(0.0, std::round(left.x_at(middle))) : 0.0;
    g.right = right.found ? std::min(double(w - 1), std::round(right.x_at(middle))) : double(w - 1);

    // Top and bottom: the outermost rows the region fills at least half of between the sides.
    const auto x0 = static_cast<std::size_t>(g.left), x1 = static_cast<std::size_t>(g.right);
    bool any = false;
    for (std::size_t y = 0; y < h; ++y) {
        std::size_t filled = 0;
        for (std::size_t x = x0; x <= x1; ++x) {
            filled += s.region[y * w + x];
        }
        if (2 * filled >= x1 - x0 + 1) {
            g.top = any ? g.top : double(y) + (y > 0 ? s.grown : 0.0);
            g.bottom = double(y) - (y + 1 < h ? s.grown : 0.0);
            any = true;
        }
    }
    if (!any) {
        g.kind = sector_kind::whole_frame;
    }
    return g;
}

/// `line` moved by the smoothing's growth towards the region's inside (`inward` +1 moves it
/// to +x): along its normal, which is `sqrt(1 + b^2)` times as far along a row.
inline edge_line shrink(edge_line line, const region_scan& s, double inward) {
    line.a += inward * s.grown * std::sqrt(1.0 + line.b * line.b);
    return line;
}

/// The points where the region, not the frame, ends a column: its first pixel (`top`) and its
/// last (`bottom`), off the frame's border.
inline void arc_points(const region_scan& s, std::size_t w, std::size_t h,
                       std::vector<image_point>& top, std::vector<image_point>& bottom) {
    for (std::size_t x = 1; x + 1 < w; ++x) {
        std::size_t first = h, last = 0;
        for (std::size_t y = 0; y < h; ++y) {
            if (s.region[y * w + x]) {
                first = std::min(first, y);
                last = y;
            }
        }
        if (first < h && first > 0) {
            top.push_back({double(x), double(first)});
        }
        if (first < h && last + 1 < h) {
            bottom.push_back({double(x), double(last)});
        }
    }
}

/// The most points of `distances` within `2 tolerance` of each other (one arc's worth).
inline std::size_t densest_window(std::vector<double>& distances, double tolerance) {
    std::sort(distances.begin(), distances.end());
    std::size_t best = 0, from = 0;
    for (std::size_t to = 0; to < distances.size(); ++to) {
        while (distances[to] - distances[from] > 2.0 * tolerance) {
            ++from;
        }
        best = std::max(best, to - from + 1);
    }
    return best;
}

/// The row of the apex on `seen` that makes the region's top and bottom boundaries most
/// circular around it (scan conversion makes both arcs concentric with the apex); false when
/// no candidate explains enough boundary points.
inline bool apex_from_arcs(const region_scan& s, const edge_line& seen, std::size_t w,
                           std::size_t h, double tolerance, double& apex_y) {
    std::vector<image_point> top, bottom;
    arc_points(s, w, h, top, bottom);
    const std::size_t needed = std::max<std::size_t>(12, (top.size() + bottom.size()) / 5);
    std::size_t best = 0;
    std::vector<double> distances;
    const auto span = static_cast<std::ptrdiff_t>(4 * std::max(w, h));
    for (std::ptrdiff_t step = 0; step < span; ++step) {
        const double t = double(s.first_row) - double(step);
        const double ax = seen.x_at(t);
        std::size_t score = 0;
        for (const std::vector<image_point>* arc : {&top, &bottom}) {
            distances.clear();
            for (const image_point& p : *arc) {
                distances.push_back(std::hypot(p.x - ax, p.y - t));
            }
            score += densest_window(distances, tolerance);
        }
        if (score > best) {
            best = score;
            apex_y = t;
        }
    }
    return best >= needed;
}

/// The unseen edge of a fan whose other edge is `seen`, taking the fan as symmetric about the
/// vertical through its apex, as scanners display convex probes: the mirror of `seen` through
/// the apex the arcs show, or further out if signal lies beyond that, never inside the tightest
/// line of that slope with the region within. `outward` is -1 when the unseen edge is the left
/// one, +1 for the right one.
inline edge_line mirrored_edge(const region_scan& s, const edge_line& seen, double outward,
                               std::size_t w, std::size_t h, double tolerance) {
    edge_line mirror;
    mirror.b = -seen.b;
    mirror.found = true;

    // x = a - b y must keep every row's outermost pixel inside: a robust extreme of x + b y.
    const std::vector<edge_point>& side = outward < 0 ? s.left : s.right;
    std::vector<double> offsets;
    for (const edge_point& p : side) {
        offsets.push_back(p.x - mirror.b * p.y);
    }
    mirror.a = rank_quantile(offsets, outward < 0 ? 0.02 : 0.98);

    double apex_y = 0.0;
    if (apex_from_arcs(s, seen, w, h, tolerance, apex_y)) {
        const double through_apex = seen.x_at(apex_y) - mirror.b * apex_y;
        mirror.a =
            outward < 0 ? std::min(mirror.a, through_apex) : std::max(mirror.a, through_apex);
    }
    return mirror;
}

/// The circle (centre, radius) through three points; false when they are nearly collinear.
inline bool circle_through(const image_point& a, const image_point& b, const image_point& c,
                           image_point& centre, double& radius) {
    const double bx = b.x - a.x, by = b.y - a.y, cx = c.x - a.x, cy = c.y - a.y;
    const double d = 2.0 * (bx * cy - by * cx);
    if (std::abs(d) < 1e-6 * (bx * bx + by * by + cx * cx + cy * cy)) {
        return false;
    }
    const double b2 = bx * bx + by * by, c2 = cx * cx + cy * cy;
    centre = {a.x + (cy * b2 - by * c2) / d, a.y + (bx * c2 - cx * b2) / d};
    radius = std::hypot(a.x - centre.x, a.y - centre.y);
    return true;
}

/// A fan with no straight edge in view, its apex the centre of the depth arc (RANSAC over
/// three boundary points at a time), symmetric about the vertical through it and just wide
/// enough to hold the region; false when no arc below the region's top explains a quarter of
/// the columns.
inline bool fan_from_arcs(const region_scan& s, std::size_t w, std::size_t h,
                          const sector_options& o, sector_geometry& g) {
    std::vector<image_point> top, bottom;
    arc_points(s, w, h, top, bottom);
    if (bottom.size() < 3) {
        return false;
    }

    std::size_t best = 0;
    image_point apex;
    const double max_radius = 8.0 * double(std::max(w, h));
    std::mt19937 random(20260612u);
    for (int trial = 0; trial < 500; ++trial) {
        image_point centre;
        double radius = 0.0;
        const image_point& p = bottom[random() % bottom.size()];
        const image_point& q = bottom[random() % bottom.size()];
        const image_point& r = bottom[random() % bottom.size()];
        if (!circle_through(p, q, r, centre, radius) || radius > max_radius ||
            centre.y > double(s.first_row)) {
            continue;
        }
        std::size_t inliers = 0;
        for (const image_point& b : bottom) {
            inliers +=
                std::abs(std::hypot(b.x - centre.x, b.y - centre.y) - radius) <= o.edge_tolerance
                    ? 1
                    : 0;
        }
        if (inliers > best) {
            best = inliers;
            apex = centre;
        }
    }
    if (best < std::max<std::size_t>(12, w / 4)) {
        return false;
    }

    // Symmetric about the apex' vertical, as wide as the region's outermost pixels.
    std::vector<double> angles;
    for (std::size_t y = 0; y < h; ++y) {
        for (std::size_t x = 0; x < w; ++x) {
            if (s.region[y * w + x]) {
                angles.push_back(std::abs(std::atan2(double(x) - apex.x, double(y) - apex.y)));
            }
        }
    }
    const double half = rank_quantile(angles, 0.995) * degrees_per_radian;
    if (2.0 * half < o.min_fan_angle || half > 85.0) {
        return false;
    }
    g.kind = sector_kind::fan;
    g.apex = apex;
    g.left_angle = -half;
    g.right_angle = half;
    fit_radii(s, w, h, g);
    return true;
}

/// Steps 4 and 5 for a fan between two edges.
inline sector_geometry fit_fan(const region_scan& s, const edge_line& left, const edge_line& right,
                               std::size_t w, std::size_t h, const sector_options& o,
                               std::string& note) {
    sector_geometry g;
    g.kind = sector_kind::fan;
    g.left_angle = left.angle();
    g.right_angle = right.angle();
    if (g.right_angle - g.left_angle < o.min_fan_angle || g.right_angle - g.left_angle > 170.0) {
        note = "the edges do not open downward like a fan";
        return {};
    }
    g.apex.y = (left.a - right.a) / (right.b - left.b);
    g.apex.x = left.x_at(g.apex.y);
    if (g.apex.y > double(s.first_row) + 2.0 * o.edge_tolerance) {
        note = "the edges meet below the top of the region";
        return {};
    }
    fit_radii(s, w, h, g);
    return g;
}

/// Steps 4 and 5: the shapes the edges and arcs suggest, most direct first. Each still has to
/// agree with the signal (step 6); `note` says why the last one that failed to form did.
inline std::vector<sector_geometry> candidate_shapes(const region_scan& s, std::size_t w,
                                                     std::size_t h, const sector_options& o,
                                                     std::string& note) {
    const auto min_inliers =
        std::max<std::size_t>(12, std::lround(o.min_edge_share * double(s.rows)));
    const edge_line left = shrink(fit_edge(s.left, -1.0, o.edge_tolerance, min_inliers), s, 1.0);
    const edge_line right = shrink(fit_edge(s.right, 1.0, o.edge_tolerance, min_inliers), s, -1.0);
    const auto vertical = [&](const edge_line& e) {
        return !e.found || std::abs(e.angle()) <= o.rectangle_angle;
    };
    std::vector<sector_geometry> shapes;
    const auto add = [&](const sector_geometry& g) {
        if (g.kind != sector_kind::whole_frame) {
            shapes.push_back(g);
        }
    };

    // One slanted edge, the other side dark (no contact, a shadow) or cut off, or a second
    // edge that does not make a fan with it: the fan mirrored about the first one's apex.
    std::vector<const edge_line*> slanted;
    for (const edge_line* e : {&left, &right}) {
        if (!vertical(*e)) {
            slanted.push_back(e);
        }
    }
    if (slanted.size() == 2 && right.inliers > left.inliers) {
        std::swap(slanted[0], slanted[1]);
    }
    const auto mirrored_fan = [&](const edge_line* e) {
        const bool is_left = e == &left;
        const edge_line other = mirrored_edge(s, *e, is_left ? 1.0 : -1.0, w, h, o.edge_tolerance);
        add(is_left ? fit_fan(s, *e, other, w, h, o, note) : fit_fan(s, other, *e, w, h, o, note));
    };

    // Two edges: a rectangle if both stand upright, else the fan between them. Convex probes
    // are displayed symmetric about the vertical; when the fan between the two edges is not,
    // and one edge rests on a quarter of the other's rows or fewer, the short one is more
    // likely a shadow's border than the fan's edge, and the mirror of the long one goes first.
    const bool lopsided =
        left.found && right.found && std::abs(left.angle() + right.angle()) > o.rectangle_angle &&
        4 * std::min(left.inliers, right.inliers) <= std::max(left.inliers, right.inliers);
    if (vertical(left) && vertical(right) && (left.found || right.found)) {
        add(fit_rectangle(s, left, right, w, h));
    } else if (left.found && right.found) {
        if (lopsided && !slanted.empty()) {
            mirrored_fan(slanted[0]);
            slanted.erase(slanted.begin());
        }
        add(fit_fan(s, left, right, w, h, o, note));
    }
    for (const edge_line* e : slanted) {
        mirrored_fan(e);
    }

    // No usable edge: a fan if the region ends in an arc, a rectangle bounded by the frame if
    // the region spans it from side to side.
    if (shapes.empty()) {
        sector_geometry g;
        if (fan_from_arcs(s, w, h, o, g)) {
            add(g);
        }
        if (2 * s.full_width.size() >= s.rows) {
            add(fit_rectangle(s, left, right, w, h));
        }
    }
    if (shapes.empty() && note.empty()) {
        note = "no straight edge or arc found and the signal does not span the frame";
    }
    return shapes;
}

/// Step 6: whether `g` holds enough of the signal and is filled enough by it.
inline bool agrees(const region_scan& s, const sector_geometry& g, std::size_t w, std::size_t h,
                   const sector_options& o, std::string& note) {
    const image mask = render_mask(g, w, h);
    // Held signal is weighted by brightness above the background: losing a bright structure
    // (the pleura, a rib) is what matters, not a few pixels of dim speckle.
    double inside = 0.0, total = 0.0;
    std::size_t shape = 0, filled = 0;
    for (std::size_t y = 0; y < h; ++y) {
        const std::uint8_t* row = &s.region[y * w];
        const std::uint8_t* mrow = &mask.pixels[y * w];
        // The region's dark interior (shadows, the lung below the pleura) counts as filled:
        // between a row's outermost region pixels everything is the region's.
        const auto first = static_cast<std::size_t>(std::find(row, row + w, 1) - row);
        std::size_t last = first;
        for (std::size_t x = first; x < w; ++x) {
            last = row[x] ? x : last;
        }
        for (std::size_t x = 0; x < w; ++x) {
            const bool in_shape = mrow[x] != 0;
            const double weight = row[x] ? double(s.luma.at(x, y) - s.level) : 0.0;
            total += weight;
            inside += in_shape ? weight : 0.0;
            shape += in_shape;
            filled += in_shape && first < w && x >= first && x <= last;
        }
    }
    const double held = total > 0.0 ? inside / total : 0.0;
    const double fill = shape > 0 ? double(filled) / double(shape) : 0.0;
    if (held < o.min_signal_inside || fill < o.min_fill) {
        note = std::string(to_string(g.kind)) + " rejected: it holds " +
               std::to_string(std::lround(100 * held)) + " % of the signal and is " +
               std::to_string(std::lround(100 * fill)) + " % filled";
        return false;
    }
    return true;
}

/// `g`, fitted in a working image downscaled by `factor`, in the frame's coordinates.
inline sector_geometry upscale(sector_geometry g, std::size_t factor) {
    const double f = double(factor), shift = 0.5 * (f - 1.0);
    g.apex = {f * g.apex.x + shift, f * g.apex.y + shift};
    g.inner_radius *= f;
    g.outer_radius *= f;
    g.left = f * g.left;
    g.top = f * g.top;
    g.right = f * g.right + f - 1.0;
    g.bottom = f * g.bottom + f - 1.0;
    return g;
}

/// The whole `width` x `height` frame as a geometry.
inline sector_geometry whole_frame(std::size_t width, std::size_t height) {
    sector_geometry g;
    g.kind = sector_kind::whole_frame;
    g.right = double(width - 1);
    g.bottom = double(height - 1);
    return g;
}

inline void check_sector_options(const sector_options& o) {
    const auto share = [](double v) {
        return v >= 0.0 && v <= 1.0;
    };
    const bool fine = o.min_side >= 2 && o.working_size >= o.min_side && o.smoothing >= 0.0 &&
                      o.smoothing < 0.25 && o.threshold >= 0.0 && o.edge_tolerance > 0.0 &&
                      share(o.min_edge_share) && o.rectangle_angle >= 0.0 &&
                      o.rectangle_angle < 45.0 && o.min_fan_angle >= 0.0 &&
                      o.min_fan_angle < 170.0 && share(o.min_region_share) &&
                      share(o.min_signal_inside) && share(o.min_fill);
    if (!fine) {
        throw invalid_argument("detect sector", "sector_options",
                               "expected min_side >= 2, working_size >= min_side, shares in "
                               "[0, 1], smoothing < 0.25, a positive edge tolerance and a "
                               "rectangle angle below 45 degrees, got other values");
    }
}

} // namespace detail

inline bool sector_geometry::contains(double x, double y) const {
    if (kind != sector_kind::fan) {
        return x >= left && x <= right && y >= top && y <= bottom;
    }
    return detail::fan_contains(*this, detail::edge_direction_of(left_angle),
                                detail::edge_direction_of(right_angle), x - apex.x, y - apex.y);
}

inline image render_mask(const sector_geometry& geometry, std::size_t width, std::size_t height) {
    image mask{width, height, 1, std::vector<std::uint8_t>(width * height, 0)};
    const detail::edge_direction left = detail::edge_direction_of(geometry.left_angle);
    const detail::edge_direction right = detail::edge_direction_of(geometry.right_angle);
    const bool fan = geometry.kind == sector_kind::fan;

    for (std::size_t y = 0; y < height; ++y) {
        for (std::size_t x = 0; x < width; ++x) {
            const double fx = double(x), fy = double(y);
            const bool inside =
                fan ? detail::fan_contains(geometry, left, right, fx - geometry.apex.x,
                                           fy - geometry.apex.y)
                    : geometry.contains(fx, fy);
            mask.pixels[y * width + x] = inside ? 255 : 0;
        }
    }
    return mask;
}

inline sector detect_sector(const image& img, const sector_options& options) {
    const std::string operation = "detect sector";
    detail::check_image(operation, "image", img);
    detail::check_sector_options(options);
    if (img.width < options.min_side || img.height < options.min_side) {
        throw invalid_argument(operation, "image",
                               "expected at least " + std::to_string(options.min_side) + "x" +
                                   std::to_string(options.min_side) + " pixels, got " +
                                   std::to_string(img.width) + "x" + std::to_string(img.height));
    }

    // Detection runs on a working copy of bounded size: memory and time stay proportional to
    // working_size^2 whatever the frame's size, and the geometry scales back exactly.
    const std::size_t longer = std::max(img.width, img.height);
    const std::size_t factor = (longer + options.working_size - 1) / options.working_size;
    const detail::gray_plane luma = detail::working_luma(img, factor);
    const std::size_t w = luma.width, h = luma.height;
    const detail::region_scan scan = detail::scan_region(luma, options);

    sector result;
    sector_geometry g;
    if (double(scan.area) < options.min_region_share * double(w * h)) {
        result.note = "no signal region larger than " +
                      std::to_string(std::lround(100 * options.min_region_share)) +
                      " % of the frame";
    } else {
        for (const sector_geometry& shape :
             detail::candidate_shapes(scan, w, h, options, result.note)) {
            if (detail::agrees(scan, shape, w, h, options, result.note)) {
                g = shape;
                result.note.clear();
                break;
            }
        }
    }

    result.geometry = g.kind == sector_kind::whole_frame
                          ? detail::whole_frame(img.width, img.height)
                          : detail::upscale(g, factor);
    result.mask = render_mask(result.geometry, img.width, img.height);
    std::size_t x0 = img.width, y0 = img.height, x1 = 0, y1 = 0;
    for (std::size_t y = 0; y < img.height; ++y) {
        for (std::size_t x = 0; x < img.width; ++x) {
            if (result.mask.pixels[y * img.width + x]) {
                x0 = std::min(x0, x);
                y0 = std::min(y0, y);
                x1 = std::max(x1, x);
                y1 = std::max(y1, y);
            }
        }
    }
    if (x0 > x1) {
        // A fitted shape that misses every pixel centre (a sliver) is no region either.
        result.geometry = detail::whole_frame(img.width, img.height);
        result.mask = render_mask(result.geometry, img.width, img.height);
        result.note = "the fitted shape covers no pixel";
        x0 = y0 = 0;
        x1 = img.width - 1;
        y1 = img.height - 1;
    }
    result.bounds = {x0, y0, x1 - x0 + 1, y1 - y0 + 1};
    return result;
}

} // namespace lusnet
