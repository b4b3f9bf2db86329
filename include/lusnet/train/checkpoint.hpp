#pragma once

/// @file checkpoint.hpp
/// Training checkpoints: model weights with metadata, and the optimiser state in a file of its
/// own.
///
/// The weights file holds the state dict and nothing else, so PyTorch reads it unchanged
/// (`model.load_state_dict(safetensors.torch.load_file(path), strict=True)`); what training
/// adds lives in its string metadata: `arch`, `num_classes`, `classes` (JSON array),
/// `preprocessing` (JSON object), `epoch`, `metrics` (JSON object) and `optimizer_state` (the
/// optimiser file's name). The optimiser file, `<stem>.optim.safetensors` beside the weights,
/// holds one F32 tensor per parameter and buffer, `<parameter key>.<buffer>` (e.g.
/// `classifier.weight.exp_avg`), and the metadata `optimizer` (kind), `step` and
/// `hyperparameters` (JSON object).

#include "lusnet/error.hpp"
#include "lusnet/io/safetensors.hpp"
#include "lusnet/io/weights.hpp"
#include "lusnet/models/model.hpp"
#include "lusnet/train/optimizer.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace lusnet {

/// What a checkpoint records besides the weights.
struct checkpoint_info {
    /// Epochs completed when the checkpoint was written.
    std::size_t epoch = 0;
    /// Class names in class-index order; may be empty.
    std::vector<std::string> classes;
    /// Named results, e.g. {"val_loss", 0.31}, {"val_auc", 0.92}; NaN is kept as JSON null.
    std::map<std::string, double> metrics;
};

/// The optimiser file that belongs to the weights at `weights_path`: the same directory and
/// file name with its last extension replaced, "run/best.safetensors" ->
/// "run/best.optim.safetensors".
std::string optimizer_state_path(const std::string& weights_path);

/// Writes the step count, hyper-parameters and per-parameter buffers of `opt` to `path`.
void save_optimizer_state(const optimizer& opt, const std::string& path);

/// Restores what `save_optimizer_state` wrote into `opt`, hyper-parameters included (as
/// PyTorch's `Optimizer.load_state_dict` restores its param groups). The file must come from
/// an optimiser of the same kind over parameters of the same names and sizes; every mismatch
/// is listed in one format_error, and `opt` is left unchanged then.
void load_optimizer_state(optimizer& opt, const std::string& path);

/// Writes `net`'s weights to `path` with `info`, the preprocessing and the architecture in the
/// metadata, and, when `opt` is not null, its state to `optimizer_state_path(path)`.
void save_checkpoint(const model& net, const optimizer* opt, const std::string& path,
                     const checkpoint_info& info = {});

/// Loads weights and preprocessing from `path` into `net` (format_error when the file names
/// another architecture), the optimiser state when `opt` is not null, and returns the rest.
/// A plain weights file without training metadata loads too, with a default `info`. Each part
/// is checked whole before it loads, but the weights load before the optimiser file is read:
/// when that file is bad, `net` already holds the new weights.
checkpoint_info load_checkpoint(model& net, optimizer* opt, const std::string& path);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// Marks files lusnet wrote, so a reader can tell them from other safetensors files.
inline constexpr const char* optimizer_format = "lusnet.optimizer.v1";
inline constexpr const char* checkpoint_format = "lusnet.checkpoint.v1";

inline nlohmann::json preprocessing_to_json(const preprocessing& p) {
    return {{"mode", p.mode == color_mode::gray ? "gray" : "rgb"},
            {"resize", p.resize},
            {"crop", p.crop},
            {"mean", p.mean},
            {"std", p.std}};
}

inline preprocessing preprocessing_from_json(const std::string& text, const std::string& path) {
    try {
        const nlohmann::json j = nlohmann::json::parse(text);
        preprocessing p;
        const std::string mode = j.at("mode").get<std::string>();
        if (mode != "gray" && mode != "rgb") {
            throw format_error(
                "load checkpoint", path,
                "metadata 'preprocessing': expected mode \"gray\" or \"rgb\", got \"" + mode +
                    "\"");
        }
        p.mode = mode == "gray" ? color_mode::gray : color_mode::rgb;
        p.resize = j.at("resize").get<std::size_t>();
        p.crop = j.at("crop").get<std::size_t>();
        p.mean = j.at("mean").get<std::vector<float>>();
        p.std = j.at("std").get<std::vector<float>>();
        return p;
    } catch (const nlohmann::json::exception& caught) {
        throw format_error("load checkpoint", path,
                           "metadata 'preprocessing': expected a JSON object with mode, resize, "
                           "crop, mean and std, got " +
                               text + " (" + caught.what() + ")");
    }
}

