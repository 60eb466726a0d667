//===- KconvMpi.cpp - kconv reductions over MPI ranks ---------------------===//
//
// kconv::mpi::run (design: docs/scale-out.md):
//  1. Agreement. Every rank checks its own arguments (checkCall: what Artifact::run checks, with
//     no output rows) and allgathers a small fingerprint: its error code, hashes of the reduction
//     name, of the reduction's signature and formula, of the parameter values, the mode, its row
//     counts. Every rank evaluates the same table, so all find the same first problem and throw
//     the same Error; the strings for the message (the failing rank's message, the differing
//     names) are broadcast from the rank that has them.
//  2. Buffers are allocated; the ranks agree once more (an allocation may fail on one rank).
//  3. Data: Replicated: MPI_Allgatherv of each reduced-category variable, one Artifact::run.
//     Ring: blocks travel rank -> rank + 1 in global block order 0, 1, ..., P-1; rank r computes
//     block b at its step b (its own block at step r, straight from the caller's arrays), sending
//     block b on to rank r + 1 (unless that rank owns it) and receiving block b + 1 into the other
//     buffer while it computes; out = p_0, then out += p_b in order (accumulate()).
//  4. A failure during step 3 (an exception from Artifact::run) does not stop the rank's part of
//     the communication; the ranks agree on failures at the end.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <exception>
#include <new>
#include <string>

namespace kconv::mpi {

const char *toString(Mode mode) {
  switch (mode) {
  case Mode::Replicated:
    return "replicated";
  case Mode::Ring:
    return "ring";
  }
  return "?";
}

Mode parseMode(std::string_view text) {
  if (text == "replicated")
    return Mode::Replicated;
  if (text == "ring")
    return Mode::Ring;
  throw Error(ErrorCode::InvalidArgument,
              "unknown mode '" + std::string(text) + "' (expected ring or replicated)");
}

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// FNV-1a 64.
struct Hash {
  uint64_t value = 1469598103934665603ull;
  void bytes(const void *data, size_t size) {
    const unsigned char *p = static_cast<const unsigned char *>(data);
    for (size_t k = 0; k < size; ++k) {
      value ^= p[k];
      value *= 1099511628211ull;
    }
  }
  void str(std::string_view s) {
    int64_t n = int64_t(s.size());
    bytes(&n, sizeof n);
    bytes(s.data(), s.size());
  }
  void num(int64_t n) { bytes(&n, sizeof n); }
  int64_t get() const { return int64_t(value); }
};

/// What the computation depends on: kind, axis, dtype, output dimension, variables, formula. Not
/// the backend attributes (ranks may run differently compiled code for their own CPUs).
int64_t formulaHash(const ReductionInfo &r) {
  Hash h;
  h.str(r.kind);
  h.num(r.axis);
  h.str(r.dtype);
  h.num(r.valueDim);
  h.num(int64_t(r.variables.size()));
  for (const VariableInfo &v : r.variables) {
    h.str(v.name);
    h.num(int64_t(v.category));
    h.num(v.dim);
  }
  h.num(int64_t(r.formula.size()));
  for (const FormulaOp &op : r.formula) {
    h.str(op.name);
    h.num(op.dim);
    h.num(int64_t(op.operands.size()));
    for (int64_t o : op.operands)
      h.num(o);
    h.num(op.integer ? 1 : 0);
    h.num(op.integer.value_or(0));
    h.num(op.real ? 1 : 0);
    double real = op.real.value_or(0.0);
    h.bytes(&real, sizeof real);
  }
  h.num(r.yield);
  return h.get();
}

/// The table every rank contributes to (MPI_Allgather of int64s).
enum Field : int {
  FError,         // ErrorCode of this rank's local checks (0: none)
  FName,          // hash of the reduction name
  FFormula,       // formulaHash
  FMode,          // Mode
  FParams,        // hash of the parameter values
  FOutRows,       // rows.out
  FReducedRows,   // rows.reduced
  FGlobalReduced, // rows.globalReduced (-1: not stated)
  FCount
};

class Call {
public:
  Call(MPI_Comm comm) : comm_(comm) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }

