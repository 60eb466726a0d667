//===- Artifact.cpp - the kconv artifact file format ----------------------===//
#include "kconv/Runtime/Artifact.h"
#include "kconv/Runtime/Error.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace kconv {
namespace {

constexpr char kMagic[8] = {'K', 'C', 'O', 'N', 'V', 'A', 'R', 'T'};
constexpr size_t kHeaderSize = 24;       // magic, version, section count, content hash
constexpr size_t kSectionEntrySize = 24; // kind, reserved, offset, size

enum SectionKind : uint32_t {
  Metadata = 1,
  CpuSharedObject = 2,
  Ptx = 3,
  Cubin = 4,
  Signature = 5,
};

uint64_t fnv1a(uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

template <typename T> void put(std::string &out, T value) {
  out.append(reinterpret_cast<const char *>(&value), sizeof(T));
}
template <typename T> T get(std::string_view bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

[[noreturn]] void fail(std::string_view source, const std::string &what) {
  throw Error(ErrorCode::InvalidArtifact,
              std::string(source) + ": not a valid kconv artifact: " + what);
}

VarCategory parseCategory(const std::string &text, std::string_view source) {
  if (text == "i")
    return VarCategory::Vi;
  if (text == "j")
    return VarCategory::Vj;
  if (text == "p")
    return VarCategory::Pm;
  fail(source, "unknown variable category '" + text + "'");
}

/// The words of one metadata line. Parsed by hand (std::from_chars, strtod), not with iostreams:
/// a host process (e.g. Python with torch loaded) may interpose libstdc++'s stream extractors, and
/// the runtime must read its artifacts whatever else is loaded.
struct MetadataLine {
  std::string_view text;
  std::vector<std::string_view> words;

  explicit MetadataLine(std::string_view line) : text(line) {
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i])))
        ++i;
      size_t start = i;
      while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])))
        ++i;
      if (i > start)
        words.push_back(line.substr(start, i - start));
    }
  }
  /// Everything after word `k`, leading blanks dropped (free text like the compiler version).
  std::string restAfter(size_t k) const {
    if (words.size() <= k + 1)
      return "";
    return std::string(text.substr(size_t(words[k + 1].data() - text.data())));
  }
};

template <typename Int> bool parseInt(std::string_view word, Int &value) {
  auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), value);
  return ec == std::errc() && end == word.data() + word.size();
}

bool parseReal(std::string_view word, double &value) {
  std::string copy(word);
  char *end = nullptr;
  errno = 0;
  value = std::strtod(copy.c_str(), &end);
  return !copy.empty() && end == copy.c_str() + copy.size() && errno != ERANGE;
}

