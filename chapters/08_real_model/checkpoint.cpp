#include "chapters/08_real_model/checkpoint.hpp"

#include "chapters/08_real_model/binary_file.hpp"
#include "common/shape.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace attn {

static_assert(std::endian::native == std::endian::little,
              "the checkpoint format is little-endian and read as it is stored");

namespace {

constexpr std::size_t header_bytes = 7 * sizeof(std::int32_t);
// llama2.c's newer export (version 1 and later) starts with the magic number "ak42".
constexpr std::int32_t versioned_magic = 0x616b3432;

std::size_t times(std::size_t a, std::size_t b) {
    std::size_t r = 0;
    if (__builtin_mul_overflow(a, b, &r))
        invalid_argument("attn::checkpoint_layout", "the sizes imply more than 2^64 bytes");
    return r;
}

std::size_t plus(std::size_t a, std::size_t b) {
    std::size_t r = 0;
    if (__builtin_add_overflow(a, b, &r))
        invalid_argument("attn::checkpoint_layout", "the sizes imply more than 2^64 bytes");
    return r;
}

std::size_t count(const std::vector<std::size_t>& shape) {
    std::size_t n = 1;
    for (std::size_t s : shape) n = times(n, s);
    return n;
}

}  // namespace

namespace {

// The checks of open_binary() and MappedFile::map(); returns the file's size.
std::size_t check_readable(const std::filesystem::path& path, const char* caller) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error))
        invalid_argument(caller, path.string() + " is a directory, not a file");
    if (!std::filesystem::exists(path, error))
        invalid_argument(caller, path.string() + ": no such file");
    if (!std::filesystem::is_regular_file(path, error))
        invalid_argument(caller, path.string() + " is not a regular file");
    const std::size_t size = std::filesystem::file_size(path, error);
    if (error) invalid_argument(caller, path.string() + ": cannot open it");
    return size;
}

}  // namespace

BinaryFile open_binary(const std::filesystem::path& path, const char* caller) {
    BinaryFile file{std::ifstream(path, std::ios::binary), check_readable(path, caller)};
    if (!file.in) invalid_argument(caller, path.string() + ": cannot open it");
    return file;
}

std::shared_ptr<const MappedFile> MappedFile::map(const std::filesystem::path& path,
                                                  const char* caller) {
    const std::size_t size = check_readable(path, caller);
    if (size == 0) return std::shared_ptr<const MappedFile>(new MappedFile(nullptr, 0));
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) invalid_argument(caller, path.string() + ": cannot open it");
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);  // the mapping keeps the file
    if (p == MAP_FAILED) invalid_argument(caller, path.string() + ": cannot map it into memory");
    return std::shared_ptr<const MappedFile>(
        new MappedFile(static_cast<const unsigned char*>(p), size));
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

std::vector<CheckpointPart> checkpoint_layout(const LlamaConfig& c) {
    check_config(c, "attn::checkpoint_layout");
    const std::size_t d = c.dim, L = c.n_layers, f = c.hidden_dim, d_head = d / c.n_heads;
    const std::size_t d_kv = c.n_kv_heads * d_head;
    std::vector<CheckpointPart> parts = {{"token_embedding", {c.vocab_size, d}},
                                         {"rms_att_weight", {L, d}},
                                         {"wq", {L, d, d}},
                                         {"wk", {L, d_kv, d}},
                                         {"wv", {L, d_kv, d}},
                                         {"wo", {L, d, d}},
                                         {"rms_ffn_weight", {L, d}},
                                         {"w1", {L, f, d}},
                                         {"w2", {L, d, f}},
                                         {"w3", {L, f, d}},
                                         {"rms_final_weight", {d}},
                                         {"freq_cis_real", {c.seq_len, d_head / 2}},
                                         {"freq_cis_imag", {c.seq_len, d_head / 2}}};
    if (!c.shared_classifier) parts.push_back({"wcls", {c.vocab_size, d}});
    std::size_t offset = header_bytes;
    for (CheckpointPart& p : parts) {
        p.offset = offset;
        p.bytes = times(count(p.shape), sizeof(float));
        offset = plus(offset, p.bytes);
    }
    return parts;
}

