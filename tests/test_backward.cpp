// Backward passes: every layer's gradients against central finite differences, and the model's
// tape-based backward through chains and branches.
//
// The loss is L = sum(w * forward(x)) with a fixed random w, so dL/dy = w. Differences use a
// step of 1e-2 on float layers with the loss summed in double; inputs keep away from kinks
// (ReLU at 0, ties in max pooling) by construction, so the only error left is float rounding,
// well under the 1e-3 relative tolerance.
#include "catch.hpp"

#include "lusnet/lusnet.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

using namespace lusnet;

namespace {

constexpr double step = 1e-2;
constexpr double tolerance = 1e-3;

void fill_uniform(float* data, std::size_t n, std::mt19937& rng, float lo = -1.0f,
                  float hi = 1.0f) {
    std::uniform_real_distribution<float> dist(lo, hi);
    for (std::size_t i = 0; i < n; ++i) {
        data[i] = dist(rng);
    }
}

tensor random_tensor(shape4 shape, std::mt19937& rng) {
    tensor t(shape);
    fill_uniform(t.data(), t.size(), rng);
    return t;
}

/// sum(w * y) in double.
double weighted_sum(const tensor& y, const tensor& w) {
    double sum = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        sum += double(y.data()[i]) * double(w.data()[i]);
    }
    return sum;
}

std::vector<const_tensor_view> views_of(const std::vector<tensor>& inputs) {
    std::vector<const_tensor_view> views;
    for (const auto& x : inputs) {
        views.push_back(x.view());
    }
    return views;
}

/// max |analytic - numeric| / max |numeric| over the `n` values at `value`, each perturbed by
/// +-step while `loss` is evaluated.
template <class Loss>
double relative_error(float* value, std::size_t n, const float* analytic, const Loss& loss) {
    double worst = 0.0, scale = 1e-12;
    for (std::size_t i = 0; i < n; ++i) {
        const float saved = value[i];
        value[i] = saved + static_cast<float>(step);
        const double up = loss();
        value[i] = saved - static_cast<float>(step);
        const double down = loss();
        value[i] = saved;
        const double numeric = (up - down) / (2.0 * step);
        worst = std::max(worst, std::abs(numeric - double(analytic[i])));
        scale = std::max(scale, std::abs(numeric));
    }
    return worst / scale;
}

/// Checks `op`'s input and parameter (weight, bias) gradients against central differences.
///
/// Backward receives data only for the tensors `reads_for_backward` asks for, so a layer that
/// reads more than it declares fails here (null data) rather than in a model.
void check_gradients(layer& op, std::vector<tensor>& inputs, std::mt19937& rng,
                     const std::string& what) {
    const tensor output = op.forward(views_of(inputs));
    const tensor w = random_tensor(output.shape(), rng);
    const auto loss = [&] {
        return weighted_sum(op.forward(views_of(inputs)), w);
    };

    parameter_gradients sink;
    std::vector<parameter*> learnable;
    for (parameter* p : op.parameters()) {
        if (p->name == "weight" || p->name == "bias") {
            sink.track(*p);
            learnable.push_back(p);
        }
    }

    for (const bool with_parameters : {false, true}) {
        const backward_reads reads = op.reads_for_backward(with_parameters);
        std::vector<const_tensor_view> in;
        for (const auto& x : inputs) {
            in.emplace_back(reads.inputs ? x.data() : nullptr, x.shape());
        }
        const const_tensor_view out(reads.output ? output.data() : nullptr, output.shape());
        const std::vector<tensor> grads =
            op.backward(in, out, w, with_parameters ? &sink : nullptr);
        REQUIRE(grads.size() == inputs.size());
        for (std::size_t k = 0; k < inputs.size(); ++k) {
            REQUIRE(grads[k].shape() == inputs[k].shape());
            const double error =
                relative_error(inputs[k].data(), inputs[k].size(), grads[k].data(), loss);
            INFO(what << ": input " << k << " " << inputs[k].shape().str()
                      << (with_parameters ? " (with parameter gradients)" : ""));
            CHECK(error <= tolerance);
        }
    }
    for (parameter* p : learnable) {
        const double error = relative_error(p->data(), p->size(), sink.find(*p), loss);
        INFO(what << ": parameter " << p->name << " " << shape_str(p->shape));
        CHECK(error <= tolerance);
    }
}

void check_unary(layer& op, shape4 shape, std::mt19937& rng, const std::string& what) {
    std::vector<tensor> inputs;
    inputs.push_back(random_tensor(shape, rng));
    check_gradients(op, inputs, rng, what);
}

