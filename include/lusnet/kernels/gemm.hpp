#pragma once

/// @file gemm.hpp
/// Eigen matrix maps over raw row-major float buffers: the reference path's GEMM.

#include <Eigen/Core>

#include <cstddef>

namespace lusnet::detail {

/// A row-major float matrix, the layout of PyTorch weights and of NCHW planes.
using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using matrix_map = Eigen::Map<row_matrix>;
using const_matrix_map = Eigen::Map<const row_matrix>;

/// Views `rows x cols` row-major floats at `data`.
inline matrix_map as_matrix(float* data, std::size_t rows, std::size_t cols) {
    return {data, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols)};
}

inline const_matrix_map as_matrix(const float* data, std::size_t rows, std::size_t cols) {
    return {data, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols)};
}

} // namespace lusnet::detail
