/// \file
/// \brief Shape checks that fail with a message a learner can act on.
///
/// Every public function of the book checks its arguments before it computes anything.
/// A mismatch throws std::invalid_argument naming the function, the argument, the expected
/// shape (with the paper's names and the sizes they must have) and the actual shape:
///
///     attn::attend: argument 'keys' must have shape [T, d_k] = [T, 4], but has shape [8, 5]
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace attn {

/// One dimension of an expected shape: its name (e.g. "d_k") and, when the caller has
/// already fixed it, its size. A dimension without a size may be anything but zero.
struct Dim {
    std::string_view name;              ///< the paper's name, e.g. "T" or "d_k"
    std::optional<std::size_t> size{};  ///< required size, or none for "any size >= 1"
};

/// A dimension of any size (at least 1), e.g. `any("T")`.
inline Dim any(std::string_view name) {
    return Dim{name, std::nullopt};
}
/// A dimension that must have exactly `size` elements, e.g. `exactly("d_k", q.size())`.
inline Dim exactly(std::string_view name, std::size_t size) {
    return Dim{name, size};
}

/// Formats a shape as "[8, 4]".
std::string shape_string(std::span<const std::size_t> shape);

/// Formats a tensor's shape as "[8, 4]".
template <class E>
std::string shape_of(const E& tensor) {
    const auto& s = tensor.shape();
    return shape_string(std::span<const std::size_t>(s.data(), s.size()));
}

/// Checks `shape` against `expected` and throws std::invalid_argument when it differs.
/// \param function the public function doing the check, e.g. "attn::attend"
/// \param argument the argument's name, e.g. "keys"
/// \param shape the argument's actual shape
/// \param expected the expected dimensions, e.g. `{any("T"), exactly("d_k", 4)}`
void check_shape(std::string_view function, std::string_view argument,
                 std::span<const std::size_t> shape, std::initializer_list<Dim> expected);

/// Checks a tensor's shape; see check_shape(std::string_view, std::string_view, std::span<const
/// std::size_t>, std::initializer_list<Dim>).
template <class E>
void check_shape(std::string_view function, std::string_view argument, const E& tensor,
                 std::initializer_list<Dim> expected) {
    const auto& s = tensor.shape();
    check_shape(function, argument, std::span<const std::size_t>(s.data(), s.size()), expected);
}

/// Checks that `index` names one of `count` things, 0..count-1, and throws
/// std::invalid_argument naming `function` when it does not, in one form for every kind of
/// index in the book: `layer = 2 is outside 0..1 (2 layers of the cache)`.
/// \param function the public function doing the check, e.g. "attn::KVCache::append"
/// \param name the index as the reader wrote it, e.g. "layer" or "tokens[3]"
/// \param index its value
/// \param count how many there are
/// \param counted what they are, e.g. "layers of the cache" or "tokens in the vocabulary"
void check_index(std::string_view function, std::string_view name, std::size_t index,
                 std::size_t count, std::string_view counted);

/// Checks that a count is at least 1, and throws std::invalid_argument naming `function` when
/// it is 0, in one form for every count in the book: `window = 0 must be at least 1: a window
/// holds at least one position`.
/// \param function the public function doing the check, e.g. "attn::WindowKV"
/// \param name the count as the reader wrote it, e.g. "window" or "max_tokens[1]"
/// \param value its value
/// \param why why it cannot be 0, added after a colon; none when empty
void check_positive(std::string_view function, std::string_view name, std::size_t value,
                    std::string_view why = {});

/// Checks that `count` things fit in a room for `capacity` of them, and throws
/// std::invalid_argument naming `function` when there are more, in one form for every
/// capacity in the book: `33 tokens do not fit in seq_len = 32`.
/// \param function the public function doing the check, e.g. "attn::Llama::logits"
/// \param what the things counted, plural, e.g. "tokens"
/// \param count how many there are
/// \param room what holds them, as the reader names it, e.g. "seq_len"
/// \param capacity how many it holds
void check_fits(std::string_view function, std::string_view what, std::size_t count,
                std::string_view room, std::size_t capacity);

/// Throws std::invalid_argument with the message "function: message".
[[noreturn]] void invalid_argument(std::string_view function, std::string_view message);

}  // namespace attn
