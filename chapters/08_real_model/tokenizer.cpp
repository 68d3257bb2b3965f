#include "chapters/08_real_model/tokenizer.hpp"

#include "chapters/08_real_model/binary_file.hpp"
#include "common/shape.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace attn {

namespace {

// Throws naming `fn` when `token` is not an id of the vocabulary; `index`, when given, is
// its place in the caller's `tokens`.
void check_token(const char* fn, std::size_t token, std::size_t vocab_size,
                 std::optional<std::size_t> index = std::nullopt) {
    const std::string name = index ? "tokens[" + std::to_string(*index) + "]" : "token";
    check_index(fn, name, token, vocab_size, "tokens in the vocabulary");
}

std::string byte_piece(unsigned byte) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", byte);
    return name;
}

// The length of the UTF-8 character starting at text[i], or 0 when the bytes there are
// not one (a stray continuation byte, a truncated or overlong sequence, a surrogate).
std::size_t utf8_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t j) { return static_cast<unsigned char>(text[j]); };
    const unsigned char b = byte(i);
    std::size_t n = b < 0x80           ? 1
                    : (b >> 5) == 0x6  ? 2
                    : (b >> 4) == 0xE  ? 3
                    : (b >> 3) == 0x1E ? 4
                                       : 0;
    if (n == 0 || i + n > text.size()) return 0;
    std::uint32_t code = n == 1 ? b : b & (0x7F >> n);
    for (std::size_t j = 1; j < n; ++j) {
        if ((byte(i + j) & 0xC0) != 0x80) return 0;
        code = (code << 6) | (byte(i + j) & 0x3F);
    }
    const std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[n] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
    return n;
}

}  // namespace

Tokenizer::Tokenizer(std::vector<std::string> pieces, std::vector<float> scores)
    : pieces_(std::move(pieces)), scores_(std::move(scores)) {
    constexpr const char* fn = "attn::Tokenizer";
    if (pieces_.size() != scores_.size()) {
        invalid_argument(fn, std::to_string(pieces_.size()) + " pieces but " +
                                 std::to_string(scores_.size()) + " scores");
    }
    for (std::size_t id = 0; id < pieces_.size(); ++id) {
        if (pieces_[id].empty()) invalid_argument(fn, "token " + std::to_string(id) + " is empty");
        // The first of equal pieces wins, as in sentencepiece's lookup.
        ids_.emplace(pieces_[id], id);
    }
    for (unsigned b = 0; b < 256; ++b) byte_tokens_[b] = find(byte_piece(b));
}

const std::string& Tokenizer::piece(std::size_t token) const {
    check_token("attn::Tokenizer::piece", token, pieces_.size());
    return pieces_[token];
}

float Tokenizer::score(std::size_t token) const {
    check_token("attn::Tokenizer::score", token, pieces_.size());
    return scores_[token];
}

std::optional<std::size_t> Tokenizer::find(std::string_view text) const {
    const auto it = ids_.find(std::string(text));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
}

Tokenizer Tokenizer::read(const std::filesystem::path& path, std::size_t vocab_size) {
    constexpr const char* fn = "attn::Tokenizer::read";
    const std::string name = path.string();
    BinaryFile file = open_binary(path, fn);
    std::ifstream& in = file.in;
    const std::size_t size = file.size;
    std::size_t at = 0;  // bytes read so far
    const auto read_int = [&](const std::string& what) {
        std::int32_t v = 0;
        if (size - at < sizeof v)
            invalid_argument(fn, name + ": the file ends at byte " + std::to_string(size) +
                                     ", in the middle of " + what);
        in.read(reinterpret_cast<char*>(&v), sizeof v);
        at += sizeof v;
        return v;
    };
    // Any file's bytes read as numbers; a file that is not a tokenizer gives numbers that
    // no tokenizer has.
    const auto not_a_tokenizer = [&](const std::string& why) {
        invalid_argument(fn, name + " is not a tokenizer file in llama2.c's format: " + why);
    };
    const std::int32_t max_length = read_int("the header");
    if (max_length <= 0 || static_cast<std::size_t>(max_length) > size) {
        not_a_tokenizer("its first 4 bytes, read as the header's max_token_length, give " +
                        std::to_string(max_length) +
                        (max_length <= 0
                             ? ", and a length must be above 0"
                             : " bytes, more than the whole file's " + std::to_string(size)));
    }
    std::vector<std::string> pieces;
    std::vector<float> scores;
    for (std::size_t id = 0; id < vocab_size; ++id) {
        if (at == size) {
            invalid_argument(fn, name + ": it holds " + std::to_string(id) +
                                     " tokens, fewer than the model's vocabulary of " +
                                     std::to_string(vocab_size) + ": is it the model's tokenizer?");
        }
        const std::string what = "token " + std::to_string(id);
        const std::int32_t bits = read_int(what);
        float score = 0.0f;
        std::memcpy(&score, &bits, sizeof score);
        const std::int32_t length = read_int(what);
        if (length <= 0 || length > max_length) {
            not_a_tokenizer(what + " has a length of " + std::to_string(length) +
                            " bytes, outside the 1.." + std::to_string(max_length) +
                            " that its header allows");
        }
        if (static_cast<std::size_t>(length) > size - at) {
            invalid_argument(fn, name + ": " + what + " has a length of " + std::to_string(length) +
                                     " bytes, past the end of the file: a truncated download?");
        }
        std::string piece(static_cast<std::size_t>(length), '\0');
        in.read(piece.data(), length);
        at += static_cast<std::size_t>(length);
        pieces.push_back(std::move(piece));
        scores.push_back(score);
    }
    if (at != size) {
        invalid_argument(fn, name + ": " + std::to_string(size - at) +
                                 " bytes are left after the model's " + std::to_string(vocab_size) +
                                 " tokens: the tokenizer holds more tokens than the model's "
                                 "vocabulary (is it the model's tokenizer?)");
    }
    if (!in) invalid_argument(fn, name + ": reading it failed");
    return Tokenizer(std::move(pieces), std::move(scores));
}

