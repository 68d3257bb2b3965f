#include "chapters/09_learning/llama_gradients.hpp"

#include "chapters/04_multi_head_attention/multi_head_attention.hpp"
#include "chapters/05_transformer_block/transformer_block.hpp"
#include "chapters/08_real_model/decode_kernels.hpp"
#include "chapters/09_learning/backward.hpp"
#include "common/matmul.hpp"
#include "common/shape.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace attn {

namespace {

// The sizes every function below uses.
struct Sizes {
    std::size_t dim, d_head, q, kv, hidden, vocab;
    explicit Sizes(const LlamaConfig& c)
        : dim(c.dim),
          d_head(c.dim / c.n_heads),
          q(c.n_heads * d_head),
          kv(c.n_kv_heads * d_head),
          hidden(c.hidden_dim),
          vocab(c.vocab_size) {}
};

// The batch's sequences packed one below the other, as chapter 08's cache interface sees
// them: row r attends over the rows of its own sequence up to itself, with chapter 08's
// attend_one(), which leaves the weights P in `scores` for the block to keep.
class PackedKV final : public LlamaKV {
public:
    PackedKV(const std::vector<std::size_t>& starts, std::size_t n_kv_heads)
        : n_kv_heads_(n_kv_heads), first_(starts.back()) {
        for (std::size_t s = 0; s + 1 < starts.size(); ++s)
            for (std::size_t r = starts[s]; r < starts[s + 1]; ++r) first_[r] = starts[s];
    }
    // Each key/value head's rows made contiguous, [n_kv_heads, N, d_head], as chapter 06's
    // cache keeps them.
    void store(std::size_t, const Matrix& keys, const Matrix& values) override {
        keys_ = split_heads(keys, n_kv_heads_);
        values_ = split_heads(values, n_kv_heads_);
    }
    void attend(std::size_t, std::size_t row, std::size_t kv_head, const float* q, float* out,
                float* scores) const override {
        const std::size_t first = first_[row];
        attend_one(q, &keys_(kv_head, first, 0), &values_(kv_head, first, 0), row - first + 1,
                   keys_.shape(2), out, scores);
    }

private:
    std::size_t n_kv_heads_;
    std::vector<std::size_t> first_;  // per row, its sequence's first row
    Tensor3 keys_, values_;
};

// A view of a `[out, in]` matrix in the buffer, for project().
LinearWeight weight(const float* w, std::size_t out, std::size_t in) {
    return LinearWeight(w, out, in, nullptr);
}

// A norm's gain, `[dim]`, as rms_norm() and rms_norm_backward() take it.
Vector gain(const float* g, std::size_t dim) {
    Vector v = xt::zeros<float>({dim});
    std::copy_n(g, dim, v.data());
    return v;
}

// Backward of y = x W with W stored [out, in] (y = x W_stored^T): the weight's gradient
// dW += dy^T x, into the gradient buffer; and dx (+)= dy W_stored.
void linear_backward_stored(const Matrix& x, const float* w, std::size_t out, std::size_t in,
                            const Matrix& dy, float* dw, Matrix& dx, bool add_to_dx) {
    const std::size_t n = x.shape(0);
    gemm(out, in, n, 1.0f, dy.data(), out, Read::transposed, x.data(), in, Read::as_stored, 1.0f,
         dw, in);
    gemm(n, in, out, 1.0f, dy.data(), out, Read::as_stored, w, in, Read::as_stored,
         add_to_dx ? 1.0f : 0.0f, dx.data(), in);
}

}  // namespace

