// Reference values computed independently (PyTorch, by tests/reference/generate.py) and
// committed as text, so the tests never need PyTorch.
//
// File format, one tensor per line:   name rank dim... value...
// Lines starting with '#' are comments.
#pragma once

#include "common/tensor.hpp"

#include <map>
#include <string>
#include <vector>

namespace attn::test {

/// The tensors of one reference file, e.g. tests/reference/ch01.txt.
class Reference {
public:
    /// Loads `tests/reference/<name>.txt`; fails the test with a clear message when the
    /// file or a tensor is missing.
    static const Reference& load(const std::string& name);

    /// The path of another file in tests/reference, e.g. "ch08_model.bin".
    static std::string file(const std::string& name);

    Vector vector(const std::string& key) const;
    Matrix matrix(const std::string& key) const;
    Tensor3 tensor3(const std::string& key) const;
    /// A mask stored as 0/1 numbers.
    Mask mask(const std::string& key) const;
    /// A batch of masks stored as 0/1 numbers.
    BatchMask batch_mask(const std::string& key) const;

private:
    struct Entry {
        std::vector<std::size_t> shape;
        std::vector<float> values;
    };
    const Entry& entry(const std::string& key, std::size_t rank) const;

    std::string path_;
    std::map<std::string, Entry> entries_;
};

}  // namespace attn::test
