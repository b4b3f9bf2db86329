#pragma once

/// @file lus_net.hpp
/// LUS-Net: lusnet's own lightweight CNN for grayscale B-mode lung ultrasound.
///
/// Eight 3x3 conv-BN-ReLU blocks in four stages (one stride-2 stem, three 2x2 max poolings),
/// ending in a 256-channel 14x14 map for a 224x224 input, then global average pooling, dropout
/// and a linear head: 1.17 M parameters and 0.61 GMAC. docs/models.md gives the layer table and
/// the reasons; python/lusnet/torch_models.py defines the identical PyTorch module.

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

/// Settings of LUS-Net.
struct lus_net_options {
    std::size_t num_classes = 2;
    std::size_t in_channels = 1;
    /// Drop probability before the head.
    float dropout = 0.3f;
};

/// Builds LUS-Net; node names equal the state-dict prefixes of the PyTorch definition
/// (`features.<block>.conv|bn|relu`, `features.pool<k>`, `pool`, `dropout`, `classifier`).
model make_lus_net(const lus_net_options& options = {});

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// Appends `features.<block>.conv` (3x3, no bias: BN follows), `.bn` and `.relu`.
inline void add_conv_bn_relu(model& net, const std::string& block, std::size_t in, std::size_t out,
                             std::size_t stride) {
    conv2d_options conv(in, out, 3);
    conv.stride = stride;
    conv.padding = 1;
    conv.bias = false;
    const std::string prefix = "features." + block;
    net.emplace<conv2d>(prefix + ".conv", conv);
    net.emplace<batch_norm2d>(prefix + ".bn", batch_norm2d_options(out));
    net.emplace<relu>(prefix + ".relu");
}

} // namespace detail

inline model make_lus_net(const lus_net_options& options) {
    model net("lusnet", options.in_channels);

    detail::add_conv_bn_relu(net, "stem", options.in_channels, 24, 2); // 112x112
    detail::add_conv_bn_relu(net, "block1", 24, 32, 1);
    net.emplace<max_pool2d>("features.pool1", max_pool2d_options(2)); // 56x56
    detail::add_conv_bn_relu(net, "block2a", 32, 64, 1);
    detail::add_conv_bn_relu(net, "block2b", 64, 64, 1);
    net.emplace<max_pool2d>("features.pool2", max_pool2d_options(2)); // 28x28
    detail::add_conv_bn_relu(net, "block3a", 64, 128, 1);
    detail::add_conv_bn_relu(net, "block3b", 128, 128, 1);
    net.emplace<max_pool2d>("features.pool3", max_pool2d_options(2)); // 14x14
    detail::add_conv_bn_relu(net, "block4a", 128, 256, 1);
    detail::add_conv_bn_relu(net, "block4b", 256, 256, 1);
    net.set_default_cam_layer("features.block4b.relu");

    net.emplace<adaptive_avg_pool2d>("pool", size2(1));
    net.emplace<flatten>("flatten");
    net.emplace<dropout>("dropout", options.dropout);
    net.emplace<linear>("classifier", linear_options(256, options.num_classes));

    // Grayscale frames resized to 224 on the shorter side and centre-cropped; mean and standard
    // deviation of the grayscale intensity over the POCUS frames (0.155 and 0.176).
    preprocessing p;
    p.mode = color_mode::gray;
    p.resize = 224;
    p.crop = 224;
    p.mean = {0.155f};
    p.std = {0.176f};
    net.set_preprocess(p);
    return net;
}

} // namespace lusnet
