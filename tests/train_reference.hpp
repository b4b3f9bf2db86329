#pragma once
// Reading the training reference that tests/reference/make_train_reference.py writes (ctest
// runs it through make_reference.py as the `make_reference` fixture).

#include "catch.hpp"

#include "lusnet/io/safetensors.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace train_reference {

/// Opens OUT/train/<name>, failing (never skipping) when the script has not run.
inline lusnet::safetensors_file open(const std::string& name) {
    const std::string path = std::string(LUSNET_REFERENCE_DIR) + "/train/" + name;
    if (!std::filesystem::exists(path)) {
        FAIL("missing " << path << ": run tests/reference/make_reference.py --data "
                        << LUSNET_TEST_DATA_DIR << " --out " << LUSNET_REFERENCE_DIR
                        << " (ctest does so as make_reference)");
    }
    return lusnet::safetensors_file::open(path);
}

/// The comma-separated metadata entry `key` as a list.
inline std::vector<std::string> list(const lusnet::safetensors_file& file, const std::string& key) {
    std::vector<std::string> items;
    std::stringstream stream(file.metadata().at(key));
    for (std::string item; std::getline(stream, item, ',');) {
        items.push_back(item);
    }
    REQUIRE(!items.empty());
    return items;
}

/// The metadata entry `key` parsed as JSON (each case's settings).
inline nlohmann::json spec(const lusnet::safetensors_file& file, const std::string& key) {
    return nlohmann::json::parse(file.metadata().at(key));
}

/// The F64 tensor `name` as doubles, without the reader's rounding to float.
inline std::vector<double> read_f64(const lusnet::safetensors_file& file, const std::string& name) {
    const lusnet::tensor_info& info = file.info(name);
    REQUIRE(info.type == lusnet::dtype::f64);
    std::vector<double> values(info.numel());
    std::memcpy(values.data(), file.raw(name), values.size() * sizeof(double));
    return values;
}

/// max |a - b| / max |b|: the difference relative to the largest reference value, the measure
/// the model parity tests use too. 0 when both are all zero.
template <class A, class B>
double relative_difference(const A* a, const B* b, std::size_t count) {
    double diff = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < count; ++i) {
        diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
        scale = std::max(scale, std::abs(double(b[i])));
    }
    return scale == 0.0 ? diff : diff / scale;
}

} // namespace train_reference
