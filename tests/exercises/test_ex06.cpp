// Tests for the chapter 06 exercises; the tag ([6.1]) is the exercise's number.
//
// Expected values: the worked examples of exercises.hpp (by hand, checked with Python's
// math module) and chapter 01's attention, which tests/reference/ch01.txt checks against
// PyTorch.
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "common/random.hpp"
#include "matchers.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
namespace ex = attn::ex06;

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
                        "the new token's own key is missing: append it before attending")
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

TEST_CASE("6.4 kv_cache_bytes: rejects a zero", "[6.4]") {
    CHECK_SHAPE_ERROR(ex::kv_cache_bytes(32, 0, 128, 4096, 2, 1), "kv_cache_bytes", "kv_heads = 0",
                      "0 key/value heads");
}
