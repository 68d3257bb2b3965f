/// \file
/// \brief Chapter 11 exercises: the bookkeeping of attention across P processes (who owns which
/// heads, whose keys a rank holds at each step of a ring, how partial attentions merge, how the
/// sequence is dealt out, what an all-reduce sends), written by you.
///
/// Each function below is one exercise; its comment is the task. Your answer goes in the
/// `.cpp` file named after the exercise in this folder. Check with `make check CH=11`.
///
/// P processes, the ranks 0..P-1 (MPI's word), each run part of the work. Nothing here sends a
/// byte: these are the decisions every rank takes the same way before the chapter's MPI program
/// sends anything, and a rank that takes one differently waits forever for a message nobody
/// sends.
///
/// You may use chapters 01 to 10, e.g. invalid_argument() (`common/shape.hpp`). Chapter 11's
/// own functions are what you are writing: the tests compare your answers with computations of
/// their own (blocks counted out head by head, a ring passed along step by step, attention over
/// all the keys in one piece).
///
/// Every function first checks its arguments and throws std::invalid_argument whose message
/// names the function and shows what is wrong as `name = value`, e.g. `ranks = 0`.
#pragma once

#include "common/errors.hpp"
#include "common/shape.hpp"

#include <cstddef>
#include <limits>
#include <vector>

