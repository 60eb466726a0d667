//===- KconvMpi.h - run kconv reductions over MPI ranks (C++ API) -*- C++ -*-===//
//
// kconv_mpi: the scale-out layer over many processes (docs/scale-out.md). Each rank computes its
// own block of output rows; the reduced-category rows are either gathered on every rank
// (Mode::Replicated) or passed round a ring of ranks one block at a time (Mode::Ring), so that no
// rank ever holds all of them: memory per rank O((nOut + nReduced) / ranks).
//
//   // rank r holds rows [blockRange(N, P, r)) of X and rows [blockRange(M, P, r)) of Y and B
//   kconv::mpi::run(*art, "gaussian_conv", MPI_COMM_WORLD, {x, y, b}, out,
//                   {localN, localM, M}, {kconv::mpi::Mode::Ring});
//
// The result is bit for bit that of the single-process kconv::mpi::runBlocked with the same
// blocks of reduced rows: block b is rank b's, and every output row is the float32 sum
//   ((p_0 + p_1) + p_2) + ... + p_{B-1}
// of its partials p_b = Artifact::run over block b, in that fixed order, whatever the mode's
// communication pattern. Mode::Replicated makes one block of all reduced rows (one run: the
// result is that of a plain Artifact::run); Mode::Ring makes one block per rank.
// Sum reductions only: any other kind (min, argmin, logsumexp, ...) is Error(Unsupported), as
// partial results are merged by addition.
//
// Errors: every rank throws the same kconv::Error (same code, same message naming the rank at
// fault) for an error found on any rank (unknown reduction, wrong input count or shape, null
// pointers, ranks that disagree on the reduction, the mode or the parameters, row counts that do
// not add up, ...). The ranks agree on errors with small collectives before any data moves, so
// an error never leaves a rank waiting.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_MPI_KCONVMPI_H
#define KCONV_MPI_KCONVMPI_H

#include "kconv/Runtime/Runtime.h"

#include <mpi.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace kconv::mpi {

//===----------------------------------------------------------------------===//
// Block partition (shared by the MPI layer, runBlocked and the example)
//===----------------------------------------------------------------------===//

/// Rows [begin, begin + size) of a block.
struct Block {
  int64_t begin = 0;
  int64_t size = 0;
};

/// Block b of n rows cut into `blocks` contiguous blocks in order, sizes differing by at most one:
/// the first n % blocks blocks have one row more. n >= 0, blocks >= 1, 0 <= b < blocks; throws
/// Error(InvalidArgument) otherwise.
Block blockRange(int64_t n, int64_t blocks, int64_t b);
/// The sizes of all `blocks` blocks of blockRange.
std::vector<int64_t> blockPartition(int64_t n, int64_t blocks);

/// out[k] += partial[k] for k < count: the one float32 addition both paths use.
void accumulate(float *out, const float *partial, int64_t count);

//===----------------------------------------------------------------------===//
// Single process: the blocked equivalent
//===----------------------------------------------------------------------===//

/// Runs `reduction` on whole (global) arrays like Artifact::run, but cuts the reduced-category rows
/// into consecutive blocks of the given sizes (they must add up to nReduced = nJ for axis 1, nI for
/// axis 0; one block at least, none negative), runs each block separately, and sums the partials
/// per output row in block order: out = ((p_0 + p_1) + p_2) + ... (p_0 is written to out; one
/// scratch array of nOut x valueDim floats holds the next partial). No MPI.
void runBlocked(const Artifact &artifact, std::string_view reduction,
                const std::vector<Input> &inputs, float *out, int64_t nI, int64_t nJ,
                const std::vector<int64_t> &blockSizes, const RunOptions &options = {});
/// The same with blockPartition(nReduced, blocks): what kconv::mpi::run in Mode::Ring computes on
/// `blocks` ranks whose reduced blocks are blockRange(nReduced, blocks, rank).
void runBlocked(const Artifact &artifact, std::string_view reduction,
                const std::vector<Input> &inputs, float *out, int64_t nI, int64_t nJ,
                int64_t blocks, const RunOptions &options = {});

