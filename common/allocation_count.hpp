/// \file
/// \brief Counting the bytes a program allocates, to measure the memory a computation needs.
///
/// The library attn_allocation_count replaces the program's global `operator new` and
/// `operator delete`, so that every allocation made with new (every std::vector, every
/// tensor) is counted. Only a program that measures memory links it (chapter 07's).
/// Allocations aligned beyond 16 bytes (`alignas(32)` types) are not counted.
#pragma once

#include <cstddef>

namespace attn {

/// The bytes allocated with new and not yet deleted.
std::size_t bytes_in_use();

/// The most bytes in use at any moment since the program started, or since the last
/// reset_peak_bytes().
std::size_t peak_bytes();

/// Starts a new measurement: the peak becomes the bytes in use now. The memory a
/// computation needs beyond what was already held is then `peak_bytes() - base`, with
/// `base = bytes_in_use()` taken before it.
void reset_peak_bytes();

}  // namespace attn
