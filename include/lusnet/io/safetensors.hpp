#pragma once

/// @file safetensors.hpp
/// Reading and writing weights in the safetensors format.
///
/// A safetensors file is an 8-byte little-endian header length `N`, `N` bytes of UTF-8 JSON that
/// describe each tensor (dtype, shape, byte range) plus optional string metadata, and then the
/// data block. Byte ranges are relative to the start of the data block and must tile it exactly.
/// The reader checks every claim of the header against the bytes that are there before it hands
/// out a single pointer, so a malformed or hostile file ends in a `format_error`, never in a read
/// past the end. The writer emits F32 tensors laid out as the reference implementation does.

#include "lusnet/error.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace lusnet {

/// Element types a safetensors header may declare, in the order of the format's own list.
enum class dtype {
    boolean,
    u8,
    i8,
    f8_e5m2,
    f8_e4m3,
    i16,
    u16,
    f16,
    bf16,
    i32,
    u32,
    f32,
    f64,
    i64,
    u64
};

/// Bytes per element of `type`.
std::size_t dtype_size(dtype type);
/// The name the format uses for `type`, e.g. "F32".
const char* dtype_name(dtype type);

/// Where one tensor lives in a safetensors file and how to read it.
struct tensor_info {
    std::string name;                ///< key in the header
    lusnet::dtype type = dtype::f32; ///< element type
    std::vector<std::size_t> shape;  ///< row-major shape; empty for a scalar
    std::size_t begin = 0;           ///< first byte, relative to the data block
    std::size_t end = 0;             ///< one past the last byte, relative to the data block

    /// Number of elements, the product of `shape` (1 for a scalar); shape_error on overflow.
    std::size_t numel() const;
};

namespace detail {

/// A read-only private memory mapping of a whole file, unmapped on destruction.
class mapped_file {
public:
    mapped_file() = default;
    mapped_file(void* address, std::size_t size) : m_address(address), m_size(size) {}
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    mapped_file(mapped_file&& other) noexcept { swap(other); }
    mapped_file& operator=(mapped_file&& other) noexcept;
    ~mapped_file();

    const std::uint8_t* data() const { return static_cast<const std::uint8_t*>(m_address); }
    std::size_t size() const { return m_size; }
    void swap(mapped_file& other) noexcept;

private:
    void* m_address = nullptr;
    std::size_t m_size = 0;
};

} // namespace detail

/// A parsed and validated safetensors file, memory-mapped or held in memory. Move-only.
///
/// The data stay where they are (the mapping or the owned buffer); `read_f32` converts on the
/// way out. A mapped file that another process truncates while it is open raises SIGBUS, as any
/// mapping does; lusnet cannot guard against that.
class safetensors_file {
public:
    /// Maps the file at `path` read-only and validates its header; io_error or format_error.
    static safetensors_file open(const std::string& path);
    /// Validates an in-memory file and keeps the buffer; `name` stands for the path in messages.
    static safetensors_file from_bytes(std::vector<std::uint8_t> bytes,
                                       std::string name = "<memory>");

    safetensors_file(const safetensors_file&) = delete;
    safetensors_file& operator=(const safetensors_file&) = delete;
    safetensors_file(safetensors_file&&) = default;
    safetensors_file& operator=(safetensors_file&&) = default;

    /// The path or name given when the file was opened.
    const std::string& path() const { return m_path; }
    /// Every tensor, sorted by its position in the data block.
    const std::vector<tensor_info>& tensors() const { return m_tensors; }
    /// The `__metadata__` strings of the header (empty when absent).
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    /// Whether the header names a tensor `name`.
    bool contains(const std::string& name) const { return m_index.count(name) != 0; }
    /// The entry of tensor `name`; key_error when absent.
    const tensor_info& info(const std::string& name) const;

    /// The values of tensor `name` as float; F32, F16, BF16 and F64 only, else format_error.
    std::vector<float> read_f32(const std::string& name) const;
    /// Writes the `count` values of tensor `name` to `destination`; `count` must equal numel().
    void read_f32(const std::string& name, float* destination, std::size_t count) const;
    /// The tensor's bytes as stored: little-endian, row-major, possibly unaligned.
    const std::uint8_t* raw(const std::string& name) const;

private:
    safetensors_file() = default;
    const std::uint8_t* bytes() const;
    void parse();
    const tensor_info& find(const std::string& operation, const std::string& name) const;
    const tensor_info& find_float(const std::string& name) const;