/// Values 0.05 apart in random order, so no two in a window are within two steps of a tie.
tensor distinct_values(shape4 shape, std::mt19937& rng) {
    tensor t(shape);
    std::vector<std::size_t> order(t.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t i = 0; i < t.size(); ++i) {
        t.data()[i] = 0.05f * static_cast<float>(order[i]) - 1.0f;
    }
    return t;
}

std::size_t pick(std::mt19937& rng, std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
}

} // namespace

TEST_CASE("backward: conv2d gradients match finite differences over seeded random options",
          "[backward][conv2d]") {
    std::mt19937 rng(42);
    for (int trial = 0; trial < 24; ++trial) {
        const std::size_t groups = pick(rng, 1, 2);
        conv2d_options o(groups * pick(rng, 1, 3), groups * pick(rng, 1, 3),
                         size2(pick(rng, 1, 3), pick(rng, 1, 3)));
        o.groups = groups;
        o.stride = size2(pick(rng, 1, 2), pick(rng, 1, 2));
        o.padding = size2(pick(rng, 0, 1), pick(rng, 0, 1));
        o.dilation = size2(pick(rng, 1, 2), pick(rng, 1, 2));
        o.bias = trial % 2 == 0;
        // Every fourth trial is pointwise, the path that skips im2col.
        if (trial % 4 == 3) {
            o.kernel = 1;
            o.stride = 1;
            o.padding = 0;
        }
        conv2d conv(o);
        fill_uniform(conv.weight().data(), conv.weight().size(), rng);
        fill_uniform(conv.bias().data(), conv.bias().size(), rng);
        const shape4 in{pick(rng, 1, 2), o.in_channels, pick(rng, 5, 8), pick(rng, 5, 8)};
        check_unary(conv, in, rng,
                    "conv2d trial " + std::to_string(trial) + ": kernel " + o.kernel.str() +
                        ", stride " + o.stride.str() + ", padding " + o.padding.str() +
                        ", dilation " + o.dilation.str() + ", groups " + std::to_string(groups));
    }
}

TEST_CASE("backward: batch_norm2d scales by its per-channel factor, affine or not",
          "[backward][batch_norm2d]") {
    std::mt19937 rng(7);
    for (const bool affine : {true, false}) {
        batch_norm2d_options o(3);
        o.affine = affine;
        batch_norm2d bn(o);
        fill_uniform(bn.weight().data(), 3, rng, 0.5f, 1.5f);
        fill_uniform(bn.bias().data(), 3, rng);
        fill_uniform(bn.running_mean().data(), 3, rng);
        fill_uniform(bn.running_var().data(), 3, rng, 0.5f, 1.5f);
        check_unary(bn, {2, 3, 4, 5}, rng, affine ? "affine batch norm" : "plain batch norm");
    }
}

TEST_CASE("backward: relu, sigmoid and softmax match finite differences", "[backward]") {
    std::mt19937 rng(3);
    // ReLU: every input at least 0.1 from the kink, ten steps away.
    std::vector<tensor> inputs;
    inputs.push_back(random_tensor({2, 3, 4, 4}, rng));
    for (std::size_t i = 0; i < inputs[0].size(); ++i) {
        float& v = inputs[0].data()[i];
        v = v >= 0.0f ? v + 0.1f : v - 0.1f;
    }
    relu r;
    check_gradients(r, inputs, rng, "relu");
    sigmoid s;
    check_unary(s, {2, 3, 4, 4}, rng, "sigmoid");
    softmax sm;
    check_unary(sm, {2, 5, 3, 2}, rng, "softmax");
}

TEST_CASE("backward: max_pool2d routes to the maximum with padding, dilation and ceil_mode",
          "[backward][max_pool2d]") {
    std::mt19937 rng(11);
    std::vector<max_pool2d_options> cases;
    cases.emplace_back(2);
    cases.emplace_back(3, 2, 1);
    cases.emplace_back(size2(3, 2), size2(1, 2), size2(1, 0));
    max_pool2d_options dilated(2, 1);
    dilated.dilation = 2;
    cases.push_back(dilated);
    max_pool2d_options ceil(3, 2);
    ceil.ceil_mode = true;
    cases.push_back(ceil);
    for (std::size_t k = 0; k < cases.size(); ++k) {
        max_pool2d pool(cases[k]);
        std::vector<tensor> inputs;
        inputs.push_back(distinct_values({2, 2, 7, 6}, rng));
        check_gradients(pool, inputs, rng, "max_pool2d case " + std::to_string(k));
    }
}

