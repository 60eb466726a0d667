//===- kconv-run.cpp - run a kconv artifact ---------------------------------===//
//
//   kconv-run ARTIFACT [REDUCTION] --input X=x.npy --input Y=y.npy --input B=b.npy -o out.npy
//   (x.npy of shape (B1, ..., Bk, n, 3): a batch of problems; out.npy then (B1, ..., Bk, n, 1))
//   kconv-run ARTIFACT gaussian_conv --random 100000 --check --bench
//   kconv-run ARTIFACT --list
//
// Exit status: 0 success, 1 error (bad artifact, bad input, ...), 2 bad command line, 3 --check
// above the tolerance.
//
//===----------------------------------------------------------------------===//
#include "kconv/ABI/BatchLayout.h"
#include "kconv/Runtime/Checked.h"
#include "kconv/Runtime/Npy.h"
#include "kconv/Runtime/Runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

const char *kUsage = R"(usage: kconv-run ARTIFACT [REDUCTION] [options]

Runs one reduction of a kconv artifact on the CPU (or GPU) on .npy or random float32 inputs.
REDUCTION may be left out when the artifact has only one.

inputs and outputs:
  --input NAME=FILE     bind variable NAME to a .npy file (float32 '<f4' or float64 '<f8',
                        converted; C order; shape (n, dim), or (n,) when dim = 1; a parameter
                        (dim,)); repeat for each variable. Batch dimensions: a file of shape
                        (B1, ..., Bk, n, dim) (3 or more dimensions; a parameter
                        (B1, ..., Bk, dim), 2 or more, (1, dim) excepted) holds one problem per
                        batch entry, all with the same nI and nJ; the files' batch shapes
                        broadcast NumPy-style (sizes equal, or 1; missing leading dimensions)
  --random N[,M]        random normal inputs for the variables not given by --input, with
                        nI = N and nJ = M (default M = N); unbatched (shared by every problem)
  --seed S              seed of --random and of --check's row sample (default 0)
  --output FILE, -o     write the result: the values as float32 .npy of shape
                        (nOut, value_dim) (KMin kinds: each row [K][F], K blocks of F); for a
                        kind with indices (ArgMin, Min_ArgMin, ArgKMin, ...) the indices as
                        int64 .npy of shape (nOut, index_dim) to --indices (index -1: none,
                        e.g. an empty reduced range); an index-only kind (ArgMin, ArgMax,
                        ArgKMin) writes its indices to FILE itself. With batch dimensions both
                        are (B1, ..., Bk, nOut, dim) over the broadcast batch shape, indices
                        per problem (0 .. nReduced-1)
  --indices FILE        where --output writes the indices (default: FILE with .npy replaced
                        by .indices.npy)
running:
  --threads T           threads (default: all CPUs, or $KCONV_NUM_THREADS)
  --device D            cpu, gpu or auto (default auto: the CPU code when usable)
  --gpus LIST           GPUs of a GPU run: ordinals like 0,1 or 'all' (the output rows are
                        sharded over them); default one GPU, or $KCONV_GPU_DEVICES
  --check               compare with the float64 reference on sampled rows (of every
                        batch entry, or of 8 sampled ones, the first and last included): prints
                        |out - ref| / |ref| over the finite values (a non-finite reference
                        value must be matched exactly), and checks each index by the value it
                        selects: the float64 formula value at the returned index must equal the
                        reference's selected value within --tolerance (relative, or absolute
                        below 1); -1 exactly where the reference has -1; exit 3 if either fails
  --check-rows R        rows sampled by --check (default 256; all rows if fewer)
  --tolerance T         --check's bound on the relative error (default 1e-5)
  --bench               time the call: warm-up, then --repeats runs; prints the median ms and
                        pairs/s (batch entries * nI * nJ / time)
  --repeats R           runs timed by --bench (default 10)
other:
  --list                list the artifact's reductions and their signatures
  --help, -h            this text

exit status: 0 ok, 1 error, 2 bad command line, 3 --check above the tolerance
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string artifact;
  std::string reduction;
  std::vector<std::pair<std::string, std::string>> inputs; // name, file
  std::optional<std::pair<int64_t, int64_t>> random;
  uint64_t seed = 0;
  std::string output;
  std::string indices; // --indices
  int threads = 0;
  kconv::Device device = kconv::Device::Auto;
  std::vector<int> gpus; // --gpus; -1: all
  bool check = false;
  int64_t checkRows = 256;
  double tolerance = 1e-5;
  bool bench = false;
  int repeats = 10;
  bool list = false;
};

