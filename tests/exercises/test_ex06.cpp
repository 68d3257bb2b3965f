// Tests for the chapter 06 exercises; the tag ([6.1]) is the exercise's number.
//
// Expected values: the worked examples of exercises.hpp (by hand, checked with Python's
// math module) and chapter 01's attention, which tests/reference/ch01.txt checks against
// PyTorch.
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "common/random.hpp"
#include "every_size.hpp"
#include "matchers.hpp"
#include "unchanged.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
// The exercises as the tests call them (ex::name): each call fails the test when the answer
// changes an argument it takes by const reference (tests/support/unchanged.hpp).
namespace ex {
using namespace attn::ex06;  // the exercises' types
using attn::test::KeepsInputs;
constexpr KeepsInputs<&attn::ex06::append> append{"append", "cache", "key", "value"};
constexpr KeepsInputs<&attn::ex06::attend_cached> attend_cached{"attend_cached", "cache", "query"};
constexpr KeepsInputs<&attn::ex06::ring_slot> ring_slot{"ring_slot", "position", "window"};
constexpr KeepsInputs<&attn::ex06::kv_cache_bytes> kv_cache_bytes{
    "kv_cache_bytes", "layers", "kv_heads", "d_head", "tokens", "bytes_per_number", "batch"};
}  // namespace ex

namespace {
ex::HeadCache empty_cache(std::size_t capacity, std::size_t d_head) {
    return {xt::zeros<float>({capacity, d_head}), xt::zeros<float>({capacity, d_head}), 0};
}

// ring_slot of positions 0..count-1, as a vector a matcher can compare.
Vector slots(std::size_t count, std::size_t window) {
    Vector out = xt::zeros<float>({count});
    for (std::size_t p = 0; p < count; ++p) out(p) = static_cast<float>(ex::ring_slot(p, window));
    return out;
}
}  // namespace

// ---------------------------------------------------------------- 6.1 append

TEST_CASE("6.1 append: positions go one after the other", "[6.1]") {
    ex::HeadCache cache = empty_cache(3, 2);
    ex::append(cache, Vector{1, 2}, Vector{3, 4});
    ex::append(cache, Vector{5, 6}, Vector{7, 8});
    CHECK_THAT(Vector{static_cast<float>(cache.length)},
               IsClose(Vector{2}, 0)
                   .or_mistake(Vector{4}, "each append counts twice: one position, one more"));
    CHECK_THAT(cache.keys,
               IsClose(Matrix{{1, 2}, {5, 6}, {0, 0}}, 0)
                   .or_mistake(Matrix{{5, 6}, {0, 0}, {0, 0}},
                               "overwrites the cache instead of appending: the new key goes in row "
                               "`length`, after the ones stored")
                   .or_mistake(Matrix{{1, 2}, {0, 0}, {5, 6}},
                               "appends twice (or skips a row): position p belongs in row p"));
    CHECK_THAT(cache.values, IsClose(Matrix{{3, 4}, {7, 8}, {0, 0}}, 0));
}

TEST_CASE("6.1 append: rejects a position that does not fit, or a key of another width", "[6.1]") {
    ex::HeadCache cache = empty_cache(2, 2);
    ex::append(cache, Vector{1, 2}, Vector{3, 4});
    ex::append(cache, Vector{1, 2}, Vector{3, 4});
    CHECK_SHAPE_ERROR(ex::append(cache, Vector{1, 2}, Vector{3, 4}), "append", "2",
                      "the cache holds its capacity of 2 positions");
    ex::HeadCache other = empty_cache(2, 2);
    CHECK_SHAPE_ERROR(ex::append(other, Vector{1, 2, 3}, Vector{3, 4}), "append", "[3]",
                      "key [3] does not have d_head = 2");
}

// ---------------------------------------------------------------- 6.2 attend cached

TEST_CASE("6.2 attend_cached: probe: one cached position returns its value", "[6.2]") {
    ex::HeadCache cache = empty_cache(4, 3);
    cache.keys(0, 0) = 2.0f;
    cache.values(0, 0) = 1.5f;
    cache.values(0, 1) = -2.0f;
    cache.values(0, 2) = 0.5f;
    cache.length = 1;
    INFO(
        "probe: with one cached position its weight is 1, whatever the query and the scale, so "
        "the answer must be that position's value; a difference here is in which rows are "
        "read (only 0..length-1) or in how the weights are normalised");
    CHECK_THAT(ex::attend_cached(cache, Vector{1, -1, 3}), IsClose(Vector{1.5f, -2.0f, 0.5f}));
}

