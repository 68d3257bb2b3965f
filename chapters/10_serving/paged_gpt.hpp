/// \file
/// \brief Chapter 10: chapter 05's GPT over a paged KV cache, so that the 8-bit cache can be
/// measured on the model chapter 09 trained.
#pragma once

#include "chapters/05_transformer_block/gpt.hpp"
#include "chapters/10_serving/paged_cache.hpp"

#include <cstddef>
#include <vector>

namespace attn {

/// Runs `tokens` as the next positions of sequence `id` (positions length(id) onwards):
/// every block stores the new positions' keys and values in `cache`, then attends, causally,
/// over every position of the sequence as the cache gives it back (PagedKVCache::key() and
/// value(): for an int8 cache, the numbers rounded to 8 bits and scaled back). With a
/// float32 cache the logits are Gpt::logits()'s, to float rounding.
/// \return `[tokens, vocab_size]`, the next-token logits at each new position
/// Throws std::invalid_argument when the cache's layers, key/value heads or head size are
/// not the model's, for no token, for an unknown id, or when the positions would pass the
/// model's context (naming the sizes); out_of_blocks, with nothing appended, when the pool
/// lacks the blocks.
Matrix paged_gpt_logits(const Gpt& model, PagedKVCache& cache, PagedKVCache::SequenceId id,
                        const std::vector<std::size_t>& tokens);

}  // namespace attn
