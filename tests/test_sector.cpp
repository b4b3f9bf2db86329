#include "catch.hpp"

#include "synthetic_ultrasound.hpp"

#include "lusnet/clinical/sector.hpp"
#include "lusnet/io/image.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

using namespace lusnet;
using namespace lusnet_test;

namespace {

constexpr double degrees = 57.29577951308232;

/// Share of the union of two masks that both hold (intersection over union).
double overlap(const image& a, const image& b) {
    std::size_t both = 0, either = 0;
    for (std::size_t i = 0; i < a.pixels.size(); ++i) {
        both += a.pixels[i] && b.pixels[i];
        either += a.pixels[i] || b.pixels[i];
    }
    return either ? double(both) / double(either) : 1.0;
}

/// The largest horizontal distance between the found and true fan edges over the rows where
/// the true edge is visible (inside the frame, between the arcs).
double edge_error(const sector_geometry& found, const sector_geometry& truth, std::size_t width,
                  std::size_t height) {
    double worst = 0.0;
    for (double angle_sign : {-1.0, 1.0}) {
        const double true_angle = angle_sign < 0 ? truth.left_angle : truth.right_angle;
        const double found_angle = angle_sign < 0 ? found.left_angle : found.right_angle;
        for (std::size_t row = 0; row < height; ++row) {
            const double dy = double(row) - truth.apex.y;
            const double x = truth.apex.x + dy * std::tan(true_angle / degrees);
            const double r = std::hypot(x - truth.apex.x, dy);
            if (dy <= 0 || x < 0 || x > double(width - 1) || r < truth.inner_radius ||
                r > truth.outer_radius) {
                continue;
            }
            const double found_x =
                found.apex.x + (double(row) - found.apex.y) * std::tan(found_angle / degrees);
            worst = std::max(worst, std::abs(found_x - x));
        }
    }
    return worst;
}

struct fan_case {
    const char* name;
    std::size_t width, height;
    sector_geometry truth;
    bool decorate;
};

/// Text boxes in the top corners and a green dotted depth scale down the right border, all
/// outside every test fan, and a yellow caliper inside it.
void decorate(image& img, const sector_geometry& g) {
    const long w = long(img.width);
    text_box(img, 4, 4, 44, 19, 1);
    text_box(img, w - 52, 4, 44, 12, 2);
    const double mid = g.inner_radius + 0.4 * (g.outer_radius - g.inner_radius);
    caliper(img, long(g.apex.x), long(g.apex.y + mid), 6, 255, 220, 0);
    dotted_scale(img, w - 6, 30, long(img.height) / 2, 40, 220, 60);
}

} // namespace

TEST_CASE("sector: synthetic fans of known geometry are found within 3 pixels", "[clinical]") {
    const std::vector<fan_case> cases = {
        {"apex above, probe face and depth arc in view", 400, 400, fan(200, -80, -30, 30, 100, 430),
         true},
        {"apex inside the frame (phased array)", 400, 360, fan(200, 8, -40, 40, 0, 320), true},
        {"asymmetric fan off centre", 480, 400, fan(260, -150, -22, 28, 170, 520), true},
        {"edges leave through the sides, top and bottom cut", 300, 300,
         fan(150, -200, -30, 30, 190, 600), false},
        {"large frame, detected on a downscaled copy", 1280, 960,
         fan(640, -100, -35, 35, 150, 1000), true},
    };
    for (const fan_case& c : cases) {
        image img = speckle_frame(c.width, c.height, c.truth, 7);
        if (c.decorate) {
            decorate(img, c.truth);
        }
        const sector found = detect_sector(img);
        const sector_geometry& g = found.geometry;
        const image truth_mask = render_mask(c.truth, c.width, c.height);

        const double edges = edge_error(g, c.truth, c.width, c.height);
        const double angles = std::max(std::abs(g.left_angle - c.truth.left_angle),
                                       std::abs(g.right_angle - c.truth.right_angle));
        const double iou = overlap(found.mask, truth_mask);
        CAPTURE(c.name, found.note, g.apex.x, g.apex.y, g.left_angle, g.right_angle, g.inner_radius,
                g.outer_radius, edges, angles, iou);
        REQUIRE(g.kind == sector_kind::fan);
        CHECK(angles <= 1.0);
        CHECK(edges <= 3.0);
        CHECK(iou >= 0.98);

        // The arcs, where the frame shows them.
        if (c.truth.apex.y + c.truth.inner_radius >= 0.0) {
            CHECK(std::abs(g.inner_radius - c.truth.inner_radius) <= 3.0);
        }
        if (c.truth.apex.y + c.truth.outer_radius < double(c.height)) {
            CHECK(std::abs(g.outer_radius - c.truth.outer_radius) <= 3.0);
        }
    }
}