/// Metadata `key` parsed as JSON, or null when absent; format_error when it is not JSON.
inline nlohmann::json metadata_json(const safetensors_file& file, const std::string& key,
                                    const std::string& operation) {
    const auto found = file.metadata().find(key);
    if (found == file.metadata().end()) {
        return nullptr;
    }
    try {
        return nlohmann::json::parse(found->second);
    } catch (const nlohmann::json::exception&) {
        throw format_error(operation, file.path(),
                           "metadata '" + key + "': expected JSON, got " + found->second);
    }
}

/// Metadata `key` as an unsigned integer; format_error when absent or not one.
inline std::size_t metadata_count(const safetensors_file& file, const std::string& key,
                                  const std::string& operation) {
    const auto found = file.metadata().find(key);
    const std::string text = found == file.metadata().end() ? "" : found->second;
    const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || text.size() > 18) {
        throw format_error(operation, file.path(),
                           "metadata '" + key + "': expected a non-negative integer, got " +
                               (found == file.metadata().end() ? "no such key" : "'" + text + "'"));
    }
    return static_cast<std::size_t>(std::stoull(text));
}

/// The hyper-parameters stored in an optimiser file.
inline std::map<std::string, double> read_hyperparameters(const safetensors_file& file,
                                                          const std::string& operation) {
    const nlohmann::json j = metadata_json(file, "hyperparameters", operation);
    std::map<std::string, double> values;
    if (!j.is_object()) {
        throw format_error(operation, file.path(),
                           "metadata 'hyperparameters': expected a JSON object, got " +
                               std::string(j.is_null() ? "no such key" : j.type_name()));
    }
    for (const auto& item : j.items()) {
        if (!item.value().is_number()) {
            throw format_error(operation, file.path(),
                               "metadata 'hyperparameters': expected numbers, got " +
                                   item.value().dump() + " for '" + item.key() + "'");
        }
        values[item.key()] = item.value().get<double>();
    }
    return values;
}

/// Reads the buffers of `opt` from `file` and lists what does not fit in `problems`.
inline std::vector<std::vector<std::vector<float>>>
read_optimizer_buffers(const optimizer& opt, const safetensors_file& file, std::size_t steps,
                       std::string& problems) {
    const std::vector<std::string> slots = opt.state_names();
    std::vector<std::vector<std::vector<float>>> buffers(opt.parameters().size());
    std::set<std::string> expected;

    for (std::size_t k = 0; k < opt.parameters().size(); ++k) {
        const trainable_parameter& p = opt.parameters()[k];
        buffers[k].resize(slots.size());
        for (std::size_t s = 0; s < slots.size(); ++s) {
            const std::string key = p.name + "." + slots[s];
            expected.insert(key);
            if (!file.contains(key)) {
                if (steps > 0) {
                    list_problem(problems, "missing", key);
                }
                continue;
            }
            const tensor_info& info = file.info(key);
            if (info.shape != p.value->shape || info.type != dtype::f32) {
                list_problem(problems, "mis-shaped",
                             key + " (expected F32 " + shape_str(p.value->shape) + ", got " +
                                 dtype_name(info.type) + " " + shape_str(info.shape) + ")");
                continue;
            }
            buffers[k][s] = file.read_f32(key);
        }
    }
    for (const tensor_info& info : file.tensors()) {
        if (expected.count(info.name) == 0) {
            list_problem(problems, "unexpected", info.name);
        }
    }
    return buffers;
}

} // namespace detail

inline std::string optimizer_state_path(const std::string& weights_path) {
    const std::filesystem::path path(weights_path);
    const std::filesystem::path name = path.stem().string() + ".optim.safetensors";
    return (path.parent_path() / name).string();
}

inline void save_optimizer_state(const optimizer& opt, const std::string& path) {
    const std::vector<std::string> slots = opt.state_names();
    std::vector<tensor_entry> entries;
    for (std::size_t k = 0; k < opt.parameters().size(); ++k) {
        const trainable_parameter& p = opt.parameters()[k];
        for (std::size_t s = 0; s < slots.size(); ++s) {
            const std::vector<float>& buffer = opt.state(k, s);
            if (!buffer.empty()) {
                entries.push_back({p.name + "." + slots[s], p.value->shape, buffer.data()});
            }
        }
    }

    nlohmann::json names = nlohmann::json::array();
    for (const trainable_parameter& p : opt.parameters()) {
        names.push_back(p.name);
    }
    const std::map<std::string, std::string> metadata{
        {"format", detail::optimizer_format},
        {"optimizer", opt.kind()},
        {"step", std::to_string(opt.steps())},
        {"hyperparameters", nlohmann::json(opt.hyperparameters()).dump()},
        {"parameters", names.dump()}};
    save_safetensors(path, entries, metadata);
}