/// Reads the metadata text back; every malformed line is an error naming its line number.
void parseMetadata(std::string_view text, ArtifactContents &contents, std::string_view source) {
  int lineNo = 0;
  ReductionInfo *current = nullptr;
  std::string_view line;
  auto bad = [&](const std::string &why) {
    fail(source, "metadata line " + std::to_string(lineNo) + ": " + why + ": '" +
                     std::string(line) + "'");
  };
  for (size_t pos = 0; pos < text.size();) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos)
      eol = text.size();
    line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++lineNo;
    MetadataLine words(line);
    const std::vector<std::string_view> &w = words.words;
    if (w.empty())
      continue;
    std::string_view key = w[0];
    auto word = [&](size_t k) { return k < w.size() ? std::string(w[k]) : std::string(); };
    if (lineNo == 1) {
      uint32_t version = 0;
      if (key != "kconv-metadata" || w.size() != 2 || !parseInt(w[1], version) ||
          version != kArtifactFormatVersion)
        bad("expected 'kconv-metadata " + std::to_string(kArtifactFormatVersion) + "'");
      continue;
    }
    if (key == "compiler") {
      contents.compilerVersion = words.restAfter(0);
    } else if (key == "source") {
      contents.sourceName = words.restAfter(0);
    } else if (key == "reduction") {
      if (current)
        bad("reduction inside reduction");
      if (w.size() != 2)
        bad("expected 'reduction NAME'");
      contents.reductions.emplace_back();
      current = &contents.reductions.back();
      current->name = word(1);
    } else if (!current) {
      bad("'" + std::string(key) + "' outside a reduction");
    } else if (key == "kind") {
      if (w.size() != 2)
        bad("missing kind");
      current->kind = word(1);
    } else if (key == "axis") {
      if (w.size() != 2 || !parseInt(w[1], current->axis) ||
          (current->axis != 0 && current->axis != 1))
        bad("axis must be 0 or 1");
    } else if (key == "dtype") {
      if (w.size() != 2)
        bad("missing dtype");
      current->dtype = word(1);
    } else if (key == "k") {
      if (w.size() != 2 || !parseInt(w[1], current->k) || current->k < 1)
        bad("bad k");
    } else if (key == "value_dim") {
      if (w.size() != 2 || !parseInt(w[1], current->valueDim) || current->valueDim < 0)
        bad("bad value dimension");
    } else if (key == "index_dim") {
      if (w.size() != 2 || !parseInt(w[1], current->indexDim) || current->indexDim < 0)
        bad("bad index dimension");
    } else if (key == "fuses") {
      if (w.size() < 2 || !current->fuses.empty())
        bad("expected one 'fuses NAME...'");
      for (size_t k = 1; k < w.size(); ++k)
        current->fuses.push_back(word(k));
    } else if (key == "var") {
      VariableInfo var;
      if (w.size() != 4 || !parseInt(w[3], var.dim) || var.dim < 1)
        bad("expected 'var NAME i|j|p DIM'");
      var.name = word(1);
      var.category = parseCategory(word(2), source);
      current->variables.push_back(var);
    } else if (key == "op") {
      FormulaOp op;
      if (w.size() < 3 || !parseInt(w[2], op.dim) || op.dim < 1)
        bad("expected 'op NAME DIM OPERANDS...'");
      op.name = word(1);
      int64_t defined = int64_t(current->variables.size() + current->formula.size());
      for (size_t k = 3; k < w.size(); ++k) {
        std::string_view item = w[k];
        if (item.rfind("int=", 0) == 0) {
          int64_t value = 0;
          if (!parseInt(item.substr(4), value))
            bad("bad integer '" + std::string(item) + "'");
          op.integer = value;
        } else if (item.rfind("real=", 0) == 0) {
          double value = 0;
          if (!parseReal(item.substr(5), value))
            bad("bad real '" + std::string(item) + "'");
          op.real = value;
        } else {
          int64_t id = -1;
          if (!parseInt(item, id))
            bad("bad operand '" + std::string(item) + "'");
          if (id < 0 || id >= defined)
            bad("operand " + std::string(item) + " is not defined before this op");
          op.operands.push_back(id);
        }
      }
      current->formula.push_back(std::move(op));
    } else if (key == "yield") {
      int64_t defined = int64_t(current->variables.size() + current->formula.size());
      if (w.size() != 2 || !parseInt(w[1], current->yield) || current->yield < 0 ||
          current->yield >= defined)
        bad("yield of an undefined value");
    } else if (key == "attr") {
      if (w.size() < 2)
        bad("missing attribute name");
      current->attributes[word(1)] = words.restAfter(1);
    } else if (key == "end") {
      if (current->yield < 0)
        bad("reduction '" + current->name + "' has no yield");
      current = nullptr;
    } else {
      bad("unknown key '" + std::string(key) + "'");
    }
  }
  if (lineNo == 0)
    fail(source, "empty metadata");
  if (current)
    fail(source, "metadata ends inside reduction '" + current->name + "' (truncated?)");
}

} // namespace

const char *toString(VarCategory category) {
  switch (category) {
  case VarCategory::Vi:
    return "i";
  case VarCategory::Vj:
    return "j";
  case VarCategory::Pm:
    return "p";
  }
  return "?";
}

std::string printMetadata(const ArtifactContents &contents) {
  std::ostringstream os;
  os.precision(17);
  os << "kconv-metadata " << kArtifactFormatVersion << "\n";
  os << "compiler " << contents.compilerVersion << "\n";
  if (!contents.sourceName.empty())
    os << "source " << contents.sourceName << "\n";
  for (const ReductionInfo &r : contents.reductions) {
    os << "reduction " << r.name << "\n";
    os << "kind " << r.kind << "\naxis " << r.axis << "\ndtype " << r.dtype << "\n";
    os << "k " << r.k << "\nvalue_dim " << r.valueDim << "\nindex_dim " << r.indexDim << "\n";
    if (!r.fuses.empty()) {
      os << "fuses";
      for (const std::string &member : r.fuses)
        os << " " << member;
      os << "\n";
    }
    for (const VariableInfo &v : r.variables)
      os << "var " << v.name << " " << toString(v.category) << " " << v.dim << "\n";
    for (const FormulaOp &op : r.formula) {
      os << "op " << op.name << " " << op.dim;
      for (int64_t id : op.operands)
        os << " " << id;
      if (op.integer)
        os << " int=" << *op.integer;
      if (op.real)
        os << " real=" << *op.real;
      os << "\n";
    }
    os << "yield " << r.yield << "\n";
    for (const auto &[key, value] : r.attributes)
      os << "attr " << key << " " << value << "\n";
    os << "end\n";
  }
  return os.str();
}

