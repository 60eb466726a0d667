//===- NpyTest.cpp - .npy reading and writing ------------------------------===//
#include "TestArtifacts.h"
#include "kconv/Runtime/Error.h"
#include "kconv/Runtime/Npy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

using namespace kconv;

namespace {

/// A .npy file with a hand-written header (version 1 or 2) and raw data.
std::string npy(const std::string &dict, const std::string &data, int version = 1) {
  std::string header = dict;
  size_t prefix = version == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64)
    header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += char(version);
  out += '\0';
  uint32_t len = uint32_t(header.size());
  out.append(reinterpret_cast<const char *>(&len), version == 1 ? 2 : 4);
  return out + header + data;
}

template <typename T> std::string raw(std::vector<T> values) {
  return std::string(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(T));
}

void expectBad(const std::string &bytes, const std::string &fragment) {
  try {
    parseNpy(bytes, "in.npy");
    FAIL() << "accepted; expected '" << fragment << "'";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("in.npy: not a usable .npy file: " + fragment),
              std::string::npos)
        << e.what();
  }
}

} // namespace

TEST(Npy, RoundTrip) {
  std::vector<float> data = {1, 2, 3, 4, 5, 6};
  std::string bytes = serializeNpy(data.data(), {2, 3});
  EXPECT_EQ(bytes.size() % 64, 24u % 64); // header padded to 64 bytes, then 24 bytes of data
  NpyArray a = parseNpy(bytes, "x.npy");
  EXPECT_EQ(a.shape, std::vector<int64_t>({2, 3}));
  EXPECT_EQ(a.data, data);
  EXPECT_EQ(a.sourceDtype, "<f4");
  NpyArray empty = parseNpy(serializeNpy(nullptr, {0, 3}), "e.npy");
  EXPECT_EQ(empty.shape, std::vector<int64_t>({0, 3}));
  EXPECT_TRUE(empty.data.empty());
  EXPECT_EQ(shapeString({5}), "(5,)");
  EXPECT_EQ(shapeString({5, 3}), "(5, 3)");
  EXPECT_EQ(shapeString({}), "()");
}

TEST(Npy, ReadsVariants) {
  NpyArray a = parseNpy(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                            raw<double>({0.5, -1.25, 3e38})),
                        "d.npy");
  EXPECT_EQ(a.shape, std::vector<int64_t>({3}));
  EXPECT_EQ(a.data, std::vector<float>({0.5f, -1.25f, 3e38f}));
  EXPECT_EQ(a.sourceDtype, "<f8");
  NpyArray b = parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }",
                            raw<float>({7, 8}), 2),
                        "v2.npy");
  EXPECT_EQ(b.data, std::vector<float>({7, 8}));
  NpyArray c = parseNpy(
      npy("{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}", raw<float>({1, 2})), "o.npy");
  EXPECT_EQ(c.shape, std::vector<int64_t>({2}));
  NpyArray scalar =
      parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", raw<float>({4})),
               "s.npy");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.data, std::vector<float>({4}));
}

TEST(Npy, RejectsBadFiles) {
  std::string good = serializeNpy(std::vector<float>(6, 1.0f).data(), {2, 3});
  std::string magic = good;
  magic[1] = 'X';
  expectBad(magic, "bad magic");
  expectBad("", "bad magic");
  expectBad(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                raw<float>(std::vector<float>(6))),
            "Fortran order is not supported");
  expectBad(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", raw<int>({1, 2})),
            "dtype '<i4' is not supported");
  expectBad(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", raw<float>({1, 2})),
            "dtype '>f4' is not supported");
  expectBad(good.substr(0, good.size() - 1), "truncated: shape (2, 3) needs 24 bytes of data, "
                                             "the file has 23");
  expectBad(good.substr(0, 30), "truncated header");
  expectBad(good + "xx", "2 unexpected bytes after the data");
  expectBad(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", ""),
            "malformed 'shape'");
  expectBad(npy("{'descr': '<f4', 'fortran_order': False}", ""), "header has no 'shape'");
  std::string future = good;
  future[6] = 9;
  expectBad(future, "format version 9 is not supported");
}

TEST(Npy, Files) {
  std::string dir = test::makeTempDir();
  std::string path = dir + "/a.npy";
  std::vector<float> data = {1.5f, -2.5f};
  writeNpy(path, data.data(), {2, 1});
  NpyArray a = readNpy(path);
  EXPECT_EQ(a.shape, std::vector<int64_t>({2, 1}));
  EXPECT_EQ(a.data, data);
  std::remove(path.c_str());
  try {
    readNpy(path);
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::IoError);
    EXPECT_NE(std::string(e.what()).find(path + ": cannot open"), std::string::npos);
  }
  EXPECT_THROW(writeNpy(dir + "/no/such/dir/x.npy", data.data(), {2}), Error);
  ::rmdir(dir.c_str());
}

// The index outputs: int64 '<i8', C order, the values' header layout (64-byte aligned).
TEST(Npy, Int64Arrays) {
  const std::vector<int64_t> data = {0, -1, int64_t(1) << 40, 7, 8, 9};
  std::string bytes = serializeNpyInt64(data.data(), {2, 3});
  ASSERT_GE(bytes.size(), 10u);
  const size_t header = 10 + size_t(uint8_t(bytes[8])) + 256 * size_t(uint8_t(bytes[9]));
  EXPECT_EQ(header % 64, 0u);
  const std::string dict = bytes.substr(10, header - 10);
  EXPECT_NE(dict.find("'descr': '<i8'"), std::string::npos) << dict;
  EXPECT_NE(dict.find("'shape': (2, 3)"), std::string::npos) << dict;
  ASSERT_EQ(bytes.size(), header + data.size() * sizeof(int64_t));
  std::vector<int64_t> back(data.size());
  std::memcpy(back.data(), bytes.data() + header, back.size() * sizeof(int64_t));
  EXPECT_EQ(back, data);
}
