// Clinical statistics on hand-made cases with answers worked out on paper: distributions,
// Wilson proportions, ROC, AUC and DeLong, Brier, Spearman, thresholds, and the undefined and
// malformed inputs. Parity with scikit-learn and scipy is in test_clinical_parity.cpp.
#include "catch.hpp"

#include "lusnet/clinical/distributions.hpp"
#include "lusnet/clinical/metrics.hpp"
#include "lusnet/clinical/threshold.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace lusnet::clinical;

namespace {

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double z95 = 1.959963984540054;

/// The message of the lusnet::invalid_argument that `call` throws; fails if it throws none.
template <class Call>
std::string invalid_argument_message(Call call) {
    try {
        call();
    } catch (const lusnet::invalid_argument& e) {
        return e.what();
    }
    FAIL("expected lusnet::invalid_argument");
    return {};
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Positives 0.9, 0.8, 0.4 and negatives 0.7, 0.4, 0.2, 0.1, interleaved.
const std::vector<double> small_scores{0.9, 0.7, 0.8, 0.4, 0.4, 0.2, 0.1};
const std::vector<int> small_labels{1, 0, 1, 0, 1, 0, 0};

} // namespace

TEST_CASE("clinical/distributions: the normal quantile inverts the CDF to rounding", "[clinical]") {
    CHECK(normal_quantile(0.5) == 0.0);
    CHECK(normal_quantile(0.975) == Approx(z95).epsilon(1e-15));
    CHECK(normal_critical_value(0.95) == Approx(z95).epsilon(1e-15));
    CHECK(normal_critical_value(0.99) == Approx(2.5758293035489004).epsilon(1e-15));
    for (const double p : {1e-300, 1e-30, 1e-8, 0.001, 0.02425, 0.2, 0.47, 0.5, 0.8, 0.999}) {
        INFO("p = " << p);
        CHECK(normal_cdf(normal_quantile(p)) == Approx(p).epsilon(1e-13));
    }
    // Where 1 - p is close to exact, the quantile is odd about 1/2.
    for (const double p : {0.001, 0.02425, 0.2, 0.47}) {
        INFO("p = " << p);
        CHECK(normal_quantile(1.0 - p) == Approx(-normal_quantile(p)).epsilon(1e-12));
    }
    CHECK_THROWS_AS(normal_quantile(0.0), lusnet::invalid_argument);
    CHECK_THROWS_AS(normal_quantile(1.0), lusnet::invalid_argument);
    CHECK_THROWS_AS(normal_quantile(not_a_number), lusnet::invalid_argument);
    CHECK_THROWS_AS(normal_critical_value(1.0), lusnet::invalid_argument);
}

TEST_CASE("clinical/distributions: incomplete beta and t tails match their closed forms",
          "[clinical]") {
    for (const double x : {0.0, 1e-9, 0.1, 0.37, 0.5, 0.8, 0.999, 1.0}) {
        INFO("x = " << x);
        CHECK(regularized_incomplete_beta(1.0, 1.0, x) == Approx(x).margin(1e-15));
        CHECK(regularized_incomplete_beta(3.5, 1.0, x) == Approx(std::pow(x, 3.5)).margin(1e-15));
        CHECK(regularized_incomplete_beta(1.0, 7.0, x) ==
              Approx(1.0 - std::pow(1.0 - x, 7.0)).margin(1e-15));
    }
    CHECK(regularized_incomplete_beta(12.0, 12.0, 0.5) == Approx(0.5).epsilon(1e-14));

    const double pi = std::acos(-1.0);
    for (const double t : {-30.0, -2.0, -0.3, 0.0, 0.3, 1.0, 4.0, 250.0}) {
        INFO("t = " << t);
        // One degree of freedom is the Cauchy law, sf = 1/2 - atan(t) / pi; two have
        // sf = (1 - t / s) / 2 with s = sqrt(2 + t^2), written 1 / (s (s + t)) for t >= 0 so
        // the expected value itself does not cancel in the tail.
        const double s = std::sqrt(2.0 + t * t);
        const double upper = 1.0 / (s * (s + std::abs(t)));
        CHECK(student_t_sf(t, 1.0) == Approx(0.5 - std::atan(t) / pi).epsilon(1e-13));
        CHECK(student_t_sf(t, 2.0) == Approx(t >= 0.0 ? upper : 1.0 - upper).epsilon(1e-13));
    }
    CHECK(student_t_sf(inf, 3.0) == 0.0);
    CHECK_THROWS_AS(regularized_incomplete_beta(0.0, 1.0, 0.5), lusnet::invalid_argument);
    CHECK_THROWS_AS(regularized_incomplete_beta(1.0, 1.0, 1.5), lusnet::invalid_argument);
    CHECK_THROWS_AS(student_t_sf(1.0, 0.0), lusnet::invalid_argument);
}

TEST_CASE("clinical/wilson: 8 of 10 and 0 of 10 give the hand-computed intervals", "[clinical]") {
    // centre (p + z^2/2n) / (1 + z^2/n), half-width z / (1 + z^2/n) sqrt(p(1-p)/n + z^2/4n^2).
    const proportion eight = wilson_proportion(8, 10);
    REQUIRE(eight.defined);
    CHECK(eight.value == 0.8);
    CHECK(eight.wilson.lower == Approx(0.4901624715366418).epsilon(1e-13));
    CHECK(eight.wilson.upper == Approx(0.9433178485456248).epsilon(1e-13));

    // At 0 %, the lower bound is 0 and the upper z^2 / (n + z^2).
    const proportion none = wilson_proportion(0, 10);
    CHECK(none.wilson.lower == 0.0);
    CHECK(none.wilson.upper == Approx(z95 * z95 / (10.0 + z95 * z95)).epsilon(1e-13));
    const proportion all = wilson_proportion(10, 10);
    CHECK(all.wilson.upper == 1.0);
    CHECK(all.wilson.lower == Approx(10.0 / (10.0 + z95 * z95)).epsilon(1e-13));

    // A wider level widens the interval.
    const proportion wide = wilson_proportion(8, 10, 0.99);
    CHECK(wide.wilson.lower < eight.wilson.lower);
    CHECK(wide.wilson.upper > eight.wilson.upper);
}

TEST_CASE("clinical/wilson: a zero denominator is undefined, a count above it an error",
          "[clinical]") {
    const proportion empty = wilson_proportion(0, 0);
    CHECK_FALSE(empty.defined);
    CHECK_FALSE(empty.wilson.defined);
    CHECK(std::isnan(empty.value));
    CHECK(std::isnan(empty.wilson.lower));
    CHECK_FALSE(empty.reason.empty());
    CHECK_THROWS_AS(wilson_proportion(3, 2), lusnet::invalid_argument);
    CHECK_THROWS_AS(wilson_proportion(1, 2, 0.0), lusnet::invalid_argument);
}

TEST_CASE("clinical/metrics: a 2x2 table gives its five proportions", "[clinical]") {
    // 10 positives, 8 scoring 0.9 and 2 scoring 0.1; 20 negatives, 5 at 0.7 and 15 at 0.2.
    std::vector<double> scores;
    std::vector<int> labels;
    auto add = [&](int count, double score, int label) {
        scores.insert(scores.end(), static_cast<std::size_t>(count), score);
        labels.insert(labels.end(), static_cast<std::size_t>(count), label);
    };
    add(8, 0.9, 1);
    add(2, 0.1, 1);
    add(5, 0.7, 0);
    add(15, 0.2, 0);

    const threshold_metrics m = metrics_at_threshold(scores, labels, 0.5);
    CHECK(m.true_positives == 8);
    CHECK(m.false_negatives == 2);
    CHECK(m.false_positives == 5);
    CHECK(m.true_negatives == 15);
    CHECK(m.sensitivity.value == 0.8);
    CHECK(m.sensitivity.wilson.lower == Approx(0.4901624715366418).epsilon(1e-13));
    CHECK(m.specificity.value == 0.75);
    CHECK(m.ppv.value == Approx(8.0 / 13.0).epsilon(1e-15));
    CHECK(m.npv.value == Approx(15.0 / 17.0).epsilon(1e-15));
    CHECK(m.accuracy.value == Approx(23.0 / 30.0).epsilon(1e-15));

    // A score equal to the threshold is called positive.
    const threshold_metrics at_score = metrics_at_threshold(scores, labels, 0.7);
    CHECK(at_score.false_positives == 5);
    const threshold_metrics nobody = metrics_at_threshold(scores, labels, inf);
    CHECK(nobody.true_positives + nobody.false_positives == 0);
    CHECK_FALSE(nobody.ppv.defined);
    CHECK(nobody.ppv.reason == "no case is called positive");
    CHECK(nobody.npv.defined);
}

TEST_CASE("clinical/roc: the curve matches scikit-learn's on a tied example", "[clinical]") {
    // sklearn.metrics.roc_curve([0, 1, 1, 0], [0.1, 0.4, 0.4, 0.8], drop_intermediate=False)
    const roc curve = roc_curve({0.1, 0.4, 0.4, 0.8}, {0, 1, 1, 0});
    REQUIRE(curve.defined);
    REQUIRE(curve.points.size() == 4);
    const std::vector<double> thresholds{inf, 0.8, 0.4, 0.1};
    const std::vector<double> fpr{0.0, 0.5, 0.5, 1.0};
    const std::vector<double> tpr{0.0, 0.0, 1.0, 1.0};
    for (std::size_t k = 0; k < 4; ++k) {
        INFO("point " << k);
        CHECK(curve.points[k].threshold == thresholds[k]);
        CHECK(curve.points[k].fpr == fpr[k]);
        CHECK(curve.points[k].tpr == tpr[k]);
    }
}

TEST_CASE("clinical/auc: Mann-Whitney with ties and DeLong's variance by hand", "[clinical]") {
    // Pairs won: 0.9 and 0.8 beat all 4 negatives, 0.4 beats 2 and ties 1: U = 10.5 of 12.
    // V10 = (1, 1, 5/8), V01 = (2/3, 5/6, 1, 1); S10 = 3/64, S01 = 11/432,
    // Var = S10 / 3 + S01 / 4 = 19/864.
    const auc_estimate a = roc_auc(small_scores, small_labels);
    REQUIRE(a.defined);
    CHECK(a.positives == 3);
    CHECK(a.negatives == 4);
    CHECK(a.auc == 0.875);
    CHECK(a.variance == Approx(19.0 / 864.0).epsilon(1e-14));
    const double se = std::sqrt(19.0 / 864.0);
    CHECK(a.delong.lower == Approx(0.875 - z95 * se).epsilon(1e-13));
    CHECK(a.delong.upper == 1.0); // 0.875 + 1.96 * 0.148 is clipped
    const double logit = std::log(0.875 / 0.125);
    const double logit_half = z95 * se / (0.875 * 0.125);
    CHECK(a.delong_logit.lower ==
          Approx(1.0 / (1.0 + std::exp(-(logit - logit_half)))).epsilon(1e-13));
    CHECK(a.delong_logit.upper ==
          Approx(1.0 / (1.0 + std::exp(-(logit + logit_half)))).epsilon(1e-13));
    CHECK(a.delong_logit.upper < 1.0);
}

TEST_CASE("clinical/auc: perfect, inverted and all-tied scores give 1, 0 and 1/2", "[clinical]") {
    const std::vector<int> labels{1, 0, 1, 0, 0, 1};
    const auc_estimate perfect = roc_auc({0.9, 0.1, 0.8, 0.3, 0.2, 0.7}, labels);
    CHECK(perfect.auc == 1.0);
    CHECK(perfect.variance == 0.0);
    CHECK(perfect.delong.lower == 1.0);
    CHECK(perfect.delong_logit.lower == 1.0);

    const auc_estimate inverted = roc_auc({0.1, 0.9, 0.2, 0.8, 0.7, 0.3}, labels);
    CHECK(inverted.auc == 0.0);
    CHECK(inverted.delong.upper == 0.0);

    const auc_estimate tied = roc_auc(std::vector<double>(6, 0.4), labels);
    CHECK(tied.auc == 0.5);
    CHECK(tied.variance == 0.0);
}

TEST_CASE("clinical/auc: labels of one class leave AUC, ROC and DeLong undefined, no crash",
          "[clinical]") {
    const std::vector<double> scores{0.2, 0.9, 0.4};
    for (const int label : {0, 1}) {
        const std::vector<int> labels(3, label);
        const auc_estimate a = roc_auc(scores, labels);
        CHECK_FALSE(a.defined);
        CHECK(std::isnan(a.auc));
        CHECK_FALSE(a.delong.defined);
        CHECK(contains(a.reason, label == 1 ? "positive" : "negative"));
        CHECK_FALSE(roc_curve(scores, labels).defined);
        CHECK(roc_curve(scores, labels).points.empty());
        CHECK_FALSE(delong_test(scores, scores, labels).defined);
        CHECK_FALSE(youden_threshold(scores, labels).defined);
    }
    CHECK_FALSE(roc_auc({}, {}).defined);
    CHECK(roc_auc({}, {}).reason == "no cases");

    // One case in a class: the AUC exists, DeLong's sample variances do not.
    const auc_estimate single = roc_auc({0.9, 0.1, 0.3}, {1, 0, 0});
    CHECK(single.defined);
    CHECK(single.auc == 1.0);
    CHECK_FALSE(single.delong.defined);
    CHECK(std::isnan(single.variance));
    CHECK(contains(single.delong.reason, "at least 2"));
}

TEST_CASE("clinical/auc: malformed input names the offending index", "[clinical]") {
    CHECK(contains(invalid_argument_message([] {
                       roc_auc({0.1, 0.2, not_a_number}, {0, 1, 1});
                   }),
                   "scores[2]"));
    CHECK(contains(invalid_argument_message([] { roc_auc({0.1, inf}, {0, 1}); }), "scores[1]"));
    CHECK(contains(invalid_argument_message([] { roc_auc({0.1, 0.2}, {0, 2}); }), "labels[1]"));
    CHECK(contains(invalid_argument_message([] { roc_curve({0.1, 0.2}, {0, -1}); }), "labels[1]"));
    CHECK(contains(invalid_argument_message([] { roc_auc({0.1, 0.2}, {0, 1, 1}); }), "2 and 3"));
    CHECK_THROWS_AS(roc_auc({0.1, 0.2}, {0, 1}, 1.5), lusnet::invalid_argument);
    CHECK_THROWS_AS(metrics_at_threshold({0.1}, {1}, not_a_number), lusnet::invalid_argument);
    CHECK(contains(invalid_argument_message([] {
                       delong_test({0.1, 0.2}, {0.3, not_a_number}, {0, 1});
                   }),
                   "scores_b[1]"));
    CHECK_THROWS_AS(delong_test({0.1, 0.2}, {0.3}, {0, 1}), lusnet::invalid_argument);
}

TEST_CASE("clinical/delong: the better score wins and identical scores are undefined",
          "[clinical]") {
    // b swaps the best positive with the best negative; a keeps the hand example's order.
    std::vector<double> b = small_scores;
    std::swap(b[0], b[1]);
    const auc_comparison c = delong_test(small_scores, b, small_labels);
    REQUIRE(c.defined);
    CHECK(c.auc_a == 0.875);
    CHECK(c.auc_b == roc_auc(b, small_labels).auc);
    CHECK(c.difference > 0.0);
    CHECK(c.z > 0.0);
    CHECK(c.p_value == Approx(std::erfc(c.z / std::sqrt(2.0))).epsilon(1e-15));
    CHECK(c.delong.lower < c.difference);
    CHECK(c.delong.upper > c.difference);

    // Swapping the roles mirrors z and keeps p.
    const auc_comparison mirrored = delong_test(b, small_scores, small_labels);
    CHECK(mirrored.z == Approx(-c.z).epsilon(1e-14));
    CHECK(mirrored.p_value == Approx(c.p_value).epsilon(1e-14));

    // A monotone transform orders the cases alike: the difference has no variance.
    std::vector<double> squared = small_scores;
    for (double& s : squared) {
        s = s * s;
    }
    const auc_comparison same = delong_test(small_scores, squared, small_labels);
    CHECK_FALSE(same.defined);
    CHECK(contains(same.reason, "variance"));
    CHECK(std::isnan(same.p_value));
}

TEST_CASE("clinical/brier: the mean squared error of the probabilities", "[clinical]") {
    const estimate b = brier_score({0.9, 0.2, 0.6}, {1, 0, 0});
    REQUIRE(b.defined);
    CHECK(b.value == Approx((0.01 + 0.04 + 0.36) / 3.0).epsilon(1e-15));
    CHECK(brier_score({1.0, 0.0}, {1, 0}).value == 0.0);
    CHECK_FALSE(brier_score({}, {}).defined);
    CHECK(contains(invalid_argument_message([] {
                       brier_score({0.5, 1.2}, {1, 0});
                   }),
                   "probabilities[1]"));
    CHECK(contains(invalid_argument_message([] {
                       brier_score({0.5, not_a_number}, {1, 0});
                   }),
                   "probabilities[1]"));
}

TEST_CASE("clinical/spearman: ties share average ranks, p follows t with n - 2 df", "[clinical]") {
    // Ranks x (1, 2.5, 2.5, 4), y (1, 3, 2, 4): rho = 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10).
    // With 2 degrees of freedom the two-sided p of a correlation is exactly 1 - |rho|.
    const spearman_estimate s = spearman({1, 2, 2, 3}, {1, 3, 2, 4});
    REQUIRE(s.defined);
    CHECK(s.n == 4);
    CHECK(s.rho == Approx(3.0 / std::sqrt(10.0)).epsilon(1e-15));
    CHECK(s.p_value == Approx(1.0 - 3.0 / std::sqrt(10.0)).epsilon(1e-13));
    REQUIRE(s.fisher.defined);
    const double z = std::atanh(s.rho);
    CHECK(s.fisher.lower == Approx(std::tanh(z - z95 * 1.06)).epsilon(1e-13));
    CHECK(s.fisher.upper == Approx(std::tanh(z + z95 * 1.06)).epsilon(1e-13));
}

TEST_CASE("clinical/spearman: perfect order gives rho 1, p 0 and a point interval", "[clinical]") {
    const std::vector<double> x{1, 2, 3, 4, 5, 6};
    const spearman_estimate up = spearman(x, {2, 4, 8, 16, 32, 64});
    CHECK(up.rho == 1.0);
    CHECK(up.p_value == 0.0);
    CHECK(up.fisher.lower == 1.0);
    CHECK(up.fisher.upper == 1.0);
    const spearman_estimate down = spearman(x, {6, 5, 4, 3, 2, 1});
    CHECK(down.rho == -1.0);
    CHECK(down.fisher.upper == -1.0);
}

TEST_CASE("clinical/spearman: too few pairs or a constant variable is undefined", "[clinical]") {
    const spearman_estimate three = spearman({1, 2, 3}, {2, 1, 3});
    CHECK(three.defined);
    CHECK(three.rho == 0.5);
    CHECK_FALSE(three.fisher.defined);
    CHECK(contains(three.fisher.reason, "4 pairs"));

    const spearman_estimate two = spearman({1, 2}, {2, 1});
    CHECK_FALSE(two.defined);
    CHECK(std::isnan(two.rho));
    const spearman_estimate flat = spearman({1, 2, 3, 4}, {5, 5, 5, 5});
    CHECK_FALSE(flat.defined);
    CHECK(contains(flat.reason, "y is constant"));
    CHECK(contains(invalid_argument_message([] {
                       spearman({1, not_a_number, 3}, {1, 2, 3});
                   }),
                   "x[1]"));
    CHECK_THROWS_AS(spearman({1, 2, 3}, {1, 2}), lusnet::invalid_argument);
}

TEST_CASE("clinical/threshold: Youden picks the best J, the highest threshold among ties",
          "[clinical]") {
    // J by threshold: 0.9 1/4, 0.8 1/2, 0.6 3/4, 0.4 5/12, 0.35 2/3, 0.3 1/3, 0.1 0.
    const std::vector<double> scores{0.1, 0.3, 0.35, 0.4, 0.6, 0.8, 0.9};
    const std::vector<int> labels{0, 0, 1, 0, 1, 1, 1};
    const threshold_choice best = youden_threshold(scores, labels);
    REQUIRE(best.defined);
    CHECK(best.threshold == 0.6);
    CHECK(best.youden_index == Approx(0.75).epsilon(1e-15));
    CHECK(best.metrics.true_positives == 3);
    CHECK(best.metrics.false_positives == 0);

    // J = 1/2 at 0.8 and at 0.4: the higher threshold wins.
    const threshold_choice tie = youden_threshold({0.2, 0.4, 0.6, 0.8}, {0, 1, 0, 1});
    CHECK(tie.threshold == 0.8);

    // Inverted scores: every finite threshold has J <= 0; the lowest score (J = 0) is chosen,
    // never +infinity.
    const threshold_choice inverted = youden_threshold({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1});
    CHECK(inverted.threshold == 0.1);
    CHECK(inverted.youden_index == 0.0);
}

TEST_CASE("clinical/threshold: the highest threshold that reaches a target sensitivity",
          "[clinical]") {
    const std::vector<double> scores{0.1, 0.3, 0.35, 0.4, 0.6, 0.8, 0.9};
    const std::vector<int> labels{0, 0, 1, 0, 1, 1, 1};
    CHECK(sensitivity_threshold(scores, labels, 0.75).threshold == 0.6);
    CHECK(sensitivity_threshold(scores, labels, 0.8).threshold == 0.35);
    CHECK(sensitivity_threshold(scores, labels, 1.0).threshold == 0.35);
    CHECK(sensitivity_threshold(scores, labels, 0.2).threshold == 0.9);
    const threshold_choice chosen = sensitivity_threshold(scores, labels, 0.75);
    CHECK(chosen.metrics.sensitivity.value == 0.75);
    CHECK(chosen.metrics.specificity.value == 1.0);

    // Without negatives the threshold exists, specificity and J do not.
    const threshold_choice only = sensitivity_threshold({0.3, 0.7}, {1, 1}, 0.5);
    CHECK(only.defined);
    CHECK(only.threshold == 0.7);
    CHECK_FALSE(only.metrics.specificity.defined);
    CHECK(std::isnan(only.youden_index));
    CHECK_FALSE(sensitivity_threshold({0.3, 0.7}, {0, 0}, 0.5).defined);
    CHECK_THROWS_AS(sensitivity_threshold(scores, labels, 0.0), lusnet::invalid_argument);
    CHECK_THROWS_AS(sensitivity_threshold(scores, labels, 1.1), lusnet::invalid_argument);
}

TEST_CASE("clinical/threshold: choose_threshold follows the method in its options", "[clinical]") {
    const std::vector<double> scores{0.1, 0.3, 0.35, 0.4, 0.6, 0.8, 0.9};
    const std::vector<int> labels{0, 0, 1, 0, 1, 1, 1};
    CHECK(choose_threshold(scores, labels).threshold == 0.6);
    threshold_options options;
    options.method = threshold_method::target_sensitivity;
    options.target_sensitivity = 1.0;
    const threshold_choice chosen = choose_threshold(scores, labels, options);
    CHECK(chosen.method == threshold_method::target_sensitivity);
    CHECK(chosen.threshold == 0.35);
}