TEST_CASE("sector: a fan with one side dark is completed by symmetry", "[clinical]") {
    // The left part of the fan gets no echo (the probe lost contact there), as in several
    // POCUS clips, up to a wavy boundary; the right edge and the arcs still fix the apex.
    const sector_geometry truth = fan(200, -90, -30, 30, 110, 440);
    image img = speckle_frame(400, 400, truth, 11);
    for (std::size_t y = 0; y < img.height; ++y) {
        const double boundary = 150.0 + 25.0 * std::sin(double(y) / 17.0);
        for (std::size_t x = 0; double(x) < boundary; ++x) {
            put(img, long(x), long(y), 0, 0, 0);
        }
    }
    const sector found = detect_sector(img);
    const sector_geometry& g = found.geometry;
    CAPTURE(found.note, g.apex.x, g.apex.y, g.left_angle, g.right_angle, g.inner_radius,
            g.outer_radius);
    REQUIRE(g.kind == sector_kind::fan);
    CHECK(std::abs(g.right_angle - 30.0) <= 1.0);
    CHECK(std::abs(g.left_angle + 30.0) <= 1.5);
    CHECK(std::abs(g.apex.x - 200.0) <= 4.0);
    CHECK(overlap(found.mask, render_mask(truth, 400, 400)) >= 0.97);
}

TEST_CASE("sector: rectangles of linear probes are found within 2 pixels", "[clinical]") {
    SECTION("inside a frame with text beside it") {
        const sector_geometry truth = rectangle(60, 12, 299, 389);
        image img = speckle_frame(360, 420, truth, 3);
        text_box(img, 4, 40, 40, 60, 4);
        caliper(img, 180, 200, 5, 255, 220, 0);
        const sector found = detect_sector(img);
        const sector_geometry& g = found.geometry;
        CAPTURE(found.note, g.left, g.top, g.right, g.bottom);
        REQUIRE(g.kind == sector_kind::rectangle);
        CHECK(std::abs(g.left - truth.left) <= 2.0);
        CHECK(std::abs(g.right - truth.right) <= 2.0);
        CHECK(std::abs(g.top - truth.top) <= 2.0);
        CHECK(std::abs(g.bottom - truth.bottom) <= 2.0);
        CHECK(found.bounds.x == std::size_t(g.left));
        CHECK(found.bounds.width == std::size_t(g.right - g.left + 1));
    }
    SECTION("filling the frame, as a linear image cropped to itself") {
        const sector_geometry truth = rectangle(0, 0, 239, 199);
        const sector found = detect_sector(speckle_frame(240, 200, truth, 5));
        CAPTURE(found.note);
        CHECK(found.geometry.kind == sector_kind::rectangle);
        CHECK(found.bounds.width == 240);
        CHECK(found.bounds.height == 200);
    }
}

TEST_CASE("sector: a frame with nothing to find falls back to the whole frame and says why",
          "[clinical]") {
    image black{64, 48, 1, std::vector<std::uint8_t>(64 * 48, 0)};
    const sector found = detect_sector(black);
    CHECK(found.geometry.kind == sector_kind::whole_frame);
    CHECK_FALSE(found.note.empty());
    CHECK(found.bounds.x == 0);
    CHECK(found.bounds.width == 64);
    CHECK(found.bounds.height == 48);
    CHECK(std::count(found.mask.pixels.begin(), found.mask.pixels.end(), 255) == 64 * 48);
}

TEST_CASE("sector: detection is deterministic", "[clinical]") {
    const sector_geometry truth = fan(200, -80, -30, 30, 100, 430);
    image img = speckle_frame(400, 400, truth, 9);
    decorate(img, truth);
    const sector a = detect_sector(img);
    const sector b = detect_sector(img);
    CHECK(a.geometry.apex.x == b.geometry.apex.x);
    CHECK(a.geometry.apex.y == b.geometry.apex.y);
    CHECK(a.geometry.left_angle == b.geometry.left_angle);
    CHECK(a.geometry.outer_radius == b.geometry.outer_radius);
    CHECK(a.mask.pixels == b.mask.pixels);
}

TEST_CASE("sector: empty, tiny and malformed images are refused", "[clinical]") {
    CHECK_THROWS_AS(detect_sector(image{}), lusnet::invalid_argument);
    CHECK_THROWS_AS(detect_sector(image{1, 1, 1, {0}}), lusnet::invalid_argument);
    CHECK_THROWS_AS(detect_sector(image{15, 40, 1, std::vector<std::uint8_t>(600, 0)}),
                    lusnet::invalid_argument);
    CHECK_THROWS_AS(detect_sector(image{32, 32, 3, std::vector<std::uint8_t>(10, 0)}),
                    lusnet::invalid_argument);
    sector_options bad;
    bad.min_fill = 2.0;
    CHECK_THROWS_AS(detect_sector(image{32, 32, 1, std::vector<std::uint8_t>(1024, 0)}, bad),
                    lusnet::invalid_argument);
    try {
        detect_sector(image{1, 1, 1, {0}});
    } catch (const lusnet::error& e) {
        CHECK(std::string(e.what()).find("detect sector") != std::string::npos);
        CHECK(std::string(e.what()).find("1x1") != std::string::npos);
    }
}

// ---------------------------------------------------------------------------------------------
// Real frames