  int rank() const { return rank_; }
  int size() const { return size_; }

  /// Broadcasts `text` from `root` (collective).
  std::string share(int root, const std::string &text) const {
    int64_t length = rank_ == root ? int64_t(text.size()) : 0;
    MPI_Bcast(&length, 1, MPI_INT64_T, root, comm_);
    std::string result = rank_ == root ? text : std::string(size_t(length), '\0');
    // Messages are short; chunked anyway so that a count never overflows an int.
    for (int64_t offset = 0; offset < length; offset += INT_MAX) {
      int count = int(std::min<int64_t>(INT_MAX, length - offset));
      MPI_Bcast(&result[size_t(offset)], count, MPI_CHAR, root, comm_);
    }
    return result;
  }

  /// Collective: every rank learns whether any rank failed; if one did, every rank throws the
  /// first failing rank's error. `code` 0 means this rank is fine.
  void agree(ErrorCode code, const std::string &message) const {
    int mine = int(code);
    std::vector<int> codes(size_t(size_), 0);
    MPI_Allgather(&mine, 1, MPI_INT, codes.data(), 1, MPI_INT, comm_);
    failIfAny(codes, message);
  }

  void failIfAny(const std::vector<int> &codes, const std::string &message) const {
    int first = -1, failing = 0;
    for (int q = 0; q < size_; ++q)
      if (codes[size_t(q)] != 0) {
        failing += 1;
        if (first < 0)
          first = q;
      }
    if (first < 0)
      return;
    std::string text = share(first, message);
    std::string also = failing > 1
                           ? " (" + std::to_string(failing - 1) +
                                 (failing > 2 ? " other ranks" : " other rank") + " failed too)"
                           : "";
    throw Error(ErrorCode(codes[size_t(first)]), prefix(first) + text + also);
  }

  std::string prefix(int rank) const {
    return "kconv::mpi::run: rank " + std::to_string(rank) + " of " + std::to_string(size_) + ": ";
  }

  [[noreturn]] void fail(const std::string &message) const {
    throw Error(ErrorCode::InvalidArgument, "kconv::mpi::run: " + message);
  }

private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

/// A duplicate of the caller's communicator for the call's messages, freed on every path.
struct OwnComm {
  explicit OwnComm(MPI_Comm parent) { MPI_Comm_dup(parent, &comm); }
  ~OwnComm() { MPI_Comm_free(&comm); }
  OwnComm(const OwnComm &) = delete;
  OwnComm &operator=(const OwnComm &) = delete;
  MPI_Comm comm = MPI_COMM_NULL;
};

/// An MPI datatype freed on every path.
struct OwnType {
  OwnType() = default;
  ~OwnType() {
    if (type != MPI_DATATYPE_NULL)
      MPI_Type_free(&type);
  }
  OwnType(const OwnType &) = delete;
  OwnType &operator=(const OwnType &) = delete;
  MPI_Datatype type = MPI_DATATYPE_NULL;
};

/// Waits for outstanding requests on every path (an exception must not leave a pending receive
/// into a freed buffer).
struct Requests {
  std::vector<MPI_Request> list;
  ~Requests() { waitAll(); }
  void add(MPI_Request r) { list.push_back(r); }
  void waitAll() {
    if (!list.empty())
      MPI_Waitall(int(list.size()), list.data(), MPI_STATUSES_IGNORE);
    list.clear();
  }
  void test() {
    if (list.empty())
      return;
    int done = 0;
    MPI_Testall(int(list.size()), list.data(), &done, MPI_STATUSES_IGNORE);
    if (done)
      list.clear();
  }
};

} // namespace

