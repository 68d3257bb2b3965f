#include "diagnosis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <optional>
#include <sstream>
#include <vector>

namespace attn::test {
namespace {

std::string number(double x) {
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%.6g", x);
    return buffer;
}

// "0, 2, 5..7": indices, runs of three or more written as ranges.
std::string index_list(const std::vector<std::size_t>& indices) {
    std::string out;
    for (std::size_t i = 0; i < indices.size();) {
        std::size_t j = i;
        while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
        if (!out.empty()) out += ", ";
        if (j >= i + 2) {
            out += std::to_string(indices[i]) + ".." + std::to_string(indices[j]);
        } else {
            out += std::to_string(indices[i]);
            if (j > i) out += ", " + std::to_string(indices[j]);
        }
        i = j + 1;
    }
    return out;
}

std::string plural(std::size_t n, const std::string& word) {
    return n == 1 ? word : word + "s";
}

// A tensor seen as [slices, rows, cols]: a vector is one row, a matrix one slice.
struct Grid {
    std::size_t slices = 1, rows = 1, cols = 1;
    std::size_t rank = 1;
    std::vector<double> a, e;  // actual, expected

    double actual(std::size_t s, std::size_t r, std::size_t c) const {
        return a[(s * rows + r) * cols + c];
    }
    double want(std::size_t s, std::size_t r, std::size_t c) const {
        return e[(s * rows + r) * cols + c];
    }
    std::string where(std::size_t flat) const {
        const std::size_t c = flat % cols, r = flat / cols % rows, s = flat / cols / rows;
        if (rank == 1) return "[" + std::to_string(c) + "]";
        if (rank == 2) return "[" + std::to_string(r) + ", " + std::to_string(c) + "]";
        return "[" + std::to_string(s) + ", " + std::to_string(r) + ", " + std::to_string(c) + "]";
    }
};

bool same(double x, double y, double tol) {
    if (x == y) return true;  // equal infinities too
    return std::fabs(x - y) <= tol;
}

// k with a ~ k e over the given elements (least squares), if the fit is within tol.
std::optional<double> fit_scale(const std::vector<double>& a, const std::vector<double>& e,
                                double tol) {
    double ae = 0, ee = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        ae += a[i] * e[i];
        ee += e[i] * e[i];
    }
    if (ee == 0 || !std::isfinite(ae)) return std::nullopt;
    const double k = ae / ee;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!same(a[i], k * e[i], tol * std::max(1.0, std::fabs(k)))) return std::nullopt;
    return k;
}

// c with a ~ e + c over the given elements, if the fit is within tol.
std::optional<double> fit_offset(const std::vector<double>& a, const std::vector<double>& e,
                                 double tol) {
    if (a.empty()) return std::nullopt;
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] - e[i];
    const double c = sum / static_cast<double>(a.size());
    if (!std::isfinite(c)) return std::nullopt;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!same(a[i], e[i] + c, tol)) return std::nullopt;
    return c;
}

std::string factor_text(double k) {
    const std::string simple = simple_factor(k);
    if (simple.empty() || simple == number(k)) return number(k);
    return simple + " = " + number(k);
}

// The elements of one row (or one column) of one slice, as actual and expected lists.
struct Line {
    std::vector<double> a, e;
};

Line row_of(const Grid& g, std::size_t s, std::size_t r) {
    Line l;
    for (std::size_t c = 0; c < g.cols; ++c) {
        l.a.push_back(g.actual(s, r, c));
        l.e.push_back(g.want(s, r, c));
    }
    return l;
}

Line column_of(const Grid& g, std::size_t s, std::size_t c) {
    Line l;
    for (std::size_t r = 0; r < g.rows; ++r) {
        l.a.push_back(g.actual(s, r, c));
        l.e.push_back(g.want(s, r, c));
    }
    return l;
}

