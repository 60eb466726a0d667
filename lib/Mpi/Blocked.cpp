//===- Blocked.cpp - block partition and the single-process blocked run ---===//
//
// No MPI here: the block partition every piece shares, the one partial-sum addition, and
// runBlocked, the single-process computation that kconv::mpi::run reproduces bit for bit.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include <string>

namespace kconv::mpi {

Block blockRange(int64_t n, int64_t blocks, int64_t b) {
  if (n < 0 || blocks < 1 || b < 0 || b >= blocks)
    throw Error(
        ErrorCode::InvalidArgument,
        "blockRange: need n >= 0, blocks >= 1 and 0 <= b < blocks, got n = " + std::to_string(n) +
            ", blocks = " + std::to_string(blocks) + ", b = " + std::to_string(b));
  const int64_t base = n / blocks, extra = n % blocks;
  Block block;
  block.begin = b * base + (b < extra ? b : extra);
  block.size = base + (b < extra ? 1 : 0);
  return block;
}

std::vector<int64_t> blockPartition(int64_t n, int64_t blocks) {
  if (blocks < 1)
    throw Error(ErrorCode::InvalidArgument,
                "blockPartition: need blocks >= 1, got " + std::to_string(blocks));
  std::vector<int64_t> sizes(static_cast<size_t>(blocks));
  for (int64_t b = 0; b < blocks; ++b)
    sizes[size_t(b)] = blockRange(n, blocks, b).size;
  return sizes;
}

// One IEEE float32 addition per element, in this translation unit only, so that the MPI layer and
// runBlocked round identically (this library is never built with -ffast-math).
void checkCall(const Artifact &artifact, const ReductionInfo &r, const std::vector<Input> &inputs,
               const float *out, int64_t nOut, int64_t nReduced, const RunOptions &options) {
  auto invalid = [&](const std::string &what) {
    throw Error(ErrorCode::InvalidArgument, "reduction '" + r.name + "': " + what);
  };
  // The ranks' partial results are added (accumulate): only a sum merges that way.
  if (r.kind != "sum")
    throw Error(ErrorCode::Unsupported,
                "reduction '" + r.name + "': kconv::mpi supports sum reductions only (it adds "
                "the partial results of the ranks), not " + r.kind);
  if (nOut < 0 || nReduced < 0)
    invalid("row counts must be >= 0, got " + std::to_string(nOut) + " output rows and " +
            std::to_string(nReduced) + " reduced rows");
  const bool axis1 = r.axis == 1;
  std::vector<Input> probe = inputs;
  if (probe.size() == r.variables.size()) {
    for (size_t k = 0; k < probe.size(); ++k) {
      const VariableInfo &v = r.variables[k];
      if (v.category != r.outputCategory())
        continue;
      auto var = [&] {
        return "input " + std::to_string(k) + " (" + v.name + ", " + toString(v.category) +
               ", dim " + std::to_string(v.dim) + ")";
      };
      if (probe[k].rows >= 0 && probe[k].rows != nOut)
        invalid(var() + " has " + std::to_string(probe[k].rows) + " rows, expected " +
                std::to_string(nOut) + " (the output rows)");
      if (!probe[k].data && nOut > 0)
        invalid(var() + " is a null pointer");
      probe[k].rows = -1;
      probe[k].data = nullptr;
    }
  }
  if (!out && nOut > 0)
    invalid("out is a null pointer (" + std::to_string(nOut) + " output rows)");
  // Artifact::run with no output rows checks everything else (input count, the reduced inputs'
  // shapes and pointers, dimensions, parameters, threads, the backend) and writes nothing.
  artifact.run(r.name, probe, nullptr, axis1 ? 0 : nReduced, axis1 ? nReduced : 0, options);
}

void accumulate(float *out, const float *partial, int64_t count) {
  for (int64_t k = 0; k < count; ++k)
    out[k] += partial[k];
}

void runBlocked(const Artifact &artifact, std::string_view reduction,
                const std::vector<Input> &inputs, float *out, int64_t nI, int64_t nJ,
                const std::vector<int64_t> &blockSizes, const RunOptions &options) {
  const ReductionInfo &r = artifact.reduction(reduction);
  const std::string where = "runBlocked: reduction '" + r.name + "'";
  if (nI < 0 || nJ < 0)
    throw Error(ErrorCode::InvalidArgument,
                where + ": nI and nJ must be >= 0, got nI = " + std::to_string(nI) +
                    ", nJ = " + std::to_string(nJ));
  const int64_t nOut = r.axis == 1 ? nI : nJ;
  const int64_t nReduced = r.axis == 1 ? nJ : nI;
  if (blockSizes.empty())
    throw Error(ErrorCode::InvalidArgument, where + ": no blocks (one at least)");
  int64_t total = 0;
  for (size_t b = 0; b < blockSizes.size(); ++b) {
    if (blockSizes[b] < 0)
      throw Error(ErrorCode::InvalidArgument, where + ": block " + std::to_string(b) +
                                                  " has a negative size " +
                                                  std::to_string(blockSizes[b]));
    total += blockSizes[b];
  }
  if (total != nReduced)
    throw Error(ErrorCode::InvalidArgument, where + ": the blocks add up to " +
                                                std::to_string(total) + " rows, but there are " +
                                                std::to_string(nReduced) + " reduced rows (" +
                                                (r.axis == 1 ? "nJ" : "nI") + ")");
  checkCall(artifact, r, inputs, out, nOut, nReduced, options);
  if (nOut == 0)
    return;

  const int64_t outCount = nOut * r.valueDim;
  std::vector<float> partial(blockSizes.size() > 1 ? size_t(outCount) : 0);
  std::vector<Input> blockInputs = inputs;
  int64_t begin = 0;
  for (size_t b = 0; b < blockSizes.size(); ++b) {
    const int64_t size = blockSizes[b];
    for (size_t k = 0; k < inputs.size(); ++k) {
      const VariableInfo &v = r.variables[k];
      if (v.category != r.reducedCategory())
        continue;
      blockInputs[k] =
          Input(inputs[k].data ? inputs[k].data + begin * v.dim : nullptr, size, v.dim);
    }
    float *target = b == 0 ? out : partial.data();
    artifact.run(reduction, blockInputs, target, r.axis == 1 ? nI : size, r.axis == 1 ? size : nJ,
                 options);
    if (b > 0)
      accumulate(out, partial.data(), outCount);
    begin += size;
  }
}

void runBlocked(const Artifact &artifact, std::string_view reduction,
                const std::vector<Input> &inputs, float *out, int64_t nI, int64_t nJ,
                int64_t blocks, const RunOptions &options) {
  const ReductionInfo &r = artifact.reduction(reduction);
  if (blocks < 1)
    throw Error(ErrorCode::InvalidArgument, "runBlocked: reduction '" + r.name +
                                                "': blocks must be >= 1, got " +
                                                std::to_string(blocks));
  if (nI < 0 || nJ < 0)
    throw Error(ErrorCode::InvalidArgument,
                "runBlocked: reduction '" + r.name + "': nI and nJ must be >= 0, got nI = " +
                    std::to_string(nI) + ", nJ = " + std::to_string(nJ));
  runBlocked(artifact, reduction, inputs, out, nI, nJ,
             blockPartition(r.axis == 1 ? nJ : nI, blocks), options);
}

} // namespace kconv::mpi
