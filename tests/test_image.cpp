#include "catch.hpp"

#include "lusnet/io/image.hpp"
#include "lusnet/io/safetensors.hpp"
#include "lusnet/io/transforms.hpp"

#include <stb_image_write.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace lusnet;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system's temp folder, removed with everything in it.
class temp_dir {
public:
    temp_dir() {
        std::random_device seed;
        m_path = fs::temp_directory_path() / ("lusnet_test_image_" + std::to_string(seed()));
        fs::create_directories(m_path);
    }
    ~temp_dir() {
        std::error_code ignored;
        fs::remove_all(m_path, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    std::string file(const std::string& name) const { return (m_path / name).string(); }

private:
    fs::path m_path;
};

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    REQUIRE(out.good());
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A `width` x `height` image whose every value differs from its neighbours.
image pattern(std::size_t width, std::size_t height, std::size_t channels) {
    image img{width, height, channels, {}};
    img.pixels.resize(width * height * channels);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) {
        img.pixels[i] = static_cast<std::uint8_t>((i * 37 + i / 7) % 256);
    }
    return img;
}

/// A smooth image, so that lossy JPEG stays close to it.
image gradient(std::size_t width, std::size_t height, std::size_t channels) {
    image img{width, height, channels, {}};
    for (std::size_t y = 0; y < height; ++y) {
        for (std::size_t x = 0; x < width; ++x) {
            for (std::size_t c = 0; c < channels; ++c) {
                img.pixels.push_back(static_cast<std::uint8_t>(30 + 3 * x + 2 * y + 20 * c));
            }
        }
    }
    return img;
}

int as_int(std::size_t value) {
    return static_cast<int>(value);
}

/// A 24-bit BMP header (no pixel data) that claims `width` x `height`.
std::vector<std::uint8_t> bmp_header(std::int32_t width, std::int32_t height) {
    std::vector<std::uint8_t> bytes;
    const auto put = [&bytes](std::uint32_t value, int size) {
        for (int i = 0; i < size; ++i) {
            bytes.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
        }
    };
    bytes.push_back('B');
    bytes.push_back('M');
    put(54, 4); // file size as the header tells it
    put(0, 4);  // reserved
    put(54, 4); // offset of the pixels
    put(40, 4); // BITMAPINFOHEADER
    put(static_cast<std::uint32_t>(width), 4);
    put(static_cast<std::uint32_t>(height), 4);
    put(1, 2);  // planes
    put(24, 2); // bits per pixel
    put(0, 4);  // no compression
    put(0, 4);  // image size, may be 0 when uncompressed
    put(2835, 4);
    put(2835, 4);
    put(0, 4);
    put(0, 4);
    return bytes;
}

/// Runs `fn`, requires an `Error`, and returns its message.
template <class Error, class Fn>
std::string error_message(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    FAIL("expected an exception, none was thrown");
    return {};
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// A [n, c, h, w] tensor holding f(y, x) in every plane.
template <class Fn>
tensor planes_of(shape4 shape, Fn f) {
    tensor t(shape);
    for (std::size_t p = 0; p < shape.n * shape.c; ++p) {
        for (std::size_t y = 0; y < shape.h; ++y) {
            for (std::size_t x = 0; x < shape.w; ++x) {
                t.data()[(p * shape.h + y) * shape.w + x] = f(y, x);
            }
        }
    }
    return t;
}

tensor seeded_random(shape4 shape, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(0.0f, 1.0f);
    tensor t(shape);
    std::generate(t.data(), t.data() + t.size(), [&] { return dist(rng); });
    return t;
}

float max_difference(const_tensor_view a, const_tensor_view b) {
    REQUIRE(a.shape() == b.shape());
    float worst = 0.0f;
    for (std::size_t i = 0; i < a.size(); ++i) {
        worst = std::max(worst, std::abs(a.data()[i] - b.data()[i]));
    }
    return worst;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Decoding

TEST_CASE("image: PNG round-trips gray and RGB pixels exactly", "[image]") {
    temp_dir dir;
    for (std::size_t channels : {1, 3}) {
        const image original = pattern(13, 7, channels);
        const std::string path = dir.file("pattern" + std::to_string(channels) + ".png");
        write_png(path, original);

        const image back = read_image(path, channels == 1 ? color_mode::gray : color_mode::rgb);
        CHECK(back.width == 13);
        CHECK(back.height == 7);
        CHECK(back.channels == channels);
        CHECK(back.pixels == original.pixels);
    }
}

TEST_CASE("image: BMP decodes exactly, gray written as 24-bit comes back gray", "[image]") {
    temp_dir dir;
    const image rgb = pattern(9, 5, 3);
    const image gray = pattern(9, 5, 1);
    const std::string rgb_path = dir.file("rgb.bmp");
    const std::string gray_path = dir.file("gray.bmp");
    REQUIRE(stbi_write_bmp(rgb_path.c_str(), 9, 5, 3, rgb.pixels.data()));
    REQUIRE(stbi_write_bmp(gray_path.c_str(), 9, 5, 1, gray.pixels.data()));

    CHECK(read_image(rgb_path).pixels == rgb.pixels);
    // Equal R, G and B have luma 0.9999 v, which rounds back to v.
    const image back = read_image(gray_path, color_mode::gray);
    CHECK(back.channels == 1);
    CHECK(back.pixels == gray.pixels);
}

TEST_CASE("image: JPEG decodes to the right size and close values", "[image]") {
    temp_dir dir;
    for (std::size_t channels : {1, 3}) {
        const image original = gradient(32, 24, channels);
        const std::string path = dir.file("gradient" + std::to_string(channels) + ".jpg");
        REQUIRE(stbi_write_jpg(path.c_str(), 32, 24, as_int(channels), original.pixels.data(), 95));

        const image back = read_image(path, channels == 1 ? color_mode::gray : color_mode::rgb);
        REQUIRE(back.width == 32);
        REQUIRE(back.height == 24);
        REQUIRE(back.channels == channels);
        int worst = 0;
        for (std::size_t i = 0; i < back.pixels.size(); ++i) {
            worst = std::max(worst, std::abs(int(back.pixels[i]) - int(original.pixels[i])));
        }
        INFO("channels " << channels << ", max |difference| " << worst);
        CHECK(worst <= 6);
    }
}

TEST_CASE("image: gray from RGB uses torchvision's weights rounded, not stb's", "[image]") {
    temp_dir dir;
    // stb's own conversion would give 76, 149, 28 for the first three. (0, 36, 12) is an exact
    // .5 tie that the double sum puts just below, as the NumPy reference computes it.
    const image rgb{7, 1, 3, {255, 0,   0,   0,  255, 0,  0,  0,   255, 10, 20,
                              30,  200, 100, 50, 0,   36, 12, 255, 255, 255}};
    const std::string path = dir.file("colours.png");
    write_png(path, rgb);

    const image gray = read_image(path, color_mode::gray);
    CHECK(gray.channels == 1);
    CHECK(gray.pixels == std::vector<std::uint8_t>{76, 150, 29, 18, 124, 22, 255});
    CHECK(convert_color(rgb, color_mode::gray).pixels == gray.pixels);
}

TEST_CASE("image: RGB from a gray file replicates the channel, alpha is dropped", "[image]") {
    temp_dir dir;
    const image gray = pattern(4, 3, 1);
    const std::string gray_path = dir.file("gray.png");
    write_png(gray_path, gray);
    const image rgb = read_image(gray_path, color_mode::rgb);
    REQUIRE(rgb.channels == 3);
    for (std::size_t i = 0; i < gray.pixels.size(); ++i) {
        CHECK(rgb.pixels[3 * i] == gray.pixels[i]);
        CHECK(rgb.pixels[3 * i + 1] == gray.pixels[i]);
        CHECK(rgb.pixels[3 * i + 2] == gray.pixels[i]);
    }

    const image rgba = pattern(4, 3, 4); // image holds 1 or 3 channels: write through stb
    const std::string rgba_path = dir.file("rgba.png");
    REQUIRE(stbi_write_png(rgba_path.c_str(), 4, 3, 4, rgba.pixels.data(), 16));
    const image dropped = read_image(rgba_path);
    REQUIRE(dropped.channels == 3);
    for (std::size_t i = 0; i < 12; ++i) {
        for (std::size_t c = 0; c < 3; ++c) {
            CHECK(dropped.pixels[3 * i + c] == rgba.pixels[4 * i + c]);
        }
    }
}

TEST_CASE("image: decode_image reads bytes in memory and names them in errors", "[image]") {
    temp_dir dir;
    const std::string path = dir.file("memory.png");
    write_png(path, pattern(5, 4, 3));
    const std::vector<std::uint8_t> bytes = read_bytes(path);

    const image img = decode_image(bytes.data(), bytes.size(), color_mode::rgb);
    CHECK(img.pixels == pattern(5, 4, 3).pixels);

    const std::vector<std::uint8_t> junk(64, 0x5a);
    const std::string message = error_message<format_error>(
        [&] { decode_image(junk.data(), junk.size(), color_mode::rgb, "probe.bin"); });
    CHECK(contains(message, "lusnet.format: decode image: probe.bin: expected a PNG"));
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST_CASE("image: a missing file or a directory is an io_error naming the path", "[image]") {
    temp_dir dir;
    const std::string missing = dir.file("no_such_frame.png");
    const std::string message = error_message<io_error>([&] { read_image(missing); });
    CHECK(contains(message, "lusnet.io: read image: " + missing));
    CHECK(contains(message, std::strerror(ENOENT)));

    const std::string folder = dir.file("");
    CHECK(contains(error_message<io_error>([&] { read_image(folder); }), folder));
}

TEST_CASE("image: an io_error carries the errno of the failed read", "[image]") {
    temp_dir dir;
    const std::string missing = dir.file("no_such_frame.png");
    int missing_code = 0, folder_code = 0;
    try {
        read_image(missing);
    } catch (const io_error& e) {
        missing_code = e.error_number();
    }
    try {
        read_image(dir.file(""));
    } catch (const io_error& e) {
        folder_code = e.error_number();
    }
    CHECK(missing_code == ENOENT);
    CHECK(folder_code == EISDIR);
}

TEST_CASE("image: empty, truncated and random files are format_errors naming the path", "[image]") {
    temp_dir dir;
    const std::string empty = dir.file("empty.png");
    write_bytes(empty, {});
    std::string message = error_message<format_error>([&] { read_image(empty); });
    CHECK(contains(message, "lusnet.format: read image: " + empty));
    CHECK(contains(message, "empty"));

    const std::string whole = dir.file("whole.png");
    write_png(whole, pattern(64, 64, 3));
    std::vector<std::uint8_t> bytes = read_bytes(whole);
    bytes.resize(bytes.size() / 2);
    const std::string truncated = dir.file("truncated.png");
    write_bytes(truncated, bytes);
    message = error_message<format_error>([&] { read_image(truncated); });
    INFO(message);
    CHECK(contains(message, truncated));
    CHECK(contains(message, "expected pixel data"));

    std::mt19937 rng(42);
    std::vector<std::uint8_t> noise(4096);
    std::generate(noise.begin(), noise.end(), [&] { return std::uint8_t(rng()); });
    const std::string random = dir.file("random.png");
    write_bytes(random, noise);
    message = error_message<format_error>([&] { read_image(random); });
    INFO(message);
    CHECK(contains(message, random));
    CHECK(contains(message, "expected a PNG, JPEG, BMP"));
}

TEST_CASE("image: a zero-sized image is a format_error naming the path", "[image]") {
    temp_dir dir;
    const std::string bmp = dir.file("zero.bmp");
    write_bytes(bmp, bmp_header(0, 5));
    std::string message = error_message<format_error>([&] { read_image(bmp); });
    INFO(message);
    CHECK(contains(message, bmp));

    // A valid PNG whose IHDR width (bytes 16 to 19) is then zeroed; stb does not check CRCs.
    const std::string png = dir.file("zero.png");
    write_png(png, pattern(3, 3, 3));
    std::vector<std::uint8_t> bytes = read_bytes(png);
    std::fill(bytes.begin() + 16, bytes.begin() + 20, std::uint8_t(0));
    write_bytes(png, bytes);
    message = error_message<format_error>([&] { read_image(png); });
    INFO(message);
    CHECK(contains(message, png));
}

TEST_CASE("image: a file claiming 100000x100000 is refused before decoding", "[image]") {
    temp_dir dir;
    // 54 header bytes claim 30 GB of pixels; only the header check can refuse it this early.
    const std::string path = dir.file("huge.bmp");
    write_bytes(path, bmp_header(100000, 100000));
    const std::string message = error_message<format_error>([&] { read_image(path); });
    CHECK(contains(message, "lusnet.format: read image: " + path));
    CHECK(contains(message, "got 100000x100000"));

    // stb's PNG header check refuses the same claim by itself (without naming the size).
    const std::string png = dir.file("huge.png");
    write_png(png, pattern(3, 3, 3));
    std::vector<std::uint8_t> bytes = read_bytes(png);
    const std::uint8_t side[4] = {0x00, 0x01, 0x86, 0xa0}; // 100000, big-endian
    std::copy(side, side + 4, bytes.begin() + 16);
    std::copy(side, side + 4, bytes.begin() + 20);
    write_bytes(png, bytes);
    CHECK(contains(error_message<format_error>([&] { read_image(png); }), png));
}

TEST_CASE("image: limits are checked from the header of a valid image", "[image]") {
    temp_dir dir;
    const std::string path = dir.file("small.png");
    write_png(path, pattern(40, 30, 3));
    CHECK(read_image(path).width == 40);

    image_limits narrow;
    narrow.max_width = 32;
    CHECK_THROWS_AS(read_image(path, color_mode::rgb, narrow), format_error);
    image_limits short_rows;
    short_rows.max_height = 29;
    CHECK_THROWS_AS(read_image(path, color_mode::rgb, short_rows), format_error);
    image_limits few;
    few.max_pixels = 40 * 30 - 1;
    const std::string message =
        error_message<format_error>([&] { read_image(path, color_mode::rgb, few); });
    CHECK(contains(message, "1199 pixels, got 40x30"));
}

TEST_CASE("image: write_png refuses malformed images and unwritable paths", "[image]") {
    temp_dir dir;
    const std::string path = dir.file("no_such_folder/out.png");
    const std::string message = error_message<io_error>([&] { write_png(path, pattern(2, 2, 3)); });
    CHECK(contains(message, "lusnet.io: write png: " + path));

    image two_channels = pattern(2, 2, 3);
    two_channels.channels = 2;
    CHECK_THROWS_AS(write_png(dir.file("a.png"), two_channels), invalid_argument);
    image short_pixels = pattern(2, 2, 3);
    short_pixels.pixels.pop_back();
    CHECK_THROWS_AS(write_png(dir.file("b.png"), short_pixels), invalid_argument);
    CHECK_THROWS_AS(write_png(dir.file("c.png"), image{0, 2, 3, {}}), invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Transforms

TEST_CASE("transforms: to_tensor puts HWC pixels in [1, C, H, W] divided by 255", "[image]") {
    const image img{2, 1, 3, {0, 51, 255, 102, 153, 204}};
    const tensor t = to_tensor(img);
    REQUIRE(t.shape() == shape4{1, 3, 1, 2});
    const std::vector<float> expected{0.0f,         102 / 255.0f, 51 / 255.0f,
                                      153 / 255.0f, 1.0f,         204 / 255.0f};
    CHECK(std::vector<float>(t.data(), t.data() + t.size()) == expected);
}

TEST_CASE("resize: halving a 4x4 ramp widens the triangle with antialias", "[image]") {
    // Along one axis, output 0 is centred on input 1.0 and output 1 on 3.0 with half-width 2:
    // weights 3/7, 3/7, 1/7 over inputs 0..2 and 1/7, 3/7, 3/7 over 1..3, so a ramp 0, 1, 2, 3
    // gives 5/7 and 16/7. Plain bilinear samples at 0.5 and 2.5 instead.
    const tensor ramp = planes_of(
        {1, 2, 4, 4}, [](std::size_t y, std::size_t x) { return static_cast<float>(x + 4 * y); });
    const float aa[2] = {5.0f / 7.0f, 16.0f / 7.0f};
    const float plain[2] = {0.5f, 2.5f};

    const tensor smooth = resize(ramp, 2, 2);
    const tensor sharp = resize(ramp, 2, 2, false);
    REQUIRE(smooth.shape() == shape4{1, 2, 2, 2});
    for (std::size_t c = 0; c < 2; ++c) {
        for (std::size_t y = 0; y < 2; ++y) {
            for (std::size_t x = 0; x < 2; ++x) {
                CHECK(smooth.at(0, c, y, x) == Approx(aa[x] + 4 * aa[y]).epsilon(1e-6));
                CHECK(sharp.at(0, c, y, x) == Approx(plain[x] + 4 * plain[y]).epsilon(1e-6));
            }
        }
    }
}

TEST_CASE("resize: the same size returns the input unchanged", "[image]") {
    const tensor x = seeded_random({2, 3, 5, 7}, 1);
    for (bool antialias : {true, false}) {
        const tensor y = resize(x, 5, 7, antialias);
        CHECK(max_difference(x, y) == 0.0f);
    }
}

TEST_CASE("resize: upsampling 2x2 to 4x4 is bilinear with half-pixel centres", "[image]") {
    // Sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1) per axis; antialias does not
    // change an enlargement.
    const tensor x = planes_of(
        {1, 1, 2, 2}, [](std::size_t y, std::size_t x) { return static_cast<float>(x + 2 * y); });
    const float a[4] = {0.0f, 0.25f, 0.75f, 1.0f};
    for (bool antialias : {true, false}) {
        const tensor y = resize(x, 4, 4, antialias);
        REQUIRE(y.shape() == shape4{1, 1, 4, 4});
        for (std::size_t r = 0; r < 4; ++r) {
            for (std::size_t c = 0; c < 4; ++c) {
                CHECK(y.at(0, 0, r, c) == Approx(a[c] + 2 * a[r]).margin(1e-6));
            }
        }
    }
}

TEST_CASE("resize: an empty input or an empty output size is refused", "[image]") {
    const tensor x = seeded_random({1, 1, 3, 3}, 2);
    CHECK_THROWS_AS(resize(x, 0, 3), invalid_argument);
    CHECK_THROWS_AS(resize(x, 3, 0), invalid_argument);
    CHECK_THROWS_AS(resize(tensor(shape4{1, 1, 0, 3}), 2, 2), shape_error);
    CHECK_THROWS_AS(resize_shorter(x, 0), invalid_argument);
}

TEST_CASE("resize_shorter: the shorter side becomes size, the longer int(size * long / short)",
          "[image]") {
    CHECK(resize_shorter(tensor(shape4{1, 1, 300, 400}), 256).shape() == shape4{1, 1, 256, 341});
    CHECK(resize_shorter(tensor(shape4{1, 1, 400, 300}), 256).shape() == shape4{1, 1, 341, 256});
    CHECK(resize_shorter(tensor(shape4{1, 1, 50, 50}), 256).shape() == shape4{1, 1, 256, 256});
    CHECK(resize_shorter(tensor(shape4{2, 3, 222, 333}), 256).shape() == shape4{2, 3, 256, 384});
}

TEST_CASE("center_crop: offsets round (H - h) / 2 half to even, like Python's round", "[image]") {
    struct crop_case {
        std::size_t h, w, crop_h, crop_w, top, left;
    };
    // 1.5 -> 2, 2.5 -> 2, 0.5 -> 0, 3.5 -> 4.
    const crop_case cases[] = {
        {5, 5, 3, 3, 1, 1}, {6, 8, 3, 3, 2, 2}, {4, 10, 3, 3, 0, 4}, {7, 3, 4, 3, 2, 0}};
    for (const crop_case& k : cases) {
        const tensor x = planes_of({1, 2, k.h, k.w}, [&](std::size_t y, std::size_t x) {
            return static_cast<float>(y * k.w + x);
        });
        const tensor y = center_crop(x, k.crop_h, k.crop_w);
        INFO(k.h << "x" << k.w << " -> " << k.crop_h << "x" << k.crop_w);
        REQUIRE(y.shape() == shape4{1, 2, k.crop_h, k.crop_w});
        for (std::size_t r = 0; r < k.crop_h; ++r) {
            for (std::size_t c = 0; c < k.crop_w; ++c) {
                CHECK(y.at(0, 1, r, c) == x.at(0, 1, k.top + r, k.left + c));
            }
        }
    }
}

TEST_CASE("center_crop: a crop larger than the image pads zeros, the odd one right and below",
          "[image]") {
    const tensor x = planes_of({1, 1, 2, 2}, [](std::size_t y, std::size_t x) {
        return static_cast<float>(1 + x + 2 * y);
    });
    // Height 2 -> 4 pads 1 above and 1 below; width 2 -> 5 pads 1 left and 2 right.
    const tensor y = center_crop(x, 4, 5);
    const float expected[4][5] = {
        {0, 0, 0, 0, 0}, {0, 1, 2, 0, 0}, {0, 3, 4, 0, 0}, {0, 0, 0, 0, 0}};
    for (std::size_t r = 0; r < 4; ++r) {
        for (std::size_t c = 0; c < 5; ++c) {
            CHECK(y.at(0, 0, r, c) == expected[r][c]);
        }
    }

    // Padded in height only, 2 -> 3: no row above, one below. The width is cropped with its own
    // offset, round(1.5) = 2.
    const tensor wide = planes_of({1, 1, 2, 6}, [](std::size_t y, std::size_t x) {
        return static_cast<float>(1 + x + 6 * y);
    });
    const tensor z = center_crop(wide, 3, 3);
    CHECK(z.at(0, 0, 0, 0) == 3.0f);
    CHECK(z.at(0, 0, 1, 2) == 11.0f);
    CHECK(z.at(0, 0, 2, 1) == 0.0f);
}

TEST_CASE("normalize: subtracts the mean and divides by the std per channel", "[image]") {
    tensor x = planes_of({2, 2, 1, 2}, [](std::size_t, std::size_t x) { return 0.5f + x; });
    normalize(x.view(), {0.5f, 1.0f}, {0.25f, 2.0f});
    CHECK(x.at(1, 0, 0, 0) == 0.0f);
    CHECK(x.at(1, 0, 0, 1) == 4.0f);
    CHECK(x.at(0, 1, 0, 0) == -0.25f);
    CHECK(x.at(0, 1, 0, 1) == 0.25f);

    CHECK_THROWS_AS(normalize(x.view(), {0.5f}, {1.0f}), shape_error);
    CHECK_THROWS_AS(normalize(x.view(), {0.5f, 0.5f}, {1.0f}), shape_error);
    const std::string message = error_message<invalid_argument>([&] {
        normalize(x.view(), {0.5f, 0.5f}, {1.0f, 0.0f});
    });
    CHECK(contains(message, "std[1]"));
    CHECK_THROWS_AS(normalize(x.view(), {0.5f, 0.5f}, {-1.0f, 1.0f}), invalid_argument);
}

TEST_CASE("preprocess: resize, crop and normalize in torchvision's order", "[image]") {
    const image img = pattern(300, 200, 3);
    const preprocessing imagenet;
    const tensor x = preprocess(img, imagenet);
    REQUIRE(x.shape() == shape4{1, 3, 224, 224});

    tensor expected = center_crop(resize_shorter(to_tensor(img), 256), 224, 224);
    normalize(expected.view(), imagenet.mean, imagenet.std);
    CHECK(max_difference(x, expected) == 0.0f);

    preprocessing gray;
    gray.mode = color_mode::gray;
    gray.resize = 0;
    gray.crop = 100;
    gray.mean = {0.5f};
    gray.std = {0.25f};
    const tensor g = preprocess(img, gray);
    REQUIRE(g.shape() == shape4{1, 1, 100, 100});
    tensor g_expected = center_crop(to_tensor(convert_color(img, color_mode::gray)), 100, 100);
    normalize(g_expected.view(), gray.mean, gray.std);
    CHECK(max_difference(g, g_expected) == 0.0f);

    preprocessing untouched;
    untouched.resize = 0;
    untouched.crop = 0;
    untouched.mean.clear();
    untouched.std.clear();
    CHECK(max_difference(preprocess(img, untouched), to_tensor(img)) == 0.0f);

    preprocessing wrong = gray;
    wrong.mean = {0.5f, 0.5f, 0.5f};
    CHECK_THROWS_AS(preprocess(img, wrong), invalid_argument);
}

TEST_CASE("load_batch: stacks preprocessed images and names the file that fails", "[image]") {
    temp_dir dir;
    const std::vector<std::string> paths{dir.file("a.png"), dir.file("b.png")};
    write_png(paths[0], pattern(300, 260, 3));
    write_png(paths[1], pattern(240, 320, 1));
    const preprocessing p;

    const tensor batch = load_batch(paths, p);
    REQUIRE(batch.shape() == shape4{2, 3, 224, 224});
    const tensor second = preprocess(read_image(paths[1]), p);
    CHECK(max_difference(batch.view().batch(1, 1), second) == 0.0f);

    const std::string missing = dir.file("missing.png");
    const std::string message = error_message<io_error>([&] {
        load_batch({paths[0], missing, paths[1]}, p);
    });
    CHECK(contains(message, missing));

    preprocessing no_crop;
    no_crop.crop = 0;
    CHECK(contains(error_message<shape_error>([&] { load_batch(paths, no_crop); }), paths[1]));
    CHECK_THROWS_AS(load_batch({}, p), invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Parity with PyTorch

namespace {

const std::string resize_reference =
    std::string(LUSNET_REFERENCE_DIR) + "/resize/resize.safetensors";

/// Opens the resize reference, failing (never skipping) when it has not been made.
safetensors_file open_resize_reference() {
    if (!fs::exists(resize_reference)) {
        FAIL("missing " << resize_reference << ": run python3 "
                        << "tests/reference/make_resize_reference.py --data "
                        << LUSNET_TEST_DATA_DIR << " --out " << LUSNET_REFERENCE_DIR);
    }
    return safetensors_file::open(resize_reference);
}

tensor read_reference(const safetensors_file& file, const std::string& name) {
    const std::vector<std::size_t>& dims = file.info(name).shape;
    REQUIRE(dims.size() == 4);
    tensor t(shape4{dims[0], dims[1], dims[2], dims[3]});
    file.read_f32(name, t.data(), t.size());
    return t;
}

} // namespace

TEST_CASE("resize: real frames match PyTorch's interpolate within 1/255", "[image][parity]") {
    const safetensors_file file = open_resize_reference();
    const auto& meta = file.metadata();
    const std::size_t frames = std::stoul(meta.at("frame_count"));
    REQUIRE(frames == 3);

    for (std::size_t i = 0; i < frames; ++i) {
        const std::string prefix = "frame" + std::to_string(i) + ".";
        const std::string name = meta.at(prefix + "file");
        INFO(name);
        const tensor x = to_tensor(read_image(std::string(LUSNET_TEST_DATA_DIR) + "/" + name));
        // stb and PIL decode a PNG to the same bytes, and both divide by 255 in float.
        CHECK(max_difference(x, read_reference(file, prefix + "input")) == 0.0f);

        for (const char* key : {"resize224", "resize224_noaa", "up", "mixed", "shorter256"}) {
            const tensor expected = read_reference(file, prefix + key);
            const shape4& s = expected.shape();
            const tensor actual = std::string(key) == "shorter256"
                                      ? resize_shorter(x, 256)
                                      : resize(x, s.h, s.w, std::string(key) != "resize224_noaa");
            const float difference = max_difference(actual, expected);
            INFO(prefix << key << " " << s.str() << ": max |difference| " << difference);
            CHECK(difference <= 1.0f / 255.0f);
        }
    }
}

TEST_CASE("resize: a seeded sweep of odd shapes matches PyTorch within 1/255", "[image][parity]") {
    const safetensors_file file = open_resize_reference();
    const auto& meta = file.metadata();
    const std::size_t cases = std::stoul(meta.at("sweep_count"));
    REQUIRE(cases > 0);

    float worst = 0.0f;
    for (std::size_t k = 0; k < cases; ++k) {
        const std::string prefix = "sweep" + std::to_string(k) + ".";
        const tensor x = read_reference(file, prefix + "input");
        const tensor expected = read_reference(file, prefix + "output");
        const bool antialias = meta.at(prefix + "antialias") == "1";
        const shape4& s = expected.shape();

        const float difference = max_difference(resize(x, s.h, s.w, antialias), expected);
        INFO(prefix << " " << x.shape().str() << " -> " << s.str() << " antialias " << antialias
                    << ": max |difference| " << difference);
        CHECK(difference <= 1.0f / 255.0f);
        worst = std::max(worst, difference);
    }
    INFO("worst max |difference| over the sweep " << worst);
    CHECK(worst <= 1.0f / 255.0f);
}