TEST_CASE("6.2 attend_cached: the worked example", "[6.2]") {
    ex::HeadCache cache = empty_cache(3, 2);  // one unused row after the two positions
    cache.keys = Matrix{{1, 0}, {0, 1}, {0, 0}};
    cache.values = Matrix{{1, 2}, {3, 4}, {0, 0}};
    cache.length = 2;
    CHECK_THAT(
        ex::attend_cached(cache, Vector{0, 2}),
        IsClose(Vector{2.60885937f, 3.60885937f})
            .or_mistake(Vector{3, 4},
                        "the new query attends only to itself: it sees every cached position")
            .or_mistake(Vector{1, 2},
                        "the newest cached position, row length - 1 (the new token's own key), is "
                        "left out: attend over rows 0..length-1")
            .or_mistake(
                Vector{2.18210450f, 3.01852540f},
                "attends to the unused rows of the cache too: only rows 0..length-1 hold positions")
            .or_mistake(
                Vector{2.76159416f, 3.76159416f},
                "missing 1/sqrt(d_head): divide the scores by sqrt(d_head) before softmax"));
}

TEST_CASE("6.2 attend_cached: equals chapter 01's attention over the stored positions", "[6.2]") {
    attn::Rng rng(6);
    ex::HeadCache cache = empty_cache(10, 4);
    cache.keys = attn::random_normal(10, 4, rng);
    cache.values = attn::random_normal(10, 4, rng);
    cache.length = 7;
    const Vector q = attn::random_normal(4, rng);
    const Matrix k = xt::view(cache.keys, xt::range(0, 7), xt::all());
    const Matrix v = xt::view(cache.values, xt::range(0, 7), xt::all());
    const Vector last_only = xt::row(cache.values, 6);
    CHECK_THAT(
        ex::attend_cached(cache, q),
        IsClose(attn::attend(q, k, v).output)
            .or_mistake(last_only,
                        "the new query attends only to itself: it sees every cached position"));
}

TEST_CASE("6.2 attend_cached: rejects decoding before anything is cached", "[6.2]") {
    CHECK_SHAPE_ERROR(ex::attend_cached(empty_cache(3, 2), Vector{1, 0}), "attend_cached", "empty",
                      "an empty cache: nothing was prefilled");
    ex::HeadCache cache = empty_cache(3, 2);
    cache.length = 1;
    CHECK_SHAPE_ERROR(ex::attend_cached(cache, Vector{1, 0, 0}), "attend_cached", "[3]",
                      "query [3] does not have d_head = 2");
}

// ---------------------------------------------------------------- 6.3 ring slot

TEST_CASE("6.3 ring_slot: position p in slot p mod window", "[6.3]") {
    CHECK_THAT(
        slots(10, 4),
        IsClose(Vector{0, 1, 2, 3, 0, 1, 2, 3, 0, 1}, 0)
            .or_mistake(Vector{1, 2, 3, 0, 1, 2, 3, 0, 1, 2},
                        "the ring buffer wraps off by one: position 0 is slot 0")
            .or_mistake(Vector{0, 1, 2, 0, 1, 2, 0, 1, 2, 0},
                        "the ring has window - 1 slots: it needs window of them, p mod window"));
    CHECK_THAT(slots(3, 1), IsClose(Vector{0, 0, 0}, 0));
    // A position is a std::size_t: one past 2^32 - 1 is still a position of its own (a
    // 32-bit counter would wrap to 4 and say slot 4 mod 3 = 1).
    const std::size_t far = (std::size_t{1} << 32) + 4;
    INFO(
        "ring_slot(2^32 + 4, 3): 2^32 + 4 = 3 * 1431655765 + 5, so slot 5 mod 3 = 2; a "
        "position kept in 32 bits wraps to 4, slot 1");
    CHECK(ex::ring_slot(far, 3) == 2);
}

