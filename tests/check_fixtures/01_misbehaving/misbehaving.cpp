// Answers to the chapter 01 exercises that misbehave in every way a learner's code can,
// so that tests/check_selftest.py can prove `make check` reports each one per exercise
// instead of crashing or hanging: an exception, a wrong shape, an endless loop, a crash.
#include "exercises.hpp"

#include <csignal>
#include <stdexcept>

namespace attn::ex01 {

Vector dot_scores(const Vector&, const Matrix&) {
    throw std::runtime_error("something broke");
}

Vector stable_softmax(const Vector& logits) {
    return xt::zeros<float>({logits.size() + 1});
}

Vector attend(const Vector&, const Matrix&, const Matrix&) {
    volatile bool forever = true;
    while (forever) {
    }
    return {};
}

Matrix attention_weights(const Matrix&, const Matrix&) {
    std::raise(SIGSEGV);
    return {};
}

}  // namespace attn::ex01
