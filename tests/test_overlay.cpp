// Overlays: the Turbo colours, the blend, PNG output and the model's view of a frame.
#include "catch.hpp"

#include "lusnet/lusnet.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>

using namespace lusnet;

namespace {

std::string temp_path(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / "lusnet_test_overlay";
    std::filesystem::create_directories(dir);
    return (dir / name).string();
}

image gray_image(std::size_t width, std::size_t height, std::uint8_t value) {
    image img;
    img.width = width;
    img.height = height;
    img.channels = 1;
    img.pixels.assign(width * height, value);
    return img;
}

/// A [1, 1, 1, n] heatmap of `values`.
tensor row_map(const std::vector<float>& values) {
    tensor t({1, 1, 1, values.size()});
    std::copy(values.begin(), values.end(), t.data());
    return t;
}

bool within(int a, int b, int tolerance) {
    return std::abs(a - b) <= tolerance;
}

} // namespace

TEST_CASE("colormap: Turbo runs from dark blue through green to dark red", "[overlay]") {
    // The published polynomial evaluated independently (in Python) at five points.
    const std::vector<std::pair<float, rgb8>> anchors{{0.0f, {35, 23, 27}},
                                                      {0.25f, {38, 189, 225}},
                                                      {0.5f, {150, 250, 80}},
                                                      {0.75f, {255, 128, 29}},
                                                      {1.0f, {144, 13, 0}}};
    for (const auto& [t, expected] : anchors) {
        const rgb8 got = turbo(t);
        INFO("t = " << t);
        for (std::size_t c = 0; c < 3; ++c) {
            CHECK(within(got[c], expected[c], 1));
        }
    }
    CHECK(turbo(-3.0f) == turbo(0.0f));
    CHECK(turbo(7.0f) == turbo(1.0f));
    CHECK(turbo(std::nanf("")) == turbo(0.0f));
    CHECK(turbo_table()[255] == turbo(1.0f));
}

TEST_CASE("overlay: a golden row blends Turbo over gray with alpha 0.4", "[overlay]") {
    // Gray 100 under a ramp heatmap: round(0.6 * 100 + 0.4 * colour), colours as above.
    const image img = gray_image(5, 1, 100);
    const image out = overlay(img, row_map({0.0f, 0.25f, 0.5f, 0.75f, 1.0f}));
    REQUIRE(out.channels == 3);
    REQUIRE(out.width == 5);
    const std::vector<int> golden{74, 69,  71,  75, 136, 150, 120, 160,
                                  92, 162, 111, 72, 118, 65,  60};
    for (std::size_t i = 0; i < golden.size(); ++i) {
        INFO("value " << i);
        CHECK(within(out.pixels[i], golden[i], 1));
    }
    // alpha 0 keeps the image, alpha 1 shows only the colours.
    overlay_options keep;
    keep.alpha = 0.0f;
    CHECK(overlay(img, row_map({0, 0.25f, 0.5f, 0.75f, 1}), keep).pixels ==
          std::vector<std::uint8_t>(15, 100));
    overlay_options only;
    only.alpha = 1.0f;
    const image colours = overlay(img, row_map({0, 0.25f, 0.5f, 0.75f, 1}), only);
    CHECK(within(colours.pixels[6], turbo(0.5f)[0], 2)); // the table quantises t to 1/255
}

TEST_CASE("overlay: written as PNG it decodes back to the image's size and pixels", "[overlay]") {
    image img;
    img.width = 40;
    img.height = 30;
    img.channels = 3;
    img.pixels.resize(40 * 30 * 3);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) {
        img.pixels[i] = static_cast<std::uint8_t>(i * 7 % 256);
    }
    // A 10x8 heatmap is resized to 40x30 first.
    tensor heat({1, 1, 8, 10});
    for (std::size_t i = 0; i < heat.size(); ++i) {
        heat.data()[i] = static_cast<float>(i) / static_cast<float>(heat.size() - 1);
    }
    const image out = overlay(img, heat);
    const std::string path = temp_path("overlay.png");
    write_png(path, out);
    const image back = read_image(path, color_mode::rgb);
    CHECK(back.width == 40);
    CHECK(back.height == 30);
    CHECK(back.pixels == out.pixels);
}

TEST_CASE("overlay: bad alpha and a batch of heatmaps are refused", "[overlay]") {
    const image img = gray_image(4, 4, 0);
    overlay_options bad;
    bad.alpha = 1.5f;
    CHECK_THROWS_AS(overlay(img, tensor({1, 1, 4, 4}), bad), invalid_argument);
    CHECK_THROWS_AS(overlay(img, tensor({2, 1, 4, 4})), shape_error);
}

TEST_CASE("overlay: model_view is the frame resized and cropped as the model sees it",
          "[overlay]") {
    const image frame = gray_image(300, 200, 77);
    preprocessing p;
    p.mode = color_mode::gray;
    p.resize = 224;
    p.crop = 224;
    const image view = model_view(frame, p);
    CHECK(view.width == 224);
    CHECK(view.height == 224);
    CHECK(view.channels == 1);
    CHECK(view.pixels == std::vector<std::uint8_t>(224 * 224, 77));
}
