#pragma once

/// @file metrics.hpp
/// Diagnostic accuracy statistics of a binary test: proportions with Wilson intervals at a
/// threshold, the ROC curve, the ROC AUC with DeLong's variance and interval, DeLong's test of
/// two correlated AUCs, the Brier score and Spearman's rank correlation.
///
/// Conventions shared by every function here:
/// - `labels` hold 1 for a positive case (disease present) and 0 for a negative one; a score is
///   larger for "more likely positive", and a case is called positive when score >= threshold
///   (scikit-learn's convention in `roc_curve`).
/// - A statistic that the data cannot define is returned with `defined = false` and a `reason`
///   in words, its numbers NaN; it is never an exception. That covers all labels one class (no
///   AUC), a zero denominator (no specificity without negative cases), too few pairs for a
///   correlation or its interval, and no cases at all.
/// - Malformed input is an exception, `lusnet::invalid_argument`: a score or label list whose
///   length differs from the other, a NaN or infinite score (the message names its index), a
///   label other than 0 or 1 (named likewise), a confidence level outside (0, 1).
/// - Confidence intervals are two-sided at `level` (0.95 by default), with the normal critical
///   value of distributions.hpp.

#include "lusnet/clinical/distributions.hpp"
#include "lusnet/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace lusnet::clinical {

/// A confidence interval that may be undefined.
struct interval {
    bool defined = false; ///< false when the data cannot give the interval; `reason` says why
    std::string reason;   ///< empty when defined
    double level = 0.95;  ///< the confidence level
    double lower = std::numeric_limits<double>::quiet_NaN(); ///< NaN when undefined
    double upper = std::numeric_limits<double>::quiet_NaN(); ///< NaN when undefined
};

/// One number that may be undefined, e.g. the Brier score of no cases.
struct estimate {
    bool defined = false; ///< false when the data cannot give the value; `reason` says why
    std::string reason;   ///< empty when defined
    double value = std::numeric_limits<double>::quiet_NaN(); ///< NaN when undefined
};

/// `count / total` with its Wilson score interval; undefined when `total` is 0.
struct proportion {
    bool defined = false; ///< false when `total` is 0
    std::string reason;   ///< empty when defined
    std::size_t count = 0;
    std::size_t total = 0;
    double value = std::numeric_limits<double>::quiet_NaN(); ///< count / total
    interval wilson;                                         ///< Wilson score interval
};

/// The confusion matrix of "positive when score >= threshold" and the proportions made of it.
struct threshold_metrics {
    double threshold = 0.0;
    std::size_t true_positives = 0;
    std::size_t false_positives = 0;
    std::size_t true_negatives = 0;
    std::size_t false_negatives = 0;
    proportion sensitivity; ///< TP / (TP + FN), undefined without positive cases
    proportion specificity; ///< TN / (TN + FP), undefined without negative cases
    proportion ppv;         ///< TP / (TP + FP), undefined when no case is called positive
    proportion npv;         ///< TN / (TN + FN), undefined when no case is called negative
    proportion accuracy;    ///< (TP + TN) / all, undefined without cases
};

/// One point of a ROC curve: the cases with score >= threshold are called positive.
struct roc_point {
    double threshold = 0.0; ///< +infinity for the first point, where no case is positive
    std::size_t true_positives = 0;
    std::size_t false_positives = 0;
    double fpr = 0.0; ///< false positives / negatives, 1 - specificity
    double tpr = 0.0; ///< true positives / positives, the sensitivity
};

/// A ROC curve; undefined unless both classes are present.
struct roc {
    bool defined = false; ///< false when a class is missing; `reason` says which
    std::string reason;   ///< empty when defined
    std::size_t positives = 0;
    std::size_t negatives = 0;
    std::vector<roc_point> points; ///< thresholds decreasing, from (0, 0) to (1, 1); empty when
                                   ///< undefined
};

