// Frames to patients: the three rules, severity, labels, ordering and bad input, on small
// hand-made patients.
#include "catch.hpp"

#include "lusnet/clinical/aggregate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace lusnet::clinical;

namespace {

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

/// Patient P1: zone A has frames 0.2 and 0.4 (zone mean 0.3), zone B one frame 0.9, zone C
/// frames 0.6 and 0.8 (0.7). Frame mean 2.9 / 5 = 0.58, maximum 0.9, zone means 0.3, 0.9, 0.7.
std::vector<frame_record> patient_one() {
    return {{"P1", "A", 0.2, 0},
            {"P1", "B", 0.9, 1},
            {"P1", "A", 0.4, 0},
            {"P1", "C", 0.6, 0},
            {"P1", "C", 0.8, {}}};
}

aggregation_options with_rule(aggregation_rule rule, double threshold, std::size_t k = 1) {
    aggregation_options options;
    options.rule = rule;
    options.threshold = threshold;
    options.min_positive_zones = k;
    return options;
}

} // namespace

TEST_CASE("clinical/aggregate: zones are frame means, severity counts zones", "[clinical]") {
    const auto table =
        aggregate_patients(patient_one(), with_rule(aggregation_rule::mean_probability, 0.5));
    REQUIRE(table.size() == 1);
    const patient_summary& p = table[0];
    CHECK(p.patient == "P1");
    CHECK(p.frames == 5);
    REQUIRE(p.zones.size() == 3);
    CHECK(p.zones[0].zone == "A");
    CHECK(p.zones[0].frames == 2);
    CHECK(p.zones[0].probability == Approx(0.3).epsilon(1e-15));
    CHECK_FALSE(p.zones[0].positive);
    CHECK(p.zones[1].zone == "B");
    CHECK(p.zones[1].positive);
    CHECK(p.zones[2].zone == "C");
    CHECK(p.zones[2].probability == Approx(0.7).epsilon(1e-15));
    CHECK(p.positive_zones == 2);
    CHECK(p.positive_zone_share == Approx(2.0 / 3.0).epsilon(1e-15));
    CHECK(p.mean_zone_probability == Approx((0.3 + 0.9 + 0.7) / 3.0).epsilon(1e-15));
    CHECK(p.mean_probability == Approx(0.58).epsilon(1e-15));
    CHECK(p.max_probability == 0.9);
}

TEST_CASE("clinical/aggregate: mean and max rules score the frames, decide at the threshold",
          "[clinical]") {
    const auto mean =
        aggregate_patients(patient_one(), with_rule(aggregation_rule::mean_probability, 0.6));
    CHECK(mean[0].score == Approx(0.58).epsilon(1e-15));
    CHECK_FALSE(mean[0].positive);
    const auto max =
        aggregate_patients(patient_one(), with_rule(aggregation_rule::max_probability, 0.6));
    CHECK(max[0].score == 0.9);
    CHECK(max[0].positive);
    // A score equal to the threshold is positive.
    const auto equal =
        aggregate_patients(patient_one(), with_rule(aggregation_rule::max_probability, 0.9));
    CHECK(equal[0].positive);
}

TEST_CASE("clinical/aggregate: k of n zones scores the k-th highest zone probability",
          "[clinical]") {
    // Zone means 0.9, 0.7, 0.3 in decreasing order; at threshold 0.5 two zones are positive.
    const auto one =
        aggregate_patients(patient_one(), with_rule(aggregation_rule::positive_zones, 0.5, 1));
    CHECK(one[0].score == 0.9);
    CHECK(one[0].positive);
    const auto two =
        aggregate_patients(patient_one(), with_rule(aggregation_rule::positive_zones, 0.5, 2));
    CHECK(two[0].score == Approx(0.7).epsilon(1e-15));
    CHECK(two[0].positive);
    const auto three =
        aggregate_patients(patient_one(), with_rule(aggregation_rule::positive_zones, 0.5, 3));
    CHECK(three[0].score == Approx(0.3).epsilon(1e-15));
    CHECK_FALSE(three[0].positive);
    // More zones asked for than the patient has: score 0, never positive.
    const auto four =
        aggregate_patients(patient_one(), with_rule(aggregation_rule::positive_zones, 0.01, 4));
    CHECK(four[0].score == 0.0);
    CHECK_FALSE(four[0].positive);
}

TEST_CASE("clinical/aggregate: k of n zones is positive exactly when k zones are, on random "
          "patients",
          "[clinical]") {
    std::mt19937 rng(2026);
    std::uniform_real_distribution<double> probability(0.0, 1.0);
    std::uniform_int_distribution<int> count(1, 6);
    std::vector<frame_record> frames;
    for (int p = 0; p < 40; ++p) {
        const int zones = count(rng);
        for (int z = 0; z < zones; ++z) {
            const int per_zone = count(rng) % 3 + 1;
            for (int f = 0; f < per_zone; ++f) {
                frames.push_back({"P" + std::to_string(p),
                                  "Z" + std::to_string(z),
                                  std::round(probability(rng) * 20.0) / 20.0,
                                  {}});
            }
        }
    }
    for (const std::size_t k : {1, 2, 3, 5}) {
        for (const double threshold : {0.25, 0.5, 0.75}) {
            const auto table = aggregate_patients(
                frames, with_rule(aggregation_rule::positive_zones, threshold, k));
            REQUIRE(table.size() == 40);
            for (const patient_summary& p : table) {
                INFO(p.patient << ", k = " << k << ", threshold = " << threshold);
                const auto positive_zones =
                    std::count_if(p.zones.begin(), p.zones.end(),
                                  [](const zone_summary& z) { return z.positive; });
                CHECK(static_cast<std::size_t>(positive_zones) == p.positive_zones);
                CHECK(p.positive == (p.positive_zones >= k));
            }
        }
    }
}

