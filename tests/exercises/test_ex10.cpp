// Tests for the chapter 10 exercises; the tag ([10.1]) is the exercise's number.
//
// Expected values: the worked examples of exercises.hpp (by hand), and computations written
// here as plain loops from the task's rules: a position's block and row by / and %, the pool's
// bookkeeping step by step (a model pool), round(x / scale) on rows whose scale is a power of
// two (so that every quotient, ties included, is exact), and the rows of a sequence gathered
// through its table and given to chapter 01's attention (which tests/reference/ch01.txt
// checks against PyTorch), and the admission rule walked request by request. Nothing here uses chapter 10's own library, whose API is not the
// exercises'.
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "common/random.hpp"
#include "every_size.hpp"
#include "matchers.hpp"
#include "unchanged.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using attn::Matrix;
using attn::Tensor3;
using attn::Vector;
using attn::test::IsClose;
// The exercises as the tests call them (ex::name): each call fails the test when the answer
// changes an argument it takes by const reference (tests/support/unchanged.hpp).
namespace ex {
using namespace attn::ex10;  // the exercises' types
using attn::test::KeepsInputs;
constexpr KeepsInputs<&attn::ex10::block_slot> block_slot{"block_slot", "position", "block_size",
                                                          "block_table"};
constexpr KeepsInputs<&attn::ex10::allocate_block> allocate_block{"allocate_block", "pool"};
constexpr KeepsInputs<&attn::ex10::release_block> release_block{"release_block", "pool", "block"};
constexpr KeepsInputs<&attn::ex10::make_last_block_writable> make_last_block_writable{
    "make_last_block_writable", "pool", "storage", "block_table", "length"};
constexpr KeepsInputs<&attn::ex10::quantize_int8> quantize_int8{"quantize_int8", "x"};
constexpr KeepsInputs<&attn::ex10::dequantize_int8> dequantize_int8{"dequantize_int8", "q"};
constexpr KeepsInputs<&attn::ex10::attend_paged> attend_paged{
    "attend_paged", "query", "keys", "values", "block_table", "length"};
constexpr KeepsInputs<&attn::ex10::admissions> admissions{"admissions", "needs", "free_blocks",
                                                          "growth", "running"};
}  // namespace ex

namespace {

// Whole numbers as a vector a matcher can compare and print.
template <class T>
Vector numbers(const std::vector<T>& v) {
    Vector out = xt::zeros<float>({v.size()});
    for (std::size_t i = 0; i < v.size(); ++i) out(i) = static_cast<float>(v[i]);
    return out;
}

std::string list_text(const std::vector<std::size_t>& v) {
    std::string out = "{";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
    return out + "}";
}

std::string pool_text(const ex::BlockPool& pool) {
    return "free " + list_text(pool.free) + ", owners " + list_text(pool.owners);
}

// The last `n` lines of a log of steps, each of which shows the state it left: enough to see
// the step that went wrong.
std::string last_lines(const std::string& log, std::size_t n) {
    std::size_t start = log.size(), lines = 0;
    while (start > 0 && lines < n)
        if (log[--start] == '\n') ++lines;
    if (lines < n) return log;
    std::size_t earlier = 0;
    for (std::size_t i = 0; i < start; ++i) earlier += log[i] == '\n';
    return "(" + std::to_string(earlier + 1) + " earlier steps not shown)" + log.substr(start);
}

// An invalid_argument whose message names the function and says one thing, with what that
// thing is in the learner's words when it does not ("wrong:" lines, read by tests/check.py).
class SaysMatcher : public Catch::MatcherBase<std::invalid_argument> {
public:
    SaysMatcher(std::string function, std::string fragment, std::string what)
        : function_(std::move(function)), fragment_(std::move(fragment)), what_(std::move(what)) {}
    bool match(const std::invalid_argument& e) const override {
        const std::string message = e.what();
        diagnosis_.clear();
        if (message.find(function_) == std::string::npos)
            diagnosis_ = "wrong: the error message should name the function '" + function_ + "'";
        else if (message.find(fragment_) == std::string::npos)
            diagnosis_ = "wrong: the error message should say " + what_ +
                         " (it does not contain '" + fragment_ + "')";
        return diagnosis_.empty();
    }
    std::string describe() const override {
        const std::string out = "names the function '" + function_ + "' and says " + what_;
        return diagnosis_.empty() ? out : out + "\n" + diagnosis_;
    }

private:
    std::string function_, fragment_, what_;
    mutable std::string diagnosis_;
};

// Checks that `call` throws std::runtime_error whose message contains `function` (when not
// empty): the pool is out of blocks, which is not a wrong argument. The stub's
// not_implemented goes on, so a stub shows as not started.
template <class Call>
void check_out_of_blocks(Call call, const std::string& function, const std::string& fragment,
                         const std::string& why) {
    try {
        call();
    } catch (const attn::not_implemented&) {
        throw;
    } catch (const std::invalid_argument& e) {
        FAIL_CHECK(why << ": threw std::invalid_argument (" << e.what()
                       << "), but running out of blocks is std::runtime_error: the arguments are "
                          "right, the pool is out of memory");
        return;
    } catch (const std::runtime_error& e) {
        const std::string message = e.what();
        if (!function.empty() && message.find(function) == std::string::npos)
            FAIL_CHECK(why << ": the error message should name the function '" << function
                           << "', but says: " << message);
        else if (!fragment.empty() && message.find(fragment) == std::string::npos)
            FAIL_CHECK(why << ": the error message should say how many blocks the pool has ("
                           << fragment << "), but says: " << message);
        return;
    } catch (const std::exception& e) {
        FAIL_CHECK(why << ": threw " << e.what() << " instead of std::runtime_error");
        return;
    }
    FAIL_CHECK(why << ", but nothing was thrown");
}

// Whether `call` throws std::invalid_argument (on a copy of the input: a probe that tells two
// wrong answers apart). The stub's not_implemented goes on.
template <class Call>
bool refuses(Call call) {
    try {
        call();
    } catch (const attn::not_implemented&) {
        throw;
    } catch (const std::invalid_argument&) {
        return true;
    } catch (const std::exception&) {
    }
    return false;
}

}  // namespace

// Checks that `expr` throws std::invalid_argument naming `function` whose message contains
// `fragment`, which is `what` in words; `why` says what is wrong with the input.
#define CHECK_REFUSED(expr, function, fragment, what, why)                                        \
    do {                                                                                          \
        INFO("expected std::invalid_argument: " << why);                                          \
        CHECK_THROWS_MATCHES(expr, std::invalid_argument, SaysMatcher(function, fragment, what)); \
    } while (false)

// ---------------------------------------------------------------- 10.1 block_slot

namespace {
// The slots of positions 0..count-1, one row {block, offset} each.
Matrix slots(std::size_t count, std::size_t block_size, const std::vector<std::size_t>& table) {
    Matrix out = xt::zeros<float>({count, std::size_t{2}});
    for (std::size_t p = 0; p < count; ++p) {
        const ex::BlockSlot s = ex::block_slot(p, block_size, table);
        out(p, 0) = static_cast<float>(s.block);
        out(p, 1) = static_cast<float>(s.offset);
    }
    return out;
}

// The same rows from a rule: slot(p) = {block, offset}.
template <class Rule>
Matrix slots_by(std::size_t count, Rule slot) {
    Matrix out = xt::zeros<float>({count, std::size_t{2}});
    for (std::size_t p = 0; p < count; ++p) {
        const auto [block, offset] = slot(p);
        out(p, 0) = static_cast<float>(block);
        out(p, 1) = static_cast<float>(offset);
    }
    return out;
}

// A table with room past its end, so that reading one entry too far reads memory the table
// owns: the answer is then a wrong one the test can name instead of a crash.
std::vector<std::size_t> roomy(std::vector<std::size_t> entries) {
    std::vector<std::size_t> table;
    table.reserve(64);
    table.assign(entries.begin(), entries.end());
    return table;
}
}  // namespace

TEST_CASE("10.1 block_slot: the worked example", "[10.1]") {
    const std::vector<std::size_t> table{7, 2, 9};
    Matrix got = xt::zeros<float>({std::size_t{3}, std::size_t{2}});
    const std::size_t positions[] = {0, 5, 11};
    for (std::size_t i = 0; i < 3; ++i) {
        const ex::BlockSlot s = ex::block_slot(positions[i], 4, table);
        got(i, 0) = static_cast<float>(s.block);
        got(i, 1) = static_cast<float>(s.offset);
    }
    INFO("rows: positions 0, 5, 11 with block_size 4 and table {7, 2, 9}; columns: block, offset");
    CHECK_THAT(got, IsClose(Matrix{{7, 0}, {2, 1}, {9, 3}}, 0)
                        .or_mistake(Matrix{{0, 0}, {1, 1}, {2, 3}},
                                    "returns the index into the table, position / block_size, "
                                    "instead of the block it names: block_table[position / "
                                    "block_size]"));
}

