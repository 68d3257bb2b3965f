// answers: 8.3
// expect 8.3: failing
// mistake: a token is refused only when it is above the vocabulary size (> instead of >=), so a token equal to the vocabulary size is accepted and its piece is read one past the end of pieces.
// part: argument checks (a token's upper bound)
#include "exercises.hpp"

#include <map>
#include <string>

namespace attn::ex08 {

std::vector<std::size_t> merge_pairs(std::vector<std::size_t> tokens,
                                     const std::vector<std::string>& pieces,
                                     const std::vector<float>& scores) {
    constexpr const char* fn = "attn::ex08::merge_pairs";
    if (pieces.size() != scores.size()) {
        invalid_argument(fn, "pieces has " + std::to_string(pieces.size()) +
                                 " entries but scores has " + std::to_string(scores.size()));
    }
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i] > pieces.size()) {
            invalid_argument(fn,
                             "tokens[" + std::to_string(i) + "] = " + std::to_string(tokens[i]) +
                                 " is outside the vocabulary of " + std::to_string(pieces.size()));
        }
    }
    std::map<std::string, std::size_t> ids;
    for (std::size_t id = 0; id < pieces.size(); ++id) ids.emplace(pieces[id], id);  // first wins
    while (true) {
        bool found = false;
        float best = 0.0f;
        std::size_t best_i = 0, best_id = 0;
        for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
            const auto it = ids.find(pieces[tokens[i]] + pieces[tokens[i + 1]]);
            if (it == ids.end()) continue;
            if (!found || scores[it->second] > best) {
                found = true;
                best = scores[it->second];
                best_i = i;
                best_id = it->second;
            }
        }
        if (!found) return tokens;
        tokens[best_i] = best_id;
        tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(best_i) + 1);
    }
}

}  // namespace attn::ex08
