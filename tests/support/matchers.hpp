// Catch2 matchers for tensors, written so that a failure reads as advice to a learner.
//
//   CHECK_THAT(actual, IsClose(expected)
//                          .or_mistake(unscaled, "missing 1/sqrt(d_k): scale the scores before
//                          softmax"));
//
// A failure prints the actual and expected tensors with their shapes, then one line that
// says what is wrong ("wrong: ...") and, when the answer matches a known wrong answer, a
// line naming that mistake ("mistake: ..."). tests/check.py shows those lines in the
// learner's progress table.
#pragma once

#include "common/errors.hpp"
#include "common/tensor.hpp"

#include <catch2/catch.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>

#include <exception>
#include <initializer_list>
#include <string>
#include <vector>

namespace Catch {
// Print tensors with their shape (Catch would otherwise print them as a flat range).
template <std::size_t N>
struct is_range<xt::xtensor<float, N>> {
    static const bool value = false;
};
template <std::size_t N>
struct StringMaker<xt::xtensor<float, N>> {
    static std::string convert(const xt::xtensor<float, N>& t);
};
}  // namespace Catch

namespace attn::test {

/// A mask as numbers, so that masks compare and print like any other tensor: 1 for true, 0
/// for false, and a cell that was never written shows the byte it holds (e.g. 165), which
/// IsClose(...).or_mistake_if_not_binary() names. The bytes are read as unsigned char, so an
/// uninitialised bool is never loaded as a bool (undefined behaviour).
template <std::size_t N>
xt::xtensor<float, N> as_numbers(const xt::xtensor<bool, N>& mask) {
    xt::xtensor<float, N> out = xt::zeros<float>(mask.shape());
    const auto* bytes = reinterpret_cast<const unsigned char*>(mask.data());
    for (std::size_t i = 0; i < mask.size(); ++i) out.data()[i] = bytes[i];
    return out;
}

/// Fills and frees heap blocks of the sizes small masks take, so that a mask allocated next
/// and never written holds non-zero garbage instead of the zeros of fresh memory: a test that
/// calls this first catches an uninitialised mask every time, not only some of the time.
void dirty_heap();

/// "[2, 3]"
template <std::size_t N>
std::string shape_text(const xt::xtensor<float, N>& t);

/// The tensor with its shape, row by row, e.g. "shape [2, 2]\n  {0.10, 0.90}\n  {0.50, 0.50}".
template <std::size_t N>
std::string tensor_text(const xt::xtensor<float, N>& t);

/// Matches a tensor of the expected shape whose elements all lie within `tolerance` of the
/// expected ones (NaN matches nothing). Known wrong answers can be attached with or_mistake().
template <std::size_t N>
class IsCloseMatcher : public Catch::MatcherBase<xt::xtensor<float, N>> {
public:
    IsCloseMatcher(xt::xtensor<float, N> expected, float tolerance);

    /// If the actual answer is close to `wrong_answer`, the failure names `mistake`.
    IsCloseMatcher& or_mistake(xt::xtensor<float, N> wrong_answer, std::string mistake);

    /// If the actual answer contains NaN or infinity, the failure gives `mistake` as a hint
    /// (where NaN comes from on this input), not as a verified mistake.
    IsCloseMatcher& or_mistake_if_not_finite(std::string mistake);

    /// If an element of the actual answer is neither 0 nor 1 (a mask cell never written,
    /// see as_numbers), the failure names `mistake`.
    IsCloseMatcher& or_mistake_if_not_binary(std::string mistake);

    /// The input that produced the answer, shown whole in a failure with the answer and the
    /// expected result side by side (the smallest failing input of check_every_size()).
    IsCloseMatcher& on_input(std::string input);

    /// Which output this is, for a function with several (a struct's field, an argument
    /// changed in place): a failure says "wrong: dgain: ...".
    IsCloseMatcher& of(std::string output);

    /// What the leading index of a 3-d result is called in a failure ("slice" by default).
    IsCloseMatcher& slices_are(std::string name);

    /// The result's columns are heads of `d_head` columns each: a failure names the heads.
    IsCloseMatcher& columns_are_heads(std::size_t d_head);

