//===- Elf.h - read an ELF shared object's symbols without loading it -*- C++ -*-===//
//
// The runtime checks an artifact's CPU object before mapping it (no dlopen, so none of its code,
// constructors included, runs): its dynamic symbol table must define each reduction's kernel as a
// function in an executable section and its ABI descriptor as a string (KernelABI.h). This reader
// parses only what that needs, ELF64 little-endian, with every offset and size bounds-checked: it
// is fed untrusted bytes (and fuzzed, test/fuzz/artifact_fuzzer.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_LIB_RUNTIME_ELF_H
#define KCONV_LIB_RUNTIME_ELF_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kconv::elf {

struct Section {
  uint32_t type = 0;
  uint64_t flags = 0, addr = 0, offset = 0, size = 0;
  uint32_t link = 0;
  uint64_t entsize = 0;
};

struct Symbol {
  std::string_view name;
  unsigned type = 0;     // STT_*
  unsigned binding = 0;  // STB_*
  uint16_t section = 0;  // st_shndx
  uint64_t value = 0, size = 0;
};

class Object {
public:
  /// Parses the header, the section table and the dynamic symbol table of `bytes` (which must
  /// outlive the Object). Returns nullopt with `why` set when `bytes` is not a usable ELF64
  /// little-endian shared object.
  static std::optional<Object> parse(std::string_view bytes, std::string &why);

  uint16_t machine() const { return machine_; }
  /// A global or weak dynamic symbol defined in this object (not undefined), or null.
  const Symbol *findDefined(std::string_view name) const;
  /// Whether `symbol` is a function inside an allocated, executable section.
  bool isFunctionInCode(const Symbol &symbol) const;
  /// The NUL-terminated string at `symbol` (an object in a section with file contents), or
  /// nullopt when it lies outside its section or has no terminator within symbol.size bytes.
  std::optional<std::string_view> cString(const Symbol &symbol) const;

private:
  std::string_view bytes_;
  uint16_t machine_ = 0;
  std::vector<Section> sections_;
  std::vector<Symbol> symbols_;
};

/// e_machine of the host (EM_X86_64, EM_AARCH64), 0 if unknown.
uint16_t hostMachine();

} // namespace kconv::elf

#endif // KCONV_LIB_RUNTIME_ELF_H