LlamaActivations llama_forward_batch(const LlamaParameters& p,
                                     const std::vector<std::vector<std::size_t>>& sequences,
                                     const char* caller) {
    const LlamaConfig& c = p.config();
    const Sizes z(c);
    check_positive(caller, "sequences.size()", sequences.size(), "no sequence to run");
    LlamaActivations f;
    f.starts.push_back(0);
    std::size_t longest = 0;
    for (std::size_t s = 0; s < sequences.size(); ++s) {
        const std::vector<std::size_t>& seq = sequences[s];
        if (seq.empty() || seq.size() > c.seq_len) {
            invalid_argument(caller, "sequences[" + std::to_string(s) + "] holds " +
                                         std::to_string(seq.size()) + " tokens, not 1 to seq_len " +
                                         std::to_string(c.seq_len));
        }
        check_tokens(seq, c.vocab_size, caller);
        f.tokens.insert(f.tokens.end(), seq.begin(), seq.end());
        f.starts.push_back(f.tokens.size());
        longest = std::max(longest, seq.size());
    }
    const std::size_t N = f.tokens.size();
    const LlamaTensors<const float> w = p.tensors();
    const RopeTables rope = rope_tables(0, longest, z.d_head, c.rope_theta);

    Matrix x = xt::zeros<float>({N, z.dim});
    for (std::size_t t = 0; t < N; ++t)
        std::copy_n(w.token_embedding + f.tokens[t] * z.dim, z.dim, &x(t, 0));
    // Each row's position in its own sentence, and each row's sequence for the attention.
    std::vector<std::size_t> positions(N);
    for (std::size_t s = 0; s + 1 < f.starts.size(); ++s)
        for (std::size_t r = f.starts[s]; r < f.starts[s + 1]; ++r) positions[r] = r - f.starts[s];
    PackedKV kv(f.starts, c.n_kv_heads);
    // Chapter 08's block, every row of the batch at once, keeping what the backward pass reads.
    for (std::size_t l = 0; l < w.layers.size(); ++l) {
        const LlamaLayerTensors<const float>& t = w.layers[l];
        const LlamaLayer layer{gain(t.attention_norm, z.dim),     weight(t.w_q, z.q, z.dim),
                               weight(t.w_k, z.kv, z.dim),        weight(t.w_v, z.kv, z.dim),
                               weight(t.w_o, z.dim, z.q),         gain(t.ffn_norm, z.dim),
                               weight(t.w_gate, z.hidden, z.dim), weight(t.w_up, z.hidden, z.dim),
                               weight(t.w_down, z.dim, z.hidden)};
        LlamaBlockActivations a;
        llama_block(x, layer, l, positions, c, rope, kv, {}, {}, &a);
        f.blocks.push_back(std::move(a));
    }
    f.final_norm_output = rms_norm(x, gain(w.final_norm, z.dim), c.norm_eps);
    f.logits = project(f.final_norm_output, weight(w.token_embedding, z.vocab, z.dim));
    f.output = std::move(x);
    return f;
}

