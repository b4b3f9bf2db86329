// Tests of include/lusnet/train/optimizer.hpp: SGD (momentum, dampening, Nesterov, weight
// decay) and AdamW over several steps against torch.optim, gradient clipping against
// clip_grad_norm_, frozen parameters, and the rejection of bad settings.
#include "catch.hpp"
#include "train_reference.hpp"

#include "lusnet/io/transforms.hpp"
#include "lusnet/models/registry.hpp"
#include "lusnet/train/loss.hpp"
#include "lusnet/train/optimizer.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace lusnet;

namespace {

/// Parity tolerance relative to the largest reference value. The updates round like
/// PyTorch's but may fuse a multiply-add where PyTorch does not (or the reverse), an ulp per
/// operation.
constexpr double tolerance = 1e-5;

/// Two parameters and their gradient buffers, as the reference script makes them.
struct toy_parameters {
    parameter w{"weight", {5, 3}};
    parameter b{"bias", {5}};
    std::vector<float> grad_w = std::vector<float>(15);
    std::vector<float> grad_b = std::vector<float>(5);

    std::vector<trainable_parameter> list() {
        return {{"w", &w, grad_w.data()}, {"b", &b, grad_b.data()}};
    }
};

std::unique_ptr<optimizer> make_optimizer(const nlohmann::json& spec,
                                          std::vector<trainable_parameter> params) {
    if (spec.at("kind") == "sgd") {
        sgd_options o;
        o.lr = spec.at("lr");
        o.momentum = spec.value("momentum", 0.0);
        o.dampening = spec.value("dampening", 0.0);
        o.weight_decay = spec.value("weight_decay", 0.0);
        o.nesterov = spec.value("nesterov", false);
        return std::make_unique<sgd>(std::move(params), o);
    }
    adamw_options o;
    o.lr = spec.at("lr");
    o.beta1 = spec.value("beta1", 0.9);
    o.beta2 = spec.value("beta2", 0.999);
    o.eps = spec.value("eps", 1e-8);
    o.weight_decay = spec.value("weight_decay", 1e-2);
    return std::make_unique<adamw>(std::move(params), o);
}

/// Runs one reference case and returns the largest relative difference of the parameters over
/// all steps and of the final state.
double run_case(const safetensors_file& ref, const std::string& name, std::size_t steps) {
    const nlohmann::json spec = train_reference::spec(ref, name);
    toy_parameters toy;
    ref.read_f32("init.w", toy.w.data(), toy.w.size());
    ref.read_f32("init.b", toy.b.data(), toy.b.size());
    std::unique_ptr<optimizer> opt = make_optimizer(spec, toy.list());

    double worst = 0.0;
    for (std::size_t t = 0; t < steps; ++t) {
        if (spec.contains("lrs")) {
            opt->set_learning_rate(spec.at("lrs").at(t).get<double>());
        }
        const std::string step = std::to_string(t);
        ref.read_f32("grad" + step + ".w", toy.grad_w.data(), toy.grad_w.size());
        ref.read_f32("grad" + step + ".b", toy.grad_b.data(), toy.grad_b.size());
        opt->step();
        for (const auto& [key, p] : {std::make_pair("w", &toy.w), std::make_pair("b", &toy.b)}) {
            const std::vector<float> expected = ref.read_f32(name + ".step" + step + "." + key);
            worst = std::max(worst, train_reference::relative_difference(p->data(), expected.data(),
                                                                         expected.size()));
        }
    }
    CHECK(opt->steps() == steps);

    const std::vector<std::string> slots = opt->state_names();
    for (std::size_t k = 0; k < opt->parameters().size(); ++k) {
        for (std::size_t s = 0; s < slots.size(); ++s) {
            const std::string key = name + ".state." + opt->parameters()[k].name + "." + slots[s];
            REQUIRE(ref.contains(key));
            const std::vector<float> expected = ref.read_f32(key);
            REQUIRE(opt->state(k, s).size() == expected.size());
            worst = std::max(worst, train_reference::relative_difference(
                                        opt->state(k, s).data(), expected.data(), expected.size()));
        }
    }
    return worst;
}

void check_cases(const std::string& kind) {
    const safetensors_file ref = train_reference::open("optimizers.safetensors");
    const auto steps = static_cast<std::size_t>(std::stoul(ref.metadata().at("steps")));
    std::size_t compared = 0;
    for (const std::string& name : train_reference::list(ref, "cases")) {
        if (train_reference::spec(ref, name).at("kind") != kind) {
            continue;
        }
        const double difference = run_case(ref, name, steps);
        INFO(name << ": " << steps << " steps, largest relative difference " << difference);
        CHECK(difference <= tolerance);
        ++compared;
    }
    CHECK(compared >= 4);
}

} // namespace

