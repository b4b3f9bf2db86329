// The Grad-CAM family: each method's weights by hand, the pipeline's errors and edge cases, and
// parity with PyTorch autograd (tests/reference/make_cam_reference.py) on real frames.
#include "catch.hpp"

#include "lusnet/lusnet.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

using namespace lusnet;

namespace {

const std::string reference_dir = LUSNET_REFERENCE_DIR;

bool contains_text(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> parts;
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, ',');) {
        parts.push_back(part);
    }
    return parts;
}

/// A [1, 2, 1, 2] tensor with the given values, channel by channel.
tensor small(std::vector<float> values) {
    tensor t({1, 2, 1, 2});
    std::copy(values.begin(), values.end(), t.data());
    return t;
}

std::vector<float> values(const tensor& t) {
    return {t.data(), t.data() + t.size()};
}

/// LUS-Net with seeded random parameters (unit variances so BN stays well scaled).
model random_lus_net(unsigned seed) {
    model net = make_lus_net();
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 0.1f);
    for (auto& [key, p] : net.named_parameters()) {
        const bool variance = p->name == "running_var";
        for (auto& v : p->values) {
            v = variance ? 1.0f : dist(rng);
        }
    }
    return net;
}

tensor random_input(shape4 shape, unsigned seed) {
    tensor x(shape);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (std::size_t i = 0; i < x.size(); ++i) {
        x.data()[i] = dist(rng);
    }
    return x;
}

} // namespace

TEST_CASE("cam: each method's weights follow its definition on a hand-made example", "[cam]") {
    // Two channels of two locations: A = [[1, 3], [2, 0]], g = [[0.5, -0.5], [1, 2]].
    const tensor a = small({1, 3, 2, 0});
    const tensor g = small({0.5f, -0.5f, 1, 2});

    CHECK(values(grad_cam_weights(a, g).weights) == std::vector<float>{0.0f, 1.5f});
    CHECK(values(hires_cam_weights(a, g).weights) == values(g));
    CHECK(values(layer_cam_weights(a, g).weights) == std::vector<float>{0.5f, 0, 1, 2});

    // Grad-CAM++: channel 0 has sum(A) = 4, so a = 1 / (2 + 4 g): 1/4 at g = 0.5 (the negative
    // gradient is cut by the ReLU); channel 1 has sum(A) = 2: 1/4 at g = 1, 1/6 at g = 2.
    const tensor pp = grad_cam_plus_plus_weights(a, g).weights;
    CHECK(pp.data()[0] == Approx(0.25 * 0.5));
    CHECK(pp.data()[1] == Approx(0.25 * 1.0 + 2.0 / 6.0));

    // ReLU(0 * A0 + 1.5 * A1) = [3, 0].
    const tensor map = combine_cam(a, grad_cam_weights(a, g));
    CHECK(map.shape() == shape4{1, 1, 1, 2});
    CHECK(values(map) == std::vector<float>{3, 0});
}

TEST_CASE("cam: EigenCAM's map is the centred first principal component, turned to the mean",
          "[cam]") {
    // Channel 1 = 2 * channel 0 + 1 over three locations: the centred data lie on one line,
    // direction (1, 2) / sqrt(5), and the map is that projection, increasing with the mean.
    tensor a({1, 2, 1, 3});
    const float base[3] = {0.0f, 1.0f, 3.0f};
    for (std::size_t i = 0; i < 3; ++i) {
        a.data()[i] = base[i];
        a.data()[3 + i] = 2.0f * base[i] + 1.0f;
    }
    const cam_weights w = eigen_cam_weights(a);
    const float norm = std::sqrt(5.0f);
    CHECK(w.weights.data()[0] == Approx(1.0f / norm));
    CHECK(w.weights.data()[1] == Approx(2.0f / norm));
    const tensor map = combine_cam(a, w);
    // Centred base (-4/3, -1/3, 5/3) times sqrt(5): ReLU keeps the last.
    CHECK(map.data()[0] == 0.0f);
    CHECK(map.data()[1] == 0.0f);
    CHECK(map.data()[2] == Approx(5.0 / 3.0 * norm));
}

TEST_CASE("cam: normalisation maps each image to [0, 1] and a constant map to zeros", "[cam]") {
    tensor maps({2, 1, 1, 3});
    const std::vector<float> input{2, 4, 6, 5, 5, 5};
    std::copy(input.begin(), input.end(), maps.data());
    normalize_cam(maps.view());
    CHECK(values(maps) == std::vector<float>{0, 0.5f, 1, 0, 0, 0});
}

