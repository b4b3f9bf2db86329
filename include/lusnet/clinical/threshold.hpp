#pragma once

/// @file threshold.hpp
/// Choosing a decision threshold on development data: the Youden-optimal threshold, or the
/// highest threshold that reaches a target sensitivity, each returned with the metrics it
/// gives on that data.
///
/// A threshold is always one of the scores, and a case is called positive when its score is
/// >= the threshold (metrics.hpp). Metrics at the chosen threshold are measured on the data
/// that chose it and so are optimistic; report those of independent test data (the study
/// develops on 74 patients and tests on 66 others).

#include "lusnet/clinical/metrics.hpp"
#include "lusnet/error.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace lusnet::clinical {

/// How `choose_threshold` picks the threshold.
enum class threshold_method {
    youden,            ///< maximise sensitivity + specificity - 1
    target_sensitivity ///< the highest threshold with sensitivity >= the target
};

/// Settings of `choose_threshold`.
struct threshold_options {
    threshold_method method = threshold_method::youden;
    double target_sensitivity = 0.9; ///< in (0, 1]; read by `target_sensitivity` only
    double level = 0.95;             ///< confidence level of the metrics' intervals
};

/// A chosen threshold and the metrics it gives on the data that chose it.
struct threshold_choice {
    bool defined = false; ///< false when the data lack a class the method needs
    std::string reason;   ///< empty when defined
    threshold_method method = threshold_method::youden;
    double threshold = std::numeric_limits<double>::quiet_NaN();
    /// Sensitivity + specificity - 1 at the threshold; NaN without negative cases.
    double youden_index = std::numeric_limits<double>::quiet_NaN();
    threshold_metrics metrics; ///< at `threshold`, on the same cases
};

/// The threshold maximising Youden's J = sensitivity + specificity - 1 over the distinct
/// scores; undefined unless both classes are present.
///
/// J is compared exactly, as TP * negatives - FP * positives in integers, so equal J values
/// tie exactly. Among ties the highest threshold wins, the one calling fewer cases positive:
/// it is the point `numpy.argmax(tpr - fpr)` picks on scikit-learn's ROC curve (whose first
/// maximum is the highest threshold). The +infinity point of the ROC curve is not a candidate:
/// the lowest score has J = 0 as well, so a finite threshold always exists.
threshold_choice youden_threshold(const std::vector<double>& scores, const std::vector<int>& labels,
                                  double level = 0.95);

/// The highest threshold whose sensitivity is >= `target` (in (0, 1]): the k-th highest score
/// among positive cases, k the least count with k / positives >= target. It maximises
/// specificity under the sensitivity constraint. Undefined without positive cases; without
/// negative cases the threshold exists but specificity and J are undefined.
threshold_choice sensitivity_threshold(const std::vector<double>& scores,
                                       const std::vector<int>& labels, double target,
                                       double level = 0.95);

/// `youden_threshold` or `sensitivity_threshold`, as `options` say.
threshold_choice choose_threshold(const std::vector<double>& scores, const std::vector<int>& labels,
                                  const threshold_options& options = {});

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// Fills the metrics and J of `choice` at its threshold.
inline void measure_choice(threshold_choice& choice, const std::vector<double>& scores,
                           const std::vector<int>& labels, double level) {
    choice.defined = true;
    choice.metrics = metrics_at_threshold(scores, labels, choice.threshold, level);
    if (choice.metrics.sensitivity.defined && choice.metrics.specificity.defined) {
        choice.youden_index =
            choice.metrics.sensitivity.value + choice.metrics.specificity.value - 1.0;
    }
}

} // namespace detail

inline threshold_choice youden_threshold(const std::vector<double>& scores,
                                         const std::vector<int>& labels, double level) {
    detail::check_level("youden_threshold", level);
    const roc curve = roc_curve(scores, labels);

    threshold_choice choice;
    choice.method = threshold_method::youden;
    if (!curve.defined) {
        choice.reason = curve.reason;
        return choice;
    }

    // J * positives * negatives = TP * negatives - FP * positives: an exact integer.
    const auto positives = static_cast<std::int64_t>(curve.positives);
    const auto negatives = static_cast<std::int64_t>(curve.negatives);
    std::size_t best = 1;
    std::int64_t best_j = std::numeric_limits<std::int64_t>::min();
    for (std::size_t k = 1; k < curve.points.size(); ++k) {
        const std::int64_t j =
            static_cast<std::int64_t>(curve.points[k].true_positives) * negatives -
            static_cast<std::int64_t>(curve.points[k].false_positives) * positives;
        if (j > best_j) {
            best_j = j;
            best = k;
        }
    }
    choice.threshold = curve.points[best].threshold;
    detail::measure_choice(choice, scores, labels, level);
    return choice;
}

inline threshold_choice sensitivity_threshold(const std::vector<double>& scores,
                                              const std::vector<int>& labels, double target,
                                              double level) {
    detail::check_cases("sensitivity_threshold", scores, labels);
    detail::check_level("sensitivity_threshold", level);
    if (!(target > 0.0 && target <= 1.0)) {
        throw invalid_argument("sensitivity_threshold", "target",
                               "expected a sensitivity in (0, 1], got " + detail::describe(target));
    }

    threshold_choice choice;
    choice.method = threshold_method::target_sensitivity;
    std::vector<double> positive;
    for (std::size_t i = 0; i < scores.size(); ++i) {
        if (labels[i] == 1) {
            positive.push_back(scores[i]);
        }
    }
    if (positive.empty()) {
        choice.reason = scores.empty() ? "no cases" : "no positive cases: no sensitivity to reach";
        return choice;
    }

    // The least k with k / P >= target, compared as the sensitivity itself is computed.
    const double total = static_cast<double>(positive.size());
    std::size_t k = 1;
    while (static_cast<double>(k) / total < target) {
        ++k;
    }
    std::sort(positive.begin(), positive.end(), std::greater<double>());
    choice.threshold = positive[k - 1];
    detail::measure_choice(choice, scores, labels, level);
    return choice;
}

inline threshold_choice choose_threshold(const std::vector<double>& scores,
                                         const std::vector<int>& labels,
                                         const threshold_options& options) {
    if (options.method == threshold_method::target_sensitivity) {
        return sensitivity_threshold(scores, labels, options.target_sensitivity, options.level);
    }
    return youden_threshold(scores, labels, options.level);
}

} // namespace lusnet::clinical
