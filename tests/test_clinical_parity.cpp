// Parity of the clinical statistics with scikit-learn, scipy and statsmodels, and of DeLong with
// an independent numpy implementation of Sun & Xu's algorithm: the cases and values written by
// tests/reference/make_stats_reference.py (run by ctest's `make_reference` fixture).
//
// Each test keeps the largest difference over all cases and requires it within a stated
// tolerance, naming the case where it occurred: 1e-9 absolute for the AUC, Brier score, rho and
// ROC rates, 1e-6 for interval bounds (absolute) and p-values (relative to the p-value, so tiny
// p-values are checked too); ROC thresholds, chosen thresholds and confusion counts must be
// equal. Measured with numpy 2.4, scipy 1.17, scikit-learn 1.9, statsmodels 0.15: AUC 1.1e-16,
// Brier 2.2e-16, rho 3.3e-16, DeLong variance 1.4e-17, DeLong and Wilson bounds 2.2e-16, Fisher
// bounds 2.1e-15, DeLong z 1.1e-15, p-values 4.5e-15 (DeLong) and 4.5e-13 (Spearman) relative.
#include "catch.hpp"

#include "lusnet/clinical/distributions.hpp"
#include "lusnet/clinical/metrics.hpp"
#include "lusnet/clinical/threshold.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

using namespace lusnet::clinical;
using nlohmann::json;

namespace {

const std::string reference_dir = LUSNET_REFERENCE_DIR;

constexpr double point_tolerance = 1e-9;    // AUC, Brier, rho, ROC rates: absolute
constexpr double interval_tolerance = 1e-6; // interval bounds, variances: absolute
constexpr double p_value_tolerance = 1e-6;  // p-values: relative

/// The reference, failing (never skipping) when the script has not run.
json load_reference() {
    const std::string path = reference_dir + "/stats/stats.json";
    if (!std::filesystem::exists(path)) {
        FAIL("missing " << path
                        << ": run tests/reference/make_reference.py (ctest does so as "
                           "make_reference), or make_stats_reference.py --out "
                        << reference_dir);
    }
    std::ifstream in(path);
    return json::parse(in);
}

/// The largest difference seen and the case it was seen in.
class worst_difference {
public:
    void absolute(double actual, double expected, const std::string& where) {
        record(std::abs(actual - expected), where);
    }
    void relative(double actual, double expected, const std::string& where) {
        const double scale = std::abs(expected);
        record(scale > 0.0 ? std::abs(actual - expected) / scale : std::abs(actual), where);
    }
    /// Relative to |expected| where that exceeds 1, absolute below: for values that pass 0.
    void scaled(double actual, double expected, const std::string& where) {
        record(std::abs(actual - expected) / std::max(1.0, std::abs(expected)), where);
    }
    double value() const { return m_value; }
    const std::string& where() const { return m_where; }

private:
    void record(double difference, const std::string& where) {
        // NaN on either side must fail, so it counts as infinitely far.
        if (std::isnan(difference)) {
            difference = std::numeric_limits<double>::infinity();
        }
        if (difference > m_value || m_where.empty()) {
            m_value = std::max(m_value, difference);
            m_where = where;
        }
    }

    double m_value = 0.0;
    std::string m_where;
};

std::vector<double> doubles(const json& values) {
    return values.get<std::vector<double>>();
}
std::vector<int> ints(const json& values) {
    return values.get<std::vector<int>>();
}

} // namespace

TEST_CASE("clinical/distributions: quantile, incomplete beta and t tail equal scipy's",
          "[parity][clinical]") {
    const json ref = load_reference();
    worst_difference quantile, beta, t_tail;
    for (const json& c : ref["normal_quantile"]) {
        const double p = c["p"];
        quantile.scaled(normal_quantile(p), c["x"], "p = " + c["p"].dump());
    }
    for (const json& c : ref["incomplete_beta"]) {
        const double a = c["a"], b = c["b"], x = c["x"];
        beta.relative(regularized_incomplete_beta(a, b, x), c["value"],
                      "a, b, x = " + c["a"].dump() + ", " + c["b"].dump() + ", " + c["x"].dump());
    }
    for (const json& c : ref["student_t_sf"]) {
        t_tail.relative(student_t_sf(c["t"], c["df"]), c["value"],
                        "t, df = " + c["t"].dump() + ", " + c["df"].dump());
    }
    INFO("norm.ppf worst " << quantile.value() << " at " << quantile.where());
    CHECK(quantile.value() <= 1e-13);
    INFO("betainc worst " << beta.value() << " at " << beta.where());
    CHECK(beta.value() <= 1e-11);
    INFO("t.sf worst " << t_tail.value() << " at " << t_tail.where());
    CHECK(t_tail.value() <= 1e-11);
}

