// Tests for the chapter 11 exercises; the tag ([11.1]) is the exercise's number.
//
// Expected values: the worked examples of exercises.hpp (by hand, checked with Python's math
// module), and computations written here from the tasks' rules, never from chapter 11's
// library: the shares counted out head by head, one query's attention over all its keys in
// one piece (softmax of the scores times the values, in double), a ring of ranks passing
// chunks along step by step, the causal work of each chunk summed position by position, and a
// ring all-reduce simulated piece by piece. Each exercise's known mistakes are formulas
// (MistakeFormulas, tests/support/unchanged.hpp), weighed on every call and attached, in the
// same words, to the comparisons.
#include "exercises.hpp"

#include "common/random.hpp"
#include "every_size.hpp"
#include "matchers.hpp"
#include "unchanged.hpp"

#include <xtensor/xbuilder.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

// Chapter 11's structs field by field, for the comparisons of tests/support/unchanged.hpp
// (its fields_of() lists the structs of chapters 05 to 10; these are this header's own).
namespace attn::test::unchanged {
template <>
constexpr auto fields_of<attn::ex11::HeadShare>() {
    using S = attn::ex11::HeadShare;
    return std::tuple{Field{"first_head", &S::first_head},       Field{"heads", &S::heads},
                      Field{"first_kv_head", &S::first_kv_head}, Field{"kv_heads", &S::kv_heads},
                      Field{"first_hidden", &S::first_hidden},   Field{"hidden", &S::hidden}};
}
template <>
constexpr auto fields_of<attn::ex11::PartialAttention>() {
    using S = attn::ex11::PartialAttention;
    return std::tuple{Field{"max", &S::max}, Field{"sum", &S::sum}, Field{"out", &S::out}};
}
}  // namespace attn::test::unchanged

using attn::Matrix;
using attn::Vector;
using attn::ex11::Assignment;
using attn::ex11::HeadShare;
using attn::ex11::PartialAttention;
using attn::test::IsClose;
using attn::test::IsCloseMatcher;
// The exercises as the tests call them (ex::name): each call fails the test when the answer
// changes an argument it takes by const reference (tests/support/unchanged.hpp).
namespace ex {
using namespace attn::ex11;  // the exercises' types
using attn::test::KeepsInputs;
constexpr KeepsInputs<&attn::ex11::head_share> head_share{"head_share", "n_heads", "n_kv_heads",
                                                          "hidden_dim", "rank",    "ranks"};
constexpr KeepsInputs<&attn::ex11::merge_partials> merge_partials{"merge_partials", "into",
                                                                  "other"};
constexpr KeepsInputs<&attn::ex11::ring_source> ring_source{"ring_source", "rank", "step", "ranks"};
constexpr KeepsInputs<&attn::ex11::rank_chunks> rank_chunks{"rank_chunks", "rank", "ranks", "a"};
constexpr KeepsInputs<&attn::ex11::ring_allreduce_bytes> ring_allreduce_bytes{
    "ring_allreduce_bytes", "bytes", "ranks"};
}  // namespace ex

namespace {

// The fragments of an error message of which CHECK_REFUSED wants one.
template <class... Fragments>
std::vector<std::string> one_of(Fragments... fragments) {
    return {std::string(fragments)...};
}

// An invalid_argument whose message names the function and contains one of the fragments,
// with what that is in the learner's words when it does not ("wrong:" lines, read by
// tests/check.py).
class SaysMatcher : public Catch::MatcherBase<std::invalid_argument> {
public:
    SaysMatcher(std::string function, std::vector<std::string> fragments, std::string what)
        : function_(std::move(function)),
          fragments_(std::move(fragments)),
          what_(std::move(what)) {}
    SaysMatcher(std::string function, std::string fragment, std::string what)
        : SaysMatcher(std::move(function), std::vector<std::string>{std::move(fragment)},
                      std::move(what)) {}
    bool match(const std::invalid_argument& e) const override {
        const std::string message = e.what();
        diagnosis_.clear();
        const bool says = std::any_of(fragments_.begin(), fragments_.end(), [&](const auto& f) {
            return message.find(f) != std::string::npos;
        });
        if (message.find(function_) == std::string::npos) {
            diagnosis_ = "wrong: the error message should name the function '" + function_ + "'";
        } else if (!says) {
            std::string quoted;
            for (const std::string& f : fragments_)
                quoted += (quoted.empty() ? "'" : ", '") + f + "'";
            diagnosis_ = "wrong: the error message should say " + what_ + " (it contains " +
                         (fragments_.size() == 1 ? "no " : "none of ") + quoted + ")";
        }
        return diagnosis_.empty();
    }
    std::string describe() const override {
        const std::string out = "names the function '" + function_ + "' and says " + what_;
        return diagnosis_.empty() ? out : out + "\n" + diagnosis_;
    }

private:
    std::string function_;
    std::vector<std::string> fragments_;
    std::string what_;
    mutable std::string diagnosis_;
};

std::string number_text(double x) {
    std::ostringstream out;
    out << x;
    return out.str();
}

}  // namespace

// Checks that `expr` throws std::invalid_argument naming `function` whose message contains
// `fragments` (one string, or one_of(...) several), which is `what` in words; `why` says what
// is wrong with the input.
#define CHECK_REFUSED(expr, function, fragments, what, why)                                        \
    do {                                                                                           \
        INFO("expected std::invalid_argument: " << why);                                           \
        CHECK_THROWS_MATCHES(expr, std::invalid_argument, SaysMatcher(function, fragments, what)); \
    } while (false)

using attn::test::check_every_size;
using attn::test::named;
using attn::test::readable_matrix;
using attn::test::readable_vector;
using attn::test::Trial;

// ---------------------------------------------------------------- 11.1 head share