TEST_CASE("10.1 block_slot: every position of a table whose blocks are out of order", "[10.1]") {
    const std::vector<std::size_t> table{5, 2, 7};  // 3 blocks of 2: positions 0..5
    CHECK_THAT(
        slots(6, 2, table),
        IsClose(Matrix{{5, 0}, {5, 1}, {2, 0}, {2, 1}, {7, 0}, {7, 1}}, 0)
            .or_mistake(Matrix{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {2, 0}, {2, 1}},
                        "returns the index into the table, position / block_size, instead of "
                        "the block it names: block_table[position / block_size]")
            .or_mistake(Matrix{{5, 0}, {2, 0}, {5, 1}, {2, 1}, {5, 2}, {2, 2}},
                        "/ and % swapped: the block is block_table[position / block_size], the "
                        "row position % block_size")
            .or_mistake(Matrix{{5, 0}, {5, 1}, {5, 2}, {2, 0}, {2, 1}, {2, 2}},
                        "divides by the number of blocks (the table's size): divide by "
                        "block_size, the positions per block"));
}

TEST_CASE("10.1 block_slot: rejects a block size of 0 and positions the table does not reach",
          "[10.1]") {
    CHECK_SHAPE_ERROR(ex::block_slot(0, 0, {3}), "block_slot", "block_size = 0",
                      "blocks of 0 positions hold nothing");
    const std::vector<std::size_t> table = roomy({5, 2, 7});
    CHECK_SHAPE_ERROR(ex::block_slot(9, 2, table), "block_slot", "position = 9",
                      "3 blocks of 2 cover positions 0..5, not 9");
    CHECK_REFUSED(ex::block_slot(9, 2, table), "block_slot", "6",
                  "how many positions the table covers (6)",
                  "3 blocks of 2 cover positions 0..5, not 9");
    CHECK_SHAPE_ERROR(ex::block_slot(6, 2, table), "block_slot", "position = 6",
                      "3 blocks of 2 cover positions 0..5: position 6 is the first one outside "
                      "(off by one: position == block_table.size() * block_size must be refused)");
    CHECK_SHAPE_ERROR(ex::block_slot(0, 4, roomy({})), "block_slot", "position = 0",
                      "an empty table covers no position, not even 0");
}

using attn::test::check_every_size;
using attn::test::Dims;
using attn::test::named;
using attn::test::readable_matrix;
using attn::test::readable_vector;
using attn::test::Trial;

TEST_CASE("10.1 block_slot: every block size from 1 to 5 and tables of 1 to 3 blocks", "[10.1]") {
    std::vector<Dims> sizes;  // T: blocks in the table, d: block_size
    for (std::size_t blocks = 1; blocks <= 3; ++blocks)
        for (std::size_t bs = 1; bs <= 5; ++bs) sizes.push_back({blocks, bs});
    check_every_size<2>(
        sizes,
        [](const Dims& s, Trial<2>& t) {
            // Blocks in decreasing order, none equal to its index: {16, 13, 10}.
            std::vector<std::size_t> table;
            for (std::size_t i = 0; i < s.T; ++i) table.push_back(10 + 3 * (s.T - 1 - i));
            const std::size_t count = s.T * s.d;
            t.input = "block_size = " + std::to_string(s.d) + ", table " + list_text(table) +
                      ", positions 0.." + std::to_string(count - 1) +
                      " (row p: the block and the offset of position p)";
            t.expected = slots_by(count, [&](std::size_t p) {
                return std::pair{table[p / s.d], p % s.d};
            });
            t.variants.push_back(
                {"returns the index into the table, position / block_size, instead of the block "
                 "it names: block_table[position / block_size]",
                 slots_by(count, [&](std::size_t p) {
                     return std::pair{p / s.d, p % s.d};
                 })});
            t.actual = slots(count, s.d, table);
        },
        0);
}

// ---------------------------------------------------------------- 10.2 allocate and release

namespace {
// A pool of n free blocks whose free list hands out 0, 1, 2, ... (block 0 on top).
ex::BlockPool fresh_pool(std::size_t n) {
    ex::BlockPool pool;
    for (std::size_t b = n; b-- > 0;) pool.free.push_back(b);
    pool.owners.assign(n, 0);
    return pool;
}
}  // namespace

TEST_CASE("10.2 allocate_block: takes the back of the free list and gives it one owner", "[10.2]") {
    ex::BlockPool pool = fresh_pool(4);  // free {3, 2, 1, 0}
    const std::size_t a = ex::allocate_block(pool);
    const std::size_t b = ex::allocate_block(pool);
    INFO("a pool of 4 blocks, free {3, 2, 1, 0}: allocating twice");
    CHECK_THAT(numbers(std::vector<std::size_t>{a, b}),
               IsClose(Vector{0, 1}, 0)
                   .or_mistake(Vector{3, 2},
                               "takes the front of the free list: it is a stack, allocate takes "
                               "its back (free.back(), then pop_back())"));
    CHECK_THAT(numbers(pool.owners),
               IsClose(Vector{1, 1, 0, 0}, 0)
                   .or_mistake(Vector{0, 0, 0, 0},
                               "the new block's owners stay 0: set owners[block] = 1 (with 0 it "
                               "looks free, and releasing it is refused)"));
    CHECK_THAT(numbers(pool.free),
               IsClose(Vector{3, 2}, 0)
                   .or_mistake(Vector{3, 2, 1, 0},
                               "the block stays on the free list: pop it (pop_back()), or it is "
                               "handed out again"));
}

TEST_CASE("10.2 allocate_block: follows the free list, whatever its order", "[10.2]") {
    ex::BlockPool pool{{4, 0, 2}, {0, 1, 0, 1, 0}};  // blocks 1 and 3 in use
    std::vector<std::size_t> got;
    for (int i = 0; i < 3; ++i) got.push_back(ex::allocate_block(pool));
    INFO("free {4, 0, 2}, owners {0, 1, 0, 1, 0}: allocating three times");
    CHECK_THAT(numbers(got),
               IsClose(Vector{2, 0, 4}, 0)
                   .or_mistake(Vector{4, 0, 2},
                               "takes the front of the free list: it is a stack, allocate takes "
                               "its back (free.back(), then pop_back())")
                   .or_mistake(Vector{0, 2, 4},
                               "takes the lowest block with owners 0: take the back of the free "
                               "list (the block freed last is reused first, its rows are likely "
                               "still in the CPU's cache)"));
    CHECK_THAT(numbers(pool.owners), IsClose(Vector{1, 1, 1, 1, 1}, 0));
    CHECK(pool.free.empty());
}

TEST_CASE("10.2 release_block: a shared block stays in use, the last owner frees it", "[10.2]") {
    ex::BlockPool pool = fresh_pool(4);
    ex::allocate_block(pool);  // 0
    ex::allocate_block(pool);  // 1
    pool.owners[1] = 2;        // a fork shares block 1
    ex::release_block(pool, 1);
    INFO("free {3, 2}, owners {1, 2, 0, 0} (block 1 shared by a fork): releasing block 1 once");
    CHECK_THAT(numbers(pool.owners),
               IsClose(Vector{1, 1, 0, 0}, 0)
                   .or_mistake(Vector{1, 0, 0, 0},
                               "releasing sets owners to 0: it takes one owner away (owners - 1); "
                               "the fork still uses the block"));
    CHECK_THAT(numbers(pool.free),
               IsClose(Vector{3, 2}, 0)
                   .or_mistake(Vector{3, 2, 1},
                               "a block that still has an owner goes on the free list: push it "
                               "only when its owners reach 0"));
    ex::release_block(pool, 0);
    INFO("then releasing block 0, which only one sequence owned");
    CHECK_THAT(numbers(pool.free),
               IsClose(Vector{3, 2, 0}, 0)
                   .or_mistake(Vector{3, 2},
                               "a block whose last owner released it is not free again: push it "
                               "on the back of the free list when its owners reach 0"));
    CHECK_THAT(numbers(pool.owners), IsClose(Vector{0, 1, 0, 0}, 0));
    INFO("then allocating again: the block freed last comes first");
    CHECK(ex::allocate_block(pool) == 0);
}

TEST_CASE("10.2 allocate_block: no free block is a runtime error that changes nothing", "[10.2]") {
    ex::BlockPool pool{{}, {1, 2, 1, 1, 1}};
    const ex::BlockPool before = pool;
    check_out_of_blocks([&] { ex::allocate_block(pool); }, "allocate_block", "5",
                        "a pool of 5 blocks, all in use: allocate_block must throw "
                        "std::runtime_error naming allocate_block and saying the pool has 5");
    INFO("a refused allocation leaves the pool as it was: " << pool_text(before));
    CHECK_THAT(numbers(pool.owners), IsClose(numbers(before.owners), 0));
    CHECK(pool.free.empty());
}

