#pragma once

/// @file model.hpp
/// A model: an ordered graph of named layers whose names are PyTorch's state-dict prefixes.
///
/// Nodes run in insertion order; each reads the model input or earlier nodes' outputs, so a
/// chain (VGG) and a graph with branches (residual adds, Inception concatenations) are built
/// the same way. An intermediate output is freed as soon as its last reader has run, unless a
/// recorded forward (`record`) must keep it for the backward pass.

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

class model;

/// What a recorded forward pass kept for `model::backward`: the output, the output of the node
/// backward stops at, and the tensors the layers after that node read in their backward.
///
/// Bound to the model that recorded it, which must outlive it and stay unchanged.
class forward_tape {
public:
    /// The model's output `[N, C, H, W]` (logits `[N, classes, 1, 1]` for a classifier).
    const tensor& output() const { return m_outputs.back(); }
    /// The output of the node backward stops at, `[N, C, H, W]`; the input for `input_name`.
    const_tensor_view captured() const;
    /// The name of the node backward stops at.
    const std::string& stop() const { return m_stop_name; }

private:
    friend class model;

    const model* m_model = nullptr;
    std::string m_stop_name;
    /// Node index backward stops at; `npos` for the model input.
    std::size_t m_stop = 0;
    bool m_parameter_grads = false;
    shape4 m_input_shape;
    /// A copy of the input, kept only when the stop is the input or a layer reads it.
    tensor m_input;
    std::vector<shape4> m_shapes;
    /// Every node's output when kept, empty otherwise.
    std::vector<tensor> m_outputs;
};

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
    /// Runs forward like `run` and keeps what `backward` needs to carry a gradient from the
    /// output back to the output of node `stop` (or to the input, for `input_name`), and that
    /// output itself; the nodes before `stop` free their outputs as in `run`. With
    /// `parameter_grads`, the layers after `stop` also keep what their parameter gradients
    /// read. key_error listing the valid names when `stop` is not a node.
    forward_tape record(const_tensor_view input, const std::string& stop = input_name,
                        bool parameter_grads = false) const;
    /// dL/d(stop's output) `[N, C, H, W]` from `grad_output` = dL/d output (the output's shape),
    /// by the chain rule through every node after the tape's stop; gradients of outputs read by
    /// several nodes add up. With `parameter_grads`, also adds dL/d parameter into the sink
    /// for the tracked parameters of those nodes (the tape must be recorded with
    /// `parameter_grads`).
    tensor backward(const forward_tape& tape, const_tensor_view grad_output,
                    parameter_gradients* parameter_grads = nullptr) const;
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
    friend class forward_tape;

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
    /// Runs every node; an output is kept when `keep` says so, otherwise freed after its last
    /// reader. Returns every node's output (empty where freed).
    std::vector<tensor> execute(const_tensor_view input, const std::vector<bool>& keep,
                                const layer_observer& observer) const;
    /// Index of node `name`, or `npos` for `input_name`; key_error when absent.
    std::size_t index_of(const std::string& name) const;
    /// Whether each node's output depends on node `stop` (or on the input, for `npos`).
    std::vector<bool> downstream_of(std::size_t stop) const;
    /// The inputs of node `i` as backward sees them: kept values, or shape-only views.
    std::vector<const_tensor_view> tape_inputs(const forward_tape& tape, std::size_t i) const;
    void check_tape(const forward_tape& tape, const_tensor_view grad_output,
                    const parameter_gradients* parameter_grads) const;

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
    std::vector<bool> keep(m_nodes.size(), false);
    keep.back() = true;
    return std::move(execute(input, keep, observer).back());
}

inline std::vector<tensor> model::execute(const_tensor_view input, const std::vector<bool>& keep,
                                          const layer_observer& observer) const {
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
            if (source != npos && --readers[source] == 0 && !keep[source]) {
                outputs[source] = tensor();
            }
        }
    }
    return outputs;
}

inline std::size_t model::index_of(const std::string& name) const {
    if (name == input_name) {
        return npos;
    }
    at(name); // key_error listing the valid names when absent
    return m_index.at(name);
}

inline std::vector<bool> model::downstream_of(std::size_t stop) const {
    std::vector<bool> downstream(m_nodes.size(), false);
    for (std::size_t i = (stop == npos ? 0 : stop + 1); i < m_nodes.size(); ++i) {
        for (auto source : m_nodes[i].inputs) {
            if (source == stop || (source != npos && downstream[source])) {
                downstream[i] = true;
            }
        }
    }
    return downstream;
}

