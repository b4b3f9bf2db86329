// Tests of include/lusnet/io/safetensors.hpp: round trips, the byte layout of the writer, exact
// F16/BF16 widening, and one test per kind of malformed file.

#include "lusnet/io/safetensors.hpp"

#include "catch.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;

/// A fresh directory under the system temp directory, removed with everything in it at the end
/// of the test. The name mixes the process id, a counter and a random number so parallel test
/// runs never share one.
class temp_dir {
public:
    temp_dir() {
        static unsigned counter = 0;
        std::random_device entropy;
        do {
            m_path = fs::temp_directory_path() /
                     ("lusnet-safetensors-" + std::to_string(::getpid()) + "-" +
                      std::to_string(counter++) + "-" + std::to_string(entropy()));
        } while (!fs::create_directory(m_path));
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ignored;
        fs::remove_all(m_path, ignored);
    }

    /// The path of `name` inside the directory, as a string.
    std::string file(const std::string& name) const { return (m_path / name).string(); }

    /// Writes `content` to `name` inside the directory and returns its path.
    std::string write(const std::string& name, const bytes& content) const {
        const std::string path = file(name);
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(content.data()),
                  static_cast<std::streamsize>(content.size()));
        REQUIRE(out.good());
        return path;
    }

private:
    fs::path m_path;
};

