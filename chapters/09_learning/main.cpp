/// # Chapter 09: Learning
///
/// Every model in the book so far was designed by hand or drawn at random. Chapters 02-04
/// wired a head so that "was" in "the dog that chased the cat was tired" finds "dog" across
/// the distracting "cat"; chapter 08 ran a model someone else had trained. This chapter
/// closes the loop: it derives the gradient of every piece of chapter 08's Llama (and of
/// chapter 05's GPT, whose pieces come first), proves each against PyTorch and against
/// finite differences, trains the Llama from zero on a language the program makes up, and
/// then looks inside: which head learned to link the verb to its subject, and does the
/// trained model write sentences of the language? The model it trains is saved in
/// llama2.c's format, read back by chapter 08's code, and served by chapter 10.
///
/// The pieces live in backward.hpp (each piece's backward pass), llama_parameters.hpp (the
/// model's numbers in one buffer, and AdamW over it), llama_gradients.hpp (the whole
/// model's forward and backward pass), adamw.hpp (the optimiser's update), language.hpp
/// (the data) and training.hpp (a step, the loop, and the measures); gpt_gradients.hpp
/// holds the GPT's, for the comparison near the end.
#include "chapters/05_transformer_block/transformer_block.hpp"
#include "chapters/06_kv_cache/kv_cache.hpp"
#include "chapters/08_real_model/checkpoint.hpp"
#include "chapters/08_real_model/tokenizer.hpp"
#include "chapters/09_learning/adamw.hpp"
#include "chapters/09_learning/backward.hpp"
#include "chapters/09_learning/gpt_gradients.hpp"
#include "chapters/09_learning/language.hpp"
#include "chapters/09_learning/llama_gradients.hpp"
#include "chapters/09_learning/llama_parameters.hpp"
#include "chapters/09_learning/training.hpp"

#include "common/allocation_count.hpp"
#include "common/blas_threads.hpp"
#include "common/chapter_program.hpp"
#include "common/heatmap.hpp"
#include "common/plot.hpp"
#include "common/print.hpp"
#include "common/quote.hpp"
#include "common/random.hpp"

#include <xtensor/xview.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using attn::Matrix;
using attn::Vector;

/// ## The loss and the chain rule
///
/// Training needs one number that says how wrong the model is: the *loss* L. For next-token
/// prediction it is the cross-entropy. At each position t the model's logits \f$z_t\f$, one
/// per word of the vocabulary, become probabilities \f$\mathrm{softmax}(z_t)\f$, and the
/// position costs minus the log of the probability the model gave the token that really
/// came next, \f$target_t\f$. The loss of a batch is the mean over its N positions:
///
/// \f[ L = -\frac{1}{N} \sum_{t=1}^{N} \log \mathrm{softmax}(z_t)_{target_t} \f]
///
/// The log is the natural one, so L is measured in *nats* (one nat is
/// \f$1/\ln 2 \approx 1.44\f$ bits). A position where the model gave the right token
/// probability 1 costs 0 nats; one where it spread its bet evenly over V words costs
/// \f$\ln V\f$; a confident wrong guess costs without bound.
///
/// Training moves every weight w a little against its gradient \f$\partial L / \partial w\f$,
/// the rate at which L grows with w. L depends on w through a chain of steps, and the
/// *chain rule* says how rates combine along a chain: when L depends on w only through z,
/// \f$\partial L / \partial w = (\partial L / \partial z)\,(\partial z / \partial w)\f$, the
/// rates multiply. One chain with numbers, computed by the program below:
/// \f$y = (w x + b)^2\f$ at \f$w = 2\f$, \f$x = 3\f$, \f$b = 1\f$. The forward pass goes
/// from the inputs to y: \f$z = w x + b\f$ = {{chain_z}}, then \f$y = z^2\f$ =
/// {{chain_y}}. The backward pass goes from y back to the inputs, one operation at a time,
/// each time multiplying the rate that arrived from the right by the rate of that operation
/// alone:
///
/// \f[ \frac{dy}{dz} = 2z, \qquad
///     \frac{dy}{dw} = \frac{dy}{dz}\,\frac{dz}{dw} = 2z \cdot x, \qquad
///     \frac{dy}{db} = \frac{dy}{dz}\,\frac{dz}{db} = 2z \cdot 1, \qquad
///     \frac{dy}{dx} = \frac{dy}{dz}\,\frac{dz}{dx} = 2z \cdot w \f]
///
/// so dy/dz = {{chain_dy_dz}}, and dy/dw = {{chain_dy_dw}}, dy/db = {{chain_dy_db}}, dy/dx =
/// {{chain_dy_dx}}. The backward pass needs z, which the forward pass computed: this is why
/// training keeps the forward pass's results until the backward pass has used them. A
/// derivative can be checked without calculus: nudge w by \f$\pm h\f$ and measure the
/// slope, \f$(y(w + h) - y(w - h)) / 2h\f$, here {{chain_fd}} with \f$h = 0.001\f$ (for a
/// square this central difference is exact, up to the rounding of doubles). Last, the
/// cross-entropy itself: equal logits for all {{words}} words of this chapter's language
/// cost \f$\ln {{words}}\f$ = {{uniform_loss}} nats at every position, which is about where
/// an untrained model starts.
void show_chain_rule(const attn::Language& language) {
    attn::section(std::cout, "The loss and the chain rule");
    const double w = 2.0, x = 3.0, b = 1.0, h = 1e-3;
    const auto forward = [&](double weight) {
        const double sum = weight * x + b;
        return sum * sum;
    };
    const double z = w * x + b, y = z * z;
    const double dy_dz = 2.0 * z;  // the square's own rate
    const double dy_dw = dy_dz * x, dy_db = dy_dz * 1.0, dy_dx = dy_dz * w;
    std::cout << "y = (w x + b)^2 at w = " << w << ", x = " << x << ", b = " << b << "\n"
              << "forward:   z = w x + b = " << attn::quote("chain_z", z, 0)
              << ",  y = z^2 = " << attn::quote("chain_y", y, 0) << "\n"
              << "backward:  dy/dz = 2 z      = " << attn::quote("chain_dy_dz", dy_dz, 0) << "\n"
              << "           dy/dw = dy/dz x  = " << attn::quote("chain_dy_dw", dy_dw, 0) << "\n"
              << "           dy/db = dy/dz 1  = " << attn::quote("chain_dy_db", dy_db, 0) << "\n"
              << "           dy/dx = dy/dz w  = " << attn::quote("chain_dy_dx", dy_dx, 0) << "\n"
              << "check:     (y(w + h) - y(w - h)) / 2h, h = " << h << ": "
              << attn::quote("chain_fd", (forward(w + h) - forward(w - h)) / (2.0 * h), 6) << "\n";
    const std::size_t V = language.words().size();
    const Matrix equal = xt::zeros<float>({std::size_t{1}, V});
    std::cout << "\ncross-entropy of equal logits for the "
              << attn::quote("words", std::to_string(V))
              << " words: " << attn::quote("uniform_loss", attn::cross_entropy(equal, {0}).loss, 3)
              << " nats (ln " << V << " = " << std::fixed << std::setprecision(3)
              << std::log(static_cast<double>(V)) << ")\n"
              << std::defaultfloat;
}

