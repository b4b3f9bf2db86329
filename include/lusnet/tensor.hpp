#pragma once

/// @file tensor.hpp
/// The float32 `[N, C, H, W]` tensor and its non-owning views.
///
/// A `tensor` owns 64-byte aligned storage in an xtensor container (so SIMD kernels may use
/// aligned loads) and cannot be copied by accident: copies are spelled `clone()`. Views carry a
/// pointer and a shape; every operation that re-interprets memory checks the element count.

#include "lusnet/error.hpp"

#include "lusnet/detail/xtensor.hpp"

#include <xsimd/memory/xsimd_aligned_allocator.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>

namespace lusnet {

/// Byte alignment of tensor storage: one AVX-512 register.
inline constexpr std::size_t tensor_alignment = 64;

/// The shape of a tensor in `[N, C, H, W]` order.
struct shape4 {
    std::size_t n = 0; ///< batch
    std::size_t c = 0; ///< channels
    std::size_t h = 0; ///< height
    std::size_t w = 0; ///< width

    /// Number of elements.
    std::size_t size() const { return n * c * h * w; }
    /// Elements in one sample, `C * H * W`.
    std::size_t sample_size() const { return c * h * w; }
    /// Elements in one channel plane, `H * W`.
    std::size_t plane_size() const { return h * w; }
    /// The shape as `[N, C, H, W]` text for messages.
    std::string str() const;
    /// The shape as an array, for xtensor.
    std::array<std::size_t, 4> array() const { return {n, c, h, w}; }

    friend bool operator==(const shape4& a, const shape4& b) {
        return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w;
    }
    friend bool operator!=(const shape4& a, const shape4& b) { return !(a == b); }
};

/// Aligned allocator used by every tensor.
using aligned_allocator = xsimd::aligned_allocator<float, tensor_alignment>;
/// The xtensor container type that holds a tensor's values.
using tensor_storage =
    xt::xtensor_container<xt::uvector<float, aligned_allocator>, 4, xt::layout_type::row_major>;

class tensor_view;

/// A read-only, non-owning view of contiguous `[N, C, H, W]` float32 memory.
class const_tensor_view {
public:
    const_tensor_view() = default;
    /// Views `shape.size()` floats at `data`; the memory must outlive the view.
    const_tensor_view(const float* data, shape4 shape) : m_data(data), m_shape(shape) {}

    const float* data() const { return m_data; }
    const shape4& shape() const { return m_shape; }
    std::size_t size() const { return m_shape.size(); }
    bool empty() const { return size() == 0; }

    /// Pointer to the first value of sample `n`.
    const float* sample(std::size_t n) const { return m_data + n * m_shape.sample_size(); }
    /// The samples `[first, first + count)`; throws shape_error when out of range.
    const_tensor_view batch(std::size_t first, std::size_t count) const;
    /// The same memory under another shape of equal size; throws shape_error otherwise.
    const_tensor_view reshape(shape4 shape) const;
    /// Bounds-checked element access.
    float at(std::size_t n, std::size_t c, std::size_t h, std::size_t w) const;
    /// An xtensor expression over the viewed memory (no copy).
    auto xt() const { return xt::adapt(m_data, size(), xt::no_ownership(), m_shape.array()); }

private:
    const float* m_data = nullptr;
    shape4 m_shape;
};

/// A writable, non-owning view of contiguous `[N, C, H, W]` float32 memory.
class tensor_view {
public:
    tensor_view() = default;
    tensor_view(float* data, shape4 shape) : m_data(data), m_shape(shape) {}

    float* data() const { return m_data; }
    const shape4& shape() const { return m_shape; }
    std::size_t size() const { return m_shape.size(); }
    float* sample(std::size_t n) const { return m_data + n * m_shape.sample_size(); }
    tensor_view batch(std::size_t first, std::size_t count) const;
    tensor_view reshape(shape4 shape) const;
    operator const_tensor_view() const { return {m_data, m_shape}; }
    auto xt() const { return xt::adapt(m_data, size(), xt::no_ownership(), m_shape.array()); }

private:
    float* m_data = nullptr;
    shape4 m_shape;
};

/// An owning float32 `[N, C, H, W]` tensor with 64-byte aligned storage.
///
/// Move-only: a copy is explicit (`clone()`), so no layer copies activations by accident.
class tensor {
public:
    /// An empty tensor of shape `[0, 0, 0, 0]`.
    tensor() = default;
    /// A zero-filled tensor of the given shape.
    explicit tensor(shape4 shape) : tensor(shape, 0.0f) {}
    /// A tensor of the given shape with every element set to `value`.
    tensor(shape4 shape, float value);

    tensor(const tensor&) = delete;
    tensor& operator=(const tensor&) = delete;
    tensor(tensor&&) noexcept = default;
    tensor& operator=(tensor&&) noexcept = default;