/// The ROC AUC with DeLong's variance and two intervals built on it.
struct auc_estimate {
    bool defined = false; ///< false when a class is missing; `reason` says which
    std::string reason;   ///< empty when defined
    std::size_t positives = 0;
    std::size_t negatives = 0;
    double auc = std::numeric_limits<double>::quiet_NaN(); ///< Mann-Whitney U / (m n)
    /// DeLong's variance of the AUC; NaN when `delong` is undefined (fewer than 2 cases in a
    /// class).
    double variance = std::numeric_limits<double>::quiet_NaN();
    double standard_error = std::numeric_limits<double>::quiet_NaN(); ///< sqrt(variance)
    /// AUC -/+ z SE, clipped to [0, 1]: the usual DeLong interval, symmetric on the AUC scale.
    interval delong;
    /// expit(logit(AUC) -/+ z SE / (AUC (1 - AUC))), the same variance carried to the logit
    /// scale by the delta method: it stays inside (0, 1) without clipping and is asymmetric near
    /// the bounds, where the symmetric interval is known to undercover. Both intervals
    /// collapse to the point at AUC 0 or 1, where DeLong's variance is 0.
    // TODO(#6): a zero-width interval at perfect separation overstates certainty in a study of
    // 66 patients; offer a stratified bootstrap interval beside DeLong's for that case.
    interval delong_logit;
};

/// DeLong's test of the difference of two AUCs measured on the same cases.
struct auc_comparison {
    bool defined = false; ///< false when a class has fewer than 2 cases or the variance is 0
    std::string reason;   ///< empty when defined
    std::size_t positives = 0;
    std::size_t negatives = 0;
    double auc_a = std::numeric_limits<double>::quiet_NaN();
    double auc_b = std::numeric_limits<double>::quiet_NaN();
    double difference = std::numeric_limits<double>::quiet_NaN(); ///< auc_a - auc_b
    double variance = std::numeric_limits<double>::quiet_NaN();   ///< of the difference
    double standard_error = std::numeric_limits<double>::quiet_NaN();
    double z = std::numeric_limits<double>::quiet_NaN();       ///< difference / standard_error
    double p_value = std::numeric_limits<double>::quiet_NaN(); ///< two-sided, 2 P(Z > |z|)
    interval delong; ///< difference -/+ z SE, clipped to [-1, 1]
};

/// Spearman's rank correlation with its p-value and Fisher-z interval.
struct spearman_estimate {
    bool defined = false; ///< false with fewer than 3 pairs or a constant variable
    std::string reason;   ///< empty when defined
    std::size_t n = 0;    ///< number of pairs
    double rho = std::numeric_limits<double>::quiet_NaN();
    /// Two-sided, from Student's t with n - 2 degrees of freedom, as `scipy.stats.spearmanr`.
    double p_value = std::numeric_limits<double>::quiet_NaN();
    /// tanh(atanh(rho) -/+ z 1.06 / sqrt(n - 3)); undefined with fewer than 4 pairs.
    interval fisher;
};

/// `count / total` with the Wilson score interval at `level`; undefined when `total` is 0,
/// invalid_argument when `count > total`.
///
/// Wilson (1927) inverts the score test: centre (p + z^2/2n) / (1 + z^2/n), half-width
/// z / (1 + z^2/n) sqrt(p (1 - p) / n + z^2 / 4n^2). Unlike the Wald interval it stays inside
/// [0, 1] and keeps a width at 0 % and 100 %, where sensitivities of small studies often sit.
proportion wilson_proportion(std::size_t count, std::size_t total, double level = 0.95);

/// The confusion matrix and the five proportions, each with its Wilson interval, of calling a
/// case positive when its score is >= `threshold` (which may be infinite, not NaN).
threshold_metrics metrics_at_threshold(const std::vector<double>& scores,
                                       const std::vector<int>& labels, double threshold,
                                       double level = 0.95);

/// The ROC curve as scikit-learn's `roc_curve(drop_intermediate=False)`: one point per distinct
/// score, thresholds decreasing, after a first point (0, 0) at threshold +infinity.
roc roc_curve(const std::vector<double>& scores, const std::vector<int>& labels);