/// ## The backward pass, one piece at a time
///
/// A model is such a chain, long and wide. Each of its pieces receives
/// \f$dy = \partial L / \partial y\f$ for its output y and returns the gradient for its input
/// (which the piece before it receives as its own dy) and for its weights; the backward pass
/// calls the pieces in the reverse order of the forward pass, from the loss back to the
/// input. Each backward function below takes what its forward pass saw and dy, in the
/// shapes of the forward pass: a gradient always has the shape of what it is the gradient
/// of.
///
/// First, a linear layer, \f$y = x W + b\f$ with x `[T, in]` and W `[in, out]`. Each
/// \f$y_{tj} = \sum_i x_{ti} W_{ij} + b_j\f$, so \f$\partial y_{tj} / \partial W_{ij} = x_{ti}\f$,
/// \f$\partial y_{tj} / \partial x_{ti} = W_{ij}\f$ and \f$\partial y_{tj} / \partial b_j = 1\f$.
/// A number that feeds several outputs gets the sum of the gradients through each of them
/// (the chain rule once for each path), which in matrix form is
///
/// \f[ dx = dy\, W^\top, \qquad dW = x^\top dy, \qquad db = \textstyle\sum_t dy_t \f]
///
/// dW sums over the tokens: every token used the same W. The transposes are where the
/// shapes force them (dW must be `[in, out]`, dx `[T, in]`).
///
/// \show backward.cpp linear_backward
///
/// The row softmax, \f$P = \mathrm{softmax}(S)\f$. Every weight of a row depends on every
/// score of the row, \f$\partial P_j / \partial S_k = P_j(\delta_{jk} - P_k)\f$; summed
/// against dP that is
///
/// \f[ dS = P \circ \left(dP - \mathrm{rowsum}(dP \circ P)\right) \f]
///
/// with \f$\circ\f$ the elementwise product and rowsum one number per row, subtracted from
/// every entry of its row. A masked key has \f$P = 0\f$, so its score gets no gradient, as it
/// should: it took no part.
///
/// \htmlonly<details class="derivation"><summary>\endhtmlonly
/// Where the formula comes from, step by step
/// \htmlonly</summary>\endhtmlonly
///
/// Take one row of scores \f$S_1, \ldots, S_n\f$. Its weights are \f$P_j = e^{S_j} / Z\f$
/// with \f$Z = \sum_k e^{S_k}\f$, the same Z for the whole row. Raising one score
/// \f$S_k\f$ changes the numerator of \f$P_k\f$ alone, \f$\partial e^{S_j} / \partial S_k =
/// \delta_{jk} e^{S_j}\f$ (\f$\delta_{jk}\f$ is 1 when j = k and 0 otherwise), and the
/// denominator of every weight, \f$\partial Z / \partial S_k = e^{S_k}\f$. The quotient
/// rule, \f$(f/g)' = (f' g - f g') / g^2\f$, gives
///
/// \f[ \frac{\partial P_j}{\partial S_k}
///     = \frac{\delta_{jk}\, e^{S_j} Z - e^{S_j} e^{S_k}}{Z^2}
///     = \frac{e^{S_j}}{Z} \left( \delta_{jk} - \frac{e^{S_k}}{Z} \right)
///     = P_j \left( \delta_{jk} - P_k \right) \f]
///
/// The loss depends on \f$S_k\f$ through every weight of the row, so the chain rule adds
/// up the paths, one for each j:
///
/// \f[ dS_k = \sum_j dP_j \frac{\partial P_j}{\partial S_k}
///     = \sum_j dP_j\, P_j \left( \delta_{jk} - P_k \right)
///     = P_k\, dP_k - P_k \sum_j dP_j P_j
///     = P_k \left( dP_k - \sum_j dP_j P_j \right) \f]
///
/// The sum \f$\sum_j dP_j P_j\f$ is the same for every k of the row: it is the row's entry of
/// \f$\mathrm{rowsum}(dP \circ P)\f$, and written for all rows at once the last line is the
/// formula above. attn::softmax_backward() computes this sum first, once per row, then every
/// \f$dS_k\f$ of the row.
///
/// \htmlonly</details>\endhtmlonly
///
/// \show backward.cpp softmax_backward
///
/// Attention for one head, \f$O = P V\f$ with \f$P = \mathrm{softmax}(Q K^\top / \sqrt{d_{head}}
/// + M)\f$, M being \f$-\infty\f$ where a key is hidden: the product's backward twice and
/// the softmax's (attn::softmax_backward()) between,
///
/// \f[ dV = P^\top dO, \quad dP = dO\, V^\top, \quad dS = P \circ (dP - \mathrm{rowsum}(dP \circ P)), \quad
///     dQ = dS\, K / \sqrt{d_{head}}, \quad dK = dS^\top Q / \sqrt{d_{head}} \f]
///
/// \show backward.cpp attention_backward
///
/// The heads of chapter 04 add two steps: the merge puts the heads' outputs side by side,
/// so its backward splits the gradient by the same column blocks; the split of Q, K and V
/// into heads is undone by a merge. A key/value head shared by several query heads
/// (grouped-query attention) receives the sum of their gradients. For a batch, the heads
/// work on each sequence's rows, the projections on all rows at once.
///
/// \show backward.cpp multi_head_attention_backward
///
/// The normalisation of chapter 05, \f$y = g \circ \hat{x} + b\f$ with
/// \f$\hat{x} = (x - \mu)/\sigma\f$ for each row of d features, where \f$\mu\f$ is the row's
/// mean and \f$\sigma = \sqrt{\mathrm{var} + \epsilon}\f$, var being the mean of
/// \f$(x_i - \mu)^2\f$. The mean and the deviation depend on every feature of the row, so
/// each feature's gradient has two more terms than a plain division by \f$\sigma\f$ would
/// give; with \f$u = dy \circ g\f$,
///
/// \f[ dx = \frac{1}{\sigma}\left(u - \mathrm{mean}(u) - \hat{x}\,
///     \mathrm{mean}(u \circ \hat{x})\right), \qquad dg = \textstyle\sum_t dy_t \circ
///     \hat{x}_t, \qquad db = \sum_t dy_t \f]
///
/// \htmlonly<details class="derivation"><summary>\endhtmlonly
/// Where the formula for dx comes from, step by step
/// \htmlonly</summary>\endhtmlonly
///
/// Take one row x of d features. The loss reaches x only through \f$\hat{x}\f$, and
/// \f$y_i = g_i \hat{x}_i + b_i\f$ gives \f$\partial L / \partial \hat{x}_i = dy_i\, g_i = u_i\f$.
/// What remains is how each \f$\hat{x}_i\f$ moves with each \f$x_j\f$. First the mean and the
/// variance:
///
/// \f[ \frac{\partial \mu}{\partial x_j} = \frac{1}{d}, \qquad
///     \frac{\partial\, \mathrm{var}}{\partial x_j}
///     = \frac{2}{d} \sum_i (x_i - \mu) \left( \delta_{ij} - \frac{1}{d} \right)
///     = \frac{2}{d} (x_j - \mu) \f]
///
/// (the \f$-1/d\f$ part drops out, because the deviations \f$x_i - \mu\f$ of a row add up to
/// 0). Then the deviation, by the chain rule through the square root:
///
/// \f[ \frac{\partial \sigma}{\partial x_j}
///     = \frac{1}{2\sqrt{\mathrm{var} + \epsilon}} \, \frac{\partial\, \mathrm{var}}{\partial x_j}
///     = \frac{x_j - \mu}{d\, \sigma} = \frac{\hat{x}_j}{d} \f]
///
/// Now the quotient rule on \f$\hat{x}_i = (x_i - \mu)/\sigma\f$: the numerator moves by
/// \f$\delta_{ij} - 1/d\f$, the denominator by \f$\hat{x}_j / d\f$:
///
/// \f[ \frac{\partial \hat{x}_i}{\partial x_j}
///     = \frac{\delta_{ij} - 1/d}{\sigma} - \frac{x_i - \mu}{\sigma^2} \cdot \frac{\hat{x}_j}{d}
///     = \frac{1}{\sigma} \left( \delta_{ij} - \frac{1}{d}
///       - \frac{\hat{x}_i\, \hat{x}_j}{d} \right) \f]
///
/// Last, the chain rule adds up the paths from \f$x_j\f$ through every \f$\hat{x}_i\f$:
///
/// \f[ dx_j = \sum_i u_i \frac{\partial \hat{x}_i}{\partial x_j}
///     = \frac{1}{\sigma} \left( u_j - \frac{1}{d} \sum_i u_i
///       - \hat{x}_j\, \frac{1}{d} \sum_i u_i \hat{x}_i \right)
///     = \frac{1}{\sigma} \left( u_j - \mathrm{mean}(u) - \hat{x}_j\,
///       \mathrm{mean}(u \circ \hat{x}) \right) \f]
///
/// which is the formula above for one feature. g and b are used by every row t, so their
/// gradients add up over the rows: \f$\partial y_{ti} / \partial g_i = \hat{x}_{ti}\f$ and
/// \f$\partial y_{ti} / \partial b_i = 1\f$. attn::layer_norm_backward() computes, per row,
/// \f$\sigma\f$ as the forward pass did, then the two means, then every \f$dx_j\f$.
///
/// \htmlonly</details>\endhtmlonly
///
/// Each piece's forward pass, from the chapter that built it, and its backward pass below
/// it: here chapter 05's layer norm, then its backward.
///
/// \show chapters/05_transformer_block/transformer_block.cpp layer_norm
///
/// \show backward.cpp layer_norm_backward
///
/// The activation of the GPT's feed-forward network (the tanh form of chapter 05) is
/// elementwise: dx is dy times its derivative (its tanh from chapter 07's vectorised
/// exponential, \f$\tanh u = 1 - 2/(e^{2u} + 1)\f$, several values an instruction). The
/// forward pass of training is chapter 05's attn::transformer_block() itself, with gelu()
/// inside it, so a GPT in training computes the logits attn::Gpt::logits() computes.
/// **The residual add** \f$h = x + f(x)\f$ passes dy to x unchanged and adds f's path: that
/// is why a deep residual network trains at all, the gradient reaches the first block
/// undiminished. **The embeddings** are a lookup, \f$x_t = E_{token_t} + P_t\f$: the
/// backward is a scatter-add of each row of dx into the row of its token (a token used
/// twice gets both), and into the row of its position.
///
///
/// \show chapters/05_transformer_block/transformer_block.cpp gelu
///
/// \show backward.cpp gelu_backward embedding_backward
///
/// Last, the loss of the first section, the cross-entropy of the logits z of N positions
/// against their targets. With \f$\log \mathrm{softmax}(z)_c = z_c - \log \sum_j e^{z_j}\f$,
/// its derivative in \f$z_j\f$ is \f$\delta_{jc} - \mathrm{softmax}(z)_j\f$, so the gradient
/// is the simplest of all, and the one most often written wrong (without the 1/N of the
/// mean, plain gradient descent's step grows with the batch; AdamW's does not, but clipping
/// at a fixed norm then cuts in at another size):
///
/// \f[ dz = (\mathrm{softmax}(z) - \mathrm{onehot}(target)) / N \f]
///
/// \show backward.cpp cross_entropy
///
/// ### The Llama's pieces
///
/// Chapter 08's Llama changes three pieces of the GPT, and each brings its backward pass.
/// The first, RMSNorm, is layer norm without the mean and the bias, \f$y = g \circ x / r\f$ with
/// \f$r = \sqrt{\mathrm{mean}(x^2) + \epsilon}\f$. With \f$u = dy \circ g\f$, the
/// derivation of layer norm's backward pass with \f$\mu = 0\f$ gives one term fewer:
///
/// \f[ dx = \frac{1}{r}\left(u - x\,\frac{\mathrm{mean}(u \circ x)}{r^2}\right), \qquad
///     dg = \textstyle\sum_t dy_t \circ x_t / r_t \f]
///
/// \show chapters/05_transformer_block/transformer_block.cpp rms_norm
///
/// \show backward.cpp rms_norm_backward
///
/// The second, RoPE, rotates each pair \f$(x_{2i}, x_{2i+1})\f$ of a query or key by an angle that
/// depends on its position. A rotation R is orthogonal, \f$R^{-1} = R^\top\f$, and the
/// backward pass of \f$y = R x\f$ is \f$dx = R^\top dy\f$: the rotation by the opposite
/// angle. RoPE has no weights, so that is all of it.
///
/// \show chapters/08_real_model/llama.cpp rope_rotate
///
/// \show backward.cpp rope_rotate_back rope_backward
///
/// The third is SwiGLU, whose gate multiplies \f$\mathrm{SiLU}(a) = a\,\sigma(a)\f$ of one projection by
/// another, \f$y = \mathrm{SiLU}(a) \circ b\f$. The product rule gives each factor the
/// other: \f$db = dy \circ \mathrm{SiLU}(a)\f$, and with \f$\sigma' = \sigma(1 - \sigma)\f$,
/// \f$da = dy \circ b\,\sigma(a)\,(1 + a(1 - \sigma(a)))\f$.
///
/// \show chapters/05_transformer_block/transformer_block.cpp silu_gate
///
/// \show backward.cpp silu_gate_backward
///
/// ### The whole model
///
/// The Llama ties its output layer to the token embedding, logits \f$= h\,E^\top\f$: E is
/// used twice, at the input and at the output, and its gradient is the sum of both uses.
/// Grouped-query heads share a key/value head, so that head's gradient is the sum over the
/// query heads that read it. attn::llama_forward_batch() runs chapter 08's
/// attn::llama_block() itself over a batch, asking it to keep what the backward pass reads,
/// each named for what it is (attn::LlamaBlockActivations); attn::llama_gradients() walks
/// the same pieces in reverse. The batch's sequences are packed into the rows of one
/// matrix, one below the other: a projection, a norm or SwiGLU treats each row alone, so
/// they compute the whole batch in one call (one large matrix product instead of 64 small
/// ones); only attention keeps the sequences apart: the block's cache interface is here a
/// packed batch, whose row r attends over its own sentence's rows up to itself, and the
/// backward pass runs per sequence and head. Every weight's gradient is added into
/// a second buffer laid out as the weights (the next section), through the same BLAS
/// product with the transposes a backward pass is made of:
///
/// \show llama_gradients.cpp linear_backward_stored PackedKV llama_forward_batch llama_gradients
///
/// attn::gpt_gradients() chains the GPT's pieces the same way (gpt_gradients.hpp): its
/// forward pass runs chapter 05's attn::transformer_block() for each block, asking it to
/// keep what it computed (attn::BlockActivations), with an attention sub-layer that runs
/// per sequence and keeps its heads:
///
/// \show gpt_gradients.cpp forward
///
/// The tests
/// (tests/chapters/test_ch09.cpp and test_ch09_llama.cpp) compare every one of these
/// functions, and each model's gradient for every one of its tensors, with PyTorch's
/// autograd on the same inputs (float64 references in tests/reference/ch09.txt and
/// ch09_llama.txt).