TEST_CASE("clinical/aggregate: a patient's label is the roster's, else its frames' maximum",
          "[clinical]") {
    std::vector<frame_record> frames = patient_one();
    frames.push_back({"P2", "A", 0.1, 0});
    frames.push_back({"P2", "B", 0.3, {}});
    frames.push_back({"P3", "A", 0.7, {}});

    const auto table = aggregate_patients(frames);
    REQUIRE(table.size() == 3);
    CHECK(table[0].label == 1); // one abnormal frame makes an abnormal patient
    CHECK(table[1].label == 0);
    CHECK_FALSE(table[2].label.has_value());

    const labelled_scores known = labelled(table);
    CHECK(known.patients == std::vector<std::string>{"P1", "P2"});
    CHECK(known.labels == std::vector<int>{1, 0});
    CHECK(known.scores[1] == Approx(0.2).epsilon(1e-15));

    // The roster's order and labels win; P3 gets a label, P1 is overridden.
    const auto rostered = aggregate_patients(frames, {}, {{"P3", 1}, {"P2", {}}, {"P1", 0}});
    REQUIRE(rostered.size() == 3);
    CHECK(rostered[0].patient == "P3");
    CHECK(rostered[0].label == 1);
    CHECK(rostered[1].label == 0);
    CHECK(rostered[2].label == 0);
}

TEST_CASE("clinical/aggregate: frames without a zone form one unnamed zone", "[clinical]") {
    const auto table = aggregate_patients({{"P9", "", 0.2, {}}, {"P9", "", 0.8, {}}});
    REQUIRE(table[0].zones.size() == 1);
    CHECK(table[0].zones[0].zone.empty());
    CHECK(table[0].zones[0].frames == 2);
    CHECK(table[0].mean_zone_probability == Approx(0.5).epsilon(1e-15));
}

TEST_CASE("clinical/aggregate: a patient without frames is an error naming the patient",
          "[clinical]") {
    const std::string message = invalid_argument_message([] {
        aggregate_patients(patient_one(), {}, {{"P1", {}}, {"P7", 1}});
    });
    CHECK(contains(message, "\"P7\""));
    CHECK(contains(message, "at least one frame"));

    // A frame of a patient missing from the roster is named too.
    const std::string stray = invalid_argument_message([] {
        aggregate_patients(patient_one(), {}, {{"P2", {}}});
    });
    CHECK(contains(stray, "\"P1\""));
    CHECK(contains(stray, "frames[0]"));
    CHECK(contains(invalid_argument_message([] {
                       aggregate_patients(patient_one(), {}, {{"P1", {}}, {"P1", {}}});
                   }),
                   "twice"));
}

TEST_CASE("clinical/aggregate: bad frames and options are errors naming what is wrong",
          "[clinical]") {
    const double not_a_number = std::numeric_limits<double>::quiet_NaN();
    std::vector<frame_record> frames = patient_one();
    frames[3].probability = not_a_number;
    CHECK(contains(invalid_argument_message([&] { aggregate_patients(frames); }),
                   "frames[3].probability"));
    frames[3].probability = 1.5;
    CHECK(contains(invalid_argument_message([&] { aggregate_patients(frames); }), "1.5"));
    frames[3].probability = 0.5;
    frames[4].label = 2;
    CHECK(
        contains(invalid_argument_message([&] { aggregate_patients(frames); }), "frames[4].label"));
    frames[4].label = 1;
    frames[0].patient.clear();
    CHECK(contains(invalid_argument_message([&] { aggregate_patients(frames); }),
                   "frames[0].patient"));

    CHECK(contains(invalid_argument_message([] {
                       aggregate_patients(patient_one(),
                                          with_rule(aggregation_rule::mean_probability, 0.0));
                   }),
                   "threshold"));
    CHECK(contains(invalid_argument_message([] {
                       aggregate_patients(patient_one(),
                                          with_rule(aggregation_rule::positive_zones, 0.5, 0));
                   }),
                   "min_positive_zones"));
    CHECK(aggregate_patients({}).empty());
}

TEST_CASE("clinical/aggregate: rule names round-trip and unknown names are errors", "[clinical]") {
    for (const aggregation_rule rule :
         {aggregation_rule::mean_probability, aggregation_rule::max_probability,
          aggregation_rule::positive_zones}) {
        CHECK(parse_aggregation_rule(rule_name(rule)) == rule);
    }
    CHECK(
        contains(invalid_argument_message([] { parse_aggregation_rule("median"); }), "\"median\""));
}
