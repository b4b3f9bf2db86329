#pragma once

/// @file registry.hpp
/// Models by architecture name: what exists, how to create one, how to load one.

#include "lusnet/io/weights.hpp"
#include "lusnet/models/lus_net.hpp"
#include "lusnet/models/vgg.hpp"

#include <functional>
#include <string>
#include <vector>

namespace lusnet {

/// What the registry knows of one architecture.
struct architecture_info {
    std::string name;
    std::string description;
    /// Class count when none is asked for (ImageNet's 1000, or LUS-Net's 2).
    std::size_t default_classes = 0;
    /// State-dict key of the head's weight, whose first dimension is the class count.
    std::string head_weight;
    /// Builds the network with a class count.
    std::function<model(std::size_t num_classes)> build;
};

/// Every registered architecture.
const std::vector<architecture_info>& architectures();
/// The named architecture; key_error listing the known names when absent.
const architecture_info& find_architecture(const std::string& arch);
/// A model with default-initialised parameters; `num_classes == 0` takes the default.
model create_model(const std::string& arch, std::size_t num_classes = 0);
/// A model with weights from a safetensors file. With `num_classes == 0` the class count is
/// read from the shape of the head's weight in the file.
model load_model(const std::string& arch, const std::string& weights_path,
                 std::size_t num_classes = 0);

// ---------------------------------------------------------------------------------------------
// Definitions

inline const std::vector<architecture_info>& architectures() {
    static const std::vector<architecture_info> known{
        {"vgg16", "VGG-16 (torchvision layout), 3x224x224 RGB", 1000, "classifier.6.weight",
         [](std::size_t classes) {
             return make_vgg16(classes, false);
         }},
        {"vgg16_bn", "VGG-16 with batch normalisation (torchvision layout), 3x224x224 RGB", 1000,
         "classifier.6.weight",
         [](std::size_t classes) {
             return make_vgg16(classes, true);
         }},
        {"lusnet", "LUS-Net, lightweight CNN for 1x224x224 grayscale lung ultrasound", 2,
         "classifier.weight",
         [](std::size_t classes) {
             lus_net_options options;
             options.num_classes = classes;
             return make_lus_net(options);
         }},
    };
    return known;
}

inline const architecture_info& find_architecture(const std::string& arch) {
    std::string names;
    for (const auto& info : architectures()) {
        if (info.name == arch) {
            return info;
        }
        names += (names.empty() ? "" : ", ") + info.name;
    }
    throw key_error("find architecture", "'" + arch + "'", "unknown; known are: " + names);
}

inline model create_model(const std::string& arch, std::size_t num_classes) {
    const architecture_info& info = find_architecture(arch);
    return info.build(num_classes ? num_classes : info.default_classes);
}

inline model load_model(const std::string& arch, const std::string& weights_path,
                        std::size_t num_classes) {
    const architecture_info& info = find_architecture(arch);
    const safetensors_file file = safetensors_file::open(weights_path);
    if (num_classes == 0) {
        num_classes = info.default_classes;
        if (file.contains(info.head_weight) && !file.info(info.head_weight).shape.empty()) {
            num_classes = file.info(info.head_weight).shape.front();
        }
    }
    model net = info.build(num_classes);
    load_weights(net, file);
    return net;
}

} // namespace lusnet
