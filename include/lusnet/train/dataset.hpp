#pragma once

/// @file dataset.hpp
/// Frames listed by a manifest, decoded and preprocessed by the core, and served in seeded
/// batches.
///
/// A batch depends only on the seed, the epoch and the batch index: the epoch's order comes
/// from a generator seeded with `derive_seed(seed, epoch)`, and each frame's augmentation from
/// one seeded with the epoch seed and the frame's index, so the frames of a batch may load on
/// any number of threads and still come out the same.

#include "lusnet/detail/parallel.hpp"
#include "lusnet/error.hpp"
#include "lusnet/io/image.hpp"
#include "lusnet/io/transforms.hpp"
#include "lusnet/tensor.hpp"
#include "lusnet/train/augment.hpp"
#include "lusnet/train/manifest.hpp"
#include "lusnet/train/random.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

namespace lusnet {

/// A set of labelled frames and the preprocessing that turns each into a model input.
///
/// TODO(#5): every load decodes and resizes the file again; caching the resized frames (123 MB
/// for the 615 POCUS frames in gray at 224 x 224) would spare that work from the second epoch.
class image_dataset {
public:
    /// The frames `entries`, labelled by index into `classes`, prepared by `preprocess`.
    /// invalid_argument when there is no frame, a label is not a class index, or the
    /// preprocessing cannot work (see `preprocess`).
    image_dataset(std::vector<manifest_entry> entries, std::vector<std::string> classes,
                  preprocessing preprocess);
    /// The frames and classes of a manifest.
    image_dataset(const manifest& m, preprocessing preprocess)
        : image_dataset(m.entries, m.classes, std::move(preprocess)) {}

    std::size_t size() const { return m_entries.size(); }
    const std::vector<manifest_entry>& entries() const { return m_entries; }
    const std::vector<std::string>& classes() const { return m_classes; }
    const preprocessing& preprocess() const { return m_preprocess; }

    /// The frames at `indices` (e.g. one side of a split), in that order.
    image_dataset subset(const std::vector<std::size_t>& indices) const;
    /// Frame `i` read and preprocessed exactly as `lusnet::preprocess` does: `[1, C, H, W]`.
    tensor load(std::size_t i) const;
    /// Frame `i` with `options` applied after cropping and before normalisation, drawn from
    /// a generator seeded by `seed`: `[1, C, H, W]`.
    tensor load(std::size_t i, const augmentation& options, std::uint64_t seed) const;

private:
    std::vector<manifest_entry> m_entries;
    std::vector<std::string> m_classes;
    preprocessing m_preprocess;
};

/// How a `batch_loader` serves a data set.
struct loader_options {
    std::size_t batch_size = 16;         ///< frames per batch, >= 1
    bool shuffle = true;                 ///< a new seeded order every epoch; else file order
    bool drop_last = false;              ///< drop a last batch smaller than `batch_size`
    std::uint64_t seed = 0;              ///< seeds the order and the augmentation
    std::optional<augmentation> augment; ///< augmentation of every frame; none when empty
};

/// Frames of one batch.
struct sample_batch {
    tensor images;                    ///< `[B, C, H, W]`, preprocessed (and augmented)
    std::vector<std::size_t> labels;  ///< class index per frame
    std::vector<std::size_t> indices; ///< position of each frame in the data set
};

/// Serves a data set in batches, shuffled and augmented by seed.
class batch_loader {
public:
    /// invalid_argument for a batch size of 0, or when `drop_last` leaves no batch.
    batch_loader(image_dataset data, loader_options options);

    /// Batches per epoch.
    std::size_t size() const;
    /// The order of the frames in epoch `epoch` (counted from 0).
    std::vector<std::size_t> order(std::size_t epoch) const;
    /// Batch `index` (< size()) of epoch `epoch`; the frames load on lusnet's threads.
    sample_batch load(std::size_t epoch, std::size_t index) const;

    const image_dataset& dataset() const { return m_data; }
    const loader_options& options() const { return m_options; }

private:
    image_dataset m_data;
    loader_options m_options;
};

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// `lusnet::preprocess` without its last step, normalisation: intensities in [0, 1].
inline tensor preprocess_unnormalized(const image& img, const preprocessing& p) {
    const std::size_t channels = p.mode == color_mode::gray ? 1 : 3;
    tensor x = img.channels == channels ? to_tensor(img) : to_tensor(convert_color(img, p.mode));
    if (p.resize > 0) {
        x = resize_shorter(x, p.resize);
    }
    if (p.crop > 0) {
        x = center_crop(x, p.crop, p.crop);
    }
    return x;
}

} // namespace detail

