// common/: shape checks, seeded random numbers, printing and heatmaps.
#include "common/chapter_program.hpp"
#include "common/errors.hpp"
#include "common/heatmap.hpp"
#include "common/plot.hpp"
#include "common/print.hpp"
#include "common/quote.hpp"
#include "common/random.hpp"
#include "common/shape.hpp"
#include "diagnosis.hpp"
#include "matchers.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

using attn::Matrix;
using attn::Vector;
using Catch::Matchers::Contains;

TEST_CASE("check_shape names function, argument, expected and actual shape") {
    const Matrix keys = Matrix::from_shape({8, 5});
    CHECK_THROWS_WITH(
        attn::check_shape("attn::attend", "keys", keys, {attn::any("T"), attn::exactly("d_k", 4)}),
        "attn::attend: argument 'keys' must have shape [T, d_k] = [T, 4], but has shape [8, 5]");
    CHECK_THROWS_WITH(
        attn::check_shape("f", "x", Vector::from_shape({0}), {attn::any("T")}),
        "f: argument 'x' must have shape [T], but has shape [0] (T must be at least 1)");
    CHECK_NOTHROW(attn::check_shape("f", "keys", keys, {attn::any("T"), attn::exactly("d_k", 5)}));
    const std::size_t rank3[] = {2, 3, 4};
    CHECK_THROWS_WITH(attn::check_shape("f", "x", std::span<const std::size_t>(rank3),
                                        {attn::any("T"), attn::any("d")}),
                      "f: argument 'x' must have shape [T, d], but has shape [2, 3, 4]");
}

TEST_CASE("not_implemented is a logic_error but not an invalid_argument") {
    try {
        throw attn::not_implemented("1.2");
    } catch (const std::invalid_argument&) {
        FAIL("not_implemented must not be mistaken for a shape error");
    } catch (const std::logic_error& e) {
        CHECK_THAT(e.what(), Contains("exercise 1.2 is not implemented yet"));
    }
}

TEST_CASE("Rng gives the same numbers for the same seed, standard normal on average") {
    attn::Rng a(42), b(42), c(43);
    const Matrix x = attn::random_normal(100, 100, a);
    CHECK_THAT(attn::random_normal(100, 100, b), attn::test::IsClose(x, 0.0f));
    CHECK(attn::random_normal(1, 1, c)(0, 0) != x(0, 0));
    const float mean = xt::mean(x)();
    const float var = xt::mean((x - mean) * (x - mean))();
    CHECK(std::fabs(mean) < 0.03f);  // 10^4 samples: standard error 0.01
    CHECK(std::fabs(var - 1.0f) < 0.05f);
    for (int i = 0; i < 1000; ++i) {
        const float u = a.uniform();
        REQUIRE((u >= 0.0f && u < 1.0f));
    }
}

TEST_CASE("print_matrix labels rows and columns") {
    std::ostringstream out;
    attn::print_matrix(out, Matrix{{0.5f, 0.25f}}, {"dog"}, {"the", "cat"}, 2);
    CHECK(out.str() == "        the   cat\n  dog  0.50  0.25\n");
    CHECK(attn::format_vector(Vector{1, 2.5f}, 1) == "[1.0, 2.5]");
}

TEST_CASE("heatmaps: plain text shows numbers and shades, SVG has labels and a cell per weight") {
    const Matrix w{{1.0f, 0.0f}, {0.25f, 0.75f}};
    std::ostringstream plain;
    attn::print_heatmap(plain, w, {"was", "dog"}, {"the", "dog"}, false);
    CHECK_THAT(plain.str(), Contains("1.00\u2588") && Contains("0.75\u2593") && Contains("was"));
    CHECK(plain.str().find('\x1b') == std::string::npos);
    std::ostringstream color;
    attn::print_heatmap(color, w, {"was", "dog"}, {"the", "dog"}, true);
    CHECK_THAT(color.str(), Contains("\x1b[48;2;"));

    const auto path = std::filesystem::temp_directory_path() / "attn_test_heatmap" / "h.svg";
    attn::write_svg_heatmap(path, w, {"was", "dog"}, {"the", "<dog>"}, "title & more");
    std::ifstream in(path);
    const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_THAT(svg, Contains("<svg") && Contains("&lt;dog&gt;") && Contains("title &amp; more") &&
                        Contains(">0.75</text>"));
    std::filesystem::remove_all(path.parent_path());
}

