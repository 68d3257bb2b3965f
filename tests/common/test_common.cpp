// common/: shape checks, seeded random numbers, printing and heatmaps.
#include "common/chapter_program.hpp"
#include "common/errors.hpp"
#include "common/heatmap.hpp"
#include "common/matmul.hpp"
#include "common/plot.hpp"
#include "common/print.hpp"
#include "common/quote.hpp"
#include "common/random.hpp"
#include "common/shape.hpp"
#include "common/svg.hpp"
#include "diagnosis.hpp"
#include "matchers.hpp"

#include <xtensor/xview.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

using attn::Matrix;
using attn::Tokens;
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

namespace {

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// An SVG's own width and height, from its <svg> element.
std::pair<double, double> svg_size(const std::string& svg) {
    std::smatch m;
    REQUIRE(std::regex_search(svg, m,
                              std::regex(R"re(<svg[^>]* width="([\d.]+)" height="([\d.]+)")re")));
    return {std::stod(m[1]), std::stod(m[2])};
}

// Every <text x=".." y=".." ...>content</text> of an SVG (not the rotated ones).
struct SvgText {
    double x, y;
    std::string attributes, content;
};
std::vector<SvgText> svg_texts(const std::string& svg) {
    std::vector<SvgText> out;
    const std::regex text(R"re(<text x="([-\d.e]+)" y="([-\d.e]+)"([^>]*)>([^<]*)</text>)re");
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text); it != std::sregex_iterator();
         ++it)
        out.push_back({std::stod((*it)[1]), std::stod((*it)[2]), (*it)[3], (*it)[4]});
    return out;
}

// The y axis's tick labels: the texts anchored at their end, left of the frame.
std::vector<std::string> y_tick_labels(const std::string& svg) {
    std::vector<std::string> out;
    for (const SvgText& t : svg_texts(svg))
        if (t.attributes.find("text-anchor=\"end\"") != std::string::npos && t.x < 100)
            out.push_back(t.content);
    return out;
}

}  // namespace

TEST_CASE("a log axis labels at least three values, whatever its range") {
    // Ratios from 1.01 to 10^12, starting anywhere: never fewer than three labels, all inside
    // the range, in order.
    for (double lo : {1e-6, 0.03, 1.0, 7.5, 249.0, 1e5}) {
        for (double ratio : {1.01, 1.1, 1.5, 2.0, 3.0, 8.6, 10.0, 40.0, 1e3, 1e6, 1e12}) {
            const std::vector<double> t = attn::log_axis_ticks(lo, lo * ratio);
            INFO("range " << lo << " to " << lo * ratio);
            REQUIRE(t.size() >= 3);
            CHECK(t.size() <= 12);
            CHECK(t.front() >= lo * (1 - 1e-9));
            CHECK(t.back() <= lo * ratio * (1 + 1e-9));
            CHECK(std::is_sorted(t.begin(), t.end()));
        }
    }
    // Decades when three fit, else 1-2-5 steps: chapter 10's tokens per second.
    CHECK(attn::log_axis_ticks(0.5, 2000) == std::vector<double>{1, 10, 100, 1000});
    CHECK(attn::log_axis_ticks(230, 2300) == std::vector<double>{500, 1000, 2000});
    CHECK_THROWS_AS(attn::log_axis_ticks(0, 1), std::invalid_argument);
}

TEST_CASE("a line plot over a narrow log range still labels three y values") {
    const auto path = std::filesystem::temp_directory_path() / "attn_test_log_plot" / "p.svg";
    // Tokens per second from 250 to 2145, as chapter 10's roofline figure plots them: a
    // decade-only axis labels just "1000".
    attn::write_svg_line_plot(path, {1, 2, 4, 8}, {{"measured", {250, 700, 1400, 2145}}}, "t", "B",
                              "tokens per second", true);
    CHECK(y_tick_labels(read_text(path)).size() >= 3);
    // Narrower still: from 300 to 330, no 1-2-5 step and only one integer multiple inside.
    attn::write_svg_line_plot(path, {1, 2, 3}, {{"flat", {300, 315, 330}}}, "t", "x", "y", true);
    CHECK(y_tick_labels(read_text(path)).size() >= 3);
    // Where labels would crowd (0.7, 0.8, 0.9, 1, 2, 3), the rounder ones stay: 1 is shown.
    attn::write_svg_line_plot(path, {1, 2, 3}, {{"loss", {3.3, 1.0, 0.7}}}, "t", "x", "y", true);
    const std::vector<std::string> labels = y_tick_labels(read_text(path));
    CHECK(labels.size() >= 3);
    CHECK(std::find(labels.begin(), labels.end(), "1") != labels.end());
    std::filesystem::remove_all(path.parent_path());
}

