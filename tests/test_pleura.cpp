#include "catch.hpp"

#include "synthetic_ultrasound.hpp"

#include "lusnet/clinical/pleura.hpp"
#include "lusnet/clinical/ultrasound.hpp"
#include "lusnet/io/image.hpp"
#include "lusnet/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

using namespace lusnet;
using namespace lusnet_test;

namespace {

/// Adds `gain` to the gray of every pixel of `img` (RGB) for which `on` holds.
void brighten(image& img, const std::function<bool(double, double)>& on, double gain) {
    for (std::size_t y = 0; y < img.height; ++y) {
        for (std::size_t x = 0; x < img.width; ++x) {
            if (on(double(x), double(y))) {
                std::uint8_t* p = &img.pixels[(y * img.width + x) * 3];
                const auto v = static_cast<std::uint8_t>(std::min(255.0, p[0] + gain));
                p[0] = p[1] = p[2] = v;
            }
        }
    }
}

/// Share of the line's samples within `tolerance` of `expected(lateral)` in depth.
double share_near(const pleural_line& line, const std::function<double(double)>& expected,
                  double tolerance) {
    std::size_t near = 0;
    for (std::size_t i = 0; i < line.depth.size(); ++i) {
        near += std::abs(line.depth[i] - expected(line.lateral[i])) <= tolerance;
    }
    return double(near) / double(line.depth.size());
}

/// A `[1, 1, h, w]` heatmap from a function of the pixel.
tensor heatmap(std::size_t w, std::size_t h,
               const std::function<float(std::size_t, std::size_t)>& f) {
    tensor map(shape4{1, 1, h, w});
    for (std::size_t y = 0; y < h; ++y) {
        for (std::size_t x = 0; x < w; ++x) {
            map.data()[y * w + x] = f(x, y);
        }
    }
    return map;
}

/// A rectangle line at depth `row` over columns 0 to `w - 1`, as a caller could build one.
pleural_line level_line(std::size_t w, std::size_t h, double row) {
    pleural_line line;
    line.geometry = rectangle(0, 0, double(w - 1), double(h - 1));
    for (std::size_t x = 0; x < w; ++x) {
        line.lateral.push_back(double(x));
        line.depth.push_back(row);
    }
    return line;
}

} // namespace

TEST_CASE("pleura: the bright line of a synthetic linear frame is found within 2 pixels",
          "[clinical]") {
    // A faint fascia above, the pleura at row 90, an A-line at twice its depth.
    const sector_geometry region = rectangle(0, 0, 299, 299);
    image img = speckle_frame(300, 300, region, 31, 40.0);
    brighten(
        img, [](double, double y) { return std::abs(y - 30.0) <= 1.0; }, 40.0);
    brighten(
        img, [](double, double y) { return std::abs(y - 90.0) <= 1.5; }, 150.0);
    brighten(
        img, [](double, double y) { return std::abs(y - 180.0) <= 1.5; }, 50.0);

    const pleural_line line = find_pleural_line(img, region);
    const double near = share_near(
        line, [](double) { return 90.0; }, 2.0);
    CAPTURE(near, line.confidence);
    CHECK(near >= 0.95);
    CHECK(line.confidence >= 0.8);
    CHECK(line.points.size() == line.depth.size());
    CHECK(line.points.front().y == line.depth.front());
}

TEST_CASE("pleura: a tilted line is followed across the frame", "[clinical]") {
    const sector_geometry region = rectangle(0, 0, 319, 279);
    image img = speckle_frame(320, 280, region, 32, 40.0);
    const auto row = [](double x) {
        return 60.0 + 0.25 * x;
    };
    brighten(
        img, [&](double x, double y) { return std::abs(y - row(x)) <= 1.5; }, 140.0);
    const pleural_line line = find_pleural_line(img, region);
    const double near = share_near(line, row, 2.0);
    CAPTURE(near);
    CHECK(near >= 0.95);
}

TEST_CASE("pleura: an arc in a synthetic fan is found within 2 pixels along the beam",
          "[clinical]") {
    const sector_geometry region = fan(200, -80, -30, 30, 100, 430);
    image img = speckle_frame(400, 400, region, 33, 40.0);
    brighten(
        img,
        [&](double x, double y) {
            return region.contains(x, y) &&
                   std::abs(std::hypot(x - 200.0, y + 80.0) - 170.0) <= 1.5;
        },
        150.0);

    const pleural_line line = find_pleural_line(img, region);
    const double near = share_near(
        line, [](double) { return 170.0; }, 2.0);
    CAPTURE(near, line.confidence);
    CHECK(near >= 0.95);
    CHECK(line.lateral.front() == Approx(-30.0));
    CHECK(line.lateral.back() == Approx(30.0));

    // Found again on the prepared frame, mapped back, it lands on the same arc.
    const ultrasound_frame f = prepare_ultrasound(img);
    const pleural_line prepared = find_pleural_line(f.frame, f.geometry);
    std::size_t on_arc = 0;
    for (const image_point& p : prepared.points) {
        const image_point q = f.transform.to_frame(p);
        on_arc += std::abs(std::hypot(q.x - 200.0, q.y + 80.0) - 170.0) <= 3.0;
    }
    CHECK(double(on_arc) >= 0.9 * double(prepared.points.size()));
}

