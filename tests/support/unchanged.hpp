// An exercise leaves what it takes by const reference as it was.
//
// A const parameter does not stop an answer from writing to the caller's tensor: const_cast
// does, and so does a view that aliases it (xt::adapt over its .data(), a pointer from
// .data()). The result can still be right, so no comparison of results sees it; the next
// caller of the same tensor gets wrong numbers. KeepsInputs calls an exercise through a copy
// of every argument it takes by const reference, compares after the call (also when it
// throws) and fails the test with the function, the argument and the first element that
// changed, in the words tests/check.py shows the learner:
//
//   certain: attend_paged changed its input `keys` (const): element [0, 1, 0] was 2, is now
//   1.41421 (every element was multiplied by 1/sqrt(2) = 0.707107); an answer must not ...
//
// Each test file declares, once per exercise function, a wrapper of the same name in its
// namespace `ex`, so that every call of the tests (ex::name(...)) checks its inputs:
//
//   namespace ex {
//   using namespace attn::ex10;  // the exercise's types: ex::BlockPool, ...
//   using attn::test::KeepsInputs;
//   constexpr KeepsInputs<&attn::ex10::attend_paged> attend_paged{
//       "attend_paged", "query", "keys", "values", "block_table", "length"};
//   }
//
// The wrapper takes exactly the exercise's parameter types, so a call converts as before
// (braced lists included); the parameter names must be as many as the parameters. A pointer
// to a function carries no default argument: a parameter with one needs a function in `ex`
// that supplies it (test_ex09.cpp, adamw_step). Parameters taken by non-const reference are
// the answer's to change (a pool, a cache: in/out), by value cannot reach the caller's.
//
// What a snapshot compares: numbers, strings, xtensor containers, std::vector of any of these,
// and the structs the exercises take by const reference, field by field: fields_of() below
// is the one list of their fields (a struct missing from it, or a field missing from its
// list, does not compile).
//
// The same wrapper weighs the known mistakes of an exercise, each written as a function
// with the exercise's signature (a formula: the reference answer with that one mistake),
// on every call a test makes: see MistakeFormulas at the end of this file. A mistake is
// named only when its formula gives the answer's output on every call, never from one
// input that two mistakes share.
#pragma once

#include "diagnosis.hpp"

#include <catch2/catch.hpp>
#include <xtensor/xtensor.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

// The structs an exercise takes by const reference (defined by the chapter's library or the
// chapter's exercises.hpp; a test file includes only its own chapter's).
namespace attn {
struct MultiHeadWeights;
struct SwiGLUWeights;
}  // namespace attn
namespace attn::ex05 {
struct Block;
}
namespace attn::ex06 {
struct HeadCache;
}
namespace attn::ex07 {
struct SoftmaxState;
}
namespace attn::ex09 {
struct AdamSettings;
struct AdamState;
struct LayerNormGradients;
}  // namespace attn::ex09
namespace attn::ex10 {
struct BlockSlot;
struct BlockPool;
struct QuantizedRow;
}  // namespace attn::ex10

