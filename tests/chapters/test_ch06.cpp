// Chapter 06's own code: the cache gives the same logits and tokens as recomputing
// (chapter 05's model, the reference), its memory formula matches what it allocates, the
// ring buffer equals chapter 03's sliding-window mask, rejected input.
#include "chapters/06_kv_cache/kv_cache.hpp"

#include "chapters/03_causal_masking/causal_masking.hpp"
#include "common/random.hpp"
#include "matchers.hpp"

#include <xtensor/xview.hpp>

using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
using attn::test::NamesShapeError;

namespace {
attn::Gpt small_model(std::size_t n_kv_heads, std::uint64_t seed) {
    const attn::GptConfig c{20, 300, 16, 1, 4, n_kv_heads, 32, true};
    attn::Rng rng(seed);
    return attn::Gpt(c, attn::gpt2_init(c, rng));
}
}  // namespace

TEST_CASE("prefill gives the logits of the whole prompt, as recomputing does") {
    const attn::Gpt model = small_model(4, 1);
    attn::CachedGpt cached(model);
    const std::vector<std::size_t> prompt{3, 1, 4, 1, 5, 9, 2, 6};
    CHECK_THAT(cached.prefill(prompt), IsClose(model.logits(prompt), 1e-5f));
    CHECK(cached.position() == 8);
}

TEST_CASE(
    "cached decoding gives the recomputed logits at every step and the same greedy tokens for 256 "
    "steps") {
    for (std::size_t n_kv_heads : {4, 2}) {  // MHA, and GQA: the cache holds only 2 key/value heads
        INFO("n_kv_heads = " << n_kv_heads);
        const attn::Gpt model = small_model(n_kv_heads, 2);
        attn::Rng rng_full(5), rng_cached(5);
        const std::vector<std::size_t> prompt{1, 2, 3, 4};
        const std::vector<std::size_t> full = attn::generate(model, prompt, 256, 0.0f, rng_full);
        const std::vector<std::size_t> fast =
            attn::generate_cached(model, prompt, 256, 0.0f, rng_cached);
        CHECK(full == fast);
        attn::CachedGpt cached(model);
        cached.prefill(prompt);
        std::vector<std::size_t> seen = prompt;
        float worst = 0.0f;
        for (std::size_t step = 0; step < 40; ++step) {
            seen.push_back(full[prompt.size() + step]);
            const Vector got = cached.decode(seen.back());
            const Matrix all = model.logits(seen);
            worst = std::max(worst, static_cast<float>(
                                        xt::amax(xt::abs(got - xt::row(all, all.shape(0) - 1)))()));
        }
        CHECK(worst <= 1e-5f);
    }
}

TEST_CASE("sampled generation draws the same tokens with and without the cache") {
    const attn::Gpt model = small_model(2, 3);
    attn::Rng a(9), b(9);
    CHECK(attn::generate(model, {5, 6}, 30, 1.0f, a) ==
          attn::generate_cached(model, {5, 6}, 30, 1.0f, b));
}

TEST_CASE("the cache allocates what the memory formula says") {
    const attn::KVCache cache(4, 2, 16, 100);
    CHECK(cache.bytes() == attn::kv_cache_bytes(4, 2, 16, 100, sizeof(float)));
    CHECK(attn::kv_cache_bytes(32, 8, 128, 4096, 2) == 2u * 32 * 8 * 128 * 4096 * 2);
    const attn::Gpt model = small_model(2, 4);
    const attn::CachedGpt cached(model);
    CHECK(cached.cache().bytes() == attn::kv_cache_bytes(1, 2, 4, 300, sizeof(float)));
}

TEST_CASE("the ring buffer equals chapter 03's sliding-window mask, and its memory stays flat") {
    attn::Rng rng(6);
    const Matrix x = attn::random_normal(11, 16, rng);
    const attn::MultiHeadWeights w = attn::random_multi_head_weights(16, 4, 2, rng);
    std::size_t bytes = 0;
    const Matrix ring = attn::sliding_window_decode(x, w, 3, &bytes);
    const Matrix full = attn::multi_head_attention(x, w, attn::sliding_window_mask(11, 3)).output;
    CHECK_THAT(ring, IsClose(full, 1e-5f));
    CHECK(bytes == attn::kv_cache_bytes(1, 2, 4, 3, sizeof(float)));
    attn::RingKVCache r(1, 2, 3);
    for (std::size_t p = 0; p < 7; ++p) CHECK(r.slot(p) == p % 3);
}