bytes read_whole(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void append_le(bytes& out, std::uint64_t value, int width) {
    for (int i = 0; i < width; ++i) {
        out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    }
}

/// A file made by hand: the 8-byte length of `header`, `header` itself, then `data`.
bytes make_file(const std::string& header, const bytes& data) {
    bytes file;
    append_le(file, header.size(), 8);
    file.insert(file.end(), header.begin(), header.end());
    file.insert(file.end(), data.begin(), data.end());
    return file;
}

/// Little-endian bytes of 16-bit patterns (F16, BF16 payloads).
bytes le16(std::initializer_list<std::uint16_t> values) {
    bytes out;
    for (std::uint16_t value : values) {
        append_le(out, value, 2);
    }
    return out;
}

std::uint32_t bits_of(float value) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

std::uint64_t bits_of(double value) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

/// Runs `action` expecting an `Error`; returns its message, or "" after a failed check when
/// nothing was thrown. An exception of another type escapes and fails the test with its text.
template <class Error, class Action>
std::string message_of(Action&& action) {
    try {
        action();
    } catch (const Error& caught) {
        return caught.what();
    }
    FAIL_CHECK("expected an exception, none was thrown");
    return {};
}

/// Checks that `message` contains every one of `words`.
void check_mentions(const std::string& message, std::initializer_list<std::string> words) {
    for (const std::string& word : words) {
        INFO("message: " << message);
        INFO("expected to contain: " << word);
        CHECK(message.find(word) != std::string::npos);
    }
}

/// Writes a hand-made file, opens it, and returns the message of the format_error that must
/// follow; the message must name the file.
std::string open_format_error(const std::string& header, const bytes& data) {
    temp_dir dir;
    const std::string path = dir.write("bad.safetensors", make_file(header, data));
    const std::string message =
        message_of<lusnet::format_error>([&] { lusnet::safetensors_file::open(path); });
    check_mentions(message, {path});
    return message;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Writing and reading back

TEST_CASE("safetensors: a written file reads back with the same names, shapes, values and "
          "metadata",
          "[safetensors]") {
    std::vector<float> weight(2 * 3 * 3 * 3);
    for (std::size_t i = 0; i < weight.size(); ++i) {
        weight[i] = static_cast<float>(i) * 0.25f - 3.0f;
    }
    // Values whose bits a careless conversion would change.
    const std::vector<float> bias = {-0.0f, std::numeric_limits<float>::infinity(),
                                     std::numeric_limits<float>::quiet_NaN(),
                                     std::numeric_limits<float>::denorm_min()};
    const float scale = 0.125f;
    const std::vector<lusnet::tensor_entry> entries = {
        {"conv1.weight", {2, 3, 3, 3}, weight.data()},
        {"conv1.bias", {4}, bias.data()},
        {"scale", {}, &scale},
        {"empty", {0, 4}, nullptr},
    };
    const std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                         {"model", "lusnet test"}};
    temp_dir dir;
    const std::string path = dir.file("model.safetensors");

    lusnet::save_safetensors(path, entries, metadata);
    const lusnet::safetensors_file file = lusnet::safetensors_file::open(path);

    CHECK(file.path() == path);
    CHECK(file.metadata() == metadata);
    REQUIRE(file.tensors().size() == entries.size());
    std::size_t offset = 0;
    for (std::size_t t = 0; t < entries.size(); ++t) {
        const lusnet::tensor_info& info = file.tensors()[t];
        CAPTURE(entries[t].name);
        CHECK(info.name == entries[t].name);
        CHECK(info.type == lusnet::dtype::f32);
        CHECK(info.shape == entries[t].shape);
        CHECK(info.begin == offset);
        CHECK(info.end == offset + info.numel() * 4);
        CHECK(file.contains(entries[t].name));
        CHECK(&file.info(entries[t].name) == &info);
        offset = info.end;

        const std::vector<float> values = file.read_f32(entries[t].name);
        REQUIRE(values.size() == info.numel());
        for (std::size_t i = 0; i < values.size(); ++i) {
            CHECK(bits_of(values[i]) == bits_of(entries[t].data[i]));
        }
    }
    CHECK_FALSE(file.contains("conv2.weight"));

    float into[4] = {};
    file.read_f32("conv1.bias", into, 4);
    CHECK(bits_of(into[1]) == bits_of(bias[1]));
    CHECK(std::isnan(into[2]));
}

TEST_CASE("safetensors: serialize_safetensors gives the bytes save_safetensors writes",
          "[safetensors]") {
    const std::vector<float> values = {1.5f, -2.25f, 3.0f};
    const std::vector<lusnet::tensor_entry> entries = {{"a", {3}, values.data()},
                                                       {"b", {1, 2}, values.data() + 1}};
    temp_dir dir;
    const std::string path = dir.file("same.safetensors");

    lusnet::save_safetensors(path, entries, {{"k", "v"}});
    const bytes serialized = lusnet::serialize_safetensors(entries, {{"k", "v"}});

    CHECK(read_whole(path) == serialized);
    const auto file = lusnet::safetensors_file::from_bytes(serialized, "in-memory copy");
    CHECK(file.path() == "in-memory copy");
    CHECK(file.read_f32("b") == std::vector<float>{-2.25f, 3.0f});
    CHECK(lusnet::safetensors_file::from_bytes(serialized).path() == "<memory>");
}

TEST_CASE("safetensors: the writer lays out files as the reference implementation does",
          "[safetensors]") {
    // 0.0 .. 5.0 as little-endian binary32.
    const bytes counting = {0, 0, 0,    0,    0, 0, 0x80, 0x3F, 0, 0, 0,    0x40,
                            0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0xA0, 0x40};
    const std::vector<float> values = {0, 1, 2, 3, 4, 5};

    SECTION("a 64-byte header needs no padding") {
        const std::string header =
            R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
        REQUIRE(header.size() == 64);
        CHECK(lusnet::serialize_safetensors({{"attn.0", {1, 2, 3}, values.data()}}) ==
              make_file(header, counting));
    }
    SECTION("a 65-byte header is padded with 7 spaces") {
        const std::string header =
            R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
        CHECK(lusnet::serialize_safetensors({{"attn0", {1, 1, 2, 3}, values.data()}}) ==
              make_file(header + "       ", counting));
    }
    SECTION("no tensors and no metadata is an empty object") {
        CHECK(lusnet::serialize_safetensors({}) == make_file("{}      ", {}));
    }
    SECTION("metadata comes first, under __metadata__") {
        CHECK(lusnet::serialize_safetensors({}, {{"framework", "pt"}}) ==
              make_file(R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' '), {}));
    }
}

