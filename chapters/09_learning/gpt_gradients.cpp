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

// A bias's gradient, when the model has the bias (the zeros are in its shape).
void set(Vector& into, const Vector& g) {
    if (into.size() != 0) into = g;
}

// gpt_forward_batch() on weights the caller has checked against the configuration.
GptActivations forward(const GptConfig& c, const GptWeights& w,
                       const std::vector<std::vector<std::size_t>>& sequences, const char* caller) {
    check_positive(caller, "sequences.size()", sequences.size(), "no sequence to run");
    GptActivations f;
    f.starts.push_back(0);
    for (std::size_t s = 0; s < sequences.size(); ++s) {
        const std::string name = "sequences[" + std::to_string(s) + "]";
        check_tokens(sequences[s], c.vocab_size, caller, name);  // not empty, in the vocabulary
        check_fits(caller, "tokens of " + name, sequences[s].size(), "context", c.context);
        f.tokens.insert(f.tokens.end(), sequences[s].begin(), sequences[s].end());
        f.starts.push_back(f.tokens.size());
    }
    // The sequences' embeddings, one below the other: N rows, x_t = E[token] + P[position]
    // (chapter 05's Gpt::embed()), each sequence from position 0.
    Matrix x = xt::zeros<float>({f.tokens.size(), c.d_model});
    for (std::size_t s = 0; s + 1 < f.starts.size(); ++s)
        for (std::size_t r = f.starts[s]; r < f.starts[s + 1]; ++r)
            xt::row(x, r) = xt::row(w.token_embedding, f.tokens[r]) +
                            xt::row(w.position_embedding, r - f.starts[s]);
    for (const BlockWeights& b : w.blocks) {
        // Chapter 05's block, keeping what it computes; its attention keeps the heads of
        // each sequence.
        GptBlockActivations kept;
        x = transformer_block(
            x, b,
            [&](const Matrix& attention_input) {
                kept.attention =
                    multi_head_attention_forward(attention_input, b.attention, f.starts);
                return kept.attention.output;
            },
            &kept);
        f.blocks.push_back(std::move(kept));
    }
    f.final_norm = layer_norm(x, w.ln_f_gain, w.ln_f_bias);
    f.logits = matmul(f.final_norm, w.token_embedding, Read::as_stored, Read::transposed);
    f.x = std::move(x);
    return f;
}

}  // namespace

GptActivations gpt_forward_batch(const Gpt& model,
                                 const std::vector<std::vector<std::size_t>>& sequences,
                                 const char* caller) {
    return forward(model.config(), model.weights(), sequences, caller);
}

GptActivations gpt_forward(const Gpt& model, const std::vector<std::size_t>& tokens,
                           const char* caller) {
    return gpt_forward_batch(model, {tokens}, caller);
}

BatchTokens batch_tokens(const std::vector<Sequence>& batch, std::size_t vocab_size,
                         const char* caller) {
    if (batch.empty()) invalid_argument(caller, "the batch holds no sequence");
    BatchTokens b;
    for (std::size_t s = 0; s < batch.size(); ++s) {
        if (batch[s].inputs.size() != batch[s].targets.size()) {
            invalid_argument(caller, "sequence " + std::to_string(s) + " has " +
                                         std::to_string(batch[s].inputs.size()) + " inputs but " +
                                         std::to_string(batch[s].targets.size()) + " targets");
        }
        if (batch[s].inputs.empty())
            invalid_argument(caller, "sequence " + std::to_string(s) + " holds no token");
        check_tokens(batch[s].targets, vocab_size, caller,
                     "batch[" + std::to_string(s) + "].targets");
        b.inputs.push_back(batch[s].inputs);
        b.targets.insert(b.targets.end(), batch[s].targets.begin(), batch[s].targets.end());
    }
    return b;
}

namespace {

GptGradients gradients(const GptConfig& c, const GptWeights& w, const std::vector<Sequence>& batch,
                       const char* caller) {
    const auto [inputs, targets] = batch_tokens(batch, c.vocab_size, caller);
    GptGradients g{0.0, zeros_like(w)};
    const GptActivations f = forward(c, w, inputs, caller);

    // The loss: the mean over all N positions of the batch, so dlogits carries 1/N.
    const CrossEntropy ce = cross_entropy(f.logits, targets);
    g.loss = ce.loss;

    // Backward. logits = n E^T: n gets dlogits E, E gets dlogits^T n (the tied use).
    g.d.token_embedding = matmul(ce.dlogits, f.final_norm, Read::transposed, Read::as_stored);
    const LayerNormGradients lf =
        layer_norm_backward(f.x, w.ln_f_gain, matmul(ce.dlogits, w.token_embedding));
    g.d.ln_f_gain = lf.dgain;
    g.d.ln_f_bias = lf.dbias;
    Matrix dx = lf.dx;
    for (std::size_t l = w.blocks.size(); l-- > 0;) {
        const BlockWeights& b = w.blocks[l];
        const GptBlockActivations& k = f.blocks[l];
        BlockWeights& d = g.d.blocks[l];
        // out = h + FFN(LN2(h)): the residual passes dx to h unchanged, and adds the
        // feed-forward path's gradient.
        const LinearGradients down = linear_backward(k.activated, b.ffn.w2, dx);
        const LinearGradients up =
            linear_backward(k.ffn_input, b.ffn.w1, gelu_backward(k.hidden, down.dx));
        const LayerNormGradients ln2 = layer_norm_backward(k.residual, b.ln2_gain, up.dx);
        d.ffn = {up.dw, up.db, down.dw, down.db};
        d.ln2_gain = ln2.dgain;
        d.ln2_bias = ln2.dbias;
        const Matrix dh = dx + ln2.dx;
        // h = x + MHA(LN1(x)): the same again.
        const MultiHeadGradients att =
            multi_head_attention_backward(k.attention_input, b.attention, k.attention, dh);
        const LayerNormGradients ln1 = layer_norm_backward(k.input, b.ln1_gain, att.dx);
        d.attention.w_q = att.d_w.w_q;
        d.attention.w_k = att.d_w.w_k;
        d.attention.w_v = att.d_w.w_v;
        d.attention.w_o = att.d_w.w_o;
        set(d.attention.b_q, att.d_w.b_q);
        set(d.attention.b_k, att.d_w.b_k);
        set(d.attention.b_v, att.d_w.b_v);
        set(d.attention.b_o, att.d_w.b_o);
        d.ln1_gain = ln1.dgain;
        d.ln1_bias = ln1.dbias;
        dx = dh + ln1.dx;
    }
    // x0 = E[tokens] + P[0..T-1]: a scatter-add into the embedding, and each sequence's rows
    // into the positions 0..T-1.
    g.d.token_embedding += embedding_backward(f.tokens, dx, w.token_embedding.shape(0));
    for (std::size_t s = 0; s + 1 < f.starts.size(); ++s) {
        const std::size_t length = f.starts[s + 1] - f.starts[s];
        xt::view(g.d.position_embedding, xt::range(0, length), xt::all()) +=
            xt::view(dx, xt::range(f.starts[s], f.starts[s + 1]), xt::all());
    }
    return g;
}

}  // namespace

GptGradients gpt_gradients(const Gpt& model, const std::vector<Sequence>& batch,
                           const char* caller) {
    return gradients(model.config(), model.weights(), batch, caller);
}

GptGradients gpt_gradients(const GptConfig& c, const GptWeights& w,
                           const std::vector<Sequence>& batch, const char* caller) {
    check_weights(c, w, caller);
    return gradients(c, w, batch, caller);
}

}  // namespace attn
