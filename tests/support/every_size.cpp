#include "every_size.hpp"

#include <xtensor/xbuilder.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>

namespace attn::test {
namespace {

float readable(std::mt19937& rng) {
    return static_cast<float>(static_cast<int>(rng() % 9) - 4) * 0.5f;  // -2, -1.5, ..., 2
}

}  // namespace

Matrix readable_matrix(std::size_t rows, std::size_t cols, unsigned seed) {
    std::mt19937 rng(seed * 7919u + static_cast<unsigned>(rows * 131 + cols));
    Matrix m = xt::zeros<float>({rows, cols});
    for (float& x : m) x = readable(rng);
    return m;
}

Vector readable_vector(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed * 7919u + static_cast<unsigned>(n * 17));
    Vector v = xt::zeros<float>({n});
    for (float& x : v) x = readable(rng);
    return v;
}

std::vector<Dims> dims_up_to(std::size_t max_T, std::size_t max_d) {
    std::vector<Dims> out;
    for (std::size_t T = 1; T <= max_T; ++T)
        for (std::size_t d = 1; d <= max_d; ++d) out.push_back({T, d});
    std::stable_sort(out.begin(), out.end(),
                     [](const Dims& a, const Dims& b) { return a.T * a.d < b.T * b.d; });
    return out;
}

Matrix attention_with(const Matrix& q, const Matrix& k, const Matrix& v, double s,
                      const xt::xtensor<bool, 2>& allowed, bool over_queries) {
    const std::size_t tq = q.shape(0), tk = k.shape(0), d = q.shape(1), dv = v.shape(1);
    const double minus_inf = -std::numeric_limits<double>::infinity();
    std::vector<double> scores(tq * tk);
    for (std::size_t i = 0; i < tq; ++i)
        for (std::size_t j = 0; j < tk; ++j) {
            double dot = 0;
            for (std::size_t c = 0; c < d; ++c) dot += double(q(i, c)) * double(k(j, c));
            const bool seen = allowed.size() == 0 || allowed(i, j);
            scores[i * tk + j] = seen ? s * dot : minus_inf;
        }
    // Softmax along rows (over the keys) or down columns (over the queries).
    const std::size_t lines = over_queries ? tk : tq, length = over_queries ? tq : tk;
    auto at = [&](std::size_t line, std::size_t n) -> double& {
        return over_queries ? scores[n * tk + line] : scores[line * tk + n];
    };
    for (std::size_t line = 0; line < lines; ++line) {
        double top = minus_inf, sum = 0;
        for (std::size_t n = 0; n < length; ++n) top = std::max(top, at(line, n));
        for (std::size_t n = 0; n < length; ++n) {
            at(line, n) = top == minus_inf ? 0 : std::exp(at(line, n) - top);
            sum += at(line, n);
        }
        for (std::size_t n = 0; n < length; ++n) at(line, n) = sum > 0 ? at(line, n) / sum : 0;
    }
    Matrix out = xt::zeros<float>({tq, dv});
    for (std::size_t i = 0; i < tq; ++i)
        for (std::size_t c = 0; c < dv; ++c) {
            double acc = 0;
            for (std::size_t j = 0; j < tk; ++j) acc += scores[i * tk + j] * double(v(j, c));
            out(i, c) = static_cast<float>(acc);
        }
    return out;
}

std::vector<std::pair<std::string, Matrix>> attention_variants(
    const Matrix& q, const Matrix& k, const Matrix& v, const xt::xtensor<bool, 2>& allowed) {
    const double d = static_cast<double>(q.shape(1)), t = static_cast<double>(k.shape(0));
    return {
        {"the scores are not scaled: divide them by sqrt(d_k) before the softmax",
         attention_with(q, k, v, 1.0, allowed)},
        {"the scores are divided by d_k: divide them by sqrt(d_k)",
         attention_with(q, k, v, 1.0 / d, allowed)},
        {"the scores are multiplied by sqrt(d_k): divide them by it",
         attention_with(q, k, v, std::sqrt(d), allowed)},
        {"the scores are divided by sqrt(T), the number of keys: divide them by sqrt(d_k), the "
         "width "
         "of a query",
         attention_with(q, k, v, 1.0 / std::sqrt(t), allowed)},
        {"the softmax runs down each column (over the queries): each query's weights over the "
         "keys, "
         "along its row, must sum to one",
         attention_with(q, k, v, 1.0 / std::sqrt(d), allowed, true)},
    };
}

template <std::size_t N>
std::string named(const std::string& name, const xt::xtensor<float, N>& t) {
    const std::string text = tensor_text(t);  // "shape [2, 3]\n  {..}\n  {..}"
    if (t.size() <= 8) {
        std::string one_line;
        std::istringstream lines(text);
        std::string line;
        std::getline(lines, line);  // the shape
        while (std::getline(lines, line))
            one_line += (one_line.empty() ? "" : ", ") + line.substr(2);
        const std::string shape = text.substr(6, text.find('\n') - 6);
        return name + " " + shape + " = " + (N == 1 ? one_line : "{" + one_line + "}");
    }
    return name + " " + text.substr(6);
}

template std::string named(const std::string&, const xt::xtensor<float, 1>&);
template std::string named(const std::string&, const xt::xtensor<float, 2>&);
template std::string named(const std::string&, const xt::xtensor<float, 3>&);

}  // namespace attn::test
