#pragma once

/// @file aggregate.hpp
/// From per-frame probabilities to per-patient decisions and severity.
///
/// A patient is scanned at several lung zones (14 in the LUS-ILD protocols), with one or more
/// frames per zone. The rules, all documented on `aggregation_rule`:
/// - a zone's probability is the mean of its frames' probabilities, and the zone is positive
///   when that mean is >= the threshold;
/// - the patient's score depends on the rule (mean of frames, maximum of frames, or the k-th
///   highest zone probability) and the patient is positive when the score is >= the same
///   threshold, so for every rule the decision is `score >= threshold` and a ROC analysis or
///   `choose_threshold` on the patient scores is consistent with the decisions;
/// - severity is reported twice: the share of positive zones and the mean zone probability
///   (zones weigh equally, however many frames each has);
/// - a patient's label is the one given in the roster, else the maximum of its frames' labels
///   (any abnormal frame makes an abnormal patient), else unknown.
/// Patients appear in the order of the roster when one is given, else in the order their first
/// frame appears; zones in the order their first frame appears.

#include "lusnet/clinical/metrics.hpp"
#include "lusnet/error.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <numeric>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace lusnet::clinical {

/// One frame's prediction.
struct frame_record {
    std::string patient;      ///< patient id, not empty
    std::string zone;         ///< lung zone id; frames without one form the unnamed zone ""
    double probability = 0.0; ///< the model's probability of disease, in [0, 1]
    std::optional<int> label; ///< 0 or 1 when known
};

/// A patient the caller expects, with a label that overrides the frames' labels when given.
struct patient_record {
    std::string patient;      ///< patient id, not empty
    std::optional<int> label; ///< 0 or 1 when known
};

/// How a patient's frames become the patient's score.
enum class aggregation_rule {
    mean_probability, ///< the mean of all the patient's frame probabilities
    max_probability,  ///< the highest frame probability: one convincing frame suffices
    /// At least k zones positive: the score is the k-th highest zone probability (0 when the
    /// patient has fewer than k zones), which is >= the threshold exactly when at least k zones
    /// are positive.
    positive_zones
};

/// Settings of `aggregate_patients`.
struct aggregation_options {
    aggregation_rule rule = aggregation_rule::mean_probability;
    /// Decision threshold for patients and zones alike, in (0, 1]: 0 would call everything
    /// positive, including patients short of k zones.
    double threshold = 0.5;
    std::size_t min_positive_zones = 1; ///< k of `positive_zones`, >= 1
};

/// One lung zone of a patient.
struct zone_summary {
    std::string zone;
    std::size_t frames = 0;
    double probability = 0.0; ///< the mean of its frames' probabilities
    bool positive = false;    ///< probability >= threshold
};

/// One row of the per-patient table.
struct patient_summary {
    std::string patient;
    std::size_t frames = 0;
    std::vector<zone_summary> zones; ///< in order of first appearance
    double mean_probability = 0.0;   ///< over frames
    double max_probability = 0.0;    ///< over frames
    std::size_t positive_zones = 0;
    double positive_zone_share = 0.0;   ///< severity: positive zones / zones
    double mean_zone_probability = 0.0; ///< severity: mean over zones of zone probabilities
    double score = 0.0;                 ///< by the rule
    bool positive = false;              ///< score >= threshold
    std::optional<int> label;           ///< roster label, else max frame label, else unknown
};

/// The labelled patients of a table as parallel lists, ready for metrics.hpp.
struct labelled_scores {
    std::vector<std::string> patients;
    std::vector<double> scores;
    std::vector<int> labels;
};

/// The per-patient table of `frames` under `options`.
///
/// With a non-empty `roster`, it lists every patient expected: a listed patient without frames
/// and a frame of an unlisted patient are errors naming the patient, as are duplicates in the
/// roster. Without one, the patients are those of the frames. Errors (lusnet::invalid_argument)
/// also for an empty patient id, a probability outside [0, 1] or NaN, or a label other than 0
/// or 1, each naming the frame index; and for options out of their range.
std::vector<patient_summary> aggregate_patients(const std::vector<frame_record>& frames,
                                                const aggregation_options& options = {},
                                                const std::vector<patient_record>& roster = {});