TEST_CASE("10.2 release_block: refuses a block that does not exist or is already free", "[10.2]") {
    ex::BlockPool pool{{2, 4}, {1, 2, 0, 1, 0}};
    const ex::BlockPool before = pool;
    ex::BlockPool copy = before;
    CHECK_SHAPE_ERROR(ex::release_block(copy, 9), "release_block", "block = 9",
                      "the pool has 5 blocks, 0..4: block 9 does not exist");
    CHECK_REFUSED(ex::release_block(pool, 9), "release_block", "5",
                  "how many blocks the pool has (5)",
                  "the pool has 5 blocks, 0..4: block 9 does not exist");
    copy = before;
    CHECK_SHAPE_ERROR(ex::release_block(copy, 5), "release_block", "block = 5",
                      "the pool has 5 blocks, 0..4: block 5 is one past the last");
    copy = before;
    const bool refused = refuses([&] { ex::release_block(copy, 2); });
    copy = before;
    CHECK_SHAPE_ERROR(ex::release_block(copy, 2), "release_block", "block = 2",
                      "block 2 is already free (owners 0): releasing it again, a double free, "
                      "must be refused");
    CHECK_REFUSED(ex::release_block(pool, 2), "release_block", "free", "that the block is free",
                  "block 2 is already free (owners 0): releasing it again, a double free, must "
                  "be refused");
    INFO("refused releases leave the pool as it was: " << pool_text(before) << "; it is now "
                                                       << pool_text(pool));
    std::vector<std::size_t> underflowed = before.owners;
    underflowed[2] = std::numeric_limits<std::size_t>::max();
    CHECK_THAT(numbers(pool.owners),
               IsClose(numbers(before.owners), 0)
                   .or_mistake(numbers(underflowed),
                               refused ? "changes the pool before refusing: owners[2] went from 0 "
                                         "down to the largest std::size_t; check owners[block] > "
                                         "0 first, then change it"
                                       : "no check for a double free: owners[2] went from 0 down "
                                         "to the largest std::size_t; refuse a block whose owners "
                                         "are 0"));
    CHECK_THAT(numbers(pool.free), IsClose(numbers(before.free), 0));
}

TEST_CASE("10.2 release_block: a block freed twice is refused the second time", "[10.2]") {
    ex::BlockPool pool = fresh_pool(3);
    const std::size_t b = ex::allocate_block(pool);
    ex::release_block(pool, b);
    const ex::BlockPool before = pool;  // free {2, 1, 0}, owners {0, 0, 0}
    ex::BlockPool copy = before;
    const bool refused = refuses([&] { ex::release_block(copy, b); });
    CHECK_REFUSED(ex::release_block(pool, b), "release_block", "free", "that the block is free",
                  "block 0 was allocated once and released once: releasing it again (a double "
                  "free) must be refused");
    INFO("and the pool is as it was: " << pool_text(before) << "; it is now " << pool_text(pool));
    CHECK_THAT(numbers(pool.free),
               IsClose(numbers(before.free), 0)
                   .or_mistake(Vector{2, 1, 0, 0},
                               "a double free puts the block on the free list twice: it would "
                               "be handed to two sequences; refuse a block whose owners are 0"));
    std::vector<std::size_t> underflowed = before.owners;
    underflowed[0] = std::numeric_limits<std::size_t>::max();
    CHECK_THAT(numbers(pool.owners),
               IsClose(numbers(before.owners), 0)
                   .or_mistake(numbers(underflowed),
                               refused ? "changes the pool before refusing: owners[0] went from 0 "
                                         "down to the largest std::size_t; check owners[block] > "
                                         "0 first, then change it"
                                       : "no check for a double free: owners[0] went from 0 down "
                                         "to the largest std::size_t; refuse a block whose owners "
                                         "are 0"));
}

TEST_CASE("10.2 allocate_block and release_block: 80 steps of a pool's life, step by step",
          "[10.2]") {
    // A model pool, following the task's rules; the answer's pool must equal it after every
    // step. Forks share a block in use (its owners go up by one), as a server's fork does.
    ex::BlockPool pool{{2, 5, 0, 4, 1, 3}, std::vector<std::size_t>(6, 0)};
    std::vector<std::size_t> model_free = pool.free, model_owners = pool.owners;
    std::vector<std::size_t> held;  // one entry per ownership
    std::mt19937 rng(10);
    std::string log = "start: " + pool_text(pool);
    for (int step = 0; step < 80; ++step) {
        const unsigned what = rng() % 5;
        std::size_t got = 0, expected = 0;
        bool allocated = false;
        if ((what < 2 && !model_free.empty()) || held.empty()) {
            if (model_free.empty()) break;
            expected = model_free.back();
            model_free.pop_back();
            model_owners[expected] = 1;
            got = ex::allocate_block(pool);
            held.push_back(expected);
            allocated = true;
            log += "\nallocate_block() -> " + std::to_string(got);
        } else if (what == 2) {
            const std::size_t b = held[rng() % held.size()];
            ++model_owners[b];
            ++pool.owners[b];
            held.push_back(b);
            log += "\na fork shares block " + std::to_string(b);
        } else {
            const std::size_t i = rng() % held.size(), b = held[i];
            held.erase(held.begin() + static_cast<long>(i));
            if (--model_owners[b] == 0) model_free.push_back(b);
            ex::release_block(pool, b);
            log += "\nrelease_block(" + std::to_string(b) + ")";
        }
        log += ": " + pool_text(pool);
        const bool same = pool.free == model_free && pool.owners == model_owners &&
                          (!allocated || got == expected);
        if (!same) {
            const std::string input =
                last_lines(log, 10) + "\nexpected: free " + list_text(model_free) + ", owners " +
                list_text(model_owners) +
                (allocated ? ", the block allocated " + std::to_string(expected) : std::string());
            INFO("the first step where the pool differs from the task's rules (the last line)");
            CHECK_THAT(numbers(pool.owners), IsClose(numbers(model_owners), 0).on_input(input));
            CHECK_THAT(numbers(pool.free), IsClose(numbers(model_free), 0).on_input(input));
            if (allocated) CHECK(got == expected);
            return;
        }
    }
    SUCCEED("the pool followed the rules at every step");
}

// ---------------------------------------------------------------- 10.3 copy on write

namespace {
// [n_blocks, block_size, d] storage whose numbers say where they are: 100 b + 10 r + i.
Tensor3 labelled_storage(std::size_t n_blocks, std::size_t block_size, std::size_t d) {
    Tensor3 s = xt::zeros<float>({n_blocks, block_size, d});
    for (std::size_t b = 0; b < n_blocks; ++b)
        for (std::size_t r = 0; r < block_size; ++r)
            for (std::size_t i = 0; i < d; ++i)
                s(b, r, i) = static_cast<float>(100 * b + 10 * r + i);
    return s;
}

// `base` with the rows 0..rows-1 of block `from` copied into block `to`.
Tensor3 with_copy(Tensor3 base, std::size_t from, std::size_t to, std::size_t rows) {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t i = 0; i < base.shape(2); ++i) base(to, r, i) = base(from, r, i);
    return base;
}

// Rows `rows`.. of block `block` in `expected` set to the answer's when they hold either the
// old contents or the copied ones: what the task leaves open (copying the whole block or not).
void allow_either(Tensor3& expected, const Tensor3& actual, const Tensor3& before,
                  std::size_t block, std::size_t from, std::size_t rows) {
    for (std::size_t r = rows; r < expected.shape(1); ++r) {
        bool old = true, copied = true;
        for (std::size_t i = 0; i < expected.shape(2); ++i) {
            old = old && actual(block, r, i) == before(block, r, i);
            copied = copied && actual(block, r, i) == before(from, r, i);
        }
        if (old || copied)
            for (std::size_t i = 0; i < expected.shape(2); ++i)
                expected(block, r, i) = actual(block, r, i);
    }
}
}  // namespace

TEST_CASE("10.3 make_last_block_writable: the worked example, a shared block is copied", "[10.3]") {
    // block_size 3, d 2; the sequence holds 5 positions in blocks {0, 1}; a fork shares both.
    ex::BlockPool pool{{3, 2}, {2, 2, 0, 0}};
    Tensor3 storage = labelled_storage(4, 3, 2);
    const Tensor3 before = storage;
    std::vector<std::size_t> table{0, 1};
    ex::make_last_block_writable(pool, storage, table, 5);
    INFO(
        "block_size 3, length 5, table {0, 1} shared by a fork (owners {2, 2, 0, 0}), free "
        "{3, 2}: block 2 is taken, rows 0 and 1 of block 1 are copied into it");
    CHECK_THAT(numbers(table),
               IsClose(Vector{0, 2}, 0)
                   .or_mistake(Vector{0, 1},
                               "the table still names the shared block: put the copy in its last "
                               "entry, so that this sequence writes there")
                   .or_mistake(Vector{0, 1, 2},
                               "the copy is pushed on the table: it replaces the shared block in "
                               "the last entry (the sequence has no new block's worth of "
                               "positions)"));
    CHECK_THAT(numbers(pool.owners),
               IsClose(Vector{2, 1, 1, 0}, 0)
                   .or_mistake(Vector{2, 2, 1, 0},
                               "the shared block keeps this sequence as an owner: release it "
                               "once (its owners go down by 1), or it is never freed")
                   .or_mistake(Vector{2, 0, 1, 0},
                               "the shared block's owners drop to 0: the fork still owns it; "
                               "take one owner away"));
    CHECK_THAT(numbers(pool.free),
               IsClose(Vector{3}, 0)
                   .or_mistake(Vector{3, 1},
                               "the shared block goes on the free list: the fork still owns it; "
                               "take one owner away, it stays in use"));
    Tensor3 expected = with_copy(before, 1, 2, 2);
    allow_either(expected, storage, before, 2, 1, 2);
    Tensor3 reversed = with_copy(before, 2, 1, 2);
    CHECK_THAT(storage, IsClose(expected, 0)
                            .slices_are("block")
                            .or_mistake(reversed,
                                        "copies the new block into the shared one: the fork "
                                        "still reads the shared block; copy from it into the "
                                        "new block")
                            .or_mistake(with_copy(before, 0, 2, 2),
                                        "copies the table's first block: the block to copy is "
                                        "the last one, block_table.back()")
                            .or_mistake(before,
                                        "nothing is copied: the new block must hold the rows "
                                        "0..length % block_size - 1 of the shared block"));
}