TEST_CASE("write_svg_heatmaps draws one titled panel per matrix, side by side") {
    const auto path = std::filesystem::temp_directory_path() / "attn_test_heatmaps" / "g.svg";
    attn::write_svg_heatmaps(path,
                             {Matrix{{1, 0}, {0.25f, 0.75f}}, Matrix{{0.5f, 0.5f}, {0, 1}},
                              Matrix{{0.125f, 0.875f}, {1, 0}}},
                             {"was", "dog"}, {"the", "dog"},
                             {"head 0: subject", "head 1", "head 2"}, "three heads", 2);
    std::ifstream in(path);
    const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_THAT(svg, Contains("three heads") && Contains("head 0: subject") && Contains("head 2") &&
                        Contains(">0.75</text>") && Contains(">0.88</text>"));
    std::filesystem::remove_all(path.parent_path());
    const Matrix m{{1}};
    CHECK_THROWS_MATCHES(attn::write_svg_heatmaps("/tmp/x.svg", {}, {"a"}, {"b"}, {}, "t", 2),
                         std::invalid_argument,
                         attn::test::NamesShapeError("attn::write_svg_heatmaps", "panels"));
    CHECK_THROWS_MATCHES(
        attn::write_svg_heatmaps("/tmp/x.svg", {m, m}, {"a"}, {"b"}, {"x"}, "t", 2),
        std::invalid_argument,
        attn::test::NamesShapeError("attn::write_svg_heatmaps", "but has 1"));
    CHECK_THROWS_MATCHES(attn::write_svg_heatmaps("/tmp/x.svg", {m, Matrix{{1, 0}}}, {"a"}, {"b"},
                                                  {"x", "y"}, "t", 2),
                         std::invalid_argument,
                         attn::test::NamesShapeError("attn::write_svg_heatmaps", "[1, 2]"));
    CHECK_THROWS_MATCHES(attn::write_svg_heatmaps("/tmp/x.svg", {m}, {"a"}, {"b"}, {"x"}, "t", 0),
                         std::invalid_argument,
                         attn::test::NamesShapeError("attn::write_svg_heatmaps", "columns"));
}

TEST_CASE("write_svg_line_plot draws every series with its name, and rejects what it cannot draw") {
    const auto path = std::filesystem::temp_directory_path() / "attn_test_plot" / "p.svg";
    attn::write_svg_line_plot(path, {1, 2, 3},
                              {{"pre-LN", {1, 2, 4}}, {"post-LN & more", {3, 3, 3}}},
                              "residual stream", "block", "size", true);
    std::ifstream in(path);
    const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_THAT(svg, Contains("<polyline") && Contains("pre-LN") && Contains("post-LN &amp; more") &&
                        Contains("residual stream") && Contains(">block</text>"));
    std::filesystem::remove_all(path.parent_path());
    using attn::test::NamesShapeError;
    CHECK_THROWS_MATCHES(attn::write_svg_line_plot("/tmp/x.svg", {}, {{"a", {}}}, "t", "x", "y"),
                         std::invalid_argument,
                         NamesShapeError("attn::write_svg_line_plot", "'x'"));
    CHECK_THROWS_MATCHES(
        attn::write_svg_line_plot("/tmp/x.svg", {1, 2}, {{"a", {1}}}, "t", "x", "y"),
        std::invalid_argument, NamesShapeError("attn::write_svg_line_plot", "1 values"));
    CHECK_THROWS_MATCHES(
        attn::write_svg_line_plot("/tmp/x.svg", {1}, {{"a", {0}}}, "t", "x", "y", true),
        std::invalid_argument, NamesShapeError("attn::write_svg_line_plot", "log scale"));
    CHECK_THROWS_MATCHES(attn::write_svg_line_plot("/tmp/x.svg", {1}, {}, "t", "x", "y"),
                         std::invalid_argument,
                         NamesShapeError("attn::write_svg_line_plot", "series"));
}

TEST_CASE("write_svg_heatmap says which directory it cannot create") {
    CHECK_THROWS_WITH(
        attn::write_svg_heatmap("/proc/attn-book-test/h.svg", Matrix{{1}}, {"a"}, {"b"}, "t"),
        Contains("attn::write_svg_heatmap: cannot create the directory /proc/attn-book-test"));
}

TEST_CASE("heatmaps reject labels that do not match the matrix") {
    std::ostringstream out;
    CHECK_THROWS_AS(attn::print_heatmap(out, Matrix{{1, 0}}, {"a", "b"}, {"c", "d"}, false),
                    std::invalid_argument);
    CHECK_THROWS_AS(attn::write_svg_heatmap("/tmp/x.svg", Matrix{{1, 0}}, {"a"}, {"c"}, "t"),
                    std::invalid_argument);
    CHECK_THROWS_MATCHES(attn::print_heatmap(out, Matrix::from_shape({0, 0}), {}, {}, false),
                         std::invalid_argument,
                         attn::test::NamesShapeError("attn::print_heatmap", "[0, 0]"));
}

