#pragma once

/// @file cam.hpp
/// The Grad-CAM family on one pipeline: a forward pass that captures the target layer, a
/// backward pass from each image's target score down to that layer only, the method's weights,
/// the weighted sum over channels, ReLU, bilinear upsampling to the input size, and min-max
/// normalisation per image. The methods differ only in their weights (see cam_weights.hpp).
///
/// The target score is the raw logit of the target class, not its softmax probability, as in
/// the papers and in pytorch-grad-cam's ClassifierOutputTarget. Each image of a batch has its
/// own target; images are independent at inference, so one backward pass seeded with a one-hot
/// row per image gives every image's gradient at once.

#include "lusnet/explain/eigen_cam.hpp"
#include "lusnet/explain/grad_cam.hpp"
#include "lusnet/explain/grad_cam_plus_plus.hpp"
#include "lusnet/explain/hires_cam.hpp"
#include "lusnet/explain/layer_cam.hpp"
#include "lusnet/io/transforms.hpp"
#include "lusnet/models/model.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace lusnet {

/// The methods of the family.
enum class cam_method { grad_cam, grad_cam_plus_plus, hires_cam, layer_cam, eigen_cam };

/// Every method, in declaration order.
const std::vector<cam_method>& cam_methods();
/// The method's short name, as pytorch-grad-cam's command line spells it: "gradcam",
/// "gradcam++", "hirescam", "layercam", "eigencam".
const char* cam_method_name(cam_method method);
/// The method of a short name; invalid_argument listing the names when unknown.
cam_method parse_cam_method(const std::string& name);
/// Whether the method needs the backward pass (all but EigenCAM).
bool cam_uses_gradients(cam_method method);

/// A target entry meaning "the class the model predicts for this image".
inline constexpr std::size_t predicted_class = static_cast<std::size_t>(-1);

/// What to explain and how.
struct cam_options {
    cam_method method = cam_method::grad_cam;
    /// The node whose output is explained; empty takes `model::default_cam_layer()`.
    std::string layer;
    /// The class explained per image: empty for the predicted class of every image, one entry
    /// for all images, or one per image; an entry may be `predicted_class`.
    std::vector<std::size_t> targets;
};

/// Heatmaps and what they explain.
struct cam_result {
    /// `[N, 1, H, W]` at the input's size, each image min-max normalised to [0, 1]; a map that
    /// is constant (no spread beyond float rounding of its values) is all zeros.
    tensor heatmaps;
    /// The logits of the forward pass, `[N, classes]`.
    class_scores logits;
    /// The class each heatmap explains (EigenCAM too, though its map does not depend on it).
    std::vector<std::size_t> targets;
    /// The node explained.
    std::string layer;
};

/// Heatmaps of `input` `[N, C, H, W]` by `options.method`. Errors: key_error listing the valid
/// layer names for an unknown layer, invalid_argument naming the range for a target class out
/// of range or a target list of the wrong length, shape_error for an input the model refuses.
cam_result grad_cam(const model& net, const_tensor_view input, const cam_options& options = {});

/// The method's weights for activations and gradients `[N, K, h, w]` (gradients unused, and
/// may be empty, for EigenCAM).
cam_weights compute_cam_weights(cam_method method, const_tensor_view activations,
                                const_tensor_view gradients);
/// `ReLU(sum over k of w_k * A_k + offset)` per image: `[N, 1, h, w]`.
tensor combine_cam(const_tensor_view activations, const cam_weights& weights);
/// Min-max normalises every `[1, h, w]` map of `maps` `[N, 1, h, w]` to [0, 1] in place; a
/// constant map becomes zeros rather than 0 / 0.
void normalize_cam(tensor_view maps);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

struct cam_method_info {
    cam_method method;
    const char* name;
    bool uses_gradients;
};