TEST_CASE("safetensors: every header length is a multiple of 8, padded with spaces",
          "[safetensors]") {
    const float value = 1.0f;
    for (std::size_t length = 1; length <= 16; ++length) {
        const std::string name(length, 'w');
        const bytes file = lusnet::serialize_safetensors({{name, {1}, &value}});
        std::uint64_t header_size = 0;
        for (int i = 7; i >= 0; --i) {
            header_size = (header_size << 8) | file[static_cast<std::size_t>(i)];
        }
        CAPTURE(length, header_size);
        CHECK(header_size % 8 == 0);
        CHECK(file.size() == 8 + header_size + 4);
        const std::string header(file.begin() + 8, file.begin() + 8 + header_size);
        CHECK(header.find_last_not_of(' ') == header.rfind('}'));
        CHECK(lusnet::safetensors_file::from_bytes(file).read_f32(name) ==
              std::vector<float>{1.0f});
    }
}

TEST_CASE("safetensors: tensors are listed by data offset whatever the header order",
          "[safetensors]") {
    // The JSON library orders keys by name; the reader must order them by position.
    const std::string header = R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                               R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
    const bytes data = {0, 0, 0x80, 0x3F, 0, 0, 0, 0x40}; // 1.0f, 2.0f

    const auto file = lusnet::safetensors_file::from_bytes(make_file(header, data));

    REQUIRE(file.tensors().size() == 2);
    CHECK(file.tensors()[0].name == "b");
    CHECK(file.tensors()[1].name == "a");
    CHECK(file.read_f32("a") == std::vector<float>{2.0f});
}

TEST_CASE("safetensors: an empty header and zero-element tensors are valid", "[safetensors]") {
    const auto none = lusnet::safetensors_file::from_bytes(make_file("{}", {}));
    CHECK(none.tensors().empty());
    CHECK(none.metadata().empty());

    const std::string header = R"({"nothing":{"dtype":"F16","shape":[3,0],"data_offsets":[0,0]},)"
                               R"("__metadata__":{}})";
    const auto empty = lusnet::safetensors_file::from_bytes(make_file(header, {}));
    CHECK(empty.info("nothing").numel() == 0);
    CHECK(empty.read_f32("nothing").empty());
}

TEST_CASE("safetensors: a moved file still reads its tensors", "[safetensors]") {
    const std::vector<float> values = {4.0f, 5.0f};
    temp_dir dir;
    const std::string path = dir.file("moved.safetensors");
    lusnet::save_safetensors(path, {{"v", {2}, values.data()}});

    lusnet::safetensors_file mapped = lusnet::safetensors_file::open(path);
    lusnet::safetensors_file owner = std::move(mapped);
    CHECK(owner.read_f32("v") == values);

    lusnet::safetensors_file buffered = lusnet::safetensors_file::from_bytes(
        lusnet::serialize_safetensors({{"v", {2}, values.data()}}));
    owner = std::move(buffered);
    CHECK(owner.read_f32("v") == values);
    CHECK(owner.path() == "<memory>");
}

// ---------------------------------------------------------------------------------------------
// Element types and conversions

TEST_CASE("safetensors: dtype names and sizes follow the format", "[safetensors]") {
    using lusnet::dtype;
    const std::vector<std::tuple<dtype, std::string, std::size_t>> table = {
        {dtype::boolean, "BOOL", 1},    {dtype::u8, "U8", 1},           {dtype::i8, "I8", 1},
        {dtype::f8_e5m2, "F8_E5M2", 1}, {dtype::f8_e4m3, "F8_E4M3", 1}, {dtype::i16, "I16", 2},
        {dtype::u16, "U16", 2},         {dtype::f16, "F16", 2},         {dtype::bf16, "BF16", 2},
        {dtype::i32, "I32", 4},         {dtype::u32, "U32", 4},         {dtype::f32, "F32", 4},
        {dtype::f64, "F64", 8},         {dtype::i64, "I64", 8},         {dtype::u64, "U64", 8},
    };
    for (const auto& [type, name, size] : table) {
        CAPTURE(name);
        CHECK(lusnet::dtype_name(type) == name);
        CHECK(lusnet::dtype_size(type) == size);
    }
}

