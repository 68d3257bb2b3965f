#include "reference.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#ifndef ATTN_REFERENCE_DIR
#error "ATTN_REFERENCE_DIR must point at tests/reference"
#endif

namespace attn::test {

std::string Reference::file(const std::string& name) {
    return std::string(ATTN_REFERENCE_DIR) + "/" + name;
}

const Reference& Reference::load(const std::string& name) {
    static std::map<std::string, std::unique_ptr<Reference>> cache;
    auto& slot = cache[name];
    if (slot) return *slot;
    auto ref = std::make_unique<Reference>();
    ref->path_ = std::string(ATTN_REFERENCE_DIR) + "/" + name + ".txt";
    std::ifstream in(ref->path_);
    if (!in) throw std::runtime_error("cannot read reference data " + ref->path_);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string key;
        std::size_t rank = 0;
        fields >> key >> rank;
        Entry e;
        std::size_t count = 1;
        for (std::size_t d = 0; d < rank; ++d) {
            std::size_t n = 0;
            fields >> n;
            e.shape.push_back(n);
            count *= n;
        }
        e.values.resize(count);
        for (float& v : e.values) {
            std::string text;  // strtof, unlike operator>>, reads "inf", "-inf" and "nan"
            fields >> text;
            char* end = nullptr;
            v = std::strtof(text.c_str(), &end);
            if (text.empty() || *end != '\0') fields.setstate(std::ios::failbit);
        }
        if (!fields) throw std::runtime_error(ref->path_ + ": malformed line for '" + key + "'");
        ref->entries_[key] = std::move(e);
    }
    slot = std::move(ref);
    return *slot;
}

const Reference::Entry& Reference::entry(const std::string& key, std::size_t rank) const {
    const auto it = entries_.find(key);
    if (it == entries_.end()) throw std::runtime_error(path_ + " has no tensor '" + key + "'");
    if (it->second.shape.size() != rank) {
        throw std::runtime_error(path_ + ": tensor '" + key + "' has rank " +
                                 std::to_string(it->second.shape.size()) + ", expected " +
                                 std::to_string(rank));
    }
    return it->second;
}

Vector Reference::vector(const std::string& key) const {
    const Entry& e = entry(key, 1);
    Vector t = Vector::from_shape({e.shape[0]});
    std::copy(e.values.begin(), e.values.end(), t.begin());
    return t;
}

Matrix Reference::matrix(const std::string& key) const {
    const Entry& e = entry(key, 2);
    Matrix t = Matrix::from_shape({e.shape[0], e.shape[1]});
    std::copy(e.values.begin(), e.values.end(), t.begin());
    return t;
}

Tensor3 Reference::tensor3(const std::string& key) const {
    const Entry& e = entry(key, 3);
    Tensor3 t = Tensor3::from_shape({e.shape[0], e.shape[1], e.shape[2]});
    std::copy(e.values.begin(), e.values.end(), t.begin());
    return t;
}

Mask Reference::mask(const std::string& key) const {
    return xt::cast<bool>(matrix(key));
}

BatchMask Reference::batch_mask(const std::string& key) const {
    return xt::cast<bool>(tensor3(key));
}

}  // namespace attn::test
