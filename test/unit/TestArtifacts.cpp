//===- TestArtifacts.cpp - artifacts for runtime tests, made without the compiler -===//
#include "TestArtifacts.h"
#include "kconv/ABI/Builtins.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace kconv::test {

const std::string &testKernelSource() {
  static const std::string source = R"C(
#include <math.h>
#include <stdint.h>

#define JBLOCK 64

/* The ABI descriptors (kconv/ABI/KernelABI.h), written out by hand as the documented format. */
const char kconv_cpu_gaussian_conv_abi[] =
    "kconv-cpu-abi 2 kind=sum k=1 axis=1 dtype=f32 value_dim=1 index_dim=0 lanes=16 vars=i3,j3,j1";
const char kconv_cpu_gaussian_vec_abi[] =
    "kconv-cpu-abi 2 kind=sum k=1 axis=1 dtype=f32 value_dim=3 index_dim=0 lanes=8 vars=i3,j3,j3";
const char kconv_cpu_transposed_abi[] =
    "kconv-cpu-abi 2 kind=sum k=1 axis=0 dtype=f32 value_dim=1 index_dim=0 lanes=4 vars=i3,i1,j3,p1";
const char kconv_cpu_nearest_abi[] =
    "kconv-cpu-abi 2 kind=min_argmin k=1 axis=1 dtype=f32 value_dim=3 index_dim=3 lanes=4 vars=i3,j3";
const char kconv_cpu_argmin_t_abi[] =
    "kconv-cpu-abi 2 kind=argmin k=1 axis=0 dtype=f32 value_dim=0 index_dim=1 lanes=8 vars=i1,j1";
const char kconv_cpu_knn_abi[] =
    "kconv-cpu-abi 2 kind=kmin_argkmin k=3 axis=1 dtype=f32 value_dim=6 index_dim=6 lanes=4 vars=i2,j2";
const char kconv_cpu_argknn_abi[] =
    "kconv-cpu-abi 2 kind=argkmin k=2 axis=1 dtype=f32 value_dim=0 index_dim=2 lanes=4 vars=i1,j1";

static int64_t round_up(int64_t n, int64_t lanes) { return (n + lanes - 1) / lanes * lanes; }

/* The runtime's side of the ABI: reducedStride = roundUp(nReduced, lanes), padding zero. */
static int packing_ok(const float *soa, int64_t dim, int64_t n, int64_t stride, int64_t lanes) {
  if (stride != round_up(n, lanes))
    return 0;
  for (int64_t c = 0; c < dim; ++c)
    for (int64_t j = n; j < stride; ++j)
      if (soa[c * stride + j] != 0.0f)
        return 0;
  return 1;
}

void kconv_cpu_gaussian_conv(const float *const *args, float *out, int64_t *indices, int64_t begin, int64_t end,
                             int64_t nReduced, int64_t stride) {
  const float *x = args[0], *y = args[1], *b = args[2];
  int ok = packing_ok(y, 3, nReduced, stride, 16) && packing_ok(b, 1, nReduced, stride, 16);
  for (int64_t i = begin; i < end; ++i) {
    float acc = 0.0f;
    for (int64_t j0 = 0; j0 < nReduced; j0 += JBLOCK) {
      int64_t j1 = j0 + JBLOCK < nReduced ? j0 + JBLOCK : nReduced;
      float partial = 0.0f;
      for (int64_t j = j0; j < j1; ++j) {
        float d0 = x[3 * i] - y[j], d1 = x[3 * i + 1] - y[stride + j],
              d2 = x[3 * i + 2] - y[2 * stride + j];
        partial += expf(-(d0 * d0 + d1 * d1 + d2 * d2)) * b[j];
      }
      acc += partial;
    }
    out[i] = ok ? acc : NAN;
  }
}

void kconv_cpu_gaussian_vec(const float *const *args, float *out, int64_t *indices, int64_t begin, int64_t end,
                            int64_t nReduced, int64_t stride) {
  const float *x = args[0], *y = args[1], *v = args[2];
  int ok = packing_ok(y, 3, nReduced, stride, 8) && packing_ok(v, 3, nReduced, stride, 8);
  for (int64_t i = begin; i < end; ++i) {
    float acc[3] = {0.0f, 0.0f, 0.0f};
    for (int64_t j0 = 0; j0 < nReduced; j0 += JBLOCK) {
      int64_t j1 = j0 + JBLOCK < nReduced ? j0 + JBLOCK : nReduced;
      float partial[3] = {0.0f, 0.0f, 0.0f};
      for (int64_t j = j0; j < j1; ++j) {
        float d0 = x[3 * i] - y[j], d1 = x[3 * i + 1] - y[stride + j],
              d2 = x[3 * i + 2] - y[2 * stride + j];
        float k = expf(-(d0 * d0 + d1 * d1 + d2 * d2));
        for (int c = 0; c < 3; ++c)
          partial[c] += k * v[c * stride + j];
      }
      for (int c = 0; c < 3; ++c)
        acc[c] += partial[c];
    }
    for (int c = 0; c < 3; ++c)
      out[3 * i + c] = ok ? acc[c] : NAN;
  }
}

/* The k-min kinds (docs/reductions.md): an ascending list of K (value, index) entries, +inf / -1
   while unfilled; NaN is skipped (v < last is false) and an equal value goes after the earlier
   index (ties to the smallest index). */
static void kmin_insert(float *vals, int64_t *idx, int64_t k, float v, int64_t j) {
  if (!(v < vals[k - 1]))
    return;
  int64_t p = k - 1;
  while (p > 0 && v < vals[p - 1]) {
    vals[p] = vals[p - 1];
    idx[p] = idx[p - 1];
    --p;
  }
  vals[p] = v;
  idx[p] = j;
}

/* A kernel must not touch the output its kind lacks: the runtime passes null for it. Breaking
   that contract makes the kernel write -2 (an impossible index) into the indices. */

/* min_argmin of X_i - Y_j per component (F = 3). */
void kconv_cpu_nearest(const float *const *args, float *values, int64_t *indices, int64_t begin,
                       int64_t end, int64_t nReduced, int64_t stride) {
  const float *x = args[0], *y = args[1];
  int ok = packing_ok(y, 3, nReduced, stride, 4);
  for (int64_t i = begin; i < end; ++i)
    for (int c = 0; c < 3; ++c) {
      float v = INFINITY;
      int64_t a = -1;
      for (int64_t j = 0; j < nReduced; ++j)
        kmin_insert(&v, &a, 1, x[3 * i + c] - y[c * stride + j], j);
      values[3 * i + c] = ok ? v : NAN;
      indices[3 * i + c] = ok ? a : -3;
    }
}

/* argmin over i of |X_i - Y_j|^2, axis 0 (output rows are j; X is the packed one). */
void kconv_cpu_argmin_t(const float *const *args, float *values, int64_t *indices, int64_t begin,
                        int64_t end, int64_t nReduced, int64_t stride) {
  const float *x = args[0], *y = args[1];
  int ok = packing_ok(x, 1, nReduced, stride, 8) && values == 0;
  for (int64_t j = begin; j < end; ++j) {
    float v = INFINITY;
    int64_t a = -1;
    for (int64_t i = 0; i < nReduced; ++i)
      kmin_insert(&v, &a, 1, (x[i] - y[j]) * (x[i] - y[j]), i);
    indices[j] = ok ? a : -2;
  }
}

/* kmin_argkmin, K = 3, of |X_i - Y_j| per component (F = 2): rows [K][F]. */
void kconv_cpu_knn(const float *const *args, float *values, int64_t *indices, int64_t begin,
                   int64_t end, int64_t nReduced, int64_t stride) {
  const float *x = args[0], *y = args[1];
  int ok = packing_ok(y, 2, nReduced, stride, 4);
  for (int64_t i = begin; i < end; ++i)
    for (int c = 0; c < 2; ++c) {
      float v[3] = {INFINITY, INFINITY, INFINITY};
      int64_t a[3] = {-1, -1, -1};
      for (int64_t j = 0; j < nReduced; ++j)
        kmin_insert(v, a, 3, fabsf(x[2 * i + c] - y[c * stride + j]), j);
      for (int k = 0; k < 3; ++k) {
        values[6 * i + 2 * k + c] = ok ? v[k] : NAN;
        indices[6 * i + 2 * k + c] = ok ? a[k] : -3;
      }
    }
}

/* argkmin, K = 2, of |X_i - Y_j|^2 (F = 1). */
void kconv_cpu_argknn(const float *const *args, float *values, int64_t *indices, int64_t begin,
                      int64_t end, int64_t nReduced, int64_t stride) {
  const float *x = args[0], *y = args[1];
  int ok = packing_ok(y, 1, nReduced, stride, 4) && values == 0;
  for (int64_t i = begin; i < end; ++i) {
    float v[2] = {INFINITY, INFINITY};
    int64_t a[2] = {-1, -1};
    for (int64_t j = 0; j < nReduced; ++j)
      kmin_insert(v, a, 2, (x[i] - y[j]) * (x[i] - y[j]), j);
    for (int k = 0; k < 2; ++k)
      indices[2 * i + k] = ok ? a[k] : -2;
  }
}

/* axis 0: output rows are j; X and A (category i) are the packed ones. */
void kconv_cpu_transposed(const float *const *args, float *out, int64_t *indices, int64_t begin, int64_t end,
                          int64_t nReduced, int64_t stride) {
  const float *x = args[0], *a = args[1], *y = args[2], *s = args[3];
  int ok = packing_ok(x, 3, nReduced, stride, 4) && packing_ok(a, 1, nReduced, stride, 4);
  for (int64_t j = begin; j < end; ++j) {
    float acc = 0.0f;
    for (int64_t i0 = 0; i0 < nReduced; i0 += JBLOCK) {
      int64_t i1 = i0 + JBLOCK < nReduced ? i0 + JBLOCK : nReduced;
      float partial = 0.0f;
      for (int64_t i = i0; i < i1; ++i) {
        float d0 = x[i] - y[3 * j], d1 = x[stride + i] - y[3 * j + 1],
              d2 = x[2 * stride + i] - y[3 * j + 2];
        partial += expf(-(s[0] * (d0 * d0 + d1 * d1 + d2 * d2))) * a[i];
      }
      acc += partial;
    }
    out[j] = ok ? acc : NAN;
  }
}
)C";
  return source;
}

