//===- kconv-mpi-gaussian.cpp - a kconv reduction over MPI ranks -------------===//
//
//   mpirun -np 4 kconv-mpi-gaussian gaussian.kca --n 1000000 --m 1000000 --mode ring
//   kconv-mpi-gaussian gaussian.kca --n 1000000 --m 1000000 --single --blocks 4
//
// Runs one reduction of an artifact (gaussian_conv by default) with kconv::mpi::run: each rank
// generates its own block of output rows and its own block of reduced rows (deterministic random
// data seeded by the global row index, so the data does not depend on the number of ranks), runs,
// and the ranks check the result against the float64 reference on sampled rows; rank 0 gathers
// the output only to write it (--output). --single runs the single-process equivalent,
// kconv::mpi::runBlocked, without MPI: `--single --blocks P` writes the same bits as P ranks in
// ring mode, `--single --blocks 1` the same bits as replicated mode (docs/scale-out.md).
//
// Exit status: 0 ok, 1 error, 2 bad command line, 3 the check failed.
//
//===----------------------------------------------------------------------===//
#include "kconv/Mpi/KconvMpi.h"
#include "kconv/Runtime/Npy.h"
#include "kconv/Runtime/Runtime.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

const char *kUsage = R"(usage: kconv-mpi-gaussian ARTIFACT --n N --m M [options]
       mpirun -np P kconv-mpi-gaussian ARTIFACT --n N --m M [options]

Runs a reduction of ARTIFACT over the MPI ranks with kconv::mpi::run on deterministic random
data (nI = N, nJ = M), checks it against the float64 reference on sampled rows, and prints the
time. Without mpirun it runs on one rank.

  --reduction NAME   the reduction (default: gaussian_conv if the artifact has it, else its only
                     one)
  --mode MODE        ring (default): reduced rows circulate in blocks, memory per rank
                     O((N + M) / P); replicated: every rank gathers all reduced rows
  --single           one process, no MPI: kconv::mpi::runBlocked with --blocks blocks of reduced
                     rows (the bits of P ranks in ring mode with --blocks P, of replicated mode
                     with --blocks 1)
  --blocks B         blocks for --single (default 1)
  --seed S           seed of the data and of the checked rows (default 0)
  --output FILE      write the output (gathered on rank 0): float32 .npy (nOut, outputDim)
  --threads T        threads per rank (default: the CPUs the rank may use, $KCONV_NUM_THREADS)
  --device D         cpu, gpu or auto (default auto)
  --repeats R        timed runs (default 1); prints the median and the minimum
  --check-rows R     rows checked against the reference (default 256; 0: no check)
  --tolerance T      bound on the relative error (default 1e-5)
  --help, -h         this text

Data: variable k, global row g, component c: a standard normal (parameters: uniform in
[0.5, 1.5)) drawn from a hash of (seed, k, g, c).
Exit status: 0 ok, 1 error, 2 bad command line, 3 the check failed.
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string artifact;
  std::string reduction;
  int64_t n = -1, m = -1;
  kconv::mpi::Mode mode = kconv::mpi::Mode::Ring;
  bool single = false;
  int64_t blocks = 1;
  uint64_t seed = 0;
  std::string output;
  int threads = 0;
  kconv::Device device = kconv::Device::Auto;
  int repeats = 1;
  int64_t checkRows = 256;
  double tolerance = 1e-5;
};

int64_t parseInt(const std::string &text, const std::string &option, int64_t min) {
  char *end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min)
    throw UsageError(option + " expects an integer >= " + std::to_string(min) + ", got '" + text +
                     "'");
  return value;
}