TEST_CASE("sgd: momentum, dampening, nesterov and weight decay match PyTorch over six steps",
          "[parity][train]") {
    check_cases("sgd");
}

TEST_CASE("adamw: decoupled weight decay and bias correction match PyTorch over six steps",
          "[parity][train]") {
    check_cases("adamw");
}

TEST_CASE("clip_grad_norm: matches PyTorch whether or not it clips", "[parity][train]") {
    const safetensors_file ref = train_reference::open("optimizers.safetensors");
    for (const std::string& name : train_reference::list(ref, "clip_cases")) {
        const double max_norm = train_reference::spec(ref, name).at("max_norm");
        parameter a{"a", {4, 3}}, b{"b", {6}};
        std::vector<float> grad_a = ref.read_f32(name + ".before.0");
        std::vector<float> grad_b = ref.read_f32(name + ".before.1");
        const double total =
            clip_grad_norm({{"a", &a, grad_a.data()}, {"b", &b, grad_b.data()}}, max_norm);

        const float expected_total = ref.read_f32(name + ".total")[0];
        const std::vector<float> after_a = ref.read_f32(name + ".after.0");
        const std::vector<float> after_b = ref.read_f32(name + ".after.1");
        const double diff = std::max(
            train_reference::relative_difference(grad_a.data(), after_a.data(), after_a.size()),
            train_reference::relative_difference(grad_b.data(), after_b.data(), after_b.size()));
        INFO(name << ": total " << total << " vs " << expected_total << ", gradients " << diff);
        CHECK(total == Approx(expected_total).epsilon(1e-6));
        CHECK(diff <= tolerance);
    }
}

TEST_CASE("optimizer: frozen parameters stay bit-identical while the rest train", "[train]") {
    model net = create_model("lusnet");
    std::vector<std::vector<float>> before;
    for (const auto& [key, p] : net.named_parameters()) {
        before.emplace_back(p->values.begin(), p->values.end());
    }

    const auto learnable = learnable_parameters(net, {"features."});
    REQUIRE(!learnable.empty());
    std::vector<std::vector<float>> grads;
    std::vector<trainable_parameter> list;
    std::mt19937 rng(3);
    std::normal_distribution<float> normal;
    for (const auto& [key, p] : learnable) {
        INFO(key);
        CHECK(key.rfind("features.", 0) != 0);
        grads.emplace_back(p->size());
        std::generate(grads.back().begin(), grads.back().end(), [&] { return normal(rng); });
    }
    for (std::size_t i = 0; i < learnable.size(); ++i) {
        list.push_back({learnable[i].first, learnable[i].second, grads[i].data()});
    }
    adamw opt(list, adamw_options{});
    for (int step = 0; step < 3; ++step) {
        opt.step();
    }

    std::size_t index = 0;
    for (const auto& [key, p] : net.named_parameters()) {
        const bool same = std::equal(p->values.begin(), p->values.end(), before[index++].begin());
        INFO(key);
        CHECK(same == (key.rfind("features.", 0) == 0));
    }
    CHECK_THROWS_AS(learnable_parameters(net, {"feature."}), key_error);
}

