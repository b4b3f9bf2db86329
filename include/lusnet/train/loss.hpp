#pragma once

/// @file loss.hpp
/// Classification losses with PyTorch's semantics, each returning the mean loss and its
/// gradient with respect to the logits.
///
/// Logits are a classifier's output `[N, classes, 1, 1]` (what a model's forward tape holds),
/// so the gradient can be handed straight to the model's backward pass. Both losses are
/// evaluated in double and rounded once at the end, which keeps them within float rounding of
/// PyTorch's float32 kernels while never overflowing: every exponential is of a value <= 0.

#include "lusnet/error.hpp"
#include "lusnet/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace lusnet {

/// A mean loss and its gradient.
struct loss_result {
    /// The loss, reduced to a mean as PyTorch's `reduction="mean"` does.
    double value = 0.0;
    /// dL/d logits, the logits' shape `[N, classes, 1, 1]`.
    tensor grad;
};

/// Settings of softmax cross-entropy, named as in `nn.CrossEntropyLoss`.
struct cross_entropy_options {
    /// One weight >= 0 per class, or empty for all 1.
    std::vector<float> class_weights;
    /// Label smoothing epsilon in [0, 1]: the target becomes (1 - epsilon) one-hot plus
    /// epsilon spread evenly over the classes.
    double label_smoothing = 0.0;
};

/// Softmax cross-entropy of `logits` `[N, classes, 1, 1]` against class indices `targets`
/// (N of them), as `nn.CrossEntropyLoss(weight, label_smoothing=...)` with mean reduction.
///
/// With weights w and log-probabilities lp, PyTorch's weighted mean is
/// `L = (1 - e) * sum_i w[y_i] (-lp[i, y_i]) / W + (e / C) * sum_i sum_c w[c] (-lp[i, c]) / W`
/// with `W = sum_i w[y_i]`: the smoothing term is normalised by the targets' weights too.
/// Throws shape_error for a bad shape, invalid_argument for a target out of range, weights of
/// the wrong count, negative or summing to 0 over the targets, or epsilon outside [0, 1].
loss_result cross_entropy(const_tensor_view logits, const std::vector<std::size_t>& targets,
                          const cross_entropy_options& options = {});

/// Settings of binary cross-entropy on logits, named as in `nn.BCEWithLogitsLoss`.
struct bce_options {
    /// Weight of the positive term per output column, one per column (or one value for all
    /// columns), or empty for 1; > 1 raises recall, < 1 precision.
    std::vector<float> pos_weight;
};

/// Binary cross-entropy of `logits` `[N, K, 1, 1]` against probabilities `targets` in [0, 1]
/// (`N * K` values, row-major `[N, K]`), as `nn.BCEWithLogitsLoss(pos_weight=...)` with mean
/// reduction over all `N * K` elements:
/// `l = (1 - y) x + (1 + (p - 1) y) softplus(-x)`, softplus(-x) = log(1 + exp(-|x|)) + max(-x, 0)
/// so no exponential can overflow.
loss_result binary_cross_entropy_with_logits(const_tensor_view logits,
                                             const std::vector<float>& targets,
                                             const bce_options& options = {});

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// Throws unless `logits` is a non-empty `[N, K, 1, 1]` tensor with K >= `min_classes`.
inline void check_logits(const char* operation, const_tensor_view logits, std::size_t min_classes) {
    const shape4& s = logits.shape();
    if (s.n == 0 || s.c < min_classes || s.h != 1 || s.w != 1) {
        throw shape_error(operation, "logits " + s.str(),
                          "expected [N, classes, 1, 1] with N >= 1 and at least " +
                              std::to_string(min_classes) + " classes");
    }
}

/// Throws unless every weight is finite and >= 0.
inline void check_weights(const char* operation, const char* name,
                          const std::vector<float>& weights) {
    for (std::size_t c = 0; c < weights.size(); ++c) {
        if (!std::isfinite(weights[c]) || weights[c] < 0.0f) {
            throw invalid_argument(operation, std::string(name) + "[" + std::to_string(c) + "]",
                                   "expected a finite weight >= 0, got " +
                                       std::to_string(weights[c]));
        }
    }
}

/// Checks the targets and weights of cross-entropy against `classes`.
inline void check_cross_entropy(const_tensor_view logits, const std::vector<std::size_t>& targets,
                                const cross_entropy_options& options) {
    const char* operation = "cross entropy";
    const shape4& s = logits.shape();
    if (targets.size() != s.n) {
        throw shape_error(operation, "targets",
                          "expected one target per sample (" + std::to_string(s.n) + "), got " +
                              std::to_string(targets.size()));
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
        if (targets[i] >= s.c) {
            throw invalid_argument(operation, "targets[" + std::to_string(i) + "]",
                                   "expected a class index below " + std::to_string(s.c) +
                                       ", got " + std::to_string(targets[i]));
        }
    }
    if (!options.class_weights.empty() && options.class_weights.size() != s.c) {
        throw invalid_argument(operation, "class_weights",
                               "expected one weight per class (" + std::to_string(s.c) + "), got " +
                                   std::to_string(options.class_weights.size()));
    }
    check_weights(operation, "class_weights", options.class_weights);
    const double e = options.label_smoothing;
    if (!(e >= 0.0 && e <= 1.0)) {
        throw invalid_argument(operation, "label_smoothing",
                               "expected a value in [0, 1], got " + std::to_string(e));
    }
}

