#include "catch.hpp"

#include "synthetic_ultrasound.hpp"

#include "lusnet/clinical/ultrasound.hpp"
#include "lusnet/io/image.hpp"
#include "lusnet/io/transforms.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace lusnet;
using namespace lusnet_test;

namespace {

/// `mask` grown by one pixel in every direction.
image grow(const image& mask) {
    image out = mask;
    for (std::size_t y = 0; y < mask.height; ++y) {
        for (std::size_t x = 0; x < mask.width; ++x) {
            bool near = false;
            for (std::size_t v = y > 0 ? y - 1 : 0; v <= std::min(mask.height - 1, y + 1); ++v) {
                for (std::size_t u = x > 0 ? x - 1 : 0; u <= std::min(mask.width - 1, x + 1); ++u) {
                    near = near || mask.pixels[v * mask.width + u] != 0;
                }
            }
            out.pixels[y * mask.width + x] = near ? 255 : 0;
        }
    }
    return out;
}

/// The value of the prepared frame at the output pixel nearest to frame point `p`.
int at_output(const ultrasound_frame& f, image_point p) {
    const image_point q = f.transform.to_output(p);
    return f.frame
        .pixels[std::size_t(std::lround(q.y)) * f.frame.width + std::size_t(std::lround(q.x))];
}

} // namespace

TEST_CASE("ultrasound: the prepared frame is a square gray letterbox, black outside the region",
          "[clinical]") {
    const sector_geometry truth = fan(260, -120, -30, 30, 140, 500);
    image img = speckle_frame(520, 400, truth, 21);
    text_box(img, 6, 6, 60, 26, 5);
    text_box(img, 440, 6, 60, 26, 6);
    text_box(img, 6, 360, 60, 26, 7);

    const ultrasound_frame f = prepare_ultrasound(img);
    REQUIRE(f.region.geometry.kind == sector_kind::fan);
    CHECK(f.frame.width == 224);
    CHECK(f.frame.height == 224);
    CHECK(f.frame.channels == 1);

    // Every pixel more than one pixel outside the region (text included) is 0, and the region
    // itself holds the speckle.
    const image near_region = grow(render_mask(f.geometry, 224, 224));
    std::size_t stray = 0, lit = 0;
    for (std::size_t i = 0; i < f.frame.pixels.size(); ++i) {
        stray += !near_region.pixels[i] && f.frame.pixels[i] != 0;
        lit += f.frame.pixels[i] != 0;
    }
    CHECK(stray == 0);
    CHECK(lit > 224 * 224 / 3);

    // One scale for both axes, to within the rounding of the scaled size.
    const pixel_box& box = f.transform.crop;
    const double scale = 224.0 / double(std::max(box.width, box.height));
    CHECK(std::abs(f.transform.scale_x - scale) <= 1.0 / double(box.width));
    CHECK(std::abs(f.transform.scale_y - scale) <= 1.0 / double(box.height));
}

TEST_CASE("ultrasound: letterboxing keeps the aspect ratio and pads with 0", "[clinical]") {
    // A 300 x 150 linear image in a 360 x 200 frame becomes 224 x 112 between two bands of 56.
    const sector_geometry truth = rectangle(30, 20, 329, 169);
    const ultrasound_frame f = prepare_ultrasound(speckle_frame(360, 200, truth, 22));
    REQUIRE(f.region.geometry.kind == sector_kind::rectangle);
    CHECK(f.transform.crop.width == 300);
    CHECK(f.transform.crop.height == 150);
    CHECK(f.transform.offset_x == 0.0);
    CHECK(f.transform.offset_y == 56.0);

    std::size_t padding_lit = 0, middle_lit = 0;
    for (std::size_t y = 0; y < 224; ++y) {
        for (std::size_t x = 0; x < 224; ++x) {
            const bool lit = f.frame.pixels[y * 224 + x] != 0;
            (y < 56 || y >= 168 ? padding_lit : middle_lit) += lit;
        }
    }
    CHECK(padding_lit == 0);
    CHECK(middle_lit > 224 * 112 * 3 / 4);

    const image_point p{123.25, 77.5};
    const image_point back = f.transform.to_frame(f.transform.to_output(p));
    CHECK(back.x == Approx(p.x).margin(1e-9));
    CHECK(back.y == Approx(p.y).margin(1e-9));
    CHECK(f.geometry.top == Approx(56.0).margin(0.6));
    CHECK(f.geometry.bottom == Approx(167.0).margin(0.6));
}