// Whether actual line `i` equals expected line `j` (rows when by_row, else columns), in
// every slice.
bool line_matches(const Grid& g, bool by_row, std::size_t i, std::size_t j, double tol) {
    for (std::size_t s = 0; s < g.slices; ++s) {
        const std::size_t n = by_row ? g.cols : g.rows;
        for (std::size_t k = 0; k < n; ++k) {
            const double x = by_row ? g.actual(s, i, k) : g.actual(s, k, i);
            const double y = by_row ? g.want(s, j, k) : g.want(s, k, j);
            if (!same(x, y, tol)) return false;
        }
    }
    return true;
}

// Rows (or columns) of the answer that are the expected ones moved: shifted by a few places,
// reversed, or in another order. Empty when no such pattern explains the difference.
std::string moved_lines(const Grid& g, bool by_row, double tol) {
    const std::size_t n = by_row ? g.rows : g.cols;
    const std::string word = g.rank == 1 ? "element" : by_row ? "row" : "column";
    if (n < 2) return "";
    // Every line an expected line: a permutation (or lines repeated).
    std::vector<std::size_t> source(n, n);
    for (std::size_t i = 0; i < n; ++i) {
        if (line_matches(g, by_row, i, i, tol)) {
            source[i] = i;
            continue;
        }
        for (std::size_t j = 0; j < n; ++j)
            if (line_matches(g, by_row, i, j, tol)) {
                source[i] = j;
                break;
            }
    }
    const bool all_found =
        std::all_of(source.begin(), source.end(), [n](std::size_t j) { return j < n; });
    // A shift: line i holds expected line i + s wherever that exists.
    for (long s : {1L, -1L, 2L, -2L}) {
        std::size_t held = 0, possible = 0, only_shifted = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const long j = static_cast<long>(i) + s;
            if (j < 0 || j >= static_cast<long>(n)) continue;
            ++possible;
            const bool shifted = line_matches(g, by_row, i, static_cast<std::size_t>(j), tol);
            held += shifted;
            only_shifted += shifted && !line_matches(g, by_row, i, i, tol);
        }
        // The shift must explain every line that can be explained (two thirds of all at
        // least), and two of them that only the shift explains: {1, 0, 0, 0} against
        // {1, 1, 0, 0} is one wrong element, not a shift, although each 0 is its neighbour.
        if (held != possible || 3 * possible < 2 * n || only_shifted < 2) continue;
        const std::string dir = s > 0 ? (by_row ? "up" : "left") : (by_row ? "down" : "right");
        const std::size_t steps = static_cast<std::size_t>(std::labs(s));
        return "your " + word + "s are the expected ones shifted " + dir + " by " +
               std::to_string(steps) + ": " + word + " i holds expected " + word + " i " +
               (s > 0 ? "+ " : "- ") + std::to_string(steps);
    }
    if (!all_found) return "";
    bool identity = true, reversed = true, permutation = true;
    std::vector<bool> used(n, false);
    for (std::size_t i = 0; i < n; ++i) {
        identity = identity && source[i] == i;
        reversed = reversed && source[i] == n - 1 - i;
        permutation = permutation && !used[source[i]];
        used[source[i]] = true;
    }
    if (identity) return "";
    std::size_t moved = 0;  // lines that are wrong where they are, and right elsewhere
    for (std::size_t i = 0; i < n; ++i)
        moved += source[i] != i && !line_matches(g, by_row, i, i, tol);
    if (moved < 2) return "";
    if (reversed && n >= 3) return "your " + word + "s are the expected ones in reverse order";
    // A few values repeated over a vector (token ids, slots) match each other by chance.
    if (!permutation && g.rank == 1) return "";
    std::string map;
    std::size_t listed = 0;
    for (std::size_t i = 0; i < n; ++i)
        if (source[i] != i && listed++ < 4)
            map += (map.empty() ? "" : ", ") + word + " " + std::to_string(i) + " holds expected " +
                   word + " " + std::to_string(source[i]);
    if (listed > 4) map += ", ...";
    if (!permutation)
        return "each of your " + word + "s is one of the expected " + word +
               "s, but some are repeated and others missing: " + map;
    return "your " + word + "s are the expected ones in another order: " + map;
}

