#include "catch.hpp"

#include "lusnet/layers/adaptive_avg_pool2d.hpp"
#include "lusnet/layers/add.hpp"
#include "lusnet/layers/avg_pool2d.hpp"
#include "lusnet/layers/batch_norm2d.hpp"
#include "lusnet/layers/concat.hpp"
#include "lusnet/layers/conv2d.hpp"
#include "lusnet/layers/dropout.hpp"
#include "lusnet/layers/flatten.hpp"
#include "lusnet/layers/linear.hpp"
#include "lusnet/layers/max_pool2d.hpp"
#include "lusnet/layers/relu.hpp"
#include "lusnet/layers/sigmoid.hpp"
#include "lusnet/layers/softmax.hpp"

#include <cmath>
#include <limits>
#include <random>

using namespace lusnet;

namespace {

/// A [1, 1, h, w] tensor holding 1, 2, 3, ... in row-major order.
tensor ramp(std::size_t h, std::size_t w) {
    tensor t({1, 1, h, w});
    for (std::size_t i = 0; i < t.size(); ++i) {
        t.data()[i] = static_cast<float>(i + 1);
    }
    return t;
}

std::vector<float> values(const tensor& t) {
    return {t.data(), t.data() + t.size()};
}

void fill_random(float* data, std::size_t n, std::mt19937& rng) {
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (std::size_t i = 0; i < n; ++i) {
        data[i] = dist(rng);
    }
}

/// Direct seven-loop convolution in double: the definition the im2col path must equal.
std::vector<double> direct_conv(const tensor& x, const conv2d& conv, const shape4& out) {
    const auto& o = conv.options();
    const shape4 in = x.shape();
    const std::size_t cg = o.in_channels / o.groups, og = o.out_channels / o.groups;
    std::vector<double> y(out.size());
    for (std::size_t n = 0; n < out.n; ++n)
        for (std::size_t oc = 0; oc < out.c; ++oc)
            for (std::size_t oy = 0; oy < out.h; ++oy)
                for (std::size_t ox = 0; ox < out.w; ++ox) {
                    double sum = o.bias ? conv.bias().values[oc] : 0.0;
                    const std::size_t g = oc / og;
                    for (std::size_t ic = 0; ic < cg; ++ic)
                        for (std::size_t ky = 0; ky < o.kernel.h; ++ky)
                            for (std::size_t kx = 0; kx < o.kernel.w; ++kx) {
                                const long iy =
                                    long(oy * o.stride.h + ky * o.dilation.h) - long(o.padding.h);
                                const long ix =
                                    long(ox * o.stride.w + kx * o.dilation.w) - long(o.padding.w);
                                if (iy < 0 || ix < 0 || iy >= long(in.h) || ix >= long(in.w)) {
                                    continue;
                                }
                                const float w =
                                    conv.weight()
                                        .values[((oc * cg + ic) * o.kernel.h + ky) * o.kernel.w +
                                                kx];
                                sum += double(w) * x.at(n, g * cg + ic, iy, ix);
                            }
                    y[((n * out.c + oc) * out.h + oy) * out.w + ox] = sum;
                }
    return y;
}

} // namespace

TEST_CASE("conv2d: 2x2 ones kernel sums each window", "[conv2d]") {
    conv2d conv(conv2d_options(1, 1, 2));
    std::fill(conv.weight().values.begin(), conv.weight().values.end(), 1.0f);
    const tensor y = conv.forward(ramp(3, 3));
    CHECK(y.shape() == shape4{1, 1, 2, 2});
    CHECK(values(y) == std::vector<float>{12, 16, 24, 28});
}

TEST_CASE("conv2d: stride 2 with padding 1 reads zeros outside the image", "[conv2d]") {
    conv2d_options o(1, 1, 2);
    o.stride = 2;
    o.padding = 1;
    conv2d conv(o);
    std::fill(conv.weight().values.begin(), conv.weight().values.end(), 1.0f);
    const tensor y = conv.forward(ramp(3, 3));
    CHECK(y.shape() == shape4{1, 1, 2, 2});
    CHECK(values(y) == std::vector<float>{1, 5, 11, 28});
}