inline const std::vector<cam_method_info>& cam_method_table() {
    static const std::vector<cam_method_info> table{
        {cam_method::grad_cam, "gradcam", true},
        {cam_method::grad_cam_plus_plus, "gradcam++", true},
        {cam_method::hires_cam, "hirescam", true},
        {cam_method::layer_cam, "layercam", true},
        {cam_method::eigen_cam, "eigencam", false},
    };
    return table;
}

inline const cam_method_info& cam_info(cam_method method) {
    for (const auto& info : cam_method_table()) {
        if (info.method == method) {
            return info;
        }
    }
    throw invalid_argument("CAM method", std::to_string(static_cast<int>(method)),
                           "expected one of the cam_method values");
}

/// The class index each image of `logits` `[N, classes, 1, 1]` is explained for.
inline std::vector<std::size_t> resolve_targets(const tensor& logits,
                                                const std::vector<std::size_t>& requested) {
    const shape4 s = logits.shape();
    if (!requested.empty() && requested.size() != 1 && requested.size() != s.n) {
        throw invalid_argument("grad_cam", "targets",
                               "expected no target, one, or one per image (" + std::to_string(s.n) +
                                   "), got " + std::to_string(requested.size()));
    }
    std::vector<std::size_t> targets(s.n);
    for (std::size_t n = 0; n < s.n; ++n) {
        const std::size_t t = requested.empty()       ? predicted_class
                              : requested.size() == 1 ? requested.front()
                                                      : requested[n];
        if (t == predicted_class) {
            // The first maximum, as torch.argmax picks it.
            const float* row = logits.sample(n);
            targets[n] = static_cast<std::size_t>(std::max_element(row, row + s.c) - row);
        } else if (t >= s.c) {
            throw invalid_argument("grad_cam", "target of image " + std::to_string(n),
                                   "expected a class in [0, " + std::to_string(s.c) + "), got " +
                                       std::to_string(t));
        } else {
            targets[n] = t;
        }
    }
    return targets;
}

/// The logits `[N, classes, 1, 1]` as `[N, classes]`.
inline class_scores to_class_scores(const tensor& logits) {
    const shape4& s = logits.shape();
    class_scores scores = xt::empty<float>({s.n, s.c});
    std::copy(logits.data(), logits.data() + logits.size(), scores.data());
    return scores;
}

} // namespace detail

inline const std::vector<cam_method>& cam_methods() {
    static const std::vector<cam_method> methods = [] {
        std::vector<cam_method> all;
        for (const auto& info : detail::cam_method_table()) {
            all.push_back(info.method);
        }
        return all;
    }();
    return methods;
}

inline const char* cam_method_name(cam_method method) {
    return detail::cam_info(method).name;
}

inline bool cam_uses_gradients(cam_method method) {
    return detail::cam_info(method).uses_gradients;
}

inline cam_method parse_cam_method(const std::string& name) {
    std::string names;
    for (const auto& info : detail::cam_method_table()) {
        if (name == info.name) {
            return info.method;
        }
        names += (names.empty() ? "" : ", ") + std::string(info.name);
    }
    throw invalid_argument("parse CAM method", "'" + name + "'", "expected one of " + names);
}

inline cam_weights compute_cam_weights(cam_method method, const_tensor_view activations,
                                       const_tensor_view gradients) {
    switch (method) {
    case cam_method::grad_cam:
        return grad_cam_weights(activations, gradients);
    case cam_method::grad_cam_plus_plus:
        return grad_cam_plus_plus_weights(activations, gradients);
    case cam_method::hires_cam:
        return hires_cam_weights(activations, gradients);
    case cam_method::layer_cam:
        return layer_cam_weights(activations, gradients);
    case cam_method::eigen_cam:
        return eigen_cam_weights(activations);
    }
    detail::cam_info(method); // throws for a value outside the enumeration
    return {};
}