Options parseArgs(int argc, char **argv) {
  Options o;
  for (int k = 1; k < argc; ++k) {
    std::string arg = argv[k];
    auto next = [&]() -> std::string {
      if (k + 1 >= argc)
        throw UsageError(arg + " expects a value");
      return argv[++k];
    };
    if (arg == "--help" || arg == "-h") {
      throw UsageError("");
    } else if (arg == "--reduction") {
      o.reduction = next();
    } else if (arg == "--n") {
      o.n = parseInt(next(), arg, 0);
    } else if (arg == "--m") {
      o.m = parseInt(next(), arg, 0);
    } else if (arg == "--mode") {
      std::string mode = next();
      try {
        o.mode = kconv::mpi::parseMode(mode);
      } catch (const kconv::Error &e) {
        throw UsageError(e.what());
      }
    } else if (arg == "--single") {
      o.single = true;
    } else if (arg == "--blocks") {
      o.blocks = parseInt(next(), arg, 1);
    } else if (arg == "--seed") {
      o.seed = uint64_t(parseInt(next(), arg, 0));
    } else if (arg == "--output" || arg == "-o") {
      o.output = next();
    } else if (arg == "--threads") {
      o.threads = int(parseInt(next(), arg, 1));
    } else if (arg == "--device") {
      std::string device = next();
      try {
        o.device = kconv::parseDevice(device);
      } catch (const kconv::Error &e) {
        throw UsageError(e.what());
      }
    } else if (arg == "--repeats") {
      o.repeats = int(parseInt(next(), arg, 1));
    } else if (arg == "--check-rows") {
      o.checkRows = parseInt(next(), arg, 0);
    } else if (arg == "--tolerance") {
      std::string text = next();
      char *end = nullptr;
      o.tolerance = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !(o.tolerance >= 0))
        throw UsageError("--tolerance expects a number >= 0, got '" + text + "'");
    } else if (!arg.empty() && arg[0] == '-') {
      throw UsageError("unknown option " + arg);
    } else if (o.artifact.empty()) {
      o.artifact = arg;
    } else {
      throw UsageError("unexpected argument '" + arg + "'");
    }
  }
  if (o.artifact.empty())
    throw UsageError("no artifact given");
  if (o.n < 0 || o.m < 0)
    throw UsageError("--n and --m are required");
  if (o.blocks != 1 && !o.single)
    throw UsageError("--blocks applies to --single runs (MPI runs make one block per rank)");
  return o;
}

//===----------------------------------------------------------------------===//
// Data: a counter-based generator, so that any rank can make any row
//===----------------------------------------------------------------------===//

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

