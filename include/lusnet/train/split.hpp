#pragma once

/// @file split.hpp
/// Train/validation splits and k-fold cross-validation by group, never by frame.
///
/// Frames of one clip (or patient) are nearly copies of each other; a clip on both sides of a
/// split leaks the validation answer into training and inflates every metric. So every split
/// here moves whole groups, and `check_split` / `check_folds` throw when a group is on both
/// sides. A group's label, for stratification, is the label most of its frames have (the
/// lowest class index on a tie).

#include "lusnet/error.hpp"
#include "lusnet/train/manifest.hpp"
#include "lusnet/train/random.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace lusnet {

/// Two disjoint sets of frames, as indices into the entries they were made from, ascending.
struct data_split {
    std::vector<std::size_t> train;      ///< frames to train on
    std::vector<std::size_t> validation; ///< frames to validate on
};

/// Puts `round(validation_fraction * groups)` of the groups (at least 1, at most all but 1)
/// into validation and the rest into training, chosen by `seed`. With `stratify` the fraction
/// is taken of each class's groups, so both sides keep the class balance. invalid_argument for
/// a fraction outside (0, 1) or fewer than 2 groups.
data_split split_by_group(const std::vector<manifest_entry>& entries, double validation_fraction,
                          std::uint64_t seed, bool stratify = false);

/// k folds of cross-validation: each group is in the validation set of exactly one fold and
/// in the training set of the others. Groups are dealt largest first (equal sizes in seeded
/// order) to the fold with the fewest frames, or with `stratify` the fewest frames of the
/// group's class, so folds are balanced in size and, stratified, in class mix.
/// invalid_argument unless 2 <= k <= groups.
std::vector<data_split> k_fold_by_group(const std::vector<manifest_entry>& entries, std::size_t k,
                                        std::uint64_t seed, bool stratify = false);

/// Throws invalid_argument when a side is empty, an index is out of range or repeated, or a
/// group has frames on both sides (naming the group and a line of each side).
void check_split(const std::vector<manifest_entry>& entries, const data_split& split);

/// `check_split` for every fold, and invalid_argument unless every group of `entries` is in
/// the validation set of exactly one fold.
void check_folds(const std::vector<manifest_entry>& entries, const std::vector<data_split>& folds);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// The frames of one group.
struct frame_group {
    std::string name;
    std::vector<std::size_t> indices;
    std::size_t label = 0; ///< the majority label
};

/// Groups in order of first appearance, each with its majority label.
inline std::vector<frame_group> group_frames(const std::vector<manifest_entry>& entries) {
    std::vector<frame_group> groups;
    std::map<std::string, std::size_t> position;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto [it, added] = position.emplace(entries[i].group, groups.size());
        if (added) {
            groups.push_back({entries[i].group, {}, 0});
        }
        groups[it->second].indices.push_back(i);
    }
    for (frame_group& g : groups) {
        std::map<std::size_t, std::size_t> votes;
        for (std::size_t i : g.indices) {
            ++votes[entries[i].label];
        }
        // The map runs in label order and only a strictly larger count wins: ties keep the
        // lowest label.
        std::size_t best = 0;
        for (const auto& [label, count] : votes) {
            if (count > best) {
                best = count;
                g.label = label;
            }
        }
    }
    return groups;
}

/// The frames of `groups` (by their positions `chosen`) in ascending order.
inline std::vector<std::size_t> frames_of(const std::vector<frame_group>& groups,
                                          const std::vector<std::size_t>& chosen) {
    std::vector<std::size_t> frames;
    for (std::size_t g : chosen) {
        frames.insert(frames.end(), groups[g].indices.begin(), groups[g].indices.end());
    }
    std::sort(frames.begin(), frames.end());
    return frames;
}

/// How many groups of each class go to validation: round(fraction * count) per class, moved
/// by one if that leaves a side without any group.
inline std::vector<std::size_t> validation_quota(const std::vector<std::size_t>& per_class,
                                                 double fraction) {
    std::vector<std::size_t> quota(per_class.size());
    std::size_t total = 0, groups = 0;
    for (std::size_t c = 0; c < per_class.size(); ++c) {
        quota[c] = static_cast<std::size_t>(std::llround(fraction * double(per_class[c])));
        total += quota[c];
        groups += per_class[c];
    }
    const auto largest = static_cast<std::size_t>(
        std::max_element(per_class.begin(), per_class.end()) - per_class.begin());
    if (total == 0) {
        quota[largest] = 1;
    } else if (total == groups) {
        --quota[largest];
    }
    return quota;
}

} // namespace detail

