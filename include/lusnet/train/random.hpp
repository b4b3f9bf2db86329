#pragma once

/// @file random.hpp
/// The seeded random numbers of training: shuffling, splits and augmentation.
///
/// The generator is `std::mt19937_64`, whose output the C++ standard fixes for a seed. The
/// standard's distributions and `std::shuffle` are not fixed (libstdc++ and libc++ differ), so
/// lusnet draws through its own: a uniform index by rejection, a uniform double from the top
/// 53 bits, and Fisher-Yates shuffling from the back. A seed therefore gives the same draws
/// on every platform and compiler.

#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace lusnet {

/// The generator behind every seeded draw in training.
using random_engine = std::mt19937_64;

/// A uniform integer in [0, n) for n >= 1, without modulo bias: draws above the largest
/// multiple of n are rejected and redrawn.
std::uint64_t uniform_index(random_engine& rng, std::uint64_t n);

/// A uniform double in [0, 1): the top 53 bits of one draw, scaled by 2^-53.
double uniform_unit(random_engine& rng);

/// A uniform double in [low, high).
double uniform_between(random_engine& rng, double low, double high);

/// Shuffles `values` in place by Fisher-Yates: for i from the back, swap i with a uniform
/// index in [0, i].
template <class T>
void fisher_yates_shuffle(std::vector<T>& values, random_engine& rng);

/// A seed derived from `seed` and `stream` (splitmix64 of both), so that e.g. each epoch or
/// sample gets an independent generator that depends only on the seed and its own index.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);

// ---------------------------------------------------------------------------------------------
// Definitions

inline std::uint64_t uniform_index(random_engine& rng, std::uint64_t n) {
    // 2^64 mod n values at the top of the range would make small results more likely.
    const std::uint64_t rejected = (0 - n) % n;
    std::uint64_t draw = rng();
    while (draw < rejected) {
        draw = rng();
    }
    return draw % n;
}

inline double uniform_unit(random_engine& rng) {
    return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

inline double uniform_between(random_engine& rng, double low, double high) {
    return low + (high - low) * uniform_unit(rng);
}

template <class T>
void fisher_yates_shuffle(std::vector<T>& values, random_engine& rng) {
    for (std::size_t i = values.size(); i > 1; --i) {
        const auto j = static_cast<std::size_t>(uniform_index(rng, i));
        std::swap(values[i - 1], values[j]);
    }
}

inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
    // splitmix64's finaliser (Steele, Lea and Flood 2014) on a golden-ratio step per stream.
    std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

} // namespace lusnet
