// Tests of include/lusnet/train/checkpoint.hpp: optimiser state round trips that continue
// training exactly, the checkpoint's weights file and metadata, and mismatched files.
#include "catch.hpp"
#include "scratch_dir.hpp"

#include "lusnet/models/registry.hpp"
#include "lusnet/train/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace lusnet;

namespace {

/// Two parameters with seeded values and a gradient per step.
struct toy_model {
    parameter w{"weight", {4, 3}};
    parameter b{"bias", {4}};
    std::vector<float> grad_w = std::vector<float>(12);
    std::vector<float> grad_b = std::vector<float>(4);

    toy_model() {
        std::mt19937 rng(5);
        std::normal_distribution<float> normal;
        std::generate(w.values.begin(), w.values.end(), [&] { return normal(rng); });
        std::generate(b.values.begin(), b.values.end(), [&] { return normal(rng); });
    }
    std::vector<trainable_parameter> list(const std::string& prefix = "") {
        return {{prefix + "w", &w, grad_w.data()}, {prefix + "b", &b, grad_b.data()}};
    }
    /// Sets the gradients of step `t`, the same for every toy model.
    void gradients(int t) {
        std::mt19937 rng(100 + t);
        std::normal_distribution<float> normal;
        std::generate(grad_w.begin(), grad_w.end(), [&] { return normal(rng); });
        std::generate(grad_b.begin(), grad_b.end(), [&] { return normal(rng); });
    }
    bool same_values(const toy_model& other) const {
        return w.values == other.w.values && b.values == other.b.values;
    }
};

/// Trains `a` for 5 steps straight and `b` for 3 steps, saves, loads into `fresh` (built with
/// other settings), continues 2 steps, and requires bit-identical parameters and state.
template <class Make>
void check_resume(const Make& make) {
    scratch_dir dir;
    toy_model straight, interrupted, resumed;
    std::unique_ptr<optimizer> a = make(straight, false);
    std::unique_ptr<optimizer> b = make(interrupted, false);
    for (int t = 0; t < 5; ++t) {
        straight.gradients(t);
        a->step();
    }
    for (int t = 0; t < 3; ++t) {
        interrupted.gradients(t);
        b->step();
    }
    save_optimizer_state(*b, dir.file("opt.safetensors"));

    resumed.w.values = interrupted.w.values;
    resumed.b.values = interrupted.b.values;
    std::unique_ptr<optimizer> c = make(resumed, true);
    load_optimizer_state(*c, dir.file("opt.safetensors"));
    CHECK(c->steps() == 3);
    CHECK(c->hyperparameters() == b->hyperparameters());
    for (int t = 3; t < 5; ++t) {
        resumed.gradients(t);
        c->step();
    }

    CHECK(resumed.same_values(straight));
    for (std::size_t k = 0; k < 2; ++k) {
        for (std::size_t s = 0; s < a->state_names().size(); ++s) {
            CHECK(c->state(k, s) == a->state(k, s));
        }
    }
}

/// Every learnable parameter of `net` with a gradient of 0.01 held in `grads`.
std::vector<trainable_parameter> trainables(model& net, std::vector<std::vector<float>>& grads) {
    const auto learnable = learnable_parameters(net);
    grads.clear();
    for (const auto& [key, p] : learnable) {
        grads.emplace_back(p->size(), 0.01f);
    }
    std::vector<trainable_parameter> list;
    for (std::size_t i = 0; i < learnable.size(); ++i) {
        list.push_back({learnable[i].first, learnable[i].second, grads[i].data()});
    }
    return list;
}

} // namespace

TEST_CASE("optimizer state: adamw resumes from a file exactly where it stopped", "[train]") {
    check_resume([](toy_model& m, bool other_settings) -> std::unique_ptr<optimizer> {
        adamw_options o;
        o.lr = other_settings ? 0.5 : 3e-3;
        o.beta1 = other_settings ? 0.5 : 0.85;
        o.weight_decay = 0.05;
        return std::make_unique<adamw>(m.list(), o);
    });
}

TEST_CASE("optimizer state: sgd with nesterov momentum resumes from a file exactly", "[train]") {
    check_resume([](toy_model& m, bool other_settings) -> std::unique_ptr<optimizer> {
        sgd_options o;
        o.lr = other_settings ? 1.0 : 0.05;
        o.momentum = 0.9;
        o.nesterov = true;
        o.weight_decay = 1e-3;
        return std::make_unique<sgd>(m.list(), o);
    });
}

