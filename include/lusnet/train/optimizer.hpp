#pragma once

/// @file optimizer.hpp
/// SGD and AdamW with the order of operations of `torch.optim`, gradient clipping by global
/// norm, and the choice of which parameters train.
///
/// An optimiser works on a list of `trainable_parameter`s: a state-dict key, the parameter and
/// the buffer its gradient accumulates in. A frozen parameter is simply not in the list, so it
/// is never touched, not even by weight decay. Updates run element by element in float with
/// PyTorch's roundings (its single-tensor CPU path), so the same gradients give the same
/// weights to within an ulp or so.

#include "lusnet/error.hpp"
#include "lusnet/layers/layer.hpp"
#include "lusnet/models/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace lusnet {

/// One parameter an optimiser updates.
struct trainable_parameter {
    /// The state-dict key, e.g. "features.0.weight"; also names its saved optimiser state.
    std::string name;
    /// The values to update.
    parameter* value = nullptr;
    /// `value->size()` gradient values, owned elsewhere (e.g. by `parameter_gradients`).
    float* grad = nullptr;
};

/// The parameters of `net` that training updates, under their state-dict keys: every weight
/// and bias (running statistics are statistics, not learned) whose key starts with none of
/// `frozen_prefixes`. End a prefix with "." to freeze a whole module: "features." freezes
/// "features.0.weight" but not "features_extra.weight". key_error for a prefix that matches no
/// parameter, which is almost always a typo.
std::vector<std::pair<std::string, parameter*>>
learnable_parameters(model& net, const std::vector<std::string>& frozen_prefixes = {});

/// `learnable_parameters(net, frozen_prefixes)`, each tracked in `grads` (a zeroed buffer
/// that `model::backward` adds the parameter's gradient to), ready for an optimiser.
std::vector<trainable_parameter>
track_learnable(model& net, parameter_gradients& grads,
                const std::vector<std::string>& frozen_prefixes = {});

/// The interface of an optimiser: update parameters from their gradients, and expose its state
/// (hyper-parameters, step count, per-parameter buffers) for checkpoints.
///
/// TODO(#5): one learning rate and one set of hyper-parameters for all parameters; PyTorch's
/// parameter groups (say, a smaller rate for a fine-tuned backbone than for a new head) need a
/// group per parameter here and in the saved state.
class optimizer {
public:
    /// Checks `params`: non-null values and gradients, unique names; invalid_argument otherwise.
    explicit optimizer(std::vector<trainable_parameter> params);
    virtual ~optimizer() = default;
    optimizer(const optimizer&) = delete;
    optimizer& operator=(const optimizer&) = delete;
    optimizer(optimizer&&) = default;
    optimizer& operator=(optimizer&&) = default;

    /// PyTorch's class name: "SGD" or "AdamW".
    virtual const char* kind() const = 0;
    /// Updates every parameter once from its gradient.
    void step();
    /// Sets every gradient buffer to zero.
    void zero_grad();

    virtual double learning_rate() const = 0;
    /// Sets the learning rate the next step uses (a schedule calls this); lr >= 0.
    virtual void set_learning_rate(double lr) = 0;
    /// Hyper-parameters under PyTorch's param_group keys ("lr", "momentum", "betas" as
    /// "beta1" and "beta2", ...), booleans as 0 or 1.
    virtual std::map<std::string, double> hyperparameters() const = 0;
    /// Sets every hyper-parameter from such a map; invalid_argument for a missing or unknown
    /// key or a value out of range, and then nothing changes.
    virtual void set_hyperparameters(const std::map<std::string, double>& values) = 0;
    /// Names of the buffers kept per parameter, as in PyTorch's optimiser state:
    /// "momentum_buffer" for SGD with momentum, "exp_avg" and "exp_avg_sq" for AdamW.
    virtual std::vector<std::string> state_names() const = 0;

    /// Steps taken so far.
    std::size_t steps() const { return m_steps; }
    /// The parameters, in the order given.
    const std::vector<trainable_parameter>& parameters() const { return m_params; }
    /// Buffer `slot` (an index into `state_names()`) of parameter `index`; empty until the
    /// first step creates it, then `parameters()[index].value->size()` values.
    const std::vector<float>& state(std::size_t index, std::size_t slot) const;
    /// Restores a step count and buffers saved earlier: `buffers[index][slot]` each of the
    /// parameter's size or all empty. shape_error when they do not fit the parameters.
    void restore(std::size_t steps, std::vector<std::vector<std::vector<float>>> buffers);

protected:
    /// Applies the update of step number `steps()` (already counted, so 1 on the first step).
    virtual void update() = 0;
    /// The `count` buffers of parameter `index`, created empty when missing.
    std::vector<std::vector<float>>& buffers(std::size_t index, std::size_t count);

private:
    std::vector<trainable_parameter> m_params;
    /// `m_state[index][slot]`.
    std::vector<std::vector<std::vector<float>>> m_state;
    std::size_t m_steps = 0;
};

