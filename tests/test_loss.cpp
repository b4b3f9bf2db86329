// Tests of include/lusnet/train/loss.hpp: value and gradient parity with PyTorch's
// CrossEntropyLoss and BCEWithLogitsLoss, gradients against central differences, stability on
// extreme logits, and the rejection of bad targets and weights.
#include "catch.hpp"
#include "train_reference.hpp"

#include "lusnet/train/loss.hpp"

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace lusnet;

namespace {

/// Parity tolerance, relative to the largest reference value: losses run in double and round
/// once, PyTorch in float, so they differ by a few float ulps.
constexpr double tolerance = 1e-5;

struct loss_case {
    std::vector<float> logits;
    shape4 shape;
    std::vector<float> targets;
    std::vector<float> loss;
    std::vector<float> grad;
};

loss_case read_case(const safetensors_file& ref, const std::string& name) {
    loss_case c;
    c.logits = ref.read_f32(name + ".logits");
    const auto& dims = ref.info(name + ".logits").shape;
    c.shape = {dims[0], dims[1], 1, 1};
    c.targets = ref.read_f32(name + ".targets");
    c.loss = ref.read_f32(name + ".loss");
    c.grad = ref.read_f32(name + ".grad");
    return c;
}

std::vector<float> floats(const nlohmann::json& spec, const char* key) {
    return spec.contains(key) ? spec.at(key).get<std::vector<float>>() : std::vector<float>{};
}

/// Compares a result with the reference case, reporting both differences.
void check_parity(const std::string& name, const loss_case& c, const loss_result& got) {
    const double value_diff = std::abs(got.value - c.loss[0]) / std::abs(double(c.loss[0]));
    const double grad_diff =
        train_reference::relative_difference(got.grad.data(), c.grad.data(), c.grad.size());
    INFO(name << ": loss " << got.value << " vs " << c.loss[0] << ", relative difference "
              << value_diff << "; gradient relative difference " << grad_diff);
    REQUIRE(got.grad.shape() == c.shape);
    CHECK(value_diff <= tolerance);
    CHECK(grad_diff <= tolerance);
}

/// Central differences of `loss` at `logits`, one logit at a time, in float steps of `h`.
template <class Loss>
std::vector<double> numeric_gradient(std::vector<float> logits, shape4 shape, float h,
                                     const Loss& loss) {
    std::vector<double> grad(logits.size());
    for (std::size_t i = 0; i < logits.size(); ++i) {
        const float saved = logits[i];
        logits[i] = saved + h;
        const double up = loss(const_tensor_view(logits.data(), shape)).value;
        logits[i] = saved - h;
        const double down = loss(const_tensor_view(logits.data(), shape)).value;
        logits[i] = saved;
        grad[i] = (up - down) / (2.0 * double(h));
    }
    return grad;
}

std::vector<float> random_logits(std::size_t count, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.5f);
    std::vector<float> values(count);
    for (float& v : values) {
        v = normal(rng);
    }
    return values;
}

} // namespace

TEST_CASE("loss: cross entropy matches PyTorch with class weights and label smoothing",
          "[parity][train]") {
    const safetensors_file ref = train_reference::open("losses.safetensors");
    std::size_t compared = 0;
    for (const std::string& name : train_reference::list(ref, "cases")) {
        const nlohmann::json spec = train_reference::spec(ref, name);
        if (spec.at("kind") != "cross_entropy") {
            continue;
        }
        const loss_case c = read_case(ref, name);
        std::vector<std::size_t> targets;
        for (float t : c.targets) {
            targets.push_back(static_cast<std::size_t>(t));
        }
        cross_entropy_options options;
        options.class_weights = floats(spec, "weight");
        options.label_smoothing = spec.value("label_smoothing", 0.0);
        check_parity(name, c,
                     cross_entropy(const_tensor_view(c.logits.data(), c.shape), targets, options));
        ++compared;
    }
    CHECK(compared == 5);
}

TEST_CASE("loss: binary cross entropy with logits matches PyTorch with pos_weight",
          "[parity][train]") {
    const safetensors_file ref = train_reference::open("losses.safetensors");
    std::size_t compared = 0;
    for (const std::string& name : train_reference::list(ref, "cases")) {
        const nlohmann::json spec = train_reference::spec(ref, name);
        if (spec.at("kind") != "bce") {
            continue;
        }
        const loss_case c = read_case(ref, name);
        bce_options options;
        options.pos_weight = floats(spec, "pos_weight");
        check_parity(name, c,
                     binary_cross_entropy_with_logits(const_tensor_view(c.logits.data(), c.shape),
                                                      c.targets, options));
        ++compared;
    }
    CHECK(compared == 4);
}

