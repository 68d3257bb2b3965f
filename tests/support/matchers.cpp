#include "matchers.hpp"

#include "common/shape.hpp"
#include "diagnosis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace {

std::string number(float x) {
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%.6g", static_cast<double>(x));
    return buffer;
}

template <std::size_t N>
std::string index_text(const xt::xtensor<float, N>& t, std::size_t flat) {
    std::string out = "[";
    std::size_t rest = flat;
    std::vector<std::size_t> index(N);
    for (std::size_t d = N; d-- > 0;) {
        index[d] = rest % t.shape(d);
        rest /= t.shape(d);
    }
    for (std::size_t d = 0; d < N; ++d) out += (d ? ", " : "") + std::to_string(index[d]);
    return out + "]";
}

// Largest absolute difference, or infinity when the shapes differ or anything is NaN (NaN
// against NaN counts as equal with `nan_equal`: a known mistake's NaN where the answer has it).
template <std::size_t N>
float max_error(const xt::xtensor<float, N>& a, const xt::xtensor<float, N>& b, std::size_t* where,
                bool nan_equal = false) {
    if (a.shape() != b.shape()) return INFINITY;
    float worst = 0.0f;
    for (std::size_t i = 0; i < a.size(); ++i) {
        // Equal values (infinities included) differ by 0; inf - inf alone would be NaN.
        const bool both_nan = std::isnan(a.data()[i]) && std::isnan(b.data()[i]);
        const float e = a.data()[i] == b.data()[i] || (nan_equal && both_nan)
                            ? 0.0f
                            : std::fabs(a.data()[i] - b.data()[i]);
        if (std::isnan(e) || e > worst) {
            worst = std::isnan(e) ? INFINITY : e;
            if (where) *where = i;
            if (std::isnan(e)) break;
        }
    }
    return worst;
}

}  // namespace

namespace Catch {
template <std::size_t N>
std::string StringMaker<xt::xtensor<float, N>>::convert(const xt::xtensor<float, N>& t) {
    return attn::test::tensor_text(t);
}
template struct StringMaker<xt::xtensor<float, 1>>;
template struct StringMaker<xt::xtensor<float, 2>>;
template struct StringMaker<xt::xtensor<float, 3>>;
}  // namespace Catch

namespace attn::test {

template <std::size_t N>
std::string shape_text(const xt::xtensor<float, N>& t) {
    std::string out = "[";
    for (std::size_t d = 0; d < N; ++d) out += (d ? ", " : "") + std::to_string(t.shape(d));
    return out + "]";
}

template <std::size_t N>
std::string tensor_text(const xt::xtensor<float, N>& t) {
    std::ostringstream out;
    out << "shape " << shape_text(t);
    if (t.size() == 0) return out.str() + " (empty)";
    const std::size_t row = t.shape(N - 1);
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (i % row == 0)
            out << (i ? "}\n  {" : "\n  {");
        else
            out << ", ";
        out << number(t.data()[i]);
    }
    out << "}";
    return out.str();
}

template <std::size_t N>
IsCloseMatcher<N>::IsCloseMatcher(xt::xtensor<float, N> expected, float tolerance)
    : expected_(std::move(expected)), tolerance_(tolerance) {}

template <std::size_t N>
IsCloseMatcher<N>& IsCloseMatcher<N>::or_mistake(xt::xtensor<float, N> wrong_answer,
                                                 std::string mistake) {
    mistakes_.push_back({std::move(wrong_answer), std::move(mistake)});
    return *this;
}

template <std::size_t N>
IsCloseMatcher<N>& IsCloseMatcher<N>::or_mistake_if_not_finite(std::string mistake) {
    not_finite_mistake_ = std::move(mistake);
    return *this;
}

template <std::size_t N>
IsCloseMatcher<N>& IsCloseMatcher<N>::or_mistake_if_not_binary(std::string mistake) {
    not_binary_mistake_ = std::move(mistake);
    return *this;
}

template <std::size_t N>
IsCloseMatcher<N>& IsCloseMatcher<N>::on_input(std::string input) {
    input_ = std::move(input);
    return *this;
}

template <std::size_t N>
IsCloseMatcher<N>& IsCloseMatcher<N>::of(std::string output) {
    output_ = std::move(output);
    return *this;
}

template <std::size_t N>
IsCloseMatcher<N>& IsCloseMatcher<N>::slices_are(std::string name) {
    slice_name_ = std::move(name);
    return *this;
}

template <std::size_t N>
IsCloseMatcher<N>& IsCloseMatcher<N>::columns_are_heads(std::size_t d_head) {
    column_block_ = d_head;
    return *this;
}