TEST_CASE("cam: method names parse and print, unknown names list the valid ones", "[cam]") {
    for (const cam_method m : cam_methods()) {
        CHECK(parse_cam_method(cam_method_name(m)) == m);
    }
    CHECK(cam_methods().size() == 5);
    CHECK_FALSE(cam_uses_gradients(cam_method::eigen_cam));
    try {
        parse_cam_method("scorecam");
        FAIL("expected invalid_argument");
    } catch (const invalid_argument& e) {
        CHECK(contains_text(e.what(), "scorecam"));
        CHECK(contains_text(e.what(), "gradcam++"));
    }
}

TEST_CASE("cam: heatmaps have the input's size, lie in [0, 1] and name their targets", "[cam]") {
    const model net = random_lus_net(3);
    const tensor x = random_input({3, 1, 64, 80}, 4);
    for (const cam_method m : cam_methods()) {
        cam_options options;
        options.method = m;
        options.targets = {1, predicted_class, 0};
        const cam_result r = grad_cam(net, x, options);
        INFO(cam_method_name(m));
        REQUIRE(r.heatmaps.shape() == shape4{3, 1, 64, 80});
        const auto [lo, hi] =
            std::minmax_element(r.heatmaps.data(), r.heatmaps.data() + r.heatmaps.size());
        CHECK(*lo >= 0.0f);
        CHECK(*hi <= 1.0f);
        CHECK((*hi == 1.0f || *hi == 0.0f)); // 0 only for a map that is flat after ReLU
        CHECK(r.layer == "features.block4b.relu");
        REQUIRE(r.targets.size() == 3);
        CHECK(r.targets[0] == 1);
        CHECK(r.targets[1] == (r.logits(1, 1) > r.logits(1, 0) ? 1u : 0u));
        CHECK(r.targets[2] == 0);
    }
}

TEST_CASE("cam: an image explained in a batch equals the image explained alone", "[cam]") {
    const model net = random_lus_net(5);
    const tensor x = random_input({2, 1, 48, 48}, 6);
    cam_options options;
    options.targets = {0, 1};
    const cam_result batch = grad_cam(net, x, options);
    options.targets = {1};
    const cam_result alone = grad_cam(net, x.view().batch(1, 1), options);
    double worst = 0.0;
    for (std::size_t i = 0; i < alone.heatmaps.size(); ++i) {
        worst = std::max(worst,
                         double(std::abs(alone.heatmaps.data()[i] - batch.heatmaps.sample(1)[i])));
    }
    CHECK(worst <= 1e-5);
}

TEST_CASE("cam: a constant image gives finite heatmaps, all zeros where the map is flat", "[cam]") {
    const model net = random_lus_net(7);
    const tensor x({1, 1, 32, 32}, 0.25f);
    for (const cam_method m : cam_methods()) {
        cam_options options;
        options.method = m;
        const cam_result r = grad_cam(net, x, options);
        INFO(cam_method_name(m));
        const bool finite = std::all_of(r.heatmaps.data(), r.heatmaps.data() + r.heatmaps.size(),
                                        [](float v) { return std::isfinite(v); });
        CHECK(finite);
    }
    // A model whose target activation is constant (no padding effects: a 1x1 convolution
    // followed by ReLU) gives a flat map, hence zeros rather than NaN.
    model flat("flat", 1);
    flat.emplace<conv2d>("conv", conv2d_options(1, 2, 1)).weight().values = {1.0f, -1.0f};
    flat.emplace<relu>("relu");
    flat.emplace<adaptive_avg_pool2d>("pool", size2(1));
    flat.emplace<flatten>("flatten");
    flat.emplace<linear>("fc", linear_options(2, 2)).weight().values = {1, 0, 0, 1};
    flat.set_default_cam_layer("relu");
    for (const cam_method m : cam_methods()) {
        cam_options options;
        options.method = m;
        const cam_result r = grad_cam(flat, x, options);
        INFO(cam_method_name(m));
        CHECK(std::all_of(r.heatmaps.data(), r.heatmaps.data() + r.heatmaps.size(),
                          [](float v) { return v == 0.0f; }));
    }
}