TEST_CASE("loss: analytic gradients agree with central differences", "[train]") {
    const shape4 shape{5, 3, 1, 1};
    const std::vector<float> logits = random_logits(shape.size(), 7);
    const std::vector<std::size_t> classes{0, 2, 1, 2, 2};
    const std::vector<float> probabilities{0.0f, 1.0f, 0.3f, 1.0f, 0.5f, 0.0f, 0.9f, 0.1f,
                                           1.0f, 0.0f, 0.2f, 0.7f, 1.0f, 1.0f, 0.0f};
    cross_entropy_options ce;
    ce.class_weights = {0.3f, 2.0f, 1.2f};
    ce.label_smoothing = 0.15;
    bce_options bce;
    bce.pos_weight = {2.5f, 0.5f, 1.0f};

    const auto ce_loss = [&](const_tensor_view x) {
        return cross_entropy(x, classes, ce);
    };
    const auto bce_loss = [&](const_tensor_view x) {
        return binary_cross_entropy_with_logits(x, probabilities, bce);
    };
    const loss_result ce_result = ce_loss(const_tensor_view(logits.data(), shape));
    const loss_result bce_result = bce_loss(const_tensor_view(logits.data(), shape));
    const std::vector<double> ce_numeric = numeric_gradient(logits, shape, 1e-2f, ce_loss);
    const std::vector<double> bce_numeric = numeric_gradient(logits, shape, 1e-2f, bce_loss);

    // Central differences err by O(h^2), about 1e-5 here; float logits add 1e-6.
    const double ce_diff = train_reference::relative_difference(ce_result.grad.data(),
                                                                ce_numeric.data(), shape.size());
    const double bce_diff = train_reference::relative_difference(bce_result.grad.data(),
                                                                 bce_numeric.data(), shape.size());
    INFO("cross entropy " << ce_diff << ", bce " << bce_diff);
    CHECK(ce_diff < 1e-3);
    CHECK(bce_diff < 1e-3);
}

TEST_CASE("loss: extreme logits give a finite loss and gradient", "[train]") {
    const std::vector<float> logits{1e4f, -1e4f, -3e4f, 3e4f, 0.0f, 88.0f};
    const shape4 shape{3, 2, 1, 1};
    const const_tensor_view x(logits.data(), shape);

    const loss_result ce = cross_entropy(x, {1, 1, 0});
    // Sample 0 is wrong by 2e4: its loss is 2e4, the others are right and cost ~0.
    CHECK(ce.value == Approx((2e4 + 0.0 + 88.0) / 3.0).epsilon(1e-9));
    const loss_result bce = binary_cross_entropy_with_logits(x, {0, 1, 1, 0, 1, 1});
    // Wrong by 1e4, 1e4 and 3e4 plus log 2 for the zero logit, over 6 elements.
    CHECK(bce.value == Approx((1e4 + 1e4 + 3e4 + 3e4 + std::log(2.0)) / 6.0).epsilon(1e-9));
    for (std::size_t i = 0; i < shape.size(); ++i) {
        CHECK(std::isfinite(ce.grad.data()[i]));
        CHECK(std::isfinite(bce.grad.data()[i]));
    }
    CHECK(ce.grad.data()[0] == Approx(1.0 / 3.0));
    CHECK(bce.grad.data()[0] == Approx(1.0 / 6.0));
}

TEST_CASE("loss: bad logits, targets and weights are rejected", "[train]") {
    const std::vector<float> logits(8, 0.5f);
    const const_tensor_view x(logits.data(), {4, 2, 1, 1});

    CHECK_THROWS_AS(cross_entropy(x, {0, 1, 2, 0}), lusnet::invalid_argument);
    CHECK_THROWS_AS(cross_entropy(x, {0, 1, 1}), shape_error);
    CHECK_THROWS_AS(cross_entropy(const_tensor_view(logits.data(), {1, 2, 2, 2}), {0}),
                    shape_error);
    cross_entropy_options negative;
    negative.class_weights = {1.0f, -1.0f};
    CHECK_THROWS_AS(cross_entropy(x, {0, 1, 1, 0}, negative), lusnet::invalid_argument);
    cross_entropy_options zero;
    zero.class_weights = {0.0f, 1.0f};
    CHECK_THROWS_AS(cross_entropy(x, {0, 0, 0, 0}, zero), lusnet::invalid_argument);
    cross_entropy_options smoothing;
    smoothing.label_smoothing = 1.5;
    CHECK_THROWS_AS(cross_entropy(x, {0, 1, 1, 0}, smoothing), lusnet::invalid_argument);

    CHECK_THROWS_AS(binary_cross_entropy_with_logits(x, {0, 1}), shape_error);
    CHECK_THROWS_AS(binary_cross_entropy_with_logits(x, {0, 1, 1, 0, 2, 0, 0, 0}),
                    lusnet::invalid_argument);
    bce_options three;
    three.pos_weight = {1.0f, 2.0f, 3.0f};
    CHECK_THROWS_AS(binary_cross_entropy_with_logits(x, std::vector<float>(8, 1.0f), three),
                    lusnet::invalid_argument);
}