float value(uint64_t seed, size_t var, int64_t row, int64_t comp, bool parameter) {
  uint64_t h = splitmix(splitmix(splitmix(splitmix(seed) ^ var) ^ uint64_t(row)) ^ uint64_t(comp));
  double u1 = (double(h >> 40) + 0.5) / double(1ull << 24); // (0, 1)
  double u2 = double(h & 0xffffff) / double(1ull << 24);    // [0, 1)
  if (parameter)
    return float(0.5 + u2);
  return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

/// Rows `rowIds` of variable k: [rowIds.size() x dim].
std::vector<float> makeRows(const Options &o, const kconv::ReductionInfo &r, size_t k,
                            const std::vector<int64_t> &rowIds) {
  const int64_t dim = r.variables[k].dim;
  std::vector<float> data(rowIds.size() * size_t(dim));
  for (size_t q = 0; q < rowIds.size(); ++q)
    for (int64_t c = 0; c < dim; ++c)
      data[q * size_t(dim) + size_t(c)] = value(o.seed, k, rowIds[q], c, false);
  return data;
}

std::vector<float> makeBlock(const Options &o, const kconv::ReductionInfo &r, size_t k,
                             kconv::mpi::Block block) {
  std::vector<int64_t> ids(size_t(block.size));
  for (int64_t q = 0; q < block.size; ++q)
    ids[size_t(q)] = block.begin + q;
  return makeRows(o, r, k, ids);
}

std::vector<float> makeParameter(const Options &o, const kconv::ReductionInfo &r, size_t k) {
  std::vector<float> data(size_t(r.variables[k].dim));
  for (int64_t c = 0; c < r.variables[k].dim; ++c)
    data[size_t(c)] = value(o.seed, k, 0, c, true);
  return data;
}

/// The output rows checked against the reference: all if few, else a seeded sample (sorted).
std::vector<int64_t> sampleRows(const Options &o, int64_t nOut) {
  std::vector<int64_t> rows;
  if (o.checkRows == 0)
    return rows;
  if (nOut <= o.checkRows) {
    for (int64_t k = 0; k < nOut; ++k)
      rows.push_back(k);
    return rows;
  }
  std::mt19937_64 rng(o.seed ^ 0x636865636bull);
  std::uniform_int_distribution<int64_t> pick(0, nOut - 1);
  std::set<int64_t> chosen;
  while (int64_t(chosen.size()) < o.checkRows)
    chosen.insert(pick(rng));
  return {chosen.begin(), chosen.end()};
}

double nowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

std::string bytesString(double bytes) {
  char text[64];
  if (bytes >= 1 << 30)
    std::snprintf(text, sizeof text, "%.2f GiB", bytes / (1 << 30));
  else if (bytes >= 1 << 20)
    std::snprintf(text, sizeof text, "%.2f MiB", bytes / (1 << 20));
  else
    std::snprintf(text, sizeof text, "%.1f KiB", bytes / 1024);
  return text;
}

std::string pickReduction(const kconv::Artifact &art, const std::string &wanted) {
  if (!wanted.empty())
    return art.reduction(wanted).name;
  for (const kconv::ReductionInfo &r : art.reductions())
    if (r.name == "gaussian_conv")
      return r.name;
  if (art.reductions().size() == 1)
    return art.reductions()[0].name;
  std::string names;
  for (const kconv::ReductionInfo &r : art.reductions())
    names += (names.empty() ? "" : ", ") + r.name;
  throw kconv::Error(kconv::ErrorCode::InvalidArgument, art.sourceName() +
                                                            " has several reductions (" + names +
                                                            "): name one with --reduction");
}

/// This rank's data: its block of output rows, its block of reduced rows, the parameters.
struct Problem {
  const kconv::ReductionInfo *r = nullptr;
  int64_t nOut = 0, nReduced = 0;
  kconv::mpi::Block outBlock, reducedBlock;
  std::vector<std::vector<float>> arrays; // per variable
  std::vector<kconv::Input> inputs;
  int64_t inputBytes = 0;
};

Problem makeProblem(const Options &o, const kconv::ReductionInfo &r, int ranks, int rank) {
  Problem p;
  p.r = &r;
  p.nOut = r.axis == 1 ? o.n : o.m;
  p.nReduced = r.axis == 1 ? o.m : o.n;
  p.outBlock = kconv::mpi::blockRange(p.nOut, ranks, rank);
  p.reducedBlock = kconv::mpi::blockRange(p.nReduced, ranks, rank);
  for (size_t k = 0; k < r.variables.size(); ++k) {
    const kconv::VariableInfo &v = r.variables[k];
    if (v.category == kconv::VarCategory::Pm)
      p.arrays.push_back(makeParameter(o, r, k));
    else
      p.arrays.push_back(
          makeBlock(o, r, k, v.category == r.outputCategory() ? p.outBlock : p.reducedBlock));
    p.inputBytes += int64_t(p.arrays.back().size() * sizeof(float));
  }
  for (size_t k = 0; k < r.variables.size(); ++k)
    p.inputs.emplace_back(p.arrays[k].data());
  return p;
}

/// This rank's contribution to the check on `rows` (global output rows): the float64 reference
/// over its own reduced block, and its computed values for the rows it owns (zeros elsewhere).
/// Summed over the ranks, these are the reference and the output on those rows.
void checkContribution(const Options &o, const Problem &p, const std::vector<float> &localOut,
                       const std::vector<int64_t> &rows, std::vector<double> &ref,
                       std::vector<double> &got) {
  const kconv::ReductionInfo &r = *p.r;
  const size_t outDim = size_t(r.valueDim);
  std::vector<std::vector<float>> sampled(r.variables.size());
  std::vector<const float *> inputs(r.variables.size());
  for (size_t k = 0; k < r.variables.size(); ++k) {
    if (r.variables[k].category == r.outputCategory()) {
      sampled[k] = makeRows(o, r, k, rows);
      inputs[k] = sampled[k].data();
    } else {
      inputs[k] = p.arrays[k].data();
    }
  }
  const int64_t nS = int64_t(rows.size()), nB = p.reducedBlock.size;
  std::vector<int64_t> compact(rows.size());
  for (size_t q = 0; q < rows.size(); ++q)
    compact[q] = int64_t(q);
  ref = kconv::referenceRun(r, inputs, r.axis == 1 ? nS : nB, r.axis == 1 ? nB : nS, compact).values;
  got.assign(rows.size() * outDim, 0.0);
  for (size_t q = 0; q < rows.size(); ++q) {
    int64_t local = rows[q] - p.outBlock.begin;
    if (local < 0 || local >= p.outBlock.size)
      continue;
    for (size_t c = 0; c < outDim; ++c)
      got[q * outDim + c] = localOut[size_t(local) * outDim + c];
  }
}

/// Prints the error and returns whether it is within the tolerance.
bool report(const Options &o, const std::vector<double> &ref, const std::vector<double> &got,
            size_t rows, int64_t nOut) {
  double diff = 0, norm = 0;
  bool finite = true;
  for (size_t k = 0; k < ref.size(); ++k) {
    diff += (got[k] - ref[k]) * (got[k] - ref[k]);
    norm += ref[k] * ref[k];
    finite = finite && std::isfinite(got[k]);
  }
  bool relative = norm > 0;
  double error = relative ? std::sqrt(diff / norm) : std::sqrt(diff);
  bool ok = finite && error <= o.tolerance;
  std::printf("check: %s error %.3e on %zu of %lld rows vs the float64 reference "
              "(tolerance %.1e): %s\n",
              relative ? "relative" : "absolute (the reference is 0)", error, rows, (long long)nOut,
              o.tolerance, ok ? "ok" : "FAILED");
  return ok;
}

//===----------------------------------------------------------------------===//
// --single: one process, no MPI
//===----------------------------------------------------------------------===//

int runSingle(const Options &o) {
  auto art = kconv::Artifact::load(o.artifact);
  const kconv::ReductionInfo &r = art->reduction(pickReduction(*art, o.reduction));
  Problem p = makeProblem(o, r, 1, 0);
  std::vector<float> out(size_t(p.nOut * r.valueDim));
  kconv::RunOptions run;
  run.threads = o.threads;
  run.device = o.device;
  std::vector<double> times;
  for (int k = 0; k < o.repeats; ++k) {
    double t = nowSeconds();
    kconv::mpi::runBlocked(*art, r.name, p.inputs, out.data(), o.n, o.m, o.blocks, run);
    times.push_back(nowSeconds() - t);
  }
  std::printf("kconv-mpi-gaussian: %s, one process, %lld blocks (runBlocked), nI = %lld, "
              "nJ = %lld: %.3f ms (median of %d, min %.3f ms)\n",
              r.name.c_str(), (long long)o.blocks, (long long)o.n, (long long)o.m,
              median(times) * 1e3, o.repeats, *std::min_element(times.begin(), times.end()) * 1e3);
  if (!o.output.empty())
    kconv::writeNpy(o.output, out.data(), {p.nOut, r.valueDim});
  std::vector<int64_t> rows = sampleRows(o, p.nOut);
  if (rows.empty())
    return 0;
  std::vector<double> ref, got;
  checkContribution(o, p, out, rows, ref, got);
  return report(o, ref, got, rows.size(), p.nOut) ? 0 : 3;
}

//===----------------------------------------------------------------------===//
// MPI
//===----------------------------------------------------------------------===//

/// Collective: true on every rank if `failed` on any; each failing rank prints its message.
bool anyFailed(bool failed, const std::string &message, int rank) {
  if (failed)
    std::fprintf(stderr, "kconv-mpi-gaussian: rank %d: %s\n", rank, message.c_str());
  int mine = failed ? 1 : 0, any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any != 0;
}

int runMpi(const Options &o) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);

  std::shared_ptr<kconv::Artifact> art;
  const kconv::ReductionInfo *r = nullptr;
  Problem p;
  std::string message;
  try {
    art = kconv::Artifact::load(o.artifact);
    r = &art->reduction(pickReduction(*art, o.reduction));
    p = makeProblem(o, *r, ranks, rank);
  } catch (const std::exception &e) {
    message = e.what();
  }
  if (anyFailed(!message.empty(), message, rank))
    return 1;

  std::vector<float> localOut(size_t(p.outBlock.size * r->valueDim));
  kconv::mpi::Options options;
  options.mode = o.mode;
  options.run.threads = o.threads;
  options.run.device = o.device;
  const kconv::mpi::LocalRows rows{p.outBlock.size, p.reducedBlock.size, p.nReduced};
  std::vector<double> times;
  kconv::mpi::RunStats stats;
  for (int k = 0; k < o.repeats; ++k) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t = nowSeconds();
    try {
      stats =
          kconv::mpi::run(*art, r->name, MPI_COMM_WORLD, p.inputs, localOut.data(), rows, options);
    } catch (const kconv::Error &e) {
      // Every rank throws the same error: rank 0 says it.
      if (rank == 0)
        std::fprintf(stderr, "kconv-mpi-gaussian: %s\n", e.what());
      return 1;
    }
    double mine = nowSeconds() - t, slowest = 0;
    MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    times.push_back(slowest);
  }
  // The last run's breakdown: the slowest rank's compute and wait, the largest buffers.
  double local[4] = {stats.computeSeconds, stats.waitSeconds,
                     double(stats.bufferBytes + stats.scratchBytes + p.inputBytes +
                            int64_t(localOut.size() * sizeof(float))),
                     double(stats.bytesSent)};
  double worst[4];
  MPI_Reduce(local, worst, 4, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    int64_t rowFloats = 0;
    for (const kconv::VariableInfo &v : r->variables)
      if (v.category == r->reducedCategory())
        rowFloats += v.dim;
    std::printf("kconv-mpi-gaussian: %s, %d ranks, mode %s, nI = %lld, nJ = %lld: %.3f ms "
                "(slowest rank, median of %d, min %.3f ms)\n",
                r->name.c_str(), ranks, kconv::mpi::toString(o.mode), (long long)o.n,
                (long long)o.m, median(times) * 1e3, o.repeats,
                *std::min_element(times.begin(), times.end()) * 1e3);
    std::printf("  last run, slowest rank: compute %.3f ms, waiting for data %.3f ms; "
                "per rank at most %s held (inputs, foreign blocks, partial, output), %s sent; "
                "all reduced rows would be %s\n",
                worst[0] * 1e3, worst[1] * 1e3, bytesString(worst[2]).c_str(),
                bytesString(worst[3]).c_str(),
                bytesString(double(p.nReduced * rowFloats * 4)).c_str());
    std::fflush(stdout);
  }

  // --output: gather on rank 0 (only here does one rank hold all output rows).
  int status = 0;
  if (!o.output.empty()) {
    std::vector<int> counts(static_cast<size_t>(ranks)), displs(static_cast<size_t>(ranks));
    for (int q = 0; q < ranks; ++q) {
      kconv::mpi::Block b = kconv::mpi::blockRange(p.nOut, ranks, q);
      counts[size_t(q)] = int(b.size);
      displs[size_t(q)] = int(b.begin);
    }
    MPI_Datatype row;
    MPI_Type_contiguous(int(r->valueDim), MPI_FLOAT, &row);
    MPI_Type_commit(&row);
    std::vector<float> all(rank == 0 ? size_t(p.nOut * r->valueDim) : 0);
    MPI_Gatherv(localOut.data(), int(p.outBlock.size), row, all.data(), counts.data(),
                displs.data(), row, 0, MPI_COMM_WORLD);
    MPI_Type_free(&row);
    message.clear();
    if (rank == 0) {
      try {
        kconv::writeNpy(o.output, all.data(), {p.nOut, r->valueDim});
      } catch (const std::exception &e) {
        message = e.what();
      }
    }
    if (anyFailed(!message.empty(), message, rank))
      return 1;
  }

  // The check: every rank evaluates the reference over its own reduced block for the sampled
  // rows; the sums land on rank 0.
  std::vector<int64_t> checkRows = sampleRows(o, p.nOut);
  if (!checkRows.empty()) {
    std::vector<double> ref, got;
    message.clear();
    try {
      checkContribution(o, p, localOut, checkRows, ref, got);
    } catch (const std::exception &e) {
      message = e.what();
    }
    if (anyFailed(!message.empty(), message, rank))
      return 1;
    std::vector<double> refSum(ref.size()), gotSum(got.size());
    MPI_Reduce(ref.data(), refSum.data(), int(ref.size()), MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(got.data(), gotSum.data(), int(got.size()), MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
      status = report(o, refSum, gotSum, checkRows.size(), p.nOut) ? 0 : 3;
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  }
  return status;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  try {
    o = parseArgs(argc, argv);
  } catch (const UsageError &e) {
    // Every rank parses the same arguments; any rank may print (mpirun shows them all).
    if (*e.what()) {
      std::fprintf(stderr, "kconv-mpi-gaussian: %s\n%s", e.what(), kUsage);
      return 2;
    }
    std::printf("%s", kUsage);
    return 0;
  }
  if (o.single) {
    // No MPI_Init: the single-process run needs no MPI (and no mpirun).
    try {
      return runSingle(o);
    } catch (const std::exception &e) {
      std::fprintf(stderr, "kconv-mpi-gaussian: %s\n", e.what());
      return 1;
    }
  }
  MPI_Init(&argc, &argv);
  int status = 1;
  try {
    status = runMpi(o);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "kconv-mpi-gaussian: %s\n", e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return status;
}