/// log(1 + exp(-|x|)) + max(-x, 0) = -log(sigmoid(x)), never overflowing.
inline double softplus_of_negative(double x) {
    return std::log1p(std::exp(-std::abs(x))) + std::max(-x, 0.0);
}

/// sigmoid(-x) = 1 - sigmoid(x), through an exponential of a value <= 0 only.
inline double sigmoid_of_negative(double x) {
    const double e = std::exp(-std::abs(x));
    return x >= 0.0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
}

} // namespace detail

inline loss_result cross_entropy(const_tensor_view logits, const std::vector<std::size_t>& targets,
                                 const cross_entropy_options& options) {
    detail::check_logits("cross entropy", logits, 1);
    detail::check_cross_entropy(logits, targets, options);

    const std::size_t n = logits.shape().n;
    const std::size_t classes = logits.shape().c;
    const double e = options.label_smoothing;
    std::vector<double> w(classes, 1.0);
    std::copy(options.class_weights.begin(), options.class_weights.end(), w.begin());
    double weight_total = 0.0; // W, the targets' weights
    double weight_sum = 0.0;   // sum over classes of w[c]
    for (std::size_t i = 0; i < n; ++i) {
        weight_total += w[targets[i]];
    }
    for (double value : w) {
        weight_sum += value;
    }
    if (!(weight_total > 0.0)) {
        throw invalid_argument("cross entropy", "class_weights",
                               "expected the targets' class weights to sum to more than 0, got 0");
    }

    loss_result result;
    result.grad = tensor::uninitialized(logits.shape());
    std::vector<double> lp(classes);
    double nll = 0.0, smooth = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const float* x = logits.sample(i);
        const double top = *std::max_element(x, x + classes);
        double total = 0.0;
        for (std::size_t c = 0; c < classes; ++c) {
            total += std::exp(double(x[c]) - top);
        }
        const double log_total = std::log(total);
        for (std::size_t c = 0; c < classes; ++c) {
            lp[c] = double(x[c]) - top - log_total;
            smooth -= w[c] * lp[c];
        }
        const std::size_t y = targets[i];
        nll -= w[y] * lp[y];

        // dL/dx_c = ((1 - e) w[y] (p_c - [c = y]) + (e / C) (p_c sum_k w[k] - w[c])) / W.
        float* g = result.grad.sample(i);
        for (std::size_t c = 0; c < classes; ++c) {
            const double p = std::exp(lp[c]);
            const double hard = (1.0 - e) * w[y] * (p - (c == y ? 1.0 : 0.0));
            const double soft = e / double(classes) * (p * weight_sum - w[c]);
            g[c] = static_cast<float>((hard + soft) / weight_total);
        }
    }
    result.value = ((1.0 - e) * nll + e / double(classes) * smooth) / weight_total;
    return result;
}

inline loss_result binary_cross_entropy_with_logits(const_tensor_view logits,
                                                    const std::vector<float>& targets,
                                                    const bce_options& options) {
    const char* operation = "binary cross entropy with logits";
    detail::check_logits(operation, logits, 1);
    const std::size_t count = logits.size();
    const std::size_t columns = logits.shape().c;
    if (targets.size() != count) {
        throw shape_error(operation, "targets",
                          "expected one target per logit (" + std::to_string(count) + "), got " +
                              std::to_string(targets.size()));
    }
    for (std::size_t i = 0; i < count; ++i) {
        if (!(targets[i] >= 0.0f && targets[i] <= 1.0f)) {
            throw invalid_argument(operation, "targets[" + std::to_string(i) + "]",
                                   "expected a probability in [0, 1], got " +
                                       std::to_string(targets[i]));
        }
    }
    const std::size_t weights = options.pos_weight.size();
    if (weights != 0 && weights != 1 && weights != columns) {
        throw invalid_argument(operation, "pos_weight",
                               "expected 1 or " + std::to_string(columns) +
                                   " values (one per column), got " + std::to_string(weights));
    }
    detail::check_weights(operation, "pos_weight", options.pos_weight);

    loss_result result;
    result.grad = tensor::uninitialized(logits.shape());
    const double scale = 1.0 / double(count);
    double total = 0.0;
    for (std::size_t i = 0; i < count; ++i) {
        const double x = logits.data()[i];
        const double y = targets[i];
        const double p = weights == 0 ? 1.0 : options.pos_weight[weights == 1 ? 0 : i % columns];
        const double log_weight = 1.0 + (p - 1.0) * y;
        total += (1.0 - y) * x + log_weight * detail::softplus_of_negative(x);
        // d/dx softplus(-x) = -sigmoid(-x); without pos_weight the gradient is sigmoid(x) - y.
        result.grad.data()[i] =
            static_cast<float>(((1.0 - y) - log_weight * detail::sigmoid_of_negative(x)) * scale);
    }
    result.value = total * scale;
    return result;
}

} // namespace lusnet