TEST_CASE("a line plot keeps its legend inside the figure: in an empty corner, or below") {
    const auto path = std::filesystem::temp_directory_path() / "attn_test_legend" / "p.svg";
    const std::string long_name = "training (mean of the last 20 steps), a long name";
    const auto legend_inside = [&](const std::string& svg) {
        const auto [width, height] = svg_size(svg);
        bool found = false;
        for (const SvgText& t : svg_texts(svg)) {
            if (t.content != long_name) continue;
            found = true;
            CHECK(t.x >= 0);
            CHECK(t.x + attn::text_width(t.content, 13) <= width);
            CHECK(t.y <= height);
        }
        CHECK(found);
        return std::pair{width, height};
    };
    // A line rising from the bottom-left corner to the top-right leaves the top-left empty:
    // the legend goes there, and the figure keeps its size.
    attn::write_svg_line_plot(path, {0, 1, 2, 3, 4},
                              {{long_name, {0, 1, 2, 3, 4}}, {"b", {0, 0.5, 1, 1.5, 2}}}, "t", "x",
                              "y");
    std::string svg = read_text(path);
    CHECK(legend_inside(svg).second == 420);
    // Lines through all four corners and the middle of both edges: the legend goes below
    // the plot, and the figure grows to hold it.
    attn::write_svg_line_plot(path, {0, 1, 2, 3, 4},
                              {{long_name, {0, 4, 0, 4, 0}},
                               {"b", {4, 0, 4, 0, 4}},
                               {"c", {4, 4, 4, 4, 4}},
                               {"d", {0, 0, 0, 0, 0}}},
                              "t", "x", "y");
    svg = read_text(path);
    CHECK(legend_inside(svg).second > 420);
    std::filesystem::remove_all(path.parent_path());
}

TEST_CASE("a line plot draws curves from their own x, points alone, and labelled marks") {
    const auto path = std::filesystem::temp_directory_path() / "attn_test_marks" / "p.svg";
    std::vector<double> fine, curve;
    for (double b = 1; b <= 32; b += 0.5) {
        fine.push_back(b);
        curve.push_back(std::min(100 * b, 500.0));
    }
    attn::PlotOptions options;
    options.log_x = options.log_y = true;
    options.marks.push_back({5, 500, "bend: B = 5"});
    attn::write_svg_line_plot(path, {1, 4, 16},
                              {{"measured", {90, 420, 480}, attn::SeriesStyle::points},
                               {"roofline", curve, attn::SeriesStyle::line, fine},
                               {"compute roof", {500, 500, 500}, attn::SeriesStyle::dashed}},
                              "roofline", "B", "tokens per second", options);
    const std::string svg = read_text(path);
    CHECK_THAT(svg, Contains("bend: B = 5") && Contains("stroke-dasharray=\"6 4\""));
    // One polyline per drawn line (the points have none), with a vertex per x of its own.
    std::size_t polylines = 0;
    for (std::size_t at = svg.find("<polyline"); at != std::string::npos;
         at = svg.find("<polyline", at + 1))
        ++polylines;
    CHECK(polylines == 2);
    // Log x over 1..32: at least three labels along the bottom.
    int x_labels = 0;
    for (const SvgText& t : svg_texts(svg))
        x_labels += t.attributes.find("text-anchor=\"middle\"") != std::string::npos && t.y > 370 &&
                    t.y < 390;
    CHECK(x_labels >= 3);
    CHECK_THROWS_MATCHES(
        attn::write_svg_line_plot(path, {1}, {{"a", {1, 2}, attn::SeriesStyle::line, {1}}}, "t",
                                  "x", "y"),
        std::invalid_argument,
        attn::test::NamesShapeError("attn::write_svg_line_plot", "its own x has 1"));
    std::filesystem::remove_all(path.parent_path());
}

