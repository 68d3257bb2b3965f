#include "chapters/11_beyond_one_machine/partition.hpp"

#include "common/errors.hpp"
#include "common/shape.hpp"

#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace attn {

namespace {

// ranks above 0 and rank below it, named as the caller names them.
void check_rank(const char* fn, std::size_t rank, std::size_t ranks) {
    check_positive(fn, "ranks", ranks, "there must be at least one process");
    check_index(fn, "rank", rank, ranks, "ranks");
}

// `count` split in `ranks` equal blocks, or an error naming the count.
std::size_t block_of(const char* fn, const char* name, std::size_t count, std::size_t ranks) {
    if (count % ranks != 0) {
        invalid_argument(fn, std::string(name) + " = " + std::to_string(count) +
                                 " does not split over " + std::to_string(ranks) + " ranks");
    }
    return count / ranks;
}

}  // namespace

LlamaConfig split_model_config() {
    return LlamaConfig{.dim = 128,
                       .hidden_dim = 384,
                       .n_layers = 4,
                       .n_heads = 8,
                       .n_kv_heads = 4,
                       .vocab_size = 512,
                       .seq_len = 272};
}

HeadShare head_share(const LlamaConfig& c, std::size_t rank, std::size_t ranks) {
    constexpr const char* fn = "attn::head_share";
    check_rank(fn, rank, ranks);
    HeadShare s;
    s.heads = block_of(fn, "n_heads", c.n_heads, ranks);
    s.kv_heads = block_of(fn, "n_kv_heads", c.n_kv_heads, ranks);
    s.hidden = block_of(fn, "hidden_dim", c.hidden_dim, ranks);
    // Contiguous blocks: rank r's query heads read key/value heads h / group, which are
    // exactly its own block when P divides n_kv_heads.
    s.first_head = rank * s.heads;
    s.first_kv_head = rank * s.kv_heads;
    s.first_hidden = rank * s.hidden;
    return s;
}

namespace {

// Rows first .. first + count - 1 of a weight stored [out, in].
LinearWeight rows_of(const LinearWeight& w, std::size_t first, std::size_t count) {
    Matrix m = xt::zeros<float>({count, w.in()});
    std::copy_n(w.data() + first * w.in(), count * w.in(), m.data());
    return LinearWeight::from_out_in(std::move(m));
}

// Columns first .. first + count - 1 of a weight stored [out, in].
LinearWeight columns_of(const LinearWeight& w, std::size_t first, std::size_t count) {
    Matrix m = xt::zeros<float>({w.out(), count});
    for (std::size_t o = 0; o < w.out(); ++o)
        std::copy_n(w.data() + o * w.in() + first, count, &m(o, 0));
    return LinearWeight::from_out_in(std::move(m));
}

}  // namespace

LlamaLayer shard_layer(const LlamaLayer& w, const LlamaConfig& c, const HeadShare& s) {
    const std::size_t d_head = c.dim / c.n_heads;
    LlamaLayer r;
    r.attention_norm = w.attention_norm;
    r.w_q = rows_of(w.w_q, s.first_head * d_head, s.heads * d_head);
    r.w_k = rows_of(w.w_k, s.first_kv_head * d_head, s.kv_heads * d_head);
    r.w_v = rows_of(w.w_v, s.first_kv_head * d_head, s.kv_heads * d_head);
    // W_o's inputs are the heads side by side: this rank's heads are its columns.
    r.w_o = columns_of(w.w_o, s.first_head * d_head, s.heads * d_head);
    r.ffn_norm = w.ffn_norm;
    r.w_gate = rows_of(w.w_gate, s.first_hidden, s.hidden);
    r.w_up = rows_of(w.w_up, s.first_hidden, s.hidden);
    r.w_down = columns_of(w.w_down, s.first_hidden, s.hidden);
    return r;
}

LlamaConfig shard_config(const LlamaConfig& c, std::size_t ranks, const char* caller) {
    check_positive(caller, "ranks", ranks, "there must be at least one process");
    LlamaConfig s = c;
    s.n_heads = block_of(caller, "n_heads", c.n_heads, ranks);
    s.n_kv_heads = block_of(caller, "n_kv_heads", c.n_kv_heads, ranks);
    s.hidden_dim = block_of(caller, "hidden_dim", c.hidden_dim, ranks);
    return s;
}

PartialAttention partial_attention(const Vector& q, const Matrix& k, const Matrix& v) {
    constexpr const char* fn = "attn::partial_attention";
    // No keys at all is a part too (an empty one): n may be 0.
    check_shape(fn, "k", k, {exactly("n", k.shape(0)), exactly("d", q.size())});
    check_shape(fn, "v", v, {exactly("n", k.shape(0)), any("d_v")});
    PartialAttention p;
    p.out.assign(v.shape(1), 0.0f);
    const float scale = 1.0f / std::sqrt(static_cast<float>(q.size()));
    std::vector<float> scores(k.shape(0));
    for (std::size_t j = 0; j < k.shape(0); ++j) {
        float dot = 0.0f;
        for (std::size_t e = 0; e < q.size(); ++e) dot += q(e) * k(j, e);
        scores[j] = dot * scale;
        p.max = std::max(p.max, scores[j]);
    }
    for (std::size_t j = 0; j < k.shape(0); ++j) {
        const float w = std::exp(scores[j] - p.max);
        p.sum += w;
        for (std::size_t e = 0; e < p.out.size(); ++e) p.out[e] += w * v(j, e);
    }
    return p;
}

