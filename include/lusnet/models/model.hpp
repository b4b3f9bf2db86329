#pragma once

/// @file model.hpp
/// A model: an ordered graph of named layers whose names are PyTorch's state-dict prefixes.
///
/// Nodes run in insertion order; each reads the model input or earlier nodes' outputs, so a
/// chain (VGG) and a graph with branches (residual adds, Inception concatenations) are built
/// the same way. An intermediate output is freed as soon as its last reader has run.

#include "lusnet/detail/xtensor.hpp"
#include "lusnet/io/transforms.hpp"
#include "lusnet/layers/layer.hpp"

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lusnet {

/// Logits or probabilities, `[N, classes]`.
using class_scores = xt::xtensor<float, 2>;

/// Called with each node's name and output `[N, C, H, W]` as the model runs; the view is valid
/// only during the call.
using layer_observer = std::function<void(const std::string& name, const_tensor_view output)>;

/// A network of named layers with one input and one output.
class model {
public:
    /// The name by which a node reads the model input.
    static constexpr const char* input_name = "input";

    /// An empty model of architecture `arch` taking `in_channels` channels.
    model(std::string arch, std::size_t in_channels);

    model(model&&) noexcept = default;
    model& operator=(model&&) noexcept = default;

    /// Appends a node that reads the previous node (or the input, for the first node).
    layer& add(std::string name, std::unique_ptr<layer> op);
    /// Appends a node that reads the named nodes (or `input_name`) in the given order.
    layer& add(std::string name, std::unique_ptr<layer> op, const std::vector<std::string>& inputs);
    /// Constructs a layer of type `Layer` in place and appends it after the previous node.
    template <class Layer, class... Args>
    Layer& emplace(std::string name, Args&&... args) {
        auto op = std::make_unique<Layer>(std::forward<Args>(args)...);
        Layer& ref = *op;
        add(std::move(name), std::move(op));
        return ref;
    }

    /// Logits `[N, classes]` for a batch `[N, C, H, W]`.
    class_scores forward(const_tensor_view input) const;
    /// Softmax probabilities `[N, classes]`.
    class_scores predict(const_tensor_view input) const;
    /// The last node's output `[N, C, H, W]`; `observer` sees every node's output in order.
    tensor run(const_tensor_view input, const layer_observer& observer = {}) const;
    /// The output shape for an input shape; throws shape_error naming the first layer that
    /// does not fit.
    shape4 output_shape(const shape4& input) const;

    /// Multiply-accumulates of one forward at the given input shape (convolutions and linear
    /// layers).
    std::size_t macs(const shape4& input) const;

    /// Node names in execution order.
    std::vector<std::string> layer_names() const;
    bool contains(const std::string& name) const { return m_index.count(name) != 0; }
    /// The named layer; key_error listing the valid names when absent.
    layer& at(const std::string& name);
    const layer& at(const std::string& name) const;
    /// Every parameter under its full state-dict key, e.g. "features.0.weight".
    std::vector<std::pair<std::string, parameter*>> named_parameters();
    std::vector<std::pair<std::string, const parameter*>> named_parameters() const;
    /// State-dict keys a weights file may carry that inference ignores.
    std::vector<std::string> ignored_keys() const;
    /// Number of learnable values (running statistics excluded).
    std::size_t parameter_count() const;

    const std::string& arch() const { return m_arch; }
    std::size_t in_channels() const { return m_in_channels; }
    /// Output classes: the width of the last node's output for a default-size input.
    std::size_t num_classes() const;
    /// How images are turned into this model's input.
    const preprocessing& preprocess() const { return m_preprocess; }
    void set_preprocess(preprocessing p) { m_preprocess = std::move(p); }
    /// The node whose output Grad-CAM explains by default (the last convolutional stage).
    const std::string& default_cam_layer() const { return m_cam_layer; }
    void set_default_cam_layer(std::string name);

private:
    struct node {
        std::string name;
        std::unique_ptr<layer> op;
        /// Sources: `npos` is the model input, any other value a node index.
        std::vector<std::size_t> inputs;
    };
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    void check_input(const shape4& input) const;
    /// Every node's output shape for a model input shape.
    std::vector<shape4> node_shapes(const shape4& input) const;
    /// The input shapes of node `i`, given every node's output shape.
    std::vector<shape4> node_input_shapes(const std::vector<shape4>& shapes, const shape4& input,
                                          std::size_t i) const;
    std::string names_list() const;

    std::string m_arch;
    std::size_t m_in_channels;
    preprocessing m_preprocess;
    std::string m_cam_layer;
    std::vector<node> m_nodes;
    std::unordered_map<std::string, std::size_t> m_index;
};

// ---------------------------------------------------------------------------------------------
// Definitions

inline model::model(std::string arch, std::size_t in_channels)
    : m_arch(std::move(arch)), m_in_channels(in_channels) {
    if (in_channels == 0) {
        throw invalid_argument("create model", m_arch, "expected at least one input channel");
    }
}

inline layer& model::add(std::string name, std::unique_ptr<layer> op) {
    std::vector<std::string> inputs{m_nodes.empty() ? input_name : m_nodes.back().name};
    return add(std::move(name), std::move(op), inputs);
}

inline layer& model::add(std::string name, std::unique_ptr<layer> op,
                         const std::vector<std::string>& inputs) {
    if (!op || name.empty() || name == input_name || contains(name)) {
        throw invalid_argument("add layer", "model '" + m_arch + "'",
                               "expected a layer under a new, non-empty name, got '" + name + "'");
    }
    node entry{name, std::move(op), {}};
    for (const auto& source : inputs) {
        if (source == input_name) {
            entry.inputs.push_back(npos);
        } else if (contains(source)) {
            entry.inputs.push_back(m_index.at(source));
        } else {
            throw key_error("add layer '" + name + "'", "model '" + m_arch + "'",
                            "input '" + source + "' is not an earlier node");
        }
    }
    entry.op->set_name(name);
    m_index.emplace(name, m_nodes.size());
    m_nodes.push_back(std::move(entry));
    return *m_nodes.back().op;
}

inline void model::check_input(const shape4& input) const {
    if (m_nodes.empty()) {
        throw invalid_argument("forward", "model '" + m_arch + "'", "the model has no layers");
    }
    if (input.n == 0 || input.c != m_in_channels || input.h == 0 || input.w == 0) {
        throw shape_error("forward", "model '" + m_arch + "'",
                          "expected input [N >= 1, " + std::to_string(m_in_channels) +
                              ", H, W], got " + input.str());
    }
}

inline std::vector<shape4> model::node_input_shapes(const std::vector<shape4>& shapes,
                                                    const shape4& input, std::size_t i) const {
    std::vector<shape4> in;
    for (auto source : m_nodes[i].inputs) {
        in.push_back(source == npos ? input : shapes[source]);
    }
    return in;
}

inline std::vector<shape4> model::node_shapes(const shape4& input) const {
    check_input(input);
    std::vector<shape4> shapes(m_nodes.size());
    for (std::size_t i = 0; i < m_nodes.size(); ++i) {
        shapes[i] = m_nodes[i].op->output_shape(node_input_shapes(shapes, input, i));
    }
    return shapes;
}

inline shape4 model::output_shape(const shape4& input) const {
    return node_shapes(input).back();
}

inline std::size_t model::macs(const shape4& input) const {
    const std::vector<shape4> shapes = node_shapes(input);
    std::size_t total = 0;
    for (std::size_t i = 0; i < m_nodes.size(); ++i) {
        total += m_nodes[i].op->macs(node_input_shapes(shapes, input, i));
    }
    return total;
}

inline tensor model::run(const_tensor_view input, const layer_observer& observer) const {
    output_shape(input.shape()); // every layer checked before any work is done

    // How many later nodes read each output; it is freed when that reaches zero.
    std::vector<std::size_t> readers(m_nodes.size(), 0);
    for (const auto& n : m_nodes) {
        for (auto source : n.inputs) {
            if (source != npos) {
                ++readers[source];
            }
        }
    }
    std::vector<tensor> outputs(m_nodes.size());
    for (std::size_t i = 0; i < m_nodes.size(); ++i) {
        std::vector<const_tensor_view> in;
        for (auto source : m_nodes[i].inputs) {
            in.push_back(source == npos ? input : outputs[source].view());
        }
        outputs[i] = m_nodes[i].op->forward(in);
        if (observer) {
            observer(m_nodes[i].name, outputs[i].view());
        }
        for (auto source : m_nodes[i].inputs) {
            if (source != npos && --readers[source] == 0) {
                outputs[source] = tensor();
            }
        }
    }
    return std::move(outputs.back());
}

inline class_scores model::forward(const_tensor_view input) const {
    const tensor out = run(input);
    const shape4& s = out.shape();
    class_scores scores = xt::empty<float>({s.n, s.sample_size()});
    std::copy(out.data(), out.data() + out.size(), scores.data());
    return scores;
}

inline class_scores model::predict(const_tensor_view input) const {
    class_scores scores = forward(input);
    for (std::size_t n = 0; n < scores.shape(0); ++n) {
        auto row = xt::row(scores, static_cast<std::ptrdiff_t>(n));
        const float top = xt::amax(row)();
        row = xt::exp(row - top);
        row /= xt::sum(row)();
    }
    return scores;
}

inline std::vector<std::string> model::layer_names() const {
    std::vector<std::string> names;
    for (const auto& n : m_nodes) {
        names.push_back(n.name);
    }
    return names;
}

inline std::string model::names_list() const {
    std::string text;
    for (const auto& n : m_nodes) {
        text += (text.empty() ? "" : ", ") + n.name;
    }
    return text;
}

inline layer& model::at(const std::string& name) {
    return const_cast<layer&>(static_cast<const model&>(*this).at(name));
}

inline const layer& model::at(const std::string& name) const {
    const auto it = m_index.find(name);
    if (it == m_index.end()) {
        throw key_error("find layer", "model '" + m_arch + "'",
                        "no layer '" + name + "'; layers are: " + names_list());
    }
    return *m_nodes[it->second].op;
}

inline std::vector<std::pair<std::string, parameter*>> model::named_parameters() {
    std::vector<std::pair<std::string, parameter*>> result;
    for (auto& n : m_nodes) {
        for (parameter* p : n.op->parameters()) {
            result.emplace_back(n.name + "." + p->name, p);
        }
    }
    return result;
}

inline std::vector<std::pair<std::string, const parameter*>> model::named_parameters() const {
    std::vector<std::pair<std::string, const parameter*>> result;
    for (auto& [key, p] : const_cast<model*>(this)->named_parameters()) {
        result.emplace_back(key, p);
    }
    return result;
}

inline std::vector<std::string> model::ignored_keys() const {
    std::vector<std::string> keys;
    for (const auto& n : m_nodes) {
        for (const auto& suffix : n.op->ignored_keys()) {
            keys.push_back(n.name + "." + suffix);
        }
    }
    return keys;
}

inline std::size_t model::parameter_count() const {
    std::size_t count = 0;
    for (const auto& [key, p] : named_parameters()) {
        const bool statistic = p->name == "running_mean" || p->name == "running_var";
        count += statistic ? 0 : p->size();
    }
    return count;
}

inline std::size_t model::num_classes() const {
    const std::size_t crop = m_preprocess.crop ? m_preprocess.crop : 224;
    return output_shape({1, m_in_channels, crop, crop}).sample_size();
}

inline void model::set_default_cam_layer(std::string name) {
    at(name); // throws when absent
    m_cam_layer = std::move(name);
}

} // namespace lusnet