namespace attn::test {
namespace unchanged {

template <class S, class M>
struct Field {
    const char* name;
    M S::*member;
};
template <class S, class M>
Field(const char*, M S::*) -> Field<S, M>;

/// The fields of every struct an exercise takes by const reference, or returns or changes
/// where a mistake's formula is compared with it, in declaration order.
/// (Templates on the struct, so that a test file needs only its own chapter's structs.)
template <class S>
constexpr auto fields_of() {
    using std::tuple;
    if constexpr (std::is_same_v<S, attn::MultiHeadWeights>) {
        return tuple{Field{"w_q", &S::w_q},         Field{"w_k", &S::w_k},
                     Field{"w_v", &S::w_v},         Field{"w_o", &S::w_o},
                     Field{"n_heads", &S::n_heads}, Field{"n_kv_heads", &S::n_kv_heads},
                     Field{"b_q", &S::b_q},         Field{"b_k", &S::b_k},
                     Field{"b_v", &S::b_v},         Field{"b_o", &S::b_o}};
    } else if constexpr (std::is_same_v<S, attn::SwiGLUWeights>) {
        return tuple{Field{"w_gate", &S::w_gate}, Field{"w_up", &S::w_up},
                     Field{"w_down", &S::w_down}};
    } else if constexpr (std::is_same_v<S, attn::ex05::Block>) {
        return tuple{Field{"ln1_gain", &S::ln1_gain},
                     Field{"ln1_bias", &S::ln1_bias},
                     Field{"attention", &S::attention},
                     Field{"ln2_gain", &S::ln2_gain},
                     Field{"ln2_bias", &S::ln2_bias},
                     Field{"w1", &S::w1},
                     Field{"b1", &S::b1},
                     Field{"w2", &S::w2},
                     Field{"b2", &S::b2}};
    } else if constexpr (std::is_same_v<S, attn::ex06::HeadCache>) {
        return tuple{Field{"keys", &S::keys}, Field{"values", &S::values},
                     Field{"length", &S::length}};
    } else if constexpr (std::is_same_v<S, attn::ex07::SoftmaxState>) {
        return tuple{Field{"max", &S::max}, Field{"sum", &S::sum}};
    } else if constexpr (std::is_same_v<S, attn::ex09::AdamSettings>) {
        return tuple{Field{"beta1", &S::beta1}, Field{"beta2", &S::beta2},
                     Field{"epsilon", &S::epsilon}, Field{"weight_decay", &S::weight_decay}};
    } else if constexpr (std::is_same_v<S, attn::ex09::AdamState>) {
        return tuple{Field{"m", &S::m}, Field{"v", &S::v}, Field{"step", &S::step}};
    } else if constexpr (std::is_same_v<S, attn::ex09::LayerNormGradients>) {
        return tuple{Field{"dx", &S::dx}, Field{"dgain", &S::dgain}, Field{"dbias", &S::dbias}};
    } else if constexpr (std::is_same_v<S, attn::ex10::BlockSlot>) {
        return tuple{Field{"block", &S::block}, Field{"offset", &S::offset}};
    } else if constexpr (std::is_same_v<S, attn::ex10::BlockPool>) {
        return tuple{Field{"free", &S::free}, Field{"owners", &S::owners}};
    } else if constexpr (std::is_same_v<S, attn::ex10::QuantizedRow>) {
        return tuple{Field{"values", &S::values}, Field{"scale", &S::scale}};
    } else {
        return tuple<>{};
    }
}

// How many fields an aggregate has: the most initializers S{...} accepts.
struct AnyField {
    template <class T>
    operator T() const;  // only named in unevaluated requires-expressions
};
template <class S, std::size_t... I>
constexpr bool takes(std::index_sequence<I...>) {
    return requires {
        S{(void(I), AnyField{})...};
    };
}
template <class S, std::size_t N = 0>
constexpr std::size_t field_count() {
    if constexpr (takes<S>(std::make_index_sequence<N + 1>{}))
        return field_count<S, N + 1>();
    else
        return N;
}

template <class T>
struct is_tensor : std::false_type {};
template <class T, std::size_t N, xt::layout_type L, class Tag>
struct is_tensor<xt::xtensor<T, N, L, Tag>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

/// "[2, 3]"
inline std::string shape_of(const std::vector<std::size_t>& shape) {
    std::string out = "[";
    for (std::size_t d = 0; d < shape.size(); ++d)
        out += (d ? ", " : "") + std::to_string(shape[d]);
    return out + "]";
}

template <class T>
std::string text(const T& x) {
    if constexpr (std::is_same_v<T, bool>) {
        return x ? "true" : "false";
    } else if constexpr (std::is_floating_point_v<T>) {
        char buffer[48];
        std::snprintf(buffer, sizeof buffer, "%.6g", static_cast<double>(x));
        return buffer;
    } else if constexpr (std::is_signed_v<T>) {
        return std::to_string(static_cast<long long>(x));  // int8_t as a number
    } else {
        return std::to_string(static_cast<unsigned long long>(x));
    }
}

template <class T>
bool same(const T& a, const T& b) {
    if constexpr (std::is_floating_point_v<T>)
        return a == b || (std::isnan(a) && std::isnan(b));
    else
        return a == b;
}

// "element [2, 1] was 0.5, is now 0.177 (3 of 8 elements changed)" for the elements of a
// tensor or of a vector of numbers, both the same size; empty when none changed.
template <class T>
std::string elements_changed(const T* before, const T* after, std::size_t size,
                             const std::vector<std::size_t>& shape) {
    std::size_t first = size, count = 0;
    for (std::size_t i = 0; i < size; ++i)
        if (!same(before[i], after[i])) {
            if (first == size) first = i;
            ++count;
        }
    if (count == 0) return "";
    std::string index = "]";
    for (std::size_t d = shape.size(), rest = first; d-- > 0; rest /= shape[d])
        index.insert(0, (d ? ", " : "") + std::to_string(rest % shape[d]));
    std::string out =
        "element [" + index + " was " + text(before[first]) + ", is now " + text(after[first]);
    if constexpr (std::is_floating_point_v<T>) {
        // Every element scaled by one factor (a scale applied in place) is said so.
        const double k = static_cast<double>(after[first]) / static_cast<double>(before[first]);
        bool scaled = std::isfinite(k) && count > 1;
        for (std::size_t i = 0; i < size && scaled; ++i)
            scaled = std::fabs(static_cast<double>(after[i]) - k * before[i]) <=
                     1e-5 * std::fabs(static_cast<double>(after[i])) + 1e-30;
        if (scaled) {
            const std::string simple = simple_factor(k);
            return out + " (every element was multiplied by " +
                   (simple.empty() ? text(k) : simple + " = " + text(k)) + ")";
        }
    }
    if (size == 1) return out;
    return out + " (" + (count == size ? "every one" : std::to_string(count)) + " of " +
           std::to_string(size) + " elements changed)";
}

/// Whether `after` differs from `before`; if so, `path` is where (".attention.w_q", "[3]",
/// appended to the argument's name) and `what` says how.
template <class T>
bool changed(const T& before, const T& after, std::string& path, std::string& what) {
    if constexpr (std::is_arithmetic_v<T>) {
        if (same(before, after)) return false;
        what = "was " + text(before) + ", is now " + text(after);
        return true;
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (before == after) return false;
        what = "was \"" + before + "\", is now \"" + after + "\"";
        return true;
    } else if constexpr (is_tensor<T>::value) {
        const std::vector<std::size_t> shape(before.shape().begin(), before.shape().end());
        if (!std::equal(shape.begin(), shape.end(), after.shape().begin(), after.shape().end())) {
            const std::vector<std::size_t> now(after.shape().begin(), after.shape().end());
            what = "its shape was " + shape_of(shape) + ", is now " + shape_of(now);
            return true;
        }
        what = elements_changed(before.data(), after.data(), before.size(), shape);
        return !what.empty();
    } else if constexpr (is_vector<T>::value) {
        if (before.size() != after.size()) {
            what = "its size was " + std::to_string(before.size()) + ", is now " +
                   std::to_string(after.size());
            return true;
        }
        using E = typename T::value_type;
        if constexpr (std::is_arithmetic_v<E> && !std::is_same_v<E, bool>) {
            what = elements_changed(before.data(), after.data(), before.size(), {before.size()});
            return !what.empty();
        } else {
            for (std::size_t i = 0; i < before.size(); ++i) {
                std::string inner;
                if (changed(static_cast<const E&>(before[i]), static_cast<const E&>(after[i]),
                            inner, what)) {
                    path += "[" + std::to_string(i) + "]" + inner;
                    return true;
                }
            }
            return false;
        }
    } else {
        constexpr auto fields = fields_of<T>();
        constexpr std::size_t listed = std::tuple_size_v<decltype(fields)>;
        static_assert(listed > 0,
                      "an exercise takes this struct by const reference: list its fields in "
                      "fields_of() (tests/support/unchanged.hpp)");
        static_assert(listed == field_count<T>(),
                      "fields_of() (tests/support/unchanged.hpp) misses a field of this struct");
        return std::apply(
            [&](const auto&... field) {
                return (... || [&](const auto& f) {
                    std::string inner;
                    if (!changed(before.*(f.member), after.*(f.member), inner, what)) return false;
                    path += std::string(".") + f.name + inner;
                    return true;
                }(field));
            },
            fields);
    }
}

/// A parameter whose argument is copied before the call and compared after it.
template <class P>
inline constexpr bool kept =
    std::conjunction_v<std::is_lvalue_reference<P>, std::is_const<std::remove_reference_t<P>>>;

struct NotKept {};

template <class P, class T>
auto copy_if_kept(const T& argument) {
    if constexpr (kept<P>)
        return std::remove_cvref_t<P>(argument);
    else
        return NotKept{};
}

/// The call as the learner reads it, "attend_paged(query, keys, values, block_table, length)".
struct Call {
    std::string text;
};
inline std::ostream& operator<<(std::ostream& out, const Call& call) {
    return out << call.text;
}

/// Fails (at the test's line) when `changes` holds any; the first is the mistake tests/check.py
/// names, the others are listed under it.
class LeavesInputsMatcher : public Catch::MatcherBase<Call> {
public:
    explicit LeavesInputsMatcher(std::vector<std::string> changes) : changes_(std::move(changes)) {}
    bool match(const Call&) const override { return changes_.empty(); }
    std::string describe() const override {
        std::string out = "leaves the inputs it takes by const reference as they were";
        for (std::size_t i = 0; i < changes_.size(); ++i)
            out += (i ? "\ndetail: also: " : "\ncertain: ") + changes_[i];
        return out;
    }

private:
    std::vector<std::string> changes_;
};

inline void report(const Call& call, std::vector<std::string> changes, const char* file, int line) {
    // Once per test case, function and argument: a size sweep would say it for every size.
    static std::string test;
    static std::set<std::string> said;
    const std::string now = Catch::getResultCapture().getCurrentTestName();
    if (now != test) {
        said.clear();
        test = now;
    }
    const std::string& first = changes.front();
    if (!said.insert(first.substr(0, first.find(": "))).second) return;
    // CHECK_THAT, at the line of the test that made the call.
    Catch::AssertionHandler handler(
        "CHECK_THAT"_catch_sr, Catch::SourceLineInfo(file, static_cast<std::size_t>(line)),
        Catch::StringRef(call.text), Catch::ResultDisposition::ContinueOnFailure);
    handler.handleExpr(Catch::makeMatchExpr(call, LeavesInputsMatcher(std::move(changes)),
                                            "leaves its const inputs as they were"_catch_sr));
    handler.complete();
}

}  // namespace unchanged

// ------------------------------------------------------------------ mistakes as formulas
//
// A wrong answer compared on one input can equal several mistakes: on four equal logits,
// top-p's coin scaled by top_p picks the same tokens as a cut at >=. A formula computes a
// mistake on any input, so every call of an exercise in a test weighs every formula of that
// exercise: the answer's output (its result and what it changed in place) against the
// formula's, on a copy of the same arguments. A formula that differs once is refuted for the
// whole exercise; one that agrees on every call of a failing test names the mistake.
//
//   const attn::test::MistakeFormulas<&attn::ex08::sample_top_p> top_p_mistakes{
//       {"the coin scaled by top_p: r = coin * (the kept mass)", &coin_times_top_p},
//       ...};
//
// With ATTN_MISTAKE_FORMULAS set (tests/check.py sets it), each test case writes its verdicts
// to stderr when it ends, one a line: "attn-formula matched|refuted<TAB>test<TAB>mistake".
// A formula must throw (not crash) on an input the reference answer refuses. When the
// answer throws, a formula that does not is refuted: a throw is an output too. check_every_size() records its variants (the mistakes it
// computes for each size) in the same ledger.

namespace formulas {

template <class T>
bool close(const T& a, const T& b, double tolerance) {
    if constexpr (std::is_floating_point_v<T>) {
        if (a == b || (std::isnan(a) && std::isnan(b))) return true;
        return std::fabs(double(a) - double(b)) <= tolerance * std::max(1.0, std::fabs(double(b)));
    } else if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string>) {
        return a == b;
    } else if constexpr (unchanged::is_tensor<T>::value) {
        if (!std::equal(a.shape().begin(), a.shape().end(), b.shape().begin(), b.shape().end()))
            return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!close(a.data()[i], b.data()[i], tolerance)) return false;
        return true;
    } else if constexpr (unchanged::is_vector<T>::value) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!close(static_cast<const typename T::value_type&>(a[i]),
                       static_cast<const typename T::value_type&>(b[i]), tolerance))
                return false;
        return true;
    } else if constexpr (std::is_same_v<T, std::monostate>) {
        return true;
    } else {
        constexpr auto fields = unchanged::fields_of<T>();
        static_assert(std::tuple_size_v<decltype(fields)> > 0,
                      "a mistake's formula returns or changes this struct: list its fields in "
                      "fields_of() (tests/support/unchanged.hpp)");
        return std::apply(
            [&](const auto&... f) {
                return (... && close(a.*(f.member), b.*(f.member), tolerance));
            },
            fields);
    }
}