int64_t parseInt(const std::string &text, const std::string &option, int64_t min) {
  char *end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < min)
    throw UsageError(option + " expects an integer >= " + std::to_string(min) + ", got '" +
                     text + "'");
  return value;
}

Options parseArgs(int argc, char **argv) {
  Options o;
  std::vector<std::string> positional;
  for (int k = 1; k < argc; ++k) {
    std::string arg = argv[k];
    std::string value;
    bool hasInline = false;
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      hasInline = true;
    }
    auto next = [&]() -> std::string {
      if (hasInline)
        return value;
      if (k + 1 >= argc)
        throw UsageError(arg + " expects a value");
      return argv[++k];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--input" || arg == "-i") {
      std::string binding = next();
      size_t eq = binding.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == binding.size())
        throw UsageError("--input expects NAME=FILE, got '" + binding + "'");
      o.inputs.push_back({binding.substr(0, eq), binding.substr(eq + 1)});
    } else if (arg == "--output" || arg == "-o") {
      o.output = next();
    } else if (arg == "--indices") {
      o.indices = next();
    } else if (arg == "--random") {
      std::string text = next();
      size_t comma = text.find(',');
      int64_t n = parseInt(text.substr(0, comma), "--random", 0);
      int64_t m = comma == std::string::npos ? n : parseInt(text.substr(comma + 1), "--random", 0);
      o.random = {n, m};
    } else if (arg == "--seed") {
      o.seed = uint64_t(parseInt(next(), "--seed", 0));
    } else if (arg == "--threads") {
      o.threads = int(parseInt(next(), "--threads", 1));
    } else if (arg == "--device") {
      std::string text = next();
      try {
        o.device = kconv::parseDevice(text);
      } catch (const kconv::Error &e) {
        throw UsageError(std::string("--device: ") + e.what());
      }
    } else if (arg == "--gpus") {
      std::string text = next();
      if (text == "all") {
        o.gpus = kconv::allGpus();
      } else {
        for (size_t pos = 0; pos <= text.size();) {
          size_t comma = text.find(',', pos);
          if (comma == std::string::npos)
            comma = text.size();
          o.gpus.push_back(int(parseInt(text.substr(pos, comma - pos), "--gpus", 0)));
          pos = comma + 1;
        }
      }
    } else if (arg == "--check") {
      o.check = true;
    } else if (arg == "--check-rows") {
      o.checkRows = parseInt(next(), "--check-rows", 1);
    } else if (arg == "--tolerance") {
      std::string text = next();
      char *end = nullptr;
      o.tolerance = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !(o.tolerance >= 0))
        throw UsageError("--tolerance expects a number >= 0, got '" + text + "'");
    } else if (arg == "--bench") {
      o.bench = true;
    } else if (arg == "--repeats") {
      o.repeats = int(parseInt(next(), "--repeats", 1));
    } else if (arg == "--list") {
      o.list = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw UsageError("unknown option '" + arg + "'");
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.empty())
    throw UsageError("missing ARTIFACT");
  if (positional.size() > 2)
    throw UsageError("unexpected argument '" + positional[2] + "'");
  o.artifact = positional[0];
  if (positional.size() == 2)
    o.reduction = positional[1];
  if (!o.indices.empty() && o.output.empty())
    throw UsageError("--indices needs --output");
  return o;
}

void list(const kconv::Artifact &art) {
  const kconv::ArtifactContents &c = art.contents();
  std::cout << art.sourceName() << ": compiler " << c.compilerVersion;
  if (!c.sourceName.empty())
    std::cout << ", source " << c.sourceName;
  std::cout << ", " << c.reductions.size() << " reduction(s)\n";
  for (const kconv::ReductionInfo &r : c.reductions) {
    std::cout << "  " << r.name << ": " << kconv::signatureString(r) << "\n";
    if (!r.fuses.empty()) {
      std::cout << "    fuses:";
      for (const std::string &member : r.fuses)
        std::cout << " " << member;
      std::cout << " (run together by runMany / run_many)\n";
    }
    std::string cpu = art.cpuUnavailableReason(r.name);
    std::string gpu = art.gpuUnavailableReason(r.name);
    std::cout << "    cpu: " << (cpu.empty() ? "yes" : "no (" + cpu + ")")
              << ", gpu: " << (gpu.empty() ? "yes" : "no (" + gpu + ")") << "\n";
  }
}