/// The patients of `table` whose label is known, with their scores and labels.
labelled_scores labelled(const std::vector<patient_summary>& table);

/// "mean", "max" or "zones": the name of a rule in files and on the command line.
const char* rule_name(aggregation_rule rule);

/// The rule named by `rule_name`; invalid_argument for any other name.
aggregation_rule parse_aggregation_rule(const std::string& name);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

inline void check_aggregation_options(const aggregation_options& options) {
    if (!(options.threshold > 0.0 && options.threshold <= 1.0)) {
        throw invalid_argument("aggregate_patients", "threshold",
                               "expected a value in (0, 1], got " + describe(options.threshold));
    }
    if (options.min_positive_zones == 0) {
        throw invalid_argument("aggregate_patients", "min_positive_zones",
                               "expected at least 1, got 0");
    }
}

inline void check_frame(const frame_record& frame, std::size_t index) {
    const std::string subject = "frames[" + std::to_string(index) + "]";
    if (frame.patient.empty()) {
        throw invalid_argument("aggregate_patients", subject + ".patient",
                               "expected a patient id, got an empty string");
    }
    if (!(frame.probability >= 0.0 && frame.probability <= 1.0)) {
        throw invalid_argument(
            "aggregate_patients", subject + ".probability (patient \"" + frame.patient + "\")",
            "expected a probability in [0, 1], got " + describe(frame.probability));
    }
    if (frame.label && *frame.label != 0 && *frame.label != 1) {
        throw invalid_argument("aggregate_patients",
                               subject + ".label (patient \"" + frame.patient + "\")",
                               "expected 0 or 1, got " + std::to_string(*frame.label));
    }
}

/// The frames of one patient, grouped by zone, as indices into the frame list.
struct patient_frames {
    std::vector<std::size_t> frames;
    std::vector<std::string> zones;
    std::vector<std::vector<std::size_t>> zone_frames;
    std::unordered_map<std::string, std::size_t> zone_index;
};

/// The table row of one patient's frames.
inline patient_summary summarise_patient(const std::string& id, const patient_frames& group,
                                         const std::vector<frame_record>& frames,
                                         const aggregation_options& options) {
    patient_summary row;
    row.patient = id;
    row.frames = group.frames.size();

    double sum = 0.0;
    for (const std::size_t i : group.frames) {
        sum += frames[i].probability;
        row.max_probability = std::max(row.max_probability, frames[i].probability);
        if (frames[i].label) {
            row.label = std::max(row.label.value_or(0), *frames[i].label);
        }
    }
    row.mean_probability = sum / static_cast<double>(row.frames);

    std::vector<double> zone_probabilities;
    for (std::size_t z = 0; z < group.zones.size(); ++z) {
        zone_summary zone;
        zone.zone = group.zones[z];
        zone.frames = group.zone_frames[z].size();
        double zone_sum = 0.0;
        for (const std::size_t i : group.zone_frames[z]) {
            zone_sum += frames[i].probability;
        }
        zone.probability = zone_sum / static_cast<double>(zone.frames);
        zone.positive = zone.probability >= options.threshold;
        row.positive_zones += zone.positive ? 1 : 0;
        zone_probabilities.push_back(zone.probability);
        row.zones.push_back(std::move(zone));
    }
    const double zone_count = static_cast<double>(row.zones.size());
    row.positive_zone_share = static_cast<double>(row.positive_zones) / zone_count;
    row.mean_zone_probability =
        std::accumulate(zone_probabilities.begin(), zone_probabilities.end(), 0.0) / zone_count;

    switch (options.rule) {
    case aggregation_rule::mean_probability:
        row.score = row.mean_probability;
        break;
    case aggregation_rule::max_probability:
        row.score = row.max_probability;
        break;
    case aggregation_rule::positive_zones: {
        const std::size_t k = options.min_positive_zones;
        if (zone_probabilities.size() >= k) {
            std::nth_element(zone_probabilities.begin(), zone_probabilities.begin() + (k - 1),
                             zone_probabilities.end(), std::greater<double>());
            row.score = zone_probabilities[k - 1];
        }
        break;
    }
    }
    row.positive = row.score >= options.threshold;
    return row;
}

} // namespace detail