// Whole slices (heads) swapped or repeated.
std::string moved_slices(const Grid& g, double tol, const std::string& slice_name) {
    if (g.slices < 2) return "";
    auto matches = [&](std::size_t i, std::size_t j) {
        for (std::size_t r = 0; r < g.rows; ++r)
            for (std::size_t c = 0; c < g.cols; ++c)
                if (!same(g.actual(i, r, c), g.want(j, r, c), tol)) return false;
        return true;
    };
    std::string map;
    for (std::size_t i = 0; i < g.slices; ++i) {
        if (matches(i, i)) continue;
        std::size_t j = 0;
        while (j < g.slices && !matches(i, j)) ++j;
        if (j == g.slices) return "";
        map += (map.empty() ? "" : ", ") + slice_name + " " + std::to_string(i) +
               " holds expected " + slice_name + " " + std::to_string(j);
    }
    return map.empty() ? ""
                       : "your " + slice_name + "s are the expected ones in another order: " + map;
}

// Each row (or column) its own multiple of, or its own constant away from, the expected one.
std::string per_line_fit(const Grid& g, bool by_row, double tol) {
    const std::size_t n = by_row ? g.rows : g.cols;
    const std::size_t length = by_row ? g.cols : g.rows;
    // Two numbers always fit a line: three make a pattern.
    if (n < 2 || length < 3) return "";
    const std::string word = by_row ? "row" : "column";
    for (bool scale : {true, false}) {
        std::vector<double> fits;
        std::vector<std::size_t> which;
        bool ok = true;
        for (std::size_t s = 0; s < g.slices && ok; ++s)
            for (std::size_t i = 0; i < n && ok; ++i) {
                const Line l = by_row ? row_of(g, s, i) : column_of(g, s, i);
                const auto fit = scale ? fit_scale(l.a, l.e, tol) : fit_offset(l.a, l.e, tol);
                if (!fit) {
                    // A row of zeros expected and given fits any factor.
                    const bool zeros =
                        std::all_of(l.a.begin(), l.a.end(), [](double x) { return x == 0; }) &&
                        std::all_of(l.e.begin(), l.e.end(), [](double x) { return x == 0; });
                    ok = zeros;
                } else if (std::fabs(*fit - (scale ? 1.0 : 0.0)) > 1e-3) {
                    // only the lines that are wrong: "row 0: +0" says nothing
                    fits.push_back(*fit);
                    which.push_back(i);
                }
            }
        if (!ok || fits.size() < 2) continue;
        std::string list;
        const std::size_t shown = std::min<std::size_t>(fits.size(), 4);
        for (std::size_t i = 0; i < shown; ++i)
            list += (i ? ", " : "") + word + " " + std::to_string(which[i]) +
                    (scale ? ": x " : ": ") +
                    (scale ? number(fits[i]) : (fits[i] >= 0 ? "+" : "") + number(fits[i]));
        if (fits.size() > shown) list += ", ...";
        if (scale)
            return "each " + word + " is its own multiple of the expected " + word + " (" + list +
                   "): the " + word + "s have the right proportions but not the right size";
        return "each " + word + " is the expected " + word + " plus a constant of its own (" +
               list + ")";
    }
    return "";
}

