#include "chapters/09_learning/gpt_gradients.hpp"

#include "chapters/09_learning/backward.hpp"
#include "common/shape.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include <string>

namespace attn {

namespace {

// Zeros in the shapes of the weights (empty biases stay empty): the gradients' accumulator.
GptWeights zeros_like(const GptWeights& w) {
    const auto z = [](const auto& t) {
        return std::decay_t<decltype(t)>(xt::zeros<float>(t.shape()));
    };
    GptWeights g{z(w.token_embedding), z(w.position_embedding), {}, z(w.ln_f_gain), z(w.ln_f_bias)};
    for (const BlockWeights& b : w.blocks) {
        BlockWeights d{
            z(b.ln1_gain),
            z(b.ln1_bias),
            {z(b.attention.w_q), z(b.attention.w_k), z(b.attention.w_v), z(b.attention.w_o),
             b.attention.n_heads, b.attention.n_kv_heads, z(b.attention.b_q), z(b.attention.b_k),
             z(b.attention.b_v), z(b.attention.b_o)},
            z(b.ln2_gain),
            z(b.ln2_bias),
            {z(b.ffn.w1), z(b.ffn.b1), z(b.ffn.w2), z(b.ffn.b2)}};
        g.blocks.push_back(std::move(d));
    }
    return g;
}

// Adds a gradient into an accumulator of the same shape; an empty one (no bias) is skipped.
template <class T>
void add(T& into, const T& g) {
    if (into.size() != 0) into += g;
}

}  // namespace

GptActivations gpt_forward(const Gpt& model, const std::vector<std::size_t>& tokens,
                           const char* caller) {
    const GptWeights& w = model.weights();
    GptActivations f;
    Matrix x = model.embed(tokens, 0, caller);
    for (const BlockWeights& b : w.blocks) {
        BlockActivations k;
        k.x = x;
        k.a = layer_norm(x, b.ln1_gain, b.ln1_bias);
        k.attention = multi_head_attention_forward(k.a, b.attention);
        k.h = x + k.attention.output;
        k.b = layer_norm(k.h, b.ln2_gain, b.ln2_bias);
        k.hidden = affine(k.b, b.ffn.w1, b.ffn.b1);
        k.gelu = gelu(k.hidden);
        x = k.h + affine(k.gelu, b.ffn.w2, b.ffn.b2);
        f.blocks.push_back(std::move(k));
    }
    f.final_norm = layer_norm(x, w.ln_f_gain, w.ln_f_bias);
    f.logits = product(f.final_norm, w.token_embedding, false, true);
    f.x = std::move(x);
    return f;
}

GptGradients gpt_gradients(const Gpt& model, const std::vector<Sequence>& batch) {
    constexpr const char* fn = "attn::gpt_gradients";
    if (batch.empty()) invalid_argument(fn, "the batch holds no sequence");
    std::size_t positions = 0;
    for (std::size_t s = 0; s < batch.size(); ++s) {
        if (batch[s].inputs.size() != batch[s].targets.size()) {
            invalid_argument(fn, "sequence " + std::to_string(s) + " has " +
                                     std::to_string(batch[s].inputs.size()) + " inputs but " +
                                     std::to_string(batch[s].targets.size()) + " targets");
        }
        check_tokens(batch[s].targets, model.config().vocab_size, fn);
        positions += batch[s].inputs.size();
    }
    const GptWeights& w = model.weights();
    GptGradients g{0.0, zeros_like(w)};
    for (const Sequence& seq : batch) {
        const GptActivations f = gpt_forward(model, seq.inputs, fn);
        const Matrix& final_norm = f.final_norm;
        const Matrix& logits = f.logits;
        const std::vector<BlockActivations>& kept = f.blocks;

        // The loss: this sequence's mean, weighed by its share of the batch's positions.
        CrossEntropy ce = cross_entropy(logits, seq.targets);
        const double share =
            static_cast<double>(seq.inputs.size()) / static_cast<double>(positions);
        g.loss += ce.loss * share;
        ce.dlogits *= static_cast<float>(share);

        // Backward. logits = n E^T: n gets dlogits E, E gets dlogits^T n (the tied use).
        g.d.token_embedding += product(ce.dlogits, final_norm, true, false);
        const LayerNormGradients lf =
            layer_norm_backward(f.x, w.ln_f_gain, product(ce.dlogits, w.token_embedding));
        g.d.ln_f_gain += lf.dgain;
        g.d.ln_f_bias += lf.dbias;
        Matrix dx = lf.dx;
        for (std::size_t l = w.blocks.size(); l-- > 0;) {
            const BlockWeights& b = w.blocks[l];
            const BlockActivations& k = kept[l];
            BlockWeights& d = g.d.blocks[l];
            // out = h + FFN(LN2(h)): the residual passes dx to h unchanged, and adds the
            // feed-forward path's gradient.
            const LinearGradients down = linear_backward(k.gelu, b.ffn.w2, dx);
            const LinearGradients up =
                linear_backward(k.b, b.ffn.w1, gelu_backward(k.hidden, down.dx));
            const LayerNormGradients ln2 = layer_norm_backward(k.h, b.ln2_gain, up.dx);
            d.ffn.w2 += down.dw;
            d.ffn.b2 += down.db;
            d.ffn.w1 += up.dw;
            d.ffn.b1 += up.db;
            d.ln2_gain += ln2.dgain;
            d.ln2_bias += ln2.dbias;
            const Matrix dh = dx + ln2.dx;
            // h = x + MHA(LN1(x)): the same again.
            const MultiHeadGradients att =
                multi_head_attention_backward(k.a, b.attention, k.attention, dh);
            const LayerNormGradients ln1 = layer_norm_backward(k.x, b.ln1_gain, att.dx);
            d.attention.w_q += att.d_w.w_q;
            d.attention.w_k += att.d_w.w_k;
            d.attention.w_v += att.d_w.w_v;
            d.attention.w_o += att.d_w.w_o;
            add(d.attention.b_q, att.d_w.b_q);
            add(d.attention.b_k, att.d_w.b_k);
            add(d.attention.b_v, att.d_w.b_v);
            add(d.attention.b_o, att.d_w.b_o);
            d.ln1_gain += ln1.dgain;
            d.ln1_bias += ln1.dbias;
            dx = dh + ln1.dx;
        }
        // x0 = E[tokens] + P[0..T-1]: a scatter-add into the embedding, rows into positions.
        g.d.token_embedding += embedding_backward(seq.inputs, dx, w.token_embedding.shape(0));
        xt::view(g.d.position_embedding, xt::range(0, dx.shape(0)), xt::all()) += dx;
    }
    return g;
}

}  // namespace attn
