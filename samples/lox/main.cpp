// `lox`: the command-line front end of the Lox VM, compatible with clox's
// (`lox [script]`, REPL without one, exit codes 64/65/70/74), plus GC flags.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>

#include <editline/readline.h>
#include <unistd.h>
#include <marrow/marrow.hpp>

#include "vm.hpp"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitCompileError = 65;
constexpr int kExitRuntimeError = 70;
constexpr int kExitIoError = 74;

void usage() {
  std::fprintf(stderr,
               "Usage: lox [options] [script]\n"
               "  --gc-stats[=json]  print collector statistics to stderr at exit (a table,\n"
               "                     or one JSON object)\n"
               "  --heap-limit=SIZE  cap the managed heap (K, M, G suffixes); exhausting it\n"
               "                     is the runtime error 'Out of memory.'\n"
               "  --gc-stress=N      collect every N allocations (moving everything)\n"
               "  --verify-heap      verify the heap before and after every collection\n"
               "  --heap-snapshot=PATH  at exit, write the heap as a Chrome DevTools\n"
               "                     .heapsnapshot (open in DevTools' Memory panel)\n"
               "  --gc-trace=PATH    write collections and their phases as Chrome\n"
               "                     trace-event JSON (open in Perfetto)\n"
               "Environment: MARROW_TRACE_GC=1 logs each collection; other MARROW_*\n"
               "variables tune the heap (see docs/tuning.md).\n");
}

// The numeric switches take plain decimal digits and nothing else. strtoull alone would
// take "-1" as 2^64-1, and " 5" or "+5" as 5; from_chars refuses signs and spaces and
// reports overflow.
std::uint64_t parse_count(const char* option, const char* text) {
  std::uint64_t n = 0;
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, n);
  if (ec == std::errc::result_out_of_range)
    throw std::invalid_argument(std::string(option) + " is too large: '" + text + "'");
  if (ec != std::errc() || ptr != end)
    throw std::invalid_argument(std::string(option) + " needs a number: '" + text + "'");
  return n;
}

// A size for --heap-limit: marrow::parse_size, which takes digits and a K/M/G suffix, but
// (through strtoull) also a leading space, '+' and " -1" (as 2^64-1): only text that
// starts with a digit reaches it.
std::size_t parse_heap_size(const char* text) {
  if (*text < '0' || *text > '9')
    throw std::invalid_argument(std::string("--heap-limit needs a size: '") + text + "'");
  try {
    return marrow::parse_size(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--heap-limit: ") + e.what());
  }
}

bool read_file(const char* path, std::string& out) {
  std::FILE* file = std::fopen(path, "rb");
  if (file == nullptr) {
    std::fprintf(stderr, "Could not open file \"%s\".\n", path);
    return false;
  }
  char buffer[1 << 16];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) out.append(buffer, n);
  bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) {
    std::fprintf(stderr, "Could not read file \"%s\".\n", path);
    return false;
  }
  return true;
}

// The REPL on a terminal: libedit's readline gives line editing (arrows, Ctrl-A/E, ...)
// and a history of the session's non-empty lines (Up/Down).
int repl_edit(lox::Vm& vm) {
  for (;;) {
    char* line = readline("> ");
    if (line == nullptr) {  // Ctrl-D on an empty line
      std::printf("\n");
      return 0;
    }
    if (line[0] != '\0') add_history(line);
    std::string source(line);
    std::free(line);
    vm.interpret(source);
    std::fflush(stdout);
  }
}

// Piped or redirected stdin: plain line reading, prompt and all (scripts drive the REPL
// this way and see exactly what clox prints).
int repl(lox::Vm& vm) {
  if (isatty(STDIN_FILENO)) return repl_edit(vm);
  std::string line;
  for (;;) {
    std::printf("> ");
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) {
      std::printf("\n");
      return 0;
    }
    vm.interpret(line);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  marrow::Config config;
  bool gc_stats = false;
  bool gc_stats_json = false;
  std::string snapshot_path;
  const char* script = nullptr;
  try {
    config = marrow::Config::from_env(config);
    for (int i = 1; i < argc; ++i) {
      const char* arg = argv[i];
      if (std::strcmp(arg, "--gc-stats") == 0) {
        gc_stats = true;
      } else if (std::strcmp(arg, "--gc-stats=json") == 0) {
        gc_stats = gc_stats_json = true;
      } else if (std::strncmp(arg, "--heap-limit=", 13) == 0) {
        config.heap_limit_bytes = parse_heap_size(arg + 13);
      } else if (std::strncmp(arg, "--gc-stress=", 12) == 0) {
        config.stress_interval = parse_count("--gc-stress", arg + 12);
      } else if (std::strncmp(arg, "--heap-snapshot=", 16) == 0 && arg[16] != '\0') {
        snapshot_path = arg + 16;
      } else if (std::strncmp(arg, "--gc-trace=", 11) == 0 && arg[11] != '\0') {
        config.gc_trace_path = arg + 11;
      } else if (std::strcmp(arg, "--verify-heap") == 0) {
        config.verify_heap = true;
      } else if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0) {
        usage();
        return 0;
      } else if (arg[0] == '-' && arg[1] == '-') {
        std::fprintf(stderr, "lox: unknown option '%s'\n", arg);
        usage();
        return kExitUsage;
      } else if (script == nullptr) {
        script = arg;
      } else {
        usage();
        return kExitUsage;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lox: %s\n", e.what());
    return kExitUsage;
  }

  std::string source;
  if (script != nullptr && !read_file(script, source)) return kExitIoError;

  int status = 0;
  try {
    lox::Vm vm(config);
    if (script == nullptr) {
      status = repl(vm);
    } else {
      lox::InterpretResult result = vm.interpret(source);
      if (result == lox::InterpretResult::kCompileError) status = kExitCompileError;
      if (result == lox::InterpretResult::kRuntimeError) status = kExitRuntimeError;
    }
    std::fflush(stdout);
    if (!snapshot_path.empty()) vm.runtime().write_heap_snapshot(snapshot_path);
    if (gc_stats) {
      const marrow::HeapStats& s = vm.runtime().stats();
      std::fputs(
          gc_stats_json ? (marrow::to_json(s) + "\n").c_str() : marrow::format_table(s).c_str(),
          stderr);
    }
  } catch (const marrow::ConfigError& e) {  // e.g. a heap limit below the smallest heap
    std::fprintf(stderr, "lox: bad GC configuration (--heap-limit, --gc-stress or MARROW_*): %s\n",
                 e.what());
    return kExitUsage;
  } catch (const std::runtime_error& e) {  // a snapshot or trace file that cannot be written
    std::fprintf(stderr, "lox: %s\n", e.what());
    return kExitIoError;
  }
  return status;
}