/// ## Proof: the gradients against finite differences
///
/// A second proof needs no PyTorch: nudge one weight by \f$\pm \delta\f$ and watch the loss,
/// \f$\partial L / \partial w \approx (L(w + \delta) - L(w - \delta)) / 2\delta\f$, whose
/// error shrinks as \f$\delta^2\f$. The program does this on a tiny Llama (2 blocks, dim 8,
/// 2 query heads sharing 1 key/value head, SwiGLU width 16) for the three entries of largest
/// gradient in every weight tensor, and prints the largest relative error
/// \f$|g_{fd} - g| / \max(|g_{fd}|, |g|)\f$ per tensor. The loss is computed in float32, so
/// \f$\delta\f$ = 0.01 balances the rounding of L (about \f$10^{-7} L\f$, divided by
/// \f$2\delta\f$) against the \f$\delta^2\f$ term: agreement to about \f$10^{-3}\f$ is what
/// float32 allows, and a wrong formula shows as an error near 1. The program calls the
/// gradients right when every tensor's error is below \f$10^{-2}\f$, between the two. (The
/// tests go further: every number of such a model, not three a tensor.)
attn::LlamaConfig tiny_config(std::size_t vocab_size) {
    return attn::LlamaConfig{.dim = 8,
                             .hidden_dim = 16,
                             .n_layers = 2,
                             .n_heads = 2,
                             .n_kv_heads = 1,
                             .vocab_size = vocab_size,
                             .seq_len = 16};
}

void show_gradient_check(const attn::Language& language) {
    attn::section(std::cout, "Proof: the gradients against finite differences");
    attn::Rng rng(9);
    attn::LlamaParameters w = attn::llama_init(tiny_config(language.words().size()), rng);
    // Larger random weights than the initialisation's, so that every path carries a gradient.
    for (std::size_t i = 0; i < w.size(); ++i) w.data()[i] += 0.3f * rng.normal();
    const std::vector<attn::Sequence> batch = {
        attn::sentence_sequence(language, language.sentences()[7]),
        attn::sentence_sequence(language, language.sentences()[2000])};
    attn::LlamaParameters g(w.config()), scratch(w.config());
    attn::llama_gradients(w, batch, g);
    const float h = 0.01f;
    double worst = 0.0;
    std::cout << "tensor                       entries   largest relative error\n";
    for (const attn::TensorSlot& t : w.slots()) {
        // The three entries with the largest analytic gradient.
        const float* grad = g.data() + t.offset;
        std::vector<std::size_t> order(t.size);
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        const std::size_t n = std::min<std::size_t>(3, order.size());
        std::partial_sort(
            order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
            [&](std::size_t a, std::size_t b) { return std::abs(grad[a]) > std::abs(grad[b]); });
        double error = 0.0;
        for (std::size_t j = 0; j < n; ++j) {
            float& x = w.data()[t.offset + order[j]];
            const float kept = x;
            x = kept + h;
            const double up = attn::llama_gradients(w, batch, scratch);
            x = kept - h;
            const double down = attn::llama_gradients(w, batch, scratch);
            x = kept;
            const double numeric = (up - down) / (2.0 * h);
            const double analytic = grad[order[j]];
            const double scale = std::max({std::abs(numeric), std::abs(analytic), 1e-8});
            error = std::max(error, std::abs(numeric - analytic) / scale);
        }
        worst = std::max(worst, error);
        std::cout << std::left << std::setw(29) << t.name << std::right << std::setw(7) << n
                  << std::scientific << std::setprecision(1) << std::setw(20) << error
                  << std::defaultfloat << '\n';
    }
    std::cout << "\nlargest relative error over all " << w.slots().size()
              << " tensors: " << std::scientific << std::setprecision(1) << worst
              << std::defaultfloat
              << (worst < 1e-2 ? " (below 1e-2: the gradients agree)\n"
                               : " (above 1e-2: a gradient is wrong)\n");
}

/// ## The optimiser
///
/// Plain gradient descent, \f$w \leftarrow w - \eta\, g\f$, takes steps as large as the
/// gradients, and gradients of different tensors differ by orders of magnitude. Adam
/// (Kingma and Ba 2015) divides each number's step by a running root mean square of its
/// gradients, so every weight moves at about the learning rate \f$\eta\f$, and keeps a
/// running mean of the gradient (momentum) for its direction. For each number w with
/// gradient g, at step t = 1, 2, ...:
///
/// \f[ m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \qquad
///     v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2, \qquad
///     w \leftarrow w - \eta \left( \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}
///     + \lambda w \right) \f]
///
/// The betas say how far back each average remembers, about \f$1/(1 - \beta)\f$ steps;
/// \f$\beta_1\f$ = 0.9 everywhere in this book, \f$\beta_2\f$ takes three values. PyTorch's
/// default, and Adam's paper's, is \f$\beta_2\f$ = 0.999. The library's attn::AdamWSettings
/// defaults to 0.99, and so do the settings of exercise 9.4. This chapter's training
/// (attn::train_agreement_llama()) sets 0.95, the value GPT-3 (Brown et al. 2020) and Llama
/// (Touvron et al. 2023) were trained with and a common one for language models: a second
/// moment that remembers about 20 steps rather than 1000 rises within a few steps when the
/// gradients suddenly grow, so the steps it divides shrink in time, where a long memory
/// still holds the small gradients of before and lets a spike through at several times the
/// learning rate.
///
/// Both running averages start at 0, so at first they are too small, m by the factor
/// \f$1 - \beta_1^t\f$ and v by \f$1 - \beta_2^t\f$ at step t; dividing by these is the
/// *bias correction*. Without it every step would be
/// \f$(1 - \beta_1^t)/\sqrt{1 - \beta_2^t}\f$ times the corrected one, whatever the
/// gradients (\f$\epsilon\f$ aside), and the program computes this factor at every step.
/// With the \f$\beta_2\f$ = 0.95 of this chapter's training the first step would be
/// {{bias_first_095}} times its corrected size, and the factor rises to {{bias_peak_095}}
/// at step {{bias_peak_step_095}}; with the library's 0.99 it starts at {{bias_first_099}}
/// and rises to {{bias_peak_099}} at step {{bias_peak_step_099}}; with PyTorch's 0.999 the
/// first step would be {{bias_first_0999}} times too large, the factor rises to
/// {{bias_peak_0999}} at step {{bias_peak_step_0999}} and comes back to 1 only over the
/// thousands of steps v needs to fill. AdamW (Loshchilov and Hutter 2019) takes weight
/// decay out of the gradient: each step also shrinks the weight itself by
/// \f$\eta\lambda w\f$. attn::AdamWSettings' default is \f$\lambda\f$ = 0.1; this
/// chapter's training of the Llama keeps it; the GPT's sets 1.0, for a reason "Training"
/// below gives.
///
/// \show adamw.cpp adamw_update
///
/// The model's numbers live in one buffer (attn::LlamaParameters), in the order of a
/// llama2.c checkpoint: the embedding, then each kind of block tensor for every layer in
/// turn, then the final norm. Each tensor has a slot, a name and a place in it; the forward
/// pass reads the tensors through named const views, the optimiser writes through mutable
/// ones, and the gradients are a second buffer of the same layout. So a training step
/// copies no weights and rebuilds no model, AdamW is one loop over pairs of numbers, and
/// saving the model is writing the buffer. llm.c keeps its GPT-2 the same way.
///
/// \show llama_parameters.cpp LlamaParameters::LlamaParameters BufferAdamW::step
///
/// Weight decay applies to the seven matrices of each block (W_q, W_k, W_v, W_o, W_gate,
/// W_up, W_down) and to nothing else: not to the gains of the norms, not to the token
/// embedding. That is minGPT's choice. nanoGPT, its successor, decays every tensor of two
/// or more dimensions, the embedding included (and with it the tied output layer), and
/// spares only the biases and gains; GPT-2's own training code was never published, so
/// which tensors it decayed is not known. A gain of 1 is the norm's neutral value, and
/// pulling it towards 0 only fights the norm. An embedding row that served only as input
/// would get a gradient only when its token appears, while decay would shrink it at every
/// step; tied to the output layer, every row gets a gradient at every step, so sparing it
/// matters less here than in a model with a separate classifier.
///
/// Two safeguards make the first steps safe. *Clipping* scales the whole gradient down when
/// its global norm \f$\sqrt{\sum g^2}\f$ is above a limit (1 here), so one unlucky batch
/// cannot throw the weights far. *Warm-up* raises the learning rate linearly over the first
/// steps, while Adam's averages are still noisy, and a cosine then lowers it to a tenth of
/// its peak, so the last steps settle.
///
/// \show llama_parameters.cpp clip_gradients
/// \show adamw.cpp learning_rate_at
void show_optimiser(std::size_t steps, float peak, std::size_t warmup) {
    attn::section(std::cout, "The optimiser");
    // The uncorrected step over the corrected one at step t: (1 - beta1^t) / sqrt(1 - beta2^t).
    const double beta1 = 0.9;
    struct Beta2 {
        double value;
        const char* name;  // for attn::quote: bias_first_<name>, ...
        const char* used_by;
    };
    std::cout << "the uncorrected step over the corrected one, (1 - beta1^t) / sqrt(1 - "
                 "beta2^t),\nbeta1 = "
              << std::setprecision(3) << beta1 << ":\n  beta2   at step 1   largest   at step\n";
    for (const Beta2& b : {Beta2{0.95, "095", "this chapter's training"},
                           Beta2{0.99, "099", "attn::AdamWSettings, exercise 9.4"},
                           Beta2{0.999, "0999", "PyTorch's default"}}) {
        const auto factor = [&](std::size_t t) {
            return (1.0 - std::pow(beta1, static_cast<double>(t))) /
                   std::sqrt(1.0 - std::pow(b.value, static_cast<double>(t)));
        };
        std::size_t peak_step = 1;
        for (std::size_t t = 2; t <= 100000; ++t)
            if (factor(t) > factor(peak_step)) peak_step = t;
        const std::string name = b.name;
        std::cout << "  " << std::left << std::setw(5) << std::setprecision(3) << b.value
                  << std::right << std::setw(12) << attn::quote("bias_first_" + name, factor(1), 3)
                  << std::setw(10) << attn::quote("bias_peak_" + name, factor(peak_step), 3)
                  << std::setw(10)
                  << attn::quote("bias_peak_step_" + name, std::to_string(peak_step)) << "   ("
                  << b.used_by << ")\n";
    }
    std::cout << "\nlearning rate over " << steps << " steps (peak " << peak << ", warm-up "
              << warmup << " steps, cosine to a tenth):\n";
    for (std::size_t s :
         {std::size_t{0}, warmup / 2, warmup, steps / 4, steps / 2, 3 * steps / 4, steps - 1}) {
        std::cout << "  step " << std::setw(5) << s << "   " << std::scientific
                  << std::setprecision(2) << attn::learning_rate_at(s, peak, warmup, steps)
                  << std::defaultfloat << '\n';
    }
}