/// What the calls of the running test case said about each formula: how many calls weighed
/// it, and whether one refuted it. Written out when the test case ends (see above).
class Ledger {
public:
    static Ledger& get() {
        static Ledger ledger;
        return ledger;
    }
    void record(const std::string& mistake, bool agrees) {
        const std::string now = Catch::getResultCapture().getCurrentTestName();
        if (now != test_) {
            flush();
            test_ = now;
        }
        Entry& e = entries_[mistake];
        ++e.calls;
        e.refuted = e.refuted || !agrees;
    }
    Ledger(const Ledger&) = delete;
    Ledger& operator=(const Ledger&) = delete;
    ~Ledger() { flush(); }

private:
    Ledger() = default;
    struct Entry {
        std::size_t calls = 0;
        bool refuted = false;
    };
    void flush() {
        if (std::getenv("ATTN_MISTAKE_FORMULAS") != nullptr)
            for (const auto& [mistake, e] : entries_)
                std::fprintf(stderr, "attn-formula %s\t%s\t%s\n", e.refuted ? "refuted" : "matched",
                             test_.c_str(), mistake.c_str());
        std::fflush(stderr);
        entries_.clear();
    }
    std::string test_;
    std::map<std::string, Entry> entries_;
};

template <auto F>
struct Registry;

