#pragma once

/// @file vgg.hpp
/// VGG-16 and VGG-16-BN in torchvision's layout (Simonyan & Zisserman 2015, configuration D).

#include "lusnet/layers/adaptive_avg_pool2d.hpp"
#include "lusnet/layers/batch_norm2d.hpp"
#include "lusnet/layers/conv2d.hpp"
#include "lusnet/layers/dropout.hpp"
#include "lusnet/layers/flatten.hpp"
#include "lusnet/layers/linear.hpp"
#include "lusnet/layers/max_pool2d.hpp"
#include "lusnet/layers/relu.hpp"
#include "lusnet/models/model.hpp"

namespace lusnet {

/// Settings of a VGG network.
struct vgg_options {
    /// Output channels of each 3x3 convolution; 0 marks a 2x2 max pooling.
    std::vector<std::size_t> config{64, 64,  0,   128, 128, 0,   256, 256, 256,
                                    0,  512, 512, 512, 0,   512, 512, 512, 0};
    /// A BatchNorm2d after every convolution (torchvision's `vgg16_bn`).
    bool batch_norm = false;
    std::size_t num_classes = 1000;
    std::size_t in_channels = 3;
    /// Drop probability of the two dropout layers of the classifier.
    float dropout = 0.5f;
};

/// Builds a VGG network; node names follow torchvision (`features.N`, `avgpool`,
/// `classifier.0/3/6`) so its state dicts load by name.
model make_vgg(const vgg_options& options, const std::string& arch);
/// VGG-16 (`"vgg16"`), or VGG-16-BN (`"vgg16_bn"`) when `batch_norm`.
model make_vgg16(std::size_t num_classes = 1000, bool batch_norm = false);

// ---------------------------------------------------------------------------------------------
// Definitions

inline model make_vgg(const vgg_options& options, const std::string& arch) {
    model net(arch, options.in_channels);

    // torchvision numbers the modules of its `features` Sequential in order, ReLUs included.
    std::size_t index = 0;
    std::size_t channels = options.in_channels;
    std::string last_relu;
    const auto next = [&index] {
        return "features." + std::to_string(index++);
    };
    for (std::size_t width : options.config) {
        if (width == 0) {
            net.emplace<max_pool2d>(next(), max_pool2d_options(2));
            continue;
        }
        conv2d_options conv(channels, width, 3);
        conv.padding = 1;
        net.emplace<conv2d>(next(), conv);
        if (options.batch_norm) {
            net.emplace<batch_norm2d>(next(), batch_norm2d_options(width));
        }
        last_relu = next();
        net.emplace<relu>(last_relu);
        channels = width;
    }
    // Grad-CAM reads the last convolution's activation, before the final pooling, where the
    // grid is 14x14 for a 224x224 input.
    net.set_default_cam_layer(last_relu);

    // The classifier sees a fixed 7x7 grid whatever the input size (224 / 2^5 = 7).
    constexpr std::size_t grid = 7;
    constexpr std::size_t hidden = 4096;
    net.emplace<adaptive_avg_pool2d>("avgpool", size2(grid));
    net.emplace<flatten>("flatten");
    net.emplace<linear>("classifier.0", linear_options(channels * grid * grid, hidden));
    net.emplace<relu>("classifier.1");
    net.emplace<dropout>("classifier.2", options.dropout);
    net.emplace<linear>("classifier.3", linear_options(hidden, hidden));
    net.emplace<relu>("classifier.4");
    net.emplace<dropout>("classifier.5", options.dropout);
    net.emplace<linear>("classifier.6", linear_options(hidden, options.num_classes));

    net.set_preprocess(preprocessing{}); // ImageNet: resize 256, crop 224, ImageNet mean/std
    return net;
}

inline model make_vgg16(std::size_t num_classes, bool batch_norm) {
    vgg_options options;
    options.num_classes = num_classes;
    options.batch_norm = batch_norm;
    return make_vgg(options, batch_norm ? "vgg16_bn" : "vgg16");
}

} // namespace lusnet