/// ## The data
///
/// The model learns a language the program makes up (language.hpp), small enough to learn
/// in seconds and built to test what attention is for. Its core sentences are "the" and a
/// noun, then nothing, a relative clause ("that chased the cats") or a prepositional phrase
/// ("near the cat"), then "was" or "were" and an adjective. The verb must agree with the
/// subject, and between them may stand an *attractor*, a noun of the other number (Linzen
/// et al. 2016). A model that only looks at the nearest noun gets every attractor sentence
/// wrong; the two verbs are equally common, so one that always guesses the same verb gets
/// half right. To get them right it must look back across the middle to the subject.
///
/// Where the subject stands matters too. If it were always the second word, a head that
/// always looks at the second word would get every verb right without finding anything,
/// and no measurement could tell it from a head that finds the subject. So a sentence may
/// begin with a *front*: a preamble ("yesterday ,", "in the morning ,") and adjectives
/// before the noun ("old", "big old"), words that have no number. A front moves the
/// subject anywhere from the second word to the eighth. The grammar makes every core
/// sentence with each of its {{fronts}} fronts, {{grammar_sentences}} sentences of
/// {{words}} words; the program keeps {{sentences}} of them, every core sentence once with a
/// front drawn for it by a seeded generator, as a corpus holds some of a language's
/// sentences and not others.
///
/// \show language.cpp Language::Language
///
/// Two kinds of sentence are held out, never trained on, and the measures below are on
/// them. Every sentence whose subject is the fifth or the seventh word ("yesterday , the
/// old dog ...", "in the morning , the old dog ..."): no training sentence has its subject
/// there, so a model that found the subject by its position would miss it in these. And a
/// fifth of every other kind of sentence (subject number, attractor or not, the middle's
/// length). Each training sequence is one sentence after a ".", the end of the one before,
/// so a sentence's word i is position i + 1 of the sequence, and the row of the word
/// before the verb is the one that predicts it:
///
/// \show training.cpp sentence_sequence
void show_data(const attn::Language& language, const attn::LanguageSplit& split) {
    attn::section(std::cout, "The data");
    const auto count = [](const std::vector<attn::Sentence>& s, auto pred) {
        return std::count_if(s.begin(), s.end(), pred);
    };
    const std::size_t fronts = language.grammar_size() / language.sentences().size();
    std::cout << attn::quote("words", std::to_string(language.words().size()))
              << " words; the grammar makes "
              << attn::quote("grammar_sentences", std::to_string(language.grammar_size()))
              << " sentences, " << attn::quote("fronts", std::to_string(fronts))
              << " fronts for each core sentence;\nthe corpus of "
              << attn::quote("sentences", std::to_string(language.sentences().size()))
              << " sentences: "
              << attn::quote("train_sentences", std::to_string(split.train.size()))
              << " to train on,\n"
              << split.held_out.size() << " held out, of which "
              << count(split.held_out, [](const attn::Sentence& s) { return s.attractor; })
              << " with an attractor\n\nexamples:\n";
    for (std::size_t i : {std::size_t{0}, std::size_t{205}, std::size_t{1570}, std::size_t{2500}})
        std::cout << "  " << language.text(language.sentences()[i].tokens) << '\n';
    const auto plural =
        count(split.train, [](const attn::Sentence& s) { return s.plural_subject; });
    std::cout << "\nsubjects in training: " << split.train.size() - plural << " singular, "
              << plural << " plural\n\nthe subject's position in the sequence (\".\" is 0), "
              << "sentences:\n  position  ";
    std::size_t last = 0;
    for (const attn::Sentence& s : language.sentences())
        last = std::max(last, s.subject_position + 1);
    for (std::size_t p = 2; p <= last; ++p) std::cout << std::setw(6) << p;
    for (const auto* part : {&split.train, &split.held_out}) {
        std::cout << (part == &split.train ? "\n  training  " : "\n  held out  ");
        for (std::size_t p = 2; p <= last; ++p)
            std::cout << std::setw(6)
                      << count(*part, [&](const auto& s) { return s.subject_position + 1 == p; });
    }
    const attn::Sequence seq = attn::sentence_sequence(language, language.sentences()[205]);
    std::cout << "\n\none training sequence (the subject is input "
              << language.sentences()[205].subject_position + 1 << "; row "
              << language.sentences()[205].verb_position << " predicts the verb, target "
              << language.sentences()[205].verb_position
              << "):\n  inputs:  " << language.text(seq.inputs)
              << "\n  targets: " << language.text(seq.targets) << '\n';
}

/// ## Training
///
/// The model is chapter 08's Llama at the size of the GPT that "What the Llama changed"
/// below trains beside it: dim 32, 2 blocks of 4 query heads of 8 sharing 2 key/value heads,
/// a SwiGLU width of 96 and a seq_len of 16, which holds the inputs of the longest sentence,
/// "." and every word but its last ({{longest_inputs}} tokens): {{parameters}} numbers. Each step draws 64
/// training sentences, and attn::llama_training_step() computes their gradient, stops if
/// the loss or any gradient is not finite (naming the first), clips and takes an AdamW
/// step, reading and writing the two buffers in place:
///
/// \show training.cpp llama_training_step
///
/// The loop around it, attn::train_agreement_llama(), sets its constants once (the model
/// and its seeded start, the optimiser's settings, the schedule), draws the batches and
/// hands each step's report to the program:
///
/// \show training.cpp train_agreement_llama
///
/// Every {{measure_every}} steps the program measures the model on the held-out sentences:
/// the loss per token, and for each sentence whether the right verb scores above the wrong
/// one at the row that predicts it:
///
/// \show training.cpp evaluate
///
/// The first step's loss, {{first_loss}} nats per token, is close to the {{uniform_loss}} of
/// equal logits: the untrained model gives every word nearly the same probability. The loss
/// cannot reach 0: after "the", any of the ten nouns may follow, and so on. When every one
/// of the grammar's {{grammar_sentences}} sentences is equally likely, as it is for a
/// sentence made by drawing a core sentence and a front, no model can expect to pay less
/// than \f$\ln {{grammar_sentences}}\f$ nats for a sentence; spread over the
/// {{mean_tokens}} tokens of a sentence on average, that is {{entropy}} nats per token, the
/// language's entropy (the program computes it). It is the lowest loss a model can expect
/// on sentences drawn from the whole language. It is not a floor for the training loss: a
/// model that memorised the {{train_sentences}} training sentences, giving each of them an
/// equal share and every other sentence none, would score {{memorised_loss}} nats per token
/// on them, below the entropy, and an infinite loss on every held-out sentence. Nor does the
/// held-out loss come down to it, because the held-out sentences are not drawn from the
/// whole language: all those with the subject at the fifth or the seventh word are among
/// them, and they begin with fronts no training sentence has ("yesterday , the old"). The
/// model learned from its training sentences what follows "yesterday , the", and it pays
/// for the surprise: at the end its loss is {{unseen_loss}} nats per token on those and
/// {{seen_held_loss}} on the other held-out sentences.
///
/// \image html ch09_loss.svg "Training and held-out loss per token, against the steps"
///
/// \image html ch09_agreement.svg "Agreement on held-out attractor sentences, against the steps"
///
/// The accuracy does not climb with the loss. In the first steps the model learns which
/// words follow which (the loss falls fastest there); at step {{first_measure_step}} its
/// verbs are right in {{first_attractor_accuracy}}% of the held-out attractor sentences,
/// where always saying the majority verb gets {{majority_share}}% and agreeing with the
/// nearest noun gets {{nearest_share}}% (both computed by the program). Then it finds the
/// subject: the attractor accuracy first reaches {{= 90%}} at step {{jump_step}} and ends at
/// {{final_attractor_accuracy}}%, and {{unseen_attractor_accuracy}}% on the
/// {{unseen_attractors}} whose subject stands at a position never trained on. A guess
/// between "was" and "were" costs \f$\ln 2\f$ at every verb, {{verb_cost}} nats per token
/// on average: what the loss gains when the verbs come right. The attractor accuracy's
/// lowest measurement is {{lowest_attractor}}%, at step {{lowest_step}}, when the held-out
/// sentences without an attractor were {{lowest_others}}% right. {{clipped}} of the
/// {{steps}} steps had a gradient norm above 1 and were clipped, the last of them step
/// {{last_clipped}}: {{clipping_verdict}}.
///
/// The settings were chosen in trial runs with other seeds. The {{steps}} steps were set for
/// the GPT of chapter 05 (below), which can wait long on a plateau before it finds the
/// subject, and which needed a weight decay of 1.0 to leave it; the Llama trains for as
/// many steps with the library's default decay, 0.1, with which every trial run grew a head
/// that singles the subject out (with 1.0, some runs spread that work over several heads).
/// The figures above are this run's.
struct Curves {
    std::vector<double> steps, train_loss, held_loss, attractor_accuracy, accuracy,
        other_accuracy;  // %: attractor sentences, all, those without an attractor
};

