// answers: 8.3
// expect 8.3: failing
// mistake: the first (leftmost) adjacent pair that forms a piece is merged straight away, whatever its score, instead of the pair whose piece has the highest score
// part: choice of the pair to merge
#include "exercises.hpp"

#include <map>
#include <stdexcept>

namespace attn::ex08 {

std::vector<std::size_t> merge_pairs(std::vector<std::size_t> tokens,
                                     const std::vector<std::string>& pieces,
                                     const std::vector<float>& scores) {
    constexpr const char* fn = "attn::ex08::merge_pairs";
    if (pieces.size() != scores.size()) {
        invalid_argument(fn, std::to_string(pieces.size()) + " pieces but " +
                                 std::to_string(scores.size()) + " scores");
    }
    for (std::size_t t : tokens) {
        if (t >= pieces.size())
            invalid_argument(fn, "token " + std::to_string(t) + " is outside the vocabulary");
    }
    std::map<std::string, std::size_t> ids;
    for (std::size_t id = 0; id < pieces.size(); ++id) ids.emplace(pieces[id], id);
    bool merged = true;
    while (merged) {
        merged = false;
        for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
            const auto it = ids.find(pieces[tokens[i]] + pieces[tokens[i + 1]]);
            if (it != ids.end()) {
                tokens[i] = it->second;
                tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(i) + 1);
                merged = true;
                break;
            }
        }
    }
    return tokens;
}

}  // namespace attn::ex08
