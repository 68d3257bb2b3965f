/// \file
/// \brief Chapter 08: opening the binary files a reader points the program at.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>

namespace attn {

/// A binary file opened for reading, and its size in bytes.
struct BinaryFile {
    std::ifstream in;      ///< positioned at the first byte
    std::size_t size = 0;  ///< bytes in the file
};

/// Opens `path`; throws std::invalid_argument naming `caller` and the file when it is
/// missing, not a regular file, or cannot be read.
BinaryFile open_binary(const std::filesystem::path& path, const char* caller);

/// A file mapped into memory, read-only (POSIX mmap, as llama2.c maps its checkpoints): its
/// bytes are read from the disk, or the page cache, the first time they are touched, and are
/// never copied. Unmapped when the last shared_ptr to it goes. A file cut short by another
/// program while it is mapped ends this one (SIGBUS), as it ends llama2.c; a file replaced
/// by renaming, as write_checkpoint() does, is safe.
class MappedFile {
public:
    /// Maps `path`, with open_binary()'s checks and messages.
    static std::shared_ptr<const MappedFile> map(const std::filesystem::path& path,
                                                 const char* caller);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    /// The first byte; nullptr for an empty file.
    const unsigned char* data() const { return data_; }
    /// Bytes in the file.
    std::size_t size() const { return size_; }

private:
    MappedFile(const unsigned char* data, std::size_t size) : data_(data), size_(size) {}
    const unsigned char* data_;
    std::size_t size_;
};

}  // namespace attn