template <class R, class... A, R (*F)(A...)>
struct Registry<F> {
    using Args = std::tuple<std::remove_cvref_t<A>...>;  // a copy of every argument
    using Result = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
    struct Formula {
        std::string mistake;
        R (*wrong)(A...);
        double tolerance;
    };
    static std::vector<Formula>& formulas() {
        static std::vector<Formula> list;
        return list;
    }

    /// Weighs every formula on the arguments as they were before the answer's call (`given`):
    /// its result against the answer's, and each argument taken by non-const reference (in and
    /// out) against the answer's after the call (`after`).
    static void weigh(const Args& given, const Args& after, const Result& result) {
        for (const Formula& f : formulas()) {
            bool agrees = false;
            try {
                Args mine = given;
                if constexpr (std::is_void_v<R>) {
                    std::apply(f.wrong, mine);
                    agrees = true;
                } else {
                    agrees = close(static_cast<const R&>(std::apply(f.wrong, mine)), result,
                                   f.tolerance);
                }
                agrees = agrees &&
                         changed_alike(mine, after, f.tolerance, std::index_sequence_for<A...>{});
            } catch (...) {
                agrees = false;  // the formula refuses an input the answer took
            }
            Ledger::get().record(f.mistake, agrees);
        }
    }

    /// The answer threw on `given`: a throw is an output too, so a formula that computes a
    /// result there does not describe the answer (an answer that refuses valid grouped-query
    /// heads is not "h % n_kv_heads", which agrees with it only on the inputs it takes). A
    /// formula that throws as well says nothing either way.
    static void weigh_throw(const Args& given) {
        for (const Formula& f : formulas()) {
            try {
                Args mine = given;
                std::apply(f.wrong, mine);
            } catch (...) {
                continue;
            }
            Ledger::get().record(f.mistake, false);
        }
    }

private:
    template <std::size_t... I>
    static bool changed_alike(const Args& mine, const Args& answer, double tolerance,
                              std::index_sequence<I...>) {
        return (... && [&] {
            using P = std::tuple_element_t<I, std::tuple<A...>>;
            if constexpr (std::is_lvalue_reference_v<P> &&
                          !std::is_const_v<std::remove_reference_t<P>>)
                return close(std::get<I>(mine), std::get<I>(answer), tolerance);
            else
                return true;
        }());
    }
};

}  // namespace formulas