TEST_CASE("10.3 make_last_block_writable: a block the sequence owns alone is left alone",
          "[10.3]") {
    ex::BlockPool pool{{3, 2}, {1, 1, 0, 0}};
    Tensor3 storage = labelled_storage(4, 3, 2);
    const Tensor3 before = storage;
    std::vector<std::size_t> table{0, 1};
    ex::make_last_block_writable(pool, storage, table, 5);
    INFO(
        "length 5, table {0, 1}, owners {1, 1, 0, 0}: block 1 is this sequence's alone, so "
        "nothing changes");
    CHECK_THAT(numbers(table), IsClose(Vector{0, 1}, 0)
                                   .or_mistake(Vector{0, 2},
                                               "copies a block that only this sequence owns: "
                                               "copy only when its owners are above 1")
                                   .or_mistake(Vector{0, 1, 2},
                                               "takes a new block in the middle of a block: only "
                                               "when length % block_size == 0"));
    CHECK_THAT(numbers(pool.owners), IsClose(Vector{1, 1, 0, 0}, 0));
    CHECK_THAT(numbers(pool.free), IsClose(Vector{3, 2}, 0));
    CHECK_THAT(storage, IsClose(before, 0).slices_are("block"));
}

TEST_CASE("10.3 make_last_block_writable: a full last block, shared or not, gets a new block",
          "[10.3]") {
    ex::BlockPool pool{{3, 2}, {1, 2, 0, 0}};  // block 1 full and shared with a fork
    Tensor3 storage = labelled_storage(4, 3, 2);
    const Tensor3 before = storage;
    std::vector<std::size_t> table{0, 1};
    ex::make_last_block_writable(pool, storage, table, 6);
    INFO(
        "block_size 3, length 6, table {0, 1} (full; block 1 shared), free {3, 2}: position 6 "
        "starts a new block, 2, pushed on the table; the shared full block is only read");
    CHECK_THAT(numbers(table),
               IsClose(Vector{0, 1, 2}, 0)
                   .or_mistake(Vector{0, 1},
                               "no new block when the last one is full: position length starts a "
                               "new block when length % block_size == 0; push one on the table")
                   .or_mistake(Vector{0, 2},
                               "copies the full shared block instead of taking a new one: at "
                               "length % block_size == 0 the next position is in a new block, "
                               "and the full one is never written again"));
    CHECK_THAT(numbers(pool.owners), IsClose(Vector{1, 2, 1, 0}, 0));
    CHECK_THAT(numbers(pool.free), IsClose(Vector{3}, 0));
    Tensor3 expected = before;
    allow_either(expected, storage, before, 2, 1, 0);
    CHECK_THAT(storage, IsClose(expected, 0).slices_are("block"));

    ex::BlockPool empty{{1, 0, 2}, {0, 0, 0}};
    Tensor3 small = labelled_storage(3, 2, 1);
    std::vector<std::size_t> none;
    ex::make_last_block_writable(empty, small, none, 0);
    INFO("an empty sequence (length 0, no block), free {1, 0, 2}: it gets block 2");
    CHECK_THAT(numbers(none), IsClose(Vector{2}, 0)
                                  .or_mistake(numbers(std::vector<std::size_t>{}),
                                              "an empty sequence gets no block: length 0 is a "
                                              "block boundary too, position 0 needs one"));
    CHECK_THAT(numbers(empty.owners), IsClose(Vector{0, 0, 1}, 0));
    CHECK_THAT(numbers(empty.free), IsClose(Vector{1, 0}, 0));
}

TEST_CASE("10.3 make_last_block_writable: no free block is a runtime error that changes nothing",
          "[10.3]") {
    {
        ex::BlockPool pool{{}, {2, 2, 1, 1}};  // blocks 2 and 3 belong to other sequences
        Tensor3 storage = labelled_storage(4, 3, 2);
        const Tensor3 before = storage;
        std::vector<std::size_t> table{0, 1};
        check_out_of_blocks(
            [&] { ex::make_last_block_writable(pool, storage, table, 5); }, "", "",
            "length 5 in table {0, 1}, shared (owners {2, 2, 1, 1}), no block free: the copy "
            "needs a block, so std::runtime_error");
        INFO("a refused copy on write changes nothing: not the pool ("
             << pool_text(pool) << "), not the table, not the storage");
        CHECK_THAT(numbers(pool.owners),
                   IsClose(Vector{2, 2, 1, 1}, 0)
                       .or_mistake(Vector{2, 1, 1, 1},
                                   "releases the shared block before a new one is taken: "
                                   "allocate first, so that a refusal changes nothing"));
        CHECK(pool.free.empty());
        CHECK_THAT(numbers(table), IsClose(Vector{0, 1}, 0));
        CHECK_THAT(storage, IsClose(before, 0).slices_are("block"));
    }
    {
        ex::BlockPool pool{{}, {1, 1, 1}};
        Tensor3 storage = labelled_storage(3, 2, 1);
        std::vector<std::size_t> table{2, 0};
        check_out_of_blocks([&] { ex::make_last_block_writable(pool, storage, table, 4); }, "", "",
                            "length 4 in 2 full blocks of 2, no block free: position 4 needs a "
                            "new block, so std::runtime_error");
        INFO("and nothing changes: " << pool_text(pool) << ", table " << list_text(table));
        CHECK_THAT(numbers(table), IsClose(Vector{2, 0}, 0));
        CHECK_THAT(numbers(pool.owners), IsClose(Vector{1, 1, 1}, 0));
    }
}

TEST_CASE("10.3 make_last_block_writable: rejects storage, tables and lengths that do not fit",
          "[10.3]") {
    ex::BlockPool pool{{3, 2}, {1, 1, 0, 0}};
    Tensor3 storage = labelled_storage(4, 3, 2);
    Tensor3 small = labelled_storage(3, 3, 2);
    std::vector<std::size_t> table{0, 1};
    CHECK_SHAPE_ERROR(ex::make_last_block_writable(pool, small, table, 5),
                      "make_last_block_writable", "[3, 3, 2]",
                      "the pool has 4 blocks, the storage rows for 3");
    std::vector<std::size_t> short_table{0};
    CHECK_SHAPE_ERROR(ex::make_last_block_writable(pool, storage, short_table, 5),
                      "make_last_block_writable", "length = 5",
                      "5 positions need 2 blocks of 3, the table has 1");
    std::vector<std::size_t> long_table{0, 1, 2};
    CHECK_SHAPE_ERROR(ex::make_last_block_writable(pool, storage, long_table, 5),
                      "make_last_block_writable", "length = 5",
                      "5 positions need 2 blocks of 3, the table has 3");
    std::vector<std::size_t> bad_entry{0, 9};
    CHECK_REFUSED(ex::make_last_block_writable(pool, storage, bad_entry, 5),
                  "make_last_block_writable", "9", "the entry that is not a block (9)",
                  "the table names block 9 of a pool of 4");
    INFO("the refused calls changed nothing: " << pool_text(pool));
    CHECK_THAT(numbers(pool.owners), IsClose(Vector{1, 1, 0, 0}, 0));
    CHECK_THAT(numbers(pool.free), IsClose(Vector{3, 2}, 0));
}