/// Settings of SGD, named as in `torch.optim.SGD`.
struct sgd_options {
    double lr = 1e-3;          ///< learning rate, >= 0
    double momentum = 0.0;     ///< >= 0; 0 keeps no buffer
    double dampening = 0.0;    ///< in [0, 1]; scales the new gradient in the buffer by 1 - d
    double weight_decay = 0.0; ///< L2 penalty added to the gradient, >= 0
    bool nesterov = false;     ///< Nesterov momentum; needs momentum > 0 and dampening 0
};

/// Stochastic gradient descent as `torch.optim.SGD`, per element:
/// `g = grad + wd p`; `b = g` on the first step, else `b = momentum b + (1 - dampening) g`;
/// `g = g + momentum b` with Nesterov, else `g = b`; `p = p - lr g`.
class sgd : public optimizer {
public:
    sgd(std::vector<trainable_parameter> params, const sgd_options& options);

    const char* kind() const override { return "SGD"; }
    double learning_rate() const override { return m_options.lr; }
    void set_learning_rate(double lr) override;
    std::map<std::string, double> hyperparameters() const override;
    void set_hyperparameters(const std::map<std::string, double>& values) override;
    std::vector<std::string> state_names() const override;
    const sgd_options& options() const { return m_options; }

protected:
    void update() override;

private:
    sgd_options m_options;
};

/// Settings of AdamW, named as in `torch.optim.AdamW` (`betas` split in two).
struct adamw_options {
    double lr = 1e-3;           ///< learning rate, >= 0
    double beta1 = 0.9;         ///< decay of the first moment, in [0, 1)
    double beta2 = 0.999;       ///< decay of the second moment, in [0, 1)
    double eps = 1e-8;          ///< added to the denominator, >= 0
    double weight_decay = 1e-2; ///< decoupled decay, >= 0: p *= 1 - lr wd before each step
};

/// Adam with decoupled weight decay as `torch.optim.AdamW` (without amsgrad), per element at
/// step t: `p *= 1 - lr wd`; `m = lerp(m, g, 1 - beta1)`; `v = beta2 v + (1 - beta2) g^2`;
/// `p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)`.
class adamw : public optimizer {
public:
    adamw(std::vector<trainable_parameter> params, const adamw_options& options);

    const char* kind() const override { return "AdamW"; }
    double learning_rate() const override { return m_options.lr; }
    void set_learning_rate(double lr) override;
    std::map<std::string, double> hyperparameters() const override;
    void set_hyperparameters(const std::map<std::string, double>& values) override;
    std::vector<std::string> state_names() const override { return {"exp_avg", "exp_avg_sq"}; }
    const adamw_options& options() const { return m_options; }

protected:
    void update() override;

private:
    adamw_options m_options;
};

/// Scales every gradient by `min(1, max_norm / (total + 1e-6))`, where `total` is the L2 norm
/// of all gradients together, as `torch.nn.utils.clip_grad_norm_`; returns `total` (before
/// clipping). The 1e-6 keeps the coefficient finite for a zero norm; a non-finite norm leaves
/// the gradients as they are, so the caller can skip the step.
double clip_grad_norm(const std::vector<trainable_parameter>& params, double max_norm);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// Throws unless `low <= value <= high` (and not NaN), naming the optimiser and setting.
inline void check_setting(const char* kind, const char* name, double value, double low,
                          double high) {
    if (!(value >= low && value <= high)) {
        throw invalid_argument(std::string("configure ") + kind, name,
                               "expected a value in [" + std::to_string(low) + ", " +
                                   std::to_string(high) + "], got " + std::to_string(value));
    }
}

/// `values.at(key)` with a message naming the optimiser when the key is missing.
inline double hyperparameter(const char* kind, const std::map<std::string, double>& values,
                             const char* key) {
    const auto found = values.find(key);
    if (found == values.end()) {
        throw invalid_argument(std::string("configure ") + kind, key,
                               "expected a value for this hyper-parameter, got none");
    }
    return found->second;
}

