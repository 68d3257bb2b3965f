/// \file
/// \brief Chapter 08: llama2.c's checkpoint format (its "version 0" export), read and
/// written. Little-endian: a header of seven int32 (dim, hidden_dim, n_layers, n_heads,
/// n_kv_heads, vocab_size, seq_len; a negative vocab_size means the classifier is stored
/// at the end), then float32 arrays, each matrix as PyTorch's nn.Linear weight, `[out, in]`.
#pragma once

#include "chapters/08_real_model/llama.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace attn {

/// One array of the checkpoint: its name, shape as stored, and where it starts.
struct CheckpointPart {
    std::string name;                ///< e.g. "wq", all layers together
    std::vector<std::size_t> shape;  ///< as stored, e.g. `[n_layers, dim, dim]` (`[out, in]`)
    std::size_t offset = 0;          ///< bytes from the start of the file
    std::size_t bytes = 0;           ///< its size in bytes
};

/// The arrays of a checkpoint with this configuration, in file order, after the 28-byte
/// header. The last part ends where the file must end.
std::vector<CheckpointPart> checkpoint_layout(const LlamaConfig& c);

/// What read_checkpoint() found besides the model.
struct CheckpointInfo {
    std::size_t file_bytes = 0;  ///< the file's size
    /// The largest difference between the file's RoPE tables and the cos and sin this book
    /// computes with rope_theta; about 1e-5 for a checkpoint written by llama2.c.
    float rope_table_difference = 0.0f;
};

/// Reads a version-0 checkpoint. The file is memory-mapped and every matrix is a
/// LinearWeight pointing into it, `[out, in]` as stored: nothing is copied or transposed
/// (the norms' gains excepted). The model keeps the mapping alive.
/// Throws std::invalid_argument naming the file when it is missing, when it is shorter or
/// longer than its header implies, when a header size is 0, negative or inconsistent, and
/// when it is llama2.c's newer versioned export.
Llama read_checkpoint(const std::filesystem::path& path, CheckpointInfo* info = nullptr);

/// Writes a model in the same format (the RoPE tables computed with its theta). The file
/// appears whole or not at all: it is written under another name and renamed.
void write_checkpoint(const std::filesystem::path& path, const Llama& model);

}  // namespace attn
