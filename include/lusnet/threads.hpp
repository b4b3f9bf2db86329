#pragma once

/// @file threads.hpp
/// The number of threads lusnet's matrix products may use.

#include "lusnet/error.hpp"

#include <Eigen/Core>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include <string>

namespace lusnet {

/// Sets how many threads the reference path uses: Eigen's matrix products and the loops over
/// planes, both through OpenMP (without OpenMP everything runs on the calling thread).
/// Process-wide; `n >= 1`.
inline void set_num_threads(int n) {
    if (n < 1) {
        throw invalid_argument("set_num_threads", "", "expected n >= 1, got " + std::to_string(n));
    }
    Eigen::setNbThreads(n);
#if defined(_OPENMP)
    omp_set_num_threads(n);
#endif
}

/// The number of threads set by `set_num_threads` (by default, OpenMP's maximum).
inline int get_num_threads() {
    return Eigen::nbThreads();
}

} // namespace lusnet
