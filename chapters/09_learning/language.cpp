#include "chapters/09_learning/language.hpp"

#include "common/shape.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace attn {

namespace {

const std::vector<std::string> singular = {"dog", "cat", "bird", "fox", "horse"};
const std::vector<std::string> plural = {"dogs", "cats", "birds", "foxes", "horses"};
const std::vector<std::string> transitive = {"chased", "saw", "followed", "liked"};
const std::vector<std::string> prepositions = {"near", "behind", "beside"};
const std::vector<std::string> adjectives = {"tired", "hungry", "happy", "sleepy"};

// How a sentence reaches its verb: directly, through "that V the N", or "P the N".
enum class Middle { none, clause, phrase };

}  // namespace

Language::Language() {
    words_ = {".", "the", "that", "was", "were"};
    for (const auto* list : {&singular, &plural, &transitive, &prepositions, &adjectives})
        words_.insert(words_.end(), list->begin(), list->end());
    const auto noun = [&](std::size_t i, bool many) { return id(many ? plural[i] : singular[i]); };
    for (bool many : {false, true}) {
        for (std::size_t n = 0; n < singular.size(); ++n) {
            // The middles: none, every clause, every phrase.
            std::vector<std::pair<std::vector<std::size_t>, int>> middles = {{{}, -1}};
            for (const std::string& v : transitive)
                for (bool other : {false, true})
                    for (std::size_t m = 0; m < singular.size(); ++m)
                        middles.push_back({{id("that"), id(v), id("the"), noun(m, other)}, other});
            for (const std::string& p : prepositions)
                for (bool other : {false, true})
                    for (std::size_t m = 0; m < singular.size(); ++m)
                        middles.push_back({{id(p), id("the"), noun(m, other)}, other});
            for (const auto& [middle, other] : middles) {
                for (const std::string& a : adjectives) {
                    Sentence s;
                    s.tokens = {id("the"), noun(n, many)};
                    s.tokens.insert(s.tokens.end(), middle.begin(), middle.end());
                    s.verb_position = s.tokens.size();
                    s.tokens.insert(s.tokens.end(), {id(many ? "were" : "was"), id(a), id(".")});
                    s.plural_subject = many;
                    s.attractor = other >= 0 && static_cast<bool>(other) != many;
                    sentences_.push_back(std::move(s));
                }
            }
        }
    }
}

std::optional<bool> Language::plural_noun(std::size_t token) const {
    if (token >= words_.size()) return std::nullopt;
    const std::string& w = words_[token];
    if (std::find(plural.begin(), plural.end(), w) != plural.end()) return true;
    if (std::find(singular.begin(), singular.end(), w) != singular.end()) return false;
    return std::nullopt;
}

std::size_t Language::id(const std::string& word) const {
    const auto at = std::find(words_.begin(), words_.end(), word);
    if (at == words_.end())
        invalid_argument("attn::Language::id", "'" + word + "' is not a word of the language");
    return static_cast<std::size_t>(at - words_.begin());
}

std::string Language::text(const std::vector<std::size_t>& tokens) const {
    std::string out;
    for (std::size_t t : tokens) {
        if (!out.empty()) out += ' ';
        out += t < words_.size() ? words_[t] : "<" + std::to_string(t) + ">";
    }
    return out;
}

bool Language::accepts(const std::vector<std::size_t>& tokens) const {
    static const std::set<std::vector<std::size_t>> all = [this] {
        std::set<std::vector<std::size_t>> s;
        for (const Sentence& sentence : sentences_) s.insert(sentence.tokens);
        return s;
    }();
    return all.count(tokens) != 0;
}

LanguageSplit split_sentences(const Language& language, double held_out_share, Rng& rng) {
    if (!(held_out_share > 0.0 && held_out_share < 1.0)) {
        invalid_argument("attn::split_sentences", "held_out_share must be between 0 and 1, got " +
                                                      std::to_string(held_out_share));
    }
    // Each kind: the subject's number, an attractor or not, and how the verb is reached.
    std::map<std::tuple<bool, bool, std::size_t>, std::vector<Sentence>> kinds;
    for (const Sentence& s : language.sentences())
        kinds[{s.plural_subject, s.attractor, s.verb_position}].push_back(s);
    LanguageSplit split;
    for (auto& [kind, group] : kinds) {
        // A seeded shuffle (Fisher-Yates), then the first share of the kind is held out.
        for (std::size_t i = group.size(); i > 1; --i)
            std::swap(group[i - 1], group[static_cast<std::size_t>(rng.uniform() * i) % i]);
        const auto held =
            std::max<std::size_t>(1, static_cast<std::size_t>(held_out_share * group.size()));
        split.held_out.insert(split.held_out.end(), group.begin(), group.begin() + held);
        split.train.insert(split.train.end(), group.begin() + held, group.end());
    }
    return split;
}

std::vector<std::size_t> token_stream(const std::vector<Sentence>& sentences, std::size_t count,
                                      Rng& rng) {
    if (sentences.empty()) invalid_argument("attn::token_stream", "no sentences to draw from");
    std::vector<std::size_t> stream;
    while (stream.size() < count) {
        const Sentence& s = sentences[static_cast<std::size_t>(rng.uniform() * sentences.size()) %
                                      sentences.size()];
        stream.insert(stream.end(), s.tokens.begin(), s.tokens.end());
    }
    stream.resize(count);
    return stream;
}

}  // namespace attn