// Whether most training sentences have a plural subject ("were" the majority verb).
bool majority_is_plural(const attn::LanguageSplit& split) {
    std::size_t train_plural = 0;
    for (const attn::Sentence& s : split.train) train_plural += s.plural_subject;
    return 2 * train_plural > split.train.size();
}

// The % of `sentences` whose verb is the training sentences' majority verb.
double majority_verb_share(const attn::LanguageSplit& split,
                           const std::vector<attn::Sentence>& sentences) {
    const bool plural = majority_is_plural(split);
    const auto right = std::count_if(sentences.begin(), sentences.end(),
                                     [&](const auto& s) { return s.plural_subject == plural; });
    return 100.0 * static_cast<double>(right) / static_cast<double>(sentences.size());
}

// The baseline that agrees the verb with the last noun before it: % of `sentences` right.
double nearest_noun_accuracy(const attn::Language& language,
                             const std::vector<attn::Sentence>& sentences) {
    std::size_t right = 0;
    for (const attn::Sentence& s : sentences) {
        std::optional<bool> nearest;
        for (std::size_t t = 0; t < s.verb_position; ++t)
            if (const auto n = language.plural_noun(s.tokens[t])) nearest = n;
        right += nearest == s.plural_subject;
    }
    return 100.0 * static_cast<double>(right) / static_cast<double>(sentences.size());
}

double mean_tokens(const std::vector<attn::Sentence>& sentences) {
    double tokens = 0.0;
    for (const attn::Sentence& s : sentences) tokens += static_cast<double>(s.tokens.size());
    return tokens / static_cast<double>(sentences.size());
}

// Nats per token when each of `sentences` has probability 1 / their number: the loss on the
// training sentences of a model that memorised them.
double uniform_sentence_loss(const std::vector<attn::Sentence>& sentences) {
    return std::log(static_cast<double>(sentences.size())) / mean_tokens(sentences);
}

// What the training run gave: the model, and what "What the Llama changed" compares.
struct Trained {
    attn::LlamaParameters model;
    std::size_t jump_step = 0;  // the first measure at 90% held-out attractor accuracy; 0: none
    double seconds = 0.0;       // the whole run, its measures included
};

Trained train(const attn::Language& language, const attn::LanguageSplit& split, std::size_t steps,
              const std::filesystem::path& figures) {
    attn::section(std::cout, "Training");
    const attn::LlamaConfig config = attn::agreement_llama_config(language.words().size());
    const float peak = attn::agreement_peak_learning_rate;  // train_agreement_llama's
    const std::size_t batch_size = attn::agreement_batch, every = 50;
    // The language's entropy: every sentence of the grammar alike.
    const double entropy =
        std::log(static_cast<double>(language.grammar_size())) / language.grammar_mean_tokens();
    std::size_t longest = 0;
    for (const attn::Sentence& s : language.sentences())
        longest = std::max(longest, attn::sentence_sequence(language, s).inputs.size());
    std::cout << "Llama: "
              << attn::quote("parameters", std::to_string(attn::LlamaParameters(config).size()))
              << " parameters, seq_len " << config.seq_len << " (the longest sentence: "
              << attn::quote("longest_inputs", std::to_string(longest)) << " inputs);\n"
              << attn::quote("steps", std::to_string(steps)) << " steps of " << batch_size
              << " sentences, peak learning rate " << peak << ", weight decay "
              << attn::agreement_llama_weight_decay << std::fixed << std::setprecision(3)
              << "\nthe language's entropy, every sentence of the grammar alike: ln "
              << language.grammar_size() << " nats a sentence,\n  over its "
              << attn::quote("mean_tokens", language.grammar_mean_tokens(), 2)
              << " tokens on average = " << attn::quote("entropy", entropy, 3)
              << " nats per token\n"
              << "a model that memorised the training sentences, on them: "
              << attn::quote("memorised_loss", uniform_sentence_loss(split.train), 3)
              << " nats per token\nthe verb, a guess between two: ln 2 per sentence, "
              << attn::quote("verb_cost", std::log(2.0) / language.grammar_mean_tokens(), 3)
              << " nats per token\nmeasured every "
              << attn::quote("measure_every", std::to_string(every)) << " steps:\n\n"
              << " step   train loss   gradient norm   held-out loss   held-out accuracy   "
                 "attractors\n";
    Curves curves;
    double recent = 0.0, recent_norm = 0.0, first_loss = 0.0;
    std::size_t in_recent = 0, jump = 0, clipped = 0, last_clipped = 0;
    const auto start = std::chrono::steady_clock::now();
    // After each step: the running means, and every `every` steps the held-out measures.
    const auto measure = [&](std::size_t step, const attn::StepReport& r,
                             const attn::LlamaParameters& model) {
        if (step == 0) first_loss = r.loss;
        recent += r.loss;
        recent_norm += r.gradient_norm;
        if (r.gradient_norm > 1.0) {  // training_step's max_norm
            ++clipped;
            last_clipped = step + 1;
        }
        ++in_recent;
        if ((step + 1) % every == 0 || step + 1 == steps) {
            const attn::Agreement a = attn::evaluate(model, language, split.held_out);
            curves.steps.push_back(static_cast<double>(step + 1));
            curves.train_loss.push_back(recent / static_cast<double>(in_recent));
            curves.held_loss.push_back(a.loss);
            curves.accuracy.push_back(100.0 * a.accuracy());
            curves.attractor_accuracy.push_back(100.0 * a.attractor_accuracy());
            curves.other_accuracy.push_back(100.0 *
                                            static_cast<double>(a.correct - a.attractors_correct) /
                                            static_cast<double>(a.sentences - a.attractors));
            if (jump == 0 && a.attractor_accuracy() >= 0.9) jump = step + 1;
            const double mean_norm = recent_norm / static_cast<double>(in_recent);
            recent = 0.0;
            recent_norm = 0.0;
            in_recent = 0;
            if ((step + 1) % 100 == 0 || step + 1 == steps || curves.steps.size() <= 2) {
                std::cout << std::setw(5) << step + 1 << std::setw(13) << curves.train_loss.back()
                          << std::setw(16) << mean_norm << std::setw(16) << a.loss
                          << std::setprecision(1) << std::setw(19) << curves.accuracy.back() << "%"
                          << std::setw(12) << curves.attractor_accuracy.back() << "%"
                          << std::setprecision(3) << '\n';
            }
        }
    };
    attn::LlamaParameters trained =
        attn::train_agreement_llama(language, split.train, steps, measure);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << std::defaultfloat << "\ntrained in " << std::setprecision(3) << seconds
              << " s (one thread; the measures every " << every << " steps included)\n"
              << "the first step's loss: " << attn::quote("first_loss", first_loss, 3)
              << " nats per token\ngradient norm: the mean of the last " << every
              << " steps, before clipping\n"
              << attn::quote("clipped", std::to_string(clipped)) << " of " << steps
              << " steps were clipped to norm 1, the last of them step "
              << attn::quote("last_clipped", std::to_string(last_clipped)) << ": "
              << attn::quote("clipping_verdict", clipped == 0 ? "no step was clipped"
                                                 : last_clipped <= steps / 5
                                                     ? "clipping was at work early in training only"
                                                     : "clipping was at work late in training too")
              << '\n';
    std::vector<attn::Sentence> attractors;
    for (const attn::Sentence& s : split.held_out)
        if (s.attractor) attractors.push_back(s);
    if (!curves.steps.empty()) {
        std::cout << std::fixed << std::setprecision(1) << "held-out attractor accuracy at step "
                  << attn::quote("first_measure_step",
                                 std::to_string(static_cast<std::size_t>(curves.steps[0])))
                  << ": "
                  << attn::quote("first_attractor_accuracy", curves.attractor_accuracy[0], 1)
                  << "%\n";
        // The lowest measurement, and the sentences without an attractor at that step.
        const std::size_t at = static_cast<std::size_t>(
            std::min_element(curves.attractor_accuracy.begin(), curves.attractor_accuracy.end()) -
            curves.attractor_accuracy.begin());
        std::cout << "its lowest, at step "
                  << attn::quote("lowest_step",
                                 std::to_string(static_cast<std::size_t>(curves.steps[at])))
                  << ": " << attn::quote("lowest_attractor", curves.attractor_accuracy[at], 1)
                  << "% (held-out sentences without an attractor then: "
                  << attn::quote("lowest_others", curves.other_accuracy[at], 1) << "%)\n"
                  << std::defaultfloat;
    }
    if (jump != 0)
        std::cout << "held-out attractor accuracy first reached 90% at step "
                  << attn::quote("jump_step", std::to_string(jump)) << '\n';
    else
        std::cout << "held-out attractor accuracy never reached 90% (train for longer: --steps)\n";

    attn::write_svg_line_plot(
        figures / "ch09_loss.svg", curves.steps,
        {{"training (mean of the last " + std::to_string(every) + " steps)", curves.train_loss},
         {"held out", curves.held_loss},
         {"the language's entropy", std::vector<double>(curves.steps.size(), entropy)}},
        "Chapter 09: loss per token", "training step", "cross-entropy (nats, log scale)", true);
    std::cout << "Figure written to " << (figures / "ch09_loss.svg").string() << '\n';
    attn::write_svg_line_plot(
        figures / "ch09_agreement.svg", curves.steps,
        {{"held-out attractor sentences", curves.attractor_accuracy},
         {"all held-out sentences", curves.accuracy},
         {"baseline: the majority verb",
          std::vector<double>(curves.steps.size(), majority_verb_share(split, attractors))},
         {"baseline: the nearest noun",
          std::vector<double>(curves.steps.size(), nearest_noun_accuracy(language, attractors))}},
        "Chapter 09: subject-verb agreement", "training step", "% of verbs right");
    std::cout << "Figure written to " << (figures / "ch09_agreement.svg").string() << '\n';
    return {std::move(trained), jump, seconds};
}

