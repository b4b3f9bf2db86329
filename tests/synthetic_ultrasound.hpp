#pragma once
// Synthetic B-mode frames of known geometry for the clinical tests: speckle inside a fan or
// rectangle, near-black outside, with burned-in text and coloured calipers where asked.

#include "lusnet/clinical/sector.hpp"
#include "lusnet/io/image.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace lusnet_test {

/// Sets pixel (x, y) of an RGB image to `rgb` if it lies inside.
inline void put(lusnet::image& img, long x, long y, std::uint8_t r, std::uint8_t g,
                std::uint8_t b) {
    if (x < 0 || y < 0 || std::size_t(x) >= img.width || std::size_t(y) >= img.height) {
        return;
    }
    std::uint8_t* p = &img.pixels[(std::size_t(y) * img.width + std::size_t(x)) * 3];
    p[0] = r;
    p[1] = g;
    p[2] = b;
}

/// An RGB frame: exponential speckle inside `g` whose mean fades with depth from `bright` to a
/// third of it, and 0 to 2 gray outside (the noise a compressed black border carries).
inline lusnet::image speckle_frame(std::size_t width, std::size_t height,
                                   const lusnet::sector_geometry& g, unsigned seed,
                                   double bright = 90.0) {
    lusnet::image img{width, height, 3, std::vector<std::uint8_t>(width * height * 3, 0)};
    std::mt19937 random(seed);
    std::uniform_real_distribution<double> uniform(1e-6, 1.0);
    for (std::size_t y = 0; y < height; ++y) {
        for (std::size_t x = 0; x < width; ++x) {
            double value = double(random() % 3);
            if (g.contains(double(x), double(y))) {
                const double depth = double(y) / double(height);
                value = bright * (1.0 - 0.66 * depth) * -std::log(uniform(random));
            }
            const auto v = static_cast<std::uint8_t>(std::clamp(value, 0.0, 255.0));
            put(img, long(x), long(y), v, v, v);
        }
    }
    return img;
}

/// Burned-in white "text" in the box at (x, y) of `w` x `h`: 3 x 5 glyph cells, half lit.
inline void text_box(lusnet::image& img, long x, long y, long w, long h, unsigned seed) {
    std::mt19937 random(seed);
    for (long cy = 0; cy + 5 <= h; cy += 7) {
        for (long cx = 0; cx + 3 <= w; cx += 4) {
            for (long dy = 0; dy < 5; ++dy) {
                for (long dx = 0; dx < 3; ++dx) {
                    if (random() % 2) {
                        put(img, x + cx + dx, y + cy + dy, 235, 235, 235);
                    }
                }
            }
        }
    }
}

/// A caliper mark: a `+` of arm `arm` in the given colour, two pixels thick.
inline void caliper(lusnet::image& img, long x, long y, long arm, std::uint8_t r, std::uint8_t g,
                    std::uint8_t b) {
    for (long d = -arm; d <= arm; ++d) {
        for (long t = 0; t < 2; ++t) {
            put(img, x + d, y + t, r, g, b);
            put(img, x + t, y + d, r, g, b);
        }
    }
}

/// A dotted vertical scale of the given colour from row `y0` to `y1` at column `x`.
inline void dotted_scale(lusnet::image& img, long x, long y0, long y1, std::uint8_t r,
                         std::uint8_t g, std::uint8_t b) {
    for (long y = y0; y <= y1; y += 6) {
        for (long t = 0; t < 2; ++t) {
            put(img, x, y + t, r, g, b);
            put(img, x + 1, y + t, r, g, b);
        }
    }
}

/// A fan geometry from its parameters.
inline lusnet::sector_geometry fan(double apex_x, double apex_y, double left, double right,
                                   double inner, double outer) {
    lusnet::sector_geometry g;
    g.kind = lusnet::sector_kind::fan;
    g.apex = {apex_x, apex_y};
    g.left_angle = left;
    g.right_angle = right;
    g.inner_radius = inner;
    g.outer_radius = outer;
    return g;
}

/// A rectangle geometry from its inclusive bounds.
inline lusnet::sector_geometry rectangle(double left, double top, double right, double bottom) {
    lusnet::sector_geometry g;
    g.kind = lusnet::sector_kind::rectangle;
    g.left = left;
    g.top = top;
    g.right = right;
    g.bottom = bottom;
    return g;
}

} // namespace lusnet_test
