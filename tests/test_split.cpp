// Tests of include/lusnet/train/split.hpp: splits and folds by group on the POCUS manifest
// and on made-up groups; no group on both sides, every group validated once, balanced
// stratification, determinism for a seed, and the checks that catch a leaking split.
#include "catch.hpp"

#include "lusnet/train/split.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace lusnet;

namespace {

const std::string pocus_dir = LUSNET_POCUS_DIR;

/// The POCUS frames with their clips as groups and `label_column` as the class.
manifest pocus(const std::string& label_column) {
    const std::string csv = pocus_dir + "/manifest.csv";
    if (!std::filesystem::exists(csv)) {
        FAIL("missing " << csv << ": the POCUS frames are expected in ../shared/data/pocus next "
                        << "to the repository (LUSNET_POCUS_DIR)");
    }
    manifest_options options;
    options.path_column = "file";
    options.label_column = label_column;
    options.group_column = "clip";
    options.check_files = false;
    return read_manifest(csv, options);
}

/// `sizes[g]` frames for group "g<g>" with label `labels[g]`, groups interleaved frame by frame.
std::vector<manifest_entry> made_up(const std::vector<std::size_t>& sizes,
                                    const std::vector<std::size_t>& labels) {
    std::vector<manifest_entry> entries;
    const std::size_t longest = *std::max_element(sizes.begin(), sizes.end());
    for (std::size_t f = 0; f < longest; ++f) {
        for (std::size_t g = 0; g < sizes.size(); ++g) {
            if (f < sizes[g]) {
                entries.push_back(
                    {"frame.png", labels[g], "g" + std::to_string(g), entries.size() + 2});
            }
        }
    }
    return entries;
}

std::set<std::string> groups_of(const std::vector<manifest_entry>& entries,
                                const std::vector<std::size_t>& indices) {
    std::set<std::string> groups;
    for (std::size_t i : indices) {
        groups.insert(entries[i].group);
    }
    return groups;
}

/// Requires the split to cover every frame once and to keep every group on one side.
void check_partition(const std::vector<manifest_entry>& entries, const data_split& split) {
    std::vector<std::size_t> all = split.train;
    all.insert(all.end(), split.validation.begin(), split.validation.end());
    std::sort(all.begin(), all.end());
    std::vector<std::size_t> expected(entries.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        expected[i] = i;
    }
    CHECK(all == expected);
    const std::set<std::string> train = groups_of(entries, split.train);
    for (const std::string& g : groups_of(entries, split.validation)) {
        INFO("group " << g);
        CHECK(train.count(g) == 0);
    }
}

} // namespace

TEST_CASE("split: k-fold by clip validates every POCUS clip in exactly one fold", "[train]") {
    const manifest m = pocus("abnormal");
    const std::vector<data_split> folds = k_fold_by_group(m.entries, 5, 2026);
    REQUIRE(folds.size() == 5);

    std::map<std::string, int> validated;
    for (const data_split& fold : folds) {
        check_partition(m.entries, fold);
        for (const std::string& g : groups_of(m.entries, fold.validation)) {
            ++validated[g];
        }
        // 615 frames in 123 clips of 5: folds of 24 or 25 clips.
        CHECK(fold.validation.size() >= 120);
        CHECK(fold.validation.size() <= 125);
    }
    CHECK(validated.size() == 123);
    for (const auto& [group, count] : validated) {
        INFO("clip " << group);
        CHECK(count == 1);
    }
}

TEST_CASE("split: stratified folds give each class the same share of clips within one", "[train]") {
    const manifest m = pocus("label");
    const std::vector<data_split> folds = k_fold_by_group(m.entries, 5, 7, true);
    // Clips per class and fold.
    std::vector<std::vector<std::size_t>> clips(m.classes.size(), std::vector<std::size_t>(5));
    for (std::size_t f = 0; f < folds.size(); ++f) {
        std::map<std::string, std::size_t> label_of;
        for (std::size_t i : folds[f].validation) {
            label_of[m.entries[i].group] = m.entries[i].label;
        }
        for (const auto& [group, label] : label_of) {
            ++clips[label][f];
        }
    }
    for (std::size_t c = 0; c < m.classes.size(); ++c) {
        const auto [low, high] = std::minmax_element(clips[c].begin(), clips[c].end());
        INFO(m.classes[c] << ": " << *low << " to " << *high << " clips per fold");
        CHECK(*high - *low <= 1);
    }
}

