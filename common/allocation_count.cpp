// The replacements of the global operator new and delete live in this file, the same one
// as bytes_in_use() and peak_bytes(): a program that calls those links this object file
// from the static library, and with it the replacements. In a file of their own, nothing
// would refer to them and the linker would leave them out.
#include "common/allocation_count.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace {

// Each block starts with its size, so that delete knows how many bytes it returns. The
// header is as large as new's alignment, so the bytes after it keep that alignment.
constexpr std::size_t header = __STDCPP_DEFAULT_NEW_ALIGNMENT__;

// Atomic, because any thread of the program may allocate.
std::atomic<std::size_t> in_use{0}, peak{0};

void* allocate(std::size_t size) noexcept {
    if (size > SIZE_MAX - header) return nullptr;
    auto* block = static_cast<char*>(std::malloc(size + header));
    if (block == nullptr) return nullptr;
    *reinterpret_cast<std::size_t*>(block) = size;
    const std::size_t now = in_use.fetch_add(size, std::memory_order_relaxed) + size;
    // The peak rises to `now`, unless another thread has meanwhile raised it higher.
    std::size_t highest = peak.load(std::memory_order_relaxed);
    while (now > highest && !peak.compare_exchange_weak(highest, now, std::memory_order_relaxed))
        continue;
    return block + header;
}

void* allocate_or_throw(std::size_t size) {
    void* p = allocate(size);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

void release(void* p) noexcept {
    if (p == nullptr) return;
    char* block = static_cast<char*>(p) - header;
    in_use.fetch_sub(*reinterpret_cast<std::size_t*>(block), std::memory_order_relaxed);
    std::free(block);
}

}  // namespace

namespace attn {

std::size_t bytes_in_use() {
    return in_use.load(std::memory_order_relaxed);
}

std::size_t peak_bytes() {
    return peak.load(std::memory_order_relaxed);
}

void reset_peak_bytes() {
    peak.store(in_use.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

}  // namespace attn

// Every form of new and delete that does not ask for extra alignment: single objects and
// arrays, throwing and nothrow, and the sized deletes the compiler calls when it knows the
// size. All of them go through allocate() and release(), so the counts stay right whichever
// form a library uses.
void* operator new(std::size_t size) {
    return allocate_or_throw(size);
}
void* operator new[](std::size_t size) {
    return allocate_or_throw(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    return allocate(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    return allocate(size);
}
void operator delete(void* p) noexcept {
    release(p);
}
void operator delete[](void* p) noexcept {
    release(p);
}
void operator delete(void* p, std::size_t) noexcept {
    release(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    release(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    release(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    release(p);
}
