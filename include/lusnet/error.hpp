#pragma once

/// @file error.hpp
/// The one exception hierarchy of lusnet.
///
/// Every error lusnet throws derives from `lusnet::error` and from one standard exception, so
/// callers may catch either; pybind11 maps the standard bases to Python's ValueError,
/// IndexError and RuntimeError on its own. A message has the form
/// `lusnet.<category>: <operation>: <subject>: expected <what>, got <what came>`.

#include <stdexcept>
#include <string>

namespace lusnet {

/// Base of every exception thrown by lusnet; `what()` carries the full message.
class error {
public:
    virtual ~error() = default;
    /// The full message, with the category prefix.
    virtual const char* what() const noexcept = 0;
    /// The category, e.g. "shape" or "format".
    virtual const char* category() const noexcept = 0;
};

namespace detail {

/// Joins the parts of a message: category, operation, subject and detail.
inline std::string make_message(const char* category, const std::string& operation,
                                const std::string& subject, const std::string& detail) {
    std::string text = std::string("lusnet.") + category + ": " + operation;
    if (!subject.empty()) {
        text += ": " + subject;
    }
    if (!detail.empty()) {
        text += ": " + detail;
    }
    return text;
}

/// One concrete error kind: a standard exception `Base` tagged as a `lusnet::error`.
template <class Base>
class error_of : public Base, public lusnet::error {
public:
    error_of(const char* category, const std::string& operation, const std::string& subject,
             const std::string& detail)
        : Base(make_message(category, operation, subject, detail)), m_category(category) {}

    const char* what() const noexcept override { return Base::what(); }
    const char* category() const noexcept override { return m_category; }

private:
    const char* m_category;
};

} // namespace detail

/// An argument or option that is out of its domain (a negative stride, an unknown name).
class invalid_argument : public detail::error_of<std::invalid_argument> {
public:
    invalid_argument(const std::string& operation, const std::string& subject,
                     const std::string& detail)
        : error_of("argument", operation, subject, detail) {}
};

/// A tensor whose shape does not fit the operation (wrong rank, channel count, too small).
class shape_error : public detail::error_of<std::invalid_argument> {
public:
    shape_error(const std::string& operation, const std::string& subject, const std::string& detail)
        : error_of("shape", operation, subject, detail) {}
};

/// Malformed content of a file or buffer: a weights header, an image, a manifest.
class format_error : public detail::error_of<std::invalid_argument> {
public:
    format_error(const std::string& operation, const std::string& subject,
                 const std::string& detail)
        : error_of("format", operation, subject, detail) {}
};

/// A name that is not there, or not expected: a weight key, a layer, an architecture.
class key_error : public detail::error_of<std::out_of_range> {
public:
    key_error(const std::string& operation, const std::string& subject, const std::string& detail)
        : error_of("key", operation, subject, detail) {}
};

/// A file that cannot be opened, mapped or read.
class io_error : public detail::error_of<std::runtime_error> {
public:
    /// `error_number` is the `errno` behind the failure when there is one, so callers (and the
    /// Python bindings, which raise FileNotFoundError for ENOENT) need not parse the message.
    io_error(const std::string& operation, const std::string& subject, const std::string& detail,
             int error_number = 0)
        : error_of("io", operation, subject, detail), m_error_number(error_number) {}

    /// The `errno` value behind the failure, 0 when the failure had none.
    int error_number() const noexcept { return m_error_number; }

private:
    int m_error_number;
};

} // namespace lusnet