TEST_CASE("split: one seed gives the same folds, another seed other folds", "[train]") {
    const std::vector<manifest_entry> entries =
        made_up({3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2}, {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1});
    const auto a = k_fold_by_group(entries, 3, 11, true);
    const auto b = k_fold_by_group(entries, 3, 11, true);
    const auto c = k_fold_by_group(entries, 3, 12, true);
    bool all_same = true;
    for (std::size_t f = 0; f < 3; ++f) {
        CHECK(a[f].validation == b[f].validation);
        CHECK(a[f].train == b[f].train);
        all_same = all_same && a[f].validation == c[f].validation;
    }
    CHECK(!all_same);

    const data_split s1 = split_by_group(entries, 0.25, 3);
    const data_split s2 = split_by_group(entries, 0.25, 3);
    CHECK(s1.validation == s2.validation);
}

TEST_CASE("split: train and validation by fraction move whole clips", "[train]") {
    const manifest m = pocus("label");
    const data_split plain = split_by_group(m.entries, 0.2, 1);
    check_partition(m.entries, plain);
    CHECK(groups_of(m.entries, plain.validation).size() == 25); // round(0.2 * 123)

    const data_split stratified = split_by_group(m.entries, 0.2, 1, true);
    check_partition(m.entries, stratified);
    // round(0.2 * clips) per class: covid 22 -> 4, pneumonia 37 -> 7, regular 59 -> 12,
    // viral 5 -> 1.
    std::map<std::size_t, std::set<std::string>> per_class;
    for (std::size_t i : stratified.validation) {
        per_class[m.entries[i].label].insert(m.entries[i].group);
    }
    CHECK(per_class[0].size() == 4);
    CHECK(per_class[1].size() == 7);
    CHECK(per_class[2].size() == 12);
    CHECK(per_class[3].size() == 1);

    const std::vector<manifest_entry> two = made_up({4, 1}, {0, 0});
    const data_split tiny = split_by_group(two, 0.1, 5);
    CHECK(groups_of(two, tiny.validation).size() == 1);
    CHECK(groups_of(two, tiny.train).size() == 1);
}

TEST_CASE("split: a clip on both sides or an empty side is caught", "[train]") {
    const std::vector<manifest_entry> entries = made_up({2, 2, 2}, {0, 1, 0});
    // Frames 0, 1, 2 are the first frames of g0, g1, g2; 3, 4, 5 their second frames.
    try {
        check_split(entries, {{0, 1, 2, 4, 5}, {3}});
        FAIL("expected invalid_argument");
    } catch (const lusnet::invalid_argument& caught) {
        const std::string text = caught.what();
        CHECK(text.find("group 'g0'") != std::string::npos);
        CHECK(text.find("line 2") != std::string::npos);
        CHECK(text.find("line 5") != std::string::npos);
    }
    CHECK_THROWS_AS(check_split(entries, {{0, 1, 2, 3, 4, 5}, {}}), lusnet::invalid_argument);
    CHECK_THROWS_AS(check_split(entries, {{0, 3}, {1, 4, 9}}), lusnet::invalid_argument);
    CHECK_THROWS_AS(check_split(entries, {{0, 3, 3}, {1, 4}}), lusnet::invalid_argument);
    CHECK_NOTHROW(check_split(entries, {{0, 3}, {1, 4}}));

    // Group g2 validated twice, g0 never.
    const std::vector<data_split> folds{
        {{0, 3, 2, 5}, {1, 4}}, {{0, 3, 1, 4}, {2, 5}}, {{0, 3, 1, 4}, {2, 5}}};
    CHECK_THROWS_AS(check_folds(entries, folds), lusnet::invalid_argument);
}

TEST_CASE("split: too few groups, a bad fraction or a bad k is refused", "[train]") {
    const std::vector<manifest_entry> one = made_up({5}, {0});
    CHECK_THROWS_AS(split_by_group(one, 0.2, 0), lusnet::invalid_argument);
    const std::vector<manifest_entry> three = made_up({1, 1, 1}, {0, 1, 0});
    CHECK_THROWS_AS(split_by_group(three, 0.0, 0), lusnet::invalid_argument);
    CHECK_THROWS_AS(split_by_group(three, 1.0, 0), lusnet::invalid_argument);
    CHECK_THROWS_AS(k_fold_by_group(three, 1, 0), lusnet::invalid_argument);
    CHECK_THROWS_AS(k_fold_by_group(three, 4, 0), lusnet::invalid_argument);
    CHECK(k_fold_by_group(three, 3, 0).size() == 3);
}
