// Parity with PyTorch: weights, inputs, every leaf module's output and the logits written by
// tests/reference/make_reference.py (ctest runs it first as the `make_reference` fixture).
#include "catch.hpp"

#include "lusnet/lusnet.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

using namespace lusnet;

namespace {

const std::string reference_dir = LUSNET_REFERENCE_DIR;
const std::string data_dir = LUSNET_TEST_DATA_DIR;

/// Opens a reference file, failing (never skipping) when the script has not run.
safetensors_file open_reference(const std::string& relative) {
    const std::string path = reference_dir + "/" + relative;
    if (!std::filesystem::exists(path)) {
        FAIL("missing " << path << ": run tests/reference/make_reference.py --data " << data_dir
                        << " --out " << reference_dir << " (ctest does so as make_reference)");
    }
    return safetensors_file::open(path);
}

/// Largest |a - b| and largest |b|.
std::pair<double, double> compare(const float* a, const std::vector<float>& b) {
    double diff = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < b.size(); ++i) {
        diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
        scale = std::max(scale, std::abs(double(b[i])));
    }
    return {diff, scale};
}

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> parts;
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, ',');) {
        parts.push_back(part);
    }
    return parts;
}

/// Loads the architecture's reference weights, runs its reference input, and requires every
/// leaf output and the logits within `1e-4 * max |reference|`; names the first layer off.
void check_model_parity(const std::string& arch) {
    const safetensors_file ref = open_reference(arch + "/reference.safetensors");
    const model net = load_model(arch, reference_dir + "/" + arch + "/weights.safetensors");
    const tensor_info& input_info = ref.info("input");
    const std::vector<float> input_values = ref.read_f32("input");
    const shape4 shape{input_info.shape[0], input_info.shape[1], input_info.shape[2],
                       input_info.shape[3]};
    const const_tensor_view input(input_values.data(), shape);

    std::set<std::string> compared;
    std::string first_failure;
    const tensor out = net.run(input, [&](const std::string& name, const_tensor_view y) {
        const std::string key = "act." + name;
        if (!ref.contains(key)) {
            return; // nodes PyTorch has no module for (flatten)
        }
        const std::vector<float> expected = ref.read_f32(key);
        REQUIRE(y.size() == expected.size());
        const auto [diff, scale] = compare(y.data(), expected);
        if (diff > 1e-4 * scale && first_failure.empty()) {
            first_failure = name + ": max |diff| " + std::to_string(diff) + ", max |ref| " +
                            std::to_string(scale);
        }
        compared.insert(name);
    });
    INFO(arch << ": first layer off: " << first_failure);
    CHECK(first_failure.empty());
    for (const auto& node : split(ref.metadata().at("nodes"))) {
        INFO("reference module without a lusnet node: " << node);
        CHECK(compared.count(node) == 1);
    }

    const std::vector<float> logits = ref.read_f32("logits");
    REQUIRE(out.size() == logits.size());
    const auto [diff, scale] = compare(out.data(), logits);
    INFO(arch << ": logits max |diff| " << diff << ", max |ref| " << scale);
    CHECK(scale > 0.0);
    CHECK(diff <= 1e-4 * scale);
}

/// lusnet's own preprocessing of the reference frames must give PyTorch's input tensor.
void check_preprocessing_parity(const std::string& arch) {
    const safetensors_file ref = open_reference(arch + "/reference.safetensors");
    const model net = create_model(arch);
    std::vector<std::string> paths;
    for (const auto& name : split(ref.metadata().at("frames"))) {
        paths.push_back(data_dir + "/" + name);
    }
    const tensor batch = load_batch(paths, net.preprocess());
    const std::vector<float> expected = ref.read_f32("input");
    REQUIRE(batch.size() == expected.size());
    const auto [diff, scale] = compare(batch.data(), expected);
    const float min_std =
        *std::min_element(net.preprocess().std.begin(), net.preprocess().std.end());
    // One grey level of 255 after normalisation; resizing agrees far more closely.
    INFO(arch << ": preprocessing max |diff| " << diff);
    CHECK(diff <= (1.0 / 255.0) / min_std);
}

} // namespace

TEST_CASE("parity: lusnet matches PyTorch layer by layer on ultrasound frames", "[parity]") {
    check_model_parity("lusnet");
}

TEST_CASE("parity: vgg16 matches torchvision layer by layer on ultrasound frames", "[parity]") {
    check_model_parity("vgg16");
}

TEST_CASE("parity: vgg16_bn matches torchvision layer by layer on ultrasound frames", "[parity]") {
    check_model_parity("vgg16_bn");
}

TEST_CASE("parity: preprocessing of real frames matches PyTorch's resize, crop and normalise",
          "[parity]") {
    check_preprocessing_parity("lusnet");
    check_preprocessing_parity("vgg16");
}

TEST_CASE("parity: F16 and BF16 tensors convert exactly as PyTorch converts them", "[parity]") {
    const safetensors_file ref = open_reference("dtypes.safetensors");
    CHECK(ref.info("half").type == dtype::f16);
    CHECK(ref.info("bf16").type == dtype::bf16);
    for (const std::string name : {"half", "bf16"}) {
        const std::vector<float> converted = ref.read_f32(name);
        const std::vector<float> expected = ref.read_f32(name + "_as_f32");
        REQUIRE(converted.size() == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            INFO(name << "[" << i << "] = " << expected[i]);
            CHECK(std::memcmp(&converted[i], &expected[i], sizeof(float)) == 0);
        }
    }
}