TEST_CASE("conv2d: dilation 2 spreads the kernel taps", "[conv2d]") {
    conv2d_options o(1, 1, 2);
    o.dilation = 2;
    conv2d conv(o);
    std::fill(conv.weight().values.begin(), conv.weight().values.end(), 1.0f);
    const tensor y = conv.forward(ramp(3, 3));
    CHECK(y.shape() == shape4{1, 1, 1, 1});
    CHECK(y.data()[0] == 1 + 3 + 7 + 9);
}

TEST_CASE("conv2d: groups keep channels apart and bias is added", "[conv2d]") {
    conv2d_options o(2, 2, 1);
    o.groups = 2;
    conv2d conv(o);
    REQUIRE(conv.weight().shape == std::vector<std::size_t>{2, 1, 1, 1});
    conv.weight().values = {2.0f, -3.0f};
    conv.bias().values = {0.5f, 1.0f};
    tensor x({1, 2, 1, 2});
    x.view().data()[0] = 1;
    x.data()[1] = 2;
    x.data()[2] = 3;
    x.data()[3] = 4;
    const tensor y = conv.forward(x);
    CHECK(values(y) == std::vector<float>{2.5f, 4.5f, -8.0f, -11.0f});
}

TEST_CASE("conv2d: im2col path equals the direct definition over seeded random shapes",
          "[conv2d]") {
    std::mt19937 rng(1234);
    auto pick = [&rng](std::size_t lo, std::size_t hi) {
        return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
    };
    for (int trial = 0; trial < 60; ++trial) {
        const std::size_t groups = pick(1, 3);
        conv2d_options o(groups * pick(1, 4), groups * pick(1, 5), size2(pick(1, 5), pick(1, 5)));
        o.groups = groups;
        o.stride = size2(pick(1, 3), pick(1, 3));
        o.padding = size2(pick(0, 2), pick(0, 2));
        o.dilation = size2(pick(1, 2), pick(1, 2));
        o.bias = pick(0, 1) == 1;
        conv2d conv(o);
        fill_random(conv.weight().data(), conv.weight().size(), rng);
        fill_random(conv.bias().data(), conv.bias().size(), rng);
        const shape4 in{pick(1, 2), o.in_channels, pick(9, 19), pick(9, 19)};
        tensor x(in);
        fill_random(x.data(), x.size(), rng);

        const tensor y = conv.forward(x);
        const std::vector<double> expected = direct_conv(x, conv, y.shape());
        double worst = 0.0;
        for (std::size_t i = 0; i < y.size(); ++i) {
            worst = std::max(worst, std::abs(y.data()[i] - expected[i]));
        }
        INFO("trial " << trial << ": in " << in.str() << ", out " << y.shape().str() << ", kernel "
                      << o.kernel.str() << ", stride " << o.stride.str() << ", padding "
                      << o.padding.str() << ", dilation " << o.dilation.str() << ", groups "
                      << groups);
        CHECK(worst < 1e-5);
    }
}

TEST_CASE("conv2d: wrong channel count and too small input are shape errors naming the layer",
          "[conv2d]") {
    conv2d conv(conv2d_options(3, 4, 5));
    conv.set_name("features.0");
    try {
        conv.forward(tensor({1, 1, 8, 8}));
        FAIL("expected shape_error");
    } catch (const shape_error& e) {
        CHECK(std::string(e.what()).find("features.0") != std::string::npos);
        CHECK(std::string(e.what()).find("3 input channels") != std::string::npos);
    }
    CHECK_THROWS_AS(conv.forward(tensor({1, 3, 4, 8})), shape_error);
}

TEST_CASE("conv2d: channels not divisible by groups are refused", "[conv2d]") {
    conv2d_options o(3, 4, 3);
    o.groups = 2;
    CHECK_THROWS_AS(conv2d(o), invalid_argument);
    CHECK_THROWS_AS(conv2d(conv2d_options(0, 4, 3)), invalid_argument);
}