TEST_CASE("clinical/wilson: intervals equal statsmodels' proportion_confint",
          "[parity][clinical]") {
    const json ref = load_reference();
    INFO("reference: " << ref["wilson_source"].get<std::string>());
    worst_difference bounds;
    for (const json& c : ref["wilson"]) {
        const proportion p = wilson_proportion(c["count"], c["total"], c["level"]);
        const std::string where =
            c["count"].dump() + " of " + c["total"].dump() + " at " + c["level"].dump();
        bounds.absolute(p.wilson.lower, c["lower"], where);
        bounds.absolute(p.wilson.upper, c["upper"], where);
    }
    INFO("worst " << bounds.value() << " at " << bounds.where());
    CHECK(bounds.value() <= interval_tolerance);
}

TEST_CASE("clinical/auc: AUC and Brier score equal scikit-learn's on seeded cases with ties",
          "[parity][clinical]") {
    const json ref = load_reference();
    worst_difference auc, brier;
    for (const json& c : ref["auc_cases"]) {
        const auto scores = doubles(c["scores"]);
        const auto labels = ints(c["labels"]);
        auc.absolute(roc_auc(scores, labels).auc, c["auc"], c["name"]);
        brier.absolute(brier_score(scores, labels).value, c["brier"], c["name"]);
    }
    INFO("AUC worst " << auc.value() << " at " << auc.where());
    CHECK(auc.value() <= point_tolerance);
    INFO("Brier worst " << brier.value() << " at " << brier.where());
    CHECK(brier.value() <= point_tolerance);
}

TEST_CASE("clinical/roc: curves equal scikit-learn's roc_curve point for point",
          "[parity][clinical]") {
    const json ref = load_reference();
    worst_difference rates;
    for (const json& c : ref["auc_cases"]) {
        const roc curve = roc_curve(doubles(c["scores"]), ints(c["labels"]));
        const auto thresholds = doubles(c["roc"]["thresholds"]);
        const auto fpr = doubles(c["roc"]["fpr"]);
        const auto tpr = doubles(c["roc"]["tpr"]);
        INFO(c["name"].get<std::string>());
        REQUIRE(curve.points.size() == thresholds.size() + 1);
        CHECK(std::isinf(curve.points[0].threshold));
        for (std::size_t k = 0; k < curve.points.size(); ++k) {
            if (k > 0) {
                CHECK(curve.points[k].threshold == thresholds[k - 1]);
            }
            rates.absolute(curve.points[k].fpr, fpr[k], c["name"]);
            rates.absolute(curve.points[k].tpr, tpr[k], c["name"]);
        }
    }
    INFO("worst " << rates.value() << " at " << rates.where());
    CHECK(rates.value() <= point_tolerance);
}

TEST_CASE("clinical/delong: interval equals the reference computation", "[parity][clinical]") {
    const json ref = load_reference();
    worst_difference variance, bounds;
    std::size_t compared = 0;
    for (const json& c : ref["auc_cases"]) {
        const auc_estimate a = roc_auc(doubles(c["scores"]), ints(c["labels"]), ref["level"]);
        const std::string name = c["name"];
        INFO(name);
        if (c["delong"].is_null()) {
            CHECK_FALSE(a.delong.defined);
            continue;
        }
        const json& d = c["delong"];
        REQUIRE(a.delong.defined);
        variance.absolute(a.variance, d["variance"], name);
        bounds.absolute(a.delong.lower, d["lower"], name);
        bounds.absolute(a.delong.upper, d["upper"], name);
        bounds.absolute(a.delong_logit.lower, d["logit_lower"], name);
        bounds.absolute(a.delong_logit.upper, d["logit_upper"], name);
        ++compared;
    }
    CHECK(compared >= 30);
    INFO("variance worst " << variance.value() << " at " << variance.where());
    CHECK(variance.value() <= point_tolerance);
    INFO("bounds worst " << bounds.value() << " at " << bounds.where());
    CHECK(bounds.value() <= interval_tolerance);
}

TEST_CASE("clinical/delong: the paired test equals the reference computation",
          "[parity][clinical]") {
    const json ref = load_reference();
    worst_difference aucs, statistic, p_values, bounds;
    for (const json& c : ref["delong_pairs"]) {
        const std::string name = c["name"];
        const auc_comparison t = delong_test(doubles(c["scores_a"]), doubles(c["scores_b"]),
                                             ints(c["labels"]), ref["level"]);
        INFO(name);
        REQUIRE(t.defined);
        aucs.absolute(t.auc_a, c["auc_a"], name);
        aucs.absolute(t.auc_b, c["auc_b"], name);
        aucs.absolute(t.variance, c["variance"], name);
        statistic.absolute(t.z, c["z"], name);
        p_values.relative(t.p_value, c["p"], name);
        bounds.absolute(t.delong.lower, c["lower"], name);
        bounds.absolute(t.delong.upper, c["upper"], name);
    }
    INFO("AUCs and variance worst " << aucs.value() << " at " << aucs.where());
    CHECK(aucs.value() <= point_tolerance);
    INFO("z worst " << statistic.value() << " at " << statistic.where());
    CHECK(statistic.value() <= interval_tolerance);
    INFO("p worst " << p_values.value() << " at " << p_values.where());
    CHECK(p_values.value() <= p_value_tolerance);
    INFO("interval worst " << bounds.value() << " at " << bounds.where());
    CHECK(bounds.value() <= interval_tolerance);
}