void merge_partials(PartialAttention& into, const PartialAttention& other) {
    if (!into.out.empty() && !other.out.empty() && into.out.size() != other.out.size()) {
        invalid_argument("attn::merge_partials", "outputs of " + std::to_string(into.out.size()) +
                                                     " and " + std::to_string(other.out.size()) +
                                                     " numbers");
    }
    if (other.sum == 0.0f) return;  // an empty part adds nothing
    if (into.sum == 0.0f) {
        into = other;
        return;
    }
    // Chapter 07's merge_states() for (max, sum); the outputs rescale as the sums do.
    const float m = std::max(into.max, other.max);
    const float a = std::exp(into.max - m), b = std::exp(other.max - m);
    into.sum = into.sum * a + other.sum * b;
    for (std::size_t e = 0; e < into.out.size(); ++e)
        into.out[e] = into.out[e] * a + other.out[e] * b;
    into.max = m;
}

Vector finish(const PartialAttention& p) {
    Vector out = xt::zeros<float>({p.out.size()});
    if (p.sum == 0.0f) return out;
    for (std::size_t e = 0; e < p.out.size(); ++e) out(e) = p.out[e] / p.sum;
    return out;
}

std::size_t ring_source(std::size_t rank, std::size_t step, std::size_t ranks) {
    constexpr const char* fn = "attn::ring_source";
    check_rank(fn, rank, ranks);
    check_index(fn, "step", step, ranks, "steps of a ring of as many ranks");
    return (rank + ranks - step) % ranks;  // unsigned: add P before subtracting
}

namespace {

// The positions of one chunk: T cut into P chunks (contiguous) or 2P (zigzag), or an error
// naming `fn` and T.
std::size_t chunk_size(const char* fn, std::size_t T, std::size_t ranks, Assignment a) {
    const std::size_t chunks = a == Assignment::contiguous ? ranks : 2 * ranks;
    if (T == 0 || T % chunks != 0) {
        invalid_argument(fn, "T = " + std::to_string(T) + " positions do not cut into " +
                                 std::to_string(chunks) + " equal chunks");
    }
    return T / chunks;
}

// The cost models' arguments: a configuration a Llama can have and at least one rank.
void check_cost(const char* fn, const LlamaConfig& c, std::size_t ranks) {
    check_config(c, fn);
    check_positive(fn, "ranks", ranks, "there must be at least one process");
}

}  // namespace

std::vector<std::size_t> rank_chunks(std::size_t rank, std::size_t ranks, Assignment a) {
    check_rank("attn::rank_chunks", rank, ranks);
    if (a == Assignment::contiguous) return {rank};
    return {rank, 2 * ranks - 1 - rank};  // one early chunk, one late: equal causal work
}

std::vector<std::size_t> rank_positions(std::size_t rank, std::size_t ranks, std::size_t T,
                                        Assignment a) {
    constexpr const char* fn = "attn::rank_positions";
    check_rank(fn, rank, ranks);
    const std::size_t size = chunk_size(fn, T, ranks, a);
    std::vector<std::size_t> positions;
    for (std::size_t c : rank_chunks(rank, ranks, a))
        for (std::size_t p = c * size; p < (c + 1) * size; ++p) positions.push_back(p);
    return positions;
}

std::vector<double> ring_work(std::size_t T, std::size_t ranks, Assignment a) {
    constexpr const char* fn = "attn::ring_work";
    check_positive(fn, "ranks", ranks, "there must be at least one process");
    chunk_size(fn, T, ranks, a);
    std::vector<double> work(ranks, 0.0);
    for (std::size_t r = 0; r < ranks; ++r)
        for (std::size_t p : rank_positions(r, ranks, T, a))
            work[r] += static_cast<double>(p + 1);  // query p scores keys 0 .. p
    return work;
}

double ring_allreduce_bytes(double bytes, std::size_t ranks) {
    check_positive("attn::ring_allreduce_bytes", "ranks", ranks);
    const double P = static_cast<double>(ranks);
    return 2.0 * (P - 1.0) / P * bytes;
}

CommCost tensor_parallel_cost(const LlamaConfig& c, std::size_t ranks,
                              std::size_t bytes_per_float) {
    check_cost("attn::tensor_parallel_cost", c, ranks);
    const double per_reduce =
        ring_allreduce_bytes(static_cast<double>(c.dim * bytes_per_float), ranks);
    const double layers = static_cast<double>(c.n_layers);
    return {layers * 2.0 * 2.0 * static_cast<double>(ranks - 1), layers * 2.0 * per_reduce};
}

CommCost sharded_kv_cost(const LlamaConfig& c, std::size_t ranks, std::size_t bytes_per_float) {
    check_cost("attn::sharded_kv_cost", c, ranks);
    const double reductions = static_cast<double>(c.n_layers * c.n_heads);
    const double partial = static_cast<double>((2 + c.dim / c.n_heads) * bytes_per_float);
    const double steps = ranks > 1 ? std::ceil(std::log2(static_cast<double>(ranks))) : 0.0;
    return {reductions * steps, reductions * steps * partial};
}

CommCost ring_attention_cost(const LlamaConfig& c, std::size_t T, std::size_t ranks,
                             std::size_t bytes_per_float) {
    check_cost("attn::ring_attention_cost", c, ranks);
    const double layers = static_cast<double>(c.n_layers), P = static_cast<double>(ranks);
    const double chunk = 2.0 * static_cast<double>(T) / P *
                         static_cast<double>(c.n_kv_heads * (c.dim / c.n_heads) * bytes_per_float);
    return {layers * (P - 1.0), layers * (P - 1.0) * chunk};
}

}  // namespace attn