TEST_CASE("write_svg_heatmaps keeps many panels within the page's column") {
    const auto path = std::filesystem::temp_directory_path() / "attn_test_grid" / "g.svg";
    const Tokens tokens{"the", "dog", "that", "chased", "the", "cat", "was", "tired"};
    attn::Rng rng(3);
    std::vector<Matrix> panels;
    Tokens titles;
    for (int h = 0; h < 8; ++h) {
        panels.push_back(xt::abs(attn::random_normal(8, 8, rng)) / 4.0f);
        titles.push_back("head " + std::to_string(h));
    }
    // Eight heads asked for in one row: they wrap into rows no wider than 800 px.
    attn::write_svg_heatmaps(path, panels, tokens, tokens, titles, "eight heads", 8);
    std::string svg = read_text(path);
    auto [width, height] = svg_size(svg);
    CHECK(width <= 800);
    CHECK(height > 2 * 8 * 30);  // more than one row of panels
    // Four heads in two columns (chapter 04): two columns still, with smaller cells.
    const std::vector<Matrix> four(panels.begin(), panels.begin() + 4);
    attn::write_svg_heatmaps(path, four, tokens, tokens, Tokens(titles.begin(), titles.begin() + 4),
                             "four heads", 2);
    svg = read_text(path);
    std::tie(width, height) = svg_size(svg);
    CHECK(width <= 800);
    CHECK(width > 600);
    // A narrower column.
    attn::write_svg_heatmaps(path, four, tokens, tokens, Tokens(titles.begin(), titles.begin() + 4),
                             "four heads", attn::HeatmapGrid{.columns = 4, .max_width = 400});
    CHECK(svg_size(read_text(path)).first <= 400);
    std::filesystem::remove_all(path.parent_path());
}

TEST_CASE("write_svg_heatmaps features one panel large, the others as small multiples") {
    const auto path = std::filesystem::temp_directory_path() / "attn_test_featured" / "f.svg";
    const Tokens tokens{"the", "keys", "to", "the", "cabinet", "are", "here"};
    std::vector<Matrix> panels;
    Tokens titles;
    for (int h = 0; h < 6; ++h) {
        Matrix m = xt::zeros<float>({tokens.size(), tokens.size()});
        for (std::size_t i = 0; i < tokens.size(); ++i) m(i, (i + h) % tokens.size()) = 1.0f;
        panels.push_back(m);
        titles.push_back("head " + std::to_string(h) + (h == 4 ? ": finds the subject" : ""));
    }
    attn::write_svg_heatmaps(path, panels, tokens, tokens, titles, "the trained heads",
                             attn::HeatmapGrid{.columns = 3, .featured = 4});
    const std::string svg = read_text(path);
    CHECK(svg_size(svg).first <= 800);
    // The featured panel's title in bold with its numbers (one per cell); the others'
    // titles, small, and no numbers of theirs.
    CHECK_THAT(svg, Contains("font-weight=\"bold\">head 4: finds the subject</text>"));
    for (int h : {0, 1, 2, 3, 5})
        CHECK_THAT(svg, Contains("font-size=\"11\" fill=\"#333\">head " + std::to_string(h)));
    const std::regex number(R"(>[01]\.\d\d</text>)");
    CHECK(std::distance(std::sregex_iterator(svg.begin(), svg.end(), number),
                        std::sregex_iterator()) == 49);
    CHECK_THROWS_MATCHES(attn::write_svg_heatmaps(path, panels, tokens, tokens, titles, "t",
                                                  attn::HeatmapGrid{.featured = 6}),
                         std::invalid_argument,
                         attn::test::NamesShapeError("attn::write_svg_heatmaps", "featured = 6"));
    std::filesystem::remove_all(path.parent_path());
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

using attn::test::IsClose;

namespace {

// The product by its definition, one multiply-add at a time: what gemm must equal.
Matrix by_definition(const Matrix& a, const Matrix& b, bool ta, bool tb) {
    const std::size_t m = ta ? a.shape(1) : a.shape(0), k = ta ? a.shape(0) : a.shape(1);
    const std::size_t n = tb ? b.shape(0) : b.shape(1);
    Matrix c = xt::zeros<float>({m, n});
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j)
            for (std::size_t p = 0; p < k; ++p)
                c(i, j) += (ta ? a(p, i) : a(i, p)) * (tb ? b(j, p) : b(p, j));
    return c;
}

}  // namespace

