/// \file
/// \brief The sentence every chapter works on: "the dog that chased the cat was tired".
#pragma once

#include "common/tensor.hpp"

namespace attn {

/// The running example of the book, with hand-made embeddings whose columns each mean one
/// thing, so that every number in every chapter can be read.
struct RunningExample {
    /// The 8 tokens of the sentence, T = 8.
    Tokens tokens;
    /// The meaning of each embedding column, d_model = 8: determiner, noun, animal, in
    /// the main clause, in the relative clause, verb, adjective, past tense.
    Tokens features;
    /// `[T, d_model]` one row per token, one column per feature; entries are 0 or 1.
    Matrix embeddings;
};

/// The running example. The interesting question in it: *who was tired?* The nearest noun
/// before "was" is "cat", but the answer is "dog", which attention has to reach past the
/// relative clause "that chased the cat" to find.
const RunningExample& running_example();

}  // namespace attn