TEST_CASE("safetensors: half_to_float converts hand-known bit patterns exactly", "[safetensors]") {
    using lusnet::half_to_float;
    CHECK(half_to_float(0x3C00) == 1.0f);
    CHECK(half_to_float(0xC000) == -2.0f);
    CHECK(half_to_float(0x3800) == 0.5f);
    CHECK(half_to_float(0x3555) == 0.333251953125f);          // 1365 / 4096, the half nearest 1/3
    CHECK(half_to_float(0x7BFF) == 65504.0f);                 // largest finite half
    CHECK(half_to_float(0x0400) == std::ldexp(1.0f, -14));    // smallest normal
    CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));    // smallest subnormal
    CHECK(half_to_float(0x03FF) == std::ldexp(1023.0f, -24)); // largest subnormal
    CHECK(half_to_float(0x8001) == -std::ldexp(1.0f, -24));
    CHECK(bits_of(half_to_float(0x0000)) == 0x00000000u);
    CHECK(bits_of(half_to_float(0x8000)) == 0x80000000u); // -0 keeps its sign
    CHECK(half_to_float(0x7C00) == std::numeric_limits<float>::infinity());
    CHECK(half_to_float(0xFC00) == -std::numeric_limits<float>::infinity());
    CHECK(std::isnan(half_to_float(0x7E00)));
    CHECK(std::isnan(half_to_float(0x7C01))); // signalling pattern stays a NaN
    CHECK(std::signbit(half_to_float(0xFE00)));
}

TEST_CASE("safetensors: half_to_float agrees with the binary16 formula on all patterns",
          "[safetensors]") {
    // IEEE 754 binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
    std::size_t mismatches = 0;
    std::uint32_t first_mismatch = 0;
    for (std::uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
        const std::uint32_t exponent = (bits >> 10) & 0x1F;
        const std::uint32_t mantissa = bits & 0x3FF;
        const float sign = (bits & 0x8000) != 0 ? -1.0f : 1.0f;
        const float converted = lusnet::half_to_float(static_cast<std::uint16_t>(bits));
        bool agrees = false;
        if (exponent == 0x1F && mantissa != 0) {
            agrees = std::isnan(converted) && std::signbit(converted) == (sign < 0);
        } else {
            const float expected = exponent == 0x1F ? sign * std::numeric_limits<float>::infinity()
                                   : exponent == 0
                                       ? sign * std::ldexp(static_cast<float>(mantissa), -24)
                                       : sign * std::ldexp(static_cast<float>(1024 + mantissa),
                                                           static_cast<int>(exponent) - 25);
            agrees = bits_of(converted) == bits_of(expected);
        }
        if (!agrees && mismatches++ == 0) {
            first_mismatch = bits;
        }
    }
    INFO("first mismatching pattern: " << first_mismatch);
    CHECK(mismatches == 0);
}

TEST_CASE("safetensors: bfloat16_to_float converts hand-known bit patterns exactly",
          "[safetensors]") {
    using lusnet::bfloat16_to_float;
    CHECK(bfloat16_to_float(0x3F80) == 1.0f);
    CHECK(bfloat16_to_float(0xC000) == -2.0f);
    CHECK(bfloat16_to_float(0x4049) == 3.140625f);
    CHECK(bfloat16_to_float(0x7F7F) == std::ldexp(255.0f, 120)); // largest finite bfloat16
    CHECK(bfloat16_to_float(0x0080) == std::ldexp(1.0f, -126));  // smallest normal
    CHECK(bfloat16_to_float(0x0001) == std::ldexp(1.0f, -133));  // smallest subnormal
    CHECK(bits_of(bfloat16_to_float(0x8000)) == 0x80000000u);
    CHECK(bfloat16_to_float(0x7F80) == std::numeric_limits<float>::infinity());
    CHECK(bfloat16_to_float(0xFF80) == -std::numeric_limits<float>::infinity());
    CHECK(std::isnan(bfloat16_to_float(0x7FC0)));
}

