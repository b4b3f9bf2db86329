#pragma once

/// @file layer.hpp
/// The interface every layer implements, and the named parameters it owns.

#include "lusnet/error.hpp"
#include "lusnet/tensor.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <numeric>
#include <string>
#include <unordered_map>
#include <vector>

namespace lusnet {

/// A pair of sizes along height and width; one number sets both.
struct size2 {
    std::size_t h = 1; ///< along height
    std::size_t w = 1; ///< along width
    size2() = default;
    size2(std::size_t both) : h(both), w(both) {}
    size2(std::size_t h_, std::size_t w_) : h(h_), w(w_) {}
    std::string str() const { return "(" + std::to_string(h) + ", " + std::to_string(w) + ")"; }
};

/// A learnable tensor or buffer of a layer, in PyTorch's layout and under PyTorch's name.
struct parameter {
    /// The key suffix in a state dict: "weight", "bias", "running_mean", "running_var".
    std::string name;
    /// The PyTorch shape, e.g. `[O, I/groups, kH, kW]` for a convolution weight.
    std::vector<std::size_t> shape;
    /// Row-major values, `product(shape)` of them.
    std::vector<float, aligned_allocator> values;

    parameter(std::string name_, std::vector<std::size_t> shape_, float fill = 0.0f)
        : name(std::move(name_)), shape(std::move(shape_)),
          values(std::accumulate(shape.begin(), shape.end(), std::size_t{1},
                                 std::multiplies<std::size_t>()),
                 fill) {}

    std::size_t size() const { return values.size(); }
    float* data() { return values.data(); }
    const float* data() const { return values.data(); }
};

/// Text of a parameter shape for messages, e.g. "[64, 3, 3, 3]".
inline std::string shape_str(const std::vector<std::size_t>& shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        text += (i ? ", " : "") + std::to_string(shape[i]);
    }
    return text + "]";
}

/// Where backward passes add the gradients of parameters, one buffer per tracked parameter.
///
/// Explanations ask for no parameter gradient and pass no sink; training tracks the parameters
/// it updates (and only those, so frozen layers cost nothing) and zeroes the buffers per step.
class parameter_gradients {
public:
    /// Asks for the gradient of `p`: a zero-filled buffer of `p.size()` values.
    void track(const parameter& p);
    /// The buffer the gradient of `p` accumulates in, or nullptr when `p` is not tracked.
    float* find(const parameter& p);
    const float* find(const parameter& p) const;
    /// Sets every tracked gradient to zero.
    void zero();
    /// Number of tracked parameters.
    std::size_t size() const { return m_values.size(); }

private:
    std::unordered_map<const parameter*, std::vector<float, aligned_allocator>> m_values;
};

/// The forward tensors a layer's backward reads; the others may reach it as views without
/// data, which carry only their shape.
struct backward_reads {
    bool inputs = false; ///< the values of the inputs
    bool output = false; ///< the values of the output
};

/// A node's computation: forward from one or more `[N, C, H, W]` inputs to one output, and
/// backward from the gradient of that output to the gradients of the inputs.
///
/// Layers are stateless at inference apart from their parameters, so one layer may run on
/// several threads at once.
class layer {
public:
    virtual ~layer() = default;

    /// PyTorch's class name of the layer, e.g. "Conv2d".
    virtual const char* kind() const = 0;
    /// How many inputs `forward` takes; 0 means any number of at least one (concatenation).
    virtual std::size_t arity() const { return 1; }
    /// The output shape for the given input shapes; throws shape_error naming the layer when
    /// the inputs do not fit.
    virtual shape4 output_shape(const std::vector<shape4>& inputs) const = 0;
    /// Computes the output; `inputs` must have passed `output_shape`.
    virtual tensor forward(const std::vector<const_tensor_view>& inputs) const = 0;
    /// The vector-Jacobian product: given the inputs and output of a forward pass and
    /// `grad_output` (dL/d output, the output's shape), returns dL/d input for each input, and
    /// adds dL/d parameter into `parameter_grads` for each parameter it tracks. Views that
    /// `reads_for_backward` does not ask for may have no data.
    virtual std::vector<tensor> backward(const std::vector<const_tensor_view>& inputs,
                                         const_tensor_view output, const_tensor_view grad_output,
                                         parameter_gradients* parameter_grads = nullptr) const = 0;
    /// Which forward tensors `backward` reads, with or without parameter gradients; a model
    /// keeps only these for backward, so explaining or training costs memory only where needed.
    virtual backward_reads reads_for_backward(bool parameter_grads) const { return {}; }
    /// The learnable tensors and buffers, in state-dict order.
    virtual std::vector<parameter*> parameters() { return {}; }
    /// Multiply-accumulates of one forward for the given (checked) input shapes; 0 for layers
    /// whose cost is not a matrix product.
    virtual std::size_t macs(const std::vector<shape4>& inputs) const { return 0; }
    /// State-dict suffixes a weights file may carry that inference does not use
    /// (e.g. "num_batches_tracked").
    virtual std::vector<std::string> ignored_keys() const { return {}; }

    /// The node name, equal to the PyTorch state-dict prefix (e.g. "features.0").
    const std::string& name() const { return m_name; }
    void set_name(std::string name) { m_name = std::move(name); }

    std::vector<const parameter*> parameters() const {
        auto params = const_cast<layer*>(this)->parameters();
        return {params.begin(), params.end()};
    }

protected:
    /// "Conv2d 'features.0'" for messages.
    std::string describe() const {
        return std::string(kind()) + (m_name.empty() ? "" : " '" + m_name + "'");
    }
    /// Throws unless exactly `arity()` inputs were given.
    void check_arity(std::size_t count) const;
    /// Throws unless `output` and `grad_output` both have the shape `expected`.
    void check_backward_shapes(const shape4& expected, const_tensor_view output,
                               const_tensor_view grad_output) const;

private:
    std::string m_name;
};