/// Chapter 11 exercises.
namespace attn::ex11 {

/// What rank r of P owns of one block under tensor parallelism (exercise 11.1).
struct HeadShare {
    std::size_t first_head = 0;     ///< its query heads are first_head .. first_head + heads - 1
    std::size_t heads = 0;          ///< n_heads / P
    std::size_t first_kv_head = 0;  ///< the key/value heads those query heads read
    std::size_t kv_heads = 0;       ///< n_kv_heads / P
    std::size_t first_hidden = 0;   ///< its SwiGLU features first_hidden .. + hidden - 1
    std::size_t hidden = 0;         ///< hidden_dim / P
};

/// \brief Exercise 11.1: the heads a rank owns.
///
/// Tensor parallelism (Megatron-LM's split) runs every block on P ranks at once: rank r
/// computes the attention of some of the heads and the feed-forward network of some of the
/// SwiGLU features, and an all-reduce (exercise 11.5) sums the ranks' outputs. Rank r owns the
/// r-th of P equal, contiguous blocks of each: heads = n_heads / P query heads from
/// first_head = r * heads, kv_heads = n_kv_heads / P key/value heads from
/// first_kv_head = r * kv_heads, and hidden = hidden_dim / P features from
/// first_hidden = r * hidden.
///
/// Why P must divide n_kv_heads too: with grouped-query heads, query head h reads key/value
/// head h / (n_heads / n_kv_heads) (exercise 4.3), so a contiguous block of query heads reads a
/// contiguous block of key/value heads; when P divides n_kv_heads, that block is exactly the
/// rank's own, and every rank computes its heads from its own keys and values, nothing copied
/// from another rank.
///
/// \param n_heads query heads per block
/// \param n_kv_heads key/value heads per block
/// \param hidden_dim SwiGLU features per block
/// \param rank this process, 0..ranks-1
/// \param ranks P, the number of processes
/// \return what `rank` owns
///
/// Throws std::invalid_argument naming head_share when ranks is 0 (`ranks = 0`), rank is not
/// below ranks (`rank = 4`), or P does not divide n_heads, n_kv_heads or hidden_dim: name that
/// count with its value, e.g. `n_kv_heads = 2`.
///
/// Example: Llama-3-8B (32 query heads, 8 key/value heads, 14336 features) on P = 4 ranks: rank
/// 1 owns query heads 8..15 (first_head 8, heads 8), key/value heads 2..3 (first_kv_head 2,
/// kv_heads 2; its query heads read 8 / 4 = 2 up to 15 / 4 = 3) and features 3584..7167
/// (first_hidden 3584, hidden 3584).
///
/// Hint: the same split three times: each count divided by P is a rank's share, and rank r's block
/// starts r shares in (rank 0's at 0, the blocks side by side, not dealt out round-robin). The
/// key/value heads have their own, smaller share: their block does not start where the query heads'
/// does. Refuse ranks = 0 first (a remainder by 0 is undefined), then a rank past the last, then a
/// count that P does not divide without a remainder.
///
/// Second hint: with P = ranks, r = rank and H = n_heads: heads = \f$H / P\f$ and first_head =
/// \f$r \cdot H / P\f$; the same with n_kv_heads and with hidden_dim. Refuse when
/// \f$H \bmod P \ne 0\f$, and the same for the other two counts.
// answered in the library by: chapters/11_beyond_one_machine/partition.cpp head_share
HeadShare head_share(std::size_t n_heads, std::size_t n_kv_heads, std::size_t hidden_dim,
                     std::size_t rank, std::size_t ranks);

/// One query's attention over part of its keys, before normalising (exercise 11.2): the
/// largest score m, the sum of the exponentials measured against it, and the values weighted
/// by the same exponentials, \f$o = \sum_j e^{s_j - m} v_j\f$. Its attention over all the keys
/// is o / sum, once every part is merged in. An empty part: max -inf, sum 0, out empty or zeros.
struct PartialAttention {
    float max = -std::numeric_limits<float>::infinity();  ///< m, the largest score
    float sum = 0.0f;                                     ///< \f$\ell = \sum_j e^{s_j - m}\f$
    std::vector<float> out;                               ///< `[d_v]`, o
};

/// \brief Exercise 11.2: merge two partial attentions.
///
/// Ring attention, and a KV cache whose positions are spread over the ranks, leave each rank
/// with one query's attention over its part of the keys. Merge `other` into `into`: chapter
/// 07's merge of two softmax states (exercise 7.2) with the outputs rescaled like the sums,
/// \f$m = \max(m_a, m_b)\f$, \f$\ell = \ell_a e^{m_a - m} + \ell_b e^{m_b - m}\f$ and, number
/// by number, \f$o = o_a e^{m_a - m} + o_b e^{m_b - m}\f$. The result is a partial attention
/// again, merged with the next part: do not divide by the sum (o / l is taken once, after the
/// last merge).
///
/// An empty state (max -inf, sum 0, out empty or zeros) changes nothing, whichever side it is
/// on, and two empty states give an empty state. When into.out is empty it takes the size of
/// other.out. Merging in any order gives the same state (up to rounding).
///
/// \param into the state so far; afterwards, the state of both parts
/// \param other the state of another part of the keys
///
/// Throws std::invalid_argument naming merge_partials when into.out and other.out both hold
/// numbers, but not as many (say both sizes), before changing anything.
///
/// Example: into = (max 3, sum 1.5, out {3, 1.5}) and other = (max 5, sum 1, out {2, 4}) give
/// max 5, sum \f$1.5 e^{-2} + 1\f$ = 1.2030 and out \f$\{3 e^{-2} + 2, 1.5 e^{-2} + 4\}\f$ =
/// {2.4060, 4.2030}; merged the other way round, the same.
///
/// Hint: exercise 7.2 and one more line: a part's sum and its output were both measured against
/// that part's own maximum, so both are rescaled by the same factor, e to the power of (the part's
/// maximum minus the merged one), before they are added; the merged maximum is the larger one. Keep
/// the output a sum, not an average. Two empty states give a merged maximum of -inf, and
/// e^(-inf - (-inf)) is NaN: leave into as it is then. Check the sizes first; an empty into.out
/// grows to other's size, filled with 0, and an empty other.out adds nothing.
///
/// Second hint: \f$m = \max(m_a, m_b)\f$; if \f$m = -\infty\f$, stop. Else
/// \f$\alpha = e^{m_a - m}\f$, \f$\beta = e^{m_b - m}\f$,
/// \f$\ell \leftarrow \alpha\, \ell_a + \beta\, \ell_b\f$,
/// \f$o_i \leftarrow \alpha\, o_{a,i} + \beta\, o_{b,i}\f$ for every i (an empty output counts as
/// zeros) and max \f$\leftarrow m\f$.
// answered in the library by: chapters/11_beyond_one_machine/partition.cpp merge_partials
void merge_partials(PartialAttention& into, const PartialAttention& other);

/// \brief Exercise 11.3: whose keys a rank holds at each step of the ring.
///
/// Ring attention: rank r starts with the keys and values of its own chunk of the sequence. At
/// each step every rank computes with the chunk it holds, then passes that chunk on to rank
/// r + 1 (rank P - 1 to rank 0) and receives one from rank r - 1 (rank 0 from rank P - 1).
/// After P - 1 passes every rank has seen every chunk. Return whose chunk rank r holds at step
/// s: that of rank (r - s) mod P.
///
/// \param rank r, 0..ranks-1
/// \param step s, 0..ranks-1; at step 0 a rank holds its own chunk
/// \param ranks P, the number of processes
/// \return the rank that started with the chunk, 0..ranks-1
///
/// Throws std::invalid_argument naming ring_source when ranks is 0 (`ranks = 0`), or rank or
/// step is not below ranks (`rank = 4`, `step = 4`).
///
/// Example: P = 4: rank 1 holds its own chunk at step 0, rank 0's at step 1, rank 3's at step 2
/// and rank 2's at step 3.
///
/// Hint: the chunks move one rank to the right at each step, so the chunk rank r holds came from
/// one rank further to its left at each step: s ranks to the left, going round from rank 0 to rank
/// P - 1. The numbers are std::size_t, which never goes below 0: r - s wraps round to a number near
/// 2^64 when s > r (and a remainder of that by P is right only when P is a power of two), so add
/// P before subtracting, then take the remainder.
///
/// Second hint: \f$(r + P - s) \bmod P\f$, once P = 0, \f$r \ge P\f$ and \f$s \ge P\f$ are
/// refused.
// answered in the library by: chapters/11_beyond_one_machine/partition.cpp ring_source
std::size_t ring_source(std::size_t rank, std::size_t step, std::size_t ranks);

/// How the T positions of a long sequence are dealt to the ranks (exercise 11.4).
enum class Assignment {
    contiguous,  ///< rank r holds chunk r of P equal chunks: causal work grows with r
    zigzag,      ///< 2P chunks; rank r holds chunks r and 2P - 1 - r: one early, one late
};

/// \brief Exercise 11.4: the zigzag assignment.
///
/// Ring attention cuts the sequence into chunks of equal length and gives each rank some of
/// them. With a causal mask a query at position p scores p + 1 keys (0..p), so a chunk's work
/// grows with its index: a chunk c of L positions scores \f$L^2 c + L (L + 1) / 2\f$ pairs.
/// Cut in P chunks, one a rank (contiguous), rank P - 1 works about 2P - 1 times as long as
/// rank 0, and the others wait for it at every step. Zigzag cuts the sequence in 2P chunks and
/// gives rank r chunk r and its mirror from the far end, 2P - 1 - r: one early, one late.
/// Together they score \f$L^2 (2P - 1) + L (L + 1)\f$ pairs, the same for every rank.
///
/// Return the chunks rank r holds, the earlier first: {r} (of P chunks) for contiguous,
/// {r, 2P - 1 - r} (of 2P chunks) for zigzag.
///
/// \param rank r, 0..ranks-1
/// \param ranks P, the number of processes
/// \param a how the sequence is dealt out
/// \return the indices of its chunks, in increasing order
///
/// Throws std::invalid_argument naming rank_chunks when ranks is 0 (`ranks = 0`) or rank is
/// not below ranks (`rank = 4`).
///
/// Example: P = 4, zigzag (8 chunks): rank 0 holds {0, 7}, rank 1 {1, 6}, rank 2 {2, 5} and
/// rank 3 {3, 4}. Contiguous (4 chunks): rank 2 holds {2}.
///
/// Hint: contiguous is one chunk, the rank's own number. Zigzag pairs an early chunk with its
/// mirror from the far end: the 2P chunks are numbered 0..2P - 1, so the mirror of chunk 0 is the
/// last one, 2P - 1, and every pair adds up to that. A second chunk of P + r would be a stripe:
/// rank P - 1 would still get the last chunk of each half. Check ranks and rank first.
///
/// Second hint: contiguous: \f$\{r\}\f$; zigzag: \f$\{r, 2P - 1 - r\}\f$.
// answered in the library by: chapters/11_beyond_one_machine/partition.cpp rank_chunks
std::vector<std::size_t> rank_chunks(std::size_t rank, std::size_t ranks, Assignment a);

/// \brief Exercise 11.5: the bytes of a ring all-reduce.
///
/// Tensor parallelism sums the ranks' partial outputs of every block with an all-reduce: each
/// rank holds `bytes` of numbers and every rank ends with their sum over the ranks. The ring
/// all-reduce (Patarasuk and Yuan 2009) cuts the data into P pieces and runs 2 (P - 1) steps;
/// in each, every rank sends one piece to rank r + 1. The first P - 1 steps (reduce-scatter)
/// carry each piece once round the ring, each rank adding its own numbers, until a rank holds
/// a piece's whole sum; the last P - 1 (all-gather) carry each summed piece round to every
/// rank. Return the bytes each rank sends: 2 (P - 1) / P times the data, which hardly grows
/// with P (the ring is bandwidth-optimal).
///
/// \param bytes the size of the data each rank holds, in bytes
/// \param ranks P, the number of processes
/// \return the bytes each rank sends; 0 for one rank
///
/// Throws std::invalid_argument naming ring_allreduce_bytes when ranks is 0 (`ranks = 0`).
///
/// Example: 1 GB (1e9 bytes) on 4 ranks: each rank sends 2 x 3 / 4 = 1.5 times the data,
/// 1.5e9 bytes. On 1 rank, 0: there is nothing to sum.
///
/// Hint: count the steps, then what one step sends: two phases of P - 1 steps each, and in every
/// step a rank sends one piece, a P-th of the data, not the whole of it. Counting the first phase
/// alone forgets the all-gather. Work in double: (P - 1) / P in std::size_t is 0.
///
/// Second hint: \f$2 (P - 1) \cdot \mathrm{bytes} / P\f$.
// answered in the library by: chapters/11_beyond_one_machine/partition.cpp ring_allreduce_bytes
double ring_allreduce_bytes(double bytes, std::size_t ranks);

}  // namespace attn::ex11