//===----------------------------------------------------------------------===//
// MPI
//===----------------------------------------------------------------------===//

enum class Mode {
  /// Allgather the reduced-category blocks on every rank (MPI_Allgatherv), then one run over all of
  /// them. Memory per rank O(nOut / ranks + nReduced). Equals runBlocked with one block.
  Replicated,
  /// The blocks travel along the ring rank -> rank + 1 in global block order; rank r computes
  /// block 0, 1, ..., P-1 in turn (its own block at step r), forwarding each block it receives
  /// while computing on it and receiving the next one into a second buffer (MPI_Isend/Irecv,
  /// double buffering): at most two foreign blocks on a rank at a time. Memory per rank
  /// O((nOut + nReduced) / ranks). Equals runBlocked with the ranks' blocks.
  Ring,
};
const char *toString(Mode mode);
/// "replicated" or "ring"; anything else throws Error(InvalidArgument).
Mode parseMode(std::string_view text);

struct Options {
  Mode mode = Mode::Ring;
  /// Device and threads of every Artifact::run call on this rank.
  RunOptions run;
  /// Ring: each step's output rows are cut into this many pieces (separate Artifact::run calls)
  /// and MPI is polled (MPI_Testall) between them, so that transfers progress during the compute
  /// even in MPI libraries without an asynchronous progress thread. 0: automatic (up to 8 pieces
  /// of at least 64 rows); 1: one call per step. Does not change the result.
  int progressPieces = 0;
};

/// This rank's share of a call.
struct LocalRows {
  /// Rows of the output category on this rank (its block of output rows: Vi rows for axis 1, Vj
  /// rows for axis 0). Its output-category inputs and `localOut` have this many rows.
  int64_t out = 0;
  /// Rows of the reduced category on this rank (its block; block b is rank b's, in rank order of
  /// the communicator). Its reduced-category inputs have this many rows.
  int64_t reduced = 0;
  /// The total number of reduced rows (the sum of `reduced` over the ranks), checked when >= 0.
  int64_t globalReduced = -1;
};

/// What a call did on this rank (for benchmarks and the memory claim).
struct RunStats {
  double seconds = 0;        // the whole call on this rank
  double computeSeconds = 0; // in Artifact::run and the partial sums
  double waitSeconds = 0;    // blocked in MPI waits and collectives for data (not the checks)
  int64_t bytesSent = 0;     // reduced-category data sent by this rank
  int64_t bytesReceived = 0; // reduced-category data received by this rank
  int64_t bufferBytes = 0;   // reduced-category data this rank allocated (foreign blocks)
  int64_t scratchBytes = 0;  // the partial-sum array
  int64_t blocks = 0;        // partials summed per output row (1 for Replicated)
};

/// Runs `reduction` over the ranks of `comm` (collective: every rank of `comm` calls it, with the
/// same reduction, mode and parameter values). `inputs` are in argument order (Artifact::run's
/// conventions; stated rows/dims are checked): this rank's block of rows of every
/// output-category variable ([rows.out x dim]), its block of every reduced-category variable
/// ([rows.reduced x dim]), and every parameter ([dim], identical on all ranks). Writes this rank's
/// output rows to `localOut` ([rows.out x valueDim]).
///
/// Throws kconv::Error on every rank when any rank finds an error (see the file comment); a
/// failure inside the computation (after the checks) is also reported on every rank, after the
/// communication has completed, and may leave `localOut` partly written. MPI errors follow the
/// communicator's error handler (by default MPI aborts the job). Messages of the call travel on a
/// duplicate of `comm`, so they never match the caller's. Any MPI thread level works: only the
/// calling thread calls MPI (the runtime's pool threads do not).
RunStats run(const Artifact &artifact, std::string_view reduction, MPI_Comm comm,
             const std::vector<Input> &inputs, float *localOut, const LocalRows &rows,
             const Options &options = {});

} // namespace kconv::mpi

#endif // KCONV_MPI_KCONVMPI_H