// Which rows, columns, slices or band of the matrix are wrong.
std::vector<std::string> localise(const Grid& g, const std::vector<bool>& wrong,
                                  const std::string& slice_name, std::size_t block) {
    std::vector<std::string> out;
    std::vector<std::size_t> bad_slices, bad_rows, bad_cols;
    std::vector<bool> slice_bad(g.slices), row_bad(g.rows), col_bad(g.cols);
    for (std::size_t i = 0; i < wrong.size(); ++i) {
        if (!wrong[i]) continue;
        col_bad[i % g.cols] = true;
        row_bad[i / g.cols % g.rows] = true;
        slice_bad[i / g.cols / g.rows] = true;
    }
    for (std::size_t i = 0; i < g.slices; ++i)
        if (slice_bad[i]) bad_slices.push_back(i);
    for (std::size_t i = 0; i < g.rows; ++i)
        if (row_bad[i]) bad_rows.push_back(i);
    for (std::size_t i = 0; i < g.cols; ++i)
        if (col_bad[i]) bad_cols.push_back(i);
    const std::size_t n_wrong =
        static_cast<std::size_t>(std::count(wrong.begin(), wrong.end(), true));
    out.push_back(std::to_string(n_wrong) + " of " + std::to_string(wrong.size()) +
                  " elements are wrong");
    if (g.slices > 1 && bad_slices.size() < g.slices)
        out.back() += "; only " + plural(bad_slices.size(), slice_name) + " " +
                      index_list(bad_slices) + " (the other " +
                      plural(g.slices - bad_slices.size(), slice_name) + " right)";
    const std::string col_word = g.rank == 1 ? "element" : "column";
    if (g.rank >= 2 && bad_rows.size() < g.rows) {
        std::string rows = "only " + plural(bad_rows.size(), "row") + " " + index_list(bad_rows);
        if (bad_rows.back() == g.rows - 1 && bad_rows.size() == g.rows - bad_rows.front())
            rows += bad_rows.size() == 1
                        ? " (the last row)"
                        : " (from row " + std::to_string(bad_rows.front()) + " on)";
        else if (bad_rows.front() == 0 && bad_rows.size() == bad_rows.back() + 1)
            rows += bad_rows.size() == 1 ? " (the first row)" : " (the first rows)";
        out.push_back(rows);
    }
    if (g.cols > 1 && bad_cols.size() < g.cols) {
        std::string cols = "only " + plural(bad_cols.size(), col_word) + " " + index_list(bad_cols);
        if (bad_cols.back() == g.cols - 1 && bad_cols.size() == g.cols - bad_cols.front())
            cols += bad_cols.size() == 1 ? " (the last " + col_word + ")"
                                         : " (the last " + col_word + "s)";
        else if (bad_cols.front() == 0 && bad_cols.size() == bad_cols.back() + 1)
            cols += bad_cols.size() == 1 ? " (the first " + col_word + ")"
                                         : " (the first " + col_word + "s)";
        if (block > 0 && g.cols % block == 0) {
            std::vector<std::size_t> heads;
            for (std::size_t c : bad_cols)
                if (heads.empty() || heads.back() != c / block) heads.push_back(c / block);
            cols += ": the columns of " + plural(heads.size(), "head") + " " + index_list(heads) +
                    " (" + std::to_string(block) + " columns each)";
        }
        out.push_back(cols);
    }
    // The band of a square matrix: the diagonal, above it (keys after the query), below it.
    if (g.rank >= 2 && g.rows == g.cols && g.rows > 1) {
        bool diagonal = true, above = true, below = true;
        for (std::size_t i = 0; i < wrong.size(); ++i) {
            if (!wrong[i]) continue;
            const std::size_t c = i % g.cols, r = i / g.cols % g.rows;
            diagonal = diagonal && r == c;
            above = above && c > r;
            below = below && c < r;
        }
        if (diagonal) out.push_back("only on the diagonal (row i, column i)");
        if (above) out.push_back("only above the diagonal (column > row)");
        if (below) out.push_back("only below the diagonal (column < row)");
    }
    return out;
}

}  // namespace

