// Render a visual check of imaging-region detection and the pleural line.
//
//   sector_check OUT.png FRAME...
//
// One row per frame, three panels each: the original; the detected region's outline (green,
// a fallback to the whole frame in red) with the pleural line (yellow, brighter where the
// ridge is strong); and the prepared square frame a model sees. Rows fill two columns.
// docs/sector_check.png is made this way from the frames listed in docs/NOTICE.md.
#include <lusnet/clinical/pleura.hpp>
#include <lusnet/clinical/ultrasound.hpp>
#include <lusnet/io/image.hpp>
#include <lusnet/io/transforms.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

constexpr std::size_t tile = 150;
constexpr std::size_t gap = 4;

using lusnet::image;

/// `img` as RGB.
image rgb(const image& img) {
    return lusnet::convert_color(img, lusnet::color_mode::rgb);
}

/// Paints pixel (x, y) of an RGB image, if it lies inside.
void paint(image& img, long x, long y, const std::uint8_t* colour) {
    if (x >= 0 && y >= 0 && std::size_t(x) < img.width && std::size_t(y) < img.height) {
        std::copy(colour, colour + 3, &img.pixels[(std::size_t(y) * img.width + x) * 3]);
    }
}

/// The original with the region's outline and the pleural line drawn on it.
image overlay(const image& frame, const lusnet::ultrasound_frame& prepared,
              const lusnet::pleural_line& line) {
    image out = rgb(frame);
    const image& mask = prepared.region.mask;
    const bool fallback = prepared.region.geometry.kind == lusnet::sector_kind::whole_frame;
    const std::uint8_t outline[3] = {std::uint8_t(fallback ? 255 : 40),
                                     std::uint8_t(fallback ? 40 : 230), 40};
    const auto inside = [&](long x, long y) {
        return x >= 0 && y >= 0 && std::size_t(x) < mask.width && std::size_t(y) < mask.height &&
               mask.pixels[std::size_t(y) * mask.width + std::size_t(x)] != 0;
    };
    for (long y = 0; y < long(mask.height); ++y) {
        for (long x = 0; x < long(mask.width); ++x) {
            const bool edge = inside(x, y) && (!inside(x - 1, y) || !inside(x + 1, y) ||
                                               !inside(x, y - 1) || !inside(x, y + 1));
            if (edge) {
                paint(out, x, y, outline);
                paint(out, x + 1, y, outline);
            }
        }
    }

    // The line was found on the prepared frame; map it back onto the original.
    for (std::size_t i = 0; i < line.points.size(); ++i) {
        const lusnet::image_point p = prepared.transform.to_frame(line.points[i]);
        const bool strong = line.strength[i] > 0.0f;
        const std::uint8_t colour[3] = {255, std::uint8_t(strong ? 230 : 120), 0};
        for (long d = -1; d <= 1; ++d) {
            paint(out, std::lround(p.x), std::lround(p.y) + d, colour);
        }
    }
    return out;
}

/// `img` (RGB) scaled to fit a `tile` square, centred on black.
image fit_tile(const image& img) {
    lusnet::letterbox ignored;
    image out{tile, tile, 3, std::vector<std::uint8_t>(tile * tile * 3, 0)};
    for (std::size_t c = 0; c < 3; ++c) {
        image plane{img.width, img.height, 1, {}};
        for (std::size_t i = 0; i < img.width * img.height; ++i) {
            plane.pixels.push_back(img.pixels[i * 3 + c]);
        }
        const image scaled = lusnet::detail::letterbox_image(plane, tile, ignored);
        for (std::size_t i = 0; i < tile * tile; ++i) {
            out.pixels[i * 3 + c] = scaled.pixels[i];
        }
    }
    return out;
}

/// Copies `panel` (RGB, tile x tile) into `sheet` with its top-left corner at (x, y).
void place(image& sheet, const image& panel, std::size_t x, std::size_t y) {
    for (std::size_t row = 0; row < panel.height; ++row) {
        std::copy_n(&panel.pixels[row * panel.width * 3], panel.width * 3,
                    &sheet.pixels[((y + row) * sheet.width + x) * 3]);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s OUT.png FRAME...\n", argv[0]);
        return 2;
    }
    try {
        const std::size_t frames = std::size_t(argc - 2);
        const std::size_t rows = (frames + 1) / 2;
        const std::size_t row_width = 3 * tile + 2 * gap;
        image sheet{2 * row_width + 3 * gap, rows * (tile + gap) + gap, 3, {}};
        sheet.pixels.assign(sheet.width * sheet.height * 3, 255);

        for (std::size_t i = 0; i < frames; ++i) {
            const image frame = lusnet::read_image(argv[i + 2]);
            const lusnet::ultrasound_frame prepared = lusnet::prepare_ultrasound(frame);
            const lusnet::pleural_line line =
                lusnet::find_pleural_line(prepared.frame, prepared.geometry);
            std::printf("%s: %s, pleural line confidence %.2f\n", argv[i + 2],
                        lusnet::to_string(prepared.region.geometry.kind), line.confidence);

            const std::size_t x = gap + (i % 2) * (row_width + gap),
                              y = gap + (i / 2) * (tile + gap);
            place(sheet, fit_tile(rgb(frame)), x, y);
            place(sheet, fit_tile(overlay(frame, prepared, line)), x + tile + gap, y);
            place(sheet, fit_tile(rgb(prepared.frame)), x + 2 * (tile + gap), y);
        }
        lusnet::write_png(argv[1], sheet);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