template <std::size_t N>
bool IsCloseMatcher<N>::match(const xt::xtensor<float, N>& actual) const {
    diagnosis_.clear();
    if (!not_binary_mistake_.empty()) {
        for (std::size_t i = 0; i < actual.size(); ++i) {
            const float x = actual.data()[i];
            if (x != 0.0f && x != 1.0f) {
                diagnosis_ =
                    "wrong: element " + index_text(actual, i) + " holds " + number(x) +
                    ", which is neither true (1) nor false (0)\nmistake: " + not_binary_mistake_;
                return false;
            }
        }
    }
    // "wrong: dgain: ...": which output, when a function returns several
    const std::string wrong = "wrong: " + (output_.empty() ? "" : output_ + ": ");
    if (actual.shape() != expected_.shape()) {
        diagnosis_ = wrong + (output_.empty() ? "the result" : "it") + " has shape " +
                     shape_text(actual) + ", expected " + shape_text(expected_);
        const std::string why =
            describe_shape_difference({actual.shape().begin(), actual.shape().end()},
                                      {expected_.shape().begin(), expected_.shape().end()});
        if (!why.empty()) diagnosis_ += ": " + why;
    } else {
        if (max_error(actual, expected_, nullptr) <= tolerance_) return true;
        // The shape of the error first, then where it is; see diagnosis.hpp.
        const std::string said =
            describe_difference(actual, expected_, tolerance_, slice_name_, column_block_);
        std::istringstream lines(said);
        std::string line;
        for (bool first = true; std::getline(lines, line); first = false)
            diagnosis_ += (first ? wrong : "\ndetail: ") + line;
        // The same without a pattern: tests/check.py shows it instead when the pattern of
        // this input does not hold on the exercise's other failing inputs.
        const std::string plain =
            describe_difference(actual, expected_, tolerance_, slice_name_, column_block_, false);
        if (plain != said) {
            std::istringstream plain_lines(plain);
            for (bool first = true; std::getline(plain_lines, line); first = false)
                diagnosis_ += "\nplain: " + (first ? wrong.substr(7) : std::string()) + line;
        }
    }
    if (!input_.empty()) {
        std::istringstream lines(input_ + "\n" + side_by_side(actual, expected_));
        std::string line;
        while (std::getline(lines, line)) diagnosis_ += "\ninput: " + line;
    }
    const bool finite =
        std::all_of(actual.begin(), actual.end(), [](float x) { return std::isfinite(x); });
    if (!finite && !not_finite_mistake_.empty()) {
        // A cause of NaN that fits this input, but not a verified mistake: said as a hint,
        // right under the first line, never as "likely mistake".
        const std::size_t end_of_first = diagnosis_.find('\n');
        std::string cause = not_finite_mistake_;
        if (cause.rfind("NaN or inf: ", 0) == 0) cause.erase(0, 12);  // said once is enough
        const std::string hint = "\ndetail: NaN or inf on this input usually means: " + cause;
        diagnosis_.insert(end_of_first == std::string::npos ? diagnosis_.size() : end_of_first,
                          hint);
    }
    // A mistake is named only when the answer is that mistake's answer; the others are
    // listed as not made, so that the check never names one that another test refutes.
    // Two mistakes that give this same answer on this input cannot be told apart: neither
    // is named then.
    std::vector<const Mistake*> matching;
    for (const Mistake& m : mistakes_) {
        if (max_error(actual, m.answer, nullptr, true) <= tolerance_ * 10)
            matching.push_back(&m);
        else
            diagnosis_ += "\nunmatched: " + m.name;
    }
    if (matching.size() == 1) diagnosis_ += "\nmistake: " + matching.front()->name;
    return false;
}

template <std::size_t N>
std::string IsCloseMatcher<N>::describe() const {
    std::ostringstream out;
    out << "\nis within " << number(tolerance_) << " of the expected " << tensor_text(expected_);
    if (!diagnosis_.empty()) out << '\n' << diagnosis_;
    return out.str();
}