inline data_split split_by_group(const std::vector<manifest_entry>& entries,
                                 double validation_fraction, std::uint64_t seed, bool stratify) {
    const std::vector<detail::frame_group> groups = detail::group_frames(entries);
    if (!(validation_fraction > 0.0 && validation_fraction < 1.0)) {
        throw invalid_argument("split by group", "validation_fraction",
                               "expected a value in (0, 1), got " +
                                   std::to_string(validation_fraction));
    }
    if (groups.size() < 2) {
        throw invalid_argument("split by group", "entries",
                               "expected at least 2 groups, got " + std::to_string(groups.size()));
    }

    // One bucket of groups per class when stratified, a single bucket otherwise.
    std::size_t buckets = 1;
    for (const detail::frame_group& g : groups) {
        buckets = stratify ? std::max(buckets, g.label + 1) : 1;
    }
    std::vector<std::vector<std::size_t>> members(buckets);
    for (std::size_t g = 0; g < groups.size(); ++g) {
        members[stratify ? groups[g].label : 0].push_back(g);
    }
    std::vector<std::size_t> sizes;
    for (const auto& bucket : members) {
        sizes.push_back(bucket.size());
    }
    const std::vector<std::size_t> quota = detail::validation_quota(sizes, validation_fraction);

    random_engine rng(seed);
    std::vector<std::size_t> train, validation;
    for (std::size_t b = 0; b < buckets; ++b) {
        fisher_yates_shuffle(members[b], rng);
        validation.insert(validation.end(), members[b].begin(), members[b].begin() + quota[b]);
        train.insert(train.end(), members[b].begin() + quota[b], members[b].end());
    }
    data_split split{detail::frames_of(groups, train), detail::frames_of(groups, validation)};
    check_split(entries, split);
    return split;
}

inline std::vector<data_split> k_fold_by_group(const std::vector<manifest_entry>& entries,
                                               std::size_t k, std::uint64_t seed, bool stratify) {
    const std::vector<detail::frame_group> groups = detail::group_frames(entries);
    if (k < 2 || k > groups.size()) {
        throw invalid_argument("k-fold by group", "k",
                               "expected 2 <= k <= " + std::to_string(groups.size()) +
                                   " (the number of groups), got " + std::to_string(k));
    }

    std::vector<std::size_t> order(groups.size());
    for (std::size_t g = 0; g < order.size(); ++g) {
        order[g] = g;
    }
    random_engine rng(seed);
    fisher_yates_shuffle(order, rng);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return groups[a].indices.size() > groups[b].indices.size();
    });

    // Frames per fold, and per fold and class; an empty fold always wins the first pick, so
    // with k <= groups every fold gets at least one group.
    std::vector<std::size_t> frames(k, 0);
    std::map<std::pair<std::size_t, std::size_t>, std::size_t> class_frames;
    std::vector<std::vector<std::size_t>> members(k);
    for (std::size_t g : order) {
        const std::size_t label = groups[g].label;
        const auto key = [&](std::size_t f) {
            const std::size_t same = stratify ? class_frames[{f, label}] : 0;
            return std::make_tuple(same, frames[f], members[f].size(), f);
        };
        std::size_t best = 0;
        for (std::size_t f = 1; f < k; ++f) {
            best = key(f) < key(best) ? f : best;
        }
        members[best].push_back(g);
        frames[best] += groups[g].indices.size();
        class_frames[{best, label}] += groups[g].indices.size();
    }

    std::vector<data_split> folds(k);
    for (std::size_t f = 0; f < k; ++f) {
        std::vector<std::size_t> rest;
        for (std::size_t other = 0; other < k; ++other) {
            if (other != f) {
                rest.insert(rest.end(), members[other].begin(), members[other].end());
            }
        }
        folds[f] = {detail::frames_of(groups, rest), detail::frames_of(groups, members[f])};
    }
    check_folds(entries, folds);
    return folds;
}

inline void check_split(const std::vector<manifest_entry>& entries, const data_split& split) {
    const std::string operation = "check split";
    if (split.train.empty() || split.validation.empty()) {
        throw invalid_argument(operation, split.train.empty() ? "train" : "validation",
                               "expected a non-empty side, got no frames");
    }

    // The side and line each group was first seen on; 0 = train, 1 = validation.
    std::map<std::string, std::pair<int, std::size_t>> seen;
    std::vector<bool> used(entries.size(), false);
    const std::vector<std::size_t>* sides[2] = {&split.train, &split.validation};
    const char* names[2] = {"train", "validation"};
    for (int side = 0; side < 2; ++side) {
        for (std::size_t i : *sides[side]) {
            if (i >= entries.size() || used[i]) {
                throw invalid_argument(
                    operation, std::string(names[side]) + " frame " + std::to_string(i),
                    i >= entries.size()
                        ? "expected an index below " + std::to_string(entries.size())
                        : std::string("expected each frame once, got it twice"));
            }
            used[i] = true;
            const auto [it, added] =
                seen.emplace(entries[i].group, std::make_pair(side, entries[i].line));
            if (!added && it->second.first != side) {
                throw invalid_argument(
                    operation, "group '" + entries[i].group + "'",
                    "expected each group on one side only, got it in train (line " +
                        std::to_string(side == 0 ? entries[i].line : it->second.second) +
                        ") and in validation (line " +
                        std::to_string(side == 1 ? entries[i].line : it->second.second) + ")");
            }
        }
    }
}

inline void check_folds(const std::vector<manifest_entry>& entries,
                        const std::vector<data_split>& folds) {
    std::map<std::string, std::vector<std::size_t>> validated_in;
    for (std::size_t f = 0; f < folds.size(); ++f) {
        check_split(entries, folds[f]);
        for (std::size_t i : folds[f].validation) {
            auto& list = validated_in[entries[i].group];
            if (list.empty() || list.back() != f) {
                list.push_back(f);
            }
        }
    }
    for (const detail::frame_group& g : detail::group_frames(entries)) {
        const auto found = validated_in.find(g.name);
        const std::size_t count = found == validated_in.end() ? 0 : found->second.size();
        if (count != 1) {
            throw invalid_argument("check folds", "group '" + g.name + "'",
                                   "expected it in the validation set of exactly one fold, got " +
                                       std::to_string(count));
        }
    }
}

} // namespace lusnet
