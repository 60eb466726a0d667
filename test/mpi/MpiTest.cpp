//===- MpiTest.cpp - kconv_mpi tests, run under mpirun ----------------------===//
//
//   mpirun -np 4 kconv-mpi-tests TEST.kca [COMPILED.kca]
//
// TEST.kca is the runtime tests' artifact (kconv-make-test-artifact); COMPILED.kca, if given, is
// test/mpi/mpi-formulas.kconv compiled by kconv-compile (the bit-identity checks run on it too).
// Every rank builds the same global data, so each can compare its own output rows with
// single-process runs:
//  - the block partition;
//  - Mode::Ring == runBlocked(the ranks' blocks), Mode::Replicated == runBlocked(1 block) ==
//    Artifact::run, bit for bit (memcmp), for axis 1 and axis 0, output dims 1 and 3, even and
//    uneven blocks, empty blocks, ranks without output rows, several progress pieces;
//  - errors: every rank throws the same kconv::Error (code and message) for an error on any rank,
//    and the next call works (nothing hangs, nothing is left in flight).
// Prints one line per failure and a summary on rank 0; exit status 1 if any rank saw a failure.
// A watchdog (alarm) turns a hang into a failure.
//
//===----------------------------------------------------------------------===//
#include "kconv/Mpi/KconvMpi.h"
#include "kconv/Runtime/Runtime.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using kconv::Error;
using kconv::ErrorCode;
using kconv::Input;
namespace kmpi = kconv::mpi;

int rank = 0, ranks = 1;
int checks = 0, failures = 0;

void expect(bool ok, const std::string &what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAILED on rank %d: %s\n", rank, what.c_str());
  }
}

/// Global data of one problem, identical on every rank.
struct Problem {
  const kconv::ReductionInfo *r = nullptr;
  int64_t nOut = 0, nReduced = 0;
  std::vector<std::vector<float>> arrays;
  std::vector<int64_t> outSizes, reducedSizes; // per rank
  int64_t nI() const { return r->axis == 1 ? nOut : nReduced; }
  int64_t nJ() const { return r->axis == 1 ? nReduced : nOut; }
  std::vector<Input> globalInputs() const {
    std::vector<Input> in;
    for (const auto &a : arrays)
      in.emplace_back(a.data());
    return in;
  }
  static int64_t offset(const std::vector<int64_t> &sizes, int q) {
    int64_t o = 0;
    for (int k = 0; k < q; ++k)
      o += sizes[size_t(k)];
    return o;
  }
  /// Rank q's slice of every variable (the output rows it owns, its reduced block).
  std::vector<Input> localInputs(int q) const {
    std::vector<Input> in;
    for (size_t k = 0; k < arrays.size(); ++k) {
      const kconv::VariableInfo &v = r->variables[k];
      if (v.category == kconv::VarCategory::Pm) {
        in.emplace_back(arrays[k].data());
        continue;
      }
      const bool out = v.category == r->outputCategory();
      const auto &sizes = out ? outSizes : reducedSizes;
      in.emplace_back(arrays[k].data() + offset(sizes, q) * v.dim, sizes[size_t(q)], v.dim);
    }
    return in;
  }
};

Problem makeProblem(const kconv::Artifact &art, const std::string &name, int64_t nOut,
                    int64_t nReduced, std::vector<int64_t> outSizes,
                    std::vector<int64_t> reducedSizes, unsigned seed) {
  Problem p;
  p.r = &art.reduction(name);
  p.nOut = nOut;
  p.nReduced = nReduced;
  p.outSizes = outSizes.empty() ? kmpi::blockPartition(nOut, ranks) : outSizes;
  p.reducedSizes = reducedSizes.empty() ? kmpi::blockPartition(nReduced, ranks) : reducedSizes;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  for (const kconv::VariableInfo &v : p.r->variables) {
    int64_t rows = v.category == kconv::VarCategory::Pm  ? 1
                   : v.category == p.r->outputCategory() ? nOut
                                                         : nReduced;
    std::vector<float> a(size_t(rows * v.dim));
    for (float &x : a)
      x = v.category == kconv::VarCategory::Pm ? 0.75f : normal(rng);
    p.arrays.push_back(std::move(a));
  }
  return p;
}

std::string describe(const Problem &p, const char *what) {
  return std::string(what) + " " + p.r->name + " nOut=" + std::to_string(p.nOut) +
         " nReduced=" + std::to_string(p.nReduced);
}

//===----------------------------------------------------------------------===//
// Bit-identity
//===----------------------------------------------------------------------===//