TEST_CASE("cam: an unknown layer is a key_error listing the valid names", "[cam]") {
    const model net = random_lus_net(8);
    cam_options options;
    options.layer = "features.block9.relu";
    try {
        grad_cam(net, tensor({1, 1, 32, 32}), options);
        FAIL("expected key_error");
    } catch (const key_error& e) {
        CHECK(contains_text(e.what(), "features.block9.relu"));
        CHECK(contains_text(e.what(), "features.block4b.relu"));
        CHECK(contains_text(e.what(), "classifier"));
    }
}

TEST_CASE("cam: a target class out of range or a wrong target count is invalid_argument", "[cam]") {
    const model net = random_lus_net(9);
    const tensor x({2, 1, 32, 32});
    cam_options options;
    options.targets = {0, 2};
    try {
        grad_cam(net, x, options);
        FAIL("expected invalid_argument");
    } catch (const invalid_argument& e) {
        CHECK(contains_text(e.what(), "[0, 2)"));
        CHECK(contains_text(e.what(), "got 2"));
    }
    options.targets = {0, 1, 1};
    CHECK_THROWS_AS(grad_cam(net, x, options), invalid_argument);
    options.targets = {};
    CHECK_THROWS_AS(grad_cam(net, tensor({1, 3, 32, 32}), options), shape_error);
}

TEST_CASE("cam: any node can be explained, the input included", "[cam]") {
    const model net = random_lus_net(10);
    const tensor x = random_input({1, 1, 40, 40}, 11);
    for (const std::string layer : {"features.stem.conv", "features.pool2", "input"}) {
        cam_options options;
        options.layer = layer;
        options.method = cam_method::layer_cam;
        const cam_result r = grad_cam(net, x, options);
        INFO(layer);
        CHECK(r.heatmaps.shape() == shape4{1, 1, 40, 40});
    }
}

// ---------------------------------------------------------------------------------------------
// Parity with PyTorch autograd

namespace {

/// Compares every case and method of OUT/<arch>/cam.safetensors with lusnet's heatmaps;
/// prints the largest difference per method.
void check_cam_parity(const std::string& arch) {
    const std::string path = reference_dir + "/" + arch + "/cam.safetensors";
    if (!std::filesystem::exists(path)) {
        FAIL("missing " << path << ": run tests/reference/make_reference.py (ctest runs it)");
    }
    const safetensors_file ref = safetensors_file::open(path);
    const model net = load_model(arch, reference_dir + "/" + arch + "/weights.safetensors");
    const auto& meta = ref.metadata();
    const std::vector<float> input_values = ref.read_f32("input");
    const auto& dims = ref.info("input").shape;
    const const_tensor_view input(input_values.data(), {dims[0], dims[1], dims[2], dims[3]});

    for (const std::string& method : split(meta.at("methods"))) {
        double worst = 0.0;
        for (const std::string& name : split(meta.at("cases"))) {
            const std::vector<std::string> images = split(meta.at(name + ".images"));
            tensor batch({images.size(), dims[1], dims[2], dims[3]});
            for (std::size_t i = 0; i < images.size(); ++i) {
                const const_tensor_view one = input.batch(std::stoul(images[i]), 1);
                std::copy(one.data(), one.data() + one.size(), batch.sample(i));
            }
            cam_options options;
            options.method = parse_cam_method(method);
            options.layer = meta.at("layer");
            for (const std::string& t : split(meta.at(name + ".targets"))) {
                options.targets.push_back(std::stoul(t));
            }
            const cam_result r = grad_cam(net, batch, options);
            const std::vector<float> expected = ref.read_f32(name + "." + method);
            REQUIRE(r.heatmaps.size() == expected.size());
            double diff = 0.0;
            for (std::size_t i = 0; i < expected.size(); ++i) {
                diff = std::max(diff, std::abs(double(r.heatmaps.data()[i]) - expected[i]));
            }
            INFO(arch << " " << method << " " << name << ": max |diff| " << diff);
            CHECK(diff <= 1e-4);
            worst = std::max(worst, diff);
        }
        WARN(arch << " " << method << ": max |diff| over all cases " << worst);
    }
}

} // namespace

TEST_CASE("parity: lusnet's five CAM methods match PyTorch autograd on ultrasound frames",
          "[parity][cam]") {
    check_cam_parity("lusnet");
}

TEST_CASE("parity: vgg16's five CAM methods match PyTorch autograd on ultrasound frames",
          "[parity][cam]") {
    check_cam_parity("vgg16");
}
