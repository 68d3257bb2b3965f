/// \file
/// \brief Chapter 09: the trained model on disk. A small checked format of the book's own:
/// a header naming the format and the configuration, every weight tensor in parameters()
/// order as little-endian float32, and a checksum of all that comes before it.
#pragma once

#include "chapters/05_transformer_block/gpt.hpp"

#include <filesystem>

namespace attn {

/// Writes `model` to `path`: the 8 bytes "ATTNGPT1", the eight numbers of its GptConfig
/// (vocab_size, context, d_model, n_layers, n_heads, n_kv_heads, d_ff, bias) as uint64, the
/// tensors, then the FNV-1a hash (64 bits) of every byte before it. Written to
/// `path.partial` and renamed at the end, so a failure leaves no half-written file. Throws
/// std::invalid_argument naming the file when it cannot be written.
void save_gpt(const Gpt& model, const std::filesystem::path& path);

/// Reads a model save_gpt() wrote. Throws std::invalid_argument naming the file and what is
/// wrong: missing, not this format, a configuration that cannot be, a size that does not
/// fit its configuration (naming both sizes), or a checksum that does not match (damaged).
Gpt load_gpt(const std::filesystem::path& path);

}  // namespace attn