void checkProblem(const kconv::Artifact &art, const Problem &p) {
  const int64_t od = p.r->valueDim;
  kconv::RunOptions run;
  run.threads = 2;
  // Single process: the ranks' blocks, and one block.
  std::vector<float> blocked(size_t(p.nOut * od) + 1), one(size_t(p.nOut * od) + 1),
      plain(size_t(p.nOut * od) + 1);
  kmpi::runBlocked(art, p.r->name, p.globalInputs(), blocked.data(), p.nI(), p.nJ(), p.reducedSizes,
                   run);
  kmpi::runBlocked(art, p.r->name, p.globalInputs(), one.data(), p.nI(), p.nJ(), 1, run);
  art.run(p.r->name, p.globalInputs(), plain.data(), p.nI(), p.nJ(), run);
  expect(std::memcmp(one.data(), plain.data(), size_t(p.nOut * od) * sizeof(float)) == 0,
         describe(p, "runBlocked(1 block) != Artifact::run"));

  const int64_t myRows = p.outSizes[size_t(rank)];
  const int64_t myOffset = Problem::offset(p.outSizes, rank);
  const kmpi::LocalRows rows{myRows, p.reducedSizes[size_t(rank)], p.nReduced};
  struct Variant {
    kmpi::Mode mode;
    int pieces;
    const std::vector<float> *expected;
  };
  for (Variant v :
       {Variant{kmpi::Mode::Ring, 0, &blocked}, Variant{kmpi::Mode::Ring, 1, &blocked},
        Variant{kmpi::Mode::Ring, 3, &blocked}, Variant{kmpi::Mode::Replicated, 0, &one}}) {
    kmpi::Options options;
    options.mode = v.mode;
    options.progressPieces = v.pieces;
    options.run = run;
    std::vector<float> out(size_t(myRows * od) + 1, -7.0f);
    std::string what = describe(p, kmpi::toString(v.mode)) + " pieces=" + std::to_string(v.pieces);
    try {
      kmpi::RunStats s =
          kmpi::run(art, p.r->name, MPI_COMM_WORLD, p.localInputs(rank), out.data(), rows, options);
      expect(std::memcmp(out.data(), v.expected->data() + myOffset * od,
                         size_t(myRows * od) * sizeof(float)) == 0,
             what + ": not bit-identical to the single-process run");
      expect(out[size_t(myRows * od)] == -7.0f, what + ": wrote past its rows");
      if (v.mode == kmpi::Mode::Ring) {
        int64_t maxBlock = 0, rowFloats = 0;
        for (int64_t s2 : p.reducedSizes)
          maxBlock = std::max(maxBlock, s2);
        for (const kconv::VariableInfo &var : p.r->variables)
          if (var.category == p.r->reducedCategory())
            rowFloats += var.dim;
        // The memory claim: two foreign blocks at most, one partial array.
        expect(s.bufferBytes <= 2 * maxBlock * rowFloats * 4 && s.blocks == ranks &&
                   s.scratchBytes <= (ranks > 1 ? myRows * od * 4 : 0),
               what + ": buffers larger than two blocks and one partial");
      } else {
        expect(s.blocks == 1, what + ": replicated mode sums one block");
      }
    } catch (const std::exception &e) {
      expect(false, what + ": threw " + e.what());
    }
  }
}