namespace {

#if defined(__x86_64__)
constexpr const char *kHostArch = "x86_64";
#elif defined(__aarch64__)
constexpr const char *kHostArch = "aarch64";
#else
constexpr const char *kHostArch = "unknown";
#endif

VariableInfo var(const char *name, VarCategory category, int64_t dim) {
  VariableInfo v;
  v.name = name;
  v.category = category;
  v.dim = dim;
  return v;
}

FormulaOp op(const char *name, int64_t dim, std::vector<int64_t> operands) {
  FormulaOp o;
  o.name = name;
  o.dim = dim;
  o.operands = std::move(operands);
  return o;
}

ReductionInfo gaussian(const char *name, const char *symbol, const char *lanes) {
  ReductionInfo r;
  r.name = name;
  r.variables = {var("X", VarCategory::Vi, 3), var("Y", VarCategory::Vj, 3),
                 var("B", VarCategory::Vj, 1)};
  r.formula = {op("sqdist", 1, {0, 1}), op("neg", 1, {3}), op("exp", 1, {4}),
               op("mul", 1, {5, 2})};
  r.yield = 6;
  if (symbol) {
    r.attributes["cpu.symbol"] = symbol;
    r.attributes["cpu.lanes"] = lanes;
    r.attributes["cpu.jblock"] = "64";
    r.attributes["cpu.target"] = kHostArch;
  }
  return r;
}

} // namespace