TEST_CASE("ultrasound: colour overlays inside the region take the local gray, a tint does not",
          "[clinical]") {
    const sector_geometry truth = fan(200, -80, -30, 30, 100, 430);
    image img = speckle_frame(400, 400, truth, 23, 60.0);
    caliper(img, 200, 200, 8, 255, 220, 0);
    caliper(img, 150, 280, 8, 0, 200, 255);

    ultrasound_options keep;
    keep.blank_colour = false;
    const ultrasound_frame raw = prepare_ultrasound(img, keep);
    const ultrasound_frame clean = prepare_ultrasound(img);
    CHECK(raw.overlay_pixels == 0);
    CHECK(clean.overlay_pixels >= 2 * 2 * 34);

    // The yellow cross is bright in gray (luma about 205); blanked it is speckle-dark again.
    CHECK(at_output(raw, {200.5, 200.5}) > 120);
    CHECK(at_output(clean, {200.5, 200.5}) < 100);

    // A gray map rendered in blue (as some scanners do) is a tint: nothing is blanked.
    image tinted = speckle_frame(400, 400, truth, 24, 60.0);
    for (std::size_t i = 0; i < tinted.width * tinted.height; ++i) {
        std::uint8_t* p = &tinted.pixels[3 * i];
        p[0] = static_cast<std::uint8_t>(0.75 * p[2]);
        p[1] = static_cast<std::uint8_t>(0.82 * p[2]);
    }
    CHECK(prepare_ultrasound(tinted).overlay_pixels == 0);
}

TEST_CASE("ultrasound: the tensor path is the prepared image through preprocessing without "
          "resize and crop",
          "[clinical]") {
    const sector_geometry truth = fan(200, -80, -30, 30, 100, 430);
    const image img = speckle_frame(400, 400, truth, 25);

    const preprocessing imagenet;
    const tensor x = ultrasound_tensor(img, imagenet);
    CHECK(x.shape() == shape4{1, 3, 224, 224});
    preprocessing square = imagenet;
    square.resize = 0;
    square.crop = 0;
    const tensor y = preprocess(ultrasound_preprocess(img), square);
    CHECK(std::equal(x.data(), x.data() + x.size(), y.data()));

    // A model whose preprocessing resizes and crops to the prepared size takes the frame as is.
    preprocessing gray;
    gray.mode = color_mode::gray;
    gray.resize = 224;
    gray.crop = 224;
    gray.mean = {0.5f};
    gray.std = {0.25f};
    const tensor a = ultrasound_tensor(img, gray);
    const tensor b = preprocess(ultrasound_preprocess(img), gray);
    CHECK(a.shape() == shape4{1, 1, 224, 224});
    CHECK(std::equal(a.data(), a.data() + a.size(), b.data()));
}

TEST_CASE("ultrasound: the CC BY test frames prepare to clean squares", "[clinical]") {
    const std::string dir = LUSNET_TEST_DATA_DIR;
    for (const char* name :
         {"Cov_convex_volpecelli_sonographic_v1_f01.png", "Reg_Image_181206_crop_f01.png",
          "Pneu_prospective_file3_f01.png", "Reg_pat1Image_132943_f01.png",
          "Vir_whitelung_h1n1_f01.png", "Reg_recommendations_alines_mov1_f01.png"}) {
        CAPTURE(name);
        const ultrasound_frame f = prepare_ultrasound(read_image(dir + "/" + name));
        CHECK(f.frame.width == 224);
        CHECK(f.frame.height == 224);
        CHECK(f.region.geometry.kind != sector_kind::whole_frame);
        CHECK(std::count(f.frame.pixels.begin(), f.frame.pixels.end(), 0) < 224 * 224 / 2);
    }
}

TEST_CASE("ultrasound: bad images and options are refused", "[clinical]") {
    CHECK_THROWS_AS(prepare_ultrasound(image{}), lusnet::invalid_argument);
    CHECK_THROWS_AS(prepare_ultrasound(image{1, 1, 3, {0, 0, 0}}), lusnet::invalid_argument);
    ultrasound_options zero;
    zero.size = 0;
    const image img = speckle_frame(64, 64, rectangle(0, 0, 63, 63), 26);
    CHECK_THROWS_AS(prepare_ultrasound(img, zero), lusnet::invalid_argument);
}