std::string simple_factor(double k) {
    if (!std::isfinite(k) || k == 0) return "";
    const std::string sign = k < 0 ? "-" : "";
    const double m = std::fabs(k);
    auto near = [m](double x) { return std::fabs(m - x) <= 1e-4 * x; };
    for (int n = 1; n <= 64; ++n) {
        if (near(n)) return sign + std::to_string(n);
        if (near(1.0 / n)) return sign + "1/" + std::to_string(n);
    }
    for (int p = 2; p <= 16; ++p)
        for (int q = 2; q <= 16; ++q)
            if (std::gcd(p, q) == 1 && near(static_cast<double>(p) / q))
                return sign + std::to_string(p) + "/" + std::to_string(q);
    // sqrt(n) of the sizes tests use (d_k, d_head, d_model up to 128), matched to float
    // rounding: the square roots of all numbers up to 4096 lie so close together that
    // almost any factor near one of them, e.g. -sqrt(2917), says nothing.
    auto close = [m](double x) { return std::fabs(m - x) <= 1e-5 * x; };
    for (int n = 2; n <= 128; ++n) {
        const int root = static_cast<int>(std::lround(std::sqrt(n)));
        if (root * root == n) continue;
        if (close(std::sqrt(n))) return sign + "sqrt(" + std::to_string(n) + ")";
        if (close(1.0 / std::sqrt(n))) return sign + "1/sqrt(" + std::to_string(n) + ")";
    }
    return "";
}

std::string describe_shape_difference(const std::vector<std::size_t>& actual,
                                      const std::vector<std::size_t>& expected) {
    const auto count = [](const std::vector<std::size_t>& s) {
        return std::accumulate(s.begin(), s.end(), std::size_t{1}, std::multiplies<>());
    };
    if (actual.size() == expected.size() && actual.size() >= 2) {
        std::vector<std::size_t> swapped = actual;
        std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
        if (swapped == expected && actual != expected)
            return "its last two dimensions are swapped: rows and columns (a transpose, or the "
                   "factors of a product in the wrong order?)";
        std::size_t differing = 0, at = 0;
        for (std::size_t d = 0; d < actual.size(); ++d)
            if (actual[d] != expected[d]) ++differing, at = d;
        if (differing == 1) {
            const long delta = static_cast<long>(actual[at]) - static_cast<long>(expected[at]);
            const std::string what = at + 1 == actual.size()   ? "column"
                                     : at + 2 == actual.size() ? "row"
                                                               : "slice";
            if (delta == 1 || delta == -1)
                return "it has one " + what + (delta > 0 ? " too many" : " too few");
            if (actual[at] == 0) return "it has no " + what + "s at all";
        }
    }
    if (actual.size() == 1 && expected.size() == 1) {
        const long delta = static_cast<long>(actual[0]) - static_cast<long>(expected[0]);
        if (delta == 1 || delta == -1)
            return std::string("it has one element") + (delta > 0 ? " too many" : " too few");
    }
    if (count(actual) == count(expected) && actual != expected)
        return "it has the right number of elements in another arrangement";
    return "";
}