TEST_CASE("6.3 ring_slot: rejects a window of 0", "[6.3]") {
    CHECK_SHAPE_ERROR(ex::ring_slot(3, 0), "ring_slot", "0", "a window of 0 slots holds nothing");
}

// ---------------------------------------------------------------- 6.4 memory

TEST_CASE("6.4 kv_cache_bytes: Llama-3-8B at 4k tokens in fp16 is 512 MiB", "[6.4]") {
    const Vector got{static_cast<float>(ex::kv_cache_bytes(32, 8, 128, 4096, 2, 1))};
    CHECK_THAT(
        got,
        IsClose(Vector{536870912.0f}, 0)
            .or_mistake(Vector{268435456.0f},
                        "the factor 2 is missing: the cache holds a key and a value per token"));
}

TEST_CASE("6.4 kv_cache_bytes: grows with every factor, batch included", "[6.4]") {
    const Vector got{static_cast<float>(ex::kv_cache_bytes(12, 12, 64, 1024, 4, 3)),
                     static_cast<float>(ex::kv_cache_bytes(1, 1, 1, 1, 1, 1))};
    CHECK_THAT(
        got,
        IsClose(Vector{2.0f * 12 * 12 * 64 * 1024 * 4 * 3, 2.0f}, 0)
            .or_mistake(Vector{12.0f * 12 * 64 * 1024 * 4 * 3, 1.0f},
                        "the factor 2 is missing: the cache holds a key and a value per token")
            .or_mistake(Vector{2.0f * 12 * 12 * 64 * 1024 * 4, 2.0f}, "the batch is left out"));
}

TEST_CASE("6.4 kv_cache_bytes: rejects a zero, whichever argument it is", "[6.4]") {
    CHECK_SHAPE_ERROR(ex::kv_cache_bytes(32, 0, 128, 4096, 2, 1), "kv_cache_bytes", "kv_heads = 0",
                      "0 key/value heads");
    CHECK_SHAPE_ERROR(ex::kv_cache_bytes(0, 8, 128, 4096, 2, 1), "kv_cache_bytes", "layers = 0",
                      "0 layers");
    CHECK_SHAPE_ERROR(ex::kv_cache_bytes(32, 8, 0, 4096, 2, 1), "kv_cache_bytes", "d_head = 0",
                      "heads of width 0");
    CHECK_SHAPE_ERROR(ex::kv_cache_bytes(32, 8, 128, 0, 2, 1), "kv_cache_bytes", "tokens = 0",
                      "0 tokens");
    CHECK_SHAPE_ERROR(ex::kv_cache_bytes(32, 8, 128, 4096, 0, 1), "kv_cache_bytes",
                      "bytes_per_number = 0", "numbers of 0 bytes");
    CHECK_SHAPE_ERROR(ex::kv_cache_bytes(32, 8, 128, 4096, 2, 0), "kv_cache_bytes", "batch = 0",
                      "a batch of 0 sequences");
}

// ---------------------------------------------------------------- every size, smallest first
//
// Each exercise on inputs of growing size against an independent computation (chapter 01's
// attention over the stored rows, the modulo); a failure shows the smallest input that
// fails, whole. Then numbers past 32 bits.

using attn::test::check_every_size;
using attn::test::Dims;
using attn::test::dims_up_to;
using attn::test::named;
using attn::test::readable_matrix;
using attn::test::readable_vector;
using attn::test::Trial;