TEST_CASE("matmul: every way of reading a and b, one row (the matrix-vector path) included") {
    using attn::Read;
    attn::Rng rng(11);
    for (const std::size_t m : {std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
        for (const bool ta : {false, true}) {
            for (const bool tb : {false, true}) {
                const std::size_t k = 3, n = 4;
                const Matrix a =
                    ta ? attn::random_normal(k, m, rng) : attn::random_normal(m, k, rng);
                const Matrix b =
                    tb ? attn::random_normal(n, k, rng) : attn::random_normal(k, n, rng);
                INFO("m = " << m << ", a " << (ta ? "transposed" : "as stored") << ", b "
                            << (tb ? "transposed" : "as stored"));
                CHECK_THAT(attn::matmul(a, b, ta ? Read::transposed : Read::as_stored,
                                        tb ? Read::transposed : Read::as_stored),
                           IsClose(by_definition(a, b, ta, tb), 1e-5f));
            }
        }
    }
    // An empty inner size is a sum of nothing: zeros of the shape.
    CHECK_THAT(attn::matmul(Matrix::from_shape({2, 0}), Matrix::from_shape({0, 3})),
               IsClose(Matrix(xt::zeros<float>({2, 3}))));
    CHECK_THROWS_WITH(attn::matmul(attn::random_normal(2, 3, rng), attn::random_normal(2, 3, rng)),
                      Contains("attn::matmul") && Contains("2 x 3"));
}

TEST_CASE("gemm: alpha and beta, a tile of a wider matrix (lda, ldc), and beta on an empty sum") {
    using attn::Read;
    attn::Rng rng(12);
    const Matrix a = attn::random_normal(4, 6, rng), b = attn::random_normal(3, 5, rng);
    for (const std::size_t m : {std::size_t{1}, std::size_t{3}}) {
        // C's top-left [m, 5] block of a [4, 7] matrix += 0.5 * a[:m, 2:5] b, beta = 2.
        Matrix c = attn::random_normal(4, 7, rng);
        Matrix expected = c;
        const Matrix tile = xt::view(a, xt::range(0, m), xt::range(2, 5));
        const Matrix product = by_definition(tile, b, false, false);
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < 5; ++j)
                expected(i, j) = 2.0f * c(i, j) + 0.5f * product(i, j);
        attn::gemm(m, 5, 3, 0.5f, a.data() + 2, 6, Read::as_stored, b.data(), 5, Read::as_stored,
                   2.0f, c.data(), 7);
        INFO("m = " << m);
        CHECK_THAT(c, IsClose(expected, 1e-5f));
    }
    // beta = 0 overwrites what C held, even a NaN; k = 0 leaves beta C.
    Matrix c = {{std::nanf(""), 1.0f}};
    attn::gemm(1, 2, 3, 1.0f, a.data(), 6, Read::as_stored, b.data(), 5, Read::as_stored, 0.0f,
               c.data(), 2);
    CHECK_THAT(c, IsClose(by_definition(xt::view(a, xt::range(0, 1), xt::range(0, 3)),
                                        xt::view(b, xt::all(), xt::range(0, 2)), false, false),
                          1e-5f));
    Matrix d = {{1.0f, 2.0f}};
    attn::gemm(1, 2, 0, 1.0f, a.data(), 6, Read::as_stored, b.data(), 5, Read::as_stored, 3.0f,
               d.data(), 2);
    CHECK_THAT(d, IsClose(Matrix{{3.0f, 6.0f}}));
}

TEST_CASE("check_index names the function, the index, its range and what is counted") {
    attn::check_index("attn::f", "layer", 1, 2, "layers of the cache");
    CHECK_THROWS_MATCHES(
        attn::check_index("attn::f", "layer", 2, 2, "layers of the cache"), std::invalid_argument,
        Catch::Matchers::Message("attn::f: layer = 2 is outside 0..1 (2 layers of the cache)"));
    CHECK_THROWS_MATCHES(attn::check_index("attn::g", "tokens[3]", 0, 0, "tokens"),
                         std::invalid_argument,
                         Catch::Matchers::Message("attn::g: tokens[3] = 0: there are no tokens"));
}

TEST_CASE("check_positive and check_fits: one form for a count of 0 and for too many") {
    attn::check_positive("attn::f", "window", 1);
    CHECK_THROWS_MATCHES(attn::check_positive("attn::f", "window", 0), std::invalid_argument,
                         Catch::Matchers::Message("attn::f: window = 0 must be at least 1"));
    CHECK_THROWS_MATCHES(
        attn::check_positive("attn::f", "block_size", 0, "a block holds at least 1 row"),
        std::invalid_argument,
        Catch::Matchers::Message(
            "attn::f: block_size = 0 must be at least 1: a block holds at least 1 row"));
    attn::check_fits("attn::g", "tokens", 32, "seq_len", 32);
    CHECK_THROWS_MATCHES(attn::check_fits("attn::g", "tokens", 33, "seq_len", 32),
                         std::invalid_argument,
                         Catch::Matchers::Message("attn::g: 33 tokens do not fit in seq_len = 32"));
}