inline void load_optimizer_state(optimizer& opt, const std::string& path) {
    const std::string operation = std::string("load ") + opt.kind() + " state";
    const safetensors_file file = safetensors_file::open(path);
    const auto kind = file.metadata().find("optimizer");
    if (kind == file.metadata().end() || kind->second != opt.kind()) {
        throw format_error(operation, path,
                           "expected the state of a " + std::string(opt.kind()) +
                               " optimiser, got " +
                               (kind == file.metadata().end() ? std::string("no 'optimizer' key")
                                                              : "one of " + kind->second));
    }
    const std::size_t steps = detail::metadata_count(file, "step", operation);
    const std::map<std::string, double> loaded = detail::read_hyperparameters(file, operation);

    // The buffers to expect depend on the hyper-parameters (SGD keeps none without momentum),
    // so they are set first and put back if anything else does not fit.
    const std::map<std::string, double> previous = opt.hyperparameters();
    opt.set_hyperparameters(loaded);
    std::string problems;
    auto buffers = detail::read_optimizer_buffers(opt, file, steps, problems);
    if (!problems.empty()) {
        opt.set_hyperparameters(previous);
        throw format_error(operation, path,
                           "the file's buffers do not match the optimiser's parameters: " +
                               problems);
    }
    opt.restore(steps, std::move(buffers));
}

inline void save_checkpoint(const model& net, const optimizer* opt, const std::string& path,
                            const checkpoint_info& info) {
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [name, value] : info.metrics) {
        metrics[name] = std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
    }
    std::map<std::string, std::string> metadata{
        {"format", detail::checkpoint_format},
        {"epoch", std::to_string(info.epoch)},
        {"classes", nlohmann::json(info.classes).dump()},
        {"metrics", metrics.dump()},
        {"preprocessing", detail::preprocessing_to_json(net.preprocess()).dump()}};

    if (opt != nullptr) {
        const std::string state_path = optimizer_state_path(path);
        metadata["optimizer"] = opt->kind();
        metadata["optimizer_state"] = std::filesystem::path(state_path).filename().string();
        save_weights(net, path, metadata);
        save_optimizer_state(*opt, state_path);
    } else {
        save_weights(net, path, metadata);
    }
}

inline checkpoint_info load_checkpoint(model& net, optimizer* opt, const std::string& path) {
    const std::string operation = "load checkpoint";
    const safetensors_file file = safetensors_file::open(path);
    const auto arch = file.metadata().find("arch");
    if (arch != file.metadata().end() && arch->second != net.arch()) {
        throw format_error(operation, path,
                           "expected weights of '" + net.arch() + "', got weights of '" +
                               arch->second + "'");
    }

    checkpoint_info info;
    if (file.metadata().count("epoch") != 0) {
        info.epoch = detail::metadata_count(file, "epoch", operation);
    }
    const nlohmann::json classes = detail::metadata_json(file, "classes", operation);
    const nlohmann::json metrics = detail::metadata_json(file, "metrics", operation);
    try {
        if (!classes.is_null()) {
            info.classes = classes.get<std::vector<std::string>>();
        }
        if (!metrics.is_null() && !metrics.is_object()) {
            throw format_error(operation, path,
                               "metadata 'metrics': expected a JSON object, got " + metrics.dump());
        }
        for (const auto& item : metrics.items()) {
            info.metrics[item.key()] = item.value().is_null()
                                           ? std::numeric_limits<double>::quiet_NaN()
                                           : item.value().get<double>();
        }
    } catch (const nlohmann::json::exception& caught) {
        throw format_error(operation, path,
                           "metadata 'classes' and 'metrics': expected an array of names and an "
                           "object of numbers, got " +
                               std::string(caught.what()));
    }
    const auto stored = file.metadata().find("preprocessing");
    const preprocessing preprocess = stored == file.metadata().end()
                                         ? net.preprocess()
                                         : detail::preprocessing_from_json(stored->second, path);

    load_weights(net, file);
    net.set_preprocess(preprocess);
    if (opt != nullptr) {
        load_optimizer_state(*opt, optimizer_state_path(path));
    }
    return info;
}

} // namespace lusnet
