#pragma once

/// @file manifest.hpp
/// The CSV manifest that lists a data set: one row per frame with its image path, its label and
/// its group (the clip or patient it comes from, the unit every split keeps whole).
///
/// The CSV follows RFC 4180: a header row names the columns, fields are separated by commas,
/// a field in double quotes may hold commas, line breaks and doubled quotes (""), and records
/// end in CRLF or LF. A UTF-8 byte order mark and blank lines are ignored. Every error names
/// the file and the line (the first line of a record), the column, what was expected and what
/// came.

#include "lusnet/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace lusnet {

/// A parsed CSV file: its header and records, each with the line it starts on.
struct csv_table {
    std::string path;                              ///< the file, for messages
    std::vector<std::string> header;               ///< column names, in order
    std::vector<std::vector<std::string>> records; ///< fields per record, header.size() each
    std::vector<std::size_t> lines;                ///< 1-based line each record starts on

    /// The index of column `name`; format_error naming the columns there are when absent.
    std::size_t column(const std::string& name) const;
};

/// Reads the RFC 4180 CSV file at `path`: io_error when it cannot be read, format_error for an
/// unterminated quote, text after a closing quote, a record with another field count than the
/// header, or a file without a header.
csv_table read_csv(const std::string& path);
/// Parses CSV `text`; `name` stands for the file in messages.
csv_table parse_csv(const std::string& text, const std::string& name = "<memory>");

/// How to read a manifest.
struct manifest_options {
    std::string path_column = "path";   ///< column of the image paths
    std::string label_column = "label"; ///< column of the labels
    std::string group_column = "group"; ///< column of the groups (clip or patient)
    /// Label values in class-index order; empty = the sorted unique values of the label
    /// column (numerically when every value is an integer, as text otherwise).
    std::vector<std::string> classes;
    /// Directory the image paths are relative to; empty = the manifest's directory. Absolute
    /// paths in the manifest are kept as they are.
    std::string data_root;
    /// Check that every image file exists while reading, listing all missing ones at once.
    bool check_files = true;
};

/// One frame of a data set.
struct manifest_entry {
    std::string path;      ///< the image file, data root applied
    std::size_t label = 0; ///< class index into `manifest::classes`
    std::string group;     ///< the clip or patient
    std::size_t line = 0;  ///< where the row starts in the manifest, for messages
};

/// A data set as listed by a manifest.
struct manifest {
    std::string source;                  ///< the CSV file
    std::vector<std::string> classes;    ///< label value of each class index
    std::vector<manifest_entry> entries; ///< in file order
};

/// Reads the manifest at `csv_path`. Errors (format_error unless noted): a chosen column
/// missing from the header, an empty path, label or group field, a label outside
/// `options.classes`, a manifest without rows, and (io_error) image files that do not exist,
/// all listed together with their lines.
manifest read_manifest(const std::string& csv_path, const manifest_options& options = {});

// ---------------------------------------------------------------------------------------------
// Definitions

namespace detail {

/// "<file>:<line>" for messages.
inline std::string file_line(const std::string& path, std::size_t line) {
    return path + ":" + std::to_string(line);
}

/// Splits CSV text into records of fields, tracking where each record starts.
class csv_parser {
public:
    csv_parser(const std::string& text, const std::string& name) : m_text(text), m_name(name) {}

    /// Parses the whole text into `table`'s header and records.
    void run(csv_table& table);

private:
    /// Reads one record starting at m_pos; false at the end of the text.
    bool next_record(std::vector<std::string>& fields, std::size_t& first_line);
    /// Reads a quoted field whose opening quote is at m_pos.
    std::string quoted_field(std::size_t record_line);
    bool at_line_end() const { return m_text[m_pos] == '\n' || m_text[m_pos] == '\r'; }
    /// Consumes one LF, CR or CRLF at m_pos.
    void skip_line_end();