TEST_CASE("10.3 make_last_block_writable: 120 steps of sequences growing, forking and ending",
          "[10.3]") {
    // Invariants after every step, whatever blocks the answer picks: each sequence reads,
    // through its table, exactly the rows written to it; every block's owners count the tables
    // that name it; the free list holds the blocks nobody owns, once each; and the block a
    // sequence writes into is its own.
    const std::size_t n_blocks = 10, block_size = 3, d = 2;
    ex::BlockPool pool{{7, 2, 9, 0, 5, 1, 8, 3, 6, 4}, std::vector<std::size_t>(n_blocks, 0)};
    Tensor3 storage = xt::zeros<float>({n_blocks, block_size, d});
    struct Sequence {
        std::vector<std::size_t> table;
        std::vector<float> rows;  // what was written, position after position (first number)
    };
    std::vector<Sequence> sequences(1);
    // Every argument of the calls below that the log does not show.
    const std::string setup =
        "block_size " + std::to_string(block_size) + ", d " + std::to_string(d) + ", a pool of " +
        std::to_string(n_blocks) + " blocks; storage [" + std::to_string(n_blocks) + ", " +
        std::to_string(block_size) + ", " + std::to_string(d) +
        "] (position p of a sequence holds its p-th value); each step, then what it left:\n";
    std::mt19937 rng(3);
    std::string log;
    float next_value = 1.0f;
    for (int step = 0; step < 120; ++step) {
        const unsigned what = rng() % 8;
        const std::size_t s = rng() % sequences.size();
        if (what == 0 && sequences.size() < 4) {
            sequences.push_back(sequences[s]);  // a fork shares every block
            for (std::size_t b : sequences[s].table) ++pool.owners[b];
            log += "\nsequence " + std::to_string(sequences.size() - 1) + " forks from " +
                   std::to_string(s) + ", sharing " + list_text(sequences[s].table) + ": " +
                   pool_text(pool);
        } else if (what == 1 && sequences.size() > 1) {
            for (std::size_t b : sequences[s].table)
                if (--pool.owners[b] == 0) pool.free.push_back(b);
            log += "\nsequence " + std::to_string(s) + " ends, releasing " +
                   list_text(sequences[s].table);
            sequences.erase(sequences.begin() + static_cast<long>(s));
            log += ": " + pool_text(pool) + " (the sequences after it are renumbered)";
        } else {
            Sequence& q = sequences[s];
            const std::size_t length = q.rows.size();
            const bool needs_block = length % block_size == 0 || pool.owners[q.table.back()] > 1;
            if (needs_block && pool.free.empty()) continue;
            log += "\nsequence " + std::to_string(s) + " writes position " +
                   std::to_string(length) + " (table " + list_text(q.table) + ")";
            ex::make_last_block_writable(pool, storage, q.table, length);
            log += " -> table " + list_text(q.table) + ", " + pool_text(pool);
            if (q.table.size() != length / block_size + 1) {
                INFO(setup + last_lines(log.substr(1), 10));
                FAIL_CHECK("after the last step the table has "
                           << q.table.size() << " blocks; position " << length << " needs "
                           << length / block_size + 1);
                return;
            }
            for (std::size_t b : q.table) {
                if (b >= n_blocks) {
                    INFO(setup + last_lines(log.substr(1), 10));
                    FAIL_CHECK("after the last step the table names block "
                               << b << ", which is not a block of the pool (" << n_blocks << ")");
                    return;
                }
            }
            const std::size_t block = q.table[length / block_size];
            if (pool.owners[block] != 1) {
                INFO(setup + last_lines(log.substr(1), 10));
                FAIL_CHECK("after the last step position " << length << " would be written into "
                                                           << "block " << block
                                                           << ", which is not this sequence's "
                                                              "alone (owners "
                                                           << pool.owners[block] << ")");
                return;
            }
            for (std::size_t i = 0; i < d; ++i)
                storage(block, length % block_size, i) = next_value + 0.5f * static_cast<float>(i);
            q.rows.push_back(next_value);
            next_value += 1.0f;
        }
        // The invariants.
        std::vector<std::size_t> counted(n_blocks, 0);
        for (const Sequence& q : sequences)
            for (std::size_t b : q.table)
                if (b < n_blocks) ++counted[b];
        std::vector<std::size_t> unowned, free_sorted = pool.free;
        for (std::size_t b = 0; b < n_blocks; ++b)
            if (counted[b] == 0) unowned.push_back(b);
        std::sort(free_sorted.begin(), free_sorted.end());
        const std::string input = setup + last_lines(log.substr(1), 10);
        if (pool.owners != counted) {
            INFO("every block's owners must count the tables that name it");
            CHECK_THAT(numbers(pool.owners),
                       IsClose(numbers(counted), 0)
                           .on_input(input + "\nafter the last step, each block's owners "
                                             "(expected: the tables that name it)"));
            return;
        }
        if (free_sorted != unowned) {
            INFO("the free list must hold the blocks nobody owns, each once (here sorted)");
            CHECK_THAT(numbers(free_sorted),
                       IsClose(numbers(unowned), 0)
                           .on_input(input + "\nafter the last step, the free list sorted "
                                             "(expected: the blocks no table names, once each)"));
            return;
        }
        for (std::size_t k = 0; k < sequences.size(); ++k) {
            const Sequence& q = sequences[k];
            Matrix read = xt::zeros<float>({q.rows.size(), d}), wrote = read;
            for (std::size_t p = 0; p < q.rows.size(); ++p)
                for (std::size_t i = 0; i < d; ++i) {
                    read(p, i) = storage(q.table[p / block_size], p % block_size, i);
                    wrote(p, i) = q.rows[p] + 0.5f * static_cast<float>(i);
                }
            if (!IsClose(wrote, 0).match(read)) {
                INFO("sequence " << k
                                 << " must read, through its table, the rows written to it "
                                    "(row p: position p)");
                CHECK_THAT(read,
                           IsClose(wrote, 0).on_input(
                               input + "\nafter the last step, what sequence " + std::to_string(k) +
                               " reads through its table " + list_text(q.table) +
                               " (row p: position p; expected: the rows written to it)"));
                return;
            }
        }
    }
    SUCCEED("every step kept the invariants");
}

// ---------------------------------------------------------------- 10.4 int8 rows

namespace {
// Rounding rules a learner may use instead of std::round, on the exact quotients x / scale.
Vector rounded(const Vector& quotients, float (*rule)(float)) {
    Vector out = quotients;
    for (float& x : out) x = rule(x);
    return out;
}
float half_away(float x) {
    return std::round(x);
}
float truncated(float x) {
    return std::trunc(x);
}
float half_even(float x) {
    return std::nearbyint(x);
}
float plus_half(float x) {
    return static_cast<float>(static_cast<int>(x + 0.5f));
}
}  // namespace

TEST_CASE("10.4 quantize_int8: the worked example, ties rounded away from zero", "[10.4]") {
    const Vector x{127, 2.5f, -2.5f, 0.5f, -0.4f, 3.7f, -3.7f};
    const ex::QuantizedRow q = ex::quantize_int8(x);
    INFO(
        "x = {127, 2.5, -2.5, 0.5, -0.4, 3.7, -3.7}: scale 127 / 127 = 1, so the values are x "
        "rounded");
    CHECK_THAT(Vector{q.scale},
               IsClose(Vector{1.0f}, 0)
                   .or_mistake(Vector{127.0f / 128.0f},
                               "scale = max |x| / 128: int8 stops at 127 (128 wraps to -128); "
                               "divide by 127"));
    CHECK_THAT(numbers(q.values),
               IsClose(Vector{127, 3, -3, 1, 0, 4, -4}, 0)
                   .or_mistake(Vector{127, 2, -2, 0, 0, 3, -3},
                               "truncates instead of rounding (a cast drops the fraction): "
                               "std::round(x / scale)")
                   .or_mistake(Vector{127, 2, -2, 0, 0, 4, -4},
                               "rounds half to even (std::nearbyint, std::rint, "
                               "std::lrint): the task rounds half away from zero, std::round")
                   .or_mistake(Vector{127, 3, -2, 1, 0, 4, -3},
                               "rounds with (int)(x + 0.5), which rounds negative numbers "
                               "up: std::round rounds -2.5 to -3 and -3.7 to -4")
                   .or_mistake(Vector{-128, 3, -3, 1, 0, 4, -4},
                               "scale = max |x| / 128, and the largest value 128 wrapped to -128 "
                               "in int8: divide by 127"));
}

TEST_CASE("10.4 quantize_int8: a row of negative numbers scales by its largest |x|", "[10.4]") {
    const ex::QuantizedRow q = ex::quantize_int8(Vector{-127, -63.5f, -1, -0.5f});
    INFO("x = {-127, -63.5, -1, -0.5}: max |x| = 127, so scale 1 (the largest x is -0.5)");
    CHECK_THAT(Vector{q.scale},
               IsClose(Vector{1.0f}, 0)
                   .or_mistake(Vector{-0.5f / 127.0f},
                               "the scale comes from the largest x, not the largest |x|: in a row "
                               "of negative numbers the largest x is below 0")
                   .or_mistake(Vector{0.0f},
                               "the scale is 0 for a row of negative numbers: the largest |x| is "
                               "127 (a maximum of x that starts at 0 stays 0 here; take "
                               "std::abs)"));
    CHECK_THAT(numbers(q.values), IsClose(Vector{-127, -64, -1, -1}, 0));
    const ex::QuantizedRow small = ex::quantize_int8(Vector{-1, -0.5f});
    INFO("x = {-1, -0.5} (the task's example): scale 1 / 127, values {-127, -64}");
    CHECK_THAT(Vector{small.scale}, IsClose(Vector{1.0f / 127.0f}, 1e-9f));
    CHECK_THAT(numbers(small.values), IsClose(Vector{-127, -64}, 0));
}