/// `count` floats, or an Error naming `what` when that is more than this process can allocate.
std::vector<float> allocate(int64_t count, const std::string &what) {
  size_t bytes = kconv::checkedBytes(count, sizeof(float), "bytes");
  try {
    return std::vector<float>(size_t(count));
  } catch (const std::exception &) { // bad_alloc, length_error
    throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                       "out of memory: " + what + " needs " + std::to_string(bytes) + " bytes");
  }
}

struct Bound {
  std::vector<float> data;
  int64_t rows = -1; // -1 for a parameter
  std::vector<int64_t> batch; // leading batch dimensions of the file (packed)
  std::vector<int64_t> shape; // the file's shape (messages)
  std::string file;           // empty for --random
};

/// Whether two batch shapes broadcast (NumPy: aligned on the right, sizes equal or 1).
bool broadcasts(const std::vector<int64_t> &a, const std::vector<int64_t> &b) {
  for (size_t d = 1; d <= std::min(a.size(), b.size()); ++d) {
    int64_t x = a[a.size() - d], y = b[b.size() - d];
    if (x != y && x != 1 && y != 1)
      return false;
  }
  return true;
}

int run(const Options &o) {
  auto art = kconv::Artifact::load(o.artifact);
  if (o.list) {
    list(*art);
    return 0;
  }
  std::string name = o.reduction;
  if (name.empty()) {
    if (art->reductions().size() != 1) {
      std::string names;
      for (const auto &r : art->reductions())
        names += (names.empty() ? "" : ", ") + r.name;
      throw UsageError("the artifact has " + std::to_string(art->reductions().size()) +
                       " reductions (" + names + "): name one");
    }
    name = art->reductions()[0].name;
  }
  const kconv::ReductionInfo &r = art->reduction(name);

  // Bind the files.
  std::map<std::string, size_t> index;
  for (size_t k = 0; k < r.variables.size(); ++k)
    index[r.variables[k].name] = k;
  std::vector<std::optional<Bound>> bound(r.variables.size());
  std::optional<int64_t> nI, nJ;
  std::map<int, std::string> rowSource; // category -> the file that set its row count
  for (const auto &[var, file] : o.inputs) {
    auto it = index.find(var);
    if (it == index.end()) {
      std::string names;
      for (const auto &v : r.variables)
        names += (names.empty() ? "" : ", ") + v.name;
      throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                         "--input " + var + "=" + file + ": reduction '" + r.name +
                             "' has no variable '" + var + "' (its variables: " + names + ")");
    }
    const kconv::VariableInfo &v = r.variables[it->second];
    if (bound[it->second])
      throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                         "variable '" + var + "' is bound twice by --input");
    kconv::NpyArray a = kconv::readNpy(file);
    const auto &s = a.shape;
    Bound b;
    b.shape = s;
    b.file = file;
    std::string expected;
    const std::string d = std::to_string(v.dim);
    if (v.category == kconv::VarCategory::Pm) {
      // (dim,), its row form (1, dim), () for dim 1; (B1, ..., Bk, dim) a batch.
      bool ok = (s.size() == 1 && s[0] == v.dim) || (s.size() == 2 && s[0] == 1 && s[1] == v.dim) ||
                (s.empty() && v.dim == 1);
      if (!ok && s.size() >= 2 && s.back() == v.dim) {
        ok = true;
        b.batch.assign(s.begin(), s.end() - 1);
      }
      expected = "(" + d + ",), or (B1, ..., Bk, " + d + ") for a batch";
      if (!ok)
        throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                           file + ": shape " + kconv::shapeString(s) + " does not fit parameter " +
                               var + " of dimension " + std::to_string(v.dim) + ": expected " +
                               expected);
    } else {
      bool ok = (s.size() == 2 && s[1] == v.dim) || (s.size() == 1 && v.dim == 1) ||
                (s.size() >= 3 && s.back() == v.dim);
      expected = (v.dim == 1 ? "(n, 1) or (n,)" : "(n, " + d + ")") + ", or (B1, ..., Bk, n, " +
                 d + ") for a batch";
      if (!ok)
        throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                           file + ": shape " + kconv::shapeString(s) + " does not fit variable " +
                               var + " (" + kconv::toString(v.category) + ", dimension " +
                               std::to_string(v.dim) + "): expected " + expected);
      if (s.size() >= 3)
        b.batch.assign(s.begin(), s.end() - 2);
      b.rows = s.size() >= 3 ? s[s.size() - 2] : s[0];
      std::optional<int64_t> &n = v.category == kconv::VarCategory::Vi ? nI : nJ;
      int cat = int(v.category);
      if (n && *n != b.rows)
        throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                           file + " has " + std::to_string(b.rows) + " rows but " +
                               rowSource[cat] + " has " + std::to_string(*n) + " (both are " +
                               (v.category == kconv::VarCategory::Vi ? "nI" : "nJ") + ")");
      n = b.rows;
      rowSource[cat] = file;
    }
    b.data = std::move(a.data);
    bound[it->second] = std::move(b);
  }

  // Sizes and random inputs.
  if (o.random) {
    auto conflict = [&](const char *what, int64_t fromFile, int64_t fromRandom, int cat) {
      if (fromFile != fromRandom)
        throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                           rowSource[cat] + " gives " + what + " = " + std::to_string(fromFile) +
                               " but --random says " + std::to_string(fromRandom));
    };
    if (nI)
      conflict("nI", *nI, o.random->first, int(kconv::VarCategory::Vi));
    if (nJ)
      conflict("nJ", *nJ, o.random->second, int(kconv::VarCategory::Vj));
    nI = o.random->first;
    nJ = o.random->second;
  }
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (size_t k = 0; k < r.variables.size(); ++k) {
    if (bound[k])
      continue;
    const kconv::VariableInfo &v = r.variables[k];
    if (!o.random)
      throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                         "no input for variable " + v.name + " (" + kconv::toString(v.category) +
                             ", dimension " + std::to_string(v.dim) +
                             "): give --input " + v.name + "=FILE or --random N[,M]");
    Bound b;
    int64_t rows = v.category == kconv::VarCategory::Vi   ? *nI
                   : v.category == kconv::VarCategory::Vj ? *nJ
                                                          : 1;
    b.rows = v.category == kconv::VarCategory::Pm ? -1 : rows;
    try {
      b.data = allocate(kconv::checkedMul(rows, v.dim, "rows x dim"),
                        "random input " + v.name);
    } catch (const kconv::Error &e) {
      throw kconv::Error(e.code(), "--random: variable " + v.name + " (" +
                                       std::to_string(rows) + " rows of dimension " +
                                       std::to_string(v.dim) + "): " + e.what());
    }
    for (float &x : b.data)
      x = normal(rng);
    bound[k] = std::move(b);
  }
  // A reduction may have no variable of one category (its count is then irrelevant).
  int64_t ni = nI.value_or(0), nj = nJ.value_or(0);
  if (r.axis == 1 ? !nI : !nJ)
    throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                       "cannot tell the number of output rows: give --random N[,M]");
  if (r.axis == 1 ? !nJ : !nI)
    throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                       "cannot tell the number of reduced rows: give --random N[,M]");

  std::vector<kconv::Input> inputs;
  std::vector<const float *> pointers;
  for (size_t k = 0; k < r.variables.size(); ++k) {
    const kconv::VariableInfo &v = r.variables[k];
    kconv::Input in(bound[k]->data.data(),
                    v.category == kconv::VarCategory::Pm ? 1 : bound[k]->rows, v.dim);
    in.batch = bound[k]->batch;
    inputs.push_back(in);
    pointers.push_back(bound[k]->data.data());
  }
  // The batch: the broadcast of the files' batch shapes; a mismatch names both files.
  std::vector<int64_t> batch;
  try {
    batch = art->broadcastBatchShape(name, inputs);
  } catch (const kconv::Error &e) {
    for (size_t k = 0; k < bound.size(); ++k)
      for (size_t l = 0; l < k; ++l)
        if (!broadcasts(bound[k]->batch, bound[l]->batch)) {
          auto describe = [&](size_t q) {
            return "--input " + r.variables[q].name + "=" + bound[q]->file + " (shape " +
                   kconv::shapeString(bound[q]->shape) + ", batch " +
                   kconv::shapeString(bound[q]->batch) + ")";
          };
          throw kconv::Error(e.code(), describe(k) + " and " + describe(l) + ": " + e.what());
        }
    throw;
  }
  int64_t problems = 1;
  for (int64_t size : batch)
    problems = kconv::checkedMul(problems, size, "batch entries");
  const int64_t nOut = r.axis == 1 ? ni : nj;
  std::vector<float> values;
  std::vector<int64_t> indices;
  try {
    const int64_t outRows = kconv::checkedMul(problems, nOut, "batch entries x nOut");
    if (r.valueDim > 0)
      values = allocate(std::max<int64_t>(kconv::checkedMul(outRows, r.valueDim,
                                                            "nOut x value_dim"),
                                          1),
                        "the values");
    if (r.indexDim > 0) {
      int64_t count =
          std::max<int64_t>(kconv::checkedMul(outRows, r.indexDim, "nOut x index_dim"), 1);
      kconv::checkedBytes(count, sizeof(int64_t), "bytes");
      indices.resize(size_t(count));
    }
  } catch (const std::exception &e) { // also bad_alloc
    throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                       "output of " + std::to_string(nOut) + " rows (value_dim " +
                           std::to_string(r.valueDim) + ", index_dim " +
                           std::to_string(r.indexDim) + ")" +
                           (batch.empty() ? "" : " per entry of batch " +
                                                     kconv::shapeString(batch)) +
                           ": " + e.what());
  }
  // The outputs' shapes: (batch..., nOut, dim).
  auto outputShape = [&](int64_t dim) {
    std::vector<int64_t> shape = batch;
    shape.push_back(nOut);
    shape.push_back(dim);
    return shape;
  };
  const kconv::Outputs outputs{values.empty() ? nullptr : values.data(),
                               indices.empty() ? nullptr : indices.data()};
  kconv::RunOptions runOptions;
  runOptions.device = o.device;
  runOptions.threads = o.threads;
  runOptions.devices = o.gpus;
  const int threads = o.threads > 0 ? o.threads : kconv::defaultThreadCount();

  auto once = [&] {
    auto start = std::chrono::steady_clock::now();
    art->run(name, inputs, outputs, ni, nj, runOptions);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  double firstMs = once();
  std::string shapes = batch.empty() ? "" : "batch " + kconv::shapeString(batch) + ", ";
  if (r.valueDim > 0)
    shapes += "output " + kconv::shapeString(outputShape(r.valueDim));
  if (r.indexDim > 0)
    shapes += std::string(r.valueDim > 0 ? ", " : "") + "indices " +
              kconv::shapeString(outputShape(r.indexDim));
  std::printf("%s: nI = %lld, nJ = %lld, %s, %d thread(s): %.3f ms\n", r.name.c_str(),
              (long long)ni, (long long)nj, shapes.c_str(), threads, firstMs);

  if (o.bench) {
    std::vector<double> times;
    for (int k = 0; k < o.repeats; ++k)
      times.push_back(once());
    std::sort(times.begin(), times.end());
    size_t n = times.size();
    double median = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    double pairs = double(problems) * double(ni) * double(nj);
    std::printf("bench: median %.4f ms (min %.4f, max %.4f) over %d runs after a warm-up, "
                "%.3e pairs/s\n",
                median, times.front(), times.back(), o.repeats,
                median > 0 ? pairs / (median * 1e-3) : 0.0);
  }

  if (!o.output.empty()) {
    std::string indicesPath = r.valueDim == 0 ? o.output : o.indices;
    if (indicesPath.empty()) {
      const std::string suffix = ".npy";
      bool npy = o.output.size() >= suffix.size() &&
                 o.output.compare(o.output.size() - suffix.size(), suffix.size(), suffix) == 0;
      indicesPath = (npy ? o.output.substr(0, o.output.size() - suffix.size()) : o.output) +
                    ".indices.npy";
    }
    if (r.valueDim > 0) {
      kconv::writeNpy(o.output, values.data(), outputShape(r.valueDim));
      std::printf("wrote %s, shape %s\n", o.output.c_str(),
                  kconv::shapeString(outputShape(r.valueDim)).c_str());
    }
    if (r.indexDim > 0) {
      kconv::writeNpyInt64(indicesPath, indices.data(), outputShape(r.indexDim));
      std::printf("wrote %s, int64 indices, shape %s\n", indicesPath.c_str(),
                  kconv::shapeString(outputShape(r.indexDim)).c_str());
    }
  }

  int status = 0;
  if (o.check) {
    std::vector<int64_t> rows;
    if (nOut <= o.checkRows) {
      for (int64_t k = 0; k < nOut; ++k)
        rows.push_back(k);
    } else {
      std::mt19937_64 pick(o.seed ^ 0x9e3779b97f4a7c15ULL);
      std::uniform_int_distribution<int64_t> any(0, nOut - 1);
      std::set<int64_t> chosen;
      while (int64_t(chosen.size()) < o.checkRows)
        chosen.insert(any(pick));
      rows.assign(chosen.begin(), chosen.end());
    }
    // The batch entries checked: all of up to 8, else the first, the last and 6 sampled.
    std::vector<int64_t> entries;
    if (problems <= 8) {
      for (int64_t e = 0; e < problems; ++e)
        entries.push_back(e);
    } else {
      std::mt19937_64 pick(o.seed ^ 0x5851f42d4c957f2dULL);
      std::uniform_int_distribution<int64_t> any(1, problems - 2);
      std::set<int64_t> chosen = {0, problems - 1};
      while (chosen.size() < 8)
        chosen.insert(any(pick));
      entries.assign(chosen.begin(), chosen.end());
    }
    kconv::ValueCheck values_;
    values_.error = 0;
    kconv::IndexCheck indices_;
    bool anyRelative = entries.empty();
    // Each problem's arrays: the files' (packed) batches laid out as the runtime does.
    std::vector<std::vector<int64_t>> along;
    for (size_t k = 0; k < pointers.size(); ++k) {
      const kconv::VariableInfo &v = r.variables[k];
      const int64_t rows = v.category == kconv::VarCategory::Vi   ? ni
                           : v.category == kconv::VarCategory::Vj ? nj
                                                                  : 1;
      along.push_back(kconv::abi::BatchLayout::stridesAlong(batch, bound[k]->batch, {},
                                                            rows * v.dim));
    }
    const kconv::abi::BatchLayout layout = kconv::abi::BatchLayout::collapse(batch, along);
    for (int64_t e : entries) {
      std::vector<const float *> at(pointers.size());
      for (size_t k = 0; k < pointers.size(); ++k)
        at[k] = pointers[k] + layout.offset(k, e);
      kconv::ReferenceOutputs ref = kconv::referenceRun(r, at, ni, nj, rows);
      if (r.valueDim > 0) {
        kconv::ValueCheck c =
            kconv::checkValues(r, rows, ref, values.data() + e * nOut * r.valueDim);
        // The worst entry; NaN stays NaN (and fails).
        if (!(c.error <= values_.error))
          values_.error = c.error;
        values_.relative = values_.relative && c.relative;
        anyRelative = anyRelative || c.relative;
        values_.mismatched += c.mismatched;
      }
      if (r.indexDim > 0) {
        kconv::IndexCheck c = kconv::checkIndices(
            r, at, ni, nj, rows, ref, indices.data() + e * nOut * r.indexDim, o.tolerance);
        indices_.checked += c.checked;
        indices_.offValue += c.offValue;
        indices_.invalid += c.invalid;
      }
    }
    const std::string of =
        batch.empty() ? std::string()
                      : " of " + std::to_string(entries.size()) + " of " +
                            std::to_string(problems) + " batch entries";
    bool ok = true;
    if (r.valueDim > 0) {
      const kconv::ValueCheck &check = values_;
      const bool valuesOk = check.ok(o.tolerance);
      std::printf("check: %s error %.3e on %zu of %lld rows%s vs the float64 reference "
                  "(tolerance %.1e)%s: %s\n",
                  check.relative ? "relative"
                  : anyRelative  ? "relative (absolute for the entries whose reference is 0)"
                                 : "absolute (the reference is 0)",
                  check.error,
                  rows.size(), (long long)nOut, of.c_str(), o.tolerance,
                  check.mismatched ? (", " + std::to_string(check.mismatched) +
                                      " non-finite reference value(s) not matched").c_str()
                                   : "",
                  valuesOk ? "OK" : "FAILED");
      ok = ok && valuesOk;
    }
    if (r.indexDim > 0) {
      const kconv::IndexCheck &check = indices_;
      std::printf("check: indices: %lld of %lld on %zu rows%s select a value off the "
                  "reference's (tolerance %.1e), %lld out of range or -1 where the reference has "
                  "none: %s\n",
                  (long long)check.offValue, (long long)check.checked, rows.size(), of.c_str(),
                  o.tolerance, (long long)check.invalid, check.ok() ? "OK" : "FAILED");
      ok = ok && check.ok();
    }
    if (!ok)
      status = 3;
  }
  return status;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(parseArgs(argc, argv));
  } catch (const UsageError &e) {
    std::fprintf(stderr, "kconv-run: error: %s\n(kconv-run --help for usage)\n", e.what());
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "kconv-run: error: %s\n", e.what());
    return 1;
  }
}
