#pragma once

/// @file weights.hpp
/// Moving a model's parameters to and from safetensors files by state-dict key.

#include "lusnet/io/safetensors.hpp"
#include "lusnet/models/model.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>

namespace lusnet {

/// Fills every parameter of `net` from `file` by its state-dict key. Missing, unexpected,
/// mis-shaped and non-float tensors are all listed in one format_error; nothing is loaded then.
void load_weights(model& net, const safetensors_file& file);
/// Opens `path` (memory-mapped) and loads it into `net`.
void load_weights(model& net, const std::string& path);
/// Writes every parameter of `net` as F32 under its state-dict key, with `metadata` plus the
/// architecture and class count, so `safetensors.torch.load_file` + `load_state_dict` read it.
void save_weights(const model& net, const std::string& path,
                  std::map<std::string, std::string> metadata = {});

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// Adds `item` to a "; "-separated problem list under `heading`.
inline void list_problem(std::string& text, const std::string& heading, const std::string& item) {
    text += (text.empty() ? "" : "; ") + heading + " " + item;
}

/// Whether lusnet converts this dtype to float32 on reading.
inline bool is_float_dtype(dtype type) {
    return type == dtype::f32 || type == dtype::f16 || type == dtype::bf16 || type == dtype::f64;
}

} // namespace detail

inline void load_weights(model& net, const safetensors_file& file) {
    const auto params = net.named_parameters();
    const auto ignored = net.ignored_keys();
    std::set<std::string> expected;
    std::string problems;

    for (const auto& [key, p] : params) {
        expected.insert(key);
        if (!file.contains(key)) {
            detail::list_problem(problems, "missing", key);
            continue;
        }
        const tensor_info& info = file.info(key);
        if (info.shape != p->shape) {
            detail::list_problem(problems, "mis-shaped",
                                 key + " (expected " + shape_str(p->shape) + ", got " +
                                     shape_str(info.shape) + ")");
        } else if (!detail::is_float_dtype(info.type)) {
            detail::list_problem(problems, "not floating point",
                                 key + " (got " + dtype_name(info.type) + ")");
        }
    }
    for (const auto& info : file.tensors()) {
        const bool known = expected.count(info.name) ||
                           std::find(ignored.begin(), ignored.end(), info.name) != ignored.end();
        if (!known) {
            detail::list_problem(problems, "unexpected", info.name);
        }
    }
    if (!problems.empty()) {
        throw format_error("load weights into '" + net.arch() + "'", file.path(),
                           "the file's tensors do not match the model: " + problems);
    }

    for (const auto& [key, p] : params) {
        file.read_f32(key, p->data(), p->size());
    }
}

inline void load_weights(model& net, const std::string& path) {
    load_weights(net, safetensors_file::open(path));
}

inline void save_weights(const model& net, const std::string& path,
                         std::map<std::string, std::string> metadata) {
    std::vector<tensor_entry> entries;
    for (const auto& [key, p] : net.named_parameters()) {
        entries.push_back({key, p->shape, p->data()});
    }
    metadata.emplace("arch", net.arch());
    metadata.emplace("num_classes", std::to_string(net.num_classes()));
    save_safetensors(path, entries, metadata);
}

} // namespace lusnet