    std::string m_path;
    std::vector<std::uint8_t> m_owned;
    detail::mapped_file m_mapping;
    std::size_t m_size = 0;
    std::size_t m_data_offset = 0;
    std::vector<tensor_info> m_tensors;
    std::map<std::string, std::size_t> m_index;
    std::map<std::string, std::string> m_metadata;
};

/// One F32 tensor to write: `data` holds `prod(shape)` row-major values.
struct tensor_entry {
    std::string name;               ///< key in the header
    std::vector<std::size_t> shape; ///< row-major shape; empty for a scalar
    const float* data;              ///< the values; may be null only when the tensor is empty
};

/// Writes `tensors` (in the given order) and `metadata` to `path` as safetensors.
///
/// The input is validated and the header built before the file is touched, so a bad argument
/// leaves an existing file as it was; a failed write removes the partial file and throws
/// io_error. Duplicate or reserved names are invalid_argument.
void save_safetensors(const std::string& path, const std::vector<tensor_entry>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
/// The bytes `save_safetensors` would write.
std::vector<std::uint8_t>
serialize_safetensors(const std::vector<tensor_entry>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// The exact float value of an IEEE 754 binary16 bit pattern (subnormals, infinities, NaN).
float half_to_float(std::uint16_t bits);
/// The exact float value of a bfloat16 bit pattern, the upper half of a binary32.
float bfloat16_to_float(std::uint16_t bits);

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {
namespace safetensors {

/// The format caps the header at 100 MB so a corrupt length cannot make a reader allocate
/// gigabytes; the reference implementation uses the same limit.
inline constexpr std::size_t max_header_size = 100'000'000;
/// Size of the little-endian u64 that opens the file.
inline constexpr std::size_t length_prefix_size = 8;
/// Key of the optional string-to-string metadata object.
inline constexpr const char* metadata_key = "__metadata__";

struct dtype_entry {
    lusnet::dtype type;
    const char* name;
    std::size_t size;
};

/// One row per enumerator, in enumerator order, so `dtype_table[int(type)]` is `type`'s row.
inline constexpr dtype_entry dtype_table[] = {
    {dtype::boolean, "BOOL", 1},    {dtype::u8, "U8", 1},           {dtype::i8, "I8", 1},
    {dtype::f8_e5m2, "F8_E5M2", 1}, {dtype::f8_e4m3, "F8_E4M3", 1}, {dtype::i16, "I16", 2},
    {dtype::u16, "U16", 2},         {dtype::f16, "F16", 2},         {dtype::bf16, "BF16", 2},
    {dtype::i32, "I32", 4},         {dtype::u32, "U32", 4},         {dtype::f32, "F32", 4},
    {dtype::f64, "F64", 8},         {dtype::i64, "I64", 8},         {dtype::u64, "U64", 8},
};

constexpr bool table_follows_enum() {
    for (std::size_t i = 0; i < std::size(dtype_table); ++i) {
        if (static_cast<std::size_t>(dtype_table[i].type) != i) {
            return false;
        }
    }
    return std::size(dtype_table) == static_cast<std::size_t>(dtype::u64) + 1;
}
static_assert(table_follows_enum(), "dtype_table rows must follow the dtype enumerators");

inline const dtype_entry& entry_of(lusnet::dtype type) {
    const auto index = static_cast<std::size_t>(type);
    if (index >= std::size(dtype_table)) {
        throw invalid_argument("dtype", "value " + std::to_string(index),
                               "expected one of the " + std::to_string(std::size(dtype_table)) +
                                   " safetensors dtypes, got an out-of-range enumerator");
    }
    return dtype_table[index];
}

/// The dtype named `name`, or false when the format does not know it.
inline bool dtype_from_name(const std::string& name, lusnet::dtype& type) {
    for (const dtype_entry& entry : dtype_table) {
        if (name == entry.name) {
            type = entry.type;
            return true;
        }
    }
    return false;
}

/// `a * b`, or false when the product does not fit in size_t.
inline bool multiply(std::size_t a, std::size_t b, std::size_t& product) {
    if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) {
        return false;
    }
    product = a * b;
    return true;
}

/// The product of `shape`, or false on overflow.
inline bool element_count(const std::vector<std::size_t>& shape, std::size_t& count) {
    count = 1;
    for (std::size_t extent : shape) {
        if (!multiply(count, extent, count)) {
            return false;
        }
    }
    return true;
}

inline std::string shape_text(const std::vector<std::size_t>& shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        text += (i == 0 ? "" : ", ") + std::to_string(shape[i]);
    }
    return text + "]";
}

inline std::string range_text(std::size_t begin, std::size_t end) {
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

/// Compact JSON of `value` for a message, cut short so a huge field cannot flood it.
inline std::string json_text(const nlohmann::json& value) {
    constexpr std::size_t limit = 80;
    std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > limit) {
        text = text.substr(0, limit) + "...";
    }
    return text;
}

inline bool host_is_little_endian() {
    const std::uint32_t probe = 1;
    unsigned char first = 0;
    std::memcpy(&first, &probe, 1);
    return first == 1;
}

inline std::uint16_t load_le16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

inline std::uint32_t load_le32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
           (std::uint32_t{p[3]} << 24);
}

inline std::uint64_t load_le64(const std::uint8_t* p) {
    return std::uint64_t{load_le32(p)} | (std::uint64_t{load_le32(p + 4)} << 32);
}

inline void store_le32(std::uint32_t value, std::uint8_t* p) {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
}

inline void store_le64(std::uint64_t value, std::uint8_t* p) {
    for (int i = 0; i < 8; ++i) {
        p[i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
}

inline float float_from_bits(std::uint32_t bits) {
    float value = 0.0f;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

/// Rounds a double to the nearest float, ties to even. A plain cast is undefined behaviour for
/// finite values beyond the float range, so those are rounded here: below FLT_MAX plus half an
/// ulp (2^103) they become FLT_MAX, from there on infinity (the tie goes to infinity because
/// FLT_MAX has an odd significand).
inline float double_to_float(double value) {
    constexpr double largest = std::numeric_limits<float>::max();
    const double magnitude = std::fabs(value);
    if (std::isnan(value) || magnitude <= largest) {
        return static_cast<float>(value);
    }
    const double overflow_threshold = largest + std::ldexp(1.0, 103);
    const float rounded = magnitude < overflow_threshold ? std::numeric_limits<float>::max()
                                                         : std::numeric_limits<float>::infinity();
    return std::signbit(value) ? -rounded : rounded;
}

/// Parses the header JSON, rejecting a key that appears twice in one object: a JSON library
/// keeps only one of them, so a duplicate would silently hide a tensor or a metadata entry.
inline nlohmann::json parse_header_json(const std::uint8_t* first, std::size_t size,
                                        const std::string& path) {
    std::vector<std::set<std::string>> keys_per_object;
    const nlohmann::json::parser_callback_t reject_duplicates =
        [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
            if (event == nlohmann::json::parse_event_t::object_start) {
                keys_per_object.emplace_back();
            } else if (event == nlohmann::json::parse_event_t::object_end) {
                keys_per_object.pop_back();
            } else if (event == nlohmann::json::parse_event_t::key &&
                       !keys_per_object.back().insert(parsed.get<std::string>()).second) {
                throw format_error("safetensors open", path,
                                   "expected unique keys in the header JSON, got \"" +
                                       parsed.get<std::string>() + "\" twice");
            }
            return true;
        };

    try {
        return nlohmann::json::parse(first, first + size, reject_duplicates);
    } catch (const nlohmann::json::exception& caught) {
        throw format_error("safetensors open", path,
                           "expected a UTF-8 JSON header, got text that is not JSON (" +
                               std::string(caught.what()) + ")");
    }
}

/// Reads `entry[field]` as an array of non-negative integers that fit in size_t.
inline std::vector<std::size_t> parse_extents(const nlohmann::json& entry, const char* field,
                                              const std::string& tensor, const std::string& path) {
    const auto found = entry.find(field);
    const std::string where = "tensor '" + tensor + "': " + field;
    if (found == entry.end()) {
        throw format_error("safetensors open", path,
                           where +
                               ": expected an array of non-negative integers, got no such field");
    }

    std::vector<std::size_t> extents;
    bool valid = found->is_array();
    for (std::size_t i = 0; valid && i < found->size(); ++i) {
        const nlohmann::json& item = (*found)[i];
        valid = item.is_number_unsigned() &&
                item.get<std::uint64_t>() <= std::numeric_limits<std::size_t>::max();
        if (valid) {
            extents.push_back(static_cast<std::size_t>(item.get<std::uint64_t>()));
        }
    }
    if (!valid) {
        throw format_error("safetensors open", path,
                           where + ": expected an array of non-negative integers, got " +
                               json_text(*found));
    }
    return extents;
}

inline lusnet::dtype parse_dtype(const nlohmann::json& entry, const std::string& tensor,
                                 const std::string& path) {
    const auto found = entry.find("dtype");
    const std::string where = "tensor '" + tensor + "': dtype";
    if (found == entry.end() || !found->is_string()) {
        throw format_error("safetensors open", path,
                           where + ": expected a string such as \"F32\", got " +
                               (found == entry.end() ? "no such field" : json_text(*found)));
    }

    lusnet::dtype type = dtype::f32;
    if (!dtype_from_name(found->get<std::string>(), type)) {
        std::string known;
        for (const dtype_entry& row : dtype_table) {
            known += (known.empty() ? "" : ", ") + std::string(row.name);
        }
        throw format_error("safetensors open", path,
                           where + ": expected one of " + known + ", got unknown dtype " +
                               json_text(*found));
    }
    return type;
}

/// One tensor entry of the header, checked on its own: fields, types, and that its byte range
/// lies in the data block and holds exactly `prod(shape) * dtype_size` bytes.
inline tensor_info parse_tensor_entry(const std::string& name, const nlohmann::json& entry,
                                      std::size_t data_size, const std::string& path) {
    if (!entry.is_object()) {
        throw format_error("safetensors open", path,
                           "tensor '" + name +
                               "': expected an object with dtype, shape and data_offsets, got " +
                               json_text(entry));
    }
    tensor_info info;
    info.name = name;
    info.type = parse_dtype(entry, name, path);
    info.shape = parse_extents(entry, "shape", name, path);
    const std::vector<std::size_t> offsets = parse_extents(entry, "data_offsets", name, path);
    if (offsets.size() != 2) {
        throw format_error("safetensors open", path,
                           "tensor '" + name + "': data_offsets: expected [begin, end], got " +
                               json_text(entry.at("data_offsets")));
    }
    info.begin = offsets[0];
    info.end = offsets[1];

    const std::string where =
        "tensor '" + name + "': data_offsets " + range_text(info.begin, info.end);
    if (info.begin > info.end) {
        throw format_error("safetensors open", path, where + ": expected begin <= end");
    }
    if (info.end > data_size) {
        throw format_error("safetensors open", path,
                           where + ": expected a range within the data block of " +
                               std::to_string(data_size) + " bytes, got one out of range");
    }
    std::size_t count = 0;
    std::size_t bytes = 0;
    if (!element_count(info.shape, count) || !multiply(count, entry_of(info.type).size, bytes)) {
        throw format_error("safetensors open", path,
                           "tensor '" + name + "': shape " + shape_text(info.shape) +
                               ": expected a byte size that fits in size_t, got an overflow");
    }
    if (bytes != info.end - info.begin) {
        throw format_error("safetensors open", path,
                           where + ": expected " + std::to_string(bytes) + " bytes for " +
                               dtype_name(info.type) + " " + shape_text(info.shape) + ", got " +
                               std::to_string(info.end - info.begin) +
                               " (does not match shape x dtype size)");
    }
    return info;
}

inline std::map<std::string, std::string> parse_metadata(const nlohmann::json& value,
                                                         const std::string& path) {
    if (!value.is_object()) {
        throw format_error("safetensors open", path,
                           std::string(metadata_key) + ": expected an object of strings, got " +
                               json_text(value));
    }
    std::map<std::string, std::string> metadata;
    for (const auto& item : value.items()) {
        if (!item.value().is_string()) {
            throw format_error("safetensors open", path,
                               std::string(metadata_key) + ": \"" + item.key() +
                                   "\": expected a string value, got " + json_text(item.value()));
        }
        metadata.emplace(item.key(), item.value().get<std::string>());
    }
    return metadata;
}

/// Checks that the byte ranges, sorted by position, tile the data block with no overlap and no
/// hole: a hole could hide data a checker never sees, an overlap lets two tensors alias.
inline void check_tiling(const std::vector<tensor_info>& sorted, std::size_t data_size,
                         const std::string& path) {
    std::size_t expected = 0;
    const tensor_info* previous = nullptr;
    for (const tensor_info& info : sorted) {
        if (info.begin != expected) {
            const std::string after =
                previous ? "where '" + previous->name + "' ends" : "at the start of the data";
            const std::string fault = info.begin < expected
                                          ? "overlapping '" + previous->name + "'"
                                          : "leaving a hole of bytes [" + std::to_string(expected) +
                                                ", " + std::to_string(info.begin) + ")";
            throw format_error("safetensors open", path,
                               "tensor '" + info.name + "': expected data_offsets to begin at " +
                                   std::to_string(expected) + " " + after + ", got " +
                                   range_text(info.begin, info.end) + ", " + fault);
        }
        expected = info.end;
        previous = &info;
    }
    if (expected != data_size) {
        throw format_error("safetensors open", path,
                           "expected the tensors to cover the data block of " +
                               std::to_string(data_size) + " bytes, got a hole of bytes [" +
                               std::to_string(expected) + ", " + std::to_string(data_size) +
                               ") that no tensor claims");
    }
}

/// Closes a file descriptor on every path out of `open`.
class file_descriptor {
public:
    explicit file_descriptor(int fd) : m_fd(fd) {}
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    int get() const { return m_fd; }

private:
    int m_fd;
};

inline std::string system_error_text(int code) {
    return std::strerror(code);
}

/// Checks a tensor list for writing and builds the header JSON, padded with spaces to a
/// multiple of 8 bytes so the data block (and every F32 tensor in it) starts 8-byte aligned.
inline std::string make_header(const std::vector<tensor_entry>& tensors,
                               const std::map<std::string, std::string>& metadata) {
    // ordered_json keeps the caller's tensor order and puts "dtype" before "shape".
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) {
        header[metadata_key] = metadata;
    }
    std::set<std::string> names;
    std::size_t offset = 0;
    for (const tensor_entry& tensor : tensors) {
        if (tensor.name == metadata_key || !names.insert(tensor.name).second) {
            throw invalid_argument("safetensors save", "tensor '" + tensor.name + "'",
                                   tensor.name == metadata_key
                                       ? "expected a tensor name, got the reserved metadata key"
                                       : "expected unique tensor names, got a duplicate name");
        }
        std::size_t count = 0;
        std::size_t bytes = 0;
        if (!element_count(tensor.shape, count) || !multiply(count, sizeof(float), bytes) ||
            offset > std::numeric_limits<std::size_t>::max() - bytes) {
            throw invalid_argument("safetensors save", "tensor '" + tensor.name + "'",
                                   "expected a size that fits in memory, got shape " +
                                       shape_text(tensor.shape));
        }
        if (count != 0 && tensor.data == nullptr) {
            throw invalid_argument("safetensors save", "tensor '" + tensor.name + "'",
                                   "expected data for " + std::to_string(count) +
                                       " values, got a null pointer");
        }
        header[tensor.name] = {
            {"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }

    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::json::exception& caught) {
        throw invalid_argument("safetensors save", "header",
                               "expected UTF-8 names and metadata, got " +
                                   std::string(caught.what()));
    }
    text.append((8 - text.size() % 8) % 8, ' ');
    return text;
}

/// Emits a whole file to `sink(const std::uint8_t*, std::size_t)`: length, `header` (from
/// make_header, which has checked `tensors`), then the data.
template <class Sink>
void emit(const std::string& header, const std::vector<tensor_entry>& tensors, Sink&& sink) {
    std::uint8_t length[length_prefix_size];
    store_le64(header.size(), length);
    sink(length, sizeof length);
    sink(reinterpret_cast<const std::uint8_t*>(header.data()), header.size());

    const bool little = host_is_little_endian();
    constexpr std::size_t chunk_values = 4096;
    std::vector<std::uint8_t> chunk;
    for (const tensor_entry& tensor : tensors) {
        std::size_t count = 0;
        element_count(tensor.shape, count); // cannot overflow: make_header checked it
        if (count == 0) {
            continue;
        }
        if (little) {
            sink(reinterpret_cast<const std::uint8_t*>(tensor.data), count * sizeof(float));
            continue;
        }
        for (std::size_t first = 0; first < count; first += chunk_values) {
            const std::size_t n = std::min(chunk_values, count - first);
            chunk.resize(n * sizeof(float));
            for (std::size_t i = 0; i < n; ++i) {
                std::uint32_t bits = 0;
                std::memcpy(&bits, tensor.data + first + i, sizeof bits);
                store_le32(bits, chunk.data() + i * sizeof(float));
            }
            sink(chunk.data(), chunk.size());
        }
    }
}

} // namespace safetensors

inline mapped_file& mapped_file::operator=(mapped_file&& other) noexcept {
    mapped_file moved(std::move(other));
    swap(moved);
    return *this;
}

inline mapped_file::~mapped_file() {
    if (m_address != nullptr) {
        ::munmap(m_address, m_size);
    }
}

inline void mapped_file::swap(mapped_file& other) noexcept {
    std::swap(m_address, other.m_address);
    std::swap(m_size, other.m_size);
}

} // namespace detail

inline std::size_t dtype_size(dtype type) {
    return detail::safetensors::entry_of(type).size;
}

inline const char* dtype_name(dtype type) {
    return detail::safetensors::entry_of(type).name;
}

inline std::size_t tensor_info::numel() const {
    std::size_t count = 0;
    if (!detail::safetensors::element_count(shape, count)) {
        throw shape_error("tensor_info numel", "tensor '" + name + "'",
                          "expected an element count that fits in size_t, got shape " +
                              detail::safetensors::shape_text(shape));
    }
    return count;
}

inline float half_to_float(std::uint16_t bits) {
    const std::uint32_t sign = std::uint32_t{bits & 0x8000u} << 16;
    std::uint32_t exponent = (bits >> 10) & 0x1Fu;
    std::uint32_t mantissa = bits & 0x3FFu;

    if (exponent == 0x1F) {
        // Infinity or NaN: all-ones exponent, payload kept in the top mantissa bits.
        return detail::safetensors::float_from_bits(sign | 0x7F800000u | (mantissa << 13));
    }
    if (exponent == 0) {
        if (mantissa == 0) {
            return detail::safetensors::float_from_bits(sign);
        }
        // Subnormal half (m * 2^-24) is a normal float: shift the leading one into the implicit
        // bit, lowering the exponent once per shift. Biased half exponent 1 stands for 2^-14.
        exponent = 1;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            --exponent;
        }
        mantissa &= 0x3FFu;
    }
    // Rebias from 15 (binary16) to 127 (binary32); the exponent may be <= 0 only transiently.
    const std::uint32_t float_exponent = exponent + 127u - 15u;
    return detail::safetensors::float_from_bits(sign | (float_exponent << 23) | (mantissa << 13));
}

inline float bfloat16_to_float(std::uint16_t bits) {
    // bfloat16 is the upper 16 bits of a binary32, so widening is a shift.
    return detail::safetensors::float_from_bits(std::uint32_t{bits} << 16);
}

inline safetensors_file safetensors_file::open(const std::string& path) {
    const detail::safetensors::file_descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        const int code = errno;
        throw io_error(
            "safetensors open", path,
            "expected a readable file, got " + detail::safetensors::system_error_text(code), code);
    }
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) {
        const int code = errno;
        throw io_error("safetensors open", path,
                       "expected file status, got " + detail::safetensors::system_error_text(code),
                       code);
    }
    if (!S_ISREG(status.st_mode)) {
        throw io_error("safetensors open", path, "expected a regular file, got another kind");
    }
    const auto size = static_cast<std::uint64_t>(status.st_size);
    if (size < detail::safetensors::length_prefix_size) {
        throw format_error(
            "safetensors open", path,
            "expected at least 8 bytes (the header length), got " +
                (size == 0 ? std::string("an empty file") : std::to_string(size) + " bytes"));
    }
    if (size > std::numeric_limits<std::size_t>::max()) {
        throw io_error("safetensors open", path,
                       "expected a file that fits in the address space, got " +
                           std::to_string(size) + " bytes");
    }

    void* address =
        ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (address == MAP_FAILED) {
        const int code = errno;
        throw io_error("safetensors open", path,
                       "expected to map " + std::to_string(size) + " bytes, got " +
                           detail::safetensors::system_error_text(code),
                       code);
    }
    safetensors_file file;
    file.m_path = path;
    file.m_mapping = detail::mapped_file(address, static_cast<std::size_t>(size));
    file.m_size = file.m_mapping.size();
    file.parse();
    return file;
}