namespace {

enum class ShareMistake { round_robin, kv_from_query_block, next_block, whole_hidden, unchecked };

// head_share() with one mistake; the reference's refusals otherwise (a formula refuses what
// the reference refuses).
template <ShareMistake how>
HeadShare share_with(std::size_t n_heads, std::size_t n_kv_heads, std::size_t hidden_dim,
                     std::size_t rank, std::size_t ranks) {
    if (ranks == 0 || rank >= ranks) throw std::invalid_argument("refused");
    if (how != ShareMistake::unchecked &&
        (n_heads % ranks != 0 || n_kv_heads % ranks != 0 || hidden_dim % ranks != 0))
        throw std::invalid_argument("refused");
    HeadShare s;
    s.heads = n_heads / ranks;
    s.kv_heads = n_kv_heads / ranks;
    s.hidden = how == ShareMistake::whole_hidden ? hidden_dim : hidden_dim / ranks;
    const std::size_t block = how == ShareMistake::next_block ? rank + 1 : rank;
    s.first_head = how == ShareMistake::round_robin ? rank : block * s.heads;
    s.first_kv_head = how == ShareMistake::round_robin           ? rank
                      : how == ShareMistake::kv_from_query_block ? s.first_head
                                                                 : block * s.kv_heads;
    s.first_hidden = how == ShareMistake::round_robin ? rank : block * s.hidden;
    return s;
}

const attn::test::MistakeFormulas<&attn::ex11::head_share> share_mistakes{
    {"the heads dealt round-robin (head h to rank h % P): rank r's first head, key/value head "
     "and feature are r; a rank owns one contiguous block of each, r shares in: first_head = "
     "r * (n_heads / P), and the same for the others",
     &share_with<ShareMistake::round_robin>},
    {"the key/value heads start where the query heads do (first_kv_head = first_head): they "
     "have a share of their own, n_kv_heads / P, so rank r's start r * (n_kv_heads / P) in",
     &share_with<ShareMistake::kv_from_query_block>},
    {"off by one block (rank + 1): rank r's blocks start r shares in, so rank 0's start at 0",
     &share_with<ShareMistake::next_block>},
    {"the SwiGLU features not divided (hidden = hidden_dim): each rank owns hidden_dim / P of "
     "them, from first_hidden = r * (hidden_dim / P)",
     &share_with<ShareMistake::whole_hidden>},
    {"no check that P divides the counts: blocks of n / P rounded down leave the last n mod P "
     "heads or features to no rank; refuse a count that P does not divide",
     &share_with<ShareMistake::unchecked>}};

const char* const share_columns =
    "row r: rank r's first_head, heads, first_kv_head, kv_heads, first_hidden, hidden";

std::string counts_text(std::size_t n_heads, std::size_t n_kv_heads, std::size_t hidden_dim,
                        std::size_t ranks) {
    return "n_heads = " + std::to_string(n_heads) + ", n_kv_heads = " + std::to_string(n_kv_heads) +
           ", hidden_dim = " + std::to_string(hidden_dim) + ", ranks = " + std::to_string(ranks);
}

// The shares of ranks 0..P-1, `share(r)` each, a row per rank.
template <class Share>
Matrix shares_by(Share share, std::size_t P) {
    Matrix out = xt::zeros<float>({P, std::size_t{6}});
    for (std::size_t r = 0; r < P; ++r) {
        const HeadShare s = share(r);
        const std::size_t row[] = {s.first_head, s.heads,        s.first_kv_head,
                                   s.kv_heads,   s.first_hidden, s.hidden};
        for (std::size_t c = 0; c < 6; ++c) out(r, c) = static_cast<float>(row[c]);
    }
    return out;
}

// The answer's shares, a row per rank.
Matrix shares(std::size_t n_heads, std::size_t n_kv_heads, std::size_t hidden_dim, std::size_t P) {
    return shares_by(
        [&](std::size_t r) { return ex::head_share(n_heads, n_kv_heads, hidden_dim, r, P); }, P);
}

// `count` heads or features counted out one at a time, each to the rank whose block holds it
// (P blocks of count / P, side by side: item i to rank i * P / count): per rank, its first
// item and how many it got.
std::vector<std::pair<std::size_t, std::size_t>> counted_out(std::size_t count, std::size_t P) {
    std::vector<std::pair<std::size_t, std::size_t>> first_and_count(P, {0, 0});
    for (std::size_t i = count; i-- > 0;) {  // downwards: the last item written is the first
        auto& [first, n] = first_and_count[i * P / count];
        first = i;
        ++n;
    }
    return first_and_count;
}

Matrix counted_shares(std::size_t n_heads, std::size_t n_kv_heads, std::size_t hidden_dim,
                      std::size_t P) {
    const auto q = counted_out(n_heads, P), kv = counted_out(n_kv_heads, P),
               f = counted_out(hidden_dim, P);
    Matrix out = xt::zeros<float>({P, std::size_t{6}});
    for (std::size_t r = 0; r < P; ++r) {
        const std::size_t row[] = {q[r].first,   q[r].second, kv[r].first,
                                   kv[r].second, f[r].first,  f[r].second};
        for (std::size_t c = 0; c < 6; ++c) out(r, c) = static_cast<float>(row[c]);
    }
    return out;
}

// `matcher` with every mistake's shares of these counts attached, in the formulas' words.
IsCloseMatcher<2> with_share_mistakes(IsCloseMatcher<2> matcher, std::size_t n_heads,
                                      std::size_t n_kv_heads, std::size_t hidden_dim,
                                      std::size_t P) {
    for (const auto& f : share_mistakes.list()) {
        try {
            matcher.or_mistake(
                shares_by(
                    [&](std::size_t r) { return f.wrong(n_heads, n_kv_heads, hidden_dim, r, P); },
                    P),
                f.mistake);
        } catch (const std::exception&) {  // a formula that refuses these counts
        }
    }
    return matcher;
}

}  // namespace

TEST_CASE("11.1 head_share: the worked example, Llama-3-8B on 4 ranks", "[11.1]") {
    INFO("n_heads = 32, n_kv_heads = 8, hidden_dim = 14336, ranks = 4; " << share_columns);
    CHECK_THAT(shares(32, 8, 14336, 4),
               with_share_mistakes(IsClose(Matrix{{0, 8, 0, 2, 0, 3584},
                                                  {8, 8, 2, 2, 3584, 3584},
                                                  {16, 8, 4, 2, 7168, 3584},
                                                  {24, 8, 6, 2, 10752, 3584}},
                                           0),
                                   32, 8, 14336, 4));
}

TEST_CASE(
    "11.1 head_share: every head and feature has one owner, and a rank's query heads read its "
    "own key/value heads",
    "[11.1]") {
    struct Counts {
        std::size_t n_heads, n_kv_heads, hidden_dim, ranks;
    };
    const Counts all[] = {{4, 1, 5, 1},  {8, 2, 16, 2}, {12, 6, 9, 3},
                          {16, 4, 8, 4}, {8, 8, 12, 4}, {32, 8, 24, 8}};
    for (const Counts& c : all) {
        const std::size_t group = c.n_heads / c.n_kv_heads;  // query heads per key/value head
        Vector owners = xt::zeros<float>({c.n_heads}), kv_owners = xt::zeros<float>({c.n_kv_heads}),
               feature_owners = xt::zeros<float>({c.hidden_dim}),
               reads_own = xt::zeros<float>({c.n_heads});
        for (std::size_t r = 0; r < c.ranks; ++r) {
            const HeadShare s = ex::head_share(c.n_heads, c.n_kv_heads, c.hidden_dim, r, c.ranks);
            for (std::size_t h = s.first_head; h < s.first_head + s.heads && h < c.n_heads; ++h) {
                owners(h) += 1;
                const std::size_t kv = h / group;
                if (kv >= s.first_kv_head && kv < s.first_kv_head + s.kv_heads) reads_own(h) += 1;
            }
            for (std::size_t h = s.first_kv_head;
                 h < s.first_kv_head + s.kv_heads && h < c.n_kv_heads; ++h)
                kv_owners(h) += 1;
            for (std::size_t f = s.first_hidden; f < s.first_hidden + s.hidden && f < c.hidden_dim;
                 ++f)
                feature_owners(f) += 1;
        }
        const std::string counts = counts_text(c.n_heads, c.n_kv_heads, c.hidden_dim, c.ranks);
        {
            INFO(counts << ": element h is how many ranks own query head h (each exactly one)");
            CHECK_THAT(owners, IsClose(Vector(xt::ones<float>({c.n_heads})), 0));
        }
        {
            INFO(counts << ": element h is how many ranks own key/value head h (each exactly one)");
            CHECK_THAT(kv_owners, IsClose(Vector(xt::ones<float>({c.n_kv_heads})), 0));
        }
        {
            INFO(counts << ": element f is how many ranks own SwiGLU feature f (each exactly one)");
            CHECK_THAT(feature_owners, IsClose(Vector(xt::ones<float>({c.hidden_dim})), 0));
        }
        {
            INFO(counts << ": element h is 1 when the key/value head that query head h reads, h / "
                        << group
                        << ", is one its owner owns (0: it is another rank's, or h has no "
                           "owner); with P dividing n_kv_heads, a rank's query heads read "
                           "exactly its own key/value heads");
            CHECK_THAT(reads_own, IsClose(Vector(xt::ones<float>({c.n_heads})), 0));
        }
    }
}