/// The accuracy at the end of training beside the baselines a reader would guess, on the
/// held-out sentences with an attractor.
void show_accuracy(const attn::LlamaParameters& model, const attn::Language& language,
                   const attn::LanguageSplit& split) {
    const attn::Agreement a = attn::evaluate(model, language, split.held_out);
    std::vector<attn::Sentence> attractors;
    for (const attn::Sentence& s : split.held_out)
        if (s.attractor) attractors.push_back(s);
    const bool majority_plural = majority_is_plural(split);
    const double majority_share = majority_verb_share(split, attractors);
    std::cout << "\nheld-out attractor sentences (" << a.attractors << "), verbs right:\n"
              << "  the trained model      "
              << attn::quote("final_attractor_accuracy", 100.0 * a.attractor_accuracy(), 1)
              << "%  (goal: 95%)\n"
              << "  the majority verb      " << attn::quote("majority_share", majority_share, 1)
              << "%  (always \"" << (majority_plural ? "were" : "was") << "\")\n"
              << "  the nearest noun       "
              << attn::quote("nearest_share", nearest_noun_accuracy(language, attractors), 1)
              << "%  (the verb agrees with the last noun before it)\n"
              << "all held-out sentences (" << a.sentences << "): " << std::fixed
              << std::setprecision(1) << 100.0 * a.accuracy() << "%\n"
              << std::defaultfloat;
    // The same measures where the subject stands at a position no training sentence has,
    // and where it stands as in training.
    std::vector<attn::Sentence> unseen, seen;
    for (const attn::Sentence& s : split.held_out)
        (attn::subject_position_unseen(s) ? unseen : seen).push_back(s);
    const attn::Agreement u = attn::evaluate(model, language, unseen),
                          t = attn::evaluate(model, language, seen);
    std::cout << "\nwith the subject at a position never trained on (the "
              << attn::unseen_subject_positions[0] + 1 << "th or "
              << attn::unseen_subject_positions[1] + 1 << "th word):\n  attractor sentences ("
              << attn::quote("unseen_attractors", std::to_string(u.attractors)) << "): "
              << attn::quote("unseen_attractor_accuracy", 100.0 * u.attractor_accuracy(), 1)
              << "%; all " << u.sentences << ": " << std::fixed << std::setprecision(1)
              << 100.0 * u.accuracy() << "%\n  loss per token "
              << attn::quote("unseen_loss", u.loss, 3)
              << " (the other held-out sentences: " << attn::quote("seen_held_loss", t.loss, 3)
              << ")\n"
              << std::defaultfloat;
}

/// ## What the Llama changed
///
/// Chapter 05's GPT is the model of its time (GPT-2, 2019); chapter 08's Llama (2023) keeps
/// its shape, a stack of pre-norm blocks of attention and a feed-forward network, and
/// changes five pieces. **RMSNorm** for layer norm: no mean subtracted and no bias, one
/// statistic a row instead of two, and models train as well (Zhang and Sennrich 2019).
/// **RoPE** for the learned position embedding: positions enter only the scores, as the
/// angle between a query and a key, so a score depends on how far apart two tokens are and
/// not on where they stand; a head that learned "the word two back" knows it at every
/// position, and no table of positions bounds the context. **SwiGLU** for the GELU
/// feed-forward network: one projection gates another (Shazeer 2020 found such gates better
/// for the same number of weights), three matrices of width 96 here where the GPT has two
/// of width 128. **Grouped-query heads**: 4 query heads read 2 key/value heads, which halves
/// the keys and values a cache keeps per token (chapter 10 serves this model). And
/// **no biases** at all.
///
/// The program trains the GPT too, on the same sentences with the same steps, schedule and
/// optimiser, its weight decay 1.0 (attn::train_agreement_model(), the GPT's loop, which
/// steps the weights in place, attn::training_step() checking them against the
/// configuration each step), and measures both the same way:
///
/// \show training.cpp train_agreement_model
///
/// On this language, {{llama_vs_gpt}}: the Llama's attractor accuracy first reached {{= 90%}} at
/// step {{llama_jump}}, the GPT's at step {{gpt_jump}}. With the subject at a position never
/// trained on, the Llama got {{llama_unseen}}% of the attractor sentences right and the GPT
/// {{gpt_unseen}}%. One run of each on one language is an example, not a law: the papers
/// above measured the changes on large models and many tasks.
void show_changes(const attn::Language& language, const attn::LanguageSplit& split,
                  std::size_t steps, const Trained& llama) {
    attn::section(std::cout, "What the Llama changed");
    const attn::GptConfig gpt_config = attn::agreement_config(language.words().size());
    std::size_t gpt_jump = 0;
    const auto start = std::chrono::steady_clock::now();
    const attn::Gpt gpt = attn::train_agreement_model(
        language, split.train, steps,
        [&](std::size_t step, const attn::StepReport&, const attn::GptWeights& weights) {
            // The same measure as the Llama's, every 50 steps.
            if (gpt_jump != 0 || ((step + 1) % 50 != 0 && step + 1 != steps)) return;
            const attn::Gpt gpt(gpt_config, weights);
            const attn::Agreement a = attn::evaluate(
                [&](const std::vector<std::size_t>& inputs) { return gpt.logits(inputs); },
                language, split.held_out);
            if (a.attractor_accuracy() >= 0.9) gpt_jump = step + 1;
        });
    const double gpt_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<attn::Sentence> unseen;
    for (const attn::Sentence& s : split.held_out)
        if (attn::subject_position_unseen(s)) unseen.push_back(s);
    const attn::LogitsOf gpt_logits = [&](const std::vector<std::size_t>& inputs) {
        return gpt.logits(inputs);
    };
    const attn::Agreement gh = attn::evaluate(gpt_logits, language, split.held_out),
                          gu = attn::evaluate(gpt_logits, language, unseen),
                          lh = attn::evaluate(llama.model, language, split.held_out),
                          lu = attn::evaluate(llama.model, language, unseen);
    const attn::LlamaConfig& lc = llama.model.config();
    const std::size_t d_head = lc.dim / lc.n_heads;
    const auto step_text = [](std::size_t jump) {
        return jump == 0 ? std::string("never") : std::to_string(jump);
    };
    std::cout << std::fixed << std::setprecision(1)
              << "                                     GPT (chapter 05)   Llama (chapter 08)\n"
              << "  parameters                      " << std::setw(16)
              << attn::total_parameters(gpt_config) << std::setw(21) << llama.model.size()
              << "\n  attractors at 90%, first step   " << std::setw(16)
              << attn::quote("gpt_jump", step_text(gpt_jump)) << std::setw(21)
              << attn::quote("llama_jump", step_text(llama.jump_step))
              << "\n  held-out attractors, right      " << std::setw(15)
              << 100.0 * gh.attractor_accuracy() << "%" << std::setw(20)
              << 100.0 * lh.attractor_accuracy() << "%"
              << "\n    subject at an unseen position " << std::setw(15)
              << attn::quote("gpt_unseen", 100.0 * gu.attractor_accuracy(), 1) << "%"
              << std::setw(20) << attn::quote("llama_unseen", 100.0 * lu.attractor_accuracy(), 1)
              << "%\n  keys and values a token, floats " << std::setw(16)
              << 2 * gpt_config.n_layers * gpt_config.d_model << std::setw(21)
              << 2 * lc.n_layers * lc.n_kv_heads * d_head << "\n  training, s (measures included)"
              << std::setw(17) << gpt_seconds << std::setw(21) << llama.seconds << '\n'
              << std::defaultfloat;
    const std::size_t g = gpt_jump == 0 ? steps + 1 : gpt_jump,
                      l = llama.jump_step == 0 ? steps + 1 : llama.jump_step;
    std::cout << "so, on this language: "
              << attn::quote("llama_vs_gpt", l < g   ? "the Llama found the subject sooner"
                                             : l > g ? "the GPT found the subject sooner"
                                                     : "both found the subject at the same step")
              << '\n';
}

