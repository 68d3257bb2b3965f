/// \file
/// \brief Chapter 09: the optimiser. AdamW (Loshchilov and Hutter 2019) with bias
/// correction and decoupled weight decay on the matrices, gradient clipping by the global
/// norm, and a learning rate that warms up and then decays along a cosine.
#pragma once

#include "chapters/05_transformer_block/gpt.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace attn {

/// One weight tensor of a GPT seen as numbers: its name, where they are, and whether weight
/// decay applies to it. `Float` is `const float` for a model that is only read.
template <typename Float>
struct ParameterViewOf {
    std::string name;  ///< e.g. "blocks[1].attention.w_k"
    Float* data;       ///< the first number
    std::size_t size;  ///< how many
    bool decays;       ///< a matrix that mixes features: W_q, W_k, W_v, W_o, W_1, W_2
};

/// A view that may change the numbers (the optimiser's step, clipping).
using ParameterView = ParameterViewOf<float>;

/// Every non-empty weight tensor of `w`, in a fixed order (the embeddings, each block's
/// tensors in the order of BlockWeights, the final norm). Weight decay applies to the six
/// matrices of each block only: shrinking a gain or a bias towards 0 has no reason (they
/// do not grow with the width of the model), and the embeddings are spared as minGPT spares
/// them (nanoGPT decays them too): a position row past the longest sentence gets no gradient,
/// so decay alone would pull it to 0.
std::vector<ParameterView> parameters(GptWeights& w);

/// parameters() of a model that is only read (its sizes, its numbers).
std::vector<ParameterViewOf<const float>> parameters(const GptWeights& w);

/// The settings of AdamW.
struct AdamWSettings {
    float beta1 = 0.9f;         ///< the first moment's decay
    float beta2 = 0.99f;        ///< the second moment's decay
    float epsilon = 1e-8f;      ///< added to the root of the second moment
    float weight_decay = 0.1f;  ///< decoupled: \f$w \leftarrow w - \eta\lambda w\f$
};

/// AdamW's update of n numbers, the one loop every optimiser here runs: the moments m and v
/// move towards the gradient g and its square, and each weight w steps by
/// \f$\eta\,\hat{m} / (\sqrt{\hat{v}} + \epsilon)\f$ after a decay of
/// \f$\eta\lambda w\f$ (`decay` is \f$\eta\lambda\f$, 0 for a tensor that does not decay).
/// \param correction1 \f$1 - \beta_1^t\f$ \param correction2 \f$1 - \beta_2^t\f$
/// \param w the weights \param g their gradients \param m the first moments \param v the
/// second \param n how many \param learning_rate \f$\eta\f$ \param decay \f$\eta\lambda\f$
/// or 0 \param s the settings
void adamw_update(float* w, const float* g, float* m, float* v, std::size_t n, float learning_rate,
                  float decay, const AdamWSettings& s, double correction1, double correction2);

/// AdamW's state for one model: a first and second moment per number, and the step count.
class AdamW {
public:
    /// Moments of zero in the shapes of `w`.
    AdamW(const GptWeights& w, AdamWSettings settings = {});

    /// One step with learning rate \f$\eta\f$: for each number, with gradient g,
    /// \f$m \leftarrow \beta_1 m + (1 - \beta_1) g\f$, \f$v \leftarrow \beta_2 v + (1 - \beta_2)
    /// g^2\f$, \f$\hat{m} = m / (1 - \beta_1^t)\f$, \f$\hat{v} = v / (1 - \beta_2^t)\f$, then
    /// \f$w \leftarrow w - \eta \lambda w - \eta\,\hat{m} / (\sqrt{\hat{v}} + \epsilon)\f$
    /// (\f$\lambda\f$ for the decaying matrices only). m and v start at 0, so at first they
    /// are too small, by the factors \f$1 - \beta_1^t\f$ and \f$1 - \beta_2^t\f$; without the
    /// correction the steps would be off by \f$(1 - \beta_1^t)/\sqrt{1 - \beta_2^t}\f$,
    /// with betas 0.9 and 0.99 up to 2.1 times too large near step 13.
    /// Throws std::invalid_argument for a learning rate that is not above 0 or finite, or
    /// gradients of other shapes than the weights.
    void step(GptWeights& w, GptWeights& gradients, float learning_rate);

    /// Steps taken.
    std::size_t steps() const { return steps_; }

private:
    AdamWSettings settings_;
    std::vector<std::vector<float>> m_, v_;
    std::size_t steps_ = 0;
};

/// The global norm \f$\sqrt{\sum g^2}\f$ over every gradient tensor; when it is above
/// max_norm, every gradient is scaled by max_norm / norm, so the step keeps its direction
/// but one unlucky batch cannot make it huge. \return the norm before clipping
double clip_gradients(GptWeights& gradients, double max_norm);

/// The learning rate at `step` (0, 1, ...): a linear warm-up from peak / warmup to peak over
/// the first `warmup` steps, then a cosine from peak down to min_ratio * peak at `total`.
float learning_rate_at(std::size_t step, float peak, std::size_t warmup, std::size_t total,
                       float min_ratio = 0.1f);

}  // namespace attn
