#pragma once

/// @file parallel.hpp
/// Loop-level threading of the reference path through OpenMP, when the compiler has it.
///
/// `LUSNET_PARALLEL_FOR` before a `for` loop over independent iterations (planes, channels)
/// splits it statically over `lusnet::get_num_threads()` threads; without OpenMP it expands to
/// nothing and the loop runs on the calling thread. Static schedules keep results identical
/// from run to run, since no loop here accumulates across iterations.
///
/// The thread count is named in the pragma because `omp_set_num_threads` only sets it for the
/// thread that calls it: a loop on another thread (a Python or application thread running a
/// model) would otherwise use OpenMP's default and ignore `lusnet::set_num_threads`.

#include "lusnet/threads.hpp"

#if defined(_OPENMP)
#define LUSNET_PARALLEL_FOR                                                                        \
    _Pragma("omp parallel for schedule(static) num_threads(::lusnet::get_num_threads())")
#else
#define LUSNET_PARALLEL_FOR
#endif