inline tensor combine_cam(const_tensor_view activations, const cam_weights& weights) {
    const shape4 s = activations.shape();
    const shape4 w = weights.weights.shape();
    const bool per_channel = w.h == 1 && w.w == 1;
    if (w.n != s.n || w.c != s.c || !(per_channel || (w.h == s.h && w.w == s.w)) ||
        !(weights.offset.empty() || weights.offset.size() == s.n)) {
        throw shape_error("combine CAM", "weights " + w.str(),
                          "expected [N, K, 1, 1] or [N, K, h, w] weights and N offsets for "
                          "activations " +
                              s.str());
    }
    const std::size_t plane = s.plane_size();

    tensor maps = tensor::uninitialized({s.n, 1, s.h, s.w});
    std::vector<double> sum(plane);
    for (std::size_t n = 0; n < s.n; ++n) {
        // Summed in double over channels: 512 float terms would lose digits to cancellation.
        std::fill(sum.begin(), sum.end(), weights.offset.empty() ? 0.0 : weights.offset[n]);
        for (std::size_t k = 0; k < s.c; ++k) {
            const float* a = activations.sample(n) + k * plane;
            const float* wk = weights.weights.sample(n) + (per_channel ? k : k * plane);
            for (std::size_t i = 0; i < plane; ++i) {
                sum[i] += double(wk[per_channel ? 0 : i]) * double(a[i]);
            }
        }
        float* map = maps.sample(n);
        for (std::size_t i = 0; i < plane; ++i) {
            map[i] = sum[i] > 0.0 ? static_cast<float>(sum[i]) : 0.0f;
        }
    }
    return maps;
}

inline void normalize_cam(tensor_view maps) {
    const shape4 s = maps.shape();
    for (std::size_t n = 0; n < s.n; ++n) {
        float* map = maps.sample(n);
        const auto [low, high] = std::minmax_element(map, map + s.sample_size());
        const float lo = *low, hi = *high;
        // Constant: no spread beyond the rounding of the values themselves (an exactly
        // constant map, or one whose differences are rounding noise that min-max would blow up).
        const float magnitude = std::max(std::fabs(lo), std::fabs(hi));
        const bool constant = !(hi - lo > 4.0f * FLT_EPSILON * magnitude);
        for (std::size_t i = 0; i < s.sample_size(); ++i) {
            map[i] = constant ? 0.0f : (map[i] - lo) / (hi - lo);
        }
    }
}

inline cam_result grad_cam(const model& net, const_tensor_view input, const cam_options& options) {
    cam_result result;
    result.layer = options.layer.empty() ? net.default_cam_layer() : options.layer;
    if (result.layer.empty()) {
        throw invalid_argument("grad_cam", "model '" + net.arch() + "'",
                               "expected a target layer: the model has no default CAM layer");
    }
    const forward_tape tape = net.record(input, result.layer); // key_error for unknown layers
    const tensor& logits = tape.output();
    if (logits.shape().h != 1 || logits.shape().w != 1) {
        throw shape_error("grad_cam", "model '" + net.arch() + "'",
                          "expected class scores [N, classes, 1, 1] as output, got " +
                              logits.shape().str());
    }
    result.targets = detail::resolve_targets(logits, options.targets);
    result.logits = detail::to_class_scores(logits);

    // d(logit of each image's target)/dA: the one-hot rows seed one backward pass.
    const const_tensor_view activations = tape.captured();
    tensor gradients;
    if (cam_uses_gradients(options.method)) {
        tensor seed(logits.shape());
        for (std::size_t n = 0; n < seed.shape().n; ++n) {
            seed.sample(n)[result.targets[n]] = 1.0f;
        }
        gradients = net.backward(tape, seed);
    }

    const cam_weights weights = compute_cam_weights(options.method, activations, gradients);
    const tensor maps = combine_cam(activations, weights);
    // Bilinear with half-pixel centres and no antialiasing: F.interpolate(mode="bilinear",
    // align_corners=False), as pytorch-grad-cam's users compare against.
    result.heatmaps = resize(maps, input.shape().h, input.shape().w, false);
    normalize_cam(result.heatmaps.view());
    return result;
}

} // namespace lusnet