TEST_CASE("backward: max_pool2d gives a tie to the first maximum in scan order",
          "[backward][max_pool2d]") {
    // One 2x2 window of equal values, then a 3x3 window with overlap (stride 1) where the
    // shared maximum collects the gradient of both windows.
    const tensor flat({1, 1, 2, 2}, 5.0f);
    max_pool2d pool(max_pool2d_options(2));
    const tensor g({1, 1, 1, 1}, 1.0f);
    const tensor dx = pool.backward(flat, pool.forward(flat), g, nullptr);
    CHECK(std::vector<float>(dx.data(), dx.data() + 4) == std::vector<float>{1, 0, 0, 0});

    tensor x({1, 1, 1, 3});
    x.data()[0] = 1;
    x.data()[1] = 9;
    x.data()[2] = 9;
    max_pool2d overlap(max_pool2d_options(size2(1, 2), size2(1, 1)));
    const tensor g2({1, 1, 1, 2}, 1.0f);
    const tensor dx2 = overlap.backward(x, overlap.forward(x), g2, nullptr);
    CHECK(std::vector<float>(dx2.data(), dx2.data() + 3) == std::vector<float>{0, 2, 0});
}

TEST_CASE("backward: avg_pool2d and adaptive_avg_pool2d spread gradients like their divisors",
          "[backward][avg_pool2d]") {
    std::mt19937 rng(5);
    for (const bool include_pad : {true, false}) {
        for (const bool ceil : {false, true}) {
            avg_pool2d_options o(3, 2, 1);
            o.count_include_pad = include_pad;
            o.ceil_mode = ceil;
            avg_pool2d pool(o);
            check_unary(pool, {2, 2, 6, 7}, rng,
                        std::string("avg_pool2d include_pad ") + (include_pad ? "1" : "0") +
                            " ceil " + (ceil ? "1" : "0"));
        }
    }
    for (const size2 size : {size2(3, 2), size2(1), size2(4, 5)}) {
        adaptive_avg_pool2d pool(size);
        check_unary(pool, {2, 2, 5, 3}, rng, "adaptive_avg_pool2d to " + size.str());
    }
}

TEST_CASE("backward: linear, dropout and flatten match finite differences", "[backward]") {
    std::mt19937 rng(9);
    for (const bool bias : {true, false}) {
        linear fc(linear_options(12, 5, bias));
        fill_uniform(fc.weight().data(), fc.weight().size(), rng);
        fill_uniform(fc.bias().data(), fc.bias().size(), rng);
        check_unary(fc, {3, 3, 2, 2}, rng, bias ? "linear with bias" : "linear without bias");
    }
    dropout d(0.5f);
    check_unary(d, {2, 3, 2, 2}, rng, "dropout");
    flatten f;
    check_unary(f, {2, 3, 2, 2}, rng, "flatten");
}

TEST_CASE("backward: concat splits and add copies the gradient", "[backward][concat]") {
    std::mt19937 rng(13);
    concat c;
    std::vector<tensor> parts;
    parts.push_back(random_tensor({2, 1, 3, 2}, rng));
    parts.push_back(random_tensor({2, 3, 3, 2}, rng));
    parts.push_back(random_tensor({2, 2, 3, 2}, rng));
    check_gradients(c, parts, rng, "concat");
    add a;
    std::vector<tensor> pair;
    pair.push_back(random_tensor({2, 3, 2, 2}, rng));
    pair.push_back(random_tensor({2, 3, 2, 2}, rng));
    check_gradients(a, pair, rng, "add");
}

TEST_CASE("backward: a gradient of the wrong shape is a shape_error naming the layer",
          "[backward]") {
    relu r;
    r.set_name("features.1");
    const tensor x({1, 2, 3, 3}, 1.0f);
    const tensor y = r.forward(x);
    try {
        r.backward({x.view()}, y, tensor({1, 2, 3, 2}), nullptr);
        FAIL("expected shape_error");
    } catch (const shape_error& e) {
        CHECK(std::string(e.what()).find("features.1") != std::string::npos);
    }
}

namespace {

/// input -> conv -> act -> (conv a, conv b) -> add -> concat(add, act) -> pool -> linear:
/// branches, a join that reads an earlier node, and every kind of reader count. `smooth` takes
/// sigmoid and average pooling for ReLU and max pooling, so finite differences meet no kink.
model branching_model(std::mt19937& rng, bool smooth) {
    model net("branches", 2);
    conv2d_options c(2, 3, 3);
    c.padding = 1;
    net.emplace<conv2d>("conv", c);
    if (smooth) {
        net.emplace<sigmoid>("act");
    } else {
        net.emplace<relu>("act");
    }
    net.add("a", std::make_unique<conv2d>(conv2d_options(3, 3, 1)), {"act"});
    conv2d_options b(3, 3, 3);
    b.padding = 1;
    net.add("b", std::make_unique<conv2d>(b), {"act"});
    net.add("sum", std::make_unique<add>(), {"a", "b"});
    net.add("cat", std::make_unique<concat>(), {"sum", "act"});
    if (smooth) {
        net.emplace<avg_pool2d>("pool", avg_pool2d_options(2));
    } else {
        net.emplace<max_pool2d>("pool", max_pool2d_options(2));
    }
    net.emplace<flatten>("flatten");
    net.emplace<linear>("head", linear_options(6 * 3 * 3, 4));
    for (auto& [key, p] : net.named_parameters()) {
        fill_uniform(p->data(), p->size(), rng, -0.5f, 0.5f);
    }
    return net;
}

} // namespace