/// A layer with one input.
class unary_layer : public layer {
public:
    /// The output shape for one input shape; throws shape_error when it does not fit.
    virtual shape4 output_shape(const shape4& input) const = 0;
    /// Computes the output for one checked input.
    virtual tensor forward(const_tensor_view input) const = 0;

    shape4 output_shape(const std::vector<shape4>& inputs) const final {
        check_arity(inputs.size());
        return output_shape(inputs.front());
    }
    /// dL/d input for one input, after checking that `output` and `grad_output` have the
    /// output shape for `input`; see `layer::backward`.
    tensor backward(const_tensor_view input, const_tensor_view output,
                    const_tensor_view grad_output,
                    parameter_gradients* parameter_grads = nullptr) const {
        check_backward_shapes(output_shape(input.shape()), output, grad_output);
        return do_backward(input, output, grad_output, parameter_grads);
    }

    tensor forward(const std::vector<const_tensor_view>& inputs) const final {
        check_arity(inputs.size());
        return forward(inputs.front());
    }
    std::vector<tensor> backward(const std::vector<const_tensor_view>& inputs,
                                 const_tensor_view output, const_tensor_view grad_output,
                                 parameter_gradients* parameter_grads = nullptr) const final {
        check_arity(inputs.size());
        std::vector<tensor> grads;
        grads.push_back(backward(inputs.front(), output, grad_output, parameter_grads));
        return grads;
    }

protected:
    /// The layer's own backward, on shapes `backward` has checked.
    virtual tensor do_backward(const_tensor_view input, const_tensor_view output,
                               const_tensor_view grad_output,
                               parameter_gradients* parameter_grads) const = 0;
};

/// A one-input layer whose output has its input's shape (ReLU, Sigmoid, Softmax, Dropout).
class same_shape_layer : public unary_layer {
public:
    using unary_layer::forward;
    using unary_layer::output_shape;
    shape4 output_shape(const shape4& input) const override { return input; }
};

// ---------------------------------------------------------------------------------------------
// Definitions

inline void layer::check_arity(std::size_t count) const {
    const std::size_t expected = arity();
    if ((expected == 0 && count == 0) || (expected != 0 && count != expected)) {
        throw invalid_argument("forward", describe(),
                               "expected " + (expected ? std::to_string(expected) : "1 or more") +
                                   " inputs, got " + std::to_string(count));
    }
}

inline void layer::check_backward_shapes(const shape4& expected, const_tensor_view output,
                                         const_tensor_view grad_output) const {
    if (output.shape() != expected || grad_output.shape() != expected) {
        throw shape_error("backward", describe(),
                          "expected an output and its gradient of shape " + expected.str() +
                              ", got " + output.shape().str() + " and " +
                              grad_output.shape().str());
    }
}

inline void parameter_gradients::track(const parameter& p) {
    m_values[&p].assign(p.size(), 0.0f);
}

inline float* parameter_gradients::find(const parameter& p) {
    const auto it = m_values.find(&p);
    return it == m_values.end() ? nullptr : it->second.data();
}

inline const float* parameter_gradients::find(const parameter& p) const {
    const auto it = m_values.find(&p);
    return it == m_values.end() ? nullptr : it->second.data();
}

inline void parameter_gradients::zero() {
    for (auto& [p, values] : m_values) {
        std::fill(values.begin(), values.end(), 0.0f);
    }
}

namespace detail {

/// Size of a sliding window's output along one axis, as PyTorch computes it for convolution and
/// pooling; `ceil_mode` drops a last window that would start in the right padding.
inline std::ptrdiff_t window_output_size(std::size_t input, std::size_t kernel, std::size_t stride,
                                         std::size_t padding, std::size_t dilation,
                                         bool ceil_mode = false) {
    const auto span = static_cast<std::ptrdiff_t>(dilation * (kernel - 1) + 1);
    const auto room = static_cast<std::ptrdiff_t>(input + 2 * padding) - span;
    if (room < 0) {
        return 0;
    }
    const auto step = static_cast<std::ptrdiff_t>(stride);
    std::ptrdiff_t out = (ceil_mode ? (room + step - 1) / step : room / step) + 1;
    if (ceil_mode && (out - 1) * step >= static_cast<std::ptrdiff_t>(input + padding)) {
        --out;
    }
    return out;
}

/// Throws unless `padding` is at most half of `kernel` on both axes: PyTorch's pooling rule, so
/// every window holds at least one real input value.
inline void check_pool_padding(const std::string& operation, size2 kernel, size2 padding) {
    if (2 * padding.h > kernel.h || 2 * padding.w > kernel.w) {
        throw invalid_argument(operation, "",
                               "expected padding " + padding.str() + " at most half the kernel " +
                                   kernel.str());
    }
}

/// The output shape of a pooling window over `input`; shape_error naming `layer_name` when no
/// window fits.
inline shape4 pool_output_shape(const std::string& layer_name, const shape4& input, size2 kernel,
                                size2 stride, size2 padding, size2 dilation, bool ceil_mode) {
    const auto oh =
        window_output_size(input.h, kernel.h, stride.h, padding.h, dilation.h, ceil_mode);
    const auto ow =
        window_output_size(input.w, kernel.w, stride.w, padding.w, dilation.w, ceil_mode);
    if (oh <= 0 || ow <= 0) {
        throw shape_error("forward", layer_name,
                          "input " + input.str() + " is smaller than the window " + kernel.str() +
                              " with padding " + padding.str());
    }
    return {input.n, input.c, static_cast<std::size_t>(oh), static_cast<std::size_t>(ow)};
}

} // namespace detail

} // namespace lusnet
