#pragma once

/// @file eigen_cam.hpp
/// EigenCAM's weights (Muhammad & Yeasin, IJCNN 2020): the first principal component of the
/// activations, which needs no gradient and no target class.
///
/// Definition used by lusnet (and by tests/reference/make_cam_reference.py): the activations of
/// one image are read as the matrix X `[h*w, K]` (a row per location), each channel is centred
/// by its mean over locations, and the map is the projection `(X - mean) v` on the first right
/// singular vector v. Centring is what pytorch-grad-cam's EigenCAM does, and what makes v a
/// principal direction rather than the direction of the mean. The sign of a singular vector is
/// arbitrary, so v is turned to make the map correlate positively with the channel-mean map
/// (the average of A over K); a map uncorrelated with it keeps the solver's sign.
///
/// As weights, `(X - mean) v = sum over k of v_k A_k - sum over k of v_k mean_k`: channel weights
/// v and an offset per image.

#include "lusnet/explain/cam_weights.hpp"

#include <Eigen/Dense>

namespace lusnet {

/// v `[N, K, 1, 1]` and the offset `-sum over k of v_k mean_k` per image.
cam_weights eigen_cam_weights(const_tensor_view activations);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// Unit first right singular vector of the centred `[L, K]` matrix `x`, from the eigenvectors
/// of the smaller of its two Gram matrices (both in double, L and K being at most a few
/// thousand at a CAM layer).
inline Eigen::VectorXd first_principal_direction(const Eigen::MatrixXd& x) {
    if (x.cols() <= x.rows()) {
        const Eigen::MatrixXd gram = x.transpose() * x; // [K, K]
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram);
        return solver.eigenvectors().col(gram.cols() - 1);
    }
    // u is the top eigenvector of x x^T, and v = x^T u / |x^T u|.
    const Eigen::MatrixXd gram = x * x.transpose(); // [L, L]
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram);
    const Eigen::VectorXd v = x.transpose() * solver.eigenvectors().col(gram.cols() - 1);
    const double norm = v.norm();
    return norm > 0.0 ? Eigen::VectorXd(v / norm) : Eigen::VectorXd::Zero(x.cols());
}

} // namespace detail

inline cam_weights eigen_cam_weights(const_tensor_view activations) {
    if (activations.size() == 0) {
        throw shape_error("EigenCAM weights", "activations",
                          "expected a non-empty [N, K, h, w] tensor, got " +
                              activations.shape().str());
    }
    const shape4 s = activations.shape();
    const auto locations = static_cast<Eigen::Index>(s.plane_size());
    const auto channels = static_cast<Eigen::Index>(s.c);

    cam_weights result{tensor::uninitialized({s.n, s.c, 1, 1}), std::vector<float>(s.n)};
    for (std::size_t n = 0; n < s.n; ++n) {
        // Column k of X is channel k's plane; centre it.
        const Eigen::MatrixXd x =
            Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>>(
                activations.sample(n), locations, channels)
                .cast<double>();
        const Eigen::RowVectorXd mean = x.colwise().mean();
        const Eigen::MatrixXd centred = x.rowwise() - mean;
        Eigen::VectorXd v = detail::first_principal_direction(centred);

        // Turn v so the map correlates positively with the channel mean; the map is centred,
        // so its covariance with the mean map is its dot product with the centred mean map.
        const Eigen::VectorXd projection = centred * v;
        const Eigen::VectorXd mean_map = x.rowwise().mean();
        const double covariance = projection.dot((mean_map.array() - mean_map.mean()).matrix());
        if (covariance < 0.0) {
            v = -v;
        }
        for (Eigen::Index k = 0; k < channels; ++k) {
            result.weights.sample(n)[k] = static_cast<float>(v(k));
        }
        result.offset[n] = static_cast<float>(-mean.dot(v));
    }
    return result;
}

} // namespace lusnet