TEST_CASE("10.4 quantize_int8: a row of zeros has scale 0 and values 0", "[10.4]") {
    const Vector zeros{0, -0.0f, 0};
    std::feclearexcept(FE_ALL_EXCEPT);
    const ex::QuantizedRow q = ex::quantize_int8(zeros);
    // 0 / 0 is NaN, and casting NaN to int8 is undefined behaviour: it often gives 0 (so the
    // values look right), but the division leaves its floating-point flag behind.
    if (std::fetestexcept(FE_INVALID | FE_DIVBYZERO))
        FAIL_CHECK(
            "a row of zeros made the answer divide by 0 (0 / 0 or x / 0: the floating-point "
            "'invalid' or 'divide by zero' flag is set): when max |x| is 0, set every value to 0 "
            "without dividing; casting the NaN of 0 / 0 to int8 is undefined behaviour, even "
            "where it happens to give 0");
    INFO("x = {0, -0, 0}: max |x| = 0, so scale 0 and every value 0, with no division by 0");
    CHECK_THAT(
        Vector{q.scale},
        IsClose(Vector{0.0f}, 0).or_mistake_if_not_finite("the scale divided by max |x| = 0"));
    CHECK_THAT(numbers(q.values), IsClose(Vector{0, 0, 0}, 0));
    CHECK_THAT(ex::dequantize_int8(q),
               IsClose(Vector{0, 0, 0}, 0)
                   .or_mistake_if_not_finite("x / scale with scale 0 is NaN (0 / 0): when max "
                                             "|x| is 0, set every value to 0 without dividing"));
}

TEST_CASE(
    "10.4 quantize_int8: every width from 1 to 8, ties included, then numbers thousands apart",
    "[10.4]") {
    // x = readable numbers (multiples of 0.5) times 63.5, and x[0] = ±127: the scale is exactly
    // 1, so x / scale is exact and the values are x rounded, half away from zero. Then the same
    // rows times 2^-12 and 2^12: the scale is a power of two, the values the same.
    std::vector<Dims> sizes;  // T: 1, 2, 3 for the rows times 1, 2^-12, 2^12; d: width
    for (std::size_t factor = 1; factor <= 3; ++factor)
        for (std::size_t d = 1; d <= 8; ++d) sizes.push_back({factor, d});
    check_every_size<1>(
        sizes,
        [](const Dims& s, Trial<1>& t) {
            const float factor = s.T == 1 ? 1.0f : s.T == 2 ? 1.0f / 4096.0f : 4096.0f;
            Vector units = readable_vector(s.d, 10) * 63.5f;
            units(0) = units(0) < 0 ? -127.0f : 127.0f;
            const Vector x = units * factor;
            t.input = named("x", x) + "\n(scale " + std::to_string(factor) +
                      "; the result: the values, as numbers)";
            t.expected = rounded(units, half_away);
            t.variants.push_back(
                {"truncates instead of rounding (a cast drops the fraction): std::round(x / "
                 "scale)",
                 rounded(units, truncated)});
            t.variants.push_back(
                {"rounds half to even (std::nearbyint, std::rint): the task "
                 "rounds half away from zero, std::round",
                 rounded(units, half_even)});
            t.variants.push_back(
                {"rounds with (int)(x + 0.5), which rounds negative numbers up: "
                 "std::round",
                 rounded(units, plus_half)});
            t.actual = numbers(ex::quantize_int8(x).values);
        },
        0);
}

TEST_CASE("10.4 quantize_int8 and dequantize_int8: a row comes back within scale / 2", "[10.4]") {
    attn::Rng rng(104);
    const float magnitudes[] = {1e-3f, 1.0f, 37.0f, 1e4f};
    for (const float m : magnitudes) {
        for (std::size_t d = 1; d <= 33; d += 4) {
            Vector x = attn::random_normal(d, rng, m);
            if (d == 5) x = -xt::abs(x);  // every number negative
            float largest = 0.0f;
            for (const float v : x) largest = std::max(largest, std::abs(v));
            const ex::QuantizedRow q = ex::quantize_int8(x);
            INFO(named("x", x));
            CHECK_THAT(Vector{q.scale}, IsClose(Vector{largest / 127.0f}, largest / 127.0f * 1e-6f)
                                            .or_mistake(Vector{largest / 128.0f},
                                                        "scale = max |x| / 128: int8 stops at "
                                                        "127 (128 wraps to -128); divide by 127"));
            REQUIRE(q.values.size() == d);
            // Each value is x_i / scale rounded: within 1/2 of it (a little more for float).
            const float scale = largest / 127.0f;
            Vector off = xt::zeros<float>({d});
            int peak = 0;
            for (std::size_t i = 0; i < d; ++i) {
                off(i) = static_cast<float>(q.values[i]) - x(i) / scale;
                peak = std::max(peak, std::abs(static_cast<int>(q.values[i])));
            }
            INFO("each value minus x_i / scale must be within 1/2 (round to the nearest integer)");
            CHECK_THAT(off, IsClose(Vector(xt::zeros<float>({d})), 0.5f + 1e-3f));
            INFO("the largest |x_i| becomes 127 (or -127)");
            CHECK(peak == 127);
            const Vector back = ex::dequantize_int8(q);
            INFO("dequantize_int8 gives values * scale, within scale / 2 of x");
            CHECK_THAT(back, IsClose(x, scale * (0.5f + 1e-3f)));
        }
    }
}

TEST_CASE("10.4 dequantize_int8: values times the scale", "[10.4]") {
    const ex::QuantizedRow q{{127, -3, 0, 64}, 0.5f};
    CHECK_THAT(ex::dequantize_int8(q),
               IsClose(Vector{63.5f, -1.5f, 0, 32}, 0)
                   .or_mistake(Vector{254, -6, 0, 128},
                               "divides by the scale: x_i is about values[i] * scale")
                   .or_mistake(Vector{63.5f, 126.5f, 0, 32},
                               "reads the values as unsigned bytes (-3 became 253): convert the "
                               "std::int8_t itself, static_cast<float>(values[i])"));
    const ex::QuantizedRow none{{}, 1.0f};
    CHECK(ex::dequantize_int8(none).size() == 0);
}

TEST_CASE("10.4 quantize_int8 and dequantize_int8: reject empty rows, NaN, inf, bad scales",
          "[10.4]") {
    CHECK_SHAPE_ERROR(ex::quantize_int8(Vector(xt::zeros<float>({0}))), "quantize_int8", "[0]",
                      "an empty row has no scale");
    Vector x = xt::ones<float>({12});
    x(7) = std::numeric_limits<float>::quiet_NaN();
    CHECK_REFUSED(ex::quantize_int8(x), "quantize_int8", "7", "the index of the NaN (7)",
                  "x[7] is NaN: it has no int8 value, and it would make the scale NaN");
    x(7) = 1.0f;
    x(10) = -std::numeric_limits<float>::infinity();
    CHECK_REFUSED(ex::quantize_int8(x), "quantize_int8", "10", "the index of the infinity (10)",
                  "x[10] is -inf: the scale would be inf and every other value 0");
    CHECK_REFUSED(ex::dequantize_int8(ex::QuantizedRow{{1, 2}, -1.0f}), "dequantize_int8", "scale",
                  "the scale (scale = -1)", "a scale below 0 comes from no row");
    CHECK_REFUSED(
        ex::dequantize_int8(ex::QuantizedRow{{1, 2}, std::numeric_limits<float>::quiet_NaN()}),
        "dequantize_int8", "scale", "the scale (scale = nan)", "a NaN scale comes from no row");
}

// ---------------------------------------------------------------- 10.5 attend_paged

