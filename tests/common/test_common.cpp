// common/: shape checks, seeded random numbers, printing and heatmaps.
#include "common/chapter_program.hpp"
#include "common/errors.hpp"
#include "common/heatmap.hpp"
#include "common/plot.hpp"
#include "common/print.hpp"
#include "common/random.hpp"
#include "common/shape.hpp"
#include "matchers.hpp"

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