/// ## What it learned
///
/// Which head links the verb to its subject? The model predicts the verb from the row of
/// the word before it (the row of "was" already knows the verb and predicts the
/// adjective), and in an attractor sentence that word is the attractor itself: "cat" in the
/// running sentence. So the program takes that row of every head of every block in all the
/// held-out attractor sentences, {{heldout_attractors}} of them, and asks two questions of
/// each head: in what share of the sentences does its largest weight fall on the subject,
/// and what weight does it give the subject on average? It asks the same of the attractor,
/// which is the row's own word. attn::verb_rows() collects the rows, and
/// attn::head_focus() measures one head's:
///
/// \show training.cpp verb_rows head_focus
///
/// A head that always looks at one position would score too, as often as the subject
/// stands there; the program prints the best such position for these sentences as the
/// baseline. And it splits the measure for the {{unseen_attractors}} sentences whose subject
/// stands where no training sentence has one, where a head that had learned the subject's
/// positions, not the subject, would miss.
///
/// The answer: {{best_head}} puts its largest weight on the subject in
/// {{best_subject_share}}% of the held-out attractor sentences, and in
/// {{best_unseen_share}}% of those with the subject at a position never trained on; its
/// mean weight on the subject is {{best_subject_weight}}. Always looking at position
/// {{fixed_position}}, the best fixed position, gets {{fixed_share}}% of them (and
/// {{fixed_unseen_share}}% of those at new positions). Chapters 02 to 04 built such a head by
/// hand (the designed heads of
/// \ref ch02_self_attention "chapter 02"); here the measurement says what training built:
/// {{head_verdict}}.
///
/// The heatmaps are every head on the book's running sentence, on its plural twin, and on a
/// sentence whose subject stands where no training sentence has one.
///
/// \image html ch09_heads_singular.svg "Every head of the trained model on the running sentence"
///
/// \image html ch09_heads_plural.svg "The same heads on its plural twin"
///
/// \image html ch09_heads_unseen.svg "The same heads with the subject at a position never trained on"
void show_heads(const attn::LlamaParameters& model, const attn::Language& language,
                const attn::LanguageSplit& split, const std::filesystem::path& figures) {
    attn::section(std::cout, "What it learned");
    const attn::LlamaConfig& c = model.config();
    attn::Tokens titles;
    for (std::size_t l = 0; l < c.n_layers; ++l)
        for (std::size_t h = 0; h < c.n_heads; ++h)
            titles.push_back("block " + std::to_string(l) + ", head " + std::to_string(h));
    // Every held-out attractor sentence, and those whose subject stands where no training
    // sentence has one.
    std::vector<attn::Sentence> attractors, unseen;
    for (const attn::Sentence& s : split.held_out) {
        if (!s.attractor) continue;
        attractors.push_back(s);
        if (attn::subject_position_unseen(s)) unseen.push_back(s);
    }
    // In the row that predicts the verb: the subject's key, and the attractor's (the row's own).
    const auto keys = [](const std::vector<attn::Sentence>& sentences, bool subject) {
        std::vector<std::size_t> k;
        for (const attn::Sentence& s : sentences)
            k.push_back(subject ? s.subject_position + 1 : s.verb_position);
        return k;
    };
    const std::vector<std::vector<Vector>> rows = attn::verb_rows(model, language, attractors),
                                           unseen_rows = attn::verb_rows(model, language, unseen);
    std::vector<attn::HeadFocus> on_subject, on_unseen, on_attractor;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        on_subject.push_back(attn::head_focus(rows[i], keys(attractors, true)));
        on_unseen.push_back(attn::head_focus(unseen_rows[i], keys(unseen, true)));
        on_attractor.push_back(attn::head_focus(rows[i], keys(attractors, false)));
    }
    // The head whose largest weight is most often on the subject (on a tie, more weight).
    const auto less = [](const attn::HeadFocus& a, const attn::HeadFocus& b) {
        return std::pair(a.largest_share, a.mean_weight) <
               std::pair(b.largest_share, b.mean_weight);
    };
    const std::size_t best = static_cast<std::size_t>(
        std::max_element(on_subject.begin(), on_subject.end(), less) - on_subject.begin());
    // The baseline: a head that always looks at one position, the best one for these sentences.
    const auto share_at = [](const std::vector<attn::Sentence>& sentences, std::size_t key) {
        const auto n = std::count_if(sentences.begin(), sentences.end(),
                                     [&](const auto& s) { return s.subject_position + 1 == key; });
        return static_cast<double>(n) / static_cast<double>(sentences.size());
    };
    std::size_t fixed = 0;
    for (std::size_t p = 0; p < c.seq_len; ++p)
        if (share_at(attractors, p) > share_at(attractors, fixed)) fixed = p;
    std::cout << "the row that predicts the verb, in the "
              << attn::quote("heldout_attractors", std::to_string(attractors.size()))
              << " held-out attractor sentences\n(" << unseen.size()
              << " with the subject at a position never trained on): the share whose\nlargest "
                 "weight is on the subject or on the attractor, and the mean weight there\n\n"
              << "                    ------ on the subject ------    on the attractor\n"
              << "                    largest    unseen     weight    largest     weight\n"
              << std::fixed;
    const auto percent = [](double share) { return 100.0 * share; };
    for (std::size_t i = 0; i < rows.size(); ++i) {
        std::cout << "  " << std::left << std::setw(16) << titles[i] << std::right
                  << std::setprecision(1) << std::setw(8) << percent(on_subject[i].largest_share)
                  << "%" << std::setw(9) << percent(on_unseen[i].largest_share) << "%"
                  << std::setprecision(2) << std::setw(11) << on_subject[i].mean_weight
                  << std::setprecision(1) << std::setw(10) << percent(on_attractor[i].largest_share)
                  << "%" << std::setprecision(2) << std::setw(11) << on_attractor[i].mean_weight
                  << (i == best ? "   <-" : "") << '\n';
    }
    std::cout << "  " << std::left << std::setw(16) << ("position " + std::to_string(fixed))
              << std::right << std::setprecision(1) << std::setw(8)
              << percent(share_at(attractors, fixed)) << "%" << std::setw(9)
              << percent(share_at(unseen, fixed)) << "%"
              << "   (a head that always looks at one position,\n"
              << std::setw(68) << "the best one for these sentences)\n"
              << std::defaultfloat;
    std::cout << "\nthe head whose largest weight is most often on the subject: "
              << attn::quote("best_head", titles[best]) << "\n  "
              << attn::quote("best_subject_share", percent(on_subject[best].largest_share), 1)
              << "% of the held-out attractor sentences, "
              << attn::quote("best_unseen_share", percent(on_unseen[best].largest_share), 1)
              << "% of those with the subject at an\n  unseen position; mean weight on the subject "
              << attn::quote("best_subject_weight", on_subject[best].mean_weight, 2)
              << "\nthe best fixed position, "
              << attn::quote("fixed_position", std::to_string(fixed)) << ": "
              << attn::quote("fixed_share", percent(share_at(attractors, fixed)), 1) << "% and "
              << attn::quote("fixed_unseen_share", percent(share_at(unseen, fixed)), 1) << "%\n";
    // What the page may say of it: the measurement decides.
    const double all = on_subject[best].largest_share, at_new = on_unseen[best].largest_share;
    const std::string verdict =
        all >= 0.9 && at_new >= 0.9
            ? "a head that finds the subject wherever it stands, not a position"
        : all >= 0.9 ? "a head that finds the subject at trained positions, less often at new ones"
                     : "no head that finds the subject reliably";
    std::cout << "so training built:\n  " << attn::quote("head_verdict", verdict) << '\n';

    // The heatmaps: the running sentence, its plural twin, and a sentence whose subject
    // stands at a position never trained on.
    const std::vector<std::vector<std::string>> sentences = {
        {"the", "dog", "that", "chased", "the", "cat", "was", "tired", "."},
        {"the", "dogs", "that", "chased", "the", "cat", "were", "tired", "."},
        {"yesterday", ",", "the", "old", "dogs", "that", "chased", "the", "cat", "were", "tired",
         "."}};
    const char* names[] = {"ch09_heads_singular.svg", "ch09_heads_plural.svg",
                           "ch09_heads_unseen.svg"};
    for (std::size_t s = 0; s < sentences.size(); ++s) {
        std::vector<std::size_t> tokens;
        for (const std::string& w : sentences[s]) tokens.push_back(language.id(w));
        if (!language.accepts(tokens))
            throw std::logic_error("the example is not a sentence of the language");
        const std::vector<std::size_t> inputs =
            attn::sentence_sequence(language, attn::Sentence{tokens}).inputs;
        attn::Tokens labels = {"."};
        labels.insert(labels.end(), sentences[s].begin(), sentences[s].end() - 1);
        const attn::LlamaActivations f = attn::llama_forward_batch(model, {inputs});
        std::vector<Matrix> panels;
        for (std::size_t l = 0; l < c.n_layers; ++l)
            for (std::size_t h = 0; h < c.n_heads; ++h)
                panels.push_back(  // row i's weights over positions 0..i, one sentence
                    xt::view(f.blocks[l].attention_weights, xt::all(), h, xt::all()));
        if (s == 0) {
            std::cout << "\n" << titles[best] << " on \"" << language.text(tokens) << "\":\n";
            attn::print_heatmap(std::cout, panels[best], labels, labels, attn::color_enabled());
        }
        if (s == 2) {  // too wide for a heatmap here: the row that predicts the verb
            const std::size_t row = static_cast<std::size_t>(  // the verb's position
                std::find(sentences[s].begin(), sentences[s].end(), "were") - sentences[s].begin());
            std::cout << "\n"
                      << titles[best] << " on \"" << language.text(tokens) << "\",\nthe row of \""
                      << labels[row] << "\", which predicts \"" << sentences[s][row] << "\":\n"
                      << std::fixed << std::setprecision(2);
            for (std::size_t k = 0; k <= row; ++k)
                std::cout << "  " << std::left << std::setw(10) << labels[k] << std::right
                          << panels[best](row, k) << '\n';
            std::cout << std::defaultfloat;
        }
        attn::HeatmapGrid grid;  // the found head large, the others as small multiples
        grid.featured = best;
        attn::write_svg_heatmaps(figures / names[s], panels, labels, labels, titles,
                                 "Chapter 09: the trained heads", grid);
    }
    for (const char* name : names) std::cout << "\nFigure written to " << (figures / name).string();
    std::cout << '\n';
}

/// ## The trained model, saved and used
///
/// The trained model is saved in llama2.c's format, with chapter 08's
/// attn::write_checkpoint(): a header of seven numbers, the tensors, the RoPE tables,
/// written under another name and renamed at the end, so that a failure leaves nothing
/// half-written. Its buffer is already in the file's order, so the tensors are the buffer
/// itself; attn::to_llama() makes the chapter 08 model whose matrices point into one copy
/// of it. The vocabulary goes into a `tokenizer.bin` of Llama 2's format
/// (attn::Tokenizer::write(), each word a piece with a space before it, as sentencepiece
/// writes a word that follows a space). Chapter 08's attn::read_checkpoint() maps the file
/// back and attn::from_llama() copies its numbers into a buffer, to compare every one (or
/// to train further).
///
/// \show llama_parameters.cpp to_llama from_llama
/// \show chapters/08_real_model/checkpoint.cpp write_checkpoint
///
/// Read back, the model writes with chapter 08's code: its KV-cached attn::CachedLlama
/// generates sentences, each from "." at temperature 1 (the model's own distribution) until
/// it writes the next ".", the tokenizer read back gives their text, and the grammar that
/// made the language checks each one.
void show_saved_and_used(const attn::LlamaParameters& trained, const attn::Language& language,
                         const attn::LanguageSplit& split,
                         const std::filesystem::path& model_file) {
    attn::section(std::cout, "The trained model, saved and used");
    std::vector<std::string> pieces;
    for (const std::string& word : language.words()) pieces.push_back(" " + word);
    const std::filesystem::path tokenizer_file =
        model_file.parent_path() / (model_file.stem().string() + "_tokenizer.bin");
    attn::write_checkpoint(model_file, attn::to_llama(trained));
    attn::Tokenizer(pieces, std::vector<float>(pieces.size(), 0.0f)).write(tokenizer_file);
    const attn::Llama model = attn::read_checkpoint(model_file);
    const attn::Tokenizer tokenizer =
        attn::Tokenizer::read(tokenizer_file, model.config().vocab_size);
    const attn::LlamaParameters back = attn::from_llama(model);
    const bool equal = back.size() == trained.size() &&
                       std::equal(trained.data(), trained.data() + trained.size(), back.data());
    std::cout << "saved in llama2.c's format and read back: "
              << std::filesystem::file_size(model_file) << " bytes ("
              << std::filesystem::file_size(tokenizer_file) << " for the tokenizer); "
              << (equal ? "every number equal\n" : "THE NUMBERS DIFFER\n");
    std::set<std::vector<std::size_t>> training_sentences;
    for (const attn::Sentence& s : split.train) training_sentences.insert(s.tokens);
    attn::Rng rng(7);
    attn::CachedLlama cached(model);
    const std::size_t count = 200, dot = language.id(".");
    std::size_t accepted = 0, novel = 0;
    std::vector<std::string> rejected;
    const auto text = [&](const std::vector<std::size_t>& tokens) {  // the tokenizer's pieces
        std::string t;
        for (std::size_t token : tokens) t += tokenizer.piece(token);
        return t.empty() ? t : t.substr(1);
    };
    std::cout << "\nsentences it wrote (temperature 1):\n";
    for (std::size_t n = 0; n < count; ++n) {
        std::vector<std::size_t> sentence;
        Vector logits = xt::row(cached.prefill({dot}), 0);
        while (cached.position() < model.config().seq_len) {
            const std::size_t next = attn::sample_token(logits, 1.0f, rng);
            sentence.push_back(next);
            if (next == dot) break;
            logits = cached.decode(next);
        }
        const bool ok = language.accepts(sentence);
        accepted += ok;
        novel += ok && !training_sentences.count(sentence);
        if (n < 6) std::cout << "  " << text(sentence) << '\n';
        if (!ok) rejected.push_back(text(sentence));
    }
    std::cout << "\nthe ones the grammar rejects:\n";
    for (const std::string& r : rejected) std::cout << "  " << r << '\n';
    if (rejected.empty()) std::cout << "  none\n";
    std::cout << "\n"
              << accepted << " of " << count << " sentences (" << std::fixed << std::setprecision(1)
              << 100.0 * accepted / count << "%) are sentences of the grammar (goal: 95%);\n"
              << novel << " of them are not among the training sentences\n"
              << std::defaultfloat;
}