template <std::size_t N>
std::string describe_difference(const xt::xtensor<float, N>& actual,
                                const xt::xtensor<float, N>& expected, float tolerance,
                                const std::string& slice_name, std::size_t column_block,
                                bool patterns) {
    if (actual.shape() != expected.shape()) return "";
    Grid g;
    g.rank = N;
    g.cols = N >= 1 ? expected.shape(N - 1) : 1;
    g.rows = N >= 2 ? expected.shape(N - 2) : 1;
    g.slices = N >= 3 ? expected.size() / std::max<std::size_t>(1, g.rows * g.cols) : 1;
    g.a.assign(actual.begin(), actual.end());
    g.e.assign(expected.begin(), expected.end());
    if (g.a.empty()) return "";

    double scale = 1;
    for (double x : g.e)
        if (std::isfinite(x)) scale = std::max(scale, std::fabs(x));
    const double tol = std::max(10.0 * tolerance, 1e-4) * scale;

    std::vector<bool> wrong(g.a.size());
    std::size_t first = g.a.size();
    for (std::size_t i = 0; i < g.a.size(); ++i) {
        wrong[i] = !same(g.a[i], g.e[i], tolerance) || std::isnan(g.a[i]) != std::isnan(g.e[i]);
        if (wrong[i] && first == g.a.size()) first = i;
    }
    if (first == g.a.size()) return "";
    const std::string first_line = "first difference: element " + g.where(first) + " is " +
                                   number(g.a[first]) + ", expected " + number(g.e[first]);

    std::vector<std::string> lines;
    // NaN and infinity where the expected is finite, and where they start.
    std::vector<std::size_t> bad;
    std::size_t nans = 0;
    for (std::size_t i = 0; i < g.a.size(); ++i)
        if (!std::isfinite(g.a[i]) && std::isfinite(g.e[i])) {
            bad.push_back(i);
            nans += std::isnan(g.a[i]);
        }
    if (!bad.empty()) {
        const std::string what = nans == bad.size() ? "NaN" : nans == 0 ? "inf" : "NaN or inf";
        std::string line = std::to_string(bad.size()) + " of " + std::to_string(g.a.size()) +
                           " elements are " + what +
                           " where the expected is finite; the first at " + g.where(bad.front());
        if (g.rank >= 2) {
            std::vector<bool> row_bad(g.rows * g.slices);
            for (std::size_t i : bad) row_bad[i / g.cols] = true;
            const std::size_t from = bad.front() / g.cols;
            const bool from_on = std::all_of(row_bad.begin() + static_cast<long>(from),
                                             row_bad.end(), [](bool b) { return b; });
            if (from_on && from > 0) line += ", and every row from there on has one";
        }
        lines.push_back(line);
        lines.push_back(nans ? "NaN comes from 0/0, inf - inf or 0 * inf: e.g. exp() of a large "
                               "number is inf, and a sum of nothing is 0"
                             : "inf comes from exp() of a number above 88 or a division by 0");
        lines.push_back(first_line);
        std::string out;
        for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
        return out;
    }
    // Expected non-finite (e.g. -inf for a masked score) where the answer is finite.
    for (std::size_t i = 0; i < g.a.size(); ++i)
        if (!std::isfinite(g.e[i]) && std::isfinite(g.a[i])) {
            return "element " + g.where(i) + " is " + number(g.a[i]) + " where " + number(g.e[i]) +
                   " was expected\n" + first_line;
        }

    const bool zeros =
        patterns && std::all_of(g.a.begin(), g.a.end(), [](double x) { return x == 0; });
    // One number fits any factor and any constant: a pattern needs two that show it.
    const std::size_t nonzero = static_cast<std::size_t>(
        std::count_if(g.e.begin(), g.e.end(), [](double x) { return x != 0; }));
    std::string headline;
    if (!patterns) {
        // where the answer differs, without a pattern (the check's words when a pattern
        // holds on this input but not on the others)
    } else if (zeros) {
        headline = "every element of your result is 0";
    } else if (g.a.size() < 2) {
        // a single number: no pattern to see
    } else if (auto k = fit_scale(g.a, g.e, tol); k && std::fabs(*k - 1) > 1e-3 && nonzero >= 2) {
        headline = *k == -1 || simple_factor(*k) == "-1"
                       ? "every element has the wrong sign: yours is -1 times the expected"
                       : "every element is " + factor_text(*k) + " times the expected one";
    } else if (auto c = fit_offset(g.a, g.e, tol)) {
        headline = "every element is the expected one plus the same constant " + number(*c);
    } else {
        bool transposed = g.rank >= 2 && g.rows == g.cols && g.rows > 1;
        for (std::size_t s = 0; s < g.slices && transposed; ++s)
            for (std::size_t r = 0; r < g.rows && transposed; ++r)
                for (std::size_t c = 0; c < g.cols && transposed; ++c)
                    transposed = same(g.actual(s, r, c), g.want(s, c, r), tol);
        if (transposed)
            headline = "your result is the transpose of the expected one: rows and columns swapped";
    }
    if (patterns && headline.empty() && N == 3) headline = moved_slices(g, tol, slice_name);
    if (patterns && headline.empty() && g.rank >= 2) headline = moved_lines(g, true, tol);
    if (patterns && headline.empty()) headline = moved_lines(g, false, tol);
    if (patterns && headline.empty() && g.rank >= 2) headline = per_line_fit(g, true, tol);
    if (patterns && headline.empty() && g.rank >= 2) headline = per_line_fit(g, false, tol);
    if (patterns && headline.empty() && g.a.size() >= 2) {
        std::vector<double> a = g.a, e = g.e;
        std::sort(a.begin(), a.end());
        std::sort(e.begin(), e.end());
        bool permuted = true;
        // Strictly: near values of a small set (token ids, slots) must not pass for a reordering.
        const double strict = std::max<double>(tolerance, 1e-6 * scale);
        for (std::size_t i = 0; i < a.size() && permuted; ++i) permuted = same(a[i], e[i], strict);
        if (permuted) headline = "your result holds the expected values, but in another order";
    }
    if (!headline.empty()) lines.push_back(headline);

    // Where: always, unless the headline already covers every element.
    if (headline.empty() || zeros) {
        std::vector<std::string> where = localise(g, wrong, slice_name, column_block);
        lines.insert(lines.end(), where.begin(), where.end());
        // Within the wrong part, a factor or a constant.
        std::vector<double> a, e;
        for (std::size_t i = 0; i < g.a.size(); ++i)
            if (wrong[i]) a.push_back(g.a[i]), e.push_back(g.e[i]);
        if (!zeros && a.size() >= 2) {
            if (std::all_of(a.begin(), a.end(), [](double x) { return x == 0; }))
                lines.push_back("there, your elements are all 0 (never written?)");
            else if (auto k = fit_scale(a, e, tol); k && std::fabs(*k - 1) > 1e-3)
                lines.push_back("there, each element is " + factor_text(*k) +
                                " times the expected one");
            else if (auto c = fit_offset(a, e, tol))
                lines.push_back("there, each element is the expected one plus " + number(*c));
        }
    }
    lines.push_back(first_line);
    std::string out;
    for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
    return out;
}

