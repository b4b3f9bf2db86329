#pragma once

/// @file schedule.hpp
/// Learning-rate schedules as functions of the epoch, equal to `torch.optim.lr_scheduler`.
///
/// PyTorch updates most schedulers recursively from the optimiser's current rate; each also
/// has a closed form (`_get_closed_form_lr`), which lusnet evaluates directly. The two agree to
/// double rounding, and the closed form has no state to save: `at(t)` is the rate after `t`
/// calls of `scheduler.step()` (PyTorch's `last_epoch`), so an epoch loop sets
/// `opt.set_learning_rate(schedule.at(epoch))` before epoch `epoch` (counted from 0). A
/// schedule may be stepped per batch instead; then `t` counts batches.

#include "lusnet/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace lusnet {

/// Settings of StepLR: the rate is multiplied by `gamma` every `step_size` epochs.
struct step_lr_options {
    std::size_t step_size = 1; ///< epochs between decays, >= 1
    double gamma = 0.1;        ///< factor per decay, >= 0
};

/// Settings of CosineAnnealingLR: half a cosine from the base rate to `eta_min` over `t_max`
/// epochs (and, as in PyTorch, back up again after that).
struct cosine_lr_options {
    std::size_t t_max = 1; ///< epochs of the descent, >= 1
    double eta_min = 0.0;  ///< the lowest rate, >= 0
};

/// Settings of LinearLR, usually a warm-up: the factor on the base rate goes linearly from
/// `start_factor` to `end_factor` over `total_iters` epochs and stays there.
struct linear_lr_options {
    double start_factor = 1.0 / 3.0; ///< in (0, 1]
    double end_factor = 1.0;         ///< in [0, 1]
    std::size_t total_iters = 5;     ///< epochs of the ramp, >= 1
};

/// A learning rate per epoch.
class lr_schedule {
public:
    /// `base_lr` at every epoch.
    static lr_schedule constant(double base_lr);
    /// StepLR: `base_lr * gamma^floor(t / step_size)`.
    static lr_schedule step(double base_lr, const step_lr_options& options);
    /// CosineAnnealingLR: `eta_min + (base_lr - eta_min) (1 + cos(pi t / t_max)) / 2`.
    static lr_schedule cosine(double base_lr, const cosine_lr_options& options);
    /// LinearLR: `base_lr (start + (end - start) min(t, total_iters) / total_iters)`.
    static lr_schedule linear(double base_lr, const linear_lr_options& options);
    /// SequentialLR: `parts[i]` runs from `milestones[i - 1]` (0 for the first) with its own
    /// epoch count restarted at 0, as PyTorch restarts each scheduler at its milestone. Needs
    /// one milestone fewer than parts, strictly increasing and > 0, and one base rate for all
    /// parts (they share an optimiser in PyTorch); invalid_argument otherwise.
    static lr_schedule sequence(std::vector<lr_schedule> parts,
                                std::vector<std::size_t> milestones);

    /// The rate after `t` scheduler steps.
    double at(std::size_t t) const { return m_rate(t); }
    /// The rate the schedule is relative to (the optimiser's initial rate).
    double base_lr() const { return m_base_lr; }

private:
    lr_schedule(double base_lr, std::function<double(std::size_t)> rate)
        : m_base_lr(base_lr), m_rate(std::move(rate)) {}

    double m_base_lr;
    std::function<double(std::size_t)> m_rate;
};

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// Throws unless `low <= value <= high` (and not NaN).
inline void check_schedule_value(const char* schedule, const char* name, double value, double low,
                                 double high) {
    if (!(value >= low && value <= high)) {
        throw invalid_argument(std::string("create ") + schedule + " schedule", name,
                               "expected a value in [" + std::to_string(low) + ", " +
                                   std::to_string(high) + "], got " + std::to_string(value));
    }
}

/// Throws unless `count >= 1`.
inline void check_schedule_length(const char* schedule, const char* name, std::size_t count) {
    if (count == 0) {
        throw invalid_argument(std::string("create ") + schedule + " schedule", name,
                               "expected at least 1 epoch, got 0");
    }
}

} // namespace detail

