// Embedding the kconv runtime: load an artifact, run its Gaussian convolution
//   out_i = sum_j exp(-|x_i - y_j|^2) b_j
// on random data, and check the result against a direct double-precision loop.
//
//   embed ARTIFACT [REDUCTION] [N] [M]
//
// REDUCTION defaults to "gaussian_conv". Its variables are matched by category and dimension
// (x: i 3, y: j 3, b: j 1), whatever they are called in the formula file.
#include <kconv/Runtime/Runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: embed ARTIFACT [REDUCTION] [N] [M]\n");
    return 2;
  }
  const std::string reductionName = argc > 2 ? argv[2] : "gaussian_conv";
  const int64_t n = argc > 3 ? std::atoll(argv[3]) : 2000;
  const int64_t m = argc > 4 ? std::atoll(argv[4]) : 3000;
  try {
    std::shared_ptr<kconv::Artifact> artifact = kconv::Artifact::load(argv[1]);
    const kconv::ReductionInfo &r = artifact->reduction(reductionName);
    if (r.axis != 1 || r.valueDim != 1 || r.variables.size() != 3)
      throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                         reductionName + " is not a Gaussian convolution: " +
                             kconv::signatureString(r));

    // Random normal inputs, row-major float32.
    std::mt19937 rng(42);
    std::normal_distribution<float> normal;
    auto randomArray = [&](int64_t count) {
      std::vector<float> v(static_cast<size_t>(count));
      for (float &value : v)
        value = normal(rng);
      return v;
    };
    std::vector<float> x = randomArray(n * 3), y = randomArray(m * 3), b = randomArray(m);

    // Bind by category and dimension.
    std::map<std::string, kconv::Input, std::less<>> inputs;
    for (const kconv::VariableInfo &v : r.variables) {
      if (v.category == kconv::VarCategory::Vi && v.dim == 3)
        inputs[v.name] = kconv::Input(x.data(), n, 3);
      else if (v.category == kconv::VarCategory::Vj && v.dim == 3)
        inputs[v.name] = kconv::Input(y.data(), m, 3);
      else if (v.category == kconv::VarCategory::Vj && v.dim == 1)
        inputs[v.name] = kconv::Input(b.data(), m, 1);
      else
        throw kconv::Error(kconv::ErrorCode::InvalidArgument,
                           "unexpected variable " + v.name + " in " + kconv::signatureString(r));
    }

    std::vector<float> out(static_cast<size_t>(n));
    artifact->run(reductionName, inputs, out.data(), n, m);

    double diff = 0, norm = 0;
    for (int64_t i = 0; i < n; ++i) {
      double want = 0;
      for (int64_t j = 0; j < m; ++j) {
        double d2 = 0;
        for (int c = 0; c < 3; ++c) {
          double d = double(x[size_t(3 * i + c)]) - double(y[size_t(3 * j + c)]);
          d2 += d * d;
        }
        want += std::exp(-d2) * double(b[size_t(j)]);
      }
      diff += (out[size_t(i)] - want) * (out[size_t(i)] - want);
      norm += want * want;
    }
    double error = std::sqrt(diff / norm);
    std::printf("embed: %s on N = %lld, M = %lld: relative error %.3e vs a double loop\n",
                reductionName.c_str(), (long long)n, (long long)m, error);
    if (!(error <= 1e-5)) {
      std::printf("embed: FAILED (tolerance 1e-5)\n");
      return 1;
    }
    std::printf("embed: OK\n");
    return 0;
  } catch (const kconv::Error &e) {
    std::fprintf(stderr, "embed: error: %s\n", e.what());
    return 1;
  }
}
