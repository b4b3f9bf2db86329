#include "catch.hpp"

#include "lusnet/tensor.hpp"

#include <cstdint>

using namespace lusnet;

TEST_CASE("tensor: storage is 64-byte aligned and zero-filled", "[tensor]") {
    for (std::size_t w : {1, 3, 17, 64}) {
        tensor t({2, 3, 5, w});
        CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % tensor_alignment == 0);
        CHECK(t.size() == 2 * 3 * 5 * w);
        for (std::size_t i = 0; i < t.size(); ++i) {
            REQUIRE(t.data()[i] == 0.0f);
        }
    }
}

TEST_CASE("tensor: views share memory, clone copies it", "[tensor]") {
    tensor t({2, 1, 2, 2}, 1.0f);
    tensor_view v = t.view();
    v.data()[3] = 5.0f;
    CHECK(t.at(0, 0, 1, 1) == 5.0f);

    tensor c = t.clone();
    c.at(0, 0, 1, 1) = 7.0f;
    CHECK(t.at(0, 0, 1, 1) == 5.0f);
    CHECK(c.data() != t.data());
}

TEST_CASE("tensor: batch views select samples and check the range", "[tensor]") {
    tensor t({3, 2, 1, 1});
    for (std::size_t i = 0; i < t.size(); ++i) {
        t.data()[i] = static_cast<float>(i);
    }
    const const_tensor_view second = t.view().batch(1, 2);
    CHECK(second.shape() == shape4{2, 2, 1, 1});
    CHECK(second.data() == t.data() + 2);
    CHECK(second.at(1, 1, 0, 0) == 5.0f);
    CHECK_THROWS_AS(t.view().batch(2, 2), shape_error);
    CHECK_THROWS_AS(t.view().batch(4, 0), shape_error);
}

TEST_CASE("tensor: reshape keeps the memory and refuses a different size", "[tensor]") {
    tensor t({1, 2, 3, 4});
    const auto r = t.view().reshape({1, 24, 1, 1});
    CHECK(r.data() == t.data());
    CHECK_THROWS_AS(t.view().reshape({1, 25, 1, 1}), shape_error);
    CHECK_THROWS_AS(t.view().reshape({1, 25, 1, 1}), lusnet::error);
}

TEST_CASE("tensor: at checks bounds and names the shape", "[tensor]") {
    tensor t({1, 2, 3, 4});
    CHECK_THROWS_AS(t.at(0, 2, 0, 0), shape_error);
    try {
        t.at(1, 0, 0, 0);
        FAIL("expected shape_error");
    } catch (const shape_error& e) {
        CHECK(std::string(e.what()).find("[1, 2, 3, 4]") != std::string::npos);
    }
}

TEST_CASE("tensor: the xtensor view reads the same values without a copy", "[tensor]") {
    tensor t({1, 1, 2, 3});
    t.at(0, 0, 1, 2) = 4.0f;
    const const_tensor_view v = t.view();
    auto x = v.xt();
    CHECK(x(0, 0, 1, 2) == 4.0f);
    CHECK(&x(0, 0, 0, 0) == t.data());
    CHECK(t.values()(0, 0, 1, 2) == 4.0f);
}

TEST_CASE("error: every kind is a lusnet::error and its standard base", "[error]") {
    CHECK_THROWS_AS(throw format_error("op", "file", "bad"), std::invalid_argument);
    CHECK_THROWS_AS(throw key_error("op", "file", "bad"), std::out_of_range);
    CHECK_THROWS_AS(throw io_error("op", "file", "bad"), std::runtime_error);
    try {
        throw shape_error("forward", "Conv2d 'x'", "expected 3 channels, got 1");
    } catch (const lusnet::error& e) {
        CHECK(std::string(e.category()) == "shape");
        CHECK(std::string(e.what()) ==
              "lusnet.shape: forward: Conv2d 'x': expected 3 channels, got 1");
    }
}