TEST_CASE("11.1 head_share: refuses 0 ranks, a rank past the last, and counts P does not divide",
          "[11.1]") {
    CHECK_REFUSED(ex::head_share(8, 2, 16, 0, 0), "head_share", "ranks = 0",
                  "the number of ranks (ranks = 0)",
                  "0 ranks own nothing: refuse ranks = 0 before dividing by it");
    CHECK_REFUSED(ex::head_share(8, 4, 16, 4, 4), "head_share", "rank = 4", "the rank (rank = 4)",
                  "4 ranks are ranks 0..3: rank 4 is one past the last");
    CHECK_REFUSED(ex::head_share(8, 2, 16, 0, 4), "head_share", "n_kv_heads = 2",
                  "which count does not split, with its value (n_kv_heads = 2)",
                  "P = 4 does not divide n_kv_heads = 2: each rank would need half a key/value "
                  "head");
    CHECK_REFUSED(ex::head_share(8, 4, 18, 1, 4), "head_share", "hidden_dim = 18",
                  "which count does not split, with its value (hidden_dim = 18)",
                  "P = 4 does not divide hidden_dim = 18: blocks of 18 / 4 = 4 features would "
                  "leave features 16 and 17 to no rank");
    CHECK_REFUSED(ex::head_share(12, 4, 48, 2, 8), "head_share",
                  one_of("n_heads = 12", "n_kv_heads = 4"),
                  "which count does not split, with its value (n_heads = 12 or n_kv_heads = 4)",
                  "P = 8 divides neither n_heads = 12 nor n_kv_heads = 4");
    for (std::size_t rank = 0; rank < 3; ++rank)
        CHECK_REFUSED(ex::head_share(8, 2, 16, rank, 3), "head_share",
                      one_of("n_heads = 8", "n_kv_heads = 2", "hidden_dim = 16"),
                      "which count does not split, with its value (n_heads = 8, ...)",
                      "P = 3 divides none of n_heads = 8, n_kv_heads = 2, hidden_dim = 16: blocks "
                      "of 8 / 3 = 2 heads would leave heads 6 and 7 to no rank");
}

TEST_CASE(
    "11.1 head_share: every rank, 1 to 8 ranks, grouped heads or not (a row per rank: first_head, "
    "heads, first_kv_head, kv_heads, first_hidden, hidden)",
    "[11.1]") {
    struct Counts {
        std::size_t n_heads, n_kv_heads, hidden_dim, ranks;
    };
    std::vector<Counts> sizes;  // per rank: 1 or 2 key/value heads, 1 or 3 query heads to each
    for (std::size_t P = 1; P <= 8; ++P)
        for (std::size_t kv = 1; kv <= 2; ++kv)
            for (std::size_t group : {std::size_t{1}, std::size_t{3}})
                sizes.push_back({P * kv * group, P * kv, P * 5, P});
    check_every_size<2>(
        sizes,
        [](const Counts& c, Trial<2>& t) {
            t.input = counts_text(c.n_heads, c.n_kv_heads, c.hidden_dim, c.ranks) + " (" +
                      share_columns + ")";
            t.expected = counted_shares(c.n_heads, c.n_kv_heads, c.hidden_dim, c.ranks);
            t.actual = shares(c.n_heads, c.n_kv_heads, c.hidden_dim, c.ranks);
        },
        0);
}

// ---------------------------------------------------------------- 11.2 merge partials

namespace {

enum class MergeMistake {
    outputs_unscaled,
    sums_unscaled,
    nothing_scaled,
    normalised,
    smaller_max,
    nan_when_empty
};

// merge_partials() with one mistake; the reference's refusal otherwise.
template <MergeMistake how>
void merged_with(PartialAttention& into, const PartialAttention& other) {
    if (!into.out.empty() && !other.out.empty() && into.out.size() != other.out.size())
        throw std::invalid_argument("refused");
    const float m = how == MergeMistake::smaller_max ? std::min(into.max, other.max)
                                                     : std::max(into.max, other.max);
    if (how != MergeMistake::nan_when_empty && m == -std::numeric_limits<float>::infinity()) return;
    const float a = std::exp(into.max - m), b = std::exp(other.max - m);
    const bool sums = how != MergeMistake::sums_unscaled && how != MergeMistake::nothing_scaled;
    const bool outs = how != MergeMistake::outputs_unscaled && how != MergeMistake::nothing_scaled;
    if (into.out.empty()) into.out.assign(other.out.size(), 0.0f);
    into.sum = sums ? into.sum * a + other.sum * b : into.sum + other.sum;
    for (std::size_t i = 0; i < into.out.size(); ++i) {
        if (outs)
            into.out[i] = into.out[i] * a + (other.out.empty() ? 0.0f : other.out[i] * b);
        else
            into.out[i] = into.out[i] + (other.out.empty() ? 0.0f : other.out[i]);
    }
    into.max = m;
    if (how == MergeMistake::normalised)
        for (float& o : into.out) o /= into.sum;
}

const attn::test::MistakeFormulas<&attn::ex11::merge_partials> merge_mistakes{
    {"the outputs were added without rescaling: a part's output was measured against its own "
     "maximum, like its sum; multiply both by e^(m_part - m)",
     &merged_with<MergeMistake::outputs_unscaled>},
    {"the sums were added without rescaling: a part's sum was measured against its own maximum, "
     "like its output; multiply both by e^(m_part - m)",
     &merged_with<MergeMistake::sums_unscaled>},
    {"neither the sums nor the outputs were rescaled: a part's are measured against its own "
     "maximum; multiply both by e^(m_part - m), m the larger maximum",
     &merged_with<MergeMistake::nothing_scaled>},
    {"the output was divided by the sum while merging: a partial state keeps o as a sum, divided "
     "by l once, after the last merge (the next merge adds it to a sum)",
     &merged_with<MergeMistake::normalised>},
    {"merged with the smaller maximum: the merged maximum is the larger one, max(m_a, m_b); "
     "against the smaller, e^(m_part - m) overflows for parts hundreds apart, and an empty "
     "part's -inf swallows the other",
     &merged_with<MergeMistake::smaller_max>},
    {"NaN when both states are empty: their merged maximum is -inf, and e^(-inf - (-inf)) is "
     "NaN; leave into as it is when both maxima are -inf",
     &merged_with<MergeMistake::nan_when_empty>}};

// The answer, as a merge that the plans below can call.
void answer_merge(PartialAttention& into, const PartialAttention& other) {
    ex::merge_partials(into, other);
}

// A state as numbers a matcher can compare and print: {max, sum, out...}.
Vector as_vector(const PartialAttention& p) {
    Vector v = xt::zeros<float>({2 + p.out.size()});
    v(0) = p.max;
    v(1) = p.sum;
    for (std::size_t i = 0; i < p.out.size(); ++i) v(2 + i) = p.out[i];
    return v;
}

// The attention a merged state gives: out / sum (zeros for an empty state).
Vector finished(const PartialAttention& p) {
    Vector v = xt::zeros<float>({p.out.size()});
    if (p.sum != 0.0f)
        for (std::size_t i = 0; i < p.out.size(); ++i) v(i) = p.out[i] / p.sum;
    return v;
}

std::string state_text(const PartialAttention& p) {
    std::string out = "{max " + number_text(p.max) + ", sum " + number_text(p.sum) + ", out {";
    for (std::size_t i = 0; i < p.out.size(); ++i) out += (i ? ", " : "") + number_text(p.out[i]);
    return out + "}}";
}

// One query's keys: a score and a row of values each.
struct Keys {
    Vector scores;  // [n]
    Matrix values;  // [n, d_v]
};

Keys random_keys(std::size_t n, std::size_t d_v, float score_scale, float score_shift,
                 float value_scale, std::uint64_t seed) {
    attn::Rng rng(seed);
    Keys k;
    k.scores = xt::zeros<float>({n});
    k.values = xt::zeros<float>({n, d_v});
    for (float& s : k.scores) s = rng.normal() * score_scale + score_shift;
    for (float& v : k.values) v = rng.normal() * value_scale;
    return k;
}

// The partial attention of keys first..last-1, in double, then rounded to float. An empty
// part: max -inf, sum 0, out zeros (no numbers at all with `no_out`).
PartialAttention part_of(const Keys& k, std::size_t first, std::size_t last, bool no_out = false) {
    const std::size_t d_v = k.values.shape(1);
    PartialAttention p;
    if (first == last) {
        if (!no_out) p.out.assign(d_v, 0.0f);
        return p;
    }
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t j = first; j < last; ++j) m = std::max(m, double(k.scores(j)));
    double l = 0;
    std::vector<double> o(d_v, 0.0);
    for (std::size_t j = first; j < last; ++j) {
        const double w = std::exp(double(k.scores(j)) - m);
        l += w;
        for (std::size_t e = 0; e < d_v; ++e) o[e] += w * double(k.values(j, e));
    }
    p.max = static_cast<float>(m);
    p.sum = static_cast<float>(l);
    for (double x : o) p.out.push_back(static_cast<float>(x));
    return p;
}

