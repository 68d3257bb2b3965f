#include "chapters/04_multi_head_attention/multi_head_attention.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "chapters/03_causal_masking/causal_masking.hpp"
#include "common/matmul.hpp"
#include "common/shape.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xindex_view.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xstrided_view.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>

namespace attn {

void check_kv_heads(const char* fn, std::size_t n_heads, std::size_t n_kv_heads) {
    if (n_kv_heads == 0 || n_heads % n_kv_heads != 0) {
        invalid_argument(fn,
                         "n_heads = " + std::to_string(n_heads) +
                             " is not a multiple of n_kv_heads = " + std::to_string(n_kv_heads) +
                             ": every key/value head must serve the same number of query heads");
    }
}

Matrix project(const Matrix& x, const Matrix& w, const Vector& b) {
    constexpr const char* fn = "attn::project";
    check_shape(fn, "x", x, {any("T"), any("d_in")});
    check_shape(fn, "w", w, {exactly("d_in", x.shape(1)), any("d_out")});
    if (b.size() == 0) return project(x, w);
    check_shape(fn, "b", b, {exactly("d_out", w.shape(1))});
    Matrix y = Matrix::from_shape({x.shape(0), w.shape(1)});
    for (std::size_t t = 0; t < y.shape(0); ++t)
        std::copy(b.begin(), b.end(), y.data() + t * y.shape(1));
    gemm(x.shape(0), w.shape(1), x.shape(1), 1.0f, x.data(), x.shape(1), Read::as_stored, w.data(),
         w.shape(1), Read::as_stored, 1.0f, y.data(), y.shape(1));
    return y;
}

namespace {

// The head counts and every weight's shape, against x; returns d_head.
std::size_t check_layer(const char* fn, const Matrix& x, const MultiHeadWeights& w) {
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    return check_attention_weights(fn, x.shape(1), w);
}

Matrix head_of(const Tensor3& heads, std::size_t h) {
    return xt::view(heads, h, xt::all(), xt::all());
}

}  // namespace

std::size_t check_attention_weights(const char* caller, std::size_t d_model,
                                    const MultiHeadWeights& w, const std::string& prefix,
                                    Biases biases) {
    const std::size_t d_head = head_size(d_model, w.n_heads, caller);
    check_kv_heads(caller, w.n_heads, w.n_kv_heads);
    const std::size_t d_kv = w.n_kv_heads * d_head;
    const auto name = [&](const char* weight) { return prefix + weight; };
    check_shape(caller, name("w_q"), w.w_q,
                {exactly("d_model", d_model), exactly("d_model", d_model)});
    check_shape(caller, name("w_k"), w.w_k,
                {exactly("d_model", d_model), exactly("n_kv_heads * d_head", d_kv)});
    check_shape(caller, name("w_v"), w.w_v,
                {exactly("d_model", d_model), exactly("n_kv_heads * d_head", d_kv)});
    check_shape(caller, name("w_o"), w.w_o,
                {exactly("d_model", d_model), exactly("d_model", d_model)});
    for (const auto& [weight, b, dim, size] :
         {std::tuple{"b_q", &w.b_q, "d_model", d_model},
          std::tuple{"b_k", &w.b_k, "n_kv_heads * d_head", d_kv},
          std::tuple{"b_v", &w.b_v, "n_kv_heads * d_head", d_kv},
          std::tuple{"b_o", &w.b_o, "d_model", d_model}}) {
        if (biases == Biases::none && b->size() != 0) {
            invalid_argument(caller, "argument '" + name(weight) +
                                         "' must be empty (bias = false), but has shape " +
                                         shape_of(*b));
        }
        if (biases == Biases::required || (biases == Biases::optional && b->size() != 0))
            check_shape(caller, name(weight), *b, {exactly(dim, size)});
    }
    return d_head;
}

std::size_t head_size(std::size_t d_model, std::size_t n_heads, const char* caller) {
    if (n_heads == 0) invalid_argument(caller, "argument 'n_heads' must be at least 1, got 0");
    if (d_model % n_heads != 0) {
        invalid_argument(caller, "d_model = " + std::to_string(d_model) +
                                     " is not a multiple of n_heads = " + std::to_string(n_heads) +
                                     ": the heads must split the columns evenly");
    }
    return d_model / n_heads;
}

Tensor3 split_heads(const Matrix& x, std::size_t n_heads, const char* caller) {
    check_shape(caller, "x", x, {any("T"), any("n_heads * d_head")});
    const std::size_t T = x.shape(0), d_head = head_size(x.shape(1), n_heads, caller);
    Tensor3 heads = Tensor3::from_shape({n_heads, T, d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        xt::view(heads, h, xt::all(), xt::all()) =
            xt::view(x, xt::all(), xt::range(h * d_head, (h + 1) * d_head));
    return heads;
}

Matrix merge_heads(const Tensor3& heads) {
    check_shape("attn::merge_heads", "heads", heads, {any("n_heads"), any("T"), any("d_head")});
    const std::size_t n_heads = heads.shape(0), T = heads.shape(1), d_head = heads.shape(2);
    Matrix x = Matrix::from_shape({T, n_heads * d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        xt::view(x, xt::all(), xt::range(h * d_head, (h + 1) * d_head)) =
            xt::view(heads, h, xt::all(), xt::all());
    return x;
}

std::size_t kv_head_for(std::size_t head, std::size_t n_heads, std::size_t n_kv_heads) {
    constexpr const char* fn = "attn::kv_head_for";
    check_kv_heads(fn, n_heads, n_kv_heads);
    check_index(fn, "head", head, n_heads, "query heads");
    return head / (n_heads / n_kv_heads);
}

MultiHeadResult multi_head_attention(const Matrix& x, const MultiHeadWeights& w, bool causal,
                                     const char* caller) {
    check_shape(caller, "x", x, {any("T"), any("d_model")});
    const std::size_t T = x.shape(0);
    return multi_head_attention(x, w, causal ? causal_mask(T) : Mask(xt::ones<bool>({T, T})),
                                caller);
}

HeadsResult attend_heads(const Tensor3& q, const Tensor3& k, const Tensor3& v, const Mask& allowed,
                         const char* caller) {
    check_shape(caller, "queries", q, {any("n_heads"), any("T_q"), any("d_head")});
    const std::size_t n_heads = q.shape(0), n_kv_heads = k.shape(0);
    check_kv_heads(caller, n_heads, n_kv_heads);
    check_shape(caller, "keys", k, {any("n_kv_heads"), any("T_k"), exactly("d_head", q.shape(2))});
    check_shape(caller, "values", v,
                {exactly("n_kv_heads", n_kv_heads), exactly("T_k", k.shape(1)), any("d_head")});
    check_shape(caller, "allowed", allowed,
                {exactly("T_q", q.shape(1)), exactly("T_k", k.shape(1))});
    HeadsResult r{Tensor3::from_shape({n_heads, q.shape(1), k.shape(1)}),
                  Tensor3::from_shape({n_heads, q.shape(1), v.shape(2)})};
    for (std::size_t h = 0; h < n_heads; ++h) {
        const std::size_t kv = kv_head_for(h, n_heads, n_kv_heads);  // grouped-query: shared
        const AttentionResult a =
            masked_attention(head_of(q, h), head_of(k, kv), head_of(v, kv), allowed);
        xt::view(r.weights, h, xt::all(), xt::all()) = a.weights;
        xt::view(r.outputs, h, xt::all(), xt::all()) = a.output;
    }
    return r;
}

MultiHeadResult multi_head_attention(const Matrix& x, const MultiHeadWeights& w,
                                     const Mask& allowed, const char* caller,
                                     const KeyValueSource& source) {
    check_layer(caller, x, w);
    const Tensor3 q =
        split_heads(project(x, w.w_q, w.b_q), w.n_heads, caller);  // [n_heads, T, d_head]
    Tensor3 k =
        split_heads(project(x, w.w_k, w.b_k), w.n_kv_heads, caller);  // [n_kv_heads, T, d_head]
    Tensor3 v = split_heads(project(x, w.w_v, w.b_v), w.n_kv_heads, caller);
    if (source) std::tie(k, v) = source(std::move(k), std::move(v));  // e.g. a cache's keys

    HeadsResult heads = attend_heads(q, k, v, allowed, caller);
    MultiHeadResult r;
    r.weights = std::move(heads.weights);
    r.heads = merge_heads(heads.outputs);
    r.output = project(r.heads, w.w_o, w.b_o);
    return r;
}

Matrix multi_head_attention_batched(const Matrix& x, const MultiHeadWeights& w, bool causal) {
    constexpr const char* fn = "attn::multi_head_attention_batched";
    const std::size_t d_head = check_layer(fn, x, w), T = x.shape(0);
    // Every query head's key/value head, gathered once: [n_heads, T, d_head] like the queries.
    std::vector<std::size_t> kv(w.n_heads);
    for (std::size_t h = 0; h < w.n_heads; ++h) kv[h] = kv_head_for(h, w.n_heads, w.n_kv_heads);
    const Tensor3 q = split_heads(project(x, w.w_q, w.b_q), w.n_heads, fn);
    const Tensor3 k =
        xt::view(split_heads(project(x, w.w_k, w.b_k), w.n_kv_heads, fn), xt::keep(kv));
    const Tensor3 v =
        xt::view(split_heads(project(x, w.w_v, w.b_v), w.n_kv_heads, fn), xt::keep(kv));

    // scores[h, i, j] = q[h, i, :] . k[h, j, :] / sqrt(d_head), all heads in one expression.
    Tensor3 scores = xt::sum(xt::view(q, xt::all(), xt::all(), xt::newaxis(), xt::all()) *
                                 xt::view(k, xt::all(), xt::newaxis(), xt::all(), xt::all()),
                             {3});
    scores /= std::sqrt(static_cast<float>(d_head));
    if (causal) {
        const Mask allowed = causal_mask(T);
        scores = xt::where(xt::view(allowed, xt::newaxis(), xt::all(), xt::all()), scores,
                           -std::numeric_limits<float>::infinity());
    }
    // Chapter 01's softmax, on the scores seen as n_heads * T rows of T.
    const Matrix rows = xt::reshape_view(scores, {w.n_heads * T, T});
    const Tensor3 weights = xt::reshape_view(softmax_rows(rows), {w.n_heads, T, T});
    // outputs[h, i, :] = sum_j weights[h, i, j] v[h, j, :]
    const Tensor3 outputs =
        xt::sum(xt::view(weights, xt::all(), xt::all(), xt::all(), xt::newaxis()) *
                    xt::view(v, xt::all(), xt::newaxis(), xt::all(), xt::all()),
                {2});
    return project(merge_heads(outputs), w.w_o, w.b_o);
}

MultiHeadWeights with_kv_heads_copied(const MultiHeadWeights& w) {
    constexpr const char* fn = "attn::with_kv_heads_copied";
    check_kv_heads(fn, w.n_heads, w.n_kv_heads);
    const std::size_t d_head = head_size(w.w_q.shape(1), w.n_heads, fn);
    check_shape(fn, "w_k", w.w_k,
                {any("d_model"), exactly("n_kv_heads * d_head", w.n_kv_heads * d_head)});
    check_shape(fn, "w_v", w.w_v,
                {exactly("d_model", w.w_k.shape(0)),
                 exactly("n_kv_heads * d_head", w.n_kv_heads * d_head)});
    MultiHeadWeights mha = w;
    mha.n_kv_heads = w.n_heads;
    mha.w_k = Matrix::from_shape({w.w_k.shape(0), w.n_heads * d_head});
    mha.w_v = Matrix::from_shape({w.w_v.shape(0), w.n_heads * d_head});
    if (w.b_k.size() != 0) mha.b_k = Vector::from_shape({w.n_heads * d_head});
    if (w.b_v.size() != 0) mha.b_v = Vector::from_shape({w.n_heads * d_head});
    for (std::size_t h = 0; h < w.n_heads; ++h) {
        auto to = xt::range(h * d_head, (h + 1) * d_head);
        const std::size_t kv = kv_head_for(h, w.n_heads, w.n_kv_heads);
        auto from = xt::range(kv * d_head, (kv + 1) * d_head);
        xt::view(mha.w_k, xt::all(), to) = xt::view(w.w_k, xt::all(), from);
        xt::view(mha.w_v, xt::all(), to) = xt::view(w.w_v, xt::all(), from);
        if (w.b_k.size() != 0) xt::view(mha.b_k, to) = xt::view(w.b_k, from);
        if (w.b_v.size() != 0) xt::view(mha.b_v, to) = xt::view(w.b_v, from);
    }
    return mha;
}

MultiHeadWeights random_multi_head_weights(std::size_t d_model, std::size_t n_heads,
                                           std::size_t n_kv_heads, Rng& rng) {
    constexpr const char* fn = "attn::random_multi_head_weights";
    if (d_model == 0) invalid_argument(fn, "argument 'd_model' must be at least 1, got 0");
    const std::size_t d_head = head_size(d_model, n_heads, fn);
    check_kv_heads(fn, n_heads, n_kv_heads);
    const float scale = 1.0f / std::sqrt(static_cast<float>(d_model));
    MultiHeadWeights w;
    w.w_q = random_normal(d_model, d_model, rng, scale);
    w.w_k = random_normal(d_model, n_kv_heads * d_head, rng, scale);
    w.w_v = random_normal(d_model, n_kv_heads * d_head, rng, scale);
    w.w_o = random_normal(d_model, d_model, rng, scale);
    w.n_heads = n_heads;
    w.n_kv_heads = n_kv_heads;
    return w;
}

MultiHeadWeights designed_heads() {
    constexpr float a = 4.0f;  // how strongly a query asks, as in chapter 02's designed head
    enum Feature { det, noun, animal, main_clause, relative, verb, adj, past };
    Matrix w_q = xt::zeros<float>({8, 8}), w_k = xt::zeros<float>({8, 8});
    // Column 2h+1 of a head, where used, tells the clauses apart: +1 main, -1 relative. A
    // query asking for its own clause scores +1/2 per unit of a, the other clause -1/2.
    auto same_clause = [&](std::size_t column) {
        w_q(main_clause, column) = a / 2;
        w_q(relative, column) = -a / 2;
        w_k(main_clause, column) = 1;
        w_k(relative, column) = -1;
    };
    // Head 0 (columns 0, 1): a verb or an adjective looks for the animal of its clause.
    w_q(verb, 0) = w_q(adj, 0) = a;
    w_k(animal, 0) = 1;
    same_clause(1);
    // Head 1 (columns 2, 3): every token looks at the tokens of its own clause.
    w_q(main_clause, 2) = w_q(relative, 3) = a;
    w_k(main_clause, 2) = w_k(relative, 3) = 1;
    // Head 2 (columns 4, 5): a determiner looks for the noun of its clause.
    w_q(det, 4) = a;
    w_k(noun, 4) = 1;
    same_clause(5);
    // Head 3 (columns 6, 7): a noun looks for the verb of its clause.
    w_q(noun, 6) = a;
    w_k(verb, 6) = 1;
    same_clause(7);
    const Matrix identity = xt::eye<float>(8);
    return {w_q, w_k, identity, identity, 4, 4};
}

Tokens designed_head_relations() {
    return {"head 0: verb/adjective -> animal of its clause", "head 1: token -> its own clause",
            "head 2: determiner -> noun of its clause", "head 3: noun -> verb of its clause"};
}

AttentionCost attention_cost(std::size_t d_model, std::size_t n_heads, std::size_t n_kv_heads,
                             std::size_t T) {
    constexpr const char* fn = "attn::attention_cost";
    const std::size_t d_head = head_size(d_model, n_heads, fn);
    check_kv_heads(fn, n_heads, n_kv_heads);
    const std::size_t d_kv = n_kv_heads * d_head;
    AttentionCost c;
    c.parameters = 2 * d_model * d_model + 2 * d_model * d_kv;
    c.flops = 2 * T * d_model * (d_model + 2 * d_kv)  // Q, K, V
              + n_heads * 2 * T * T * d_head * 2      // Q K^T and weights times V, per head
              + 2 * T * d_model * d_model;            // W_o
    c.kv_per_token = 2 * d_kv;
    return c;
}

}  // namespace attn