namespace {
// softmax(s * K q) V over the rows given, as a plain loop in double.
Vector attention_over(const Vector& q, const Matrix& k, const Matrix& v, double s) {
    const std::size_t n = k.shape(0), d = v.shape(1);
    std::vector<double> scores(n);
    double top = -std::numeric_limits<double>::infinity(), sum = 0;
    for (std::size_t t = 0; t < n; ++t) {
        double dot = 0;
        for (std::size_t i = 0; i < q.size(); ++i) dot += double(q(i)) * double(k(t, i));
        scores[t] = s * dot;
        top = std::max(top, scores[t]);
    }
    for (double& x : scores) sum += (x = std::exp(x - top));
    Vector out = xt::zeros<float>({d});
    for (std::size_t i = 0; i < d; ++i) {
        double acc = 0;
        for (std::size_t t = 0; t < n; ++t) acc += scores[t] / sum * double(v(t, i));
        out(i) = static_cast<float>(acc);
    }
    return out;
}

// The rows of `storage` at the slots given, in order.
Matrix gather(const Tensor3& storage, const std::vector<std::pair<std::size_t, std::size_t>>& at) {
    Matrix out = xt::zeros<float>({at.size(), storage.shape(2)});
    for (std::size_t t = 0; t < at.size(); ++t)
        for (std::size_t i = 0; i < storage.shape(2); ++i)
            out(t, i) = storage(at[t].first, at[t].second, i);
    return out;
}

using Slots = std::vector<std::pair<std::size_t, std::size_t>>;

// Positions 0..n-1 through the table (right), in the pool's order ignoring the table, every
// row of the table's blocks, every row of the pool.
Slots through_table(const std::vector<std::size_t>& table, std::size_t bs, std::size_t n) {
    Slots out;
    for (std::size_t t = 0; t < n; ++t) out.push_back({table[t / bs], t % bs});
    return out;
}
Slots logical(std::size_t bs, std::size_t n) {
    Slots out;
    for (std::size_t t = 0; t < n; ++t) out.push_back({t / bs, t % bs});
    return out;
}
Slots all_rows(std::size_t n_blocks, std::size_t bs) {
    Slots out;
    for (std::size_t b = 0; b < n_blocks; ++b)
        for (std::size_t r = 0; r < bs; ++r) out.push_back({b, r});
    return out;
}

// The usual wrong answers, each computed from its own rows.
std::vector<std::pair<std::string, Vector>> paged_variants(const Vector& q, const Tensor3& keys,
                                                           const Tensor3& values,
                                                           const std::vector<std::size_t>& table,
                                                           std::size_t length) {
    const std::size_t bs = keys.shape(1);
    const double s = 1.0 / std::sqrt(double(q.size()));
    std::vector<std::pair<std::string, Vector>> out;
    const auto add = [&](const std::string& name, const Slots& at, double scale) {
        out.push_back({name, attention_over(q, gather(keys, at), gather(values, at), scale)});
    };
    const Slots right = through_table(table, bs, length);
    if (length <= keys.shape(0) * bs)
        add("reads the blocks in the pool's order (position t in block t / block_size): the "
            "table says which block holds them, block_table[t / block_size]",
            logical(bs, length), s);
    // Both added even when they coincide (a table without extra blocks): the matcher then
    // names neither, as they cannot be told apart on this input.
    const std::size_t rounded_up = (length + bs - 1) / bs * bs;
    if (rounded_up != length)
        add("attends to the whole last block: only positions 0..length-1 count, the rest of the "
            "block holds nothing of this sequence",
            through_table(table, bs, rounded_up), s);
    if (table.size() * bs != length)
        add("attends to every block of the table: only positions 0..length-1 count",
            through_table(table, bs, table.size() * bs), s);
    add("missing 1/sqrt(d): divide the scores by sqrt(d) before softmax", right, 1.0);
    add("attends to every row of the pool: only the sequence's positions 0..length-1 count, "
        "found through its table",
        all_rows(keys.shape(0), bs), s);
    return out;
}
}  // namespace

TEST_CASE("10.5 attend_paged: probe: one position returns its value", "[10.5]") {
    Tensor3 keys = xt::ones<float>({3, 2, 2}) * 5.0f, values = xt::ones<float>({3, 2, 2}) * 100.0f;
    keys(1, 0, 0) = 2.0f;
    values(1, 0, 0) = 1.5f;
    values(1, 0, 1) = -2.0f;
    INFO(
        "probe: with one position (length 1, table {1}) its weight is 1, whatever the query and "
        "the scale, so the answer is that position's value, row 0 of block 1; a difference here "
        "is in which rows are read: only position 0, found through the table");
    CHECK_THAT(ex::attend_paged(Vector{1, -1}, keys, values, {1}, 1), IsClose(Vector{1.5f, -2.0f}));
}

TEST_CASE("10.5 attend_paged: the worked example", "[10.5]") {
    // block_size 2, d 2, table {2, 0}, length 3: positions 0, 1 in block 2, position 2 in
    // row 0 of block 0. Row 1 of block 0 and block 1 hold another sequence's rows.
    Tensor3 keys = xt::zeros<float>({3, 2, 2}), values = xt::zeros<float>({3, 2, 2});
    xt::view(keys, 2, xt::all(), xt::all()) = Matrix{{1, 0}, {0, 1}};
    xt::view(values, 2, xt::all(), xt::all()) = Matrix{{1, 0}, {0, 1}};
    xt::view(keys, 0, 0, xt::all()) = Vector{1, 1};
    xt::view(values, 0, 0, xt::all()) = Vector{2, 2};
    xt::view(keys, 0, 1, xt::all()) = Vector{4, 4};
    xt::view(values, 0, 1, xt::all()) = Vector{-30, 70};
    xt::view(keys, 1, xt::all(), xt::all()) = Matrix{{-4, 4}, {3, 5}};
    xt::view(values, 1, xt::all(), xt::all()) = Matrix{{50, 50}, {90, -10}};
    const Vector q{0, 2};
    const std::vector<std::size_t> table{2, 0};
    // By hand: scores {0, 2, 2} / sqrt(2), weights {0.108383, 0.445808, 0.445808}, output
    // {0.108383 + 2 * 0.445808, 0.445808 + 2 * 0.445808} = {1, 1.337425}.
    auto matcher = IsClose(Vector{1.0f, 1.33742482f});
    for (auto& [name, answer] : paged_variants(q, keys, values, table, 3))
        matcher.or_mistake(answer, name);
    CHECK_THAT(ex::attend_paged(q, keys, values, table, 3), matcher);
}

namespace {
struct PagedSize {
    std::size_t length = 1, block_size = 1, d = 1;
    float factor = 1.0f;  // the numbers' size: 1, or 100 for scores hundreds apart
};
}  // namespace

TEST_CASE(
    "10.5 attend_paged: every length from 1 to 7, block sizes 1 to 3 and 8, widths 1 to 3, "
    "tables out of order, then scores hundreds apart",
    "[10.5]") {
    std::vector<PagedSize> sizes;
    for (std::size_t length = 1; length <= 7; ++length)
        for (std::size_t d = 1; d <= 3; ++d)
            for (std::size_t bs : {1, 2, 3, 8}) sizes.push_back({length, bs, d});
    sizes.push_back({5, 2, 3, 100.0f});
    check_every_size<1>(
        sizes,
        [](const PagedSize& s, Trial<1>& t) {
            const std::size_t used = (s.length + s.block_size - 1) / s.block_size;
            const bool extra = (s.length + s.d) % 2 == 0;  // a table reaching past length
            const std::size_t n_blocks = used + 2 + (extra ? 1 : 0);
            std::vector<std::size_t> order(n_blocks);
            for (std::size_t b = 0; b < n_blocks; ++b) order[b] = b;
            std::shuffle(
                order.begin(), order.end(),
                std::mt19937(static_cast<unsigned>(s.length * 31 + s.block_size * 7 + s.d)));
            const std::vector<std::size_t> table(
                order.begin(), order.begin() + static_cast<long>(used + (extra ? 1 : 0)));
            // Every row of the pool holds another sequence's numbers (keys 1.5, values 40)
            // until the sequence's own rows are written.
            Tensor3 keys = xt::ones<float>({n_blocks, s.block_size, s.d}) * 1.5f * s.factor;
            Tensor3 values = xt::ones<float>({n_blocks, s.block_size, s.d}) * 40.0f;
            const Matrix k = readable_matrix(s.length, s.d, 11) * s.factor;
            const Matrix v = readable_matrix(s.length, s.d, 12);
            for (std::size_t p = 0; p < s.length; ++p)
                for (std::size_t i = 0; i < s.d; ++i) {
                    keys(table[p / s.block_size], p % s.block_size, i) = k(p, i);
                    values(table[p / s.block_size], p % s.block_size, i) = v(p, i);
                }
            const Vector q = readable_vector(s.d, 13) * s.factor;
            t.input = "length " + std::to_string(s.length) + ", block_size " +
                      std::to_string(s.block_size) + ", d " + std::to_string(s.d) + ", " +
                      std::to_string(n_blocks) + " blocks, table " + list_text(table) + "\n" +
                      named("query", q) + "\n" + named("keys of positions 0..length-1", k) + "\n" +
                      named("their values", v) + "\nevery other row of the pool: keys " +
                      std::to_string(1.5f * s.factor) + ", values 40";
            t.expected = attn::attend(q, k, v).output;
            t.variants = paged_variants(q, keys, values, table, s.length);
            t.actual = ex::attend_paged(q, keys, values, table, s.length);
        },
        1e-4f);
}