TEST_CASE("6.1 append: every capacity and number of positions from 1", "[6.1]") {
    std::vector<Dims> sizes;  // T: positions appended, d: spare capacity
    for (std::size_t n = 1; n <= 3; ++n)
        for (std::size_t spare = 0; spare <= 1; ++spare) sizes.push_back({n, spare});
    check_every_size<2>(
        sizes,
        [](const Dims& s, Trial<2>& t) {
            const std::size_t capacity = s.T + s.d;
            const Matrix keys = readable_matrix(s.T, 2, 1), values = readable_matrix(s.T, 2, 2);
            t.input = "capacity " + std::to_string(capacity) + ", d_head 2, append rows 0.." +
                      std::to_string(s.T - 1) + " of\n" + named("keys", keys) + "\n" +
                      named("values", values) +
                      "\n(the result: the cache's keys and values side by side, then a column "
                      "holding its length in row 0)";
            t.expected = xt::zeros<float>({capacity, std::size_t{5}});
            xt::view(t.expected, xt::range(0, s.T), xt::range(0, 2)) = keys;
            xt::view(t.expected, xt::range(0, s.T), xt::range(2, 4)) = values;
            t.expected(0, 4) = static_cast<float>(s.T);
            ex::HeadCache cache = empty_cache(capacity, 2);
            for (std::size_t i = 0; i < s.T; ++i)
                ex::append(cache, xt::row(keys, static_cast<long>(i)),
                           xt::row(values, static_cast<long>(i)));
            t.actual = xt::zeros<float>({capacity, std::size_t{5}});
            xt::view(t.actual, xt::all(), xt::range(0, 2)) = cache.keys;
            xt::view(t.actual, xt::all(), xt::range(2, 4)) = cache.values;
            t.actual(0, 4) = static_cast<float>(cache.length);
        },
        0);
}

TEST_CASE(
    "6.2 attend_cached: every length and width from 1, a cache with room to spare, then "
    "scores hundreds apart",
    "[6.2]") {
    std::vector<Dims> sizes = dims_up_to(4, 3);
    sizes.push_back({4, 103});  // d_head 3, numbers x 100
    check_every_size<1>(
        sizes,
        [](const Dims& s, Trial<1>& t) {
            const std::size_t d = s.d % 100;
            const float scale = s.d > 100 ? 100.0f : 1.0f;
            ex::HeadCache cache = empty_cache(s.T + 2, d);
            const Matrix keys = readable_matrix(s.T, d, 3) * scale,
                         values = readable_matrix(s.T, d, 4);
            xt::view(cache.keys, xt::range(0, s.T), xt::all()) = keys;
            xt::view(cache.values, xt::range(0, s.T), xt::all()) = values;
            cache.length = s.T;
            const Vector q = readable_vector(d, 5) * scale;
            t.input = "length " + std::to_string(s.T) + " of capacity " + std::to_string(s.T + 2) +
                      ", d_head " + std::to_string(d) + "\n" + named("query", q) + "\n" +
                      named("keys (stored rows)", keys) + "\n" +
                      named("values (stored rows)", values);
            t.expected = attn::attend(q, keys, values).output;
            {
                const Matrix q_row = xt::view(q, xt::newaxis(), xt::all());
                for (auto& [name, answer] : attn::test::attention_variants(q_row, keys, values))
                    t.variants.push_back({name, xt::view(answer, 0, xt::all())});
            }
            t.actual = ex::attend_cached(cache, q);
        },
        1e-4f);
}

TEST_CASE("6.3 ring_slot: every window from 1 to 7, positions 0..15 (not only powers of two)",
          "[6.3]") {
    std::vector<Dims> sizes;
    for (std::size_t window = 1; window <= 7; ++window) sizes.push_back({16, window});
    check_every_size<1>(
        sizes,
        [](const Dims& s, Trial<1>& t) {
            t.input = "window = " + std::to_string(s.d) + ", positions 0.." +
                      std::to_string(s.T - 1) + " (element p: the slot of position p)";
            t.expected = xt::zeros<float>({s.T});
            for (std::size_t p = 0; p < s.T; ++p) t.expected(p) = static_cast<float>(p % s.d);
            t.actual = slots(s.T, s.d);
        },
        0);
}

TEST_CASE("6.4 kv_cache_bytes: long contexts need more than 32 bits (Llama-3-8B at 128k tokens)",
          "[6.4]") {
    // 32 layers x 8 kv heads x d_head 128 x 131072 tokens x 2 bytes x 2 (keys and values) = 2^34;
    // 80 layers (Llama-3-70B) and a batch of 4: 5 x 2^35. Both exact as floats.
    const Vector got{static_cast<float>(ex::kv_cache_bytes(32, 8, 128, 131072, 2, 1)),
                     static_cast<float>(ex::kv_cache_bytes(80, 8, 128, 131072, 2, 4))};
    INFO("the byte counts pass 2^32: every factor and product must be std::size_t (64 bits)");
    CHECK_THAT(got, IsClose(Vector{17179869184.0f, 171798691840.0f}, 0));
}