inline safetensors_file safetensors_file::from_bytes(std::vector<std::uint8_t> bytes,
                                                     std::string name) {
    if (bytes.size() < detail::safetensors::length_prefix_size) {
        throw format_error("safetensors open", name,
                           "expected at least 8 bytes (the header length), got " +
                               (bytes.empty() ? std::string("an empty buffer")
                                              : std::to_string(bytes.size()) + " bytes"));
    }
    safetensors_file file;
    file.m_path = std::move(name);
    file.m_owned = std::move(bytes);
    file.m_size = file.m_owned.size();
    file.parse();
    return file;
}

inline const std::uint8_t* safetensors_file::bytes() const {
    return m_mapping.data() != nullptr ? m_mapping.data() : m_owned.data();
}

inline void safetensors_file::parse() {
    namespace st = detail::safetensors;
    const std::uint64_t header_size = st::load_le64(bytes());
    const std::size_t room = m_size - st::length_prefix_size;
    if (header_size > st::max_header_size) {
        throw format_error("safetensors open", m_path,
                           "expected a header of at most 100000000 bytes (100 MB), got " +
                               std::to_string(header_size));
    }
    if (header_size > room) {
        throw format_error("safetensors open", m_path,
                           "expected a header length of at most " + std::to_string(room) +
                               " bytes (the file has " + std::to_string(m_size) + "), got " +
                               std::to_string(header_size) +
                               " (header length larger than the file)");
    }
    m_data_offset = st::length_prefix_size + static_cast<std::size_t>(header_size);
    const std::size_t data_size = m_size - m_data_offset;

    const nlohmann::json header = st::parse_header_json(
        bytes() + st::length_prefix_size, static_cast<std::size_t>(header_size), m_path);
    if (!header.is_object()) {
        throw format_error("safetensors open", m_path,
                           "expected the header to be a JSON object, got " +
                               std::string(header.type_name()));
    }

    for (const auto& item : header.items()) {
        if (item.key() == st::metadata_key) {
            m_metadata = st::parse_metadata(item.value(), m_path);
        } else {
            m_tensors.push_back(
                st::parse_tensor_entry(item.key(), item.value(), data_size, m_path));
        }
    }
    std::sort(m_tensors.begin(), m_tensors.end(), [](const tensor_info& a, const tensor_info& b) {
        return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
    });
    st::check_tiling(m_tensors, data_size, m_path);
    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        m_index.emplace(m_tensors[i].name, i);
    }
}