std::string serializeArtifact(const ArtifactContents &contents) {
  std::vector<std::pair<uint32_t, std::string_view>> sections;
  std::string metadata = printMetadata(contents);
  sections.push_back({Metadata, metadata});
  if (!contents.cpuSharedObject.empty())
    sections.push_back({CpuSharedObject, contents.cpuSharedObject});
  if (!contents.ptx.empty())
    sections.push_back({Ptx, contents.ptx});
  if (!contents.cubin.empty())
    sections.push_back({Cubin, contents.cubin});
  if (!contents.signature.empty())
    sections.push_back({Signature, contents.signature});

  uint64_t hash = kFnvOffset;
  for (auto &section : sections)
    hash = fnv1a(hash, section.second);

  std::string out(kMagic, sizeof(kMagic));
  put<uint32_t>(out, kArtifactFormatVersion);
  put<uint32_t>(out, uint32_t(sections.size()));
  put<uint64_t>(out, hash);
  uint64_t offset = kHeaderSize + kSectionEntrySize * sections.size();
  for (auto &[kind, payload] : sections) {
    put<uint32_t>(out, kind);
    put<uint32_t>(out, 0);
    put<uint64_t>(out, offset);
    put<uint64_t>(out, payload.size());
    offset += payload.size();
  }
  for (auto &section : sections)
    out.append(section.second);
  return out;
}

namespace {

/// The section table of `bytes`, checked (magic, version, bounds, content hash).
std::vector<std::pair<uint32_t, std::string_view>> readSections(std::string_view bytes,
                                                                std::string_view source) {
  if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    fail(source, "bad magic (expected a file written by kconv-compile)");
  uint32_t version = get<uint32_t>(bytes, 8);
  if (version != kArtifactFormatVersion)
    fail(source, "format version " + std::to_string(version) + " is not supported (this runtime reads version " +
                     std::to_string(kArtifactFormatVersion) + ")");
  uint32_t count = get<uint32_t>(bytes, 12);
  uint64_t expectedHash = get<uint64_t>(bytes, 16);
  if (count == 0 || count > 64 || bytes.size() < kHeaderSize + uint64_t(count) * kSectionEntrySize)
    fail(source, "truncated section table");

  // Check the table and the content hash first, so that a corrupted file is reported as such
  // (not as whatever its damaged metadata happens to look like).
  std::vector<std::pair<uint32_t, std::string_view>> sections;
  uint64_t hash = kFnvOffset;
  for (uint32_t i = 0; i < count; ++i) {
    size_t entry = kHeaderSize + i * kSectionEntrySize;
    uint32_t kind = get<uint32_t>(bytes, entry);
    uint64_t offset = get<uint64_t>(bytes, entry + 8);
    uint64_t size = get<uint64_t>(bytes, entry + 16);
    if (offset > bytes.size() || size > bytes.size() - offset)
      fail(source, "truncated: section " + std::to_string(i) + " ends past the end of the file");
    sections.push_back({kind, bytes.substr(offset, size)});
    hash = fnv1a(hash, sections.back().second);
  }
  if (hash != expectedHash)
    fail(source, "content hash mismatch (the file is corrupted)");
  return sections;
}

} // namespace

std::string artifactSignedMessage(std::string_view bytes, std::string_view source) {
  std::string message = "kconv-artifact-signature-1";
  message += '\0';
  for (auto &[kind, payload] : readSections(bytes, source)) {
    if (kind == Signature)
      continue;
    put<uint32_t>(message, kind);
    put<uint64_t>(message, payload.size());
    message.append(payload);
  }
  return message;
}

ArtifactContents parseArtifact(std::string_view bytes, std::string_view source) {
  std::vector<std::pair<uint32_t, std::string_view>> sections = readSections(bytes, source);
  uint64_t hash = get<uint64_t>(bytes, 16);
  ArtifactContents contents;
  bool sawMetadata = false;
  for (auto &[kind, payload] : sections) {
    switch (kind) {
    case Metadata:
      parseMetadata(std::string(payload), contents, source);
      sawMetadata = true;
      break;
    case CpuSharedObject:
      contents.cpuSharedObject = std::string(payload);
      break;
    case Ptx:
      contents.ptx = std::string(payload);
      break;
    case Cubin:
      contents.cubin = std::string(payload);
      break;
    case Signature:
      if (!contents.signature.empty())
        fail(source, "two signature sections");
      if (payload.size() != kSignaturePublicKeyBytes + kSignatureBytes)
        fail(source, "the signature section has " + std::to_string(payload.size()) +
                         " bytes (expected a 32-byte key and a 64-byte signature)");
      contents.signature = std::string(payload);
      break;
    default:
      fail(source, "unknown section kind " + std::to_string(kind));
    }
  }
  if (!sawMetadata)
    fail(source, "no metadata section");
  contents.contentHash = hash;
  return contents;
}

} // namespace kconv