    const std::string& m_text;
    const std::string& m_name;
    std::size_t m_pos = 0;
    std::size_t m_line = 1;
};

inline void csv_parser::skip_line_end() {
    if (m_text[m_pos] == '\r' && m_pos + 1 < m_text.size() && m_text[m_pos + 1] == '\n') {
        ++m_pos;
    }
    ++m_pos;
    ++m_line;
}

inline std::string csv_parser::quoted_field(std::size_t record_line) {
    const std::size_t opened = m_line;
    std::string field;
    ++m_pos; // the opening quote
    while (true) {
        if (m_pos >= m_text.size()) {
            throw format_error("read csv", file_line(m_name, record_line),
                               "expected a closing quote for the field opened on line " +
                                   std::to_string(opened) + ", got the end of the file");
        }
        const char c = m_text[m_pos];
        if (c == '"' && m_pos + 1 < m_text.size() && m_text[m_pos + 1] == '"') {
            field += '"';
            m_pos += 2;
        } else if (c == '"') {
            ++m_pos;
            return field;
        } else {
            if (c == '\n') {
                ++m_line;
            }
            field += c;
            ++m_pos;
        }
    }
}

inline bool csv_parser::next_record(std::vector<std::string>& fields, std::size_t& first_line) {
    // Blank lines separate nothing in a manifest; skip them.
    while (m_pos < m_text.size() && at_line_end()) {
        skip_line_end();
    }
    if (m_pos >= m_text.size()) {
        return false;
    }

    first_line = m_line;
    fields.assign(1, std::string());
    while (m_pos < m_text.size() && !at_line_end()) {
        const char c = m_text[m_pos];
        if (c == ',') {
            fields.emplace_back();
            ++m_pos;
        } else if (c == '"' && fields.back().empty()) {
            fields.back() = quoted_field(first_line);
            if (m_pos < m_text.size() && m_text[m_pos] != ',' && !at_line_end()) {
                throw format_error("read csv", file_line(m_name, m_line),
                                   "expected a comma or the end of the line after a closing "
                                   "quote, got '" +
                                       std::string(1, m_text[m_pos]) + "'");
            }
        } else {
            fields.back() += c;
            ++m_pos;
        }
    }
    if (m_pos < m_text.size()) {
        skip_line_end();
    }
    return true;
}

inline void csv_parser::run(csv_table& table) {
    // A UTF-8 byte order mark, as spreadsheet programs write it.
    if (m_text.compare(0, 3, "\xEF\xBB\xBF") == 0) {
        m_pos = 3;
    }
    std::size_t line = 0;
    if (!next_record(table.header, line)) {
        throw format_error("read csv", m_name, "expected a header row, got an empty file");
    }

    std::vector<std::string> fields;
    while (next_record(fields, line)) {
        if (fields.size() != table.header.size()) {
            throw format_error("read csv", file_line(m_name, line),
                               "expected " + std::to_string(table.header.size()) +
                                   " fields as in the header, got " +
                                   std::to_string(fields.size()));
        }
        table.records.push_back(fields);
        table.lines.push_back(line);
    }
}

/// Orders label values numerically when all are integers, as text otherwise.
inline std::vector<std::string> sorted_labels(const std::set<std::string>& values) {
    std::vector<std::string> labels(values.begin(), values.end());
    const bool numeric = std::all_of(labels.begin(), labels.end(), [](const std::string& v) {
        const std::size_t start = !v.empty() && v[0] == '-' ? 1 : 0;
        return v.size() > start && v.size() < 19 &&
               v.find_first_not_of("0123456789", start) == std::string::npos;
    });
    if (numeric) {
        std::sort(labels.begin(), labels.end(), [](const std::string& a, const std::string& b) {
            return std::stoll(a) < std::stoll(b);
        });
    }
    return labels;
}

/// `a, b, c` for messages.
inline std::string comma_list(const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& item : items) {
        text += (text.empty() ? "" : ", ") + item;
    }
    return text;
}

