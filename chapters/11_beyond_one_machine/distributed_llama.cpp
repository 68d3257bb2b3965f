#include "chapters/11_beyond_one_machine/distributed_llama.hpp"

#include "chapters/04_multi_head_attention/multi_head_attention.hpp"
#include "chapters/05_transformer_block/transformer_block.hpp"
#include "common/errors.hpp"
#include "common/shape.hpp"

#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace attn {

namespace {

// The positions of the next `count` tokens after `start`, checked against seq_len.
std::vector<std::size_t> next_positions(const char* fn, std::size_t start, std::size_t count,
                                        std::size_t seq_len) {
    if (count == 0) invalid_argument(fn, "no token to run");
    if (start + count > seq_len) {
        invalid_argument(
            fn, std::to_string(count) + " more tokens do not fit: " + std::to_string(start) +
                    " of seq_len = " + std::to_string(seq_len) + " positions are used");
    }
    std::vector<std::size_t> positions(count);
    std::iota(positions.begin(), positions.end(), start);
    return positions;
}

std::size_t head_size_of(const LlamaConfig& c) {
    return c.dim / c.n_heads;
}

}  // namespace

TensorParallelLlama::TensorParallelLlama(const Llama& model, Ranks& ranks)
    : model_(model),
      ranks_(ranks),
      shard_(shard_config(model.config(), ranks.size(), "attn::TensorParallelLlama")),
      cache_(model.config().n_layers,
             std::max<std::size_t>(1, model.config().n_kv_heads / ranks.size()),
             head_size_of(model.config()), model.config().seq_len),
      rope_(rope_tables(0, model.config().seq_len, head_size_of(model.config()),
                        model.config().rope_theta)) {
    const HeadShare share = head_share(model.config(), ranks.rank(), ranks.size());
    for (const LlamaLayer& l : model.weights().layers)
        layers_.push_back(shard_layer(l, model.config(), share));
}

Vector TensorParallelLlama::forward(const std::vector<std::size_t>& tokens) {
    constexpr const char* fn = "attn::TensorParallelLlama::forward";
    const std::vector<std::size_t> positions =
        next_positions(fn, cache_.length(), tokens.size(), model_.config().seq_len);
    Matrix x = model_.embed(tokens, fn);
    ContiguousKV kv(cache_);
    // Each rank's attention and feed-forward output is a part of the whole: W_o's and
    // W_down's inputs are split, so their products are partial sums, and one all-reduce adds
    // them up.
    const Reduce sum = [&](Matrix& partial) { ranks_.sum(partial.data(), partial.size()); };
    for (std::size_t l = 0; l < layers_.size(); ++l)
        llama_block(x, layers_[l], l, positions, shard_, rope_, kv, {}, sum);
    const Matrix last = xt::view(x, xt::keep(x.shape(0) - 1), xt::all());
    return xt::row(model_.output_logits(last), 0);
}

std::size_t TensorParallelLlama::shard_weight_bytes() const {
    std::size_t floats = 0;
    for (const LlamaLayer& l : layers_) {
        for (const LinearWeight* w :
             {&l.w_q, &l.w_k, &l.w_v, &l.w_o, &l.w_gate, &l.w_up, &l.w_down})
            floats += w->out() * w->in();
    }
    return floats * sizeof(float);
}

std::size_t TensorParallelLlama::cache_bytes() const {
    return 2 * cache_.n_kv_heads() * cache_.d_head() * cache_.capacity() *
           model_.config().n_layers * sizeof(float);
}

/// This rank's positions of the step's rows into its cache, and attention as merged partials.
class ShardedKVLlama::Kv final : public LlamaKV {
public:
    Kv(KVCache& cache, Ranks& ranks, const std::vector<std::size_t>& positions)
        : cache_(cache), ranks_(ranks), positions_(positions) {}

    void store(std::size_t layer, const Matrix& keys, const Matrix& values) override {
        std::vector<std::size_t> mine;  // the rows whose positions this rank keeps
        for (std::size_t r = 0; r < positions_.size(); ++r)
            if (positions_[r] % ranks_.size() == ranks_.rank()) mine.push_back(r);
        if (mine.empty()) return;
        const Matrix k = xt::view(keys, xt::keep(mine), xt::all()),
                     v = xt::view(values, xt::keep(mine), xt::all());
        cache_.append(layer, split_heads(k, cache_.n_kv_heads()),
                      split_heads(v, cache_.n_kv_heads()));
    }

