// Tests of include/lusnet/train/schedule.hpp: the closed forms against PyTorch's (recursive)
// schedulers epoch by epoch, and the rejection of bad settings.
#include "catch.hpp"
#include "train_reference.hpp"

#include "lusnet/train/schedule.hpp"

#include <cmath>
#include <string>
#include <vector>

using namespace lusnet;

namespace {

lr_schedule make_schedule(const nlohmann::json& spec) {
    const std::string kind = spec.at("kind");
    if (kind == "sequence") {
        std::vector<lr_schedule> parts;
        for (const nlohmann::json& part : spec.at("parts")) {
            parts.push_back(make_schedule(part));
        }
        return lr_schedule::sequence(parts, spec.at("milestones").get<std::vector<std::size_t>>());
    }
    const double base = spec.at("base_lr");
    if (kind == "step") {
        return lr_schedule::step(base, {spec.at("step_size"), spec.at("gamma")});
    }
    if (kind == "cosine") {
        return lr_schedule::cosine(base, {spec.at("t_max"), spec.at("eta_min")});
    }
    REQUIRE(kind == "linear");
    return lr_schedule::linear(
        base, {spec.at("start_factor"), spec.at("end_factor"), spec.at("total_iters")});
}

} // namespace

TEST_CASE("schedule: step, cosine, linear warm-up and their sequence match PyTorch",
          "[parity][train]") {
    const safetensors_file ref = train_reference::open("schedules.safetensors");
    for (const std::string& name : train_reference::list(ref, "cases")) {
        const lr_schedule schedule = make_schedule(train_reference::spec(ref, name));
        const std::vector<double> expected = train_reference::read_f64(ref, name + ".lr");

        // PyTorch updates recursively, lusnet evaluates the closed form: they differ by double
        // rounding, measured relative to the base rate (a rate of 0 has no relative error).
        double worst = 0.0;
        for (std::size_t t = 0; t < expected.size(); ++t) {
            worst = std::max(worst, std::abs(schedule.at(t) - expected[t]) / schedule.base_lr());
        }
        INFO(name << ": " << expected.size() << " epochs, largest difference " << worst
                  << " of the base rate");
        CHECK(worst <= 1e-12);
    }
}

TEST_CASE("schedule: warm-up then cosine restarts the cosine at its milestone", "[train]") {
    const lr_schedule warmup = lr_schedule::linear(0.1, {0.1, 1.0, 4});
    const lr_schedule cosine = lr_schedule::cosine(0.1, {10, 0.0});
    const lr_schedule both = lr_schedule::sequence({warmup, cosine}, {4});

    CHECK(both.at(0) == Approx(0.01));
    CHECK(both.at(3) == Approx(0.1 * (0.1 + 0.9 * 3.0 / 4.0)));
    CHECK(both.at(4) == Approx(0.1));
    CHECK(both.at(9) == Approx(0.05));
    CHECK(both.at(14) == Approx(0.0).margin(1e-15));
    CHECK(lr_schedule::step(1.0, {2, 0.5}).at(5) == Approx(0.25));
    CHECK(lr_schedule::constant(0.3).at(1000) == 0.3);
}

TEST_CASE("schedule: bad settings are rejected", "[train]") {
    CHECK_THROWS_AS(lr_schedule::step(0.1, {0, 0.5}), lusnet::invalid_argument);
    CHECK_THROWS_AS(lr_schedule::cosine(0.1, {0, 0.0}), lusnet::invalid_argument);
    CHECK_THROWS_AS(lr_schedule::cosine(-0.1, {5, 0.0}), lusnet::invalid_argument);
    CHECK_THROWS_AS(lr_schedule::linear(0.1, {0.0, 1.0, 5}), lusnet::invalid_argument);
    CHECK_THROWS_AS(lr_schedule::linear(0.1, {0.5, 1.5, 5}), lusnet::invalid_argument);

    const lr_schedule a = lr_schedule::constant(0.1);
    const lr_schedule b = lr_schedule::constant(0.2);
    CHECK_THROWS_AS(lr_schedule::sequence({a, a}, {}), lusnet::invalid_argument);
    CHECK_THROWS_AS(lr_schedule::sequence({a, a, a}, {4, 4}), lusnet::invalid_argument);
    CHECK_THROWS_AS(lr_schedule::sequence({a, a}, {0}), lusnet::invalid_argument);
    CHECK_THROWS_AS(lr_schedule::sequence({a, b}, {3}), lusnet::invalid_argument);
}