    bool match(const xt::xtensor<float, N>& actual) const override;
    std::string describe() const override;

private:
    struct Mistake {
        xt::xtensor<float, N> answer;
        std::string name;
    };
    xt::xtensor<float, N> expected_;
    float tolerance_;
    std::vector<Mistake> mistakes_;
    std::string not_finite_mistake_;
    std::string not_binary_mistake_;
    std::string input_;
    std::string output_;
    std::string slice_name_ = "slice";
    std::size_t column_block_ = 0;
    mutable std::string diagnosis_;
};

/// IsClose(expected) with fp32 tolerance 1e-5 (max absolute error) unless given.
template <std::size_t N>
IsCloseMatcher<N> IsClose(const xt::xtensor<float, N>& expected, float tolerance = 1e-5f) {
    return IsCloseMatcher<N>(expected, tolerance);
}

/// Probes of a composite exercise, run in order: each a designed input that isolates one
/// part (identity weights, one head, one token, a path switched off), compared with the
/// chapter's own result. The first probe that fails is reported, with what it isolates and
/// the probes before it that held, so that its words can say which part is wrong; the
/// probes after it are not run (their words assume the earlier ones held).
///
///   ProbeChain probes;
///   probes.check("one head, every weight I", "... a difference here is in ...",
///                [&] { return ex::f(...); }, IsClose(expected));
class ProbeChain {
public:
    /// Runs `run` (an answer that throws fails the probe) unless an earlier probe failed;
    /// `label` names the probe for the ones after it, `isolates` is the message.
    template <class Run, std::size_t N>
    bool check(const std::string& label, const std::string& isolates, Run run,
               const IsCloseMatcher<N>& matcher) {
        if (failed_) return false;
        xt::xtensor<float, N> actual;
        std::string threw;
        try {
            actual = run();
        } catch (const attn::not_implemented&) {
            throw;
        } catch (const std::exception& e) {
            threw = e.what();
        }
        if (threw.empty() && matcher.match(actual)) {
            held_ += (held_.empty() ? "" : "; ") + label;
            return true;
        }
        failed_ = true;
        INFO("probe: " << label << ": " << isolates
                       << (held_.empty() ? std::string()
                                         : " (the probes before it hold: " + held_ + ")"));
        if (!threw.empty())
            FAIL_CHECK("wrong: threw on this valid input: " << threw);
        else
            CHECK_THAT(actual, matcher);
        return false;
    }

    /// Whether a probe failed (the chain stopped there).
    bool failed() const { return failed_; }

private:
    std::string held_;
    bool failed_ = false;
};

/// Matches a vector `[T]` or a matrix `[rows, T]` of attention weights: every element
/// finite and in [0, 1], every row summing to one within `tolerance`.
template <std::size_t N>
class AreWeightsMatcher : public Catch::MatcherBase<xt::xtensor<float, N>> {
public:
    explicit AreWeightsMatcher(float tolerance) : tolerance_(tolerance) {}

    /// Also requires the shape of `like` (checked first, so a wrong shape is named as such).
    template <class E>
    AreWeightsMatcher& with_shape_of(const E& like) {
        shape_.assign(like.shape().begin(), like.shape().end());
        return *this;
    }

    bool match(const xt::xtensor<float, N>& actual) const override;
    std::string describe() const override;

private:
    float tolerance_;
    std::vector<std::size_t> shape_;
    mutable std::string diagnosis_;
};

/// Rows that are probability distributions: finite, non-negative, summing to one.
template <std::size_t N>
AreWeightsMatcher<N> AreWeights(float tolerance = 1e-5f) {
    return AreWeightsMatcher<N>(tolerance);
}

/// Matches an exception whose message names the function and shows the offending shape,
/// as every shape error of the book must:
///   "attn::ex01::dot_scores: argument 'keys' must have shape [T, d_k] = [T, 3], but has shape [2,
///   5]"
class ShapeErrorMatcher : public Catch::MatcherBase<std::invalid_argument> {
public:
    ShapeErrorMatcher(std::string function, std::string actual_shape);
    bool match(const std::invalid_argument& e) const override;
    std::string describe() const override;

private:
    std::string function_;
    std::string actual_shape_;
    mutable std::string diagnosis_;
};

/// NamesShapeError("dot_scores", "[2, 5]"): the message mentions both.
inline ShapeErrorMatcher NamesShapeError(std::string function, std::string actual_shape) {
    return ShapeErrorMatcher(std::move(function), std::move(actual_shape));
}

}  // namespace attn::test

/// Checks that `expr` throws std::invalid_argument whose message names `function` and
/// `shape`; `why` says in the learner's words what is wrong with the input.
#define CHECK_SHAPE_ERROR(expr, function, shape, why)                         \
    do {                                                                      \
        INFO("expected std::invalid_argument: " << why);                      \
        CHECK_THROWS_MATCHES(expr, std::invalid_argument,                     \
                             ::attn::test::NamesShapeError(function, shape)); \
    } while (false)