// One query's attention over all its keys in one piece, in double: the state {max, sum, out}
// and softmax(scores) V, with tolerances for a float answer relative to the terms summed (a
// sum of terms of both signs keeps the rounding of its largest terms).
struct Whole {
    Vector state, attention;
    float state_tolerance = 1e-5f, attention_tolerance = 1e-5f;
};

Whole whole_of(const Keys& k) {
    const std::size_t n = k.scores.size(), d_v = k.values.shape(1);
    Whole w;
    w.state = xt::zeros<float>({2 + d_v});
    w.attention = xt::zeros<float>({d_v});
    w.state(0) = -std::numeric_limits<float>::infinity();
    if (n == 0) return w;  // no key: the empty state
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < n; ++j) m = std::max(m, double(k.scores(j)));
    std::vector<double> e(n);
    double l = 0;
    for (std::size_t j = 0; j < n; ++j) {
        e[j] = std::exp(double(k.scores(j)) - m);
        l += e[j];
    }
    double magnitude = l, largest = 0;
    for (std::size_t c = 0; c < d_v; ++c) {
        double o = 0, size = 0, attention = 0;
        for (std::size_t j = 0; j < n; ++j) {
            const double v = k.values(j, c);
            o += e[j] * v;
            size += e[j] * std::fabs(v);
            attention += e[j] / l * v;  // softmax(scores)_j times value j
            largest = std::max(largest, std::fabs(v));
        }
        w.state(2 + c) = static_cast<float>(o);
        w.attention(c) = static_cast<float>(attention);
        magnitude = std::max(magnitude, size);
    }
    w.state(0) = static_cast<float>(m);
    w.state(1) = static_cast<float>(l);
    w.state_tolerance = 1e-5f * static_cast<float>(std::max(1.0, magnitude));
    w.attention_tolerance = 2e-5f * static_cast<float>(std::max(1.0, largest));
    return w;
}

// The orders in which the tests merge parts.
enum class Plan { left_to_right, right_to_left, tree, ring };

const char* plan_text(Plan plan) {
    switch (plan) {
        case Plan::left_to_right:
            return "into an empty state, the first part first";
        case Plan::right_to_left:
            return "into an empty state, the last part first";
        case Plan::tree:
            return "in a tree (the parts in pairs, then the pairs in pairs, ...)";
        case Plan::ring:
            return "as a ring does (the middle part's state, then its left neighbours' in turn)";
    }
    return "";
}

// The parts merged in the order of `plan`, each merge by `merge` (the answer's, or a
// mistake's formula).
template <class MergeFn>
PartialAttention merged(const std::vector<PartialAttention>& parts, Plan plan, MergeFn merge) {
    const std::size_t K = parts.size();
    if (plan == Plan::tree) {
        std::vector<PartialAttention> level = parts;
        while (level.size() > 1) {
            std::vector<PartialAttention> next;
            for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
                PartialAttention pair = level[i];
                merge(pair, level[i + 1]);
                next.push_back(pair);
            }
            if (level.size() % 2 == 1) next.push_back(level.back());
            level = next;
        }
        return level.front();
    }
    if (plan == Plan::ring) {  // rank K / 2: its own part, then rank r - 1's, r - 2's, ...
        const std::size_t r = K / 2;
        PartialAttention state = parts[r];
        for (std::size_t s = 1; s < K; ++s) merge(state, parts[(r + K - s) % K]);
        return state;
    }
    PartialAttention state;  // empty
    for (std::size_t i = 0; i < K; ++i)
        merge(state, parts[plan == Plan::left_to_right ? i : K - 1 - i]);
    return state;
}

// `matcher` with the result of every mistake's formula attached, in the formulas' words:
// `run(merge)` merges as the test does, with `merge`; `view` turns the state into numbers.
template <class Run, class View>
IsCloseMatcher<1> with_merge_mistakes(IsCloseMatcher<1> matcher, Run run, View view) {
    for (const auto& f : merge_mistakes.list()) {
        try {
            matcher.or_mistake(view(run(f.wrong)), f.mistake);
        } catch (const std::exception&) {  // a formula that refuses these states
        }
    }
    return matcher;
}

}  // namespace

TEST_CASE("11.2 merge_partials: the worked example, both ways round", "[11.2]") {
    const PartialAttention a{3.0f, 1.5f, {3.0f, 1.5f}}, b{5.0f, 1.0f, {2.0f, 4.0f}};
    for (bool swapped : {false, true}) {
        const PartialAttention& first = swapped ? b : a;
        const PartialAttention& second = swapped ? a : b;
        const auto run = [&](auto merge) {
            PartialAttention into = first;
            merge(into, second);
            return into;
        };
        INFO("into = " << state_text(first) << ", other = " << state_text(second)
                       << "; the merged state {max, sum, out...}");
        CHECK_THAT(
            as_vector(run(answer_merge)),
            with_merge_mistakes(IsClose(Vector{5.0f, 1.20300293f, 2.40600586f, 4.20300293f}, 1e-5f),
                                run, as_vector));
    }
}

TEST_CASE(
    "11.2 merge_partials: a query's keys in parts, merged in four orders, give its attention "
    "over all of them in one piece",
    "[11.2]") {
    struct Setup {
        std::size_t d_v;
        float score_scale, score_shift, value_scale;
        bool no_out;                    // an empty part's out holds no numbers (else zeros)
        std::vector<std::size_t> cuts;  // part i holds keys cuts[i]..cuts[i + 1]-1
    };
    const Setup setups[] = {
        {3, 1.0f, 0.0f, 1.0f, false, {0, 3, 3, 4, 9, 12}},         // an empty part, a part of 1
        {1, 300.0f, 0.0f, 1.0f, false, {0, 5, 10, 15, 20}},        // maxima hundreds apart
        {8, 100.0f, 0.0f, 10.0f, true, {0, 1, 7, 7, 16, 30, 33}},  // an empty part, no numbers
        {2, 1.0f, -500.0f, 1.0f, false, {0, 2, 6}},                // every score far below 0
    };
    std::uint64_t seed = 110;
    for (const Setup& s : setups) {
        const std::size_t n = s.cuts.back();
        const Keys k = random_keys(n, s.d_v, s.score_scale, s.score_shift, s.value_scale, ++seed);
        std::vector<PartialAttention> parts;
        std::string sizes;
        for (std::size_t i = 0; i + 1 < s.cuts.size(); ++i) {
            parts.push_back(part_of(k, s.cuts[i], s.cuts[i + 1], s.no_out));
            sizes += (i ? ", " : "") + std::to_string(s.cuts[i + 1] - s.cuts[i]);
        }
        const std::string what =
            std::to_string(n) + " keys, d_v = " + std::to_string(s.d_v) + ", scores of size " +
            number_text(s.score_scale) +
            (s.score_shift != 0 ? " around " + number_text(s.score_shift) : std::string()) +
            ", values of size " + number_text(s.value_scale) + ", in parts of " + sizes + " keys" +
            (s.no_out ? " (an empty part's out holds no numbers)"
                      : " (an empty part's out holds zeros)");
        const Whole w = whole_of(k);
        for (Plan plan : {Plan::left_to_right, Plan::right_to_left, Plan::tree, Plan::ring}) {
            const auto run = [&](auto merge) { return merged(parts, plan, merge); };
            const PartialAttention got = run(answer_merge);
            {
                INFO(what << ", merged " << plan_text(plan)
                          << ": the merged state {max, sum, out...}, against the state of all "
                             "the keys in one piece");
                CHECK_THAT(as_vector(got),
                           with_merge_mistakes(
                               IsClose(w.state, w.state_tolerance)
                                   .or_mistake_if_not_finite(
                                       "NaN or inf: e^(m_part - m) overflows when m is not the "
                                       "larger maximum, and e^(-inf - (-inf)) is NaN"),
                               run, as_vector));
            }
            {
                INFO(what << ", merged " << plan_text(plan)
                          << ": out / sum of the merged state, which must be softmax(scores) "
                             "times the values");
                CHECK_THAT(finished(got),
                           with_merge_mistakes(IsClose(w.attention, w.attention_tolerance), run,
                                               finished));
            }
        }
    }
}