/// Throws when `values` holds a key outside `known`.
inline void check_known_keys(const char* kind, const std::map<std::string, double>& values,
                             const std::set<std::string>& known) {
    for (const auto& [key, value] : values) {
        if (known.count(key) == 0) {
            throw invalid_argument(std::string("configure ") + kind, key,
                                   "expected a hyper-parameter of " + std::string(kind) +
                                       ", got an unknown key");
        }
    }
}

inline void check_sgd(const sgd_options& o) {
    const double inf = HUGE_VAL;
    check_setting("SGD", "lr", o.lr, 0.0, inf);
    check_setting("SGD", "momentum", o.momentum, 0.0, inf);
    check_setting("SGD", "dampening", o.dampening, 0.0, 1.0);
    check_setting("SGD", "weight_decay", o.weight_decay, 0.0, inf);
    if (o.nesterov && (o.momentum <= 0.0 || o.dampening != 0.0)) {
        throw invalid_argument("configure SGD", "nesterov",
                               "expected momentum > 0 and dampening 0 with Nesterov, got "
                               "momentum " +
                                   std::to_string(o.momentum) + " and dampening " +
                                   std::to_string(o.dampening));
    }
}

inline void check_adamw(const adamw_options& o) {
    const double inf = HUGE_VAL;
    const double below_one = std::nextafter(1.0, 0.0);
    check_setting("AdamW", "lr", o.lr, 0.0, inf);
    check_setting("AdamW", "beta1", o.beta1, 0.0, below_one);
    check_setting("AdamW", "beta2", o.beta2, 0.0, below_one);
    check_setting("AdamW", "eps", o.eps, 0.0, inf);
    check_setting("AdamW", "weight_decay", o.weight_decay, 0.0, inf);
}

/// torch.lerp on CPU: `a + w (b - a)` for |w| < 0.5, else `b - (b - a)(1 - w)`, which is
/// exact at w = 1 and rounds as PyTorch does.
inline float torch_lerp(float a, float b, float w) {
    return std::abs(w) < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w);
}

} // namespace detail

inline std::vector<std::pair<std::string, parameter*>>
learnable_parameters(model& net, const std::vector<std::string>& frozen_prefixes) {
    std::vector<std::size_t> matches(frozen_prefixes.size(), 0);
    std::vector<std::pair<std::string, parameter*>> learnable;

    for (const auto& [key, p] : net.named_parameters()) {
        if (p->name == "running_mean" || p->name == "running_var") {
            continue;
        }
        bool frozen = false;
        for (std::size_t i = 0; i < frozen_prefixes.size(); ++i) {
            if (key.compare(0, frozen_prefixes[i].size(), frozen_prefixes[i]) == 0) {
                ++matches[i];
                frozen = true;
            }
        }
        if (!frozen) {
            learnable.emplace_back(key, p);
        }
    }

    for (std::size_t i = 0; i < frozen_prefixes.size(); ++i) {
        if (matches[i] == 0) {
            throw key_error(
                "freeze parameters of '" + net.arch() + "'", "prefix '" + frozen_prefixes[i] + "'",
                "expected the start of at least one parameter key (such as '" +
                    (learnable.empty() ? std::string() : learnable.front().first) + "'), got none");
        }
    }
    return learnable;
}

inline std::vector<trainable_parameter>
track_learnable(model& net, parameter_gradients& grads,
                const std::vector<std::string>& frozen_prefixes) {
    const auto learnable = learnable_parameters(net, frozen_prefixes);
    for (const auto& [key, p] : learnable) {
        grads.track(*p);
    }
    // Buffers are looked up after every track: the sink may rehash while it grows (its
    // buffers stay where they are, but looking up last costs nothing and assumes nothing).
    std::vector<trainable_parameter> list;
    for (const auto& [key, p] : learnable) {
        list.push_back({key, p, grads.find(*p)});
    }
    return list;
}

inline optimizer::optimizer(std::vector<trainable_parameter> params) : m_params(std::move(params)) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < m_params.size(); ++i) {
        const trainable_parameter& p = m_params[i];
        const std::string subject = "parameter " + std::to_string(i) + " '" + p.name + "'";
        if (p.value == nullptr || (p.grad == nullptr && p.value->size() != 0)) {
            throw invalid_argument("create optimizer", subject,
                                   "expected a parameter and a gradient buffer, got null");
        }
        if (!names.insert(p.name).second) {
            throw invalid_argument("create optimizer", subject,
                                   "expected unique names, got this one twice");
        }
    }
    m_state.resize(m_params.size());
}

