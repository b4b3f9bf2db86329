#pragma once

/// @file colormap.hpp
/// Turbo (Mikhailov, Google 2019), a smooth rainbow colormap designed for near-uniform
/// perceived steps without the banding of jet, evaluated from its published polynomial fit.
///
/// The fit (Ruofei Du's GLSL approximation of the Turbo table, Apache-2.0, Google LLC) gives
/// each of red, green and blue as a degree-5 polynomial in t in [0, 1]; the 256 entries used
/// for 8-bit output are computed from it once, rounded, and never stored in the source.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace lusnet {

/// An 8-bit RGB colour.
using rgb8 = std::array<std::uint8_t, 3>;

/// Turbo's colour at `t` (clamped to [0, 1]; NaN reads as 0): dark blue at 0, green in the
/// middle, dark red at 1.
rgb8 turbo(float t);

/// The 256 colours `turbo(i / 255)`, for lookups.
const std::array<rgb8, 256>& turbo_table();

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// Coefficients of t^0 .. t^5 for red, green and blue.
inline constexpr double turbo_fit[3][6] = {
    {0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943},
    {0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604},
    {0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973},
};

/// One channel of the fit at `t`, by Horner's rule, as an 8-bit level.
inline std::uint8_t turbo_channel(const double* coefficients, double t) {
    double value = 0.0;
    for (int power = 5; power >= 0; --power) {
        value = value * t + coefficients[power];
    }
    return static_cast<std::uint8_t>(std::lround(std::clamp(value, 0.0, 1.0) * 255.0));
}

} // namespace detail

inline rgb8 turbo(float t) {
    const double x = std::isnan(t) ? 0.0 : std::clamp(static_cast<double>(t), 0.0, 1.0);
    return {detail::turbo_channel(detail::turbo_fit[0], x),
            detail::turbo_channel(detail::turbo_fit[1], x),
            detail::turbo_channel(detail::turbo_fit[2], x)};
}

inline const std::array<rgb8, 256>& turbo_table() {
    static const std::array<rgb8, 256> table = [] {
        std::array<rgb8, 256> colours{};
        for (std::size_t i = 0; i < colours.size(); ++i) {
            colours[i] = turbo(static_cast<float>(i) / 255.0f);
        }
        return colours;
    }();
    return table;
}

} // namespace lusnet