TEST_CASE("11.2 merge_partials: an empty state changes nothing, on either side; two stay empty",
          "[11.2]") {
    const float inf = std::numeric_limits<float>::infinity();
    const PartialAttention full{2.0f, 3.0f, {1.0f, -1.0f}};
    const PartialAttention no_out{};  // max -inf, sum 0, out with no numbers
    const PartialAttention zeros{-inf, 0.0f, {0.0f, 0.0f}};
    struct Case {
        const char* what;
        PartialAttention into, other, expected;
    };
    const Case cases[] = {
        {"a state, then an empty one whose out holds no numbers: nothing changes", full, no_out,
         full},
        {"a state, then an empty one whose out holds zeros: nothing changes", full, zeros, full},
        {"an empty state (out with no numbers), then a state: it becomes that state", no_out, full,
         full},
        {"an empty state (out zeros), then a state: it becomes that state", zeros, full, full},
        {"two empty states (out with no numbers): still empty", no_out, no_out, no_out},
        {"two empty states (out zeros): still empty", zeros, zeros, zeros},
    };
    for (const Case& c : cases) {
        const auto run = [&](auto merge) {
            PartialAttention into = c.into;
            merge(into, c.other);
            return into;
        };
        INFO("into = " << state_text(c.into) << ", other = " << state_text(c.other) << ": "
                       << c.what << "; the state {max, sum, out...}");
        CHECK_THAT(as_vector(run(answer_merge)),
                   with_merge_mistakes(IsClose(as_vector(c.expected), 1e-6f), run, as_vector));
    }
}

TEST_CASE("11.2 merge_partials: refuses outputs of two sizes, and changes nothing then", "[11.2]") {
    PartialAttention into{1.0f, 2.0f, {1.0f, 2.0f, 3.0f}};
    const PartialAttention before = into;
    const PartialAttention other{2.0f, 1.0f, {1.0f, 2.0f, 3.0f, 4.0f, 5.0f}};
    CHECK_REFUSED(ex::merge_partials(into, other), "merge_partials", "3",
                  "both sizes (into.out's, 3)",
                  "into.out holds 3 numbers and other.out 5: outputs of two sizes do not add up");
    into = before;
    CHECK_REFUSED(ex::merge_partials(into, other), "merge_partials", "5",
                  "both sizes (other.out's, 5)",
                  "into.out holds 3 numbers and other.out 5: outputs of two sizes do not add up");
    INFO("a refused merge leaves into as it was: " << state_text(before) << "; it is now "
                                                   << state_text(into));
    CHECK_THAT(as_vector(into), IsClose(as_vector(before), 0));
}

TEST_CASE("11.2 merge_partials: outputs of two sizes are refused even when one state is empty",
          "[11.2]") {
    // An empty state (max -inf, sum 0) whose out holds zeros of another size: the sizes are
    // still two, and a caller that mixed up heads of two widths must hear of it.
    PartialAttention into{1.0f, 2.0f, {1.0f, 2.0f, 3.0f}};
    const PartialAttention empty{-std::numeric_limits<float>::infinity(), 0.0f, {0.0f, 0.0f}};
    CHECK_REFUSED(ex::merge_partials(into, empty), "merge_partials", "2",
                  "both sizes (other.out's, 2)",
                  "into.out holds 3 numbers and other.out 2 (zeros: other is empty): the sizes "
                  "are checked before anything else, an empty state's too");
    PartialAttention empty_into = empty;
    CHECK_REFUSED(ex::merge_partials(empty_into, into), "merge_partials", "3",
                  "both sizes (other.out's, 3)",
                  "into is empty but its out holds 2 numbers, other.out 3: two sizes");
}

TEST_CASE(
    "11.2 merge_partials: every split of up to 4 keys, d_v 1 and 2, then scores hundreds apart "
    "or far below 0 (the state: {max, sum, out...})",
    "[11.2]") {
    struct Split {
        std::size_t n, d_v, kind, split;  // keys 0..split-1 in into, the rest in other
    };
    std::vector<Split> sizes;
    for (std::size_t n = 0; n <= 4; ++n)
        for (std::size_t d_v = 1; d_v <= 2; ++d_v)
            for (std::size_t kind = 0; kind <= 2; ++kind)
                for (std::size_t split = 0; split <= n; ++split)
                    sizes.push_back({n, d_v, kind, split});
    check_every_size<1>(
        sizes,
        [](const Split& s, Trial<1>& t) {
            const char* kinds[] = {"", " (hundreds apart)", " (far below 0)"};
            Keys k;
            k.scores = readable_vector(s.n, 31);
            if (s.kind == 1) k.scores *= 200.0f;
            if (s.kind == 2) k.scores -= 1000.0f;
            k.values = readable_matrix(s.n, s.d_v, 32);
            PartialAttention into = part_of(k, 0, s.split);
            const PartialAttention other = part_of(k, s.split, s.n);
            t.input = named("scores", k.scores) + kinds[s.kind] + ", " + named("values", k.values) +
                      "\ninto = the state of the first " + std::to_string(s.split) + " keys " +
                      state_text(into) + ", other = the state of the rest " + state_text(other);
            t.expected = whole_of(k).state;
            ex::merge_partials(into, other);
            t.actual = as_vector(into);
        },
        1e-4f);
}

// ---------------------------------------------------------------- 11.3 ring source

