//===- Elf.cpp - read an ELF shared object's symbols without loading it ---===//
#include "Elf.h"

#include <cstring>
#include <elf.h>

namespace kconv::elf {
namespace {

template <typename T> bool read(std::string_view bytes, uint64_t offset, T &value) {
  if (offset > bytes.size() || sizeof(T) > bytes.size() - offset)
    return false;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return true;
}

/// [offset, offset + size) lies inside `bytes`.
bool inside(std::string_view bytes, uint64_t offset, uint64_t size) {
  return offset <= bytes.size() && size <= bytes.size() - offset;
}

} // namespace

uint16_t hostMachine() {
#if defined(__x86_64__)
  return EM_X86_64;
#elif defined(__aarch64__)
  return EM_AARCH64;
#else
  return 0;
#endif
}

std::optional<Object> Object::parse(std::string_view bytes, std::string &why) {
  Elf64_Ehdr header;
  if (!read(bytes, 0, header) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    why = "not an ELF file";
    return std::nullopt;
  }
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB) {
    why = "not a 64-bit little-endian ELF file";
    return std::nullopt;
  }
  if (header.e_type != ET_DYN) {
    why = "not an ELF shared object (e_type " + std::to_string(header.e_type) + ")";
    return std::nullopt;
  }
  if (header.e_shentsize != sizeof(Elf64_Shdr) || header.e_shnum == 0 ||
      !inside(bytes, header.e_shoff, uint64_t(header.e_shnum) * sizeof(Elf64_Shdr))) {
    why = "no readable section table";
    return std::nullopt;
  }
  Object object;
  object.bytes_ = bytes;
  object.machine_ = header.e_machine;
  for (uint16_t k = 0; k < header.e_shnum; ++k) {
    Elf64_Shdr s;
    read(bytes, header.e_shoff + uint64_t(k) * sizeof(Elf64_Shdr), s);
    object.sections_.push_back(
        {s.sh_type, s.sh_flags, s.sh_addr, s.sh_offset, s.sh_size, s.sh_link, s.sh_entsize});
  }
  const Section *dynsym = nullptr;
  for (const Section &s : object.sections_)
    if (s.type == SHT_DYNSYM)
      dynsym = &s;
  if (!dynsym) {
    why = "no dynamic symbol table";
    return std::nullopt;
  }
  if (dynsym->entsize != sizeof(Elf64_Sym) || !inside(bytes, dynsym->offset, dynsym->size) ||
      dynsym->link >= object.sections_.size()) {
    why = "malformed dynamic symbol table";
    return std::nullopt;
  }
  const Section &strtab = object.sections_[dynsym->link];
  if (strtab.type != SHT_STRTAB || !inside(bytes, strtab.offset, strtab.size)) {
    why = "malformed dynamic string table";
    return std::nullopt;
  }
  std::string_view strings = bytes.substr(strtab.offset, strtab.size);
  for (uint64_t at = 0; at + sizeof(Elf64_Sym) <= dynsym->size; at += sizeof(Elf64_Sym)) {
    Elf64_Sym sym;
    read(bytes, dynsym->offset + at, sym);
    if (sym.st_name >= strings.size())
      continue; // a name outside the string table names nothing we look for
    size_t end = strings.find('\0', sym.st_name);
    if (end == std::string_view::npos)
      continue;
    Symbol symbol;
    symbol.name = strings.substr(sym.st_name, end - sym.st_name);
    symbol.type = ELF64_ST_TYPE(sym.st_info);
    symbol.binding = ELF64_ST_BIND(sym.st_info);
    symbol.section = sym.st_shndx;
    symbol.value = sym.st_value;
    symbol.size = sym.st_size;
    object.symbols_.push_back(symbol);
  }
  return object;
}

const Symbol *Object::findDefined(std::string_view name) const {
  for (const Symbol &s : symbols_)
    if (s.name == name && s.section != SHN_UNDEF && s.section < sections_.size() &&
        (s.binding == STB_GLOBAL || s.binding == STB_WEAK))
      return &s;
  return nullptr;
}

bool Object::isFunctionInCode(const Symbol &symbol) const {
  if (symbol.type != STT_FUNC || symbol.section >= sections_.size())
    return false;
  const Section &s = sections_[symbol.section];
  return (s.flags & SHF_ALLOC) && (s.flags & SHF_EXECINSTR) && symbol.value >= s.addr &&
         symbol.value - s.addr < s.size;
}

std::optional<std::string_view> Object::cString(const Symbol &symbol) const {
  if (symbol.type != STT_OBJECT || symbol.section >= sections_.size())
    return std::nullopt;
  const Section &s = sections_[symbol.section];
  if (s.type == SHT_NOBITS || !(s.flags & SHF_ALLOC) || symbol.value < s.addr ||
      symbol.value - s.addr >= s.size || symbol.size == 0 ||
      symbol.size > s.size - (symbol.value - s.addr))
    return std::nullopt;
  uint64_t offset = s.offset + (symbol.value - s.addr);
  if (offset < s.offset || !inside(bytes_, offset, symbol.size))
    return std::nullopt;
  std::string_view text = bytes_.substr(offset, symbol.size);
  size_t nul = text.find('\0');
  if (nul == std::string_view::npos)
    return std::nullopt;
  return text.substr(0, nul);
}

} // namespace kconv::elf
