/// \file
/// \brief Chapter 05 exercises: the transformer block, written by you.
///
/// Each function below is one exercise; its comment is the task. Your answer goes in the
/// `.cpp` file named after the exercise in this folder. Check with `make check CH=05`.
///
/// You may use chapters 01 to 04, e.g. attn::multi_head_attention() (include
/// `chapters/04_multi_head_attention/multi_head_attention.hpp`).
///
/// Every function first checks its arguments and throws std::invalid_argument whose message
/// names the function and shows what is wrong: a shape as `[0, 6]` (attn::check_shape()
/// writes the whole message) and a number as `name = value`, e.g. `n_heads = 0`.
#pragma once

#include "chapters/04_multi_head_attention/multi_head_attention.hpp"
#include "common/errors.hpp"
#include "common/shape.hpp"
#include "common/tensor.hpp"

/// Chapter 05 exercises.
namespace attn::ex05 {

/// The weights of one pre-LN block (exercise 5.4).
struct Block {
    Vector ln1_gain;             ///< `[d_model]`
    Vector ln1_bias;             ///< `[d_model]`
    MultiHeadWeights attention;  ///< chapter 04's layer, biases included
    Vector ln2_gain;             ///< `[d_model]`
    Vector ln2_bias;             ///< `[d_model]`
    Matrix w1;                   ///< `[d_model, d_ff]`
    Vector b1;                   ///< `[d_ff]`
    Matrix w2;                   ///< `[d_ff, d_model]`
    Vector b2;                   ///< `[d_model]`
};

/// \brief Exercise 5.1: layer norm.
///
/// Normalise each token (each row) over its features:
/// \f$y = \gamma \odot (x - \mu) / \sqrt{\sigma^2 + \epsilon} + \beta\f$, with \f$\mu\f$
/// the row's mean and \f$\sigma^2\f$ its *biased* variance, the mean of
/// \f$(x_i - \mu)^2\f$ (divided by d_model, not d_model - 1).
///
/// \param x `[T, d_model]`
/// \param gain \f$\gamma\f$, `[d_model]`
/// \param bias \f$\beta\f$, `[d_model]`
/// \param eps \f$\epsilon\f$, inside the square root (GPT-2: 1e-5)
/// \return `[T, d_model]`
///
/// Throws std::invalid_argument naming layer_norm when x is empty or gain or bias is not
/// `[d_model]`.
///
/// Example: x `{{1, 2, 3, 4}}`, gain ones, bias zeros, eps 0 give
/// `{{-1.342, -0.447, 0.447, 1.342}}` (mean 2.5, variance 1.25).
///
/// Hint: each row (token) on its own: the mean and variance of its features, then normalise, times
/// the gain, plus the bias. Traps: the biased variance (divide by d_model, not d_model - 1); eps
/// inside the square root; a row's features, not a column's tokens. `xt::mean` is lazy: read it as
/// a float (an empty call, `()`) before using it; `xt::row` reads and assigns.
///
/// Second hint: for each row t: \f$\mu = \frac{1}{d}\sum_i x_{t,i}\f$,
/// \f$\sigma^2 = \frac{1}{d}\sum_i (x_{t,i} - \mu)^2\f$, and
/// \f$y_{t,i} = \gamma_i\, (x_{t,i} - \mu) / \sqrt{\sigma^2 + \epsilon} + \beta_i\f$, written into
/// a matrix of zeros of x's shape.
// answered in the library by: chapters/05_transformer_block/transformer_block.cpp layer_norm
Matrix layer_norm(const Matrix& x, const Vector& gain, const Vector& bias, float eps);

/// \brief Exercise 5.2: GELU, GPT-2's tanh form.
///
/// Element by element:
/// \f$\mathrm{GELU}(x) = \frac{x}{2}\left(1 + \tanh\left(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\right)\right)\f$.
///
/// \param x `[rows, cols]`, any shape
/// \return the same shape
///
/// Throws std::invalid_argument naming gelu_tanh when x is empty.
///
/// Example: `{{-1, 0, 1, 2}}` gives `{{-0.1588, 0, 0.8412, 1.9546}}`.
///
/// Hint: element-wise arithmetic on the whole matrix: `xt::tanh` works element by element, and the
/// constant is the square root of 2 over `std::numbers::pi_v<float>` (from `<numbers>`). Not the
/// erf form \f$\frac{x}{2}(1 + \mathrm{erf}(x / \sqrt{2}))\f$: close, but not what GPT-2 computes.
///
/// Second hint: \f$c = \sqrt{2/\pi} \approx 0.79788\f$, \f$u = c\,(x + 0.044715\, x^3)\f$ and
/// \f$y = \frac{x}{2}\,(1 + \tanh u)\f$, every operation element by element (the cube as x times x
/// times x).
// answered in the library by: chapters/05_transformer_block/transformer_block.cpp gelu
Matrix gelu_tanh(const Matrix& x);

/// \brief Exercise 5.3: RMSNorm.
///
/// Llama's norm: divide each row by its root mean square and multiply by the gain,
/// \f$y = \gamma \odot x / \sqrt{\frac{1}{d}\sum_i x_i^2 + \epsilon}\f$. No mean is
/// subtracted, and there is no bias.
///
/// \param x `[T, d_model]`
/// \param gain \f$\gamma\f$, `[d_model]`
/// \param eps \f$\epsilon\f$, inside the square root
/// \return `[T, d_model]`
///
/// Throws std::invalid_argument naming rms_norm when x is empty or gain is not `[d_model]`.
///
/// Example: x `{{3, 4}}`, gain ones, eps 0 give `{{0.849, 1.131}}` (root mean square 3.536).
///
/// Hint: 5.1 made simpler: row by row, divide by the root mean square and multiply by the gain. No
/// mean is subtracted (that would be layer norm) and there is no bias. As in 5.1, eps goes inside
/// the square root, and the lazy `xt::mean` of the squared row is read as a float before use.
///
/// Second hint: for each row t: \f$r = \sqrt{\frac{1}{d}\sum_i x_{t,i}^2 + \epsilon}\f$ and
/// \f$y_{t,i} = \gamma_i\, x_{t,i} / r\f$.
// answered in the library by: chapters/05_transformer_block/transformer_block.cpp rms_norm
Matrix rms_norm(const Matrix& x, const Vector& gain, float eps);

/// \brief Exercise 5.4: the pre-LN transformer block.
///
/// GPT-2's block: \f$h = x + \mathrm{MHA}(\mathrm{LN}_1(x))\f$ with causal multi-head
/// attention, then \f$y = h + \mathrm{FFN}(\mathrm{LN}_2(h))\f$ with
/// \f$\mathrm{FFN}(z) = \mathrm{GELU}(z W_1 + b_1) W_2 + b_2\f$ (the tanh GELU), layer
/// norms with eps 1e-5.
///
/// \param x `[T, d_model]`, the residual stream
/// \param w the block's weights (see attn::ex05::Block)
/// \return `[T, d_model]`
///
/// Throws std::invalid_argument naming pre_ln_block when x is empty or a weight does not
/// fit d_model (the attention's own checks may name multi_head_attention).
///
/// Example: with every weight and bias 0 (gains 1), both sub-layers add 0, so y = x.
///
/// Hint: check x, the four norm vectors, w1, b1, w2 and b2 here first (`check_shape()`, name
/// "attn::ex05::pre_ln_block"); the attention's weights may be left to multi_head_attention. Then
/// your layer_norm() and gelu_tanh(), chapter 04's attn::multi_head_attention() (causal, its
/// `.output`) and `xt::linalg::dot`; a bias Vector added to a Matrix goes to every row. The norm
/// comes before each sub-layer; the residuals add the *un*-normalised x and h.
///
/// Second hint: \f$h = x + \mathrm{MHA}(\mathrm{LN}_1(x))\f$ (causal),
/// \f$a = \mathrm{GELU}(\mathrm{LN}_2(h)\, W_1 + b_1)\f$ and \f$y = h + a\, W_2 + b_2\f$, both
/// layer norms with \f$\epsilon = 10^{-5}\f$ and the tanh GELU of 5.2.
// answered in the library by: chapters/05_transformer_block/transformer_block.cpp transformer_block feed_forward
Matrix pre_ln_block(const Matrix& x, const Block& w);

}  // namespace attn::ex05
