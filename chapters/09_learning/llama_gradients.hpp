/// \file
/// \brief Chapter 09: the loss of chapter 08's Llama on a batch of sequences and its
/// gradient for every number of the model, forward and backward side by side: the forward
/// pass keeps what the backward pass reads, named for what it is, and the backward pass
/// walks the same pieces in reverse, adding into a gradient buffer of the weights' layout.
#pragma once

#include "chapters/09_learning/gpt_gradients.hpp"
#include "chapters/09_learning/llama_parameters.hpp"

#include <cstddef>
#include <vector>

namespace attn {

// What one block's backward pass reads from its forward pass is chapter 08's
// LlamaBlockActivations, which llama_block() fills when asked.

/// The forward pass of a Llama over a batch, with everything the backward pass needs.
struct LlamaActivations {
    std::vector<std::size_t> starts;            ///< sequence s is rows starts[s] .. starts[s+1] - 1
    std::vector<std::size_t> tokens;            ///< the N input tokens, sequence after sequence
    std::vector<LlamaBlockActivations> blocks;  ///< one per block
    Matrix output;                              ///< `[N, dim]`, the last block's output
    Matrix final_norm_output;                   ///< RMSNorm(output), what the classifier sees
    Matrix logits;                              ///< `[N, vocab_size]`
};

/// Chapter 08's Llama::logits() for a batch of sequences at once, each from position 0,
/// keeping the activations: the same pieces (rms_norm, project, rope_rotate, silu_gate),
/// the same logits as each sequence alone to float rounding. Projections see all N rows at
/// once; attention runs per sequence and head, causal.
/// \param p the model \param sequences each 1..seq_len ids below vocab_size
/// \param caller the function named in an error
LlamaActivations llama_forward_batch(const LlamaParameters& p,
                                     const std::vector<std::vector<std::size_t>>& sequences,
                                     const char* caller = "attn::llama_forward_batch");

/// The mean next-token cross-entropy of `batch` under `p`, its gradient written into
/// `gradients` (the same layout as p; set, not added to): forward keeping every block's
/// activations, then backward from the logits to the embedding. The embedding's gradient
/// adds its two uses, the rows looked up and the tied classifier; a key/value head's adds
/// the query heads that share it. Throws std::invalid_argument naming `caller` for an empty
/// batch or sequence, inputs and targets of different lengths, a sequence longer than
/// seq_len, an id outside the vocabulary, or gradients of another configuration.
/// \return the loss
double llama_gradients(const LlamaParameters& p, const std::vector<Sequence>& batch,
                       LlamaParameters& gradients, const char* caller = "attn::llama_gradients");

}  // namespace attn
