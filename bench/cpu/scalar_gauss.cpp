//===- scalar_gauss.cpp - the plain scalar C++ baseline ------------------===//
//
//   kconv-bench-scalar N REPEATS [THREADS]
//
// out_i = sum_j exp(-|x_i - y_j|^2) b_j, D = 3, float32, a plain double loop at -O3 (std::exp on
// float, no fast math), rows split over THREADS threads (default 1). Prints the median ms.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

static void gauss(const float *x, const float *y, const float *b, float *out, long lo, long hi,
                  long m) {
  for (long i = lo; i < hi; ++i) {
    float s = 0;
    for (long j = 0; j < m; ++j) {
      float d0 = x[3 * i] - y[3 * j], d1 = x[3 * i + 1] - y[3 * j + 1], d2 = x[3 * i + 2] - y[3 * j + 2];
      s += std::exp(-(d0 * d0 + d1 * d1 + d2 * d2)) * b[j];
    }
    out[i] = s;
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: kconv-bench-scalar N REPEATS [THREADS]\n");
    return 2;
  }
  long n = std::atol(argv[1]);
  int repeats = std::atoi(argv[2]), threads = argc > 3 ? std::atoi(argv[3]) : 1;
  std::mt19937_64 rng(1234);
  std::normal_distribution<float> normal;
  std::vector<float> x(3 * n), y(3 * n), b(n), out(n);
  for (auto *v : {&x, &y, &b})
    for (float &f : *v)
      f = normal(rng);
  std::vector<double> ms;
  for (int r = 0; r < repeats + 1; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t)
      pool.emplace_back(gauss, x.data(), y.data(), b.data(), out.data(), n * t / threads,
                        n * (t + 1) / threads, n);
    gauss(x.data(), y.data(), b.data(), out.data(), 0, n / threads, n);
    for (auto &t : pool)
      t.join();
    auto t1 = std::chrono::steady_clock::now();
    if (r > 0 || repeats == 0)
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("scalar N=%ld threads=%d: median %.4f ms (checksum %g)\n", n, threads,
              ms[ms.size() / 2], double(out[0]));
  return 0;
}