Llama read_checkpoint(const std::filesystem::path& path, CheckpointInfo* info) {
    constexpr const char* fn = "attn::read_checkpoint";
    const std::string name = path.string();
    // The file is mapped, not read: every weight below points at its place in it (llama2.c
    // does the same), so the model costs no memory beyond the file's own pages.
    const std::shared_ptr<const MappedFile> file = MappedFile::map(path, fn);
    const std::size_t size = file->size();
    if (size < header_bytes) {
        invalid_argument(fn, name + ": the file has " + std::to_string(size) +
                                 " bytes, shorter than the header of 7 int32 (28 bytes)");
    }
    std::int32_t h[7];
    std::memcpy(h, file->data(), header_bytes);
    if (h[0] == versioned_magic) {
        invalid_argument(fn, name +
                                 ": this is llama2.c's versioned export (it starts with the "
                                 "magic \"ak42\"); this book reads the version-0 (legacy) "
                                 "format: export with `python export.py --version 0`");
    }
    const std::string header =
        "dim " + std::to_string(h[0]) + ", hidden_dim " + std::to_string(h[1]) + ", n_layers " +
        std::to_string(h[2]) + ", n_heads " + std::to_string(h[3]) + ", n_kv_heads " +
        std::to_string(h[4]) + ", vocab_size " + std::to_string(h[5]) +
        (h[5] < 0 ? " (classifier stored)" : "") + ", seq_len " + std::to_string(h[6]);
    // Any file's first 28 bytes read as seven numbers; a file that is not a checkpoint gives
    // numbers that no model has.
    const auto not_a_checkpoint = [&](const std::string& why) {
        invalid_argument(fn, name +
                                 " is not a llama2.c checkpoint: its first 28 bytes, read as "
                                 "the header, give " +
                                 header + "; " + why);
    };
    // A file of another size than its header implies: cut short, or not a checkpoint.
    const auto wrong_size = [&](std::size_t expected, const std::string& for_what) {
        invalid_argument(fn, name + ": the file has " + std::to_string(size) + " bytes, " +
                                 (size < expected ? "fewer" : "more") + " than the " +
                                 std::to_string(expected) + " its header (" + header + ") implies" +
                                 for_what + ": " +
                                 (size < expected ? "a truncated download, or " : "") +
                                 "not a llama2.c checkpoint");
    };
    for (int i = 0; i < 7; ++i) {
        if (h[i] <= 0 && !(i == 5 && h[i] < 0 && h[i] != INT32_MIN)) {
            not_a_checkpoint(
                "every size must be above 0 (only vocab_size may be negative, for a stored "
                "classifier)");
        }
    }
    LlamaConfig c;
    c.dim = static_cast<std::size_t>(h[0]);
    c.hidden_dim = static_cast<std::size_t>(h[1]);
    c.n_layers = static_cast<std::size_t>(h[2]);
    c.n_heads = static_cast<std::size_t>(h[3]);
    c.n_kv_heads = static_cast<std::size_t>(h[4]);
    c.shared_classifier = h[5] > 0;
    c.vocab_size = static_cast<std::size_t>(h[5] > 0 ? h[5] : -h[5]);
    c.seq_len = static_cast<std::size_t>(h[6]);
    // Sizes too large for the file, before the heads are checked: the weights whose sizes
    // do not depend on the heads (the embedding, W_q, W_o, W1 to W3, the norms and a stored
    // classifier) are the least the header asks the file to hold.
    std::size_t least = 0;
    try {
        const std::size_t d = c.dim, embedding = times(c.vocab_size, d);
        const std::size_t layer =
            plus(times(2, times(d, d)), plus(times(3, times(d, c.hidden_dim)), times(2, d)));
        least = times(sizeof(float), plus(plus(embedding, c.shared_classifier ? 0 : embedding),
                                          plus(times(c.n_layers, layer), d)));
    } catch (const std::invalid_argument&) {
        not_a_checkpoint("a model of these sizes would take more than 2^64 bytes");
    }
    if (least > size)
        wrong_size(least, " for the embedding, W_q, W_o, the feed-forward and the norms alone");
    const auto inconsistent = [&](const std::string& why) {
        not_a_checkpoint("the sizes are inconsistent: " + why);
    };
    if (c.dim % c.n_heads != 0) {
        inconsistent("dim " + std::to_string(c.dim) +
                     " is not a multiple of n_heads = " + std::to_string(c.n_heads));
    }
    if (c.n_heads % c.n_kv_heads != 0) {
        inconsistent("n_heads " + std::to_string(c.n_heads) +
                     " is not a multiple of n_kv_heads = " + std::to_string(c.n_kv_heads));
    }
    if ((c.dim / c.n_heads) % 2 != 0) {
        inconsistent("the head size dim / n_heads = " + std::to_string(c.dim / c.n_heads) +
                     " is odd; RoPE rotates pairs of numbers");
    }
    std::vector<CheckpointPart> parts;
    try {
        parts = checkpoint_layout(c);
    } catch (const std::invalid_argument& e) {
        not_a_checkpoint(e.what());
    }
    const std::size_t expected = parts.back().offset + parts.back().bytes;
    if (size != expected) wrong_size(expected, "");

    // Where each array starts. Every offset is 28 plus a multiple of 4, so each float is
    // aligned; the mapping itself starts on a page.
    const auto at = [&](std::size_t i) {
        return reinterpret_cast<const float*>(file->data() + parts[i].offset);
    };
    const std::size_t d = c.dim, d_kv = c.n_kv_heads * (d / c.n_heads), f = c.hidden_dim;
    // A matrix as stored, [out, in] (nn.Linear's weight), in place: no copy, no transpose.
    const auto matrix = [&](std::size_t i, std::size_t layer, std::size_t out, std::size_t in) {
        return LinearWeight(at(i) + layer * out * in, out, in, file);
    };
    const auto vector = [&](std::size_t i, std::size_t layer) {  // a norm's gain, copied
        Vector v = xt::zeros<float>({d});
        std::copy_n(at(i) + layer * d, d, v.data());
        return v;
    };
    LlamaWeights w;
    w.token_embedding = matrix(0, 0, c.vocab_size, d);
    for (std::size_t l = 0; l < c.n_layers; ++l) {
        LlamaLayer layer;
        layer.attention_norm = vector(1, l);
        layer.w_q = matrix(2, l, d, d);
        layer.w_k = matrix(3, l, d_kv, d);
        layer.w_v = matrix(4, l, d_kv, d);
        layer.w_o = matrix(5, l, d, d);
        layer.ffn_norm = vector(6, l);
        layer.w_gate = matrix(7, l, f, d);  // w1: the gate, through SiLU
        layer.w_down = matrix(8, l, d, f);  // w2: back to dim
        layer.w_up = matrix(9, l, f, d);    // w3: the gated branch
        w.layers.push_back(std::move(layer));
    }
    w.final_norm = vector(10, 0);
    // The embedding, [vocab_size, dim], is also the shared classifier's [out, in]: the same
    // numbers, not a copy.
    w.classifier = c.shared_classifier ? w.token_embedding : matrix(13, 0, c.vocab_size, d);
    if (info) {
        info->file_bytes = size;
        info->rope_table_difference = 0.0f;
        const RopeTables ours = rope_tables(0, c.seq_len, d / c.n_heads, c.rope_theta);
        const float* cos = at(11);
        const float* sin = at(12);
        for (std::size_t k = 0; k < ours.cos.size(); ++k) {
            info->rope_table_difference =
                std::max({info->rope_table_difference, std::abs(cos[k] - ours.cos.data()[k]),
                          std::abs(sin[k] - ours.sin.data()[k])});
        }
    }
    return Llama(c, std::move(w));
}