inline const tensor_info& safetensors_file::find(const std::string& operation,
                                                 const std::string& name) const {
    const auto found = m_index.find(name);
    if (found == m_index.end()) {
        throw key_error(operation, m_path,
                        "expected a tensor named '" + name + "', got no such key among " +
                            std::to_string(m_tensors.size()) + " tensors");
    }
    return m_tensors[found->second];
}

inline const tensor_info& safetensors_file::info(const std::string& name) const {
    return find("safetensors info", name);
}

inline const std::uint8_t* safetensors_file::raw(const std::string& name) const {
    return bytes() + m_data_offset + find("safetensors raw", name).begin;
}

inline const tensor_info& safetensors_file::find_float(const std::string& name) const {
    const tensor_info& tensor = find("safetensors read_f32", name);
    const dtype type = tensor.type;
    if (type != dtype::f32 && type != dtype::f16 && type != dtype::bf16 && type != dtype::f64) {
        throw format_error("safetensors read_f32", m_path,
                           "tensor '" + name + "': expected dtype F32, F16, BF16 or F64, got " +
                               dtype_name(type));
    }
    return tensor;
}

inline std::vector<float> safetensors_file::read_f32(const std::string& name) const {
    // The dtype is checked before allocating: an I64 tensor must not cost a float buffer.
    std::vector<float> values(find_float(name).numel());
    read_f32(name, values.data(), values.size());
    return values;
}