inline void optimizer::step() {
    ++m_steps;
    update();
}

inline void optimizer::zero_grad() {
    for (const trainable_parameter& p : m_params) {
        std::fill(p.grad, p.grad + p.value->size(), 0.0f);
    }
}

inline std::vector<std::vector<float>>& optimizer::buffers(std::size_t index, std::size_t count) {
    std::vector<std::vector<float>>& slots = m_state.at(index);
    if (slots.size() < count) {
        slots.resize(count);
    }
    return slots;
}

inline const std::vector<float>& optimizer::state(std::size_t index, std::size_t slot) const {
    static const std::vector<float> none;
    const std::vector<std::vector<float>>& slots = m_state.at(index);
    return slot < slots.size() ? slots[slot] : none;
}

inline void optimizer::restore(std::size_t steps,
                               std::vector<std::vector<std::vector<float>>> buffers) {
    const std::string operation = std::string("restore ") + kind() + " state";
    if (buffers.size() != m_params.size()) {
        throw shape_error(operation, "buffers",
                          "expected buffers for " + std::to_string(m_params.size()) +
                              " parameters, got " + std::to_string(buffers.size()));
    }
    for (std::size_t i = 0; i < buffers.size(); ++i) {
        for (const std::vector<float>& buffer : buffers[i]) {
            if (!buffer.empty() && buffer.size() != m_params[i].value->size()) {
                throw shape_error(operation, m_params[i].name,
                                  "expected buffers of " +
                                      std::to_string(m_params[i].value->size()) + " values, got " +
                                      std::to_string(buffer.size()));
            }
        }
    }
    m_steps = steps;
    m_state = std::move(buffers);
}

inline sgd::sgd(std::vector<trainable_parameter> params, const sgd_options& options)
    : optimizer(std::move(params)), m_options(options) {
    detail::check_sgd(m_options);
}

inline void sgd::set_learning_rate(double lr) {
    detail::check_setting("SGD", "lr", lr, 0.0, HUGE_VAL);
    m_options.lr = lr;
}

inline std::map<std::string, double> sgd::hyperparameters() const {
    return {{"lr", m_options.lr},
            {"momentum", m_options.momentum},
            {"dampening", m_options.dampening},
            {"weight_decay", m_options.weight_decay},
            {"nesterov", m_options.nesterov ? 1.0 : 0.0}};
}

inline void sgd::set_hyperparameters(const std::map<std::string, double>& values) {
    detail::check_known_keys("SGD", values,
                             {"lr", "momentum", "dampening", "weight_decay", "nesterov"});
    sgd_options o;
    o.lr = detail::hyperparameter("SGD", values, "lr");
    o.momentum = detail::hyperparameter("SGD", values, "momentum");
    o.dampening = detail::hyperparameter("SGD", values, "dampening");
    o.weight_decay = detail::hyperparameter("SGD", values, "weight_decay");
    o.nesterov = detail::hyperparameter("SGD", values, "nesterov") != 0.0;
    detail::check_sgd(o);
    m_options = o;
}

inline std::vector<std::string> sgd::state_names() const {
    if (m_options.momentum == 0.0) {
        return {};
    }
    return {"momentum_buffer"};
}

inline void sgd::update() {
    // PyTorch turns Python floats into float scalars for its float kernels.
    const auto lr = static_cast<float>(m_options.lr);
    const auto decay = static_cast<float>(m_options.weight_decay);
    const auto momentum = static_cast<float>(m_options.momentum);
    const auto keep = static_cast<float>(1.0 - m_options.dampening);
    const bool use_momentum = m_options.momentum != 0.0;

    for (std::size_t k = 0; k < parameters().size(); ++k) {
        const trainable_parameter& tp = parameters()[k];
        float* p = tp.value->data();
        const float* grad = tp.grad;
        const std::size_t n = tp.value->size();
        std::vector<float>* buffer = use_momentum ? &buffers(k, 1)[0] : nullptr;
        // The buffer starts as a copy of the first (decayed) gradient, undamped.
        const bool first = use_momentum && buffer->empty();
        if (first) {
            buffer->resize(n);
        }

        for (std::size_t i = 0; i < n; ++i) {
            float g = decay != 0.0f ? grad[i] + decay * p[i] : grad[i];
            if (use_momentum) {
                float& b = (*buffer)[i];
                b = first ? g : b * momentum + keep * g;
                g = m_options.nesterov ? g + momentum * b : b;
            }
            p[i] = p[i] + (-lr) * g;
        }
    }
}

