//===- Npy.cpp - NumPy .npy files (float32 view) ---------------------------===//
//
// Format: "\x93NUMPY", major, minor, header length (u16 for version 1, u32 for 2 and 3), then a
// Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), } padded with
// spaces and a newline, then the data.
//
//===----------------------------------------------------------------------===//
#include "kconv/Runtime/Npy.h"
#include "kconv/Runtime/Error.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace kconv {
namespace {

constexpr char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

[[noreturn]] void bad(std::string_view name, const std::string &what) {
  throw Error(ErrorCode::InvalidArgument, std::string(name) + ": not a usable .npy file: " + what);
}

/// The text after `'key':` in the header dict (leading spaces skipped), or npos.
size_t findValue(const std::string &header, const std::string &key) {
  for (const char *quote : {"'", "\""}) {
    size_t at = header.find(quote + key + quote);
    if (at == std::string::npos)
      continue;
    size_t colon = header.find(':', at + key.size() + 2);
    if (colon == std::string::npos)
      return std::string::npos;
    size_t value = header.find_first_not_of(' ', colon + 1);
    return value;
  }
  return std::string::npos;
}

} // namespace

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t k = 0; k < shape.size(); ++k)
    s += (k ? ", " : "") + std::to_string(shape[k]);
  if (shape.size() == 1)
    s += ",";
  return s + ")";
}

NpyArray parseNpy(std::string_view bytes, std::string_view name) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    bad(name, "bad magic (expected \\x93NUMPY)");
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLen = 0, headerStart = 0;
  if (major == 1) {
    headerLen = size_t(static_cast<unsigned char>(bytes[8])) |
                size_t(static_cast<unsigned char>(bytes[9])) << 8;
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      bad(name, "truncated header");
    for (int k = 3; k >= 0; --k)
      headerLen = headerLen << 8 | static_cast<unsigned char>(bytes[8 + size_t(k)]);
    headerStart = 12;
  } else {
    bad(name, "format version " + std::to_string(major) + " is not supported (1, 2 or 3)");
  }
  if (bytes.size() < headerStart + headerLen)
    bad(name, "truncated header");
  std::string header(bytes.substr(headerStart, headerLen));

  NpyArray array;
  size_t descr = findValue(header, "descr");
  if (descr == std::string::npos || (header[descr] != '\'' && header[descr] != '"'))
    bad(name, "header has no 'descr'");
  size_t descrEnd = header.find(header[descr], descr + 1);
  if (descrEnd == std::string::npos)
    bad(name, "malformed 'descr'");
  array.sourceDtype = header.substr(descr + 1, descrEnd - descr - 1);
  if (array.sourceDtype != "<f4" && array.sourceDtype != "<f8")
    bad(name, "dtype '" + array.sourceDtype +
                  "' is not supported (expected float32 '<f4' or float64 '<f8')");

  size_t fortran = findValue(header, "fortran_order");
  if (fortran == std::string::npos)
    bad(name, "header has no 'fortran_order'");
  if (header.compare(fortran, 4, "True") == 0)
    bad(name, "Fortran order is not supported (save a C-contiguous array)");
  if (header.compare(fortran, 5, "False") != 0)
    bad(name, "malformed 'fortran_order'");

  size_t shape = findValue(header, "shape");
  if (shape == std::string::npos || header[shape] != '(')
    bad(name, "header has no 'shape'");
  size_t shapeEnd = header.find(')', shape);
  if (shapeEnd == std::string::npos)
    bad(name, "malformed 'shape'");
  std::string dims = header.substr(shape + 1, shapeEnd - shape - 1);
  uint64_t count = 1;
  std::istringstream items(dims);
  std::string item;
  while (std::getline(items, item, ',')) {
    size_t first = item.find_first_not_of(" L");
    if (first == std::string::npos)
      continue; // "(3,)" leaves an empty item
    char *end = nullptr;
    long long dim = std::strtoll(item.c_str() + first, &end, 10);
    while (*end == ' ' || *end == 'L')
      ++end;
    if (end == item.c_str() + first || *end != '\0' || dim < 0)
      bad(name, "malformed 'shape' (" + dims + ")");
    if (dim > 0 && count > (uint64_t(1) << 40) / uint64_t(dim))
      bad(name, "shape too large");
    count *= uint64_t(dim);
    array.shape.push_back(dim);
  }

  size_t itemSize = array.sourceDtype == "<f4" ? 4 : 8;
  size_t dataStart = headerStart + headerLen;
  uint64_t need = count * itemSize;
  uint64_t have = bytes.size() - dataStart;
  if (have < need)
    bad(name, "truncated: shape " + shapeString(array.shape) + " needs " + std::to_string(need) +
                  " bytes of data, the file has " + std::to_string(have));
  if (have > need)
    bad(name, std::to_string(have - need) + " unexpected bytes after the data of shape " +
                  shapeString(array.shape));
  array.data.resize(size_t(count));
  const char *src = bytes.data() + dataStart;
  if (itemSize == 4) {
    if (need > 0)
      std::memcpy(array.data.data(), src, size_t(need));
  } else {
    for (size_t k = 0; k < count; ++k) {
      double value;
      std::memcpy(&value, src + 8 * k, 8);
      array.data[k] = float(value);
    }
  }
  return array;
}

NpyArray readNpy(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    throw Error(ErrorCode::IoError, path + ": cannot open");
  std::ostringstream bytes;
  bytes << file.rdbuf();
  if (file.bad())
    throw Error(ErrorCode::IoError, path + ": cannot read");
  return parseNpy(bytes.str(), path);
}

namespace {

/// A version 1 file of `count` items of `itemSize` bytes, dtype `descr`.
std::string serialize(const void *data, size_t itemSize, const char *descr,
                      const std::vector<int64_t> &shape) {
  std::string dict = std::string("{'descr': '") + descr +
                     "', 'fortran_order': False, 'shape': " + shapeString(shape) + ", }";
  size_t total = 10 + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  std::string out(kMagic, sizeof(kMagic));
  out += '\x01';
  out += '\x00';
  out += char(dict.size() & 0xff);
  out += char(dict.size() >> 8);
  out += dict;
  size_t count = 1;
  for (int64_t d : shape)
    count *= size_t(d);
  if (count > 0)
    out.append(static_cast<const char *>(data), count * itemSize);
  return out;
}

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file)
    throw Error(ErrorCode::IoError, path + ": cannot open for writing");
  file.write(bytes.data(), std::streamsize(bytes.size()));
  file.close();
  if (!file)
    throw Error(ErrorCode::IoError, path + ": write failed");
}

} // namespace

std::string serializeNpy(const float *data, const std::vector<int64_t> &shape) {
  return serialize(data, sizeof(float), "<f4", shape);
}

std::string serializeNpyInt64(const int64_t *data, const std::vector<int64_t> &shape) {
  return serialize(data, sizeof(int64_t), "<i8", shape);
}

void writeNpy(const std::string &path, const float *data, const std::vector<int64_t> &shape) {
  writeFile(path, serializeNpy(data, shape));
}

void writeNpyInt64(const std::string &path, const int64_t *data,
                   const std::vector<int64_t> &shape) {
  writeFile(path, serializeNpyInt64(data, shape));
}

} // namespace kconv