namespace {

struct manifest_row {
    std::string file;
    std::string probe;
};

/// The frame files and probes listed in the POCUS manifest.
std::vector<manifest_row> read_manifest(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    std::vector<std::string> header;
    std::stringstream names(line);
    for (std::string name; std::getline(names, name, ',');) {
        header.push_back(name);
    }
    const auto column = [&](const std::string& name) {
        return std::size_t(std::find(header.begin(), header.end(), name) - header.begin());
    };
    const std::size_t file = column("file"), probe = column("probe");

    std::vector<manifest_row> rows;
    while (std::getline(in, line)) {
        std::vector<std::string> cells;
        std::stringstream cells_in(line);
        for (std::string cell; std::getline(cells_in, cell, ',');) {
            cells.push_back(cell);
        }
        if (cells.size() > std::max(file, probe)) {
            rows.push_back({cells[file], cells[probe]});
        }
    }
    return rows;
}

/// Mean luma of the `k` x `k` patch with its top-left corner at (x, y).
double patch_mean(const image& gray, std::size_t x, std::size_t y, std::size_t k) {
    double sum = 0.0;
    for (std::size_t v = y; v < y + k; ++v) {
        for (std::size_t u = x; u < x + k; ++u) {
            sum += gray.pixels[v * gray.width + u];
        }
    }
    return sum / double(k * k);
}

} // namespace

// What "keeps the bright tissue region" means here, measured on every frame:
//  - the bounding box is non-empty, inside the frame, and is the box of the mask;
//  - at least 95 % of the frame's tissue intensity lies inside the mask, tissue being every
//    pixel of luma >= 20 (speckle in the imaging region; black borders stay below);
//  - the crop removes the border: among convex frames whose two top corners are dark (mean
//    luma < 8 over a patch of a tenth of the shorter side, where a fan narrows towards its
//    apex), at least 90 % get a mask covering less than 98 % of the frame;
//  - at most 8 % of the frames fall back to the whole frame.
TEST_CASE("sector: every POCUS frame gets a crop inside the frame that keeps its tissue",
          "[clinical][pocus]") {
    const std::string dir = LUSNET_POCUS_DIR;
    INFO("POCUS frames expected in " << dir << " (the shared data set; see its README.md)");
    REQUIRE(std::filesystem::exists(dir + "/manifest.csv"));
    const std::vector<manifest_row> rows = read_manifest(dir + "/manifest.csv");
    REQUIRE(rows.size() >= 600);

    std::map<sector_kind, std::size_t> kinds;
    std::vector<double> kept;
    std::size_t dark_top = 0, dark_top_cropped = 0;
    for (const manifest_row& row : rows) {
        const image frame = read_image(dir + "/" + row.file);
        const sector found = detect_sector(frame);
        const image gray = convert_color(frame, color_mode::gray);
        CAPTURE(row.file, to_string(found.geometry.kind), found.note);

        const pixel_box& box = found.bounds;
        REQUIRE(box.width > 0);
        REQUIRE(box.height > 0);
        REQUIRE(box.x + box.width <= frame.width);
        REQUIRE(box.y + box.height <= frame.height);

        double tissue = 0.0, inside = 0.0;
        std::size_t covered = 0, outside_box = 0;
        for (std::size_t y = 0; y < frame.height; ++y) {
            for (std::size_t x = 0; x < frame.width; ++x) {
                const std::size_t i = y * frame.width + x;
                const bool in_mask = found.mask.pixels[i] != 0;
                const double value = gray.pixels[i];
                tissue += value >= 20.0 ? value : 0.0;
                inside += value >= 20.0 && in_mask ? value : 0.0;
                covered += in_mask;
                outside_box += in_mask && (x < box.x || y < box.y || x >= box.x + box.width ||
                                           y >= box.y + box.height);
            }
        }
        REQUIRE(outside_box == 0);
        const double share = tissue > 0.0 ? inside / tissue : 1.0;
        CAPTURE(share);
        CHECK(share >= 0.95);
        kept.push_back(share);
        kinds[found.geometry.kind] += 1;

        const std::size_t k = std::min(frame.width, frame.height) / 10;
        const bool dark =
            patch_mean(gray, 0, 0, k) < 8.0 && patch_mean(gray, frame.width - k, 0, k) < 8.0;
        if (row.probe == "convex" && dark) {
            dark_top += 1;
            dark_top_cropped += double(covered) < 0.98 * double(frame.width * frame.height);
        }
    }

    std::sort(kept.begin(), kept.end());
    const std::size_t fallbacks = kinds[sector_kind::whole_frame];
    INFO("kept tissue share: min " << kept.front() << ", median " << kept[kept.size() / 2]
                                   << "; fans " << kinds[sector_kind::fan] << ", rectangles "
                                   << kinds[sector_kind::rectangle] << ", whole frame " << fallbacks
                                   << "; dark-topped convex frames cropped " << dark_top_cropped
                                   << " of " << dark_top);
    CHECK(double(fallbacks) <= 0.08 * double(rows.size()));
    CHECK(double(dark_top_cropped) >= 0.9 * double(dark_top));
}