template <std::size_t N>
bool AreWeightsMatcher<N>::match(const xt::xtensor<float, N>& actual) const {
    diagnosis_.clear();
    const std::size_t row = N == 1 ? actual.size() : actual.shape(N - 1);
    if (!shape_.empty() &&
        !std::equal(shape_.begin(), shape_.end(), actual.shape().begin(), actual.shape().end())) {
        diagnosis_ = "wrong: the result has shape " + shape_text(actual) + ", expected " +
                     attn::shape_string(shape_);
        return false;
    }
    if (actual.size() == 0) {
        diagnosis_ = "wrong: the result is empty";
        return false;
    }
    for (std::size_t i = 0; i < actual.size(); ++i) {
        const float w = actual.data()[i];
        if (!std::isfinite(w) || w < 0.0f || w > 1.0f + tolerance_) {
            diagnosis_ = "wrong: element " + index_text(actual, i) + " is " + number(w) +
                         ", but a weight must be a number in [0, 1]. Likely causes: exp "
                         "overflowed (subtract the row's maximum first); the exponentials were "
                         "divided by another sum (of other exponentials, or one that is 0); or "
                         "by a lazy xt::sum(e, {1}, xt::keep_dims) expression, which xtensor "
                         "0.24 evaluates wrongly: store the sums in a tensor first";
            return false;
        }
    }
    for (std::size_t r = 0; r < actual.size() / row; ++r) {
        double sum = 0;
        for (std::size_t i = 0; i < row; ++i) sum += actual.data()[r * row + i];
        if (std::fabs(sum - 1.0) > tolerance_ * static_cast<double>(row)) {
            diagnosis_ =
                "wrong: " +
                (N == 1 ? std::string("the weights sum") : "row " + std::to_string(r) + " sums") +
                " to " + number(static_cast<float>(sum)) +
                ", not 1. Likely causes: the exponentials were not divided by their sum; they "
                "were divided by another sum (of other exponentials, or over the wrong axis); "
                "or by a lazy xt::sum(e, {1}, xt::keep_dims) expression, which xtensor 0.24 "
                "evaluates wrongly: store the sums in a tensor first";
            return false;
        }
    }
    return true;
}

template <std::size_t N>
std::string AreWeightsMatcher<N>::describe() const {
    std::string out = N == 1 ? "\nis a vector of weights: each in [0, 1], summing to 1"
                             : "\nhas rows of weights: each in [0, 1], every row summing to 1";
    return diagnosis_.empty() ? out : out + "\n" + diagnosis_;
}

template class IsCloseMatcher<1>;
template class IsCloseMatcher<2>;
template class IsCloseMatcher<3>;
template class AreWeightsMatcher<1>;
template class AreWeightsMatcher<2>;
template std::string shape_text(const xt::xtensor<float, 1>&);
template std::string shape_text(const xt::xtensor<float, 2>&);
template std::string shape_text(const xt::xtensor<float, 3>&);
template std::string tensor_text(const xt::xtensor<float, 1>&);
template std::string tensor_text(const xt::xtensor<float, 2>&);
template std::string tensor_text(const xt::xtensor<float, 3>&);

ShapeErrorMatcher::ShapeErrorMatcher(std::string function, std::string actual_shape)
    : function_(std::move(function)), actual_shape_(std::move(actual_shape)) {}

bool ShapeErrorMatcher::match(const std::invalid_argument& e) const {
    const std::string message = e.what();
    diagnosis_.clear();
    if (message.find(function_) == std::string::npos) {
        diagnosis_ = "wrong: the error message should name the function '" + function_ + "'";
        // "attn::ex01::dot_scores: argument ..." names a function the answer called.
        const std::size_t colon = message.find(": ");
        if (message.rfind("attn::", 0) == 0 && colon != std::string::npos)
            diagnosis_ += ", but it names " + message.substr(0, colon) +
                          ", a function the answer called: check the arguments in '" + function_ +
                          "' itself first, so the error names the function its caller called";
    } else if (message.find(actual_shape_) == std::string::npos) {
        // The task statement asks for shapes as [2, 0] and numbers as name = value.
        if (actual_shape_.rfind('[', 0) == 0)
            diagnosis_ = "wrong: the error message should show the offending shape " +
                         actual_shape_ +
                         ", as the task asks (attn::check_shape writes the function, the "
                         "argument and both shapes)";
        else
            diagnosis_ =
                "wrong: the error message should show the offending number, as the "
                "task asks (each number as name = value): it does not contain '" +
                actual_shape_ + "'";
    }
    return diagnosis_.empty();
}

std::string ShapeErrorMatcher::describe() const {
    std::string out = "names the function '" + function_ + "' and the shape " + actual_shape_;
    return diagnosis_.empty() ? out : out + "\n" + diagnosis_;
}

void dirty_heap() {
    std::vector<void*> blocks;
    for (std::size_t size = 1; size <= 1024; ++size) {
        void* block = std::malloc(size);
        if (block == nullptr) break;
        std::memset(block, 0xA5, size);
        blocks.push_back(block);
    }
    for (void* block : blocks) std::free(block);
}

}  // namespace attn::test
