#include "chapters/09_learning/language.hpp"

#include "common/shape.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <tuple>

namespace attn {

namespace {

const std::vector<std::string> singular = {"dog", "cat", "bird", "fox", "horse"};
const std::vector<std::string> plural = {"dogs", "cats", "birds", "foxes", "horses"};
const std::vector<std::string> transitive = {"chased", "saw", "followed", "liked"};
const std::vector<std::string> prepositions = {"near", "behind", "beside"};
const std::vector<std::string> adjectives = {"tired", "hungry", "happy", "sleepy"};
// The front: a preamble before "the" and adjectives between "the" and the noun, 0, 2 or 4
// words and 0, 1 or 2, so that the subject is the 2nd to the 8th word.
const std::vector<std::vector<std::string>> preambles = {
    {}, {"yesterday", ","}, {"in", "the", "morning", ","}};
const std::vector<std::vector<std::string>> before_noun = {{}, {"old"}, {"big", "old"}};

}  // namespace

Language::Language() {
    // "." is token 1, llama2.c's start (and end) of a text: chapter 08's program, which
    // starts a text from token 1 and stops at the next, then writes one sentence.
    words_ = {"the", ".", "that", "was", "were"};
    for (const auto* list : {&singular, &plural, &transitive, &prepositions, &adjectives})
        words_.insert(words_.end(), list->begin(), list->end());
    words_.insert(words_.end(), {"yesterday", ",", "in", "morning", "big", "old"});
    const auto ids = [&](const std::vector<std::string>& list) {
        std::vector<std::size_t> out;
        for (const std::string& w : list) out.push_back(id(w));
        return out;
    };
    for (const auto& preamble : preambles)
        for (const auto& before : before_noun) fronts_.push_back({ids(preamble), ids(before)});
    const auto noun = [&](std::size_t i, bool many) { return id(many ? plural[i] : singular[i]); };
    Rng rng(9);  // draws each core sentence's front: the same sentences in every run
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
                    std::vector<std::size_t> core = {id("the"), noun(n, many)};
                    core.insert(core.end(), middle.begin(), middle.end());
                    core.insert(core.end(), {id(many ? "were" : "was"), id(a), id(".")});
                    cores_.insert(core);
                    const auto& [preamble, before] =
                        fronts_[static_cast<std::size_t>(rng.uniform() * fronts_.size()) %
                                fronts_.size()];
                    Sentence s;
                    s.tokens = preamble;
                    s.tokens.push_back(id("the"));
                    s.tokens.insert(s.tokens.end(), before.begin(), before.end());
                    s.subject_position = s.tokens.size();
                    s.tokens.insert(s.tokens.end(), core.begin() + 1, core.end());
                    s.verb_position = s.subject_position + 1 + middle.size();
                    s.plural_subject = many;
                    s.attractor = other >= 0 && static_cast<bool>(other) != many;
                    sentences_.push_back(std::move(s));
                }
            }
        }
    }
}

double Language::grammar_mean_tokens() const {
    double core = 0.0, front = 0.0;
    for (const auto& c : cores_) core += static_cast<double>(c.size());
    for (const auto& [preamble, before] : fronts_)
        front += static_cast<double>(preamble.size() + before.size());
    return core / static_cast<double>(cores_.size()) + front / static_cast<double>(fronts_.size());
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
    const std::size_t the = id("the");
    // A front that the sentence starts with, followed by a core sentence without its "the".
    for (const auto& [preamble, before] : fronts_) {
        const std::size_t core_start = preamble.size() + 1 + before.size();
        if (tokens.size() <= core_start ||
            !std::equal(preamble.begin(), preamble.end(), tokens.begin()) ||
            tokens[preamble.size()] != the ||
            !std::equal(before.begin(), before.end(), tokens.begin() + preamble.size() + 1))
            continue;
        std::vector<std::size_t> core = {the};
        core.insert(core.end(), tokens.begin() + static_cast<std::ptrdiff_t>(core_start),
                    tokens.end());
        if (cores_.count(core)) return true;
    }
    return false;
}

bool subject_position_unseen(const Sentence& sentence) {
    return std::find(unseen_subject_positions.begin(), unseen_subject_positions.end(),
                     sentence.subject_position) != unseen_subject_positions.end();
}

LanguageSplit split_sentences(const Language& language, double held_out_share, Rng& rng) {
    if (!(held_out_share > 0.0 && held_out_share < 1.0)) {
        invalid_argument("attn::split_sentences", "held_out_share must be between 0 and 1, got " +
                                                      std::to_string(held_out_share));
    }
    LanguageSplit split;
    // Each kind: the subject's number, an attractor or not, and the middle's length.
    std::map<std::tuple<bool, bool, std::size_t>, std::vector<Sentence>> kinds;
    for (const Sentence& s : language.sentences()) {
        if (subject_position_unseen(s)) {
            split.held_out.push_back(s);
            continue;
        }
        const std::size_t middle = s.verb_position - s.subject_position - 1;
        kinds[{s.plural_subject, s.attractor, middle}].push_back(s);
    }
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
