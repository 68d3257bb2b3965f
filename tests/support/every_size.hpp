// The smallest input on which an answer fails, shown whole.
//
// A wrong answer found on an 8 x 16 reference input is hard to read; the same mistake shown
// on a 1 x 2 input usually explains itself. check_every_size() runs an exercise on inputs of
// growing size (readable numbers: multiples of 0.5 between -2 and 2), compares each with an
// independent computation of the right answer, and reports the first, and so smallest, input
// that fails: the input, the answer and the expected result side by side, and the shape of
// the error (diagnosis.hpp). Sizes are tried smallest first, so nothing needs shrinking.
//
//   check_every_size<2>(sizes, [](const Sizes& s, Trial<2>& t) {
//       const Matrix x = readable_matrix(s.T, s.d, 1);
//       t.input = "T = " + ... + "\n" + named("x", x);   // first: shown if the answer throws
//       t.expected = ...;                                 // the right answer, computed here
//       t.actual = ex::answer(x);                          // last
//   });
#pragma once

#include "common/errors.hpp"
#include "common/tensor.hpp"
#include "matchers.hpp"
#include "unchanged.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <exception>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace attn::test {

/// `[rows, cols]` multiples of 0.5 in [-2, 2], the same for the same seed.
Matrix readable_matrix(std::size_t rows, std::size_t cols, unsigned seed);

/// `[n]` multiples of 0.5 in [-2, 2], the same for the same seed.
Vector readable_vector(std::size_t n, unsigned seed);

/// "name = {{0.5, -1}, {2, 0}}" on one line for a small tensor, else its rows under its name.
template <std::size_t N>
std::string named(const std::string& name, const xt::xtensor<float, N>& t);

/// Two sizes of an input, e.g. T tokens of width d.
struct Dims {
    std::size_t T = 1;
    std::size_t d = 1;
};

/// Every T in 1..max_T and d in 1..max_d, the fewest elements (T * d) first.
std::vector<Dims> dims_up_to(std::size_t max_T, std::size_t max_d);

/// One input of a sweep: the input in words (set first), the expected and the actual output.
template <std::size_t N>
struct Trial {
    std::string input;
    xt::xtensor<float, N> expected;
    xt::xtensor<float, N> actual;
    std::string slices = "slice";  ///< what the leading index of a 3-d result is called
    std::size_t d_head = 0;        ///< > 0: the result's columns are heads this wide
    /// Wrong answers computed for this input, each with what it does wrong: a failure names
    /// one only when the answer equals it (IsCloseMatcher::or_mistake).
    std::vector<std::pair<std::string, xt::xtensor<float, N>>> variants{};
};

/// Attention computed the way common mistakes compute it, for check_every_size's variants:
/// softmax(s * Q K^T, masked where `allowed` is false) V, with the softmax along each row
/// (over the keys) or, with `over_queries`, down each column. `allowed` empty: no mask.
Matrix attention_with(const Matrix& q, const Matrix& k, const Matrix& v, double s,
                      const xt::xtensor<bool, 2>& allowed = {}, bool over_queries = false);

/// The usual wrong scales and axis of scaled dot-product attention, named for the learner:
/// no scale, 1/d_k, 1/sqrt(T_k), sqrt(d_k), and the softmax over the queries.
std::vector<std::pair<std::string, Matrix>> attention_variants(
    const Matrix& q, const Matrix& k, const Matrix& v, const xt::xtensor<bool, 2>& allowed = {});

/// Runs `run(size, trial)` for every size, in order (smallest first), and checks the first
/// trial whose answer differs from the expected one, with the input shown whole. An answer
/// that throws on one of these valid inputs fails too, with the input; the stub's
/// attn::not_implemented is passed on (the exercise is not started).
template <std::size_t N, class Size, class Run>
void check_every_size(const std::vector<Size>& sizes, Run run, float tolerance = 1e-5f) {
    // The first failing trial is reported; every trial is run, to refute the variants the
    // answer does not follow there (a passing trial where a variant differs refutes it too):
    // a variant is named only when the answer equals it on every input that computes it (a
    // coincidence on the smallest input, e.g. sqrt(d_model) = 1, names nothing). The verdicts
    // also go to the formulas' ledger (unchanged.hpp), so that tests/check.py weighs them
    // against the mistakes other tests name.
    std::optional<Trial<N>> first;
    std::set<std::string> refuted, named;
    bool threw = false;  // on a valid input: no variant (they all compute) describes that
    for (const Size& size : sizes) {
        Trial<N> trial;
        try {
            run(size, trial);
        } catch (const attn::not_implemented&) {
            throw;
        } catch (const std::exception& e) {
            if (!first) {
                for (const std::string& name : named) formulas::Ledger::get().record(name, false);
                FAIL_CHECK("wrong: threw on a valid input: " << e.what()
                                                             << "\ninput: " << trial.input);
                return;
            }
            threw = true;
            continue;
        }
        for (const auto& [name, answer] : trial.variants) {
            named.insert(name);
            const bool agrees = IsClose(answer, tolerance * 10).match(trial.actual);
            formulas::Ledger::get().record(name, agrees);
            if (!agrees) refuted.insert(name);
        }
        if (IsClose(trial.expected, tolerance).match(trial.actual)) continue;
        if (!first) first = std::move(trial);
    }
    if (threw)
        for (const std::string& name : named) {
            formulas::Ledger::get().record(name, false);
            refuted.insert(name);
        }
    if (!first) {
        SUCCEED("every size passes");
        return;
    }
    auto matcher = IsClose(first->expected, tolerance)
                       .on_input(first->input)
                       .slices_are(first->slices)
                       .columns_are_heads(first->d_head);
    for (auto& [name, answer] : first->variants)
        if (!refuted.count(name)) matcher.or_mistake(answer, name);
    CHECK_THAT(first->actual, matcher);
}

}  // namespace attn::test