/// The ROC AUC, its DeLong variance and intervals at `level`.
///
/// The AUC is the Mann-Whitney statistic: the share of (positive, negative) pairs in which the
/// positive scores higher, a tie counting 1/2; it equals the trapezoidal area under
/// `roc_curve`. DeLong, DeLong & Clarke-Pearson (Biometrics 1988) estimate its variance from
/// placement values: for positive i, V10(i) is the share of negatives it beats; for negative
/// j, V01(j) is the share of positives that beat it (ties 1/2). With m positives and n
/// negatives, S10 and S01 are the sample variances (divisor m - 1, n - 1) of V10 and V01 and
/// Var(AUC) = S10 / m + S01 / n. The placements are counted by binary search in the sorted
/// other class, O((m + n) log(m + n)).
auc_estimate roc_auc(const std::vector<double>& scores, const std::vector<int>& labels,
                     double level = 0.95);

/// DeLong's test that two scores of the same cases have equal AUCs: with the placement values
/// of both, Var(A - B) = (S10_aa + S10_bb - 2 S10_ab) / m + (S01_aa + S01_bb - 2 S01_ab) / n
/// (S the sample covariances), z = (A - B) / sqrt(Var) and p = 2 P(Z > |z|). Undefined when a
/// class has fewer than 2 cases, or when the variance is 0 (the two scores order the cases
/// alike, or both separate them perfectly).
auc_comparison delong_test(const std::vector<double>& scores_a, const std::vector<double>& scores_b,
                           const std::vector<int>& labels, double level = 0.95);

/// The Brier score, the mean of (probability - label)^2; `probabilities` must lie in [0, 1]
/// (invalid_argument naming the first that does not). Undefined without cases.
estimate brier_score(const std::vector<double>& probabilities, const std::vector<int>& labels);

/// Spearman's rho of the pairs (x[i], y[i]): Pearson's correlation of their ranks, tied values
/// sharing the average of their ranks (`scipy.stats.rankdata(method="average")`).
///
/// The p-value is scipy's: two-sided, with t = rho sqrt((n - 2) / (1 - rho^2)) following
/// Student's t with n - 2 degrees of freedom, evaluated through the regularized incomplete beta
/// function. The interval transforms by Fisher's z = atanh(rho) with the standard error
/// 1.06 / sqrt(n - 3) that Fieller, Hartley & Pearson (Biometrika 1957) derived for Spearman's
/// rho (Pearson's r has 1 / sqrt(n - 3)); Bonett & Wright (Psychometrika 2000) found it
/// adequate for |rho| up to about 0.9 and proposed sqrt((1 + rho^2 / 2) / (n - 3)) beyond.
/// At |rho| = 1 the p-value is 0 and the interval collapses to the point.
spearman_estimate spearman(const std::vector<double>& x, const std::vector<double>& y,
                           double level = 0.95);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// A number for a message: "nan" and "inf" spelled out.
inline std::string describe(double value) {
    if (std::isnan(value)) {
        return "nan";
    }
    if (std::isinf(value)) {
        return value > 0.0 ? "inf" : "-inf";
    }
    return std::to_string(value);
}

inline void check_same_length(const char* operation, const char* what, std::size_t first,
                              std::size_t second) {
    if (first != second) {
        throw invalid_argument(operation, what,
                               "expected the same length, got " + std::to_string(first) + " and " +
                                   std::to_string(second));
    }
}

inline void check_finite(const char* operation, const char* name,
                         const std::vector<double>& values) {
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) {
            throw invalid_argument(operation, std::string(name) + "[" + std::to_string(i) + "]",
                                   "expected a finite number, got " + describe(values[i]));
        }
    }
}

inline void check_labels(const char* operation, const std::vector<int>& labels) {
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] != 0 && labels[i] != 1) {
            throw invalid_argument(operation, "labels[" + std::to_string(i) + "]",
                                   "expected 0 or 1, got " + std::to_string(labels[i]));
        }
    }
}

inline void check_level(const char* operation, double level) {
    if (!(level > 0.0 && level < 1.0)) {
        throw invalid_argument(operation, "level",
                               "expected a confidence level in (0, 1), got " + describe(level));
    }
}

/// Validates a score list against its labels: same length, finite scores, labels 0 or 1.
inline void check_cases(const char* operation, const std::vector<double>& scores,
                        const std::vector<int>& labels) {
    check_same_length(operation, "scores and labels", scores.size(), labels.size());
    check_finite(operation, "scores", scores);
    check_labels(operation, labels);
}