inline void safetensors_file::read_f32(const std::string& name, float* destination,
                                       std::size_t count) const {
    namespace st = detail::safetensors;
    const tensor_info& tensor = find_float(name);
    const dtype type = tensor.type;
    if (count != tensor.numel()) {
        throw shape_error("safetensors read_f32", m_path,
                          "tensor '" + name + "' of shape " + st::shape_text(tensor.shape) +
                              ": expected room for " + std::to_string(tensor.numel()) +
                              " values, got " + std::to_string(count));
    }
    if (count == 0) {
        return;
    }
    if (destination == nullptr) {
        throw invalid_argument("safetensors read_f32", m_path,
                               "tensor '" + name + "': expected a destination, got null");
    }

    const std::uint8_t* source = bytes() + m_data_offset + tensor.begin;
    const std::size_t step = dtype_size(type);
    if (type == dtype::f32 && st::host_is_little_endian()) {
        std::memcpy(destination, source, count * sizeof(float));
        return;
    }
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint8_t* element = source + i * step;
        switch (type) {
        case dtype::f32:
            destination[i] = st::float_from_bits(st::load_le32(element));
            break;
        case dtype::f16:
            destination[i] = half_to_float(st::load_le16(element));
            break;
        case dtype::bf16:
            destination[i] = bfloat16_to_float(st::load_le16(element));
            break;
        default: {
            double value = 0.0;
            const std::uint64_t bits = st::load_le64(element);
            std::memcpy(&value, &bits, sizeof value);
            destination[i] = st::double_to_float(value);
        }
        }
    }
}