inline adamw::adamw(std::vector<trainable_parameter> params, const adamw_options& options)
    : optimizer(std::move(params)), m_options(options) {
    detail::check_adamw(m_options);
}

inline void adamw::set_learning_rate(double lr) {
    detail::check_setting("AdamW", "lr", lr, 0.0, HUGE_VAL);
    m_options.lr = lr;
}

inline std::map<std::string, double> adamw::hyperparameters() const {
    return {{"lr", m_options.lr},
            {"beta1", m_options.beta1},
            {"beta2", m_options.beta2},
            {"eps", m_options.eps},
            {"weight_decay", m_options.weight_decay}};
}

inline void adamw::set_hyperparameters(const std::map<std::string, double>& values) {
    detail::check_known_keys("AdamW", values, {"lr", "beta1", "beta2", "eps", "weight_decay"});
    adamw_options o;
    o.lr = detail::hyperparameter("AdamW", values, "lr");
    o.beta1 = detail::hyperparameter("AdamW", values, "beta1");
    o.beta2 = detail::hyperparameter("AdamW", values, "beta2");
    o.eps = detail::hyperparameter("AdamW", values, "eps");
    o.weight_decay = detail::hyperparameter("AdamW", values, "weight_decay");
    detail::check_adamw(o);
    m_options = o;
}

inline void adamw::update() {
    const adamw_options& o = m_options;
    const double t = static_cast<double>(steps());
    // The bias corrections and step size are Python floats (double) in PyTorch; the element
    // updates are float kernels.
    const double step_size = o.lr / (1.0 - std::pow(o.beta1, t));
    const double correction2_sqrt = std::sqrt(1.0 - std::pow(o.beta2, t));
    const auto decay = static_cast<float>(1.0 - o.lr * o.weight_decay);
    const auto weight1 = static_cast<float>(1.0 - o.beta1);
    const auto beta2 = static_cast<float>(o.beta2);
    const auto weight2 = static_cast<float>(1.0 - o.beta2);
    const auto root2 = static_cast<float>(correction2_sqrt);
    const auto eps = static_cast<float>(o.eps);
    const auto minus_step = static_cast<float>(-step_size);

    for (std::size_t k = 0; k < parameters().size(); ++k) {
        const trainable_parameter& tp = parameters()[k];
        float* p = tp.value->data();
        const float* g = tp.grad;
        const std::size_t n = tp.value->size();
        std::vector<std::vector<float>>& moments = buffers(k, 2);
        std::vector<float>& m = moments[0];
        std::vector<float>& v = moments[1];
        m.resize(n, 0.0f);
        v.resize(n, 0.0f);

        for (std::size_t i = 0; i < n; ++i) {
            if (o.weight_decay != 0.0) {
                p[i] *= decay;
            }
            m[i] = detail::torch_lerp(m[i], g[i], weight1);
            v[i] = v[i] * beta2 + weight2 * g[i] * g[i];
            const float denominator = std::sqrt(v[i]) / root2 + eps;
            p[i] = p[i] + minus_step * (m[i] / denominator);
        }
    }
}

inline double clip_grad_norm(const std::vector<trainable_parameter>& params, double max_norm) {
    if (!(max_norm >= 0.0)) {
        throw invalid_argument("clip gradient norm", "max_norm",
                               "expected a value >= 0, got " + std::to_string(max_norm));
    }

    double squares = 0.0;
    for (const trainable_parameter& p : params) {
        for (std::size_t i = 0; i < p.value->size(); ++i) {
            squares += double(p.grad[i]) * double(p.grad[i]);
        }
    }
    // PyTorch's norm and coefficient are float32 tensors.
    const auto total = static_cast<float>(std::sqrt(squares));
    const float coefficient = static_cast<float>(max_norm) / (total + 1e-6f);

    if (std::isfinite(total) && coefficient < 1.0f) {
        for (const trainable_parameter& p : params) {
            for (std::size_t i = 0; i < p.value->size(); ++i) {
                p.grad[i] *= coefficient;
            }
        }
    }
    return total;
}

} // namespace lusnet