template <std::size_t N>
std::string side_by_side(const xt::xtensor<float, N>& actual,
                         const xt::xtensor<float, N>& expected) {
    auto rows_of = [](const xt::xtensor<float, N>& t) {
        std::vector<std::string> rows;
        const std::size_t width = N == 0 || t.size() == 0 ? 1 : t.shape(N - 1);
        for (std::size_t i = 0; i < t.size(); i += width) {
            std::string row = "{";
            for (std::size_t j = 0; j < width; ++j)
                row += (j ? ", " : "") + number(t.data()[i + j]);
            if (N == 3 && width && t.shape(1) && i / width % t.shape(1) == 0)
                row = "[" + std::to_string(i / width / t.shape(1)) + "] " + row;
            else if (N == 3)
                row = "    " + row;
            rows.push_back(row + "}");
        }
        return rows;
    };
    const auto mine = rows_of(actual), theirs = rows_of(expected);
    std::size_t width = 5;
    for (const auto& r : mine) width = std::max(width, r.size());
    std::ostringstream out;
    out << "yours" << std::string(width - 5 + 3, ' ') << "expected";
    for (std::size_t i = 0; i < std::max(mine.size(), theirs.size()); ++i) {
        const std::string left = i < mine.size() ? mine[i] : "";
        out << "\n"
            << left << std::string(width - left.size() + 3, ' ')
            << (i < theirs.size() ? theirs[i] : "");
    }
    return out.str();
}

template std::string describe_difference(const xt::xtensor<float, 1>&, const xt::xtensor<float, 1>&,
                                         float, const std::string&, std::size_t, bool);
template std::string describe_difference(const xt::xtensor<float, 2>&, const xt::xtensor<float, 2>&,
                                         float, const std::string&, std::size_t, bool);
template std::string describe_difference(const xt::xtensor<float, 3>&, const xt::xtensor<float, 3>&,
                                         float, const std::string&, std::size_t, bool);
template std::string side_by_side(const xt::xtensor<float, 1>&, const xt::xtensor<float, 1>&);
template std::string side_by_side(const xt::xtensor<float, 2>&, const xt::xtensor<float, 2>&);
template std::string side_by_side(const xt::xtensor<float, 3>&, const xt::xtensor<float, 3>&);

}  // namespace attn::test
