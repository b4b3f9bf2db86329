#pragma once

/// @file parallel.hpp
/// Loop-level threading of the reference path through OpenMP, when the compiler has it.
///
/// `LUSNET_PARALLEL_FOR` before a `for` loop over independent iterations (planes, channels)
/// splits it statically over `lusnet::get_num_threads()` threads; without OpenMP it expands to
/// nothing and the loop runs on the calling thread. Static schedules keep results identical
/// from run to run, since no loop here accumulates across iterations.

#if defined(_OPENMP)
#define LUSNET_PARALLEL_FOR _Pragma("omp parallel for schedule(static)")
#else
#define LUSNET_PARALLEL_FOR
#endif