/// "no positive cases" and the like; empty when both classes are present.
inline std::string missing_class(std::size_t positives, std::size_t negatives) {
    if (positives == 0 && negatives == 0) {
        return "no cases";
    }
    if (positives == 0) {
        return "all " + std::to_string(negatives) + " cases are negative: both classes needed";
    }
    if (negatives == 0) {
        return "all " + std::to_string(positives) + " cases are positive: both classes needed";
    }
    return {};
}

inline interval undefined_interval(double level, std::string reason) {
    interval result;
    result.level = level;
    result.reason = std::move(reason);
    return result;
}

inline interval make_interval(double level, double lower, double upper) {
    interval result;
    result.defined = true;
    result.level = level;
    result.lower = lower;
    result.upper = upper;
    return result;
}

/// The DeLong placement values of one score list: V10 per positive, V01 per negative, and the
/// AUC as the exact Mann-Whitney count.
struct placements {
    std::vector<double> v10;
    std::vector<double> v01;
    double auc = 0.0;
};

/// Placement values by binary search in the sorted other class: a positive's V10 counts the
/// negatives strictly below it plus half those equal to it, a negative's V01 the positives
/// strictly above plus half those equal. Both lists follow the order of the cases in `scores`,
/// so the placements of two scores of the same cases pair up. Twice the Mann-Whitney U is
/// summed in integers, so the AUC carries a single rounding.
inline placements placement_values(const std::vector<double>& scores,
                                   const std::vector<int>& labels) {
    std::vector<double> positive;
    std::vector<double> negative;
    for (std::size_t i = 0; i < scores.size(); ++i) {
        (labels[i] == 1 ? positive : negative).push_back(scores[i]);
    }
    std::sort(positive.begin(), positive.end());
    std::sort(negative.begin(), negative.end());
    const double m = static_cast<double>(positive.size());
    const double n = static_cast<double>(negative.size());

    placements result;
    result.v10.reserve(positive.size());
    result.v01.reserve(negative.size());
    std::uint64_t twice_u = 0;
    for (std::size_t i = 0; i < scores.size(); ++i) {
        const double s = scores[i];
        if (labels[i] == 1) {
            const auto below = std::lower_bound(negative.begin(), negative.end(), s);
            const auto above = std::upper_bound(below, negative.end(), s);
            const auto twice =
                static_cast<std::uint64_t>(2 * (below - negative.begin()) + (above - below));
            twice_u += twice;
            result.v10.push_back(static_cast<double>(twice) / (2.0 * n));
        } else {
            const auto below = std::lower_bound(positive.begin(), positive.end(), s);
            const auto above = std::upper_bound(below, positive.end(), s);
            const auto twice =
                static_cast<std::uint64_t>(2 * (positive.end() - above) + (above - below));
            result.v01.push_back(static_cast<double>(twice) / (2.0 * m));
        }
    }
    result.auc = static_cast<double>(twice_u) / (2.0 * m * n);
    return result;
}

/// The sample covariance (divisor size - 1) of two equally long lists around known means.
inline double sample_covariance(const std::vector<double>& a, double mean_a,
                                const std::vector<double>& b, double mean_b) {
    double sum = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        sum += (a[i] - mean_a) * (b[i] - mean_b);
    }
    return sum / static_cast<double>(a.size() - 1);
}

/// 1-based ranks of `values`, tied values sharing the average of the ranks they span.
inline std::vector<double> average_ranks(const std::vector<double>& values) {
    std::vector<std::size_t> order(values.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });

    std::vector<double> ranks(values.size());
    for (std::size_t first = 0; first < order.size();) {
        std::size_t last = first + 1;
        while (last < order.size() && values[order[last]] == values[order[first]]) {
            ++last;
        }
        // Positions first..last-1 hold ranks first+1..last; their mean is (first + 1 + last) / 2.
        const double rank = 0.5 * static_cast<double>(first + 1 + last);
        for (std::size_t k = first; k < last; ++k) {
            ranks[order[k]] = rank;
        }
        first = last;
    }
    return ranks;
}