TEST_CASE("batch_norm2d: applies running statistics, eps and the affine part", "[batch_norm2d]") {
    batch_norm2d bn(batch_norm2d_options(2, 1e-3f));
    bn.running_mean().values = {1.0f, -1.0f};
    bn.running_var().values = {4.0f - 1e-3f, 0.25f - 1e-3f};
    bn.weight().values = {2.0f, 1.0f};
    bn.bias().values = {0.5f, 0.0f};
    tensor x({1, 2, 1, 2});
    x.data()[0] = 3;
    x.data()[1] = 1;
    x.data()[2] = 0;
    x.data()[3] = -1;
    const tensor y = bn.forward(x);
    CHECK(y.data()[0] == Approx(2.5f)); // (3 - 1) / 2 * 2 + 0.5
    CHECK(y.data()[1] == Approx(0.5f)); // (1 - 1) / 2 * 2 + 0.5
    CHECK(y.data()[2] == Approx(2.0f)); // (0 + 1) / 0.5
    CHECK(y.data()[3] == Approx(0.0f).margin(1e-6));
    CHECK(bn.ignored_keys() == std::vector<std::string>{"num_batches_tracked"});
    CHECK_THROWS_AS(bn.forward(tensor({1, 3, 1, 1})), shape_error);
}

TEST_CASE("relu and sigmoid: element-wise, sigmoid stable at extremes", "[activation]") {
    tensor x({1, 1, 1, 4});
    x.data()[0] = -2;
    x.data()[1] = 0;
    x.data()[2] = 3;
    x.data()[3] = -1000;
    CHECK(values(relu().forward(x)) == std::vector<float>{0, 0, 3, 0});
    x.data()[3] = 1000;
    const tensor s = sigmoid().forward(x);
    CHECK(s.data()[0] == Approx(1.0 / (1.0 + std::exp(2.0))));
    CHECK(s.data()[1] == 0.5f);
    CHECK(s.data()[3] == 1.0f);
    x.data()[3] = -1000;
    CHECK(sigmoid().forward(x).data()[3] == 0.0f);
}

TEST_CASE("max_pool2d: 2x2 windows, ceil_mode keeps the partial last window", "[max_pool2d]") {
    const tensor x = ramp(5, 5);
    CHECK(values(max_pool2d(max_pool2d_options(2)).forward(x)) == std::vector<float>{7, 9, 17, 19});
    max_pool2d_options o(2);
    o.ceil_mode = true;
    const tensor y = max_pool2d(o).forward(x);
    CHECK(y.shape() == shape4{1, 1, 3, 3});
    CHECK(values(y) == std::vector<float>{7, 9, 10, 17, 19, 20, 22, 24, 25});
}

TEST_CASE("max_pool2d: padding never wins and NaN propagates", "[max_pool2d]") {
    tensor x({1, 1, 2, 2}, -5.0f);
    const tensor y = max_pool2d(max_pool2d_options(3, 1, 1)).forward(x);
    CHECK(y.shape() == shape4{1, 1, 2, 2});
    CHECK(values(y) == std::vector<float>{-5, -5, -5, -5});
    x.data()[1] = std::numeric_limits<float>::quiet_NaN();
    CHECK(std::isnan(max_pool2d(max_pool2d_options(2)).forward(x).data()[0]));
    CHECK_THROWS_AS(max_pool2d(max_pool2d_options(2, 2, 2)), invalid_argument);
}

TEST_CASE("max_pool2d: ceil_mode drops a window that starts in the padding", "[max_pool2d]") {
    // PyTorch: 5 wide, kernel 2, stride 2, padding 1: ceil would give 4 windows, but the
    // fourth starts in the right padding, so 3 remain.
    max_pool2d_options o(2, 2, 1);
    o.ceil_mode = true;
    CHECK(max_pool2d(o).output_shape(shape4{1, 1, 5, 5}) == shape4{1, 1, 3, 3});
    CHECK(max_pool2d(o).output_shape(shape4{1, 1, 6, 6}) == shape4{1, 1, 4, 4});
    o.ceil_mode = false;
    CHECK(max_pool2d(o).output_shape(shape4{1, 1, 5, 5}) == shape4{1, 1, 3, 3});
    max_pool2d_options k3(3, 2);
    CHECK(max_pool2d(k3).output_shape(shape4{1, 1, 6, 6}) == shape4{1, 1, 2, 2});
    k3.ceil_mode = true;
    CHECK(max_pool2d(k3).output_shape(shape4{1, 1, 6, 6}) == shape4{1, 1, 3, 3});
}