inline std::vector<patient_summary> aggregate_patients(const std::vector<frame_record>& frames,
                                                       const aggregation_options& options,
                                                       const std::vector<patient_record>& roster) {
    detail::check_aggregation_options(options);

    // Patients in roster order, or in order of first appearance without a roster.
    std::vector<std::string> ids;
    std::unordered_map<std::string, std::size_t> index;
    for (const patient_record& p : roster) {
        if (p.patient.empty()) {
            throw invalid_argument("aggregate_patients", "roster",
                                   "expected patient ids, got an empty string");
        }
        if (p.label && *p.label != 0 && *p.label != 1) {
            throw invalid_argument("aggregate_patients", "patient \"" + p.patient + "\" label",
                                   "expected 0 or 1, got " + std::to_string(*p.label));
        }
        if (!index.emplace(p.patient, ids.size()).second) {
            throw invalid_argument("aggregate_patients", "patient \"" + p.patient + "\"",
                                   "expected once in the roster, got twice");
        }
        ids.push_back(p.patient);
    }

    std::vector<detail::patient_frames> groups(ids.size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const frame_record& frame = frames[i];
        detail::check_frame(frame, i);
        auto found = index.find(frame.patient);
        if (found == index.end()) {
            if (!roster.empty()) {
                throw invalid_argument("aggregate_patients", "patient \"" + frame.patient + "\"",
                                       "expected a patient of the roster, got frames[" +
                                           std::to_string(i) + "] of a patient not in it");
            }
            found = index.emplace(frame.patient, ids.size()).first;
            ids.push_back(frame.patient);
            groups.emplace_back();
        }
        detail::patient_frames& group = groups[found->second];
        const auto zone = group.zone_index.emplace(frame.zone, group.zones.size());
        if (zone.second) {
            group.zones.push_back(frame.zone);
            group.zone_frames.emplace_back();
        }
        group.frames.push_back(i);
        group.zone_frames[zone.first->second].push_back(i);
    }

    std::vector<patient_summary> table;
    table.reserve(ids.size());
    for (std::size_t p = 0; p < ids.size(); ++p) {
        if (groups[p].frames.empty()) {
            throw invalid_argument("aggregate_patients", "patient \"" + ids[p] + "\"",
                                   "expected at least one frame, got none");
        }
        table.push_back(detail::summarise_patient(ids[p], groups[p], frames, options));
        if (p < roster.size() && roster[p].label) {
            table.back().label = roster[p].label;
        }
    }
    return table;
}

inline labelled_scores labelled(const std::vector<patient_summary>& table) {
    labelled_scores result;
    for (const patient_summary& row : table) {
        if (row.label) {
            result.patients.push_back(row.patient);
            result.scores.push_back(row.score);
            result.labels.push_back(*row.label);
        }
    }
    return result;
}

inline const char* rule_name(aggregation_rule rule) {
    switch (rule) {
    case aggregation_rule::mean_probability:
        return "mean";
    case aggregation_rule::max_probability:
        return "max";
    case aggregation_rule::positive_zones:
        return "zones";
    }
    return "unknown";
}

inline aggregation_rule parse_aggregation_rule(const std::string& name) {
    for (const aggregation_rule rule :
         {aggregation_rule::mean_probability, aggregation_rule::max_probability,
          aggregation_rule::positive_zones}) {
        if (name == rule_name(rule)) {
            return rule;
        }
    }
    throw invalid_argument("parse_aggregation_rule", "\"" + name + "\"",
                           "expected \"mean\", \"max\" or \"zones\"");
}

} // namespace lusnet::clinical