void Tokenizer::write(const std::filesystem::path& path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) invalid_argument("attn::Tokenizer::write", path.string() + ": cannot create it");
    std::int32_t max_length = 1;
    for (const std::string& p : pieces_)
        max_length = std::max(max_length, static_cast<std::int32_t>(p.size()));
    out.write(reinterpret_cast<const char*>(&max_length), sizeof max_length);
    for (std::size_t id = 0; id < pieces_.size(); ++id) {
        const auto length = static_cast<std::int32_t>(pieces_[id].size());
        out.write(reinterpret_cast<const char*>(&scores_[id]), sizeof(float));
        out.write(reinterpret_cast<const char*>(&length), sizeof length);
        out.write(pieces_[id].data(), length);
    }
    if (!out.flush())
        invalid_argument("attn::Tokenizer::write", path.string() + ": writing it failed");
}

std::vector<std::size_t> Tokenizer::encode(std::string_view text, bool bos,
                                           std::vector<std::vector<std::size_t>>* merges) const {
    constexpr const char* fn = "attn::Tokenizer::encode";
    std::vector<std::size_t> tokens;
    if (bos) tokens.push_back(Tokenizer::bos);
    if (text.empty()) return tokens;
    // sentencepiece's "dummy prefix": the first word is spelt like any other, after a space.
    std::string spaced = " ";
    spaced += text;
    for (std::size_t i = 0; i < spaced.size();) {
        const std::size_t n = utf8_length(spaced, i);
        if (n == 0) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(spaced[i]));
            invalid_argument(fn, "the text is not UTF-8: byte " + std::to_string(i - 1) + " (" +
                                     hex + ") does not start or continue a character");
        }
        if (const auto id = find(spaced.substr(i, n))) {
            tokens.push_back(*id);
        } else {
            for (std::size_t j = i; j < i + n; ++j) {  // byte fallback
                const auto b = static_cast<unsigned char>(spaced[j]);
                if (!byte_tokens_[b]) {
                    invalid_argument(fn, "the vocabulary has neither '" + spaced.substr(i, n) +
                                             "' nor the byte token " + byte_piece(b));
                }
                tokens.push_back(*byte_tokens_[b]);
            }
        }
        i += n;
    }
    const std::size_t first = bos ? 1 : 0;
    for (;;) {
        // The adjacent pair whose joined piece scores highest (the first of equal ones).
        std::size_t best = tokens.size(), best_id = 0;
        float best_score = 0.0f;
        for (std::size_t i = first; i + 1 < tokens.size(); ++i) {
            const auto id = find(pieces_[tokens[i]] + pieces_[tokens[i + 1]]);
            if (id && (best == tokens.size() || scores_[*id] > best_score)) {
                best = i;
                best_id = *id;
                best_score = scores_[*id];
            }
        }
        if (best == tokens.size()) break;
        tokens[best] = best_id;
        tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(best) + 1);
        if (merges) merges->push_back(tokens);
    }
    return tokens;
}

std::string Tokenizer::decode_piece(std::size_t previous, std::size_t token) const {
    check_token("attn::Tokenizer::decode_piece", token, pieces_.size());
    const std::string& p = pieces_[token];
    unsigned byte = 0;
    char end = 0;
    if (p.size() == 6 && std::sscanf(p.c_str(), "<0x%2X%c", &byte, &end) == 2 && end == '>')
        return std::string(1, static_cast<char>(byte));
    if (previous == Tokenizer::bos && p[0] == ' ') return p.substr(1);
    return p;
}

std::string Tokenizer::decode(const std::vector<std::size_t>& tokens) const {
    for (std::size_t i = 0; i < tokens.size(); ++i)
        check_token("attn::Tokenizer::decode", tokens[i], pieces_.size(), i);
    std::string text;
    std::size_t previous = Tokenizer::bos;  // a text starts as if after <s>
    for (std::size_t t : tokens) {
        if (t != Tokenizer::bos && t != Tokenizer::eos) text += decode_piece(previous, t);
        previous = t;
    }
    return text;
}

Tokenizer small_tokenizer(const std::vector<std::string>& extra) {
    std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
    for (unsigned b = 0; b < 256; ++b) pieces.push_back(byte_piece(b));
    pieces.insert(pieces.end(), extra.begin(), extra.end());
    std::vector<float> scores(pieces.size(), 0.0f);
    for (std::size_t i = 0; i < extra.size(); ++i)
        scores[259 + i] = -static_cast<float>(i);  // earlier pieces merge first
    return Tokenizer(std::move(pieces), std::move(scores));
}

}  // namespace attn
