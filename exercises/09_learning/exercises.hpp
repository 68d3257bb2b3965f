/// \file
/// \brief Chapter 09 exercises: the backward pass of the softmax, of layer norm and of the
/// loss, and one AdamW step, written by you.
///
/// Each function below is one exercise; its comment is the task. Your answer goes in the
/// `.cpp` file named after the exercise in this folder. Check with `make check CH=09`.
///
/// You may use chapters 01 to 08: attn::softmax_rows() (chapter 01, included here),
/// check_shape() and invalid_argument() (`common/shape.hpp`). Chapter 09's
/// own functions are what you are writing: the tests compare your answers with PyTorch's.
#pragma once

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "common/errors.hpp"
#include "common/shape.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <vector>

/// Chapter 09 exercises.
namespace attn::ex09 {

/// \brief Exercise 9.1: the softmax's backward pass.
///
/// P is the row softmax of scores S; dP is the gradient of the loss with respect to P.
/// Return the gradient with respect to S, row by row:
/// \f$dS_{ij} = P_{ij}\,(dP_{ij} - \sum_k dP_{ik} P_{ik})\f$.
///
/// \param p `[T_q, T_k]`, each row a softmax (non-negative, summing to 1; 0 for a masked key)
/// \param dp `[T_q, T_k]`
/// \return `[T_q, T_k]`
///
/// Throws std::invalid_argument naming softmax_backward and both shapes when dp's shape is
/// not p's (check_shape() with `exactly("T_q", ...)` and `exactly("T_k", ...)` does it).
///
/// Example: P = `{{0.5, 0.5}, {0.25, 0.75}}`, dP = `{{1, 0}, {0, 1}}`: the row sums of
/// dP * P are 0.5 and 0.75, so dS = `{{0.5 * (1 - 0.5), 0.5 * (0 - 0.5)}, {0.25 * (0 - 0.75),
/// 0.75 * (1 - 0.75)}}` = `{{0.25, -0.25}, {-0.1875, 0.1875}}`. A row's dS always sums to 0:
/// adding one number to every score of a row does not change its softmax.
///
/// Hint: raising one score raises its weight and lowers every other weight of its row, so each
/// gradient depends on the whole row: first one number per row, the sum of dP times P over the row
/// (the keys k, not a column), then each entry from it. Known mistakes: the Jacobian's diagonal
/// \f$P(1 - P)\f$ only, no row-sum term, the sign. Add the row's sum up in double.
///
/// Second hint: for each row i: \f$s_i = \sum_k dP_{ik} P_{ik}\f$, then
/// \f$dS_{ij} = P_{ij}\, (dP_{ij} - s_i)\f$. Each row of dS then sums to 0.
// answered in the library by: chapters/09_learning/backward.cpp softmax_backward
Matrix softmax_backward(const Matrix& p, const Matrix& dp);

/// The gradients of layer norm (exercise 9.2).
struct LayerNormGradients {
    Matrix dx;     ///< `[T, d]`
    Vector dgain;  ///< `[d]`
    Vector dbias;  ///< `[d]`
};

/// \brief Exercise 9.2: layer norm's backward pass.
///
/// Chapter 05's layer norm is, row by row, \f$y = g \circ \hat{x} + b\f$ with
/// \f$\hat{x} = (x - \mu)/\sigma\f$, \f$\mu\f$ the row's mean and \f$\sigma = \sqrt{\mathrm{var}
/// + \epsilon}\f$ (the variance divides by d, not d - 1). Given dy, return with
/// \f$u = dy \circ g\f$:
/// \f$dx = \frac{1}{\sigma}\left(u - \mathrm{mean}(u) - \hat{x}\,\mathrm{mean}(u \circ
/// \hat{x})\right)\f$ (means over the row's d features),
/// \f$dg = \sum_t dy_t \circ \hat{x}_t\f$ and \f$db = \sum_t dy_t\f$ (sums over the T rows).
///
/// \param x `[T, d]`, the forward pass's input
/// \param gain `[d]`
/// \param dy `[T, d]`
/// \param eps added to the variance, 1e-5 in chapter 05
///
/// Throws std::invalid_argument naming layer_norm_backward and the shapes when gain is not
/// `[d]` or dy is not x's shape.
///
/// Example: with gain 1 and dy equal in every feature of a row (dy = c), dx is 0: adding c
/// to every feature of y is what the bias does, and \f$\hat{x}\f$ ignores a shift of x.
///
/// Hint: per row, redo the forward pass's statistics (mean, variance divided by d, not d - 1, sigma
/// with eps inside the root, \f$\hat{x}\f$), then the two means of the formula over the row's
/// features. u includes the gain; both mean terms are needed (through the mean, through sigma).
/// dgain and dbias are sums over all T rows. Row sums in double are safer.
///
/// Second hint: per row t, with \f$\hat{x}_j = (x_{tj} - \mu) / \sigma\f$ and
/// \f$u_j = dy_{tj}\, g_j\f$:
/// \f$dx_{tj} = (u_j - \bar{u} - \hat{x}_j\, \overline{u\hat{x}}) / \sigma\f$, \f$\bar{u}\f$ and
/// \f$\overline{u\hat{x}}\f$ being the means over j of \f$u_j\f$ and \f$u_j \hat{x}_j\f$; add
/// \f$dy_{tj} \hat{x}_j\f$ to \f$dg_j\f$ and \f$dy_{tj}\f$ to \f$db_j\f$.
// answered in the library by: chapters/09_learning/backward.cpp layer_norm_backward
LayerNormGradients layer_norm_backward(const Matrix& x, const Vector& gain, const Matrix& dy,
                                       float eps);

/// \brief Exercise 9.3: the gradient of the cross-entropy loss.
///
/// The loss is the mean over N positions of \f$-\log \mathrm{softmax}(z_t)_{target_t}\f$.
/// Return its gradient with respect to the logits:
/// \f$dz = (\mathrm{softmax}(z) - \mathrm{onehot}(target)) / N\f$.
///
/// \param logits `[N, vocab_size]`
/// \param targets N ids, each below vocab_size
/// \return `[N, vocab_size]`
///
/// Throws std::invalid_argument naming cross_entropy_backward when the number of targets is
/// not N (naming both numbers) or a target is not below vocab_size (naming its position and
/// value).
///
/// Example: logits `{{0, 0}}`, target `{1}`: softmax `{0.5, 0.5}`, minus the one-hot
/// `{0, 1}`, divided by N = 1: `{{0.5, -0.5}}`. Every row sums to 0.
///
/// Hint: the row softmax of the logits (attn::softmax_rows(), which subtracts each row's maximum),
/// minus 1 at each row's target, all divided by N, the rows, not the vocabulary size. Without 1/N
/// the gradient grows with the batch: plain gradient descent's steps grow with it, and with AdamW
/// clipping at a fixed norm cuts in at another size. Check the targets first.
///
/// Second hint: \f$dz_{t,j} = (\mathrm{softmax}(z_t)_j - [\,j = \mathrm{target}_t\,]) / N\f$:
/// softmax minus one-hot, not the reverse.
// answered in the library by: chapters/09_learning/backward.cpp cross_entropy
Matrix cross_entropy_backward(const Matrix& logits, const std::vector<std::size_t>& targets);

/// AdamW's settings (exercise 9.4): the library's defaults (chapter 09's training sets
/// beta2 = 0.95).
struct AdamSettings {
    float beta1 = 0.9f;         ///< the first moment's decay
    float beta2 = 0.99f;        ///< the second moment's decay
    float epsilon = 1e-8f;      ///< added to the root of the second moment
    float weight_decay = 0.1f;  ///< decoupled, and only when `decays`
};

/// AdamW's state for one tensor (exercise 9.4).
struct AdamState {
    std::vector<float> m;  ///< the first moment; empty before the first step
    std::vector<float> v;  ///< the second moment; empty before the first step
    std::size_t step = 0;  ///< the steps taken
};

/// \brief Exercise 9.4: one AdamW step for one tensor.
///
/// Count the step (t = state.step + 1), then for each number i, with g = grads[i]:
/// \f$m \leftarrow \beta_1 m + (1 - \beta_1) g\f$, \f$v \leftarrow \beta_2 v + (1 - \beta_2) g^2\f$,
/// \f$\hat{m} = m / (1 - \beta_1^t)\f$, \f$\hat{v} = v / (1 - \beta_2^t)\f$ (the bias
/// correction), then \f$w \leftarrow w - \eta\lambda w\f$ when `decays` (and not otherwise:
/// gains, biases and embeddings do not decay), and \f$w \leftarrow w - \eta\,\hat{m} /
/// (\sqrt{\hat{v}} + \epsilon)\f$. Before the first step m and v are empty: start them at 0.
///
/// \param weights the tensor's numbers, changed in place
/// \param grads as many gradients
/// \param state the moments and the step count, changed in place
/// \param learning_rate \f$\eta\f$, above 0
/// \param decays whether weight decay applies to this tensor
/// \param settings \f$\beta_1, \beta_2, \epsilon, \lambda\f$
///
/// Throws std::invalid_argument naming adamw_step, before changing anything, when grads or
/// a non-empty m or v is not the size of weights (naming both sizes), or the learning rate is
/// not above 0 or not finite.
///
/// Example: one step from w = 1 with g = 0.5 and lr 0.01, no decay: m = 0.05, v = 0.0025,
/// \f$\hat{m}\f$ = 0.5, \f$\hat{v}\f$ = 0.25, so w = 1 - 0.01 * 0.5 / 0.5 = 0.99. With decay
/// 0.1, w = 1 - 0.001 - 0.01 = 0.989. The first step moves every weight by lr, whatever the
/// size of its gradient (\f$\hat{m}/\sqrt{\hat{v}} = g/|g|\f$). Without the correction the
/// early steps are off by \f$(1 - \beta_1^t)/\sqrt{1 - \beta_2^t}\f$: the same at t = 1 with
/// these betas, twice too large near t = 13; the three-step test sees it.
///
/// Hint: check the sizes and the learning rate before changing anything; empty moments start as
/// zeros; count the step first (t from 1). Per number: both moments, their bias corrections, the
/// decay on the weight itself when `decays` (decoupled: not added to the gradient, not divided by
/// the root of v), then the step. Known mistakes: no correction, Adam's L2 decay, decaying gains,
/// biases or embeddings.
///
/// Second hint: \f$t \leftarrow t + 1\f$; \f$m_i \leftarrow \beta_1 m_i + (1 - \beta_1) g_i\f$ and
/// \f$v_i \leftarrow \beta_2 v_i + (1 - \beta_2) g_i^2\f$; when decays,
/// \f$w_i \leftarrow w_i - \eta \lambda w_i\f$; then
/// \f$w_i \leftarrow w_i - \eta\, \hat{m}_i / (\sqrt{\hat{v}_i} + \epsilon)\f$ with
/// \f$\hat{m}_i = m_i / (1 - \beta_1^t)\f$ and \f$\hat{v}_i = v_i / (1 - \beta_2^t)\f$ (the
/// corrections in double).
// answered in the library by: chapters/09_learning/adamw.cpp AdamW::step
void adamw_step(std::vector<float>& weights, const std::vector<float>& grads, AdamState& state,
                float learning_rate, bool decays, const AdamSettings& settings = {});

}  // namespace attn::ex09