namespace {

enum class RingMistake { wrong_way, no_modulo, off_by_one, wrapped };

// ring_source() with one mistake; the reference's refusals otherwise.
template <RingMistake how>
std::size_t source_with(std::size_t rank, std::size_t step, std::size_t ranks) {
    if (ranks == 0 || rank >= ranks || step >= ranks) throw std::invalid_argument("refused");
    if constexpr (how == RingMistake::wrong_way)
        return (rank + step) % ranks;
    else if constexpr (how == RingMistake::no_modulo)
        return rank - step;  // wraps round 2^64 when step > rank
    else if constexpr (how == RingMistake::off_by_one)
        return (rank + 2 * ranks - step - 1) % ranks;
    else
        return (rank - step) % ranks;  // the wrapped difference, mod P
}

const attn::test::MistakeFormulas<&attn::ex11::ring_source> ring_mistakes{
    {"the ring turned the wrong way ((r + s) mod P): every rank passes what it holds to rank "
     "r + 1, so at step s rank r holds the chunk of rank r - s",
     &source_with<RingMistake::wrong_way>},
    {"r - s without the modulo: when s > r the std::size_t subtraction wraps round to a number "
     "near 2^64; add P first, then take the remainder: (r + P - s) mod P",
     &source_with<RingMistake::no_modulo>},
    {"off by one step ((r - s - 1) mod P): at step 0 a rank holds its own chunk, at step 1 its "
     "left neighbour's",
     &source_with<RingMistake::off_by_one>},
    {"(r - s) mod P in unsigned arithmetic: r - s wraps round 2^64 when s > r, and the "
     "remainder is right only when P divides 2^64 (a power of two); add P before subtracting: "
     "(r + P - s) mod P",
     &source_with<RingMistake::wrapped>}};

std::size_t answer_source(std::size_t rank, std::size_t step, std::size_t ranks) {
    return ex::ring_source(rank, step, ranks);
}

// Row r, column s: `source(r, s, P)`, whose chunk rank r holds at step s.
template <class Source>
Matrix sources_by(Source source, std::size_t P) {
    Matrix out = xt::zeros<float>({P, P});
    for (std::size_t r = 0; r < P; ++r)
        for (std::size_t s = 0; s < P; ++s) out(r, s) = static_cast<float>(source(r, s, P));
    return out;
}

// The ring passed along step by step: at step 0 every rank holds its own chunk; after each
// step every rank has passed what it held to rank r + 1 (the last to rank 0). Row r, column
// s: whose chunk rank r holds at step s.
Matrix ring_simulated(std::size_t P) {
    Matrix out = xt::zeros<float>({P, P});
    std::vector<std::size_t> holds(P);
    for (std::size_t r = 0; r < P; ++r) holds[r] = r;
    for (std::size_t s = 0; s < P; ++s) {
        for (std::size_t r = 0; r < P; ++r) out(r, s) = static_cast<float>(holds[r]);
        std::vector<std::size_t> next(P);
        for (std::size_t r = 0; r < P; ++r) next[(r + 1) % P] = holds[r];
        holds = next;
    }
    return out;
}

}  // namespace

TEST_CASE("11.3 ring_source: the worked example (rank 1 of 4, steps 0 to 3)", "[11.3]") {
    const auto run = [](auto source) {
        Vector out = xt::zeros<float>({std::size_t{4}});
        for (std::size_t s = 0; s < 4; ++s) out(s) = static_cast<float>(source(1, s, 4));
        return out;
    };
    auto matcher = IsClose(Vector{1, 0, 3, 2}, 0);
    for (const auto& f : ring_mistakes.list()) matcher.or_mistake(run(f.wrong), f.mistake);
    INFO("element s: whose chunk rank 1 of 4 holds at step s");
    CHECK_THAT(run(answer_source), matcher);
}

TEST_CASE(
    "11.3 ring_source: every rank and step, 1 to 8 ranks, against a ring passed along step by "
    "step (row r, column s)",
    "[11.3]") {
    std::vector<std::size_t> sizes;
    for (std::size_t P = 1; P <= 8; ++P) sizes.push_back(P);
    check_every_size<2>(
        sizes,
        [](const std::size_t& P, Trial<2>& t) {
            t.input = std::to_string(P) +
                      " ranks (row r, column s: whose chunk rank r holds at step s, as the ring "
                      "passes each chunk on to rank r + 1 at every step)";
            t.expected = ring_simulated(P);
            t.actual = sources_by(answer_source, P);
        },
        0);
}

TEST_CASE("11.3 ring_source: refuses 0 ranks, and a rank or a step past the last", "[11.3]") {
    CHECK_REFUSED(ex::ring_source(0, 0, 0), "ring_source", "ranks = 0",
                  "the number of ranks (ranks = 0)",
                  "a ring of 0 ranks holds nothing: refuse ranks = 0 before the remainder by it");
    CHECK_REFUSED(ex::ring_source(4, 1, 4), "ring_source", "rank = 4", "the rank (rank = 4)",
                  "4 ranks are ranks 0..3: rank 4 is one past the last");
    CHECK_REFUSED(ex::ring_source(1, 4, 4), "ring_source", "step = 4", "the step (step = 4)",
                  "a ring of 4 ranks has steps 0..3: after 3 passes every rank has seen every "
                  "chunk");
    // One rank: its only rank is 0 and its only step 0; the checks hold for P = 1 too.
    CHECK_REFUSED(ex::ring_source(1, 0, 1), "ring_source", "rank = 1", "the rank (rank = 1)",
                  "1 rank is rank 0 only: rank 1 is past the last, even on a ring of one");
    CHECK_REFUSED(ex::ring_source(0, 1, 1), "ring_source", "step = 1", "the step (step = 1)",
                  "a ring of 1 rank has step 0 only: step 1 is past the last");
}

// ---------------------------------------------------------------- 11.4 rank chunks

namespace {

enum class ChunkMistake { mirror_off_by_one, stripe, one_chunk, late_first };

// rank_chunks() with one mistake in zigzag; the reference's refusals otherwise.
template <ChunkMistake how>
std::vector<std::size_t> chunks_with(std::size_t rank, std::size_t ranks, Assignment a) {
    if (ranks == 0 || rank >= ranks) throw std::invalid_argument("refused");
    if (a == Assignment::contiguous) return {rank};
    if constexpr (how == ChunkMistake::mirror_off_by_one)
        return {rank, 2 * ranks - rank};
    else if constexpr (how == ChunkMistake::stripe)
        return {rank, ranks + rank};
    else if constexpr (how == ChunkMistake::one_chunk)
        return {rank};
    else
        return {2 * ranks - 1 - rank, rank};
}

const attn::test::MistakeFormulas<&attn::ex11::rank_chunks> chunk_mistakes{
    {"the mirror chunk off by one ({r, 2P - r}): the 2P chunks are 0..2P - 1, so rank r's late "
     "chunk is 2P - 1 - r (2P - r is past the last for rank 0, and leaves chunk P to no rank)",
     &chunks_with<ChunkMistake::mirror_off_by_one>},
    {"a stripe ({r, P + r}) instead of a mirror: rank r's work still grows with r; pair chunk r "
     "with 2P - 1 - r, so that the later its early chunk, the earlier its late one",
     &chunks_with<ChunkMistake::stripe>},
    {"zigzag gave one chunk ({r}): zigzag cuts the sequence in 2P chunks and gives rank r two "
     "of them, r and 2P - 1 - r",
     &chunks_with<ChunkMistake::one_chunk>},
    {"the two chunks in the other order ({2P - 1 - r, r}): the earlier comes first, "
     "{r, 2P - 1 - r}, so that a rank's positions are in order",
     &chunks_with<ChunkMistake::late_first>}};

std::vector<std::size_t> answer_chunks(std::size_t rank, std::size_t ranks, Assignment a) {
    return ex::rank_chunks(rank, ranks, a);
}

const char* assignment_text(Assignment a) {
    return a == Assignment::zigzag ? "zigzag (2P chunks)" : "contiguous (P chunks)";
}

// Row r: the chunks `chunks(r)` rank r holds, in order; -1 where a rank holds fewer chunks
// than another.
template <class Chunks>
Matrix chunk_rows(Chunks chunks, std::size_t P) {
    std::vector<std::vector<std::size_t>> held;
    std::size_t width = 0;
    for (std::size_t r = 0; r < P; ++r) {
        held.push_back(chunks(r));
        width = std::max(width, held.back().size());
    }
    Matrix out = xt::zeros<float>({P, width});
    out.fill(-1.0f);
    for (std::size_t r = 0; r < P; ++r)
        for (std::size_t i = 0; i < held[r].size(); ++i) out(r, i) = static_cast<float>(held[r][i]);
    return out;
}

// The chunks dealt out like cards: chunk c to rank c, and for zigzag, from chunk P on, back
// the other way (chunk P to rank P - 1, ..., the last to rank 0). Row r: rank r's, in order.
Matrix chunks_dealt(std::size_t P, Assignment a) {
    const std::size_t chunks = a == Assignment::zigzag ? 2 * P : P;
    std::vector<std::vector<std::size_t>> held(P);
    for (std::size_t c = 0; c < chunks; ++c) held[c < P ? c : 2 * P - 1 - c].push_back(c);
    return chunk_rows([&](std::size_t r) { return held[r]; }, P);
}

// The causal work of chunk c of L positions: the query at position p scores p + 1 keys.
double chunk_work(std::size_t c, std::size_t L) {
    double work = 0;
    for (std::size_t p = c * L; p < (c + 1) * L; ++p) work += static_cast<double>(p + 1);
    return work;
}

// Per rank, the causal work of the chunks `chunks(r)` it holds; per chunk 0..n_chunks-1, how
// many ranks hold it, and last, how many chunks past the last are held.
struct Balance {
    Vector work, holders;
};

template <class Chunks>
Balance balance_of(Chunks chunks, std::size_t P, std::size_t n_chunks, std::size_t L) {
    Balance b;
    b.work = xt::zeros<float>({P});
    b.holders = xt::zeros<float>({n_chunks + 1});
    for (std::size_t r = 0; r < P; ++r)
        for (std::size_t c : chunks(r)) {
            b.work(r) += static_cast<float>(chunk_work(c, L));
            b.holders(std::min(c, n_chunks)) += 1;
        }
    return b;
}

}  // namespace