inline forward_tape model::record(const_tensor_view input, const std::string& stop,
                                  bool parameter_grads) const {
    forward_tape tape;
    tape.m_model = this;
    tape.m_stop_name = stop;
    tape.m_stop = index_of(stop);
    tape.m_parameter_grads = parameter_grads;
    tape.m_input_shape = input.shape();
    tape.m_shapes = node_shapes(input.shape()); // every layer checked before any work is done

    // Keep the output, the stop's output, and what the backward of each node after the stop
    // reads: its inputs' values, its own output, or neither.
    const std::vector<bool> downstream = downstream_of(tape.m_stop);
    std::vector<bool> keep(m_nodes.size(), false);
    keep.back() = true;
    bool keep_input = tape.m_stop == npos;
    if (tape.m_stop != npos) {
        keep[tape.m_stop] = true;
    }
    for (std::size_t i = 0; i < m_nodes.size(); ++i) {
        if (!downstream[i]) {
            continue;
        }
        const backward_reads reads = m_nodes[i].op->reads_for_backward(parameter_grads);
        keep[i] = keep[i] || reads.output;
        for (auto source : m_nodes[i].inputs) {
            if (reads.inputs && source == npos) {
                keep_input = true;
            } else if (reads.inputs) {
                keep[source] = true;
            }
        }
    }

    if (keep_input) {
        tape.m_input = tensor::copy_of(input);
    }
    tape.m_outputs = execute(input, keep, {});
    return tape;
}

inline std::vector<const_tensor_view> model::tape_inputs(const forward_tape& tape,
                                                         std::size_t i) const {
    std::vector<const_tensor_view> in;
    for (auto source : m_nodes[i].inputs) {
        if (source == npos) {
            in.emplace_back(tape.m_input.empty() ? nullptr : tape.m_input.data(),
                            tape.m_input_shape);
        } else {
            const tensor& kept = tape.m_outputs[source];
            in.emplace_back(kept.empty() ? nullptr : kept.data(), tape.m_shapes[source]);
        }
    }
    return in;
}

inline void model::check_tape(const forward_tape& tape, const_tensor_view grad_output,
                              const parameter_gradients* parameter_grads) const {
    if (tape.m_model != this || tape.m_outputs.size() != m_nodes.size()) {
        throw invalid_argument("backward", "model '" + m_arch + "'",
                               "expected a tape recorded by this model, unchanged since");
    }
    if (parameter_grads && !tape.m_parameter_grads) {
        throw invalid_argument("backward", "model '" + m_arch + "'",
                               "parameter gradients need a tape recorded with parameter_grads");
    }
    if (grad_output.shape() != tape.output().shape()) {
        throw shape_error("backward", "model '" + m_arch + "'",
                          "expected a gradient of the output's shape " +
                              tape.output().shape().str() + ", got " + grad_output.shape().str());
    }
}

inline tensor model::backward(const forward_tape& tape, const_tensor_view grad_output,
                              parameter_gradients* parameter_grads) const {
    check_tape(tape, grad_output, parameter_grads);
    const std::vector<bool> downstream = downstream_of(tape.m_stop);
    const std::size_t last = m_nodes.size() - 1;
    if (tape.m_stop == last) {
        return tensor::copy_of(grad_output);
    }

    // Gradients of node outputs, filled from the output backwards; a node's gradient is
    // complete once every later reader has run, since nodes only read earlier nodes.
    std::vector<tensor> grads(m_nodes.size());
    tensor grad_input;
    grads[last] = tensor::copy_of(grad_output);
    for (std::size_t i = last + 1; i-- > 0 && (tape.m_stop == npos || i > tape.m_stop);) {
        if (!downstream[i] || grads[i].empty()) {
            continue;
        }
        const tensor& out = tape.m_outputs[i];
        const const_tensor_view output(out.empty() ? nullptr : out.data(), tape.m_shapes[i]);
        std::vector<tensor> input_grads =
            m_nodes[i].op->backward(tape_inputs(tape, i), output, grads[i], parameter_grads);
        grads[i] = tensor();
        for (std::size_t k = 0; k < input_grads.size(); ++k) {
            const std::size_t source = m_nodes[i].inputs[k];
            const bool wanted = source == tape.m_stop || (source != npos && downstream[source]);
            tensor& target = source == npos ? grad_input : grads[source];
            if (!wanted) {
                continue;
            }
            if (target.empty()) {
                target = std::move(input_grads[k]);
            } else {
                target.values() += input_grads[k].values();
            }
        }
    }
    tensor& result = tape.m_stop == npos ? grad_input : grads[tape.m_stop];
    if (result.empty()) {
        // The output does not depend on the stop: its gradient is zero.
        return tensor(tape.m_stop == npos ? tape.m_input_shape : tape.m_shapes[tape.m_stop]);
    }
    return std::move(result);
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

inline const_tensor_view forward_tape::captured() const {
    if (m_stop == model::npos) {
        return m_input.view();
    }
    return m_outputs[m_stop].view();
}

inline void model::set_default_cam_layer(std::string name) {
    at(name); // throws when absent
    m_cam_layer = std::move(name);
}

} // namespace lusnet
