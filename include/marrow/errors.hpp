// The exceptions marrow throws for what an embedder can cause.
#pragma once
#include <new>
#include <stdexcept>
#include <string>

namespace marrow {

/// The heap limit cannot be met even after a full compacting collection and the
/// near-limit callback. The heap is consistent: catch it, drop references, continue.
class OutOfMemory : public std::bad_alloc {
 public:
  explicit OutOfMemory(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

/// The embedder broke a usage rule (no open HandleScope, wrong thread, handles of two
/// runtimes mixed, allocation inside a finalizer, ...). The message names the rule.
/// Nothing was allocated or changed; the runtime stays usable.
class UsageError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// A Config value out of its documented range (a NaN fraction, a nursery that cannot fit
/// its slot, a heap limit below the smallest heap), or a malformed MARROW_* variable. The
/// message names the field or variable and the range. Thrown by Config::from_env and by
/// the Runtime constructor, before anything is allocated.
///
/// ```cpp
/// marrow::Config cfg;
/// cfg.growth_factor = std::nan("");
/// try { marrow::Runtime rt(cfg); } catch (const marrow::ConfigError& e) { std::puts(e.what()); }
/// ```
class ConfigError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// An impossible allocation size (sizeof(T) + extra overflows or exceeds what a header
/// can describe). Thrown before anything is allocated.
class InvalidSize : public std::length_error {
 public:
  using std::length_error::length_error;
};

}  // namespace marrow
