// Tests of include/lusnet/train/augment.hpp: determinism for a seed, identity without jitter,
// and what each step does on its own.
#include "catch.hpp"

#include "lusnet/train/augment.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

using namespace lusnet;

namespace {

/// A seeded frame `[1, C, H, W]` of values in [low, high].
tensor random_frame(shape4 shape, unsigned seed, float low = 0.0f, float high = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(low, high);
    tensor x(shape);
    std::generate(x.data(), x.data() + x.size(), [&] { return uniform(rng); });
    return x;
}

bool identical(const tensor& a, const tensor& b) {
    return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.size(), b.data());
}

double mean(const tensor& x) {
    return std::accumulate(x.data(), x.data() + x.size(), 0.0) / double(x.size());
}

} // namespace

TEST_CASE("augment: one seed gives one frame, another seed another", "[train]") {
    const tensor x = random_frame({1, 1, 37, 29}, 1);
    const augmentation options;
    const tensor a = augment(x, options, std::uint64_t{42});
    const tensor b = augment(x, options, std::uint64_t{42});
    const tensor c = augment(x, options, std::uint64_t{43});
    CHECK(identical(a, b));
    CHECK(!identical(a, c));
    CHECK(a.shape() == x.shape());

    random_engine rng(42);
    CHECK(identical(augment(x, options, rng), a));
}

TEST_CASE("augment: all jitter at zero returns the frame bit for bit", "[train]") {
    const tensor x = random_frame({1, 3, 16, 21}, 2, -0.5f, 1.5f);
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        INFO("seed " << seed);
        CHECK(identical(augment(x, augmentation::none(), seed), x));
    }
}

TEST_CASE("augment: a certain flip alone mirrors every row", "[train]") {
    const tensor x = random_frame({1, 2, 5, 7}, 3);
    augmentation flip = augmentation::none();
    flip.flip_probability = 1.0;
    const tensor y = augment(x, flip, std::uint64_t{9});
    for (std::size_t c = 0; c < 2; ++c) {
        for (std::size_t h = 0; h < 5; ++h) {
            for (std::size_t w = 0; w < 7; ++w) {
                CHECK(y.at(0, c, h, w) == x.at(0, c, h, 6 - w));
            }
        }
    }
}

TEST_CASE("augment: a shift alone moves the frame within its bound and fills with zero",
          "[train]") {
    const tensor x = random_frame({1, 1, 12, 10}, 4, 0.1f, 1.0f);
    augmentation shift = augmentation::none();
    shift.shift = 3;
    std::size_t moved = 0;
    for (std::uint64_t seed = 0; seed < 10; ++seed) {
        const tensor y = augment(x, shift, seed);
        // Exactly one offset within the bound explains every output pixel.
        std::size_t explanations = 0;
        for (int dy = -3; dy <= 3; ++dy) {
            for (int dx = -3; dx <= 3; ++dx) {
                bool fits = true;
                for (int h = 0; h < 12 && fits; ++h) {
                    for (int w = 0; w < 10 && fits; ++w) {
                        const int sh = h - dy, sw = w - dx;
                        const bool inside = sh >= 0 && sh < 12 && sw >= 0 && sw < 10;
                        const float expected = inside ? x.at(0, 0, sh, sw) : 0.0f;
                        fits = y.at(0, 0, h, w) == expected;
                    }
                }
                explanations += fits;
                moved += fits && (dy != 0 || dx != 0);
            }
        }
        INFO("seed " << seed);
        CHECK(explanations == 1);
    }
    CHECK(moved >= 8);
}

TEST_CASE("augment: brightness scales and contrast keeps the mean", "[train]") {
    const tensor x = random_frame({1, 1, 20, 20}, 5, 0.4f, 0.6f);
    augmentation brightness = augmentation::none();
    brightness.brightness = 0.3;
    const tensor bright = augment(x, brightness, std::uint64_t{11});
    const float gain = bright.data()[0] / x.data()[0];
    CHECK(gain >= 0.7f);
    CHECK(gain <= 1.3f);
    CHECK(gain != 1.0f);
    for (std::size_t i = 0; i < x.size(); ++i) {
        CHECK(bright.data()[i] == Approx(x.data()[i] * gain).epsilon(1e-5));
    }

    augmentation contrast = augmentation::none();
    contrast.contrast = 0.3;
    const tensor sharper = augment(x, contrast, std::uint64_t{12});
    CHECK(mean(sharper) == Approx(mean(x)).epsilon(1e-5));
    CHECK(!identical(sharper, x));

    brightness.brightness = 5.0;
    const tensor saturated = augment(random_frame({1, 1, 8, 8}, 6), brightness, std::uint64_t{1});
    CHECK(*std::max_element(saturated.data(), saturated.data() + saturated.size()) <= 1.0f);
}

TEST_CASE("augment: a quarter turn is counter-clockwise and zoom keeps the centre", "[train]") {
    const tensor x = random_frame({1, 1, 9, 9}, 7);
    const double quarter = std::acos(-1.0) / 2.0;
    const tensor turned = detail::rotate_and_zoom(x, quarter, 1.0);
    for (std::size_t h = 0; h < 9; ++h) {
        for (std::size_t w = 0; w < 9; ++w) {
            // The right column comes up to the top row.
            CHECK(turned.at(0, 0, h, w) == Approx(x.at(0, 0, w, 8 - h)).margin(1e-6));
        }
    }

    augmentation geometry = augmentation::none();
    geometry.rotation = 30.0;
    geometry.scale = 0.3;
    augmentation turn = augmentation::none();
    turn.rotation = 30.0;
    const tensor ones(shape4{1, 1, 9, 9}, 1.0f);
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
        const tensor y = augment(x, geometry, seed);
        CHECK(y.at(0, 0, 4, 4) == Approx(x.at(0, 0, 4, 4)).margin(1e-6));
        // Any turn moves the corners' sources out of the frame, where zero fills in.
        const tensor filled = augment(ones, turn, seed);
        CHECK(filled.at(0, 0, 0, 0) < 1.0f);
        CHECK(filled.at(0, 0, 4, 4) == Approx(1.0f));
    }
}

TEST_CASE("augment: bad settings and batches are rejected", "[train]") {
    const tensor x = random_frame({2, 1, 4, 4}, 8);
    CHECK_THROWS_AS(augment(x, augmentation{}, std::uint64_t{0}), shape_error);
    const tensor one = random_frame({1, 1, 4, 4}, 8);
    augmentation bad;
    bad.flip_probability = 1.5;
    CHECK_THROWS_AS(augment(one, bad, std::uint64_t{0}), lusnet::invalid_argument);
    bad = augmentation{};
    bad.scale = 1.0;
    CHECK_THROWS_AS(augment(one, bad, std::uint64_t{0}), lusnet::invalid_argument);
    bad = augmentation{};
    bad.contrast = -0.1;
    CHECK_THROWS_AS(augment(one, bad, std::uint64_t{0}), lusnet::invalid_argument);
}