void checkPartition() {
  for (int64_t n : {0, 1, 3, 4, 5, 1000, 1001, 1003}) {
    for (int64_t blocks : {1, 2, 3, 4, 7}) {
      std::vector<int64_t> sizes = kmpi::blockPartition(n, blocks);
      int64_t next = 0, lo = n, hi = 0;
      bool ok = int64_t(sizes.size()) == blocks;
      for (int64_t b = 0; b < blocks && ok; ++b) {
        kmpi::Block range = kmpi::blockRange(n, blocks, b);
        ok = range.begin == next && range.size == sizes[size_t(b)];
        next += range.size;
        lo = std::min(lo, range.size);
        hi = std::max(hi, range.size);
      }
      expect(ok && next == n && hi - lo <= 1 && (blocks > n || lo >= 1),
             "blockPartition(" + std::to_string(n) + ", " + std::to_string(blocks) + ")");
    }
  }
  bool threw = false;
  try {
    kmpi::blockRange(10, 0, 0);
  } catch (const Error &e) {
    threw = e.code() == ErrorCode::InvalidArgument;
  }
  expect(threw, "blockRange(10, 0, 0) throws InvalidArgument");
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

/// Runs `call` on every rank and checks that every rank threw the same kconv::Error with `code`
/// and a message containing `needle`.
void expectSameError(const std::string &what, ErrorCode code, const std::string &needle,
                     const std::function<void()> &call) {
  std::string message;
  int got = -1;
  try {
    call();
  } catch (const Error &e) {
    message = e.what();
    got = int(e.code());
  } catch (const std::exception &e) {
    message = std::string("not a kconv::Error: ") + e.what();
  }
  expect(got == int(code), what + ": expected error code " + std::to_string(int(code)) + ", got " +
                               std::to_string(got) + " (" + message + ")");
  expect(message.find(needle) != std::string::npos,
         what + ": message lacks '" + needle + "': " + message);
  // The same message on every rank: compare with rank 0's.
  int64_t length = int64_t(message.size());
  MPI_Bcast(&length, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  std::string root = rank == 0 ? message : std::string(size_t(length), '\0');
  MPI_Bcast(root.data(), int(length), MPI_CHAR, 0, MPI_COMM_WORLD);
  expect(root == message, what + ": rank 0 says '" + root + "', this rank '" + message + "'");
  if (rank == 0 && std::getenv("KCONV_MPI_TEST_VERBOSE"))
    std::printf("  %s -> %s\n", what.c_str(), message.c_str());
}

void checkErrors(const kconv::Artifact &art, const kconv::Artifact *compiled) {
  Problem g = makeProblem(art, "gaussian_conv", 50, 70, {}, {}, 7);
  Problem t = makeProblem(art, "transposed", 30, 40, {}, {}, 8);
  const int last = ranks - 1;
  auto rowsOf = [&](const Problem &p) {
    return kmpi::LocalRows{p.outSizes[size_t(rank)], p.reducedSizes[size_t(rank)], p.nReduced};
  };
  std::vector<float> out(1000);

  expectSameError("unknown reduction on one rank", ErrorCode::InvalidArgument,
                  "rank " + std::to_string(last) + " of " + std::to_string(ranks) + ": " +
                      art.sourceName() + ": no reduction named 'gaussian'",
                  [&] {
                    kmpi::run(art, rank == last ? "gaussian" : "gaussian_conv", MPI_COMM_WORLD,
                              g.localInputs(rank), out.data(), rowsOf(g));
                  });
  if (ranks > 1) {
    Problem v = makeProblem(art, "gaussian_vec", 50, 70, {}, {}, 7);
    expectSameError("another reduction on one rank", ErrorCode::InvalidArgument,
                    "the ranks disagree on the reduction: rank 0 runs 'gaussian_conv', rank 1 "
                    "runs 'gaussian_vec'",
                    [&] {
                      const Problem &p = rank == 1 ? v : g;
                      kmpi::run(art, p.r->name, MPI_COMM_WORLD, p.localInputs(rank), out.data(),
                                rowsOf(p));
                    });
    expectSameError("another mode on one rank", ErrorCode::InvalidArgument,
                    "the ranks disagree on the mode: rank 0 uses ring, rank 1 uses replicated",
                    [&] {
                      kmpi::Options o;
                      o.mode = rank == 1 ? kmpi::Mode::Replicated : kmpi::Mode::Ring;
                      kmpi::run(art, "gaussian_conv", MPI_COMM_WORLD, g.localInputs(rank),
                                out.data(), rowsOf(g), o);
                    });
    expectSameError(
        "other parameter values on one rank", ErrorCode::InvalidArgument,
        "the parameter values (S) differ between rank 0 and rank " + std::to_string(last), [&] {
          std::vector<Input> in = t.localInputs(rank);
          float s = 0.5f;
          if (rank == last)
            in[3] = Input(&s);
          kmpi::run(art, "transposed", MPI_COMM_WORLD, in, out.data(), rowsOf(t));
        });
    expectSameError("two ranks fail", ErrorCode::InvalidArgument,
                    "rank 0 of " + std::to_string(ranks) +
                        ": reduction 'gaussian_conv': expected 3 inputs (X, Y, B), got 2 (1 "
                        "other rank failed too)",
                    [&] {
                      std::vector<Input> in = g.localInputs(rank);
                      if (rank == 0 || rank == last)
                        in.pop_back();
                      kmpi::run(art, "gaussian_conv", MPI_COMM_WORLD, in, out.data(), rowsOf(g));
                    });
  }
  if (ranks > 1 && compiled) {
    // The same name, another formula: the compiled 'transposed' orders its arguments X, Y, A, S.
    Problem c = makeProblem(*compiled, "transposed", 30, 40, {}, {}, 8);
    expectSameError("another formula under the same name", ErrorCode::InvalidArgument,
                    "the ranks disagree on reduction 'transposed' (signature or formula): rank 0 "
                    "has X: i 3, A: i 1, Y: j 3, S: p 1 -> j 1 (sum over i) in ",
                    [&] {
                      const Problem &p = rank == 1 ? c : t;
                      kmpi::run(rank == 1 ? *compiled : art, "transposed", MPI_COMM_WORLD,
                                p.localInputs(rank), out.data(), rowsOf(p));
                    });
  }
  expectSameError("wrong input count on rank 0", ErrorCode::InvalidArgument,
                  "rank 0 of " + std::to_string(ranks) +
                      ": reduction 'gaussian_conv': expected 3 inputs (X, Y, B), got 2",
                  [&] {
                    std::vector<Input> in = g.localInputs(rank);
                    if (rank == 0)
                      in.pop_back();
                    kmpi::run(art, "gaussian_conv", MPI_COMM_WORLD, in, out.data(), rowsOf(g));
                  });
  expectSameError("null reduced input on the last rank", ErrorCode::InvalidArgument,
                  "rank " + std::to_string(last) + " of " + std::to_string(ranks) +
                      ": reduction 'gaussian_conv': input 1 (Y, j, dim 3) is a null pointer",
                  [&] {
                    std::vector<Input> in = g.localInputs(rank);
                    if (rank == last)
                      in[1] = Input(nullptr);
                    kmpi::run(art, "gaussian_conv", MPI_COMM_WORLD, in, out.data(), rowsOf(g));
                  });
  expectSameError("null output-category input", ErrorCode::InvalidArgument,
                  "input 0 (X, i, dim 3) is a null pointer", [&] {
                    std::vector<Input> in = g.localInputs(rank);
                    if (rank == last)
                      in[0] = Input(nullptr);
                    kmpi::run(art, "gaussian_conv", MPI_COMM_WORLD, in, out.data(), rowsOf(g));
                  });
  expectSameError("null out", ErrorCode::InvalidArgument, "out is a null pointer", [&] {
    kmpi::run(art, "gaussian_conv", MPI_COMM_WORLD, g.localInputs(rank),
              rank == last ? nullptr : out.data(), rowsOf(g));
  });
  expectSameError("stated dimension mismatch", ErrorCode::InvalidArgument,
                  "input 2 (B, j, dim 1) has dimension 2, expected 1", [&] {
                    std::vector<Input> in = g.localInputs(rank);
                    if (rank == last)
                      in[2].dim = 2;
                    kmpi::run(art, "gaussian_conv", MPI_COMM_WORLD, in, out.data(), rowsOf(g));
                  });
  expectSameError("stated output rows mismatch", ErrorCode::InvalidArgument,
                  "input 0 (X, i, dim 3) has 999 rows, expected", [&] {
                    std::vector<Input> in = g.localInputs(rank);
                    if (rank == last)
                      in[0].rows = 999;
                    kmpi::run(art, "gaussian_conv", MPI_COMM_WORLD, in, out.data(), rowsOf(g));
                  });
  expectSameError("reduced rows do not add up", ErrorCode::InvalidArgument,
                  "says there are 71 reduced rows in all, but the ranks' blocks add up to 70", [&] {
                    kmpi::LocalRows rows = rowsOf(g);
                    rows.globalReduced = 71;
                    kmpi::run(art, "gaussian_conv", MPI_COMM_WORLD, g.localInputs(rank), out.data(),
                              rows);
                  });
  expectSameError(
      "negative rows", ErrorCode::InvalidArgument, "local row counts must be >= 0", [&] {
        kmpi::LocalRows rows = rowsOf(g);
        if (rank == last)
          rows.out = -1;
        kmpi::run(art, "gaussian_conv", MPI_COMM_WORLD, g.localInputs(rank), out.data(), rows);
      });
  // The test kernels have no GPU code: refused whether or not this build has a GPU backend.
  expectSameError("GPU asked on one rank", ErrorCode::Unsupported,
                  "rank " + std::to_string(last) + " of " + std::to_string(ranks) + ": " +
                      art.sourceName() + ": reduction 'gaussian_conv': ",
                  [&] {
                    kmpi::Options o;
                    if (rank == last)
                      o.run.device = kconv::Device::Gpu;
                    kmpi::run(art, "gaussian_conv", MPI_COMM_WORLD, g.localInputs(rank), out.data(),
                              rowsOf(g), o);
                  });
  expectSameError("no CPU code", ErrorCode::Unsupported, "no_cpu", [&] {
    kmpi::run(art, "no_cpu", MPI_COMM_WORLD, g.localInputs(rank), out.data(), rowsOf(g));
  });
  // Sum only: the same reduction relabeled min (metadata only: refused before any backend).
  kconv::ArtifactContents minContents = art.contents();
  minContents.cpuSharedObject.clear();
  minContents.reductions[0].kind = "min";
  auto minArt = kconv::Artifact::fromBytes(kconv::serializeArtifact(minContents), "min.kca");
  expectSameError("a min reduction", ErrorCode::Unsupported,
                  "reduction 'gaussian_conv': kconv::mpi supports sum reductions only (it adds the "
                  "partial results of the ranks), not min",
                  [&] {
                    kmpi::run(*minArt, "gaussian_conv", MPI_COMM_WORLD, g.localInputs(rank),
                              out.data(), rowsOf(g));
                  });
  expectSameError("runBlocked: a min reduction", ErrorCode::Unsupported,
                  "kconv::mpi supports sum reductions only", [&] {
                    kmpi::runBlocked(*minArt, "gaussian_conv", g.globalInputs(), out.data(), 50,
                                     70, 2);
                  });
  // runBlocked's own checks.
  expectSameError("runBlocked: blocks do not add up", ErrorCode::InvalidArgument,
                  "the blocks add up to 69 rows, but there are 70 reduced rows (nJ)", [&] {
                    kmpi::runBlocked(art, "gaussian_conv", g.globalInputs(), out.data(), 50, 70,
                                     std::vector<int64_t>{30, 39});
                  });
  expectSameError("runBlocked: no blocks", ErrorCode::InvalidArgument, "blocks must be >= 1", [&] {
    kmpi::runBlocked(art, "gaussian_conv", g.globalInputs(), out.data(), 50, 70, int64_t(0));
  });
}

} // namespace

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  alarm(120); // a hang fails the test instead of blocking CI
  if (argc != 2 && argc != 3) {
    if (rank == 0)
      std::fprintf(stderr, "usage: mpirun -np P kconv-mpi-tests TEST.kca [COMPILED.kca]\n");
    MPI_Finalize();
    return 2;
  }
  std::shared_ptr<kconv::Artifact> art, compiled;
  try {
    art = kconv::Artifact::load(argv[1]);
    if (argc == 3)
      compiled = kconv::Artifact::load(argv[2]);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  // Errors first: the calls after them must work.
  checkPartition();
  checkErrors(*art, compiled.get());
  const int P = ranks;
  std::vector<int64_t> uneven(static_cast<size_t>(P)), emptyFirst(static_cast<size_t>(P), 9);
  for (int q = 0; q < P; ++q)
    uneven[size_t(q)] = 5 + 11 * q; // not a blockPartition
  emptyFirst[0] = 0;
  int64_t unevenTotal = 0, emptyFirstTotal = 9 * (P - 1);
  for (int64_t s : uneven)
    unevenTotal += s;
  for (const kconv::Artifact *a : {art.get(), compiled.get()}) {
    if (!a)
      continue;
    for (const char *name : {"gaussian_conv", "gaussian_vec", "transposed"}) {
      unsigned seed = 1;
      checkProblem(*a, makeProblem(*a, name, 1000, 1500, {}, {}, seed++));
      checkProblem(*a, makeProblem(*a, name, 257, 131, {}, {}, seed++));
      checkProblem(*a, makeProblem(*a, name, 33, unevenTotal, {}, uneven, seed++));
      checkProblem(*a, makeProblem(*a, name, 40, emptyFirstTotal, {}, emptyFirst, seed++));
      checkProblem(*a, makeProblem(*a, name, 64, 2, {}, {}, seed++)); // empty blocks if P > 2
      checkProblem(*a, makeProblem(*a, name, 64, 0, {}, {}, seed++)); // the empty sum
      checkProblem(*a, makeProblem(*a, name, 2, 77, {}, {}, seed++)); // ranks without rows
      checkProblem(*a, makeProblem(*a, name, 0, 77, {}, {}, seed++)); // no output at all
    }
  }
  int totals[2] = {checks, failures}, sums[2] = {0, 0};
  MPI_Allreduce(totals, sums, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0)
    std::printf("kconv-mpi-tests: %d ranks, %d checks, %d failed\n", ranks, sums[0], sums[1]);
  MPI_Finalize();
  return sums[1] == 0 ? 0 : 1;
}