/// Pearson's correlation of two non-constant lists, clipped to [-1, 1] against rounding.
inline double pearson(const std::vector<double>& a, const std::vector<double>& b) {
    const double n = static_cast<double>(a.size());
    const double mean_a = std::accumulate(a.begin(), a.end(), 0.0) / n;
    const double mean_b = std::accumulate(b.begin(), b.end(), 0.0) / n;
    double ab = 0.0;
    double aa = 0.0;
    double bb = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        ab += (a[i] - mean_a) * (b[i] - mean_b);
        aa += (a[i] - mean_a) * (a[i] - mean_a);
        bb += (b[i] - mean_b) * (b[i] - mean_b);
    }
    return std::clamp(ab / std::sqrt(aa * bb), -1.0, 1.0);
}

inline bool is_constant(const std::vector<double>& values) {
    return std::all_of(values.begin(), values.end(), [&](double v) { return v == values.front(); });
}

} // namespace detail

inline proportion wilson_proportion(std::size_t count, std::size_t total, double level) {
    detail::check_level("wilson_proportion", level);
    if (count > total) {
        throw invalid_argument("wilson_proportion", "count",
                               "expected at most the total " + std::to_string(total) + ", got " +
                                   std::to_string(count));
    }

    proportion result;
    result.count = count;
    result.total = total;
    if (total == 0) {
        result.reason = "the denominator is 0";
        result.wilson = detail::undefined_interval(level, result.reason);
        return result;
    }

    const double n = static_cast<double>(total);
    const double p = static_cast<double>(count) / n;
    const double z = normal_critical_value(level);
    const double z2 = z * z;
    const double shrink = 1.0 + z2 / n;
    const double centre = (p + z2 / (2.0 * n)) / shrink;
    const double half = z / shrink * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
    result.defined = true;
    result.value = p;
    // At p = 0 (p = 1) the lower (upper) bound is exactly 0 (1) in real arithmetic; it is set
    // so, and clipping keeps rounding from putting the other bound outside [0, 1].
    const double lower = count == 0 ? 0.0 : std::max(0.0, centre - half);
    const double upper = count == total ? 1.0 : std::min(1.0, centre + half);
    result.wilson = detail::make_interval(level, lower, upper);
    return result;
}

inline threshold_metrics metrics_at_threshold(const std::vector<double>& scores,
                                              const std::vector<int>& labels, double threshold,
                                              double level) {
    detail::check_cases("metrics_at_threshold", scores, labels);
    detail::check_level("metrics_at_threshold", level);
    if (std::isnan(threshold)) {
        throw invalid_argument("metrics_at_threshold", "threshold", "expected a number, got nan");
    }

    threshold_metrics m;
    m.threshold = threshold;
    for (std::size_t i = 0; i < scores.size(); ++i) {
        const bool called = scores[i] >= threshold;
        if (labels[i] == 1) {
            ++(called ? m.true_positives : m.false_negatives);
        } else {
            ++(called ? m.false_positives : m.true_negatives);
        }
    }

    auto make = [&](std::size_t count, std::size_t total, const char* empty) {
        proportion p = wilson_proportion(count, total, level);
        if (!p.defined) {
            p.reason = empty;
            p.wilson.reason = empty;
        }
        return p;
    };
    m.sensitivity =
        make(m.true_positives, m.true_positives + m.false_negatives, "no positive cases");
    m.specificity =
        make(m.true_negatives, m.true_negatives + m.false_positives, "no negative cases");
    m.ppv =
        make(m.true_positives, m.true_positives + m.false_positives, "no case is called positive");
    m.npv =
        make(m.true_negatives, m.true_negatives + m.false_negatives, "no case is called negative");
    m.accuracy = make(m.true_positives + m.true_negatives, scores.size(), "no cases");
    return m;
}

inline roc roc_curve(const std::vector<double>& scores, const std::vector<int>& labels) {
    detail::check_cases("roc_curve", scores, labels);

    roc result;
    result.positives = static_cast<std::size_t>(std::count(labels.begin(), labels.end(), 1));
    result.negatives = labels.size() - result.positives;
    result.reason = detail::missing_class(result.positives, result.negatives);
    if (!result.reason.empty()) {
        return result;
    }

    std::vector<std::size_t> order(scores.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });

    const double positives = static_cast<double>(result.positives);
    const double negatives = static_cast<double>(result.negatives);
    result.defined = true;
    result.points.push_back({std::numeric_limits<double>::infinity(), 0, 0, 0.0, 0.0});
    std::size_t tp = 0;
    std::size_t fp = 0;
    for (std::size_t k = 0; k < order.size(); ++k) {
        ++(labels[order[k]] == 1 ? tp : fp);
        // A point closes a run of equal scores: the threshold admits all of them at once.
        if (k + 1 == order.size() || scores[order[k + 1]] != scores[order[k]]) {
            result.points.push_back({scores[order[k]], tp, fp, static_cast<double>(fp) / negatives,
                                     static_cast<double>(tp) / positives});
        }
    }
    return result;
}