TEST_CASE("random_normal and the printers reject bad sizes and labels, naming the function") {
    using attn::test::NamesShapeError;
    attn::Rng rng(1);
    CHECK_THROWS_MATCHES(attn::random_normal(0, 3, rng), std::invalid_argument,
                         NamesShapeError("attn::random_normal", "[0, 3]"));
    CHECK_THROWS_MATCHES(attn::random_normal(0, rng), std::invalid_argument,
                         NamesShapeError("attn::random_normal", "[0]"));
    std::ostringstream out;
    CHECK_THROWS_MATCHES(attn::print_vector(out, Vector{1, 2}, {"a"}), std::invalid_argument,
                         NamesShapeError("attn::print_vector", "holds 1"));
    CHECK_THROWS_MATCHES(attn::print_matrix(out, Matrix{{1, 2}}, {"a"}, {"b"}),
                         std::invalid_argument,
                         NamesShapeError("attn::print_matrix", "col_labels"));
    CHECK_THROWS_MATCHES(attn::print_mask(out, attn::Mask{{true}}, {"a", "b"}, {}),
                         std::invalid_argument, NamesShapeError("attn::print_mask", "row_labels"));
    CHECK_NOTHROW(attn::print_matrix(out, Matrix{{1, 2}}));  // no labels: indices
}

TEST_CASE("run_chapter: --figures reaches the body, --help and bad options do not run it") {
    // Capture what run_chapter prints, to check it and keep the test output clean.
    std::ostringstream out, err;
    auto* const cout_buffer = std::cout.rdbuf(out.rdbuf());
    auto* const cerr_buffer = std::cerr.rdbuf(err.rdbuf());
    std::string seen;
    auto body = [&seen](const std::filesystem::path& figures) { seen = figures.string(); };
    std::string figs = (std::filesystem::temp_directory_path() / "attn_test_figures").string();
    std::filesystem::remove_all(figs);
    std::string joined = "--figures=" + figs;
    char program[] = "chNN", figures_flag[] = "--figures", help[] = "--help", bogus[] = "--bogus",
         missing_parent[] = "/no/such/dir/x";
    char* with_figures[] = {program, figures_flag, figs.data()};
    CHECK(attn::run_chapter(3, with_figures, "demo", body) == 0);
    CHECK(seen == figs);
    CHECK(std::filesystem::is_directory(figs));
    seen.clear();
    char* with_joined[] = {program, joined.data()};
    CHECK(attn::run_chapter(2, with_joined, "demo", body) == 0);
    CHECK(seen == figs);
    seen.clear();
    std::filesystem::remove_all(figs);
    char* with_missing_parent[] = {program, figures_flag, missing_parent};
    CHECK(attn::run_chapter(3, with_missing_parent, "demo", body) == 2);
    CHECK_FALSE(std::filesystem::exists("/no/such"));
    char* with_help[] = {program, help};
    CHECK(attn::run_chapter(2, with_help, "demo", body) == 0);
    char* with_bogus[] = {program, bogus};
    CHECK(attn::run_chapter(2, with_bogus, "demo", body) == 2);
    char* incomplete[] = {program, figures_flag};
    CHECK(attn::run_chapter(2, incomplete, "demo", body) == 2);
    CHECK(seen.empty());
    char* plain[] = {program};
    CHECK(attn::run_chapter(1, plain, "demo", [](const std::filesystem::path&) {
              throw std::invalid_argument("attn::f: bad");
          }) == 1);
    std::cout.rdbuf(cout_buffer);
    std::cerr.rdbuf(cerr_buffer);
    CHECK_THAT(out.str(), Contains("usage: chNN [--figures DIR]") && Contains("demo"));
    CHECK_THAT(err.str(), Contains("unknown or incomplete option '--bogus'") &&
                              Contains("chNN: attn::f: bad") &&
                              Contains("the parent directory /no/such/dir does not exist"));
}

TEST_CASE("run_chapter names the figures directory only when the program wrote into it") {
    std::ostringstream out, err;
    auto* const cout_buffer = std::cout.rdbuf(out.rdbuf());
    auto* const cerr_buffer = std::cerr.rdbuf(err.rdbuf());
    const auto dir = std::filesystem::temp_directory_path() / "attn_test_figures_written";
    std::filesystem::remove_all(dir);
    std::string figs = dir.string();
    char program[] = "chNN", figures_flag[] = "--figures";
    char* args[] = {program, figures_flag, figs.data()};
    CHECK(attn::run_chapter(3, args, "demo", [](const std::filesystem::path&) {}) == 0);
    const std::string nothing_written = err.str();
    CHECK(attn::run_chapter(3, args, "demo", [](const std::filesystem::path& figures) {
              std::ofstream(figures / "figure.svg") << "<svg/>";
          }) == 0);
    const std::string figure_written = err.str().substr(nothing_written.size());
    std::cout.rdbuf(cout_buffer);
    std::cerr.rdbuf(cerr_buffer);
    std::filesystem::remove_all(dir);
    CHECK_THAT(nothing_written, !Contains("(figures:"));
    CHECK_THAT(figure_written, Contains("(figures: " + figs + ")"));
}