    /// A tensor whose values are left unset, for outputs a kernel overwrites entirely (saves a
    /// pass over memory that can be hundreds of megabytes).
    static tensor uninitialized(shape4 shape);

    /// A deep copy.
    tensor clone() const { return copy_of(view()); }
    /// A new tensor holding a copy of the viewed values.
    static tensor copy_of(const_tensor_view source);

    const shape4& shape() const { return m_shape; }
    std::size_t size() const { return m_shape.size(); }
    bool empty() const { return size() == 0; }
    float* data() { return m_values.data(); }
    const float* data() const { return m_values.data(); }
    float* sample(std::size_t n) { return data() + n * m_shape.sample_size(); }
    const float* sample(std::size_t n) const { return data() + n * m_shape.sample_size(); }

    tensor_view view() { return {data(), m_shape}; }
    const_tensor_view view() const { return {data(), m_shape}; }
    operator const_tensor_view() const { return view(); }

    /// Bounds-checked element access.
    float& at(std::size_t n, std::size_t c, std::size_t h, std::size_t w);
    float at(std::size_t n, std::size_t c, std::size_t h, std::size_t w) const;

    /// The xtensor container itself, for expressions.
    tensor_storage& values() { return m_values; }
    const tensor_storage& values() const { return m_values; }

private:
    shape4 m_shape;
    tensor_storage m_values;
};

// ---------------------------------------------------------------------------------------------
// Definitions

inline std::string shape4::str() const {
    return "[" + std::to_string(n) + ", " + std::to_string(c) + ", " + std::to_string(h) + ", " +
           std::to_string(w) + "]";
}

namespace detail {

inline void check_batch_range(const shape4& shape, std::size_t first, std::size_t count) {
    if (first > shape.n || count > shape.n - first) {
        throw shape_error("tensor batch", shape.str(),
                          "expected samples [" + std::to_string(first) + ", " +
                              std::to_string(first + count) +
                              ") within N = " + std::to_string(shape.n));
    }
}

inline void check_reshape(const shape4& from, const shape4& to) {
    if (from.size() != to.size()) {
        throw shape_error("tensor reshape", from.str() + " -> " + to.str(),
                          "expected " + std::to_string(from.size()) + " elements, got " +
                              std::to_string(to.size()));
    }
}

inline std::size_t checked_offset(const shape4& s, std::size_t n, std::size_t c, std::size_t h,
                                  std::size_t w) {
    if (n >= s.n || c >= s.c || h >= s.h || w >= s.w) {
        throw shape_error("tensor at", s.str(),
                          "index [" + std::to_string(n) + ", " + std::to_string(c) + ", " +
                              std::to_string(h) + ", " + std::to_string(w) + "] out of bounds");
    }
    return ((n * s.c + c) * s.h + h) * s.w + w;
}

} // namespace detail

inline const_tensor_view const_tensor_view::batch(std::size_t first, std::size_t count) const {
    detail::check_batch_range(m_shape, first, count);
    return {sample(first), {count, m_shape.c, m_shape.h, m_shape.w}};
}

inline const_tensor_view const_tensor_view::reshape(shape4 shape) const {
    detail::check_reshape(m_shape, shape);
    return {m_data, shape};
}

inline float const_tensor_view::at(std::size_t n, std::size_t c, std::size_t h,
                                   std::size_t w) const {
    return m_data[detail::checked_offset(m_shape, n, c, h, w)];
}

inline tensor_view tensor_view::batch(std::size_t first, std::size_t count) const {
    detail::check_batch_range(m_shape, first, count);
    return {sample(first), {count, m_shape.c, m_shape.h, m_shape.w}};
}

inline tensor_view tensor_view::reshape(shape4 shape) const {
    detail::check_reshape(m_shape, shape);
    return {m_data, shape};
}

inline tensor::tensor(shape4 shape, float value)
    : m_shape(shape), m_values(tensor_storage::shape_type{shape.n, shape.c, shape.h, shape.w}) {
    std::fill(m_values.begin(), m_values.end(), value);
}

inline tensor tensor::uninitialized(shape4 shape) {
    tensor result;
    result.m_shape = shape;
    result.m_values =
        tensor_storage(tensor_storage::shape_type{shape.n, shape.c, shape.h, shape.w});
    return result;
}

inline tensor tensor::copy_of(const_tensor_view source) {
    tensor result = uninitialized(source.shape());
    std::copy(source.data(), source.data() + source.size(), result.data());
    return result;
}

inline float& tensor::at(std::size_t n, std::size_t c, std::size_t h, std::size_t w) {
    return m_values.data()[detail::checked_offset(m_shape, n, c, h, w)];
}

inline float tensor::at(std::size_t n, std::size_t c, std::size_t h, std::size_t w) const {
    return m_values.data()[detail::checked_offset(m_shape, n, c, h, w)];
}

} // namespace lusnet
