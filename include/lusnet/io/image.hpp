#pragma once

/// @file image.hpp
/// Decoding and writing 8-bit images (PNG, JPEG, BMP and the other formats stb_image reads).
///
/// Decoding goes through stb_image, whose implementation lives in Debian's libstb (link with
/// `-lstb`); lusnet never compiles it. Every image is checked against `image_limits` from its
/// header alone, before stb allocates anything, so a corrupt or hostile file that claims
/// 100000 x 100000 pixels costs a few header bytes, not gigabytes.

#include "lusnet/error.hpp"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace lusnet {

/// The channels an image is decoded to.
enum class color_mode { gray, rgb };

/// An 8-bit image, pixels in `[H, W, C]` (interleaved) order with C = 1 (gray) or 3 (RGB).
struct image {
    std::size_t width = 0;            ///< columns
    std::size_t height = 0;           ///< rows
    std::size_t channels = 0;         ///< 1 or 3
    std::vector<std::uint8_t> pixels; ///< `height * width * channels` values, row by row
};

/// The largest image a decoder accepts; checked from the header before any pixel is decoded.
struct image_limits {
    std::size_t max_width = 16384;                 ///< columns
    std::size_t max_height = 16384;                ///< rows
    std::size_t max_pixels = std::size_t(1) << 26; ///< width * height
};

/// Reads and decodes the image file at `path`; io_error if it cannot be read, format_error if
/// it is not an image within `limits`.
image read_image(const std::string& path, color_mode mode = color_mode::rgb,
                 const image_limits& limits = {});

/// Decodes `size` encoded bytes; `name` stands for the source in error messages.
image decode_image(const std::uint8_t* data, std::size_t size, color_mode mode,
                   const std::string& name = "<memory>", const image_limits& limits = {});

/// Writes `img` as a PNG file; io_error if the file cannot be written.
void write_png(const std::string& path, const image& img);

/// `img` with `mode`'s channels: gray from RGB by luma weights, RGB from gray by replication.
image convert_color(const image& img, color_mode mode);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// stb_image can address at most INT_MAX bytes and pixels per side.
inline constexpr std::size_t stb_max_bytes = static_cast<std::size_t>(INT_MAX);

/// Frees stb_image's pixel buffers.
struct stbi_deleter {
    void operator()(std::uint8_t* pixels) const { stbi_image_free(pixels); }
};

/// Closes a C stream.
struct file_closer {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

/// The products `weight * v` for every 8-bit `v`, rounded to double once.
inline std::array<double, 256> weighted_levels(double weight) {
    std::array<double, 256> levels{};
    for (std::size_t v = 0; v < levels.size(); ++v) {
        levels[v] = weight * static_cast<double>(v);
    }
    return levels;
}

/// Luma of one RGB pixel with torchvision's rgb_to_grayscale weights (ITU-R 601-2), rounded
/// half up: floor(0.2989 R + 0.587 G + 0.114 B + 0.5) in double.
///
/// About 300 of the 2^24 colours sit within a rounding error of a .5 tie, so the sum must round
/// exactly as the NumPy reference does: the products come from tables and are only added here,
/// which leaves the compiler nothing to fuse into an FMA with different rounding.
inline std::uint8_t luma(const std::uint8_t* rgb) {
    static const std::array<double, 256> red = weighted_levels(0.2989);
    static const std::array<double, 256> green = weighted_levels(0.587);
    static const std::array<double, 256> blue = weighted_levels(0.114);
    const double value = std::floor(red[rgb[0]] + green[rgb[1]] + blue[rgb[2]] + 0.5);
    return static_cast<std::uint8_t>(value > 255.0 ? 255.0 : value);
}

/// Checks that `img` is a well-formed 1- or 3-channel image.
inline void check_image(const std::string& operation, const std::string& subject,
                        const image& img) {
    if (img.channels != 1 && img.channels != 3) {
        throw invalid_argument(operation, subject,
                               "expected 1 or 3 channels, got " + std::to_string(img.channels));
    }
    const std::size_t expected = img.width * img.height * img.channels;
    if (img.pixels.size() != expected) {
        throw invalid_argument(operation, subject,
                               "expected " + std::to_string(expected) + " pixel values for " +
                                   std::to_string(img.width) + "x" + std::to_string(img.height) +
                                   "x" + std::to_string(img.channels) + ", got " +
                                   std::to_string(img.pixels.size()));
    }
}

/// The whole content of the file at `path`, at most stb_max_bytes of it.
inline std::vector<std::uint8_t> read_file(const std::string& operation, const std::string& path) {
    std::unique_ptr<std::FILE, file_closer> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        const int code = errno;
        throw io_error(operation, path, std::strerror(code), code);
    }

    // Read in chunks rather than trusting a size from the file system: pipes and special files
    // have none, and reading stops one chunk past what stb could address anyway.
    std::vector<std::uint8_t> bytes;
    std::uint8_t chunk[1 << 16];
    std::size_t got = 0;
    while ((got = std::fread(chunk, 1, sizeof chunk, file.get())) > 0) {
        bytes.insert(bytes.end(), chunk, chunk + got);
        if (bytes.size() > stb_max_bytes) {
            throw format_error(operation, path,
                               "expected at most " + std::to_string(stb_max_bytes) +
                                   " bytes, got more");
        }
    }
    if (std::ferror(file.get())) {
        const int code = errno;
        throw io_error(operation, path, std::strerror(code), code);
    }
    return bytes;
}