inline auc_estimate roc_auc(const std::vector<double>& scores, const std::vector<int>& labels,
                            double level) {
    detail::check_cases("roc_auc", scores, labels);
    detail::check_level("roc_auc", level);

    auc_estimate result;
    result.positives = static_cast<std::size_t>(std::count(labels.begin(), labels.end(), 1));
    result.negatives = labels.size() - result.positives;
    result.reason = detail::missing_class(result.positives, result.negatives);
    if (!result.reason.empty()) {
        result.delong = detail::undefined_interval(level, result.reason);
        result.delong_logit = result.delong;
        return result;
    }

    const detail::placements v = detail::placement_values(scores, labels);
    result.defined = true;
    result.auc = v.auc;
    if (result.positives < 2 || result.negatives < 2) {
        const std::string why = "DeLong's variance needs at least 2 positive and 2 negative "
                                "cases, got " +
                                std::to_string(result.positives) + " and " +
                                std::to_string(result.negatives);
        result.delong = detail::undefined_interval(level, why);
        result.delong_logit = result.delong;
        return result;
    }

    const double m = static_cast<double>(result.positives);
    const double n = static_cast<double>(result.negatives);
    result.variance = detail::sample_covariance(v.v10, v.auc, v.v10, v.auc) / m +
                      detail::sample_covariance(v.v01, v.auc, v.v01, v.auc) / n;
    result.standard_error = std::sqrt(result.variance);

    const double z = normal_critical_value(level);
    const double a = result.auc;
    const double half = z * result.standard_error;
    result.delong = detail::make_interval(level, std::max(0.0, a - half), std::min(1.0, a + half));
    if (a > 0.0 && a < 1.0) {
        // Delta method: d logit(A) / dA = 1 / (A (1 - A)).
        const double centre = std::log(a / (1.0 - a));
        const double logit_half = half / (a * (1.0 - a));
        auto expit = [](double t) {
            return 1.0 / (1.0 + std::exp(-t));
        };
        result.delong_logit =
            detail::make_interval(level, expit(centre - logit_half), expit(centre + logit_half));
    } else {
        result.delong_logit = detail::make_interval(level, a, a);
    }
    return result;
}

inline auc_comparison delong_test(const std::vector<double>& scores_a,
                                  const std::vector<double>& scores_b,
                                  const std::vector<int>& labels, double level) {
    detail::check_cases("delong_test", scores_a, labels);
    detail::check_same_length("delong_test", "scores_a and scores_b", scores_a.size(),
                              scores_b.size());
    detail::check_finite("delong_test", "scores_b", scores_b);
    detail::check_level("delong_test", level);

    auc_comparison result;
    result.positives = static_cast<std::size_t>(std::count(labels.begin(), labels.end(), 1));
    result.negatives = labels.size() - result.positives;
    result.reason = detail::missing_class(result.positives, result.negatives);
    if (result.reason.empty() && (result.positives < 2 || result.negatives < 2)) {
        result.reason = "DeLong's test needs at least 2 positive and 2 negative cases, got " +
                        std::to_string(result.positives) + " and " +
                        std::to_string(result.negatives);
    }
    if (!result.reason.empty()) {
        result.delong = detail::undefined_interval(level, result.reason);
        return result;
    }

    const detail::placements a = detail::placement_values(scores_a, labels);
    const detail::placements b = detail::placement_values(scores_b, labels);
    const double m = static_cast<double>(result.positives);
    const double n = static_cast<double>(result.negatives);
    auto cov = [](const std::vector<double>& x, double mx, const std::vector<double>& y,
                  double my) {
        return detail::sample_covariance(x, mx, y, my);
    };
    const double s10 = cov(a.v10, a.auc, a.v10, a.auc) + cov(b.v10, b.auc, b.v10, b.auc) -
                       2.0 * cov(a.v10, a.auc, b.v10, b.auc);
    const double s01 = cov(a.v01, a.auc, a.v01, a.auc) + cov(b.v01, b.auc, b.v01, b.auc) -
                       2.0 * cov(a.v01, a.auc, b.v01, b.auc);
    result.auc_a = a.auc;
    result.auc_b = b.auc;
    result.difference = a.auc - b.auc;
    result.variance = s10 / m + s01 / n;
    // The variance of a difference is never negative in exact arithmetic. Below 1e-12 of the
    // two AUCs' own variances it is rounding residue of (nearly) identical placements: 0.
    const double own = (cov(a.v10, a.auc, a.v10, a.auc) + cov(b.v10, b.auc, b.v10, b.auc)) / m +
                       (cov(a.v01, a.auc, a.v01, a.auc) + cov(b.v01, b.auc, b.v01, b.auc)) / n;
    if (!(result.variance > 1e-12 * own)) {
        result.reason = "the variance of the difference is 0: the two scores order the cases "
                        "alike or both separate the classes perfectly";
        result.delong = detail::undefined_interval(level, result.reason);
        return result;
    }

    result.defined = true;
    result.standard_error = std::sqrt(result.variance);
    result.z = result.difference / result.standard_error;
    result.p_value = std::erfc(std::abs(result.z) / std::sqrt(2.0));
    const double half = normal_critical_value(level) * result.standard_error;
    result.delong = detail::make_interval(level, std::max(-1.0, result.difference - half),
                                          std::min(1.0, result.difference + half));
    return result;
}