TEST_CASE("clinical/metrics: confusion matrices and Wilson intervals equal the reference",
          "[parity][clinical]") {
    const json ref = load_reference();
    worst_difference bounds;
    const char* names[] = {"sensitivity", "specificity", "ppv", "npv", "accuracy"};
    for (const json& c : ref["auc_cases"]) {
        const auto scores = doubles(c["scores"]);
        const auto labels = ints(c["labels"]);
        for (const json& at : c["at_threshold"]) {
            const threshold_metrics m = metrics_at_threshold(scores, labels, at["threshold"]);
            const std::string where =
                c["name"].get<std::string>() + " at " + at["threshold"].dump();
            INFO(where);
            CHECK(m.true_positives == at["tp"]);
            CHECK(m.false_positives == at["fp"]);
            CHECK(m.true_negatives == at["tn"]);
            CHECK(m.false_negatives == at["fn"]);
            const proportion* ours[] = {&m.sensitivity, &m.specificity, &m.ppv, &m.npv,
                                        &m.accuracy};
            for (std::size_t k = 0; k < 5; ++k) {
                const json& theirs = at[names[k]];
                INFO(names[k]);
                REQUIRE(ours[k]->defined == !theirs.is_null());
                if (!theirs.is_null()) {
                    CHECK(ours[k]->value == theirs["value"].get<double>());
                    bounds.absolute(ours[k]->wilson.lower, theirs["lower"], where);
                    bounds.absolute(ours[k]->wilson.upper, theirs["upper"], where);
                }
            }
        }
    }
    INFO("worst " << bounds.value() << " at " << bounds.where());
    CHECK(bounds.value() <= interval_tolerance);
}

TEST_CASE("clinical/threshold: Youden and target-sensitivity thresholds equal the reference",
          "[parity][clinical]") {
    const json ref = load_reference();
    for (const json& c : ref["auc_cases"]) {
        const auto scores = doubles(c["scores"]);
        const auto labels = ints(c["labels"]);
        INFO(c["name"].get<std::string>());
        CHECK(youden_threshold(scores, labels).threshold == c["youden_threshold"].get<double>());
        for (const json& target : c["sensitivity_thresholds"]) {
            INFO("target " << target["target"].dump());
            CHECK(sensitivity_threshold(scores, labels, target["target"]).threshold ==
                  target["threshold"].get<double>());
        }
    }
}

TEST_CASE("clinical/spearman: rho, p-value and interval equal scipy's", "[parity][clinical]") {
    const json ref = load_reference();
    worst_difference rho, p_values, p_at_their_rho, bounds;
    std::size_t undefined = 0;
    for (const json& c : ref["spearman"]) {
        const std::string name = c["name"];
        const spearman_estimate s = spearman(doubles(c["x"]), doubles(c["y"]), ref["level"]);
        INFO(name);
        if (c["rho"].is_null()) {
            CHECK_FALSE(s.defined);
            ++undefined;
            continue;
        }
        REQUIRE(s.defined);
        rho.absolute(s.rho, c["rho"], name);
        // At |rho| = 1 the p-value is 0, but numpy's correlation of equal ranks can come out
        // as 1 - 1e-16, for which scipy reports p ~ 1e-24: the p-value is ill-conditioned
        // there, so a near-perfect correlation only needs a negligible p on both sides. The
        // p-value function itself is compared at scipy's own rho in every case.
        const double their_rho = c["rho"];
        const double their_p = c["p"];
        if (1.0 - std::abs(their_rho) > 1e-6) {
            p_values.relative(s.p_value, their_p, name);
        } else {
            CHECK(s.p_value <= 1e-12);
            CHECK(their_p <= 1e-12);
        }
        p_at_their_rho.relative(lusnet::clinical::detail::correlation_p_value(their_rho, s.n),
                                their_p, name);
        REQUIRE(s.fisher.defined == !c["lower"].is_null());
        if (s.fisher.defined) {
            bounds.absolute(s.fisher.lower, c["lower"], name);
            bounds.absolute(s.fisher.upper, c["upper"], name);
        }
    }
    CHECK(undefined < ref["spearman"].size());
    INFO("rho worst " << rho.value() << " at " << rho.where());
    CHECK(rho.value() <= point_tolerance);
    INFO("p worst " << p_values.value() << " at " << p_values.where());
    CHECK(p_values.value() <= p_value_tolerance);
    INFO("p at scipy's rho worst " << p_at_their_rho.value() << " at " << p_at_their_rho.where());
    CHECK(p_at_their_rho.value() <= p_value_tolerance);
    INFO("interval worst " << bounds.value() << " at " << bounds.where());
    CHECK(bounds.value() <= interval_tolerance);
}