TEST_CASE("wrap breaks a message at its spaces and indents the lines after the first") {
    CHECK(attn::wrap("one two three four", 9) == "one two\n  three\n  four");
    CHECK(attn::wrap("a word", 88) == "a word");
    CHECK(attn::wrap("") == "");
    // A word longer than a line gets a line of its own.
    CHECK(attn::wrap("a wordlongerthanaline b", 6) == "a\n  wordlongerthanaline\n  b");
}

TEST_CASE("quote returns its text and, for the book, appends name and text to ATTN_BOOK_VALUES") {
    const auto file = std::filesystem::temp_directory_path() / "attn_quote_test.values";
    std::filesystem::remove(file);
    ::setenv("ATTN_BOOK_VALUES", file.c_str(), 1);
    CHECK(attn::quote("b16_gain", 4.6789, 1) == "4.7");
    CHECK(attn::quote("l3_phrase", "holds the model whole") == "holds the model whole");
    ::unsetenv("ATTN_BOOK_VALUES");
    CHECK(attn::quote("not_recorded", "1") == "1");
    std::ifstream in(file);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text == "b16_gain\t4.7\nl3_phrase\tholds the model whole\n");
    std::filesystem::remove(file);
    CHECK_THROWS_WITH(attn::quote("B16", "1"),
                      Catch::Contains("quote") && Catch::Contains("\"B16\""));
    CHECK_THROWS_WITH(attn::quote("x", "a\tb"), Catch::Contains("tab or a line break"));
}

// The shape of an error says only what holds: each case below once gave a pattern line
// that was a coincidence of its numbers.
TEST_CASE("describe_difference names a pattern only when the numbers show it") {
    using attn::test::describe_difference;
    // one wrong element among equal neighbours is not a shift
    const xt::xtensor<float, 1> one_wrong{1, 0, 0, 0}, one_wrong_expected{1, 1, 0, 0};
    CHECK_THAT(describe_difference(one_wrong, one_wrong_expected, 1e-5f),
               !Catch::Contains("shifted") && Catch::Contains("1 of 4 elements are wrong"));
    // a real shift is named, with no guess at the cause
    const xt::xtensor<float, 1> shifted{2, 3, 4, 5, 0}, expected{1, 2, 3, 4, 5};
    CHECK_THAT(describe_difference(shifted, expected, 1e-5f),
               Catch::Contains("shifted left by 1") && !Catch::Contains("?"));
    // two rows swapped are not "reverse order"
    const xt::xtensor<float, 2> swapped{{3, 4, 5}, {0, 1, 2}}, rows{{0, 1, 2}, {3, 4, 5}};
    CHECK_THAT(describe_difference(swapped, rows, 1e-5f), !Catch::Contains("reverse"));
    // rows of two always fit "plus a constant of its own": not a pattern
    const xt::xtensor<float, 2> pairs{{1, 5}, {2, 9}}, pairs_expected{{0, 1}, {3, 2}};
    CHECK_THAT(describe_difference(pairs, pairs_expected, 1e-5f),
               !Catch::Contains("plus a constant") && !Catch::Contains("own multiple"));
    // right rows are not listed among the wrong ones
    const xt::xtensor<float, 2> offset{{0, 1, 2}, {4, 5, 6}, {8, 9, 10}},
        offset_expected{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}};
    CHECK_THAT(describe_difference(offset, offset_expected, 1e-5f),
               Catch::Contains("row 1: +1, row 2: +2") && !Catch::Contains("row 0"));
    // all zeros: said, with no guess
    const xt::xtensor<float, 1> zeros{0, 0, 0, 0, 0};
    CHECK_THAT(describe_difference(zeros, expected, 1e-5f),
               Catch::StartsWith("every element of your result is 0") && !Catch::Contains("?"));
    CHECK(attn::test::describe_shape_difference({4, 3}, {4, 4}) == "it has one column too few");
}

TEST_CASE("simple_factor names square roots of small sizes only") {
    using attn::test::simple_factor;
    CHECK(simple_factor(1.0 / std::sqrt(8.0)) == "1/sqrt(8)");
    CHECK(simple_factor(std::sqrt(96.0)) == "sqrt(96)");
    CHECK(simple_factor(-std::sqrt(2917.0)) == "");  // a coincidence, not a size
    CHECK(simple_factor(2.0) == "2");
    CHECK(simple_factor(1.00978) == "");
}