inline lr_schedule lr_schedule::constant(double base_lr) {
    detail::check_schedule_value("constant", "base_lr", base_lr, 0.0, HUGE_VAL);
    return {base_lr, [base_lr](std::size_t) {
                return base_lr;
            }};
}

inline lr_schedule lr_schedule::step(double base_lr, const step_lr_options& options) {
    detail::check_schedule_value("step", "base_lr", base_lr, 0.0, HUGE_VAL);
    detail::check_schedule_length("step", "step_size", options.step_size);
    detail::check_schedule_value("step", "gamma", options.gamma, 0.0, HUGE_VAL);
    return {base_lr, [base_lr, options](std::size_t t) {
                const auto decays = static_cast<double>(t / options.step_size);
                return base_lr * std::pow(options.gamma, decays);
            }};
}

inline lr_schedule lr_schedule::cosine(double base_lr, const cosine_lr_options& options) {
    detail::check_schedule_value("cosine", "base_lr", base_lr, 0.0, HUGE_VAL);
    detail::check_schedule_length("cosine", "t_max", options.t_max);
    detail::check_schedule_value("cosine", "eta_min", options.eta_min, 0.0, HUGE_VAL);
    return {
        base_lr, [base_lr, options](std::size_t t) {
            // Evaluated as PyTorch writes it, pi * t / t_max, for the same rounding.
            const double pi = std::acos(-1.0);
            const double angle = pi * static_cast<double>(t) / static_cast<double>(options.t_max);
            return options.eta_min + (base_lr - options.eta_min) * (1.0 + std::cos(angle)) / 2.0;
        }};
}

inline lr_schedule lr_schedule::linear(double base_lr, const linear_lr_options& options) {
    detail::check_schedule_value("linear", "base_lr", base_lr, 0.0, HUGE_VAL);
    detail::check_schedule_value("linear", "end_factor", options.end_factor, 0.0, 1.0);
    detail::check_schedule_length("linear", "total_iters", options.total_iters);
    if (!(options.start_factor > 0.0 && options.start_factor <= 1.0)) {
        throw invalid_argument("create linear schedule", "start_factor",
                               "expected a value in (0, 1], got " +
                                   std::to_string(options.start_factor));
    }
    return {base_lr, [base_lr, options](std::size_t t) {
                const auto done = static_cast<double>(std::min(t, options.total_iters));
                const double slope = options.end_factor - options.start_factor;
                return base_lr * (options.start_factor +
                                  slope * done / static_cast<double>(options.total_iters));
            }};
}

inline lr_schedule lr_schedule::sequence(std::vector<lr_schedule> parts,
                                         std::vector<std::size_t> milestones) {
    const std::string operation = "create sequence schedule";
    if (parts.empty() || milestones.size() + 1 != parts.size()) {
        throw invalid_argument(operation, "milestones",
                               "expected one milestone fewer than schedules (" +
                                   std::to_string(parts.size()) + "), got " +
                                   std::to_string(milestones.size()));
    }
    for (std::size_t i = 0; i < milestones.size(); ++i) {
        if (milestones[i] == 0 || (i > 0 && milestones[i] <= milestones[i - 1])) {
            throw invalid_argument(operation, "milestones[" + std::to_string(i) + "]",
                                   "expected milestones > 0 in increasing order, got " +
                                       std::to_string(milestones[i]));
        }
    }
    const double base = parts.front().base_lr();
    for (std::size_t i = 1; i < parts.size(); ++i) {
        if (parts[i].base_lr() != base) {
            throw invalid_argument(operation, "schedule " + std::to_string(i),
                                   "expected the base rate of the first schedule, " +
                                       std::to_string(base) + ", got " +
                                       std::to_string(parts[i].base_lr()));
        }
    }

    return {base, [parts = std::move(parts), milestones = std::move(milestones)](std::size_t t) {
                // The part whose interval holds t is the number of milestones <= t.
                const auto index = static_cast<std::size_t>(
                    std::upper_bound(milestones.begin(), milestones.end(), t) - milestones.begin());
                const std::size_t start = index == 0 ? 0 : milestones[index - 1];
                return parts[index].at(t - start);
            }};
}

} // namespace lusnet