inline estimate brier_score(const std::vector<double>& probabilities,
                            const std::vector<int>& labels) {
    detail::check_same_length("brier_score", "probabilities and labels", probabilities.size(),
                              labels.size());
    detail::check_labels("brier_score", labels);
    for (std::size_t i = 0; i < probabilities.size(); ++i) {
        if (!(probabilities[i] >= 0.0 && probabilities[i] <= 1.0)) {
            throw invalid_argument("brier_score", "probabilities[" + std::to_string(i) + "]",
                                   "expected a probability in [0, 1], got " +
                                       detail::describe(probabilities[i]));
        }
    }

    estimate result;
    if (probabilities.empty()) {
        result.reason = "no cases";
        return result;
    }
    double sum = 0.0;
    for (std::size_t i = 0; i < probabilities.size(); ++i) {
        const double error = probabilities[i] - labels[i];
        sum += error * error;
    }
    result.defined = true;
    result.value = sum / static_cast<double>(probabilities.size());
    return result;
}

inline spearman_estimate spearman(const std::vector<double>& x, const std::vector<double>& y,
                                  double level) {
    detail::check_same_length("spearman", "x and y", x.size(), y.size());
    detail::check_finite("spearman", "x", x);
    detail::check_finite("spearman", "y", y);
    detail::check_level("spearman", level);

    spearman_estimate result;
    result.n = x.size();
    if (result.n < 3) {
        result.reason =
            "a rank correlation needs at least 3 pairs, got " + std::to_string(result.n);
    } else if (detail::is_constant(x) || detail::is_constant(y)) {
        result.reason = std::string(detail::is_constant(x) ? "x" : "y") +
                        " is constant: the correlation is not defined";
    }
    if (!result.reason.empty()) {
        result.fisher = detail::undefined_interval(level, result.reason);
        return result;
    }

    result.defined = true;
    result.rho = detail::pearson(detail::average_ranks(x), detail::average_ranks(y));
    result.p_value = detail::correlation_p_value(result.rho, result.n);
    if (result.n < 4) {
        result.fisher = detail::undefined_interval(
            level, "the Fisher interval needs at least 4 pairs, got " + std::to_string(result.n));
        return result;
    }

    // atanh(+-1) is +-infinity and tanh carries it back to +-1: a perfect rank correlation
    // gives the point interval.
    const double centre = std::atanh(result.rho);
    const double half =
        normal_critical_value(level) * 1.06 / std::sqrt(static_cast<double>(result.n) - 3.0);
    result.fisher =
        detail::make_interval(level, std::tanh(centre - half), std::tanh(centre + half));
    return result;
}

} // namespace lusnet::clinical
