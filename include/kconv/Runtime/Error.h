//===- Error.h - the runtime's one error type -------------------*- C++ -*-===//
#ifndef KCONV_RUNTIME_ERROR_H
#define KCONV_RUNTIME_ERROR_H

#include <stdexcept>
#include <string>

namespace kconv {

/// Error codes shared by the C++ API (kconv::Error::code()) and the C API (return values).
enum class ErrorCode : int {
  Ok = 0,
  InvalidArgument = 1,   // null pointer, bad name, wrong input count, dimension mismatch
  InvalidArtifact = 2,   // not an artifact, truncated, corrupted, unsupported version
  IoError = 3,           // file cannot be opened/read/written
  Unsupported = 4,       // backend or feature absent from this artifact or build
  DeviceError = 5,       // no GPU driver / device, CUDA error, out of device memory
  Internal = 6,
};

/// The runtime's single exception type: a code plus a human-readable message.
class Error : public std::runtime_error {
public:
  Error(ErrorCode code, const std::string &message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

private:
  ErrorCode code_;
};

} // namespace kconv

#endif // KCONV_RUNTIME_ERROR_H