RunStats run(const Artifact &artifact, std::string_view reductionName, MPI_Comm parentComm,
             const std::vector<Input> &inputs, float *localOut, const LocalRows &rows,
             const Options &options) {
  const double start = now();
  RunStats stats;
  OwnComm own(parentComm);
  Call call(own.comm);
  const int P = call.size(), me = call.rank();

  //===--- 1. Local checks, then the fingerprint table -----------------------===//
  ErrorCode localCode = ErrorCode::Ok;
  std::string localMessage;
  const ReductionInfo *r = nullptr;
  std::vector<int64_t> mine(FCount, 0);
  // Runs `work` unless this rank has already failed; records its error for call.agree().
  auto guarded = [&](auto &&work) {
    if (localCode != ErrorCode::Ok)
      return;
    try {
      work();
    } catch (const Error &e) {
      localCode = e.code();
      localMessage = e.what();
    } catch (const std::bad_alloc &) {
      localCode = ErrorCode::Internal;
      localMessage = "out of memory";
    } catch (const std::exception &e) {
      localCode = ErrorCode::Internal;
      localMessage = e.what();
    }
  };
  guarded([&] {
    r = &artifact.reduction(reductionName);
    if (rows.out < 0 || rows.reduced < 0)
      throw Error(ErrorCode::InvalidArgument, "reduction '" + r->name +
                                                  "': local row counts must be >= 0, got " +
                                                  std::to_string(rows.out) + " output rows and " +
                                                  std::to_string(rows.reduced) + " reduced rows");
    if (rows.reduced > INT_MAX)
      throw Error(ErrorCode::InvalidArgument,
                  "reduction '" + r->name + "': a rank's reduced block has at most " +
                      std::to_string(INT_MAX) + " rows (MPI counts are ints), got " +
                      std::to_string(rows.reduced));
    if (options.mode != Mode::Replicated && options.mode != Mode::Ring)
      throw Error(ErrorCode::InvalidArgument, "unknown mode " + std::to_string(int(options.mode)));
    checkCall(artifact, *r, inputs, localOut, rows.out, rows.reduced, options.run);
    mine[FName] = [&] {
      Hash h;
      h.str(r->name);
      return h.get();
    }();
    mine[FFormula] = formulaHash(*r);
    Hash params;
    for (size_t k = 0; k < inputs.size(); ++k)
      if (r->variables[k].category == VarCategory::Pm)
        params.bytes(inputs[k].data, size_t(r->variables[k].dim) * sizeof(float));
    mine[FParams] = params.get();
  });
  mine[FError] = int64_t(localCode);
  mine[FMode] = int64_t(options.mode);
  mine[FOutRows] = rows.out;
  mine[FReducedRows] = rows.reduced;
  mine[FGlobalReduced] = rows.globalReduced;

  std::vector<int64_t> table(size_t(P) * FCount);
  MPI_Allgather(mine.data(), FCount, MPI_INT64_T, table.data(), FCount, MPI_INT64_T, own.comm);
  auto at = [&](int q, Field f) { return table[size_t(q) * FCount + f]; };

  // Same table on every rank: every rank takes the same branch below.
  {
    std::vector<int> codes(static_cast<size_t>(P));
    for (int q = 0; q < P; ++q)
      codes[size_t(q)] = int(at(q, FError));
    call.failIfAny(codes, localMessage);
  }
  for (int q = 1; q < P; ++q)
    if (at(q, FName) != at(0, FName)) {
      std::string a = call.share(0, r->name), b = call.share(q, r->name);
      call.fail("the ranks disagree on the reduction: rank 0 runs '" + a + "', rank " +
                std::to_string(q) + " runs '" + b + "'");
    }
  for (int q = 1; q < P; ++q)
    if (at(q, FFormula) != at(0, FFormula)) {
      std::string a = call.share(0, signatureString(*r) + " in " + artifact.sourceName());
      std::string b = call.share(q, signatureString(*r) + " in " + artifact.sourceName());
      call.fail("the ranks disagree on reduction '" + r->name +
                "' (signature or formula): rank 0 has " + a + ", rank " + std::to_string(q) +
                " has " + b);
    }
  for (int q = 1; q < P; ++q)
    if (at(q, FMode) != at(0, FMode))
      call.fail("the ranks disagree on the mode: rank 0 uses " +
                std::string(toString(Mode(at(0, FMode)))) + ", rank " + std::to_string(q) +
                " uses " + toString(Mode(at(q, FMode))));
  for (int q = 1; q < P; ++q)
    if (at(q, FParams) != at(0, FParams)) {
      std::string names;
      for (const VariableInfo &v : r->variables)
        if (v.category == VarCategory::Pm)
          names += (names.empty() ? "" : ", ") + v.name;
      call.fail("reduction '" + r->name + "': the parameter values (" + names +
                ") differ between rank 0 and rank " + std::to_string(q) +
                "; parameters must be identical on all ranks");
    }
  int64_t globalReduced = 0, maxBlock = 0;
  for (int q = 0; q < P; ++q) {
    globalReduced += at(q, FReducedRows);
    maxBlock = std::max(maxBlock, at(q, FReducedRows));
  }
  for (int q = 0; q < P; ++q)
    if (at(q, FGlobalReduced) >= 0 && at(q, FGlobalReduced) != globalReduced) {
      std::string blocks;
      for (int b = 0; b < P && b < 16; ++b)
        blocks += (b ? ", " : "") + std::to_string(at(b, FReducedRows));
      if (P > 16)
        blocks += ", ...";
      call.fail("reduction '" + r->name + "': rank " + std::to_string(q) + " says there are " +
                std::to_string(at(q, FGlobalReduced)) +
                " reduced rows in all, but the ranks' blocks add up to " +
                std::to_string(globalReduced) + " (" + blocks + ")");
    }
  if (options.mode == Mode::Ring) {
    int tagBound = 32767; // MPI guarantees at least this
    void *value = nullptr;
    int found = 0;
    MPI_Comm_get_attr(own.comm, MPI_TAG_UB, &value, &found);
    if (found && value)
      tagBound = std::max(tagBound, *static_cast<int *>(value));
    if (P - 1 > tagBound)
      call.fail("Mode::Ring tags block b with b, but this MPI's tags end at " +
                std::to_string(tagBound) + " (" + std::to_string(P) +
                " ranks); use Mode::Replicated");
  }
  if (options.mode == Mode::Replicated && globalReduced > INT_MAX)
    call.fail("reduction '" + r->name + "': Mode::Replicated gathers at most " +
              std::to_string(INT_MAX) + " reduced rows (MPI counts are ints), got " +
              std::to_string(globalReduced) + "; use Mode::Ring");

  //===--- 2. Buffers --------------------------------------------------------===//
  const ReductionInfo &red = *r;
  const bool axis1 = red.axis == 1;
  const int64_t outCount = rows.out * red.valueDim;
  std::vector<size_t> reducedVars; // argument indices of the reduced-category variables
  int64_t rowFloats = 0;           // floats per reduced row, all reduced variables together
  for (size_t k = 0; k < red.variables.size(); ++k)
    if (red.variables[k].category == red.reducedCategory()) {
      reducedVars.push_back(k);
      rowFloats += red.variables[k].dim;
    }
  std::vector<float> partial, buffers[2], gathered;
  try {
    if (options.mode == Mode::Replicated) {
      gathered.resize(size_t(globalReduced * rowFloats));
    } else if (P > 1) {
      partial.resize(size_t(outCount));
      buffers[0].resize(size_t(maxBlock * rowFloats));
      buffers[1].resize(size_t(maxBlock * rowFloats));
    }
    localCode = ErrorCode::Ok;
  } catch (const std::bad_alloc &) {
    localCode = ErrorCode::Internal;
    localMessage = "out of memory allocating " +
                   std::to_string(options.mode == Mode::Replicated
                                      ? globalReduced * rowFloats * 4
                                      : (2 * maxBlock * rowFloats + outCount) * 4) +
                   " bytes of buffers";
  }
  call.agree(localCode, localMessage);
  stats.bufferBytes =
      int64_t(sizeof(float)) * int64_t(gathered.size() + buffers[0].size() + buffers[1].size());
  stats.scratchBytes = int64_t(sizeof(float) * partial.size());

  // From here on a local failure only stops this rank's computing, never its communication.
  localCode = ErrorCode::Ok;
  localMessage.clear();
  auto timed = [&](double &counter, auto &&work) {
    double t = now();
    work();
    counter += now() - t;
  };

  //===--- 3a. Replicated ----------------------------------------------------===//
  if (options.mode == Mode::Replicated) {
    stats.blocks = 1;
    std::vector<int> counts(static_cast<size_t>(P)), displs(static_cast<size_t>(P));
    for (int q = 0, offset = 0; q < P; ++q) {
      counts[size_t(q)] = int(at(q, FReducedRows));
      displs[size_t(q)] = offset;
      offset += counts[size_t(q)];
    }
    std::vector<Input> full = inputs;
    int64_t offset = 0;
    for (size_t k : reducedVars) {
      const int64_t dim = red.variables[k].dim;
      float *dest = gathered.data() + offset;
      OwnType row;
      MPI_Type_contiguous(int(dim), MPI_FLOAT, &row.type);
      MPI_Type_commit(&row.type);
      float nothing = 0.0f; // send buffer of an empty block (never aliases the receive buffer)
      timed(stats.waitSeconds, [&] {
        MPI_Allgatherv(rows.reduced > 0 ? inputs[k].data : &nothing, int(rows.reduced), row.type,
                       dest, counts.data(), displs.data(), row.type, own.comm);
      });
      full[k] = Input(dest, globalReduced, dim);
      offset += globalReduced * dim;
    }
    stats.bytesReceived = int64_t(sizeof(float)) * (globalReduced - rows.reduced) * rowFloats;
    stats.bytesSent = int64_t(sizeof(float)) * rows.reduced * rowFloats * (P - 1);
    timed(stats.computeSeconds, [&] {
      guarded([&] {
        artifact.run(red.name, full, localOut, axis1 ? rows.out : globalReduced,
                     axis1 ? globalReduced : rows.out, options.run);
      });
    });
    call.agree(localCode, localMessage);
    stats.seconds = now() - start;
    return stats;
  }

  //===--- 3b. Ring ----------------------------------------------------------===//
  stats.blocks = P;
  const int left = (me + P - 1) % P, right = (me + 1) % P;
  // Block b's reduced variables inside a buffer: variable reducedVars[v] at offsets[v] * rows.
  std::vector<int64_t> varOffsets;
  for (int64_t offset = 0, v = 0; v < int64_t(reducedVars.size()); ++v) {
    varOffsets.push_back(offset);
    offset += red.variables[reducedVars[size_t(v)]].dim;
  }
  // One reduced row of all variables as a datatype, so that counts are rows (ints).
  OwnType rowType;
  MPI_Type_contiguous(int(rowFloats), MPI_FLOAT, &rowType.type);
  MPI_Type_commit(&rowType.type);
  // The own block straight from the caller's arrays (MPI_BOTTOM + absolute addresses): the same
  // type signature (floats) as rows.reduced rowTypes, so the receivers take it contiguously.
  OwnType ownType;
  std::vector<OwnType> varTypes(reducedVars.size());
  if (P > 1 && rows.reduced > 0 && !reducedVars.empty()) {
    std::vector<int> lengths;
    std::vector<MPI_Aint> addresses;
    std::vector<MPI_Datatype> types;
    for (size_t v = 0; v < reducedVars.size(); ++v) {
      MPI_Type_contiguous(int(red.variables[reducedVars[v]].dim), MPI_FLOAT, &varTypes[v].type);
      MPI_Type_commit(&varTypes[v].type);
      MPI_Aint address;
      MPI_Get_address(inputs[reducedVars[v]].data, &address);
      lengths.push_back(int(rows.reduced));
      addresses.push_back(address);
      types.push_back(varTypes[v].type);
    }
    MPI_Type_create_struct(int(lengths.size()), lengths.data(), addresses.data(), types.data(),
                           &ownType.type);
    MPI_Type_commit(&ownType.type);
  }

  const int pieces = [&] {
    if (options.progressPieces > 0)
      return int(std::min<int64_t>(options.progressPieces, std::max<int64_t>(rows.out, 1)));
    return int(std::clamp<int64_t>(rows.out / 64, 1, 8));
  }();

  // Block b travels with tag b (the checks made sure that P - 1 <= MPI_TAG_UB): the own block goes
  // out first, before the forwarded ones, and must still match the receive posted for it.
  auto tag = [](int b) { return b; };
  Requests requests, ownSend;
  // The own block leaves at once, straight from the caller's arrays: the right neighbour takes it
  // whenever it posts the receive (its step me - 1), without waiting for this rank's progress.
  if (P > 1) {
    MPI_Request req;
    MPI_Isend(MPI_BOTTOM, ownType.type == MPI_DATATYPE_NULL ? 0 : 1,
              ownType.type == MPI_DATATYPE_NULL ? rowType.type : ownType.type, right, tag(me),
              own.comm, &req);
    ownSend.add(req);
    stats.bytesSent += int64_t(sizeof(float)) * rows.reduced * rowFloats;
  }
  int slot = 0; // buffer holding the current foreign block
  if (P > 1 && me != 0) {
    MPI_Request req;
    MPI_Irecv(buffers[0].data(), int(at(0, FReducedRows)), rowType.type, left, tag(0), own.comm,
              &req);
    requests.add(req);
    timed(stats.waitSeconds, [&] { requests.waitAll(); });
    stats.bytesReceived += int64_t(sizeof(float)) * at(0, FReducedRows) * rowFloats;
  }
  std::vector<Input> blockInputs = inputs;
  for (int b = 0; b < P; ++b) {
    const int64_t blockRows = at(b, FReducedRows);
    const bool ownBlock = b == me;
    // Forward block b to the right unless the right neighbour owns it (the own block is out).
    if (P > 1 && b != right && !ownBlock) {
      MPI_Request req;
      MPI_Isend(buffers[slot].data(), int(blockRows), rowType.type, right, tag(b), own.comm, &req);
      requests.add(req);
      stats.bytesSent += int64_t(sizeof(float)) * blockRows * rowFloats;
    }
    // Receive block b + 1 into the buffer not in use, unless it is this rank's own.
    int nextSlot = ownBlock ? 0 : 1 - slot;
    if (b + 1 < P && b + 1 != me) {
      MPI_Request req;
      MPI_Irecv(buffers[nextSlot].data(), int(at(b + 1, FReducedRows)), rowType.type, left,
                tag(b + 1), own.comm, &req);
      requests.add(req);
      stats.bytesReceived += int64_t(sizeof(float)) * at(b + 1, FReducedRows) * rowFloats;
    }
    // Compute block b's partial (block 0 straight into the output), piece by piece.
    for (size_t v = 0; v < reducedVars.size(); ++v) {
      const size_t k = reducedVars[v];
      const float *data =
          ownBlock ? inputs[k].data : buffers[slot].data() + varOffsets[v] * blockRows;
      blockInputs[k] = Input(data, blockRows, red.variables[k].dim);
    }
    float *target = b == 0 ? localOut : partial.data();
    for (int p = 0; p < pieces && rows.out > 0; ++p) {
      const Block piece = blockRange(rows.out, pieces, p);
      std::vector<Input> pieceInputs = blockInputs;
      for (size_t k = 0; k < red.variables.size(); ++k)
        if (red.variables[k].category == red.outputCategory())
          pieceInputs[k] = Input(inputs[k].data + piece.begin * red.variables[k].dim, piece.size,
                                 red.variables[k].dim);
      timed(stats.computeSeconds, [&] {
        guarded([&] {
          artifact.run(red.name, pieceInputs, target + piece.begin * red.valueDim,
                       axis1 ? piece.size : blockRows, axis1 ? blockRows : piece.size, options.run);
        });
      });
      requests.test();
      ownSend.test();
    }
    if (b > 0)
      timed(stats.computeSeconds,
            [&] { guarded([&] { accumulate(localOut, partial.data(), outCount); }); });
    timed(stats.waitSeconds, [&] { requests.waitAll(); });
    if (b + 1 != me)
      slot = nextSlot;
  }
  timed(stats.waitSeconds, [&] { ownSend.waitAll(); });
  call.agree(localCode, localMessage);
  stats.seconds = now() - start;
  return stats;
}

} // namespace kconv::mpi