TEST_CASE("10.5 attend_paged: rejects lengths, tables and shapes that do not fit", "[10.5]") {
    const Tensor3 keys = xt::ones<float>({4, 2, 3}), values = xt::ones<float>({4, 2, 3});
    const std::vector<std::size_t> table{3, 1, 0};  // covers 6 positions
    CHECK_SHAPE_ERROR(ex::attend_paged(Vector{1, 0, 0}, keys, values, table, 0), "attend_paged",
                      "length = 0", "a query attends to at least one position");
    CHECK_SHAPE_ERROR(ex::attend_paged(Vector{1, 0, 0}, keys, values, table, 7), "attend_paged",
                      "length = 7", "3 blocks of 2 cover 6 positions, not 7");
    CHECK_REFUSED(ex::attend_paged(Vector{1, 0, 0}, keys, values, table, 7), "attend_paged", "6",
                  "how many positions the table covers (6)",
                  "3 blocks of 2 cover 6 positions, not 7");
    CHECK_SHAPE_ERROR(ex::attend_paged(Vector{1, 0}, keys, values, table, 3), "attend_paged", "[2]",
                      "query [2] does not have the keys' d = 3");
    CHECK_SHAPE_ERROR(
        ex::attend_paged(Vector{1, 0, 0}, keys, Tensor3(xt::ones<float>({4, 2, 5})), table, 3),
        "attend_paged", "[4, 2, 5]", "values [4, 2, 5] are not the keys' [4, 2, 3]");
    CHECK_SHAPE_ERROR(
        ex::attend_paged(Vector{1, 0, 0}, keys, Tensor3(xt::ones<float>({3, 2, 3})), table, 3),
        "attend_paged", "[3, 2, 3]", "values [3, 2, 3] are not the keys' [4, 2, 3]");
    CHECK_REFUSED(ex::attend_paged(Vector{1, 0, 0}, keys, values, {3, 9, 0}, 3), "attend_paged",
                  "9", "the entry that is not a block (9)",
                  "the table names block 9 of a pool of 4");
    CHECK_REFUSED(ex::attend_paged(Vector{1, 0, 0}, keys, values, {3, 1, 9}, 3), "attend_paged",
                  "9", "the entry that is not a block (9)",
                  "the table's last entry names block 9 of a pool of 4: positions 0..2 do not "
                  "reach it, but every entry must be a block of the pool");
    CHECK_SHAPE_ERROR(
        ex::attend_paged(Vector(xt::zeros<float>({0})), Tensor3(xt::zeros<float>({4, 2, 0})),
                         Tensor3(xt::zeros<float>({4, 2, 0})), table, 3),
        "attend_paged", "[4, 2, 0]", "keys of width 0 are empty");
}

// ---------------------------------------------------------------- 10.6 admissions

namespace {
// One input of the admission rule.
struct Queue {
    std::vector<std::size_t> needs;
    std::size_t free_blocks = 0, growth = 0, running = 0;
};

std::string queue_text(const Queue& q) {
    return "needs " + list_text(q.needs) + ", free_blocks = " + std::to_string(q.free_blocks) +
           ", growth = " + std::to_string(q.growth) + ", running = " + std::to_string(q.running);
}

// The admission rule and its common misreadings, one loop each, as the task states them:
// request i is admitted when growth + (its need and those of the i before it) + spare(i)
// <= free_blocks, where spare(i) = running + i; the first that does not fit stops the walk.
enum class Rule {
    right,
    no_watermark,     // spare(i) = 0
    fixed_watermark,  // spare(i) = running
    counts_itself,    // spare(i) = running + i + 1
    strict,           // < instead of <=
    not_summed,       // each request alone: growth + need + spare(i)
    skips,            // a request that does not fit is skipped, the walk goes on
    no_growth,        // growth left out
    waiting,          // returns how many wait
};

std::size_t admitted_by(const Queue& q, Rule rule) {
    std::size_t taken = rule == Rule::no_growth ? 0 : q.growth, admitted = 0;
    for (std::size_t need : q.needs) {
        const std::size_t spare = rule == Rule::no_watermark      ? 0
                                  : rule == Rule::fixed_watermark ? q.running
                                  : rule == Rule::counts_itself   ? q.running + admitted + 1
                                                                  : q.running + admitted;
        const std::size_t total = (rule == Rule::not_summed ? q.growth : taken) + need + spare;
        const bool fits = rule == Rule::strict ? total < q.free_blocks : total <= q.free_blocks;
        if (!fits) {
            if (rule == Rule::skips) continue;
            break;
        }
        taken += need;
        ++admitted;
    }
    return rule == Rule::waiting ? q.needs.size() - admitted : admitted;
}

Vector count_of(std::size_t n) {
    return Vector{static_cast<float>(n)};
}

// Every queue of 1 to 3 requests needing 1 to 3 blocks each, over pools of 0 to 9 free
// blocks, with growth 0..2 (at most the free blocks) and 0..2 sequences running: the fewest
// requests, then the fewest free blocks, first.
std::vector<Queue> small_queues() {
    std::vector<Queue> out;
    for (std::size_t n = 1; n <= 3; ++n)
        for (std::size_t free = 0; free <= 9; ++free)
            for (std::size_t growth = 0; growth <= std::min<std::size_t>(free, 2); ++growth)
                for (std::size_t running = 0; running <= 2; ++running) {
                    std::size_t combos = 1;
                    for (std::size_t i = 0; i < n; ++i) combos *= 3;
                    for (std::size_t c = 0; c < combos; ++c) {
                        Queue q{{}, free, growth, running};
                        for (std::size_t i = 0, rest = c; i < n; ++i, rest /= 3)
                            q.needs.push_back(1 + rest % 3);
                        out.push_back(q);
                    }
                }
    return out;
}
}  // namespace

TEST_CASE("10.6 admissions: the worked example", "[10.6]") {
    INFO(
        "needs {2, 3, 1}, free_blocks 8, growth 1, running 1: request 0 takes 1 + 2 + 1 = 4, "
        "request 1 takes 1 + 2 + 3 + 2 = 8 (fits exactly), request 2 would take 1 + 2 + 3 + 1 + 3 "
        "= 10 > 8");
    CHECK(ex::admissions({2, 3, 1}, 8, 1, 1) == 2);
}

TEST_CASE(
    "10.6 admissions: an empty queue admits nobody, and a pool with room for all "
    "admits everyone",
    "[10.6]") {
    CHECK(ex::admissions({}, 10, 2, 3) == 0);
    INFO("needs {1, 1, 1}, free_blocks 100, growth 0, running 0");
    CHECK(ex::admissions({1, 1, 1}, 100, 0, 0) == 3);
}

TEST_CASE("10.6 admissions: every queue of up to 3 requests over pools of up to 9 free blocks",
          "[10.6]") {
    const std::vector<std::pair<Rule, const char*>> mistakes = {
        {Rule::no_watermark,
         "no watermark: keep one spare block for each sequence running once the request is "
         "admitted (running + i for request i)"},
        {Rule::fixed_watermark,
         "the watermark counts only the sequences running before the step (running): those "
         "admitted before the request in this step run too (running + i)"},
        {Rule::counts_itself,
         "the watermark counts the request itself too (running + i + 1): one spare block for "
         "each sequence running, the request not included"},
        {Rule::strict,
         "< instead of <=: a request that fits exactly, leaving no block more, is admitted too"},
        {Rule::not_summed,
         "each request is compared alone: add up the needs of every request admitted before it "
         "in this step, they take blocks too"},
        {Rule::skips,
         "skips a request that does not fit and admits smaller ones behind it: first come, first "
         "served stops at the first request that waits"},
        {Rule::no_growth,
         "growth is left out: the running sequences' next positions take blocks too"},
        {Rule::waiting, "returns how many requests wait, not how many are admitted"},
    };
    check_every_size<1>(
        small_queues(),
        [&](const Queue& q, Trial<1>& t) {
            t.input = queue_text(q) + " (the answer: how many are admitted)";
            t.expected = count_of(admitted_by(q, Rule::right));
            for (const auto& [rule, what] : mistakes)
                t.variants.push_back({what, count_of(admitted_by(q, rule))});
            t.actual = count_of(ex::admissions(q.needs, q.free_blocks, q.growth, q.running));
        },
        0);
}

TEST_CASE("10.6 admissions: a long queue stops at the first request that does not fit", "[10.6]") {
    // 20 requests of 1 block, the 6th of 50: with 30 free blocks the first 5 fit
    // (5 + 4 spare = 9 <= 30), the 6th does not, and the 14 small ones behind it wait.
    std::vector<std::size_t> needs(20, 1);
    needs[5] = 50;
    INFO(
        "needs {1, 1, 1, 1, 1, 50, 1, ... 1} (20 requests), free_blocks 30, growth 0, "
        "running 0");
    CHECK(ex::admissions(needs, 30, 0, 0) == 5);
}

TEST_CASE("10.6 admissions: rejects a need of 0 and growth above the free blocks", "[10.6]") {
    CHECK_SHAPE_ERROR(ex::admissions({2, 0, 1}, 8, 0, 0), "admissions", "needs[1] = 0",
                      "every request holds at least one block");
    CHECK_SHAPE_ERROR(ex::admissions({2, 1}, 3, 5, 0), "admissions", "growth = 5",
                      "the running sequences' growth needs 5 blocks of 3 free: make room first");
    CHECK_REFUSED(ex::admissions({2, 1}, 3, 5, 0), "admissions", "3",
                  "how many blocks are free (3)", "growth = 5 with 3 free blocks");
    CHECK_SHAPE_ERROR(ex::admissions({0}, 0, 0, 0), "admissions", "needs[0] = 0",
                      "a need of 0 is refused even when nothing would fit");
    CHECK_SHAPE_ERROR(ex::admissions({5, 0}, 3, 0, 0), "admissions", "needs[1] = 0",
                      "a need of 0 behind a request that waits is refused too: every need is "
                      "checked before the walk, not only those it reaches");
}