TEST_CASE("safetensors: bfloat16_to_float agrees with the bfloat16 formula on all patterns",
          "[safetensors]") {
    // bfloat16: 1 sign bit, 8 exponent bits (bias 127), 7 mantissa bits.
    std::size_t mismatches = 0;
    std::uint32_t first_mismatch = 0;
    for (std::uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
        const std::uint32_t exponent = (bits >> 7) & 0xFF;
        const std::uint32_t mantissa = bits & 0x7F;
        const float sign = (bits & 0x8000) != 0 ? -1.0f : 1.0f;
        const float converted = lusnet::bfloat16_to_float(static_cast<std::uint16_t>(bits));
        bool agrees = false;
        if (exponent == 0xFF && mantissa != 0) {
            agrees = std::isnan(converted);
        } else {
            const float expected = exponent == 0xFF ? sign * std::numeric_limits<float>::infinity()
                                   : exponent == 0
                                       ? sign * std::ldexp(static_cast<float>(mantissa), -133)
                                       : sign * std::ldexp(static_cast<float>(128 + mantissa),
                                                           static_cast<int>(exponent) - 134);
            agrees = bits_of(converted) == bits_of(expected);
        }
        if (!agrees && mismatches++ == 0) {
            first_mismatch = bits;
        }
    }
    INFO("first mismatching pattern: " << first_mismatch);
    CHECK(mismatches == 0);
}

TEST_CASE("safetensors: an F16 tensor built by hand reads as float", "[safetensors]") {
    const std::string header = R"({"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]}})";
    const bytes data = le16({0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x3800});

    const auto file = lusnet::safetensors_file::from_bytes(make_file(header, data));

    CHECK(file.info("h").type == lusnet::dtype::f16);
    CHECK(file.info("h").shape == std::vector<std::size_t>{2, 3});
    CHECK(file.read_f32("h") == std::vector<float>{1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24),
                                                   std::numeric_limits<float>::infinity(), 0.5f});
}

TEST_CASE("safetensors: a BF16 tensor built by hand reads as float", "[safetensors]") {
    const std::string header = R"({"b":{"dtype":"BF16","shape":[5],"data_offsets":[0,10]}})";
    const bytes data = le16({0x3F80, 0xC000, 0x4049, 0x0001, 0xFF80});

    const auto file = lusnet::safetensors_file::from_bytes(make_file(header, data));

    CHECK(file.info("b").type == lusnet::dtype::bf16);
    CHECK(file.read_f32("b") == std::vector<float>{1.0f, -2.0f, 3.140625f, std::ldexp(1.0f, -133),
                                                   -std::numeric_limits<float>::infinity()});
}

TEST_CASE("safetensors: an F64 tensor reads rounded to the nearest float", "[safetensors]") {
    const double max_float = std::numeric_limits<float>::max();
    // Below FLT_MAX + half an ulp (2^103) rounds down to FLT_MAX; at or beyond it, to infinity.
    const std::vector<double> stored = {
        1.5,   0.1,  max_float + std::ldexp(1.0, 102), -(max_float + std::ldexp(1.0, 103)),
        1e300, 1e-50};
    bytes data;
    for (double value : stored) {
        append_le(data, bits_of(value), 8);
    }
    const std::string header = R"({"d":{"dtype":"F64","shape":[6],"data_offsets":[0,48]}})";

    const std::vector<float> values =
        lusnet::safetensors_file::from_bytes(make_file(header, data)).read_f32("d");

    const float infinity = std::numeric_limits<float>::infinity();
    CHECK(values == std::vector<float>{1.5f, 0.1f, std::numeric_limits<float>::max(), -infinity,
                                       infinity, 0.0f});
}

TEST_CASE("safetensors: raw gives the stored bytes of a non-float tensor", "[safetensors]") {
    const std::string header = R"({"steps":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})";
    bytes data;
    append_le(data, 7, 8);
    append_le(data, static_cast<std::uint64_t>(-2), 8);

    const auto file = lusnet::safetensors_file::from_bytes(make_file(header, data));

    CHECK(file.info("steps").type == lusnet::dtype::i64);
    CHECK(bytes(file.raw("steps"), file.raw("steps") + 16) == data);
}

// ---------------------------------------------------------------------------------------------
// Malformed files: each is refused with the file name and the fault in the message

TEST_CASE("safetensors: a missing file is an io_error", "[safetensors]") {
    temp_dir dir;
    const std::string path = dir.file("absent.safetensors");
    const std::string message =
        message_of<lusnet::io_error>([&] { lusnet::safetensors_file::open(path); });
    check_mentions(message, {path, "No such file"});
    int code = 0;
    try {
        lusnet::safetensors_file::open(path);
    } catch (const lusnet::io_error& e) {
        code = e.error_number();
    }
    CHECK(code == ENOENT);
}

