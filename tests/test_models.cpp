#include "catch.hpp"

#include "lusnet/lusnet.hpp"

#include <filesystem>

using namespace lusnet;

namespace {

bool contains_text(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// A fresh file path in a per-test temporary folder.
std::string temp_path(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / "lusnet_test_models";
    std::filesystem::create_directories(dir);
    return (dir / name).string();
}

} // namespace

TEST_CASE("vgg16: torchvision's node names and parameter count", "[vgg]") {
    const model net = make_vgg16(1000);
    const auto names = net.layer_names();
    REQUIRE(names.size() == 31 + 2 + 7);
    CHECK(names.front() == "features.0");
    CHECK(names[30] == "features.30");
    CHECK(names[31] == "avgpool");
    CHECK(names.back() == "classifier.6");
    CHECK(net.at("features.28").kind() == std::string("Conv2d"));
    CHECK(net.at("features.30").kind() == std::string("MaxPool2d"));
    // torchvision.models.vgg16(): 138,357,544 parameters; 15.47 GMAC at 224x224.
    CHECK(net.parameter_count() == 138357544);
    CHECK(net.macs({1, 3, 224, 224}) == 15470264320);
    CHECK(net.num_classes() == 1000);
    CHECK(net.default_cam_layer() == "features.29");
}

TEST_CASE("vgg16_bn: batch norm shifts the indices, any class count", "[vgg]") {
    const model net = make_vgg16(5, true);
    CHECK(net.arch() == "vgg16_bn");
    CHECK(net.at("features.1").kind() == std::string("BatchNorm2d"));
    CHECK(net.at("features.40").kind() == std::string("Conv2d"));
    CHECK(net.at("features.43").kind() == std::string("MaxPool2d"));
    CHECK(net.num_classes() == 5);
    // torchvision.models.vgg16_bn(num_classes=5): 138,365,992 - 4097 * 995 parameters.
    CHECK(net.parameter_count() == 138365992 - 4097 * 995);
}

TEST_CASE("lusnet: within 1.5 M parameters and 1 GMAC, 14x14 at the CAM layer", "[lusnet]") {
    const model net = make_lus_net();
    CHECK(net.in_channels() == 1);
    CHECK(net.num_classes() == 2);
    CHECK(net.parameter_count() == 1170762);
    CHECK(net.parameter_count() <= 1500000);
    const std::size_t macs = net.macs({1, 1, 224, 224});
    CHECK(macs <= 1000000000);
    CHECK(macs == 609638400 + 512);

    std::size_t cam_side = 0;
    tensor x({1, 1, 224, 224}, 0.5f);
    net.run(x, [&](const std::string& name, const_tensor_view out) {
        if (name == net.default_cam_layer()) {
            CHECK(out.shape() == shape4{1, 256, 14, 14});
            cam_side = out.shape().h;
        }
    });
    CHECK(cam_side == 14);
}

TEST_CASE("model: forward returns [N, classes] and predict rows sum to one", "[model]") {
    lus_net_options options;
    options.num_classes = 3;
    const model net = make_lus_net(options);
    tensor x({2, 1, 64, 80}, 0.25f);
    const class_scores logits = net.forward(x);
    REQUIRE(logits.shape(0) == 2);
    REQUIRE(logits.shape(1) == 3);
    const class_scores p = net.predict(x);
    for (std::size_t n = 0; n < 2; ++n) {
        CHECK(p(n, 0) + p(n, 1) + p(n, 2) == Approx(1.0f));
    }
}

TEST_CASE("model: wrong channel count names the expected input shape", "[model]") {
    const model net = make_lus_net();
    try {
        net.forward(tensor({1, 3, 224, 224}));
        FAIL("expected shape_error");
    } catch (const shape_error& e) {
        CHECK(contains_text(e.what(), "[N >= 1, 1, H, W]"));
        CHECK(contains_text(e.what(), "[1, 3, 224, 224]"));
    }
    CHECK_THROWS_AS(net.forward(tensor({0, 1, 224, 224})), shape_error);
}

TEST_CASE("model: an input too small for the network names the first layer that fails", "[model]") {
    const model net = make_lus_net();
    try {
        net.forward(tensor({1, 1, 8, 8}));
        FAIL("expected shape_error");
    } catch (const shape_error& e) {
        CHECK(contains_text(e.what(), "features.pool3"));
    }
}

TEST_CASE("model: unknown layer and architecture names list the valid ones", "[model]") {
    const model net = make_lus_net();
    try {
        net.at("features.block9");
        FAIL("expected key_error");
    } catch (const key_error& e) {
        CHECK(contains_text(e.what(), "features.block9"));
        CHECK(contains_text(e.what(), "features.block4b.relu"));
    }
    try {
        create_model("resnet9");
        FAIL("expected key_error");
    } catch (const key_error& e) {
        CHECK(contains_text(e.what(), "vgg16_bn"));
        CHECK(contains_text(e.what(), "lusnet"));
    }
}

TEST_CASE("model: nodes read named inputs, so branches and joins work", "[model]") {
    model net("branchy", 2);
    net.add("a", std::make_unique<relu>(), {model::input_name});
    net.add("b", std::make_unique<sigmoid>(), {model::input_name});
    net.add("join", std::make_unique<concat>(), {"a", "b", "a"});
    net.add("sum", std::make_unique<add>(), {"join", "join"});
    tensor x({1, 2, 1, 1});
    x.data()[0] = -1.0f;
    x.data()[1] = 2.0f;
    const tensor y = net.run(x);
    REQUIRE(y.shape() == shape4{1, 6, 1, 1});
    CHECK(y.data()[0] == 0.0f);
    CHECK(y.data()[1] == 4.0f);
    CHECK(y.data()[2] == Approx(2.0f / (1.0f + std::exp(1.0f))));
    CHECK_THROWS_AS(net.add("late", std::make_unique<relu>(), {"missing"}), key_error);
    CHECK_THROWS_AS(net.add("a", std::make_unique<relu>()), invalid_argument);
}

TEST_CASE("weights: a saved model loads back identically and keeps its metadata", "[weights]") {
    model net = make_lus_net();
    float v = 0.0f;
    for (auto& [key, p] : net.named_parameters()) {
        for (auto& x : p->values) {
            x = (v += 0.001f);
        }
    }
    const std::string path = temp_path("roundtrip.safetensors");
    save_weights(net, path, {{"note", "test"}});

    const safetensors_file file = safetensors_file::open(path);
    CHECK(file.metadata().at("arch") == "lusnet");
    CHECK(file.metadata().at("num_classes") == "2");
    CHECK(file.metadata().at("note") == "test");
    const model loaded = load_model("lusnet", path);
    const auto a = net.named_parameters();
    const auto b = loaded.named_parameters();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].first == b[i].first);
        CHECK(a[i].second->values == b[i].second->values);
    }
}