TEST_CASE("model: backward to the input matches finite differences through branches",
          "[backward][model]") {
    std::mt19937 rng(17);
    const model net = branching_model(rng, true);
    tensor x = random_tensor({2, 2, 6, 6}, rng);
    const forward_tape tape = net.record(x);
    const tensor w = random_tensor(tape.output().shape(), rng);
    const tensor grad = net.backward(tape, w);
    REQUIRE(grad.shape() == x.shape());

    // A forward of the same input gives the recorded output exactly.
    const tensor again = net.run(x);
    CHECK(std::equal(again.data(), again.data() + again.size(), tape.output().data()));
    const double error = relative_error(x.data(), x.size(), grad.data(),
                                        [&] { return weighted_sum(net.run(x), w); });
    CHECK(error <= tolerance);
}

TEST_CASE("model: backward stops at a node, whose gradient leads on to the input's",
          "[backward][model]") {
    std::mt19937 rng(19);
    const model net = branching_model(rng, false);
    const tensor x = random_tensor({1, 2, 6, 6}, rng);
    const tensor w = random_tensor({1, 4, 1, 1}, rng);

    const forward_tape tape = net.record(x, "act");
    REQUIRE(tape.captured().shape() == shape4{1, 3, 6, 6});
    const tensor at_relu = net.backward(tape, w);
    REQUIRE(at_relu.shape() == shape4{1, 3, 6, 6});

    // Carry it through relu and conv by hand: that must be the gradient at the input.
    const forward_tape full = net.record(x);
    const tensor expected = net.backward(full, w);
    const tensor conv_out = net.at("conv").forward({x.view()});
    const tensor relu_out = net.at("act").forward({conv_out.view()});
    const tensor at_conv =
        std::move(net.at("act").backward({conv_out.view()}, relu_out, at_relu, nullptr)[0]);
    const tensor at_input =
        std::move(net.at("conv").backward({x.view()}, conv_out, at_conv, nullptr)[0]);
    double worst = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        worst = std::max(worst, double(std::abs(expected.data()[i] - at_input.data()[i])));
    }
    CHECK(worst <= 1e-5);
    // The captured activation is the node's output.
    CHECK(std::equal(relu_out.data(), relu_out.data() + relu_out.size(), tape.captured().data()));
}

TEST_CASE("model: parameter gradients of a recorded forward match finite differences",
          "[backward][model]") {
    std::mt19937 rng(23);
    model net = branching_model(rng, true);
    const tensor x = random_tensor({2, 2, 6, 6}, rng);
    parameter_gradients sink;
    for (auto& [key, p] : net.named_parameters()) {
        sink.track(*p);
    }
    const forward_tape tape = net.record(x, model::input_name, true);
    const tensor w = random_tensor(tape.output().shape(), rng);
    net.backward(tape, w, &sink);

    for (auto& [key, p] : net.named_parameters()) {
        const double error = relative_error(p->data(), p->size(), sink.find(*p),
                                            [&] { return weighted_sum(net.run(x), w); });
        INFO(key);
        CHECK(error <= tolerance);
    }
}

TEST_CASE("model: backward refuses a foreign tape, a wrong gradient shape and a missing record",
          "[backward][model]") {
    std::mt19937 rng(29);
    const model net = branching_model(rng, false);
    const model other = branching_model(rng, false);
    const tensor x = random_tensor({1, 2, 6, 6}, rng);
    const forward_tape tape = net.record(x, "sum");
    CHECK_THROWS_AS(other.backward(tape, tensor({1, 4, 1, 1})), invalid_argument);
    CHECK_THROWS_AS(net.backward(tape, tensor({1, 3, 1, 1})), shape_error);
    parameter_gradients sink;
    CHECK_THROWS_AS(net.backward(tape, tensor({1, 4, 1, 1}), &sink), invalid_argument);
    CHECK_THROWS_AS(net.record(x, "no_such_layer"), key_error);
}