TEST_CASE("chapter 06 rejects decoding past the capacity or before prefill, and bad shapes") {
    const attn::GptConfig c{10, 4, 8, 1, 2, 2, 16, true};
    attn::Rng rng(1);
    const attn::Gpt model(c, attn::gpt2_init(c, rng));
    attn::CachedGpt cached(model);
    CHECK_THROWS_MATCHES(cached.decode(1), std::invalid_argument,
                         NamesShapeError("attn::CachedGpt::decode", "prefill"));
    cached.prefill({1, 2, 3, 4});
    CHECK_THROWS_MATCHES(cached.decode(1), std::invalid_argument,
                         NamesShapeError("attn::CachedGpt::decode", "4"));
    CHECK_THROWS_MATCHES(cached.prefill({1, 12}), std::invalid_argument,
                         NamesShapeError("attn::CachedGpt::prefill", "12"));
    attn::KVCache cache(2, 2, 4, 3);
    CHECK_THROWS_MATCHES(
        cache.append(0, attn::Tensor3::from_shape({2, 4, 4}), attn::Tensor3::from_shape({2, 4, 4})),
        std::invalid_argument, NamesShapeError("attn::KVCache::append", "capacity of 3"));
    CHECK_THROWS_MATCHES(
        cache.append(0, attn::Tensor3::from_shape({3, 1, 4}), attn::Tensor3::from_shape({3, 1, 4})),
        std::invalid_argument, NamesShapeError("attn::KVCache::append", "[3, 1, 4]"));
    CHECK_THROWS_MATCHES(
        cache.append(2, attn::Tensor3::from_shape({2, 1, 4}), attn::Tensor3::from_shape({2, 1, 4})),
        std::invalid_argument, NamesShapeError("attn::KVCache::append", "layer = 2"));
    CHECK_THROWS_MATCHES(attn::generate_cached(model, {1, 2}, 3, 0.0f, rng), std::invalid_argument,
                         NamesShapeError("attn::generate_cached", "context of 4"));
}

TEST_CASE(
    "the caches name the layer or head asked for, and how many there are, when it does not exist") {
    const attn::KVCache cache(2, 3, 4, 5);  // 2 layers, 3 key/value heads
    const std::string no_head = "kv_head = 3 is outside 0..2 (3 key/value heads of the cache)";
    const std::string no_layer = "layer = 2 is outside 0..1 (2 layers of the cache)";
    CHECK_THROWS_MATCHES(cache.keys(0, 3), std::invalid_argument,
                         NamesShapeError("attn::KVCache::keys", no_head));
    CHECK_THROWS_MATCHES(cache.values(1, 3), std::invalid_argument,
                         NamesShapeError("attn::KVCache::values", no_head));
    CHECK_THROWS_MATCHES(cache.key_rows(1, 3), std::invalid_argument,
                         NamesShapeError("attn::KVCache::key_rows", no_head));
    CHECK_THROWS_MATCHES(cache.value_rows(0, 3), std::invalid_argument,
                         NamesShapeError("attn::KVCache::value_rows", no_head));
    CHECK_THROWS_MATCHES(cache.keys(2, 0), std::invalid_argument,
                         NamesShapeError("attn::KVCache::keys", no_layer));
    CHECK_THROWS_MATCHES(cache.value_rows(2, 0), std::invalid_argument,
                         NamesShapeError("attn::KVCache::value_rows", no_layer));
    CHECK_THROWS_MATCHES(cache.stored(2), std::invalid_argument,
                         NamesShapeError("attn::KVCache::stored", no_layer));
    // The last head of the last layer is there.
    CHECK_NOTHROW(cache.keys(1, 2));
    CHECK_NOTHROW(cache.value_rows(1, 2));
    const attn::RingKVCache ring(2, 4, 3);
    CHECK_THROWS_MATCHES(
        ring.keys(2), std::invalid_argument,
        NamesShapeError("attn::RingKVCache::keys",
                        "kv_head = 2 is outside 0..1 (2 key/value heads of the cache)"));
    CHECK_THROWS_MATCHES(
        ring.values(2), std::invalid_argument,
        NamesShapeError("attn::RingKVCache::values",
                        "kv_head = 2 is outside 0..1 (2 key/value heads of the cache)"));
}

TEST_CASE("sliding_window_decode names itself for a window of 0") {
    attn::Rng rng(7);
    const Matrix x = attn::random_normal(3, 8, rng);
    const attn::MultiHeadWeights w = attn::random_multi_head_weights(8, 2, 2, rng);
    CHECK_THROWS_MATCHES(
        attn::sliding_window_decode(x, w, 0), std::invalid_argument,
        NamesShapeError("attn::sliding_window_decode", "'window' must be at least 1"));
}