TEST_CASE("safetensors: a directory is an io_error", "[safetensors]") {
    temp_dir dir;
    const std::string path = dir.file("");
    const std::string message =
        message_of<lusnet::io_error>([&] { lusnet::safetensors_file::open(path); });
    check_mentions(message, {path, "regular file"});
}

TEST_CASE("safetensors: an empty file is a format_error", "[safetensors]") {
    temp_dir dir;
    const std::string path = dir.write("empty.safetensors", {});
    const std::string message =
        message_of<lusnet::format_error>([&] { lusnet::safetensors_file::open(path); });
    check_mentions(message, {path, "empty file"});
}

TEST_CASE("safetensors: a file of 5 bytes is a format_error", "[safetensors]") {
    temp_dir dir;
    const std::string path = dir.write("short.safetensors", {1, 0, 0, 0, 0});
    const std::string message =
        message_of<lusnet::format_error>([&] { lusnet::safetensors_file::open(path); });
    check_mentions(message, {path, "at least 8 bytes", "got 5 bytes"});
}

TEST_CASE("safetensors: a buffer under 8 bytes is a format_error naming the buffer",
          "[safetensors]") {
    const std::string message = message_of<lusnet::format_error>([] {
        lusnet::safetensors_file::from_bytes({1, 2, 3}, "weights-in-ram");
    });
    check_mentions(message, {"weights-in-ram", "got 3 bytes"});
}

TEST_CASE("safetensors: header length larger than the file is a format_error", "[safetensors]") {
    bytes file;
    append_le(file, 1000, 8);
    file.resize(28, ' ');
    temp_dir dir;
    const std::string path = dir.write("long.safetensors", file);

    const std::string message =
        message_of<lusnet::format_error>([&] { lusnet::safetensors_file::open(path); });

    check_mentions(message, {path, "larger than the file", "got 1000"});
}

TEST_CASE("safetensors: a header over 100 MB is a format_error", "[safetensors]") {
    bytes file;
    append_le(file, 100'000'001, 8);
    append_le(file, 0x2020202020207D7B, 8); // "{}" and spaces
    const std::string message = message_of<lusnet::format_error>(
        [&] { lusnet::safetensors_file::from_bytes(file, "huge-header"); });
    check_mentions(message, {"huge-header", "100 MB", "100000001"});
}

TEST_CASE("safetensors: a header that is not JSON is a format_error", "[safetensors]") {
    check_mentions(open_format_error(R"({"w": {"dtype": "F32",)", {}), {"not JSON"});
}

TEST_CASE("safetensors: a header JSON array is a format_error", "[safetensors]") {
    check_mentions(open_format_error("[1, 2, 3]", {}), {"JSON object", "got array"});
}

TEST_CASE("safetensors: a tensor entry that is not an object is a format_error", "[safetensors]") {
    check_mentions(open_format_error(R"({"w": [0, 4]})", {}), {"tensor 'w'", "expected an object"});
}