/// ## The cost of training
///
/// Inference keeps, from one token to the next, only the keys and values (chapter 06).
/// Training keeps far more: the backward pass of every piece needs what its forward pass
/// saw, so every block's intermediate results stay in memory until the backward pass has
/// used them (the struct attn::LlamaBlockActivations). The program lists them for one
/// sentence of 8 tokens, measured from the tensors attn::llama_forward_batch() returns, and
/// then measures the memory a whole training step allocates beyond what it starts with (64
/// sentences). attn::llama_gradients() runs the whole batch at once, its sentences' rows
/// packed into one matrix, so the activations of all 64 are alive together until the
/// backward pass has passed them: they and the temporaries of the backward pass make the
/// step's peak (the gradients' buffer, as large as the weights, exists before the step and
/// is reused by every step). For a large model with long sequences the activations are
/// most of the memory of training; recomputing them in the backward pass instead of
/// keeping them (activation checkpointing) trades time for that memory. A step of the
/// 64 sentences took {{step_ms}} ms here (best of 3, one thread).
void show_cost(const attn::LlamaParameters& model, const attn::Language& language) {
    attn::section(std::cout, "The cost of training");
    attn::Sentence sentence;  // 8 inputs
    for (const char* w : {"the", "dog", "near", "the", "cat", "was", "tired", "."})
        sentence.tokens.push_back(language.id(w));
    const attn::Sequence seq = attn::sentence_sequence(language, sentence);
    const attn::LlamaActivations f = attn::llama_forward_batch(model, {seq.inputs});
    const auto kib = [](std::size_t floats) { return static_cast<double>(floats) * 4.0 / 1024.0; };
    const attn::LlamaBlockActivations& b = f.blocks[0];
    struct Row {
        const char* name;
        std::size_t floats;
    };
    const std::vector<Row> rows = {
        {"x, the block's input", b.input.size()},
        {"RMSNorm(x)", b.attention_input.size()},
        {"Q, K (rotated), V", b.queries.size() + b.keys.size() + b.values.size()},
        {"attention weights P", b.attention_weights.size()},
        {"the heads, W_o's input", b.attended.size()},
        {"h = x + attention", b.residual.size()},
        {"RMSNorm(h)", b.ffn_input.size()},
        {"gate and up", b.gate.size() + b.up.size()},
        {"SiLU(gate) * up", b.gated.size()}};
    std::size_t per_block = 0;
    std::cout << "kept for the backward pass, per block, T = " << seq.inputs.size() << ":\n";
    for (const Row& r : rows) {
        std::cout << "  " << std::left << std::setw(28) << r.name << std::right << std::setw(7)
                  << r.floats << " floats\n";
        per_block += r.floats;
    }
    const std::size_t blocks = f.blocks.size();
    const std::size_t training =
        per_block * blocks + f.output.size() + f.final_norm_output.size() + f.logits.size();
    const std::size_t inference = (b.keys.size() + b.values.size()) * blocks;  // the KV cache
    std::cout << std::fixed << std::setprecision(2) << "\nall of it, " << blocks
              << " blocks and the output: " << training << " floats (" << kib(training)
              << " KiB)\nwhat inference keeps (the KV cache): " << inference << " floats ("
              << kib(inference) << " KiB), " << std::setprecision(1)
              << static_cast<double>(training) / static_cast<double>(inference) << " times less\n"
              << std::defaultfloat;

    // The memory of one whole step, measured: every allocation counted.
    attn::LlamaParameters weights = model, gradients(model.config());
    attn::BufferAdamW optimiser(weights);
    std::vector<attn::Sequence> batch(64, seq);
    const std::size_t base = attn::bytes_in_use();
    attn::reset_peak_bytes();
    attn::llama_training_step(weights, gradients, optimiser, batch, 1e-4f);
    const double model_kib = kib(model.size());
    std::cout << std::fixed << std::setprecision(0) << "\none training step of 64 sentences of "
              << seq.inputs.size() << " tokens allocated at most "
              << static_cast<double>(attn::peak_bytes() - base) / 1024.0
              << " KiB\nbeyond the weights (" << model_kib << " KiB), their gradients (as many) "
              << "and AdamW's moments (" << 2 * model_kib
              << " KiB);\nthe 64 sentences' activations, kept together, are "
              << 64.0 * kib(training)
              << " KiB of it (the batch is one sentence 64 times over:\nits cost is that of 64 "
                 "different sentences of the same length)\n"
              << std::defaultfloat;
    double best = 1e300;
    for (int r = 0; r < 3; ++r) {
        const auto start = std::chrono::steady_clock::now();
        attn::llama_training_step(weights, gradients, optimiser, batch, 1e-4f);
        best = std::min(best, std::chrono::duration<double, std::milli>(
                                  std::chrono::steady_clock::now() - start)
                                  .count());
    }
    std::cout << "a training step of those 64 sentences, best of 3: " << std::fixed
              << std::setprecision(2) << attn::quote("step_ms", best, 2) << " ms\n"
              << std::defaultfloat;
}

/// ## The program
///
/// The entry point reads `--steps N` (attn::agreement_steps, 1000, by default; the tests run
/// 30), `--save FILE` to keep the trained model (in llama2.c's format, its tokenizer beside
/// it as FILE's stem + `_tokenizer.bin`), and `--load FILE` to skip training and look at a
/// saved model. Chapter 08's program runs a saved model as it runs stories15M:
///
///     cd build/chapters
///     09_learning/ch09_learning --save m.bin
///     08_real_model/ch08_real_model --checkpoint m.bin --tokenizer m_tokenizer.bin --prompt ""
///
/// It starts from token 1, llama2.c's start of a text, and stops at the first token 1 the
/// model writes, as llama2.c stops at the start of the next story. In this vocabulary token
/// 1 is ".", the end of a sentence and what training put before each one, so the program
/// writes one sentence (sampled at its default temperature 0.8; the "." that ends it is not
/// printed: llama2.c does not print the token it stops at). A prompt of text cannot be encoded:
/// llama2.c's byte-pair encoder builds words from single characters and bytes, and this
/// vocabulary holds whole words only.
/// attn::run_chapter() reports errors: a step count or file that is wrong ends the program
/// with a message and exit status 1.
constexpr const char* description =
    "The backward pass of chapter 08's Llama, checked; AdamW; a made-up language with\n"
    "subject-verb agreement; the Llama trained from zero (and chapter 05's GPT beside it),\n"
    "its heads, what it writes, saved in llama2.c's format.";

std::size_t positive_count(const attn::ChapterOption& option) {
    std::size_t used = 0;
    long long value = 0;
    try {
        value = std::stoll(option.value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != option.value.size() || value <= 0 || value > 1000000) {
        throw std::invalid_argument("--" + option.name + " must be a whole number from 1 to " +
                                    "1000000, got '" + option.value + "'");
    }
    return static_cast<std::size_t>(value);
}

int main(int argc, char** argv) {
    std::vector<attn::ChapterOption> options = {
        {"steps", "N", "training steps", std::to_string(attn::agreement_steps), false},
        {"save", "FILE", "where to keep the trained model", "a temporary file, removed", false},
        {"load", "FILE", "a model saved by --save: look at it instead of training", "", false}};
    return attn::run_chapter(
        argc, argv, description, options, [&](const std::filesystem::path& figures) {
            attn::use_one_blas_thread();  // the times it prints are for one thread
            const std::size_t steps = positive_count(options[0]);
            const attn::Language language;
            attn::Rng rng(20);
            const attn::LanguageSplit split = attn::split_sentences(language, 0.2, rng);
            if (options[2].given) {
                const attn::LlamaParameters model =
                    attn::from_llama(attn::read_checkpoint(options[2].value));
                if (model.config().vocab_size != language.words().size())
                    throw std::invalid_argument(options[2].value + ": a model of " +
                                                std::to_string(model.config().vocab_size) +
                                                " tokens, not of this language's " +
                                                std::to_string(language.words().size()));
                show_accuracy(model, language, split);
                show_heads(model, language, split, figures);
                return;
            }
            show_chain_rule(language);
            show_gradient_check(language);
            show_optimiser(steps, attn::agreement_peak_learning_rate,
                           std::max<std::size_t>(1, steps / 20));
            show_data(language, split);
            const Trained trained = train(language, split, steps, figures);
            show_accuracy(trained.model, language, split);
            show_changes(language, split, steps, trained);
            show_heads(trained.model, language, split, figures);
            const std::filesystem::path file =
                options[1].given ? std::filesystem::path(options[1].value)
                                 : std::filesystem::temp_directory_path() / "attn_ch09_llama.bin";
            show_saved_and_used(trained.model, language, split, file);
            if (!options[1].given) {
                std::filesystem::remove(file);
                std::filesystem::remove(file.parent_path() / "attn_ch09_llama_tokenizer.bin");
            }
            show_cost(trained.model, language);
        });
}

/// ## What comes next
///
/// The model trained here is small and its language tiny, but nothing in the code is
/// small: the same backward pass, parameter buffer, optimiser and loop train a Llama of
/// stories15M's size when the matrices are larger and the data is text, and the file it
/// writes is the file chapter 08 reads. What remains is serving it to many readers at once:
/// the KV cache paged like virtual memory, and batched decoding, which chapter 10 measures
/// on this very model.