TEST_CASE("pleura: band shares are exact on hand-made heatmaps", "[clinical]") {
    // A 20 x 10 map, the line at row 4, half-width 1: rows 3, 4 and 5 are the band.
    const pleural_line line = level_line(20, 10, 4.0);

    const band_share flat =
        pleural_band_share(heatmap(20, 10, [](auto, auto) { return 1.0f; }), line, 1.0);
    CHECK(flat.band_pixels == 60);
    CHECK(flat.pixels == 200);
    CHECK(flat.uniform_share == 0.3);
    CHECK(flat.share == 0.3);
    CHECK(flat.mass == 200.0);

    const band_share weighted = pleural_band_share(
        heatmap(20, 10, [](auto, std::size_t y) { return y >= 3 && y <= 5 ? 2.0f : 1.0f; }), line,
        1.0);
    CHECK(weighted.share == Approx(120.0 / 260.0).epsilon(1e-12));
    CHECK(weighted.uniform_share == 0.3);

    const band_share on_line = pleural_band_share(
        heatmap(20, 10, [](auto, std::size_t y) { return y == 4 ? 0.5f : 0.0f; }), line, 0.0);
    CHECK(on_line.share == 1.0);
    CHECK(on_line.band_pixels == 20);

    // Half the line: the band stops where the line does.
    pleural_line half = line;
    half.lateral.resize(10);
    half.depth.resize(10);
    CHECK(pleural_band_share(heatmap(20, 10, [](auto, auto) { return 1.0f; }), half, 1.0)
              .band_pixels == 30);

    const band_share empty =
        pleural_band_share(heatmap(20, 10, [](auto, auto) { return 0.0f; }), line, 1.0);
    CHECK(std::isnan(empty.share));
    CHECK(empty.uniform_share == 0.3);
}

TEST_CASE("pleura: in a fan the band is measured along the beam", "[clinical]") {
    pleural_line line;
    line.geometry = fan(10, -20, -30, 30, 5, 80);
    for (int a = -30; a <= 30; a += 5) {
        line.lateral.push_back(a);
        line.depth.push_back(30.0);
    }
    CHECK(in_pleural_band(line, 10, 10, 2.0)); // on the arc, straight below the apex
    CHECK(in_pleural_band(line, 10, 12, 2.0)); // 2 further out
    CHECK_FALSE(in_pleural_band(line, 10, 13, 2.0));
    CHECK(in_pleural_band(line, 10 + 30 * std::sin(0.4), -20 + 30 * std::cos(0.4), 0.5));
    CHECK_FALSE(in_pleural_band(line, 10 + 30 * std::sin(0.6), -20 + 30 * std::cos(0.6), 0.5));

    const image mask = pleural_band_mask(line, 21, 21, 2.0);
    CHECK(mask.pixels[10 * 21 + 10] == 255);
    CHECK(mask.pixels[13 * 21 + 10] == 0);
}

TEST_CASE("pleura: bad heatmaps, regions and options are refused", "[clinical]") {
    const pleural_line line = level_line(20, 10, 4.0);
    CHECK_THROWS_AS(pleural_band_share(tensor(shape4{1, 2, 10, 20}), line, 1.0),
                    lusnet::shape_error);
    CHECK_THROWS_AS(
        pleural_band_share(heatmap(20, 10, [](auto x, auto) { return x == 3 ? -1.0f : 1.0f; }),
                           line, 1.0),
        lusnet::invalid_argument);
    CHECK_THROWS_AS(
        pleural_band_share(heatmap(20, 10, [](auto, auto) { return std::nanf(""); }), line, 1.0),
        lusnet::invalid_argument);
    CHECK_THROWS_AS(
        pleural_band_share(heatmap(20, 10, [](auto, auto) { return 1.0f; }), line, -1.0),
        lusnet::invalid_argument);

    const image small = speckle_frame(20, 10, rectangle(0, 0, 19, 9), 34);
    CHECK_THROWS_AS(find_pleural_line(small, rectangle(0, 0, 19, 9)), lusnet::invalid_argument);
    pleura_options bad;
    bad.min_depth = 0.7;
    const image frame = speckle_frame(100, 100, rectangle(0, 0, 99, 99), 35);
    CHECK_THROWS_AS(find_pleural_line(frame, rectangle(0, 0, 99, 99), bad),
                    lusnet::invalid_argument);
}
