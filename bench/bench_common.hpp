#pragma once
// Models and inputs shared by the benchmarks: random parameters (unit variances so batch norm
// stays well scaled) and a random batch of the model's input size.
#include <lusnet/lusnet.hpp>

#include <random>
#include <string>

namespace lusnet_bench {

inline void randomise(lusnet::model& net, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 0.02f);
    for (auto& [key, p] : net.named_parameters()) {
        const bool variance = p->name == "running_var";
        for (auto& v : p->values) {
            v = variance ? 1.0f : dist(rng);
        }
    }
}

/// A `[batch, C, crop, crop]` input of values uniform in [-1, 1].
inline lusnet::tensor random_batch(const lusnet::model& net, std::size_t batch, unsigned seed) {
    const std::size_t side = net.preprocess().crop;
    lusnet::tensor x({batch, net.in_channels(), side, side});
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (std::size_t i = 0; i < x.size(); ++i) {
        x.data()[i] = dist(rng);
    }
    return x;
}

/// The architecture with random parameters.
inline lusnet::model random_model(const std::string& arch) {
    lusnet::model net = lusnet::create_model(arch);
    randomise(net, 1);
    return net;
}

} // namespace lusnet_bench