/// The manifest's classes: the given list (checked for duplicates) or the sorted labels.
inline std::vector<std::string> manifest_classes(const csv_table& table, std::size_t column,
                                                 const manifest_options& options) {
    if (options.classes.empty()) {
        std::set<std::string> seen;
        for (const auto& record : table.records) {
            seen.insert(record[column]);
        }
        return sorted_labels(seen);
    }
    std::set<std::string> unique(options.classes.begin(), options.classes.end());
    if (unique.size() != options.classes.size()) {
        throw invalid_argument("read manifest", table.path,
                               "expected distinct class names, got " + comma_list(options.classes));
    }
    return options.classes;
}

/// Lists every entry whose image is not a regular file; io_error naming all of them.
inline void check_manifest_files(const manifest& m) {
    std::string missing;
    std::size_t count = 0;
    for (const manifest_entry& e : m.entries) {
        std::error_code ignored;
        if (!std::filesystem::is_regular_file(e.path, ignored)) {
            missing += (missing.empty() ? "" : "; ") + std::string("line ") +
                       std::to_string(e.line) + ": " + e.path;
            ++count;
        }
    }
    if (count != 0) {
        throw io_error("read manifest", m.source,
                       "expected every listed image file to exist, got " + std::to_string(count) +
                           " missing: " + missing,
                       ENOENT);
    }
}

} // namespace detail

inline std::size_t csv_table::column(const std::string& name) const {
    const auto found = std::find(header.begin(), header.end(), name);
    if (found == header.end()) {
        throw format_error("read csv", detail::file_line(path, 1),
                           "expected a column '" + name + "' in the header, got columns " +
                               detail::comma_list(header));
    }
    if (std::find(found + 1, header.end(), name) != header.end()) {
        throw format_error("read csv", detail::file_line(path, 1),
                           "expected one column '" + name + "' in the header, got several");
    }
    return static_cast<std::size_t>(found - header.begin());
}

inline csv_table parse_csv(const std::string& text, const std::string& name) {
    csv_table table;
    table.path = name;
    detail::csv_parser(text, name).run(table);
    return table;
}

inline csv_table read_csv(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int code = errno;
        throw io_error("read csv", path,
                       "expected a readable file, got " + std::string(std::strerror(code)), code);
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        throw io_error("read csv", path, "expected to read the whole file, got a read error");
    }
    return parse_csv(text, path);
}

inline manifest read_manifest(const std::string& csv_path, const manifest_options& options) {
    const csv_table table = read_csv(csv_path);
    const std::size_t path_column = table.column(options.path_column);
    const std::size_t label_column = table.column(options.label_column);
    const std::size_t group_column = table.column(options.group_column);
    if (table.records.empty()) {
        throw format_error("read manifest", csv_path,
                           "expected at least one row after the header, got none");
    }

    manifest m;
    m.source = csv_path;
    m.classes = detail::manifest_classes(table, label_column, options);
    const std::filesystem::path root = options.data_root.empty()
                                           ? std::filesystem::path(csv_path).parent_path()
                                           : std::filesystem::path(options.data_root);
    const std::vector<std::pair<std::size_t, std::string>> required{
        {path_column, options.path_column},
        {label_column, options.label_column},
        {group_column, options.group_column}};

    for (std::size_t r = 0; r < table.records.size(); ++r) {
        const std::vector<std::string>& record = table.records[r];
        const std::string where = detail::file_line(csv_path, table.lines[r]);
        for (const auto& [column, name] : required) {
            if (record[column].empty()) {
                throw format_error("read manifest", where,
                                   "column '" + name + "': expected a value, got an empty field");
            }
        }
        const std::string& label = record[label_column];
        const auto found = std::find(m.classes.begin(), m.classes.end(), label);
        if (found == m.classes.end()) {
            throw format_error("read manifest", where,
                               "column '" + options.label_column + "': expected one of " +
                                   detail::comma_list(m.classes) + ", got '" + label + "'");
        }
        manifest_entry e;
        e.path = (root / record[path_column]).string();
        e.label = static_cast<std::size_t>(found - m.classes.begin());
        e.group = record[group_column];
        e.line = table.lines[r];
        m.entries.push_back(std::move(e));
    }

    if (options.check_files) {
        detail::check_manifest_files(m);
    }
    return m;
}

} // namespace lusnet