void write_checkpoint(const std::filesystem::path& path, const Llama& model) {
    constexpr const char* fn = "attn::write_checkpoint";
    const LlamaConfig& c = model.config();
    const LlamaWeights& w = model.weights();
    // The header holds int32: a larger size would wrap to another number, a file that
    // reads back as a different model or not at all. Checked before the file is created.
    const auto int32 = [&](std::size_t v, const char* field) {
        if (v > static_cast<std::size_t>(INT32_MAX)) {
            invalid_argument(fn, std::string(field) + " = " + std::to_string(v) +
                                     " does not fit in the header's int32 (at most " +
                                     std::to_string(INT32_MAX) + ")");
        }
        return static_cast<std::int32_t>(v);
    };
    const std::int32_t vocab = c.shared_classifier ? int32(c.vocab_size, "vocab_size")
                                                   : -int32(c.vocab_size, "vocab_size");
    const std::int32_t h[7] = {int32(c.dim, "dim"),
                               int32(c.hidden_dim, "hidden_dim"),
                               int32(c.n_layers, "n_layers"),
                               int32(c.n_heads, "n_heads"),
                               int32(c.n_kv_heads, "n_kv_heads"),
                               vocab,
                               int32(c.seq_len, "seq_len")};
    // Written beside the file and renamed over it at the end: a failure leaves no half-written
    // checkpoint, and a model mapped from `path` itself keeps reading its old file.
    std::filesystem::path partial = path;
    partial += ".partial";
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) invalid_argument(fn, path.string() + ": cannot create it");
    out.write(reinterpret_cast<const char*>(h), sizeof h);
    const auto put = [&](const float* p, std::size_t n) {
        out.write(reinterpret_cast<const char*>(p),
                  static_cast<std::streamsize>(n * sizeof(float)));
    };
    const auto put_weight = [&](const LinearWeight& m) { put(m.data(), m.out() * m.in()); };
    const auto put_vector = [&](const Vector& v) { put(v.data(), v.size()); };
    const auto each = [&](const auto& get) {
        for (const LlamaLayer& l : w.layers) get(l);
    };
    // The weights are kept as the file stores them, [out, in]: written as they are.
    put_weight(w.token_embedding);
    each([&](const LlamaLayer& l) { put_vector(l.attention_norm); });
    each([&](const LlamaLayer& l) { put_weight(l.w_q); });
    each([&](const LlamaLayer& l) { put_weight(l.w_k); });
    each([&](const LlamaLayer& l) { put_weight(l.w_v); });
    each([&](const LlamaLayer& l) { put_weight(l.w_o); });
    each([&](const LlamaLayer& l) { put_vector(l.ffn_norm); });
    each([&](const LlamaLayer& l) { put_weight(l.w_gate); });
    each([&](const LlamaLayer& l) { put_weight(l.w_down); });
    each([&](const LlamaLayer& l) { put_weight(l.w_up); });
    put_vector(w.final_norm);
    const RopeTables rope = rope_tables(0, c.seq_len, c.dim / c.n_heads, c.rope_theta);
    put(rope.cos.data(), rope.cos.size());
    put(rope.sin.data(), rope.sin.size());
    if (!c.shared_classifier) put_weight(w.classifier);
    out.close();
    std::error_code error;
    if (!out) {
        std::filesystem::remove(partial, error);
        invalid_argument(fn, path.string() + ": writing it failed");
    }
    std::filesystem::rename(partial, path, error);
    if (error) {
        std::filesystem::remove(partial, error);
        invalid_argument(fn, path.string() + ": cannot replace it");
    }
}

}  // namespace attn