TEST_CASE("weights: the class count is read from the head when not given", "[weights]") {
    lus_net_options options;
    options.num_classes = 4;
    const std::string path = temp_path("four.safetensors");
    save_weights(make_lus_net(options), path);
    CHECK(load_model("lusnet", path).num_classes() == 4);
    CHECK_THROWS_AS(load_model("lusnet", path, 2), format_error);
}

TEST_CASE("weights: missing, unexpected and mis-shaped keys are listed in one error", "[weights]") {
    model net = make_lus_net();
    std::vector<tensor_entry> entries;
    std::vector<float> wrong(7, 0.0f);
    for (const auto& [key, p] : net.named_parameters()) {
        if (key == "features.stem.conv.weight") {
            continue; // missing
        }
        if (key == "classifier.bias") {
            entries.push_back({key, {7}, wrong.data()}); // mis-shaped
            continue;
        }
        entries.push_back({key, p->shape, p->data()});
    }
    entries.push_back({"features.stem.bn.num_batches_tracked", {1}, wrong.data()}); // ignored
    entries.push_back({"head.weight", {7}, wrong.data()});                          // unexpected
    const std::string path = temp_path("broken.safetensors");
    save_safetensors(path, entries);

    try {
        load_weights(net, path);
        FAIL("expected format_error");
    } catch (const format_error& e) {
        const std::string text = e.what();
        CHECK(contains_text(text, path));
        CHECK(contains_text(text, "missing features.stem.conv.weight"));
        CHECK(contains_text(text, "unexpected head.weight"));
        CHECK(contains_text(text, "mis-shaped classifier.bias (expected [2], got [7])"));
        CHECK(!contains_text(text, "num_batches_tracked"));
    }
}

TEST_CASE("weights: a missing weights file is an io_error naming it", "[weights]") {
    try {
        load_model("lusnet", "/nonexistent/lusnet.safetensors");
        FAIL("expected io_error");
    } catch (const io_error& e) {
        CHECK(contains_text(e.what(), "/nonexistent/lusnet.safetensors"));
    }
}