ArtifactContents testArtifactContents() {
  ArtifactContents c;
  c.compilerVersion = "kconv-test-kernels (hand-written C, test/unit/TestArtifacts.cpp)";
  c.sourceName = "test/unit/TestArtifacts.cpp";
  c.reductions.push_back(gaussian("gaussian_conv", "kconv_cpu_gaussian_conv", "16"));

  ReductionInfo vec;
  vec.name = "gaussian_vec";
  vec.valueDim = 3;
  vec.variables = {var("X", VarCategory::Vi, 3), var("Y", VarCategory::Vj, 3),
                   var("V", VarCategory::Vj, 3)};
  vec.formula = {op("sqdist", 1, {0, 1}), op("neg", 1, {3}), op("exp", 1, {4}),
                 op("mul", 3, {5, 2})};
  vec.yield = 6;
  vec.attributes = {{"cpu.symbol", "kconv_cpu_gaussian_vec"},
                    {"cpu.lanes", "8"},
                    {"cpu.jblock", "64"},
                    {"cpu.target", kHostArch}};
  c.reductions.push_back(vec);

  ReductionInfo t;
  t.name = "transposed";
  t.axis = 0;
  t.variables = {var("X", VarCategory::Vi, 3), var("A", VarCategory::Vi, 1),
                 var("Y", VarCategory::Vj, 3), var("S", VarCategory::Pm, 1)};
  t.formula = {op("sqdist", 1, {0, 2}), op("mul", 1, {3, 4}), op("neg", 1, {5}),
               op("exp", 1, {6}), op("mul", 1, {7, 1})};
  t.yield = 8;
  t.attributes = {{"cpu.symbol", "kconv_cpu_transposed"},
                  {"cpu.lanes", "4"},
                  {"cpu.jblock", "64"},
                  {"cpu.target", kHostArch}};
  c.reductions.push_back(t);

  c.reductions.push_back(gaussian("no_cpu", nullptr, nullptr));

  return c;
}