/// The known mistakes of exercise `F`, each a function with F's signature that makes that
/// one mistake, and the words that name it (before the first ':', what tests/check.py
/// matches with the same mistake attached elsewhere by or_mistake()). `tolerance`: how far
/// (relative, at least 1 absolute) an output may lie from a formula's and still be its.
template <auto F>
class MistakeFormulas;

template <class R, class... A, R (*F)(A...)>
class MistakeFormulas<F> {
public:
    struct Formula {
        const char* mistake;
        R (*wrong)(A...);
    };
    MistakeFormulas(std::initializer_list<Formula> list, double tolerance = 1e-4) : list_(list) {
        for (const Formula& f : list)
            formulas::Registry<F>::formulas().push_back({f.mistake, f.wrong, tolerance});
    }

    /// `matcher` with every formula's output on these arguments attached as a known mistake
    /// (IsCloseMatcher::or_mistake), so that a comparison names the mistake in the words the
    /// formulas use; a formula that refuses the arguments is left out.
    template <class Matcher, class... Given>
    Matcher attached(Matcher matcher, Given&&... args) const {
        for (const Formula& f : list_) {
            try {
                matcher.or_mistake(f.wrong(args...), f.mistake);
            } catch (const std::exception&) {
            }
        }
        return matcher;
    }

