/// \file
/// \brief Chapter 08: llama2.c's tokenizer (sentencepiece's Llama vocabulary, exported):
/// pieces with scores, byte-pair merges by score, byte fallback.
///
/// The file `tokenizer.bin`: an int32 max_token_length, then for each of the model's
/// vocab_size tokens a float32 score, an int32 byte length and the bytes.
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace attn {

/// Pieces of text with scores; text in, tokens out, and back.
class Tokenizer {
public:
    static constexpr std::size_t unk = 0;  ///< `<unk>`
    static constexpr std::size_t bos = 1;  ///< `<s>`, the beginning of a text
    static constexpr std::size_t eos = 2;  ///< `</s>`, the end of a text

    /// \param pieces the text of each token; byte-fallback tokens are named `<0xNN>`
    /// \param scores one per piece: the higher, the earlier a merge into it happens
    /// Throws std::invalid_argument when the sizes differ or a piece is empty. Of equal
    /// pieces, find() returns the first.
    Tokenizer(std::vector<std::string> pieces, std::vector<float> scores);

    /// Reads `tokenizer.bin` for a model with `vocab_size` tokens. Throws
    /// std::invalid_argument naming the file when it is missing, holds fewer or more tokens
    /// than vocab_size, or a length runs past the end.
    static Tokenizer read(const std::filesystem::path& path, std::size_t vocab_size);

    /// Writes the same format.
    void write(const std::filesystem::path& path) const;

    /// How many tokens.
    std::size_t vocab_size() const { return pieces_.size(); }
    /// The text of a token (`<0xNN>` for a byte token).
    const std::string& piece(std::size_t token) const;
    /// The score of a token.
    float score(std::size_t token) const;
    /// The token whose piece is exactly `text`, if any.
    std::optional<std::size_t> find(std::string_view text) const;

    /// Text to tokens, as sentencepiece does for Llama: a space in front of the text, each
    /// UTF-8 character its own token (or, when the vocabulary lacks it, one byte token per
    /// byte), then again and again the adjacent pair whose joined piece has the highest
    /// score is merged, until no pair joins into a piece. Throws std::invalid_argument for
    /// text that is not UTF-8, naming the byte.
    /// \param text the prompt
    /// \param bos start with `<s>`
    /// \param merges if not null, receives the tokens after each merge (for the book)
    std::vector<std::size_t> encode(std::string_view text, bool bos,
                                    std::vector<std::vector<std::size_t>>* merges = nullptr) const;

    /// The text of `token` following `previous`: a byte token gives its byte, and after
    /// `<s>` a leading space is dropped (encode() added it).
    std::string decode_piece(std::size_t previous, std::size_t token) const;

    /// The text of a whole sequence.
    std::string decode(const std::vector<std::size_t>& tokens) const;

private:
    std::vector<std::string> pieces_;
    std::vector<float> scores_;
    std::unordered_map<std::string, std::size_t> ids_;
    std::array<std::optional<std::size_t>, 256> byte_tokens_{};
};

/// A small vocabulary for the book's own model: `<unk>`, `<s>`, `</s>`, the 256 byte
/// tokens, then `extra` pieces in order, scored so that earlier ones merge first.
Tokenizer small_tokenizer(const std::vector<std::string>& extra);

}  // namespace attn