ArtifactContents testIndexArtifactContents() {
  ArtifactContents c;
  c.compilerVersion = "kconv-test-kernels (hand-written C, test/unit/TestArtifacts.cpp)";
  c.sourceName = "test/unit/TestArtifacts.cpp";
  // f of dimension F.
  auto kind = [](const char *name, const char *mnemonic, int axis, int64_t k, int64_t f,
                 int64_t varDim, std::vector<FormulaOp> formula, const char *lanes) {
    ReductionInfo r;
    r.name = name;
    r.kind = mnemonic;
    r.axis = axis;
    r.k = k;
    const BuiltinReductionInfo &info = *lookupReductionByMnemonic(mnemonic);
    ReductionOutputDims dims = reductionOutputDims(info, f, k);
    r.valueDim = dims.values;
    r.indexDim = dims.indices;
    r.variables = {var("X", VarCategory::Vi, varDim), var("Y", VarCategory::Vj, varDim)};
    r.formula = std::move(formula);
    r.yield = int64_t(r.variables.size() + r.formula.size()) - 1;
    r.attributes = {{"cpu.symbol", std::string("kconv_cpu_") + name},
                    {"cpu.lanes", lanes},
                    {"cpu.jblock", "64"},
                    {"cpu.target", kHostArch}};
    return r;
  };
  c.reductions.push_back(kind("nearest", "min_argmin", 1, 1, 3, 3, {op("sub", 3, {0, 1})}, "4"));
  c.reductions.push_back(
      kind("argmin_t", "argmin", 0, 1, 1, 1, {op("sqdist", 1, {0, 1})}, "8"));
  c.reductions.push_back(kind("knn", "kmin_argkmin", 1, 3, 2, 2,
                              {op("sub", 2, {0, 1}), op("abs", 2, {2})}, "4"));
  c.reductions.push_back(
      kind("argknn", "argkmin", 1, 2, 1, 1, {op("sqdist", 1, {0, 1})}, "4"));
  return c;
}

std::string makeTempDir() {
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/kconv-test-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!mkdtemp(buffer.data()))
    throw std::runtime_error("mkdtemp failed for " + pattern);
  return buffer.data();
}

std::string compileSharedObject(const std::string &source, std::string &why) {
  const char *cc = std::getenv("CC");
  std::string compiler = cc && *cc ? cc : "cc";
  if (std::system(("command -v " + compiler + " >/dev/null 2>&1").c_str()) != 0) {
    why = "no C compiler ('" + compiler + "' not found; set CC)";
    return "";
  }
  std::string dir = makeTempDir();
  std::string src = dir + "/kernels.c", so = dir + "/kernels.so", log = dir + "/cc.log";
  {
    std::ofstream out(src);
    out << source;
  }
  std::string command = compiler + " -O2 -shared -fPIC -o " + so + " " + src + " -lm >" + log +
                        " 2>&1";
  int rc = std::system(command.c_str());
  std::string bytes;
  if (rc == 0) {
    std::ifstream in(so, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    bytes = s.str();
  } else {
    std::ifstream in(log);
    std::ostringstream s;
    s << in.rdbuf();
    why = "'" + command + "' failed: " + s.str();
  }
  std::remove(src.c_str());
  std::remove(so.c_str());
  std::remove(log.c_str());
  ::rmdir(dir.c_str());
  if (bytes.empty() && why.empty())
    why = "the C compiler produced an empty shared object";
  return bytes;
}

namespace {

/// Both test artifacts, their CPU code compiled once per process.
struct TestArtifactBytes {
  std::string sums, indexKinds, why;
};

const TestArtifactBytes &testArtifacts() {
  static std::once_flag once;
  static TestArtifactBytes bytes;
  std::call_once(once, [] {
    std::string so = compileSharedObject(testKernelSource(), bytes.why);
    if (so.empty())
      return;
    ArtifactContents c = testArtifactContents();
    c.cpuSharedObject = so;
    bytes.sums = serializeArtifact(c);
    c = testIndexArtifactContents();
    c.cpuSharedObject = std::move(so);
    bytes.indexKinds = serializeArtifact(c);
  });
  return bytes;
}

} // namespace

const std::string &testArtifactBytes(std::string &why) {
  why = testArtifacts().why;
  return testArtifacts().sums;
}

const std::string &testIndexArtifactBytes(std::string &why) {
  why = testArtifacts().why;
  return testArtifacts().indexKinds;
}

} // namespace kconv::test