    /// The formulas, each with the words of its mistake.
    const std::vector<Formula>& list() const { return list_; }

private:
    std::vector<Formula> list_;
};

/// An exercise function `F`, called as itself, that fails the test when the answer changes
/// an argument it takes by const reference (see the top of this file).
template <auto F>
class KeepsInputs;

template <class R, class... A, R (*F)(A...)>
class KeepsInputs<F> {
public:
    /// The function's name, then the name of each of its parameters.
    template <class... Names>
    constexpr KeepsInputs(const char* function, Names... parameters)
        : function_(function), parameters_{parameters...} {
        static_assert(sizeof...(Names) == sizeof...(A), "name every parameter of the exercise");
    }

    /// F(args...); `file` and `line` are the caller's, for the failure.
    R operator()(A... args, const char* file = __builtin_FILE(),
                 int line = __builtin_LINE()) const {
        const auto before = std::make_tuple(unchanged::copy_if_kept<A>(args)...);
        using Registry = formulas::Registry<F>;
        std::optional<typename Registry::Args> given;  // for the mistakes' formulas
        if (!Registry::formulas().empty()) given.emplace(args...);
        const auto check = [&] {
            compare(before, std::forward_as_tuple(args...), file, line,
                    std::index_sequence_for<A...>{});
        };
        const auto call = [&]() -> R {
            try {
                return F(std::forward<A>(args)...);
            } catch (...) {
                check();
                if (given) Registry::weigh_throw(*given);
                throw;
            }
        };
        if constexpr (std::is_void_v<R>) {
            call();
            check();
            if (given) Registry::weigh(*given, typename Registry::Args(args...), {});
        } else {
            R result = call();
            check();
            if (given) Registry::weigh(*given, typename Registry::Args(args...), result);
            return result;
        }
    }

private:
    template <class Before, class After, std::size_t... I>
    void compare(const Before& before, const After& after, const char* file, int line,
                 std::index_sequence<I...>) const {
        std::vector<std::string> changes;
        (
            [&] {
                using P = std::tuple_element_t<I, std::tuple<A...>>;
                if constexpr (unchanged::kept<P>) {
                    std::string path, what;
                    if (unchanged::changed(std::get<I>(before), std::get<I>(after), path, what))
                        changes.push_back(std::string(function_) + " changed its input `" +
                                          parameters_[I] + path + "` (const): " + what +
                                          "; an answer must not write to what it is given: "
                                          "work on a copy (writing through const_cast, or "
                                          "through xt::adapt or a pointer over its .data(), "
                                          "changes the caller's)");
                }
            }(),
            ...);
        if (changes.empty()) return;
        std::string text = std::string(function_) + "(";
        for (std::size_t i = 0; i < sizeof...(A); ++i)
            text += (i ? ", " : "") + std::string(parameters_[i]);
        unchanged::report({text + ")"}, std::move(changes), file, line);
    }

    const char* function_;
    std::array<const char*, sizeof...(A)> parameters_;
};

}  // namespace attn::test