inline std::vector<std::uint8_t>
serialize_safetensors(const std::vector<tensor_entry>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    const std::string header = detail::safetensors::make_header(tensors, metadata);
    std::vector<std::uint8_t> bytes;
    detail::safetensors::emit(header, tensors, [&](const std::uint8_t* data, std::size_t size) {
        bytes.insert(bytes.end(), data, data + size);
    });
    return bytes;
}

inline void save_safetensors(const std::string& path, const std::vector<tensor_entry>& tensors,
                             const std::map<std::string, std::string>& metadata) {
    // Build and check the header first: a bad argument must not truncate an existing file.
    const std::string header = detail::safetensors::make_header(tensors, metadata);

    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) {
        const int code = errno;
        throw io_error(
            "safetensors save", path,
            "expected a writable file, got " + detail::safetensors::system_error_text(code), code);
    }
    int failure = 0;
    try {
        detail::safetensors::emit(header, tensors, [&](const std::uint8_t* data, std::size_t size) {
            errno = 0;
            if (failure == 0 && std::fwrite(data, 1, size, file) != size) {
                failure = errno != 0 ? errno : EIO;
            }
        });
    } catch (...) {
        std::fclose(file);
        std::remove(path.c_str());
        throw;
    }
    errno = 0;
    if (std::fclose(file) != 0 && failure == 0) {
        failure = errno != 0 ? errno : EIO;
    }
    if (failure != 0) {
        std::remove(path.c_str());
        throw io_error("safetensors save", path,
                       "expected every byte written, got " +
                           detail::safetensors::system_error_text(failure),
                       failure);
    }
}

} // namespace lusnet