inline image_dataset::image_dataset(std::vector<manifest_entry> entries,
                                    std::vector<std::string> classes, preprocessing preprocess)
    : m_entries(std::move(entries)), m_classes(std::move(classes)),
      m_preprocess(std::move(preprocess)) {
    if (m_entries.empty()) {
        throw invalid_argument("create dataset", "entries", "expected at least one frame, got 0");
    }
    for (const manifest_entry& e : m_entries) {
        if (e.label >= m_classes.size()) {
            throw invalid_argument("create dataset", e.path,
                                   "expected a label below the class count " +
                                       std::to_string(m_classes.size()) + ", got " +
                                       std::to_string(e.label));
        }
    }
    detail::check_preprocessing(m_preprocess);
}

inline image_dataset image_dataset::subset(const std::vector<std::size_t>& indices) const {
    std::vector<manifest_entry> chosen;
    chosen.reserve(indices.size());
    for (std::size_t i : indices) {
        if (i >= m_entries.size()) {
            throw invalid_argument("dataset subset", "index " + std::to_string(i),
                                   "expected an index below " + std::to_string(m_entries.size()));
        }
        chosen.push_back(m_entries[i]);
    }
    return image_dataset(std::move(chosen), m_classes, m_preprocess);
}

inline tensor image_dataset::load(std::size_t i) const {
    const manifest_entry& e = m_entries.at(i);
    return lusnet::preprocess(read_image(e.path, m_preprocess.mode), m_preprocess);
}

inline tensor image_dataset::load(std::size_t i, const augmentation& options,
                                  std::uint64_t seed) const {
    const manifest_entry& e = m_entries.at(i);
    const tensor plain =
        detail::preprocess_unnormalized(read_image(e.path, m_preprocess.mode), m_preprocess);
    tensor x = augment(plain, options, seed);
    if (!m_preprocess.mean.empty()) {
        normalize(x.view(), m_preprocess.mean, m_preprocess.std);
    }
    return x;
}

inline batch_loader::batch_loader(image_dataset data, loader_options options)
    : m_data(std::move(data)), m_options(std::move(options)) {
    if (m_options.batch_size == 0) {
        throw invalid_argument("create batch loader", "batch_size", "expected >= 1, got 0");
    }
    if (size() == 0) {
        throw invalid_argument("create batch loader", "drop_last",
                               "expected at least one full batch of " +
                                   std::to_string(m_options.batch_size) + ", got " +
                                   std::to_string(m_data.size()) + " frames");
    }
    if (m_options.augment) {
        detail::check_augmentation(*m_options.augment);
    }
}

inline std::size_t batch_loader::size() const {
    const std::size_t n = m_data.size(), b = m_options.batch_size;
    return m_options.drop_last ? n / b : (n + b - 1) / b;
}

inline std::vector<std::size_t> batch_loader::order(std::size_t epoch) const {
    std::vector<std::size_t> indices(m_data.size());
    std::iota(indices.begin(), indices.end(), std::size_t{0});
    if (m_options.shuffle) {
        random_engine rng(derive_seed(m_options.seed, epoch));
        fisher_yates_shuffle(indices, rng);
    }
    return indices;
}

inline sample_batch batch_loader::load(std::size_t epoch, std::size_t index) const {
    if (index >= size()) {
        throw invalid_argument("load batch", "index " + std::to_string(index),
                               "expected a batch index below " + std::to_string(size()));
    }
    const std::vector<std::size_t> all = order(epoch);
    const std::size_t first = index * m_options.batch_size;
    const std::size_t count = std::min(m_options.batch_size, all.size() - first);
    const std::uint64_t epoch_seed = derive_seed(m_options.seed, epoch);

    sample_batch batch;
    batch.indices.assign(all.begin() + first, all.begin() + first + count);
    std::vector<tensor> frames(count);
    std::vector<std::exception_ptr> errors(count);
    // Exceptions must not leave an OpenMP region; each frame keeps its own and the first
    // (in batch order) is thrown after the loop.
    LUSNET_PARALLEL_FOR
    for (std::size_t k = 0; k < count; ++k) {
        try {
            const std::size_t i = batch.indices[k];
            frames[k] = m_options.augment
                            ? m_data.load(i, *m_options.augment, derive_seed(epoch_seed, i))
                            : m_data.load(i);
        } catch (...) {
            errors[k] = std::current_exception();
        }
    }
    for (const std::exception_ptr& error : errors) {
        if (error) {
            std::rethrow_exception(error);
        }
    }

    const shape4 s = frames.front().shape();
    batch.images = tensor::uninitialized({count, s.c, s.h, s.w});
    for (std::size_t k = 0; k < count; ++k) {
        if (frames[k].shape() != s) {
            // Only possible without a crop, when the frames differ in size.
            throw shape_error("load batch", m_data.entries()[batch.indices[k]].path,
                              "expected a frame of shape " + s.str() + " like the first, got " +
                                  frames[k].shape().str());
        }
        std::copy(frames[k].data(), frames[k].data() + frames[k].size(), batch.images.sample(k));
        batch.labels.push_back(m_data.entries()[batch.indices[k]].label);
    }
    return batch;
}

} // namespace lusnet
