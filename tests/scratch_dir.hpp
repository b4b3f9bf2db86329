#pragma once
// A temporary directory for tests that write files, removed with its content at scope exit.

#include "catch.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

/// A fresh directory under the system temp directory; the name mixes a prefix, the process id,
/// a counter and a random number so that parallel test runs never share one.
class scratch_dir {
public:
    explicit scratch_dir(const std::string& prefix = "lusnet-test") {
        static unsigned counter = 0;
        std::random_device entropy;
        do {
            m_path = std::filesystem::temp_directory_path() /
                     (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
                      "-" + std::to_string(entropy()));
        } while (!std::filesystem::create_directory(m_path));
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    ~scratch_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(m_path, ignored);
    }

    /// The path of `name` inside the directory.
    std::string file(const std::string& name) const { return (m_path / name).string(); }
    const std::filesystem::path& path() const { return m_path; }

    /// Writes `content` to `name` (creating parent folders) and returns its path.
    std::string write(const std::string& name, const std::string& content) const {
        const std::filesystem::path target = m_path / name;
        std::filesystem::create_directories(target.parent_path());
        std::ofstream out(target, std::ios::binary);
        out << content;
        REQUIRE(out.good());
        return target.string();
    }

private:
    std::filesystem::path m_path;
};
