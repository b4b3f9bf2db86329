// Tests of include/lusnet/train/manifest.hpp: RFC 4180 parsing, the real POCUS manifest, and
// each kind of bad manifest, whose message must name the file, the line and the column.
#include "catch.hpp"
#include "scratch_dir.hpp"

#include "lusnet/train/manifest.hpp"

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace lusnet;

namespace {

const std::string pocus_dir = LUSNET_POCUS_DIR;

/// The message of the `Error` that `action` throws; fails the test when it throws nothing.
template <class Error, class Action>
std::string message_of(const Action& action) {
    try {
        action();
    } catch (const Error& caught) {
        return caught.what();
    }
    FAIL("expected an exception, got none");
    return {};
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// A manifest with columns path,label,group over `rows`, and empty images for every path that
/// `existing` lists, in a scratch directory.
std::string write_manifest(const scratch_dir& dir, const std::string& rows,
                           const std::vector<std::string>& existing) {
    for (const std::string& image : existing) {
        dir.write(image, "");
    }
    return dir.write("manifest.csv", "path,label,group\n" + rows);
}

manifest_options pocus_options(const std::string& label_column) {
    manifest_options options;
    options.path_column = "file";
    options.label_column = label_column;
    options.group_column = "clip";
    return options;
}

} // namespace

TEST_CASE("manifest: the POCUS manifest reads by clip with abnormal or label as the class",
          "[train]") {
    const std::string csv = pocus_dir + "/manifest.csv";
    if (!std::filesystem::exists(csv)) {
        FAIL("missing " << csv << ": the POCUS frames are expected in ../shared/data/pocus next "
                        << "to the repository (LUSNET_POCUS_DIR)");
    }

    const manifest binary = read_manifest(csv, pocus_options("abnormal"));
    CHECK(binary.classes == std::vector<std::string>{"0", "1"});
    REQUIRE(binary.entries.size() == 615);
    std::map<std::string, std::set<std::size_t>> labels_per_clip;
    for (const manifest_entry& e : binary.entries) {
        labels_per_clip[e.group].insert(e.label);
    }
    CHECK(labels_per_clip.size() == 123);
    for (const auto& [clip, labels] : labels_per_clip) {
        INFO(clip);
        CHECK(labels.size() == 1);
    }
    CHECK(binary.entries.front().line == 2);
    CHECK(std::filesystem::exists(binary.entries.front().path));

    const manifest four = read_manifest(csv, pocus_options("label"));
    CHECK(four.classes == std::vector<std::string>{"covid", "pneumonia", "regular", "viral"});
    std::vector<std::size_t> counts(4, 0);
    for (const manifest_entry& e : four.entries) {
        ++counts[e.label];
    }
    CHECK(counts == std::vector<std::size_t>{110, 185, 295, 25});
}

TEST_CASE("csv: quoted fields keep commas, quotes and line breaks", "[train]") {
    const std::string text = "\xEF\xBB\xBFname,note\r\n"
                             "\"a,b\",\"say \"\"hi\"\"\"\r\n"
                             "\n"
                             "plain,\"two\nlines\"\n"
                             "last,\n";
    const csv_table table = parse_csv(text, "notes.csv");
    CHECK(table.header == std::vector<std::string>{"name", "note"});
    REQUIRE(table.records.size() == 3);
    CHECK(table.records[0] == std::vector<std::string>{"a,b", "say \"hi\""});
    CHECK(table.records[1] == std::vector<std::string>{"plain", "two\nlines"});
    CHECK(table.records[2] == std::vector<std::string>{"last", ""});
    CHECK(table.lines == std::vector<std::size_t>{2, 4, 6});
    CHECK(table.column("note") == 1);
}

TEST_CASE("csv: an open quote or a ragged row names its line", "[train]") {
    const std::string open =
        message_of<format_error>([] { parse_csv("a,b\n1,2\n3,\"4\n5,6\n", "open.csv"); });
    CHECK(contains(open, "open.csv:3"));
    CHECK(contains(open, "closing quote"));

    const std::string ragged =
        message_of<format_error>([] { parse_csv("a,b\n1,2\n3,4,5\n", "ragged.csv"); });
    CHECK(contains(ragged, "ragged.csv:3"));
    CHECK(contains(ragged, "expected 2 fields"));
    CHECK(contains(ragged, "got 3"));

    CHECK_THROWS_AS(parse_csv("", "empty.csv"), format_error);
    CHECK_THROWS_AS(parse_csv("a,b\n\"1\"x,2\n", "junk.csv"), format_error);
}

TEST_CASE("manifest: a missing column names the columns there are", "[train]") {
    scratch_dir dir;
    const std::string csv = dir.write("manifest.csv", "file,label,clip\nimg.png,a,c1\n");
    const std::string text = message_of<format_error>([&] { read_manifest(csv); });
    CHECK(contains(text, csv + ":1"));
    CHECK(contains(text, "column 'path'"));
    CHECK(contains(text, "file, label, clip"));
}

TEST_CASE("manifest: missing image files are listed together with their lines", "[train]") {
    scratch_dir dir;
    const std::string csv = write_manifest(
        dir, "a.png,x,g1\nlost1.png,x,g1\nb.png,y,g2\nsub/lost2.png,y,g3\n", {"a.png", "b.png"});
    const std::string text = message_of<io_error>([&] { read_manifest(csv); });
    CHECK(contains(text, csv));
    CHECK(contains(text, "2 missing"));
    CHECK(contains(text, "line 3: " + dir.file("lost1.png")));
    CHECK(contains(text, "line 5: " + dir.file("sub/lost2.png")));

    manifest_options unchecked;
    unchecked.check_files = false;
    CHECK(read_manifest(csv, unchecked).entries.size() == 4);
}

TEST_CASE("manifest: an unknown label names the line, the column and the classes", "[train]") {
    scratch_dir dir;
    const std::string csv = write_manifest(dir, "a.png,normal,g1\nb.png,ild,g2\nc.png,edema,g3\n",
                                           {"a.png", "b.png", "c.png"});
    manifest_options options;
    options.classes = {"normal", "ild"};
    const std::string text = message_of<format_error>([&] { read_manifest(csv, options); });
    CHECK(contains(text, csv + ":4"));
    CHECK(contains(text, "column 'label'"));
    CHECK(contains(text, "normal, ild"));
    CHECK(contains(text, "'edema'"));

    options.classes = {"ild", "normal", "edema"};
    const manifest m = read_manifest(csv, options);
    CHECK(m.entries[0].label == 1);
    CHECK(m.entries[2].label == 2);
}

TEST_CASE("manifest: a manifest without rows or with an empty field is refused", "[train]") {
    scratch_dir dir;
    const std::string empty = dir.write("empty.csv", "path,label,group\n");
    CHECK(contains(message_of<format_error>([&] { read_manifest(empty); }), "at least one row"));

    const std::string blank = write_manifest(dir, "a.png,x,\n", {"a.png"});
    const std::string text = message_of<format_error>([&] { read_manifest(blank); });
    CHECK(contains(text, ":2"));
    CHECK(contains(text, "column 'group'"));
    CHECK_THROWS_AS(read_manifest(dir.file("absent.csv")), io_error);
}

TEST_CASE("manifest: integer labels sort numerically and paths follow the data root", "[train]") {
    scratch_dir dir;
    const std::string csv =
        dir.write("lists/manifest.csv", "path,label,group\nf/a.png,10,g1\nf/b.png,2,g2\n"
                                        "f/c.png,-1,g3\n");
    manifest_options options;
    options.data_root = dir.file("images");
    options.check_files = false;
    const manifest m = read_manifest(csv, options);
    CHECK(m.classes == std::vector<std::string>{"-1", "2", "10"});
    CHECK(m.entries[0].label == 2);
    CHECK(m.entries[0].path == dir.file("images/f/a.png"));

    options.data_root.clear();
    CHECK(read_manifest(csv, options).entries[1].path == dir.file("lists/f/b.png"));
}
