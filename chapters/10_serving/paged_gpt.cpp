#include "chapters/10_serving/paged_gpt.hpp"

#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/05_transformer_block/transformer_block.hpp"
#include "common/shape.hpp"

#include <string>
#include <utility>

namespace attn {

Matrix paged_gpt_logits(const Gpt& model, PagedKVCache& cache, PagedKVCache::SequenceId id,
                        const std::vector<std::size_t>& tokens) {
    constexpr const char* fn = "attn::paged_gpt_logits";
    const GptConfig& c = model.config();
    const PagedCacheConfig& k = cache.config();
    const std::size_t d_head = c.d_model / c.n_heads;
    if (k.n_layers != c.n_layers || k.n_kv_heads != c.n_kv_heads || k.d_head != d_head) {
        invalid_argument(fn, "the cache holds " + std::to_string(k.n_layers) + " layers of " +
                                 std::to_string(k.n_kv_heads) + " key/value heads of " +
                                 std::to_string(k.d_head) + " numbers; the model needs " +
                                 std::to_string(c.n_layers) + " of " +
                                 std::to_string(c.n_kv_heads) + " of " + std::to_string(d_head));
    }
    if (tokens.empty()) invalid_argument(fn, "no token to run");
    const std::size_t start = cache.length(id, fn), n_new = tokens.size();  // a known id
    if (start + n_new > c.context) {
        invalid_argument(fn, "sequence " + std::to_string(id) + " holds " + std::to_string(start) +
                                 " positions; " + std::to_string(n_new) +
                                 " more pass the model's context of " + std::to_string(c.context));
    }
    const Matrix embedded = model.embed(tokens, start, fn);  // checks the token ids
    const std::size_t need = cache.blocks_needed(id, n_new);
    if (need > cache.allocator().free_blocks()) {
        throw out_of_blocks(std::string(fn) + ": " + std::to_string(n_new) + " positions need " +
                            std::to_string(need) + " blocks, " +
                            std::to_string(cache.allocator().free_blocks()) + " are free");
    }
    for (std::size_t i = 0; i < n_new; ++i) cache.append_position(id);

    const std::size_t n = start + n_new;
    Matrix x = embedded;
    for (std::size_t l = 0; l < c.n_layers; ++l) {
        // The block hands its new keys and values [n_kv_heads, n_new, d_head] to the cache,
        // and attends over what the cache gives back for all n positions.
        const KeyValueSource through_cache = [&](Tensor3 keys, Tensor3 values) {
            std::vector<float> key_row(c.n_kv_heads * d_head), value_row(key_row.size());
            for (std::size_t i = 0; i < n_new; ++i) {
                for (std::size_t h = 0; h < c.n_kv_heads; ++h) {
                    for (std::size_t d = 0; d < d_head; ++d) {
                        key_row[h * d_head + d] = keys(h, i, d);
                        value_row[h * d_head + d] = values(h, i, d);
                    }
                }
                cache.store(l, id, start + i, key_row.data(), value_row.data());
            }
            Tensor3 all_keys = xt::empty<float>({c.n_kv_heads, n, d_head});
            Tensor3 all_values = xt::empty<float>({c.n_kv_heads, n, d_head});
            for (std::size_t h = 0; h < c.n_kv_heads; ++h) {
                for (std::size_t p = 0; p < n; ++p) {
                    const std::vector<float> kr = cache.key(l, id, h, p),
                                             vr = cache.value(l, id, h, p);
                    for (std::size_t d = 0; d < d_head; ++d) {
                        all_keys(h, p, d) = kr[d];
                        all_values(h, p, d) = vr[d];
                    }
                }
            }
            return std::pair{std::move(all_keys), std::move(all_values)};
        };
        x = transformer_block(x, model.weights().blocks[l], causal_mask(n_new, n), through_cache,
                              fn);
    }
    return model.output_logits(x);
}

}  // namespace attn