TEST_CASE("11.4 rank_chunks: the worked example (4 ranks)", "[11.4]") {
    for (Assignment a : {Assignment::zigzag, Assignment::contiguous}) {
        const auto run = [&](auto deal) {
            return chunk_rows([&](std::size_t r) { return deal(r, std::size_t{4}, a); }, 4);
        };
        auto matcher = IsClose(a == Assignment::zigzag ? Matrix{{0, 7}, {1, 6}, {2, 5}, {3, 4}}
                                                       : Matrix{{0}, {1}, {2}, {3}},
                               0);
        for (const auto& f : chunk_mistakes.list()) matcher.or_mistake(run(f.wrong), f.mistake);
        INFO("4 ranks, " << assignment_text(a) << "; row r: the chunks rank r holds, in order");
        CHECK_THAT(run(answer_chunks), matcher);
    }
}

TEST_CASE(
    "11.4 rank_chunks: zigzag gives every rank the same causal work, and every chunk one rank, "
    "1 to 8 ranks",
    "[11.4]") {
    const std::size_t L = 4;  // positions per chunk
    for (std::size_t P = 1; P <= 8; ++P) {
        const auto run = [&](auto deal) {
            return balance_of([&](std::size_t r) { return deal(r, P, Assignment::zigzag); }, P,
                              2 * P, L);
        };
        const Balance got = run(answer_chunks);
        double total = 0;  // every query of the 2P chunks, each scoring the keys up to it
        for (std::size_t p = 0; p < 2 * P * L; ++p) total += static_cast<double>(p + 1);
        {
            Vector equal = xt::zeros<float>({P});
            equal.fill(static_cast<float>(total / static_cast<double>(P)));
            auto matcher = IsClose(equal, 0);
            for (const auto& f : chunk_mistakes.list())
                matcher.or_mistake(run(f.wrong).work, f.mistake);
            INFO("zigzag on " << P << " ranks, chunks of " << L
                              << " positions: element r is the causal work of rank r's chunks "
                                 "(a query at position p scores p + 1 keys); every rank must "
                                 "have an equal share of the "
                              << total);
            CHECK_THAT(got.work, matcher);
        }
        {
            Vector once = xt::ones<float>({2 * P + 1});
            once(2 * P) = 0;
            auto matcher = IsClose(once, 0);
            for (const auto& f : chunk_mistakes.list())
                matcher.or_mistake(run(f.wrong).holders, f.mistake);
            INFO("zigzag on " << P
                              << " ranks: element c is how many ranks hold chunk c (each "
                                 "exactly one), the last how many chunks past chunk "
                              << 2 * P - 1 << " are held (none)");
            CHECK_THAT(got.holders, matcher);
        }
        {
            Vector once = xt::ones<float>({P + 1});
            once(P) = 0;
            INFO("contiguous on " << P
                                  << " ranks: element c is how many ranks hold chunk c (each "
                                     "exactly one), the last how many chunks past chunk "
                                  << P - 1 << " are held (none)");
            CHECK_THAT(
                balance_of(
                    [&](std::size_t r) { return answer_chunks(r, P, Assignment::contiguous); }, P,
                    P, L)
                    .holders,
                IsClose(once, 0));
        }
    }
}

TEST_CASE(
    "11.4 rank_chunks: every rank, 1 to 8 ranks, contiguous and zigzag (row r: rank r's chunks)",
    "[11.4]") {
    struct Dealt {
        std::size_t ranks;
        Assignment a;
    };
    std::vector<Dealt> sizes;
    for (std::size_t P = 1; P <= 8; ++P)
        for (Assignment a : {Assignment::contiguous, Assignment::zigzag}) sizes.push_back({P, a});
    check_every_size<2>(
        sizes,
        [](const Dealt& s, Trial<2>& t) {
            t.input = std::to_string(s.ranks) + " ranks, " + assignment_text(s.a) +
                      " (row r: the chunks rank r holds, in order)";
            t.expected = chunks_dealt(s.ranks, s.a);
            t.actual =
                chunk_rows([&](std::size_t r) { return answer_chunks(r, s.ranks, s.a); }, s.ranks);
        },
        0);
}

TEST_CASE("11.4 rank_chunks: refuses 0 ranks and a rank past the last", "[11.4]") {
    CHECK_REFUSED(ex::rank_chunks(0, 0, Assignment::zigzag), "rank_chunks", "ranks = 0",
                  "the number of ranks (ranks = 0)", "0 ranks hold no chunk");
    CHECK_REFUSED(ex::rank_chunks(0, 0, Assignment::contiguous), "rank_chunks", "ranks = 0",
                  "the number of ranks (ranks = 0)", "0 ranks hold no chunk");
    CHECK_REFUSED(ex::rank_chunks(4, 4, Assignment::zigzag), "rank_chunks", "rank = 4",
                  "the rank (rank = 4)", "4 ranks are ranks 0..3: rank 4 is one past the last");
    CHECK_REFUSED(ex::rank_chunks(4, 4, Assignment::contiguous), "rank_chunks", "rank = 4",
                  "the rank (rank = 4)", "4 ranks are ranks 0..3: rank 4 is one past the last");
}

// ---------------------------------------------------------------- 11.5 ring all-reduce