TEST_CASE("safetensors: a missing or ill-typed field is a format_error", "[safetensors]") {
    const bytes data(4, 0);
    SECTION("dtype missing") {
        check_mentions(open_format_error(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", data),
                       {"dtype", "no such field"});
    }
    SECTION("dtype a number") {
        check_mentions(
            open_format_error(R"({"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", data),
            {"dtype", "got 32"});
    }
    SECTION("shape missing") {
        check_mentions(open_format_error(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", data),
                       {"shape", "no such field"});
    }
    SECTION("shape a string") {
        check_mentions(
            open_format_error(R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", data),
            {"shape", "got \"1\""});
    }
    SECTION("shape with a fraction") {
        check_mentions(
            open_format_error(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", data),
            {"shape", "non-negative integers"});
    }
    SECTION("data_offsets missing") {
        check_mentions(open_format_error(R"({"w":{"dtype":"F32","shape":[1]}})", data),
                       {"data_offsets", "no such field"});
    }
    SECTION("data_offsets of three numbers") {
        check_mentions(
            open_format_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", data),
            {"data_offsets", "[begin, end]"});
    }
}

TEST_CASE("safetensors: an unknown dtype is a format_error", "[safetensors]") {
    check_mentions(
        open_format_error(R"({"w":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})", bytes(4)),
        {"unknown dtype", "F12", "BF16"});
}

TEST_CASE("safetensors: data_offsets out of range is a format_error", "[safetensors]") {
    check_mentions(
        open_format_error(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", bytes(8)),
        {"tensor 'w'", "out of range", "[0, 16]"});
}

TEST_CASE("safetensors: data_offsets with begin after end is a format_error", "[safetensors]") {
    check_mentions(
        open_format_error(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", bytes(4)),
        {"tensor 'w'", "begin <= end"});
}

TEST_CASE("safetensors: overlapping data_offsets are a format_error", "[safetensors]") {
    const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
    check_mentions(open_format_error(header, bytes(12)), {"tensor 'b'", "overlapping 'a'"});
}

TEST_CASE("safetensors: data_offsets with a hole are a format_error", "[safetensors]") {
    const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                               R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
    check_mentions(open_format_error(header, bytes(12)), {"tensor 'b'", "hole of bytes [4, 8)"});
}

TEST_CASE("safetensors: data not claimed by any tensor is a format_error", "[safetensors]") {
    check_mentions(
        open_format_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", bytes(6)),
        {"hole of bytes [4, 6)", "no tensor claims"});
}

TEST_CASE("safetensors: data_offsets not matching shape x dtype size are a format_error",
          "[safetensors]") {
    check_mentions(open_format_error(R"({"w":{"dtype":"F16","shape":[2,2],"data_offsets":[0,16]}})",
                                     bytes(16)),
                   {"tensor 'w'", "expected 8 bytes for F16 [2, 2]", "does not match"});
}

TEST_CASE("safetensors: a shape with a negative number is a format_error", "[safetensors]") {
    check_mentions(open_format_error(
                       R"({"w":{"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]}})", bytes(16)),
                   {"tensor 'w'", "shape", "non-negative", "-2"});
}

TEST_CASE("safetensors: a shape whose byte size overflows is a format_error", "[safetensors]") {
    // 2^32 * 2^32 elements wrap a 64-bit size to 0, which would match the empty range.
    check_mentions(
        open_format_error(
            R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", {}),
        {"tensor 'w'", "overflow"});
}

TEST_CASE("safetensors: a metadata value that is not a string is a format_error", "[safetensors]") {
    check_mentions(open_format_error(R"({"__metadata__":{"epochs":30}})", {}),
                   {"__metadata__", "\"epochs\"", "string"});
}

TEST_CASE("safetensors: metadata that is not an object is a format_error", "[safetensors]") {
    check_mentions(open_format_error(R"({"__metadata__":["pt"]})", {}),
                   {"__metadata__", "object of strings"});
}

TEST_CASE("safetensors: a key twice in the header is a format_error", "[safetensors]") {
    const std::string header = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                               R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
    check_mentions(open_format_error(header, bytes(8)), {"unique keys", "\"w\" twice"});
}

TEST_CASE("safetensors: an absent key is a key_error", "[safetensors]") {
    const float value = 1.0f;
    temp_dir dir;
    const std::string path = dir.file("keys.safetensors");
    lusnet::save_safetensors(path, {{"present", {1}, &value}});
    const auto file = lusnet::safetensors_file::open(path);

    const std::string message = message_of<lusnet::key_error>([&] { file.info("fc.weight"); });
    check_mentions(message, {path, "'fc.weight'", "no such key"});
    CHECK_THROWS_AS(file.read_f32("fc.weight"), lusnet::key_error);
    CHECK_THROWS_AS(file.raw("fc.weight"), std::out_of_range);
}

TEST_CASE("safetensors: reading an I64 tensor as float is a format_error", "[safetensors]") {
    const std::string header = R"({"steps":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})";
    temp_dir dir;
    const std::string path = dir.write("ints.safetensors", make_file(header, bytes(8)));
    const auto file = lusnet::safetensors_file::open(path);

    const std::string message = message_of<lusnet::format_error>([&] { file.read_f32("steps"); });
    check_mentions(message, {path, "tensor 'steps'", "got I64"});
}

TEST_CASE("safetensors: read_f32 with a wrong count is a shape_error", "[safetensors]") {
    const std::vector<float> values = {1, 2, 3, 4};
    temp_dir dir;
    const std::string path = dir.file("count.safetensors");
    lusnet::save_safetensors(path, {{"w", {2, 2}, values.data()}});
    const auto file = lusnet::safetensors_file::open(path);
    float destination[5] = {};

    const std::string message =
        message_of<lusnet::shape_error>([&] { file.read_f32("w", destination, 5); });

    check_mentions(message, {path, "tensor 'w'", "room for 4 values", "got 5"});
    CHECK(destination[0] == 0.0f);
}

TEST_CASE("safetensors: truncated or corrupted bytes parse or throw format_error, nothing else",
          "[safetensors]") {
    const std::vector<float> values = {1, 2, 3, 4, 5, 6};
    const bytes good = lusnet::serialize_safetensors(
        {{"a", {2, 2}, values.data()}, {"b", {2}, values.data() + 4}}, {{"k", "v"}});

    for (std::size_t length = 0; length < good.size(); ++length) {
        CAPTURE(length);
        CHECK_THROWS_AS(
            lusnet::safetensors_file::from_bytes(bytes(good.begin(), good.begin() + length)),
            lusnet::format_error);
    }
    for (std::size_t position = 0; position < good.size(); ++position) {
        for (const int flip : {0x01, 0x10, 0x80, 0xFF}) {
            bytes damaged = good;
            damaged[position] = static_cast<std::uint8_t>(damaged[position] ^ flip);
            CAPTURE(position, flip);
            try {
                const auto file = lusnet::safetensors_file::from_bytes(damaged);
                for (const lusnet::tensor_info& info : file.tensors()) {
                    if (info.type == lusnet::dtype::f32 || info.type == lusnet::dtype::f16 ||
                        info.type == lusnet::dtype::bf16 || info.type == lusnet::dtype::f64) {
                        CHECK(file.read_f32(info.name).size() == info.numel());
                    }
                }
            } catch (const lusnet::format_error&) {
                // refusing the damaged file is right
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writer errors

TEST_CASE("safetensors: duplicate names are an invalid_argument that leaves the file alone",
          "[safetensors]") {
    const float value = 2.0f;
    temp_dir dir;
    const std::string path = dir.write("keep.safetensors", {'o', 'l', 'd'});

    const std::string message = message_of<lusnet::invalid_argument>([&] {
        lusnet::save_safetensors(path, {{"w", {1}, &value}, {"w", {1}, &value}});
    });

    check_mentions(message, {"tensor 'w'", "duplicate"});
    CHECK(read_whole(path) == bytes{'o', 'l', 'd'});
}

TEST_CASE("safetensors: a bad tensor to write is an invalid_argument", "[safetensors]") {
    const float value = 2.0f;
    SECTION("the reserved metadata key as a name") {
        check_mentions(message_of<lusnet::invalid_argument>([&] {
                           lusnet::serialize_safetensors({{"__metadata__", {1}, &value}});
                       }),
                       {"reserved"});
    }
    SECTION("no data for a non-empty shape") {
        check_mentions(message_of<lusnet::invalid_argument>([&] {
                           lusnet::serialize_safetensors({{"w", {3}, nullptr}});
                       }),
                       {"tensor 'w'", "null pointer"});
    }
    SECTION("a name that is not UTF-8") {
        check_mentions(message_of<lusnet::invalid_argument>([&] {
                           lusnet::serialize_safetensors({{"w\xff", {1}, &value}});
                       }),
                       {"UTF-8"});
    }
}

TEST_CASE("safetensors: saving into a missing directory is an io_error", "[safetensors]") {
    const float value = 2.0f;
    temp_dir dir;
    const std::string path = dir.file("no/such/dir/w.safetensors");

    const std::string message = message_of<lusnet::io_error>([&] {
        lusnet::save_safetensors(path, {{"w", {1}, &value}});
    });

    check_mentions(message, {path, "No such file"});
}