    void attend(std::size_t layer, std::size_t row, std::size_t kv_head, const float* q, float* out,
                float* scores) const override {
        // This rank's positions at or before the row's: r, r + P, ... up to positions_[row].
        const std::size_t p = positions_[row], P = ranks_.size(), r = ranks_.rank();
        const std::size_t n = p >= r ? (p - r) / P + 1 : 0, d = cache_.d_head();
        const float* keys = cache_.key_rows(layer, kv_head);
        const float* values = cache_.value_rows(layer, kv_head);
        // The partial state (max, sum, out) over them, packed for the merge.
        std::vector<float> packed(2 + d, 0.0f);
        float top = -INFINITY;
        const float scale = 1.0f / std::sqrt(static_cast<float>(d));
        for (std::size_t j = 0; j < n; ++j) {
            float dot = 0.0f;
            for (std::size_t e = 0; e < d; ++e) dot += q[e] * keys[j * d + e];
            scores[j] = dot * scale;
            top = std::max(top, scores[j]);
        }
        packed[0] = top;
        for (std::size_t j = 0; j < n; ++j) {
            const float w = std::exp(scores[j] - top);
            packed[1] += w;
            for (std::size_t e = 0; e < d; ++e) packed[2 + e] += w * values[j * d + e];
        }
        ranks_.merge(packed, d);  // every rank's part of the sequence, merged
        for (std::size_t e = 0; e < d; ++e) out[e] = packed[2 + e] / packed[1];
    }

private:
    KVCache& cache_;
    Ranks& ranks_;
    const std::vector<std::size_t>& positions_;
};

ShardedKVLlama::ShardedKVLlama(const Llama& model, Ranks& ranks)
    : model_(model),
      ranks_(ranks),
      cache_(model.config().n_layers, model.config().n_kv_heads, head_size_of(model.config()),
             (model.config().seq_len + ranks.size() - 1) / ranks.size()),
      rope_(rope_tables(0, model.config().seq_len, head_size_of(model.config()),
                        model.config().rope_theta)) {}

Vector ShardedKVLlama::forward(const std::vector<std::size_t>& tokens) {
    constexpr const char* fn = "attn::ShardedKVLlama::forward";
    const std::vector<std::size_t> positions =
        next_positions(fn, length_, tokens.size(), model_.config().seq_len);
    Matrix x = model_.embed(tokens, fn);
    Kv kv(cache_, ranks_, positions);
    for (std::size_t l = 0; l < model_.config().n_layers; ++l)
        llama_block(x, model_.weights().layers[l], l, positions, model_.config(), rope_, kv);
    length_ += tokens.size();
    const Matrix last = xt::view(x, xt::keep(x.shape(0) - 1), xt::all());
    return xt::row(model_.output_logits(last), 0);
}

std::size_t ShardedKVLlama::cache_bytes() const {
    return 2 * cache_.n_kv_heads() * cache_.d_head() * cache_.capacity() *
           model_.config().n_layers * sizeof(float);
}

RingResult ring_attention(const Matrix& q, const Matrix& k, const Matrix& v,
                          const std::vector<std::size_t>& positions, Ranks& ranks, bool overlap) {
    constexpr const char* fn = "attn::ring_attention";
    check_shape(fn, "q", q, {exactly("n", positions.size()), any("d")});
    check_shape(fn, "k", k, {exactly("n", positions.size()), exactly("d", q.shape(1))});
    check_shape(fn, "v", v, {exactly("n", positions.size()), any("d_v")});
    const std::size_t n = q.shape(0), d = q.shape(1), d_v = v.shape(1);
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    // The block that travels: its keys, values and positions, packed as floats (positions
    // below 2^24 are exact).
    std::vector<float> held(n * (d + d_v + 1)), arriving(held.size());
    std::copy(k.begin(), k.end(), held.begin());
    std::copy(v.begin(), v.end(), held.begin() + static_cast<std::ptrdiff_t>(n * d));
    for (std::size_t j = 0; j < n; ++j) held[n * (d + d_v) + j] = static_cast<float>(positions[j]);

    std::vector<PartialAttention> state(n);
    RingResult result;
    std::vector<float> scores(n);
    for (std::size_t step = 0; step < ranks.size(); ++step) {
        const bool pass = step + 1 < ranks.size();
        if (pass && overlap) ranks.start_pass(held, arriving);
        const float* keys = held.data();
        const float* values = keys + n * d;
        const float* key_positions = values + n * d_v;
        for (std::size_t i = 0; i < n; ++i) {
            // Query i against the keys of the block at or before its position.
            PartialAttention part;
            part.out.assign(d_v, 0.0f);
            std::size_t seen = 0;
            for (std::size_t j = 0; j < n; ++j) {
                if (static_cast<std::size_t>(key_positions[j]) > positions[i]) continue;
                float dot = 0.0f;
                for (std::size_t e = 0; e < d; ++e) dot += q(i, e) * keys[j * d + e];
                scores[seen] = dot * scale;
                part.max = std::max(part.max, scores[seen]);
                ++seen;
            }
            if (seen == 0) continue;  // the whole block comes after this query
            std::size_t at = 0;
            for (std::size_t j = 0; j < n; ++j) {
                if (static_cast<std::size_t>(key_positions[j]) > positions[i]) continue;
                const float w = std::exp(scores[at++] - part.max);
                part.sum += w;
                for (std::size_t e = 0; e < d_v; ++e) part.out[e] += w * values[j * d_v + e];
            }
            result.scores += static_cast<double>(seen);
            merge_partials(state[i], part);
        }
        if (pass) {
            if (overlap)
                ranks.finish_pass();
            else
                ranks.pass_right(held, arriving);
            std::swap(held, arriving);
        }
    }
    result.out = xt::zeros<float>({n, d_v});
    for (std::size_t i = 0; i < n; ++i) xt::row(result.out, i) = finish(state[i]);
    return result;
}

}  // namespace attn