double llama_gradients(const LlamaParameters& p, const std::vector<Sequence>& batch,
                       LlamaParameters& gradients, const char* caller) {
    const LlamaConfig& c = p.config();
    if (gradients.size() != p.size()) {
        invalid_argument(caller, "the gradient buffer holds " + std::to_string(gradients.size()) +
                                     " numbers, the model " + std::to_string(p.size()));
    }
    const auto [inputs, targets] = batch_tokens(batch, c.vocab_size, caller);
    const LlamaActivations f = llama_forward_batch(p, inputs, caller);
    const Sizes z(c);
    const LlamaTensors<const float> w = p.tensors();
    gradients.zero();
    LlamaTensors<float> d = gradients.tensors();
    const std::size_t N = f.tokens.size();

    // The loss: the mean over all N positions, so dlogits carries 1/N.
    const CrossEntropy ce = cross_entropy(f.logits, targets);
    // logits = n E^T (the tied classifier): E gets dlogits^T n, n gets dlogits E.
    Matrix dn = xt::zeros<float>({N, z.dim});
    linear_backward_stored(f.final_norm_output, w.token_embedding, z.vocab, z.dim, ce.dlogits,
                           d.token_embedding, dn, false);
    RmsNormGradients norm = rms_norm_backward(f.output, gain(w.final_norm, z.dim), dn, c.norm_eps);
    std::copy(norm.dgain.begin(), norm.dgain.end(), d.final_norm);
    Matrix dx = std::move(norm.dx);

    const RopeTables rope = rope_tables(0, c.seq_len, z.d_head, c.rope_theta);
    for (std::size_t layer = w.layers.size(); layer-- > 0;) {
        const LlamaLayerTensors<const float>& l = w.layers[layer];
        LlamaLayerTensors<float>& dl = d.layers[layer];
        const LlamaBlockActivations& a = f.blocks[layer];
        // out = h + W_down(SiLU(gate) * up), gate and up from RMSNorm(h): the residual passes
        // dx to h unchanged, and the feed-forward path adds its own.
        Matrix d_gated = xt::zeros<float>({N, z.hidden});
        linear_backward_stored(a.gated, l.w_down, z.dim, z.hidden, dx, dl.w_down, d_gated, false);
        const SiluGateGradients s = silu_gate_backward(a.gate, a.up, d_gated);
        Matrix d_ffn_input = xt::zeros<float>({N, z.dim});
        linear_backward_stored(a.ffn_input, l.w_gate, z.hidden, z.dim, s.d_gate, dl.w_gate,
                               d_ffn_input, false);
        linear_backward_stored(a.ffn_input, l.w_up, z.hidden, z.dim, s.d_up, dl.w_up, d_ffn_input,
                               true);
        norm = rms_norm_backward(a.residual, gain(l.ffn_norm, z.dim), d_ffn_input, c.norm_eps);
        std::copy(norm.dgain.begin(), norm.dgain.end(), dl.ffn_norm);
        const Matrix dh = dx + norm.dx;

        // h = x + W_o(attention(RMSNorm(x))): the same again, through the heads.
        Matrix d_attended = xt::zeros<float>({N, z.q});
        linear_backward_stored(a.attended, l.w_o, z.dim, z.q, dh, dl.w_o, d_attended, false);
        Matrix dq = xt::zeros<float>({N, z.q}), dk = xt::zeros<float>({N, z.kv}),
               dv = xt::zeros<float>({N, z.kv});
        for (std::size_t seq = 0; seq + 1 < f.starts.size(); ++seq) {
            const std::size_t first = f.starts[seq], last = f.starts[seq + 1];
            const auto rows = [&](const Matrix& m, std::size_t head) {
                return Matrix(xt::view(m, xt::range(first, last),
                                       xt::range(head * z.d_head, (head + 1) * z.d_head)));
            };
            for (std::size_t h = 0; h < c.n_heads; ++h) {
                const std::size_t g = kv_head_for(h, c.n_heads, c.n_kv_heads);
                const AttentionGradients ag = attention_backward(
                    xt::view(a.attention_weights, xt::range(first, last), h,
                             xt::range(0, last - first)),
                    rows(a.queries, h), rows(a.keys, g), rows(a.values, g), rows(d_attended, h));
                const auto cols = [&](std::size_t head) {
                    return xt::range(head * z.d_head, (head + 1) * z.d_head);
                };
                xt::view(dq, xt::range(first, last), cols(h)) = ag.dq;
                xt::view(dk, xt::range(first, last), cols(g)) += ag.dk;  // shared heads add
                xt::view(dv, xt::range(first, last), cols(g)) += ag.dv;
            }
            // The rotations undone: each row's gradient turned back by its position's angle.
            for (std::size_t t = 0; t < last - first; ++t) {
                const float *cos = &rope.cos(t, 0), *sin = &rope.sin(t, 0);
                for (std::size_t h = 0; h < c.n_heads; ++h)
                    rope_rotate_back(&dq(first + t, h * z.d_head), z.d_head, cos, sin);
                for (std::size_t h = 0; h < c.n_kv_heads; ++h)
                    rope_rotate_back(&dk(first + t, h * z.d_head), z.d_head, cos, sin);
            }
        }
        Matrix d_attention_input = xt::zeros<float>({N, z.dim});
        linear_backward_stored(a.attention_input, l.w_q, z.q, z.dim, dq, dl.w_q, d_attention_input,
                               false);
        linear_backward_stored(a.attention_input, l.w_k, z.kv, z.dim, dk, dl.w_k, d_attention_input,
                               true);
        linear_backward_stored(a.attention_input, l.w_v, z.kv, z.dim, dv, dl.w_v, d_attention_input,
                               true);
        norm = rms_norm_backward(a.input, gain(l.attention_norm, z.dim), d_attention_input,
                                 c.norm_eps);
        std::copy(norm.dgain.begin(), norm.dgain.end(), dl.attention_norm);
        dx = dh + norm.dx;
    }
    // x0 = E[tokens]: a scatter-add into the embedding's rows.
    for (std::size_t t = 0; t < N; ++t) {
        float* row = d.token_embedding + f.tokens[t] * z.dim;
        for (std::size_t i = 0; i < z.dim; ++i) row[i] += dx(t, i);
    }
    return ce.loss;
}

}  // namespace attn