TEST_CASE("optimizer state: the file holds one tensor per parameter and buffer", "[train]") {
    scratch_dir dir;
    toy_model m;
    adamw opt(m.list("head."), adamw_options{});
    save_optimizer_state(opt, dir.file("before.safetensors"));
    CHECK(safetensors_file::open(dir.file("before.safetensors")).tensors().empty());

    m.gradients(0);
    opt.step();
    save_optimizer_state(opt, dir.file("opt.safetensors"));
    const safetensors_file file = safetensors_file::open(dir.file("opt.safetensors"));
    std::set<std::string> names;
    for (const tensor_info& info : file.tensors()) {
        names.insert(info.name);
    }
    CHECK(names == std::set<std::string>{"head.w.exp_avg", "head.w.exp_avg_sq", "head.b.exp_avg",
                                         "head.b.exp_avg_sq"});
    CHECK(file.info("head.w.exp_avg").shape == std::vector<std::size_t>{4, 3});
    CHECK(file.metadata().at("optimizer") == "AdamW");
    CHECK(file.metadata().at("step") == "1");
    CHECK(optimizer_state_path("runs/fold1/best.safetensors") ==
          "runs/fold1/best.optim.safetensors");
    CHECK(optimizer_state_path("weights") == "weights.optim.safetensors");
}

TEST_CASE("optimizer state: a file of another optimiser or other parameters is refused",
          "[train]") {
    scratch_dir dir;
    toy_model m;
    sgd_options momentum;
    momentum.momentum = 0.9;
    sgd trained(m.list(), momentum);
    m.gradients(0);
    trained.step();
    save_optimizer_state(trained, dir.file("sgd.safetensors"));

    adamw other_kind(m.list(), adamw_options{});
    CHECK_THROWS_AS(load_optimizer_state(other_kind, dir.file("sgd.safetensors")), format_error);

    sgd_options plain;
    plain.lr = 0.25;
    sgd renamed(m.list("backbone."), plain);
    try {
        load_optimizer_state(renamed, dir.file("sgd.safetensors"));
        FAIL("expected a format_error");
    } catch (const format_error& caught) {
        const std::string message = caught.what();
        CHECK(message.find("missing backbone.w.momentum_buffer") != std::string::npos);
        CHECK(message.find("unexpected w.momentum_buffer") != std::string::npos);
    }
    CHECK(renamed.learning_rate() == 0.25);
    CHECK(renamed.steps() == 0);
    CHECK_THROWS_AS(load_optimizer_state(renamed, dir.file("absent.safetensors")), io_error);
}

TEST_CASE("checkpoint: weights, metadata and optimiser state round trip", "[train]") {
    scratch_dir dir;
    model net = create_model("lusnet");
    std::mt19937 rng(9);
    std::normal_distribution<float> normal;
    for (const auto& [key, p] : net.named_parameters()) {
        std::generate(p->values.begin(), p->values.end(), [&] { return normal(rng); });
    }
    std::vector<std::vector<float>> grads, loaded_grads;
    adamw opt(trainables(net, grads), adamw_options{});
    opt.step();

    checkpoint_info info;
    info.epoch = 7;
    info.classes = {"normal", "abnormal"};
    info.metrics = {{"val_auc", 0.875}, {"val_loss", 0.3125}, {"undefined", std::nan("")}};
    const std::string path = dir.file("best.safetensors");
    save_checkpoint(net, &opt, path, info);

    // The weights file holds exactly the state dict, so PyTorch's strict loading accepts it.
    // TODO(#5): load it in PyTorch itself (load_file + load_state_dict(strict=True)) and compare
    // logits; this test checks the key set only (done once by hand for LUS-Net: all keys matched,
    // same logits).
    const safetensors_file weights = safetensors_file::open(path);
    std::set<std::string> keys, expected;
    for (const tensor_info& t : weights.tensors()) {
        keys.insert(t.name);
    }
    for (const auto& [key, p] : net.named_parameters()) {
        expected.insert(key);
    }
    CHECK(keys == expected);
    CHECK(weights.metadata().at("arch") == "lusnet");
    CHECK(weights.metadata().at("optimizer_state") == "best.optim.safetensors");
    CHECK(nlohmann::json::parse(weights.metadata().at("preprocessing")).at("mode") == "gray");

    model loaded = create_model("lusnet");
    loaded.set_preprocess(preprocessing{});
    adamw resumed(trainables(loaded, loaded_grads), adamw_options{});
    const checkpoint_info got = load_checkpoint(loaded, &resumed, path);
    CHECK(got.epoch == 7);
    CHECK(got.classes == info.classes);
    CHECK(got.metrics.at("val_auc") == 0.875);
    CHECK(got.metrics.at("val_loss") == 0.3125);
    CHECK(std::isnan(got.metrics.at("undefined")));
    CHECK(loaded.preprocess().mode == net.preprocess().mode);
    CHECK(loaded.preprocess().mean == net.preprocess().mean);
    CHECK(loaded.preprocess().std == net.preprocess().std);
    CHECK(loaded.preprocess().resize == net.preprocess().resize);
    CHECK(resumed.steps() == 1);
    const auto original = net.named_parameters();
    const auto restored = loaded.named_parameters();
    for (std::size_t i = 0; i < original.size(); ++i) {
        INFO(original[i].first);
        CHECK(original[i].second->values == restored[i].second->values);
    }

    model vgg = create_model("vgg16", 2);
    CHECK_THROWS_AS(load_checkpoint(vgg, nullptr, path), format_error);
}
