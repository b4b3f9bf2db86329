// Tests of include/lusnet/train/dataset.hpp: frames load as the core preprocesses them,
// batches cover an epoch once in a seeded order, and a seed (not the thread count) decides
// every batch.
#include "catch.hpp"

#include "lusnet/threads.hpp"
#include "lusnet/train/dataset.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

using namespace lusnet;

namespace {

const std::string data_dir = LUSNET_TEST_DATA_DIR;
const std::string pocus_dir = LUSNET_POCUS_DIR;

/// The six test frames: manifest columns file, clip and abnormal, gray 64 x 64 inputs.
image_dataset test_frames() {
    manifest_options options;
    options.path_column = "file";
    options.label_column = "abnormal";
    options.group_column = "clip";
    preprocessing p;
    p.mode = color_mode::gray;
    p.resize = 72;
    p.crop = 64;
    p.mean = {0.155f};
    p.std = {0.176f};
    return image_dataset(read_manifest(data_dir + "/manifest.csv", options), p);
}

bool identical(const tensor& a, const tensor& b) {
    return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.size(), b.data());
}

} // namespace

TEST_CASE("dataset: a frame loads exactly as the core preprocesses it", "[train]") {
    const image_dataset data = test_frames();
    REQUIRE(data.size() == 6);
    CHECK(data.classes() == std::vector<std::string>{"0", "1"});
    for (std::size_t i = 0; i < data.size(); ++i) {
        const tensor expected =
            preprocess(read_image(data.entries()[i].path, color_mode::gray), data.preprocess());
        INFO(data.entries()[i].path);
        CHECK(identical(data.load(i), expected));
        // No jitter: the augmented path (normalised after augmenting) gives the same bits.
        CHECK(identical(data.load(i, augmentation::none(), 5), expected));
    }
    CHECK(!identical(data.load(0, augmentation{}, 5), data.load(0)));
}

TEST_CASE("batch_loader: every frame comes once per epoch in a seeded order", "[train]") {
    loader_options options;
    options.batch_size = 4;
    options.seed = 17;
    const batch_loader loader(test_frames(), options);
    REQUIRE(loader.size() == 2);

    for (std::size_t epoch = 0; epoch < 3; ++epoch) {
        const sample_batch first = loader.load(epoch, 0);
        const sample_batch last = loader.load(epoch, 1);
        CHECK(first.images.shape() == shape4{4, 1, 64, 64});
        CHECK(last.images.shape() == shape4{2, 1, 64, 64});
        std::vector<std::size_t> seen = first.indices;
        seen.insert(seen.end(), last.indices.begin(), last.indices.end());
        CHECK(seen == loader.order(epoch));
        CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == 6);
        for (std::size_t k = 0; k < first.indices.size(); ++k) {
            const std::size_t i = first.indices[k];
            CHECK(first.labels[k] == loader.dataset().entries()[i].label);
            const tensor expected = loader.dataset().load(i);
            CHECK(std::equal(expected.data(), expected.data() + expected.size(),
                             first.images.sample(k)));
        }
    }
    CHECK(loader.order(0) != loader.order(1));

    options.shuffle = false;
    options.drop_last = true;
    const batch_loader ordered(test_frames(), options);
    CHECK(ordered.size() == 1);
    CHECK(ordered.load(3, 0).indices == std::vector<std::size_t>{0, 1, 2, 3});
}

TEST_CASE("batch_loader: the seed, not the thread count, decides an augmented batch", "[train]") {
    loader_options options;
    options.batch_size = 6;
    options.seed = 99;
    options.augment = augmentation{};
    const batch_loader loader(test_frames(), options);
    const int threads = get_num_threads();

    set_num_threads(1);
    const sample_batch one = loader.load(2, 0);
    set_num_threads(2);
    const sample_batch two = loader.load(2, 0);
    set_num_threads(threads);

    CHECK(identical(one.images, two.images));
    CHECK(one.indices == two.indices);
    const batch_loader again(test_frames(), options);
    CHECK(identical(again.load(2, 0).images, one.images));
    CHECK(!identical(loader.load(3, 0).images, one.images));

    options.seed = 100;
    const batch_loader reseeded(test_frames(), options);
    CHECK(!identical(reseeded.load(2, 0).images, one.images));
}

TEST_CASE("batch_loader: a POCUS batch has LUS-Net's input shape", "[train]") {
    const std::string csv = pocus_dir + "/manifest.csv";
    if (!std::filesystem::exists(csv)) {
        FAIL("missing " << csv << ": the POCUS frames are expected in ../shared/data/pocus next "
                        << "to the repository (LUSNET_POCUS_DIR)");
    }
    manifest_options options;
    options.path_column = "file";
    options.label_column = "abnormal";
    options.group_column = "clip";
    preprocessing p;
    p.mode = color_mode::gray;
    p.resize = 224;
    p.crop = 224;
    p.mean = {0.155f};
    p.std = {0.176f};
    loader_options batches;
    batches.batch_size = 3;
    batches.augment = augmentation{};
    const batch_loader loader(image_dataset(read_manifest(csv, options), p), batches);
    CHECK(loader.size() == 205);
    const sample_batch b = loader.load(0, 204);
    CHECK(b.images.shape() == shape4{3, 1, 224, 224});
    CHECK(b.labels.size() == 3);
}

TEST_CASE("batch_loader: bad sizes and indices are refused", "[train]") {
    loader_options zero;
    zero.batch_size = 0;
    CHECK_THROWS_AS(batch_loader(test_frames(), zero), lusnet::invalid_argument);
    loader_options too_big;
    too_big.batch_size = 7;
    too_big.drop_last = true;
    CHECK_THROWS_AS(batch_loader(test_frames(), too_big), lusnet::invalid_argument);
    const batch_loader loader(test_frames(), loader_options{});
    CHECK(loader.size() == 1);
    CHECK_THROWS_AS(loader.load(0, 1), lusnet::invalid_argument);
    CHECK_THROWS_AS(test_frames().subset({6}), lusnet::invalid_argument);
    CHECK(test_frames().subset({5, 0}).entries()[0].path == test_frames().entries()[5].path);
    CHECK_THROWS_AS(image_dataset({}, {"a"}, preprocessing{}), lusnet::invalid_argument);

    // A frame that vanished after the manifest was read fails its batch with an io_error.
    std::vector<manifest_entry> entries = test_frames().entries();
    entries[1].path = data_dir + "/vanished.png";
    const batch_loader broken(image_dataset(entries, {"0", "1"}, preprocessing{}),
                              loader_options{});
    CHECK_THROWS_AS(broken.load(0, 0), io_error);
}