namespace {

enum class ReduceMistake {
    reduce_scatter_only,
    whole_data_per_step,
    ignores_ranks,
    data_once,
    integer_division,
    integer_quotient
};

// ring_allreduce_bytes() with one mistake; the reference's refusal otherwise.
template <ReduceMistake how>
double bytes_with(double bytes, std::size_t ranks) {
    if (ranks == 0) throw std::invalid_argument("refused");
    const double P = static_cast<double>(ranks);
    if constexpr (how == ReduceMistake::reduce_scatter_only)
        return (P - 1.0) / P * bytes;
    else if constexpr (how == ReduceMistake::whole_data_per_step)
        return 2.0 * (P - 1.0) * bytes;
    else if constexpr (how == ReduceMistake::ignores_ranks)
        return 2.0 * bytes;
    else if constexpr (how == ReduceMistake::data_once)
        return bytes;
    else if constexpr (how == ReduceMistake::integer_division)
        return static_cast<double>(2 * ((ranks - 1) / ranks)) * bytes;  // 0
    else
        return static_cast<double>(2 * (ranks - 1) / ranks) * bytes;  // 1 above one rank
}

const attn::test::MistakeFormulas<&attn::ex11::ring_allreduce_bytes> reduce_mistakes{
    {"counted the reduce-scatter only ((P - 1) / P times the data): the all-gather that follows "
     "sends as much again, 2 (P - 1) / P in all",
     &bytes_with<ReduceMistake::reduce_scatter_only>},
    {"the whole data sent at every step (2 (P - 1) times the data): each of the 2 (P - 1) steps "
     "sends one piece, a P-th of the data",
     &bytes_with<ReduceMistake::whole_data_per_step>},
    {"2 times the data whatever P: a rank sends 2 (P - 1) pieces of a P-th of the data each, "
     "2 (P - 1) / P times the data, and nothing on one rank",
     &bytes_with<ReduceMistake::ignores_ranks>},
    {"the data once whatever P (as the root of a reduce-then-broadcast might count): a rank of "
     "the ring sends 2 (P - 1) / P times the data, and nothing on one rank",
     &bytes_with<ReduceMistake::data_once>},
    {"(P - 1) / P in integer arithmetic, which is 0: compute in double, "
     "2.0 * (P - 1) / P * bytes",
     &bytes_with<ReduceMistake::integer_division>},
    {"2 (P - 1) / P in integer arithmetic, which is 1 for every P above 1: the fraction of the "
     "data is not a whole number; compute in double, 2.0 * (P - 1) / P * bytes",
     &bytes_with<ReduceMistake::integer_quotient>}};

double answer_bytes(double bytes, std::size_t ranks) {
    return ex::ring_allreduce_bytes(bytes, ranks);
}

// A ring all-reduce of P ranks, simulated piece by piece: rank r holds P pieces (numbers),
// and every rank must end with each piece summed over the ranks. Reduce-scatter: at step s
// rank r sends its piece (r - s) mod P to rank r + 1, which adds it to its own; after P - 1
// steps rank r holds the whole sum of piece r + 1. All-gather: at step s rank r sends piece
// (r + 1 - s) mod P, which rank r + 1 keeps. Returns the pieces each rank sent, or 0 pieces
// with `summed` false when the sums come out wrong or the ranks sent unequal numbers.
struct RingCount {
    std::size_t pieces = 0;
    bool summed = false;
};

RingCount ring_allreduce_simulated(std::size_t P) {
    std::vector<std::vector<double>> data(P, std::vector<double>(P));
    std::vector<double> sums(P, 0.0);
    for (std::size_t r = 0; r < P; ++r)
        for (std::size_t i = 0; i < P; ++i) {
            data[r][i] = static_cast<double>(1 + r + 100 * i);
            sums[i] += data[r][i];
        }
    std::vector<std::size_t> sent(P, 0);
    std::vector<std::pair<std::size_t, double>> message(P);  // (piece, numbers) rank r sends
    for (std::size_t phase = 0; phase < 2; ++phase)
        for (std::size_t s = 0; s + 1 < P; ++s) {
            for (std::size_t r = 0; r < P; ++r) {
                const std::size_t piece = (r + phase + P - s) % P;
                message[r] = {piece, data[r][piece]};
                ++sent[r];
            }
            for (std::size_t r = 0; r < P; ++r) {
                double& held = data[(r + 1) % P][message[r].first];
                held = phase == 0 ? held + message[r].second : message[r].second;
            }
        }
    RingCount count;
    count.summed = true;
    for (std::size_t r = 0; r < P; ++r) {
        count.summed = count.summed && sent[r] == sent[0];
        for (std::size_t i = 0; i < P; ++i) count.summed = count.summed && data[r][i] == sums[i];
    }
    count.pieces = count.summed ? sent[0] : 0;
    return count;
}

}  // namespace

TEST_CASE("11.5 ring_allreduce_bytes: the worked example, 1 GB on 4 ranks, and one rank",
          "[11.5]") {
    const auto run = [](auto bytes_sent) {
        return Vector{static_cast<float>(bytes_sent(1e9, 4)),
                      static_cast<float>(bytes_sent(1e9, 1))};
    };
    auto matcher = IsClose(Vector{1.5e9f, 0.0f}, 1.0f);
    for (const auto& f : reduce_mistakes.list()) matcher.or_mistake(run(f.wrong), f.mistake);
    INFO(
        "element 0: the bytes each rank sends to all-reduce 1e9 bytes on 4 ranks; element 1: "
        "on 1 rank");
    CHECK_THAT(run(answer_bytes), matcher);
}

TEST_CASE(
    "11.5 ring_allreduce_bytes: 1 to 16 ranks, against the pieces a simulated ring all-reduce "
    "sends",
    "[11.5]") {
    const double bytes = 720720;  // a multiple of 1..16: every piece a whole number of bytes
    Vector expected = xt::zeros<float>({std::size_t{16}});
    for (std::size_t P = 1; P <= 16; ++P) {
        const RingCount ring = ring_allreduce_simulated(P);
        INFO("the test's own simulation of a ring all-reduce on " << P << " ranks");
        REQUIRE(ring.summed);
        expected(P - 1) =
            static_cast<float>(static_cast<double>(ring.pieces) * bytes / static_cast<double>(P));
    }
    const auto run = [&](auto bytes_sent) {
        Vector out = xt::zeros<float>({std::size_t{16}});
        for (std::size_t P = 1; P <= 16; ++P) out(P - 1) = static_cast<float>(bytes_sent(bytes, P));
        return out;
    };
    auto matcher = IsClose(expected, 0.01f);
    for (const auto& f : reduce_mistakes.list()) matcher.or_mistake(run(f.wrong), f.mistake);
    INFO(
        "element P - 1: the bytes each rank sends to all-reduce 720720 bytes on P ranks, "
        "counted as the pieces of 720720 / P bytes each rank sends in a simulated ring");
    CHECK_THAT(run(answer_bytes), matcher);
}

TEST_CASE("11.5 ring_allreduce_bytes: data that does not cut into whole bytes", "[11.5]") {
    // 10 bytes on 3 ranks: pieces of 10/3 bytes, 2 (P - 1) = 4 of them: 40/3 bytes. The model
    // counts fractions of a byte (it is a model of time, bytes / beta), not whole bytes.
    for (const auto& [bytes, P] : {std::pair{10.0, std::size_t{3}}, std::pair{7.0, std::size_t{4}},
                                   std::pair{1.0, std::size_t{6}}}) {
        const double expected = 2.0 * static_cast<double>(P - 1) * (bytes / static_cast<double>(P));
        INFO(bytes << " bytes on " << P << " ranks: 2 (P - 1) pieces of " << bytes << " / " << P
                   << " bytes each, " << expected << " bytes (a fraction: no rounding to whole "
                   << "bytes)");
        CHECK(ex::ring_allreduce_bytes(bytes, P) == Approx(expected).epsilon(1e-12));
    }
}

TEST_CASE("11.5 ring_allreduce_bytes: refuses 0 ranks", "[11.5]") {
    CHECK_REFUSED(ex::ring_allreduce_bytes(1e6, 0), "ring_allreduce_bytes", "ranks = 0",
                  "the number of ranks (ranks = 0)",
                  "0 ranks hold nothing to sum: refuse ranks = 0 (dividing by it gives NaN or "
                  "inf)");
}