/// What stb_image last gave up on, in its own words.
inline std::string stb_failure() {
    const char* reason = stbi_failure_reason();
    return reason != nullptr ? reason : "an error stb_image did not name";
}

/// Refuses a header whose dimensions are empty or beyond `limits`.
inline void check_dimensions(const std::string& operation, const std::string& name, int width,
                             int height, const image_limits& limits) {
    const std::string got = std::to_string(width) + "x" + std::to_string(height);
    if (width <= 0 || height <= 0) {
        throw format_error(operation, name,
                           "expected a width and height of at least 1, got " + got);
    }
    const auto w = static_cast<std::size_t>(width);
    const auto h = static_cast<std::size_t>(height);
    if (w > limits.max_width || h > limits.max_height || w * h > limits.max_pixels) {
        throw format_error(operation, name,
                           "expected at most " + std::to_string(limits.max_width) + "x" +
                               std::to_string(limits.max_height) + " and " +
                               std::to_string(limits.max_pixels) + " pixels, got " + got);
    }
}

/// Decodes bytes whose header passed check_dimensions; `desired` is 1 or 3 channels.
inline image stb_decode(const std::string& operation, const std::string& name,
                        const std::uint8_t* data, int size, int desired) {
    int width = 0, height = 0, in_file = 0;
    std::unique_ptr<std::uint8_t, stbi_deleter> pixels(
        stbi_load_from_memory(data, size, &width, &height, &in_file, desired));
    if (!pixels) {
        throw format_error(operation, name,
                           "expected pixel data after a valid header, got a decoding failure (" +
                               stb_failure() + ")");
    }

    image img;
    img.width = static_cast<std::size_t>(width);
    img.height = static_cast<std::size_t>(height);
    img.channels = static_cast<std::size_t>(desired);
    img.pixels.assign(pixels.get(), pixels.get() + img.width * img.height * img.channels);
    return img;
}

/// decode_image under the name of the operation the caller performs.
inline image decode(const std::string& operation, const std::uint8_t* data, std::size_t size,
                    color_mode mode, const std::string& name, const image_limits& limits) {
    if (size == 0) {
        throw format_error(operation, name, "expected image bytes, got an empty input");
    }
    if (size > stb_max_bytes) {
        throw format_error(operation, name,
                           "expected at most " + std::to_string(stb_max_bytes) + " bytes, got " +
                               std::to_string(size));
    }

    const int bytes = static_cast<int>(size);
    int width = 0, height = 0, in_file = 0;
    if (!stbi_info_from_memory(data, bytes, &width, &height, &in_file)) {
        const std::string formats = "a PNG, JPEG, BMP, GIF, TGA, PSD, HDR, PIC or PNM image";
        throw format_error(operation, name,
                           "expected " + formats + ", got bytes stb_image rejects (" +
                               stb_failure() + ")");
    }
    check_dimensions(operation, name, width, height, limits);

    // stb's own RGB-to-gray uses other weights than torchvision, so gray is taken from stb
    // only when the file is gray (with or without alpha); colour files are converted here.
    const bool gray_file = in_file <= 2;
    if (mode == color_mode::gray && gray_file) {
        return stb_decode(operation, name, data, bytes, 1);
    }
    image rgb = stb_decode(operation, name, data, bytes, 3);
    return mode == color_mode::rgb ? rgb : convert_color(rgb, color_mode::gray);
}

} // namespace detail

inline image read_image(const std::string& path, color_mode mode, const image_limits& limits) {
    const std::string operation = "read image";
    const std::vector<std::uint8_t> bytes = detail::read_file(operation, path);
    return detail::decode(operation, bytes.data(), bytes.size(), mode, path, limits);
}

inline image decode_image(const std::uint8_t* data, std::size_t size, color_mode mode,
                          const std::string& name, const image_limits& limits) {
    return detail::decode("decode image", data, size, mode, name, limits);
}

inline void write_png(const std::string& path, const image& img) {
    const std::string operation = "write png";
    detail::check_image(operation, path, img);
    // stb_image_write takes int sizes and an int row stride.
    const std::size_t max_width = detail::stb_max_bytes / img.channels;
    if (img.width == 0 || img.height == 0 || img.width > max_width ||
        img.height > detail::stb_max_bytes) {
        throw invalid_argument(operation, path,
                               "expected 1 to " + std::to_string(max_width) + " columns and 1 to " +
                                   std::to_string(detail::stb_max_bytes) + " rows, got " +
                                   std::to_string(img.width) + "x" + std::to_string(img.height));
    }

    const int width = static_cast<int>(img.width);
    const int channels = static_cast<int>(img.channels);
    errno = 0;
    if (!stbi_write_png(path.c_str(), width, static_cast<int>(img.height), channels,
                        img.pixels.data(), width * channels)) {
        throw io_error(operation, path,
                       errno != 0 ? std::strerror(errno) : "stb_image_write could not write it");
    }
}

inline image convert_color(const image& img, color_mode mode) {
    detail::check_image("convert color", "image", img);
    const std::size_t target = mode == color_mode::gray ? 1 : 3;
    if (img.channels == target) {
        return img;
    }

    image out;
    out.width = img.width;
    out.height = img.height;
    out.channels = target;
    const std::size_t count = img.width * img.height;
    out.pixels.resize(count * target);
    for (std::size_t i = 0; i < count; ++i) {
        if (target == 1) {
            out.pixels[i] = detail::luma(&img.pixels[3 * i]);
        } else {
            std::fill_n(&out.pixels[3 * i], 3, img.pixels[i]);
        }
    }
    return out;
}

} // namespace lusnet
