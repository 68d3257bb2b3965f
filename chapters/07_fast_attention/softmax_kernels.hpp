/// \file
/// \brief Chapter 07: the softmax's hot loops over one row of scores, on raw float
/// pointers: the maximum, the exponentials and their sum, written so that the compiler
/// computes 8 or 16 scores at once; and, for the chapter to measure the gain, the plain
/// loops they replace, compiled with the same flags.
#pragma once

#include <cstddef>

namespace attn {

/// \f$e^x\f$ to float precision (relative error below 1e-6), written so the compiler can
/// compute 8 or 16 at once; exactly 0 below -87 (e^-87 is about 1.6e-38), so e^-inf = 0.
float fast_exp(float x);

/// The largest of s[0..n), in 16 running maxima side by side (one vector register). A NaN
/// is skipped, as by `m = s[j] > m ? s[j] : m`; -inf when n = 0 or every score is -inf or NaN.
/// \param s `[n]`
/// \param n how many scores
float row_maximum(const float* s, std::size_t n);

/// The same maximum by the plain loop `m = s[j] > m ? s[j] : m`, which the compiler does not
/// vectorise (chapter 07 measures the difference).
/// \param s `[n]`
/// \param n how many scores
float plain_row_maximum(const float* s, std::size_t n);

/// Replaces each s[j] by \f$e^{s_j - m}\f$ (fast_exp()'s formula, inlined so that the loop
/// vectorises) and returns their sum: 0 for a score of -inf, NaN for a NaN score.
/// \param s `[n]`, overwritten
/// \param n how many scores
/// \param m the row's maximum (not -inf)
float exp_row(float* s, std::size_t n, float m);

/// exp_row() with std::exp, one library call per score (chapter 07 measures the difference).
/// \param s `[n]`, overwritten
/// \param n how many scores
/// \param m the row's maximum (not -inf)
float plain_exp_row(float* s, std::size_t n, float m);

/// a[j] *= c for j in 0..n: a running output rescaled to a new maximum.
/// \param a `[n]`
/// \param n its length
/// \param c the factor
void scale_row(float* a, std::size_t n, float c);

}  // namespace attn
