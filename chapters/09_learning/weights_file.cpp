#include "chapters/09_learning/weights_file.hpp"

#include "chapters/09_learning/adamw.hpp"
#include "common/shape.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace attn {

namespace {

constexpr char magic[8] = {'A', 'T', 'T', 'N', 'G', 'P', 'T', '1'};
constexpr std::size_t header_bytes = sizeof magic + 8 * sizeof(std::uint64_t);

// FNV-1a, 64 bits: one multiply and one xor per byte; any changed byte changes it.
std::uint64_t fnv1a(const char* data, std::size_t size) {
    std::uint64_t h = 14695981039346656037ull;
    for (std::size_t i = 0; i < size; ++i) {
        h ^= static_cast<unsigned char>(data[i]);
        h *= 1099511628211ull;
    }
    return h;
}

template <class T>
void append(std::vector<char>& bytes, const T* p, std::size_t n) {
    const char* c = reinterpret_cast<const char*>(p);
    bytes.insert(bytes.end(), c, c + n * sizeof(T));
}

}  // namespace

void save_gpt(const Gpt& model, const std::filesystem::path& path) {
    constexpr const char* fn = "attn::save_gpt";
    const GptConfig& c = model.config();
    const std::uint64_t config[8] = {c.vocab_size, c.context,    c.d_model, c.n_layers,
                                     c.n_heads,    c.n_kv_heads, c.d_ff,    c.bias ? 1u : 0u};
    std::vector<char> bytes(magic, magic + sizeof magic);
    append(bytes, config, 8);
    GptWeights w = model.weights();  // parameters() views numbers it may write
    for (const ParameterView& p : parameters(w)) append(bytes, p.data, p.size);
    const std::uint64_t hash = fnv1a(bytes.data(), bytes.size());
    append(bytes, &hash, 1);

    std::filesystem::path partial = path;
    partial += ".partial";
    std::error_code error;
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        if (!out) invalid_argument(fn, path.string() + ": cannot create " + partial.string());
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) {
            std::filesystem::remove(partial, error);
            invalid_argument(fn, path.string() + ": writing it failed");
        }
    }
    std::filesystem::rename(partial, path, error);
    if (error) {
        std::filesystem::remove(partial, error);
        invalid_argument(fn, path.string() + ": cannot replace it");
    }
}

Gpt load_gpt(const std::filesystem::path& path) {
    constexpr const char* fn = "attn::load_gpt";
    const std::string name = path.string();
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error))
        invalid_argument(fn, name + ": no such file");
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    if (!in.eof() && in.fail()) invalid_argument(fn, name + ": cannot read it");
    if (bytes.size() < header_bytes || std::memcmp(bytes.data(), magic, sizeof magic) != 0)
        invalid_argument(
            fn, name + ": not a model file of this book (it does not begin with ATTNGPT1)");
    std::uint64_t h[8];
    std::memcpy(h, bytes.data() + sizeof magic, sizeof h);
    if (h[7] > 1)
        invalid_argument(fn, name + ": damaged: the bias flag is " + std::to_string(h[7]));
    // Each size is checked before anything is computed from it: a damaged header must give a
    // message, not an allocation of 2^60 floats.
    for (int i = 0; i < 7; ++i) {
        if (h[i] == 0 || h[i] > (1u << 20))
            invalid_argument(fn,
                             name + ": damaged: a configuration number is " + std::to_string(h[i]));
    }
    const GptConfig c{h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7] == 1};
    check_config(c, fn);
    const std::size_t expected = header_bytes + 4 * total_parameters(c) + sizeof(std::uint64_t);
    if (bytes.size() != expected) {
        invalid_argument(fn, name + ": " + std::to_string(bytes.size()) +
                                 " bytes, but a model of its configuration takes " +
                                 std::to_string(expected));
    }
    std::uint64_t stored;
    std::memcpy(&stored, bytes.data() + expected - sizeof stored, sizeof stored);
    if (fnv1a(bytes.data(), expected - sizeof stored) != stored)
        invalid_argument(fn, name + ": damaged: its checksum does not match its contents");
    Rng rng(0);
    GptWeights w = gpt2_init(c, rng);  // the shapes; every number is overwritten
    std::size_t at = header_bytes;
    for (const ParameterView& p : parameters(w)) {
        std::memcpy(p.data, bytes.data() + at, p.size * sizeof(float));
        at += p.size * sizeof(float);
    }
    return Gpt(c, std::move(w));
}

}  // namespace attn