TEST_CASE("avg_pool2d: count_include_pad decides the divisor at the border", "[avg_pool2d]") {
    const tensor x({1, 1, 2, 2}, 1.0f);
    avg_pool2d_options o(2, 1, 1);
    const tensor with_pad = avg_pool2d(o).forward(x);
    CHECK(with_pad.shape() == shape4{1, 1, 3, 3});
    CHECK(with_pad.data()[0] == 0.25f);
    CHECK(with_pad.data()[4] == 1.0f);
    o.count_include_pad = false;
    const tensor without = avg_pool2d(o).forward(x);
    CHECK(values(without) == std::vector<float>(9, 1.0f));
}

TEST_CASE("avg_pool2d: 3x3 stride 2 over a ramp", "[avg_pool2d]") {
    const tensor y = avg_pool2d(avg_pool2d_options(3, 2)).forward(ramp(5, 5));
    CHECK(values(y) == std::vector<float>{7, 9, 17, 19});
}

TEST_CASE("adaptive_avg_pool2d: overlapping bins when the size does not divide", "[adaptive]") {
    // 5 -> 3 bins: rows [0, 2), [1, 4), [3, 5).
    const tensor y = adaptive_avg_pool2d(size2(3, 1)).forward(ramp(5, 1));
    CHECK(values(y) == std::vector<float>{1.5f, 3.0f, 4.5f});
    const tensor g = adaptive_avg_pool2d(size2(1)).forward(ramp(2, 2));
    CHECK(values(g) == std::vector<float>{2.5f});
    const tensor up = adaptive_avg_pool2d(size2(4, 1)).forward(ramp(2, 1));
    CHECK(values(up) == std::vector<float>{1, 1, 2, 2});
}

TEST_CASE("linear: y = x W^T + b on flattened samples", "[linear]") {
    linear fc(linear_options(3, 2));
    fc.weight().values = {1, 0, -1, 2, 1, 0};
    fc.bias().values = {0.5f, -0.5f};
    tensor x({2, 3, 1, 1});
    for (std::size_t i = 0; i < 6; ++i) {
        x.data()[i] = static_cast<float>(i + 1);
    }
    const tensor y = fc.forward(x);
    CHECK(y.shape() == shape4{2, 2, 1, 1});
    CHECK(values(y) == std::vector<float>{-1.5f, 3.5f, -1.5f, 12.5f});
    CHECK_THROWS_AS(fc.forward(tensor({1, 4, 1, 1})), shape_error);
}

TEST_CASE("flatten and dropout: shape changes only, values kept", "[flatten]") {
    const tensor x = ramp(2, 3);
    const tensor f = flatten().forward(x);
    CHECK(f.shape() == shape4{1, 6, 1, 1});
    CHECK(values(f) == values(x));
    CHECK(values(dropout(0.5f).forward(x)) == values(x));
    CHECK_THROWS_AS(dropout(1.0f), invalid_argument);
}

TEST_CASE("softmax: sums to one over channels, stable for large logits", "[softmax]") {
    tensor x({1, 3, 1, 1});
    x.data()[0] = 1000;
    x.data()[1] = 1000;
    x.data()[2] = -1000;
    const tensor y = softmax().forward(x);
    CHECK(y.data()[0] == Approx(0.5f));
    CHECK(y.data()[1] == Approx(0.5f));
    CHECK(y.data()[2] == 0.0f);
}

TEST_CASE("concat and add: join branches, refuse mismatched shapes", "[concat]") {
    const tensor a = ramp(1, 2);
    tensor b({1, 2, 1, 2}, 9.0f);
    const tensor c = concat().forward({a.view(), b.view()});
    CHECK(c.shape() == shape4{1, 3, 1, 2});
    CHECK(values(c) == std::vector<float>{1, 2, 9, 9, 9, 9});
    const tensor s = add().forward({a.view(), a.view()});
    CHECK(values(s) == std::vector<float>{2, 4});
    CHECK_THROWS_AS(add().forward({a.view(), b.view()}), shape_error);
    CHECK_THROWS_AS(add().forward({a.view()}), invalid_argument);
    CHECK_THROWS_AS(concat().forward({a.view(), ramp(2, 2).view()}), shape_error);
}