TEST_CASE("optimizer: backward, loss and SGD on the LUS-Net head lower the loss step by step",
          "[train]") {
    // The pieces a fit loop wires together: a frozen backbone, the head's gradients from the
    // model's backward pass of the loss gradient, and optimiser steps.
    // PyTorch's initialisation, from the model reference: lusnet's own default is all zeros.
    const std::string weights = std::string(LUSNET_REFERENCE_DIR) + "/lusnet/weights.safetensors";
    if (!std::filesystem::exists(weights)) {
        FAIL("missing " << weights << ": run tests/reference/make_reference.py (ctest does)");
    }
    model net = load_model("lusnet", weights);
    std::vector<std::string> paths;
    for (const char* name :
         {"Cov_convex_volpecelli_sonographic_v1_f01.png", "Reg_Image_181206_crop_f01.png",
          "Pneu_prospective_file3_f01.png", "Reg_pat1Image_132943_f01.png"}) {
        paths.push_back(std::string(LUSNET_TEST_DATA_DIR) + "/" + name);
    }
    const tensor x = load_batch(paths, net.preprocess());
    const std::vector<std::size_t> labels{1, 0, 1, 0};

    parameter_gradients grads;
    // The features of a randomly initialised backbone are large and alike from frame to frame,
    // so the head takes small steps; what counts is that every step goes downhill.
    sgd_options options;
    options.lr = 0.1;
    options.momentum = 0.9;
    sgd opt(track_learnable(net, grads, {"features."}), options);
    REQUIRE(opt.parameters().size() == 2); // classifier.weight and classifier.bias

    std::vector<double> losses;
    for (int step = 0; step < 8; ++step) {
        const forward_tape tape = net.record(x, "dropout", true);
        const loss_result loss = cross_entropy(tape.output(), labels);
        losses.push_back(loss.value);
        opt.zero_grad();
        net.backward(tape, loss.grad, &grads);
        opt.step();
    }
    for (std::size_t step = 1; step < losses.size(); ++step) {
        INFO("step " << step << ": loss " << losses[step - 1] << " -> " << losses[step]);
        CHECK(losses[step] < losses[step - 1]);
    }
    CHECK(losses.back() < 0.995 * losses.front());
}

TEST_CASE("optimizer: running statistics are never learnable", "[train]") {
    model net = create_model("lusnet");
    for (const auto& [key, p] : learnable_parameters(net)) {
        INFO(key);
        CHECK(p->name != "running_mean");
        CHECK(p->name != "running_var");
    }
}

TEST_CASE("optimizer: zero_grad clears every gradient buffer", "[train]") {
    toy_parameters toy;
    std::fill(toy.grad_w.begin(), toy.grad_w.end(), 3.0f);
    std::fill(toy.grad_b.begin(), toy.grad_b.end(), -1.0f);
    sgd opt(toy.list(), sgd_options{});
    opt.zero_grad();
    CHECK(std::all_of(toy.grad_w.begin(), toy.grad_w.end(), [](float g) { return g == 0.0f; }));
    CHECK(std::all_of(toy.grad_b.begin(), toy.grad_b.end(), [](float g) { return g == 0.0f; }));
}

TEST_CASE("optimizer: bad parameters and settings are rejected", "[train]") {
    toy_parameters toy;
    auto twice = toy.list();
    twice[1].name = "w";
    CHECK_THROWS_AS(sgd(twice, sgd_options{}), lusnet::invalid_argument);
    auto null_grad = toy.list();
    null_grad[0].grad = nullptr;
    CHECK_THROWS_AS(adamw(null_grad, adamw_options{}), lusnet::invalid_argument);

    sgd_options nesterov;
    nesterov.nesterov = true;
    CHECK_THROWS_AS(sgd(toy.list(), nesterov), lusnet::invalid_argument);
    sgd_options negative;
    negative.lr = -0.1;
    CHECK_THROWS_AS(sgd(toy.list(), negative), lusnet::invalid_argument);
    adamw_options beta;
    beta.beta2 = 1.0;
    CHECK_THROWS_AS(adamw(toy.list(), beta), lusnet::invalid_argument);
    adamw opt(toy.list(), adamw_options{});
    CHECK_THROWS_AS(opt.set_learning_rate(-1.0), lusnet::invalid_argument);
    CHECK_THROWS_AS(opt.set_hyperparameters({{"lr", 0.1}}), lusnet::invalid_argument);
    CHECK(opt.learning_rate() == 1e-3);
    CHECK_THROWS_AS(clip_grad_norm(toy.list(), -1.0), lusnet::invalid_argument);
}
