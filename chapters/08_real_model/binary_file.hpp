/// \file
/// \brief Chapter 08: opening the binary files a reader points the program at.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>

namespace attn {

/// A binary file opened for reading, and its size in bytes.
struct BinaryFile {
    std::ifstream in;      ///< positioned at the first byte
    std::size_t size = 0;  ///< bytes in the file
};

/// Opens `path`; throws std::invalid_argument naming `caller` and the file when it is
/// missing, not a regular file, or cannot be read.
BinaryFile open_binary(const std::filesystem::path& path, const char* caller);

}  // namespace attn
