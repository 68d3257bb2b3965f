#include "every_size.hpp"

#include <xtensor/xbuilder.hpp>

#include <algorithm>
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
