// `mal`: the command-line front end: options (the GC switches shared with the Lox VM and
// --step=N), the REPL with libedit line editing on a terminal, script mode with *ARGV*,
// and the big-stack thread the interpreter runs on.
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <editline/readline.h>
#include <marrow/marrow.hpp>

#include "interp.hpp"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitSoftware = 70;
constexpr int kExitIoError = 74;

// The interpreter's thread gets a 64 MiB stack (address space, committed as used): a mal
// program may recurse about 180,000 levels deep in release builds (50,000 under ASan,
// whose frames are larger) before Interp::check_stack reports a stack overflow. Deeper
// would make that error slow: unwinding the C++ exception costs about 6 us per frame
// (4 s for the 700,000 levels of a 256 MiB stack). Under ASan the stack must stay below
// 64 MiB anyway: ASan unpoisons the stack when an exception is thrown only up to that
// size, and beyond it reports false stack-buffer-overflows in the frames it unwound.
// The last kStackMargin bytes are kept for reporting the error.
#if defined(MARROW_ASAN)
constexpr std::size_t kStackBytes = std::size_t{60} << 20;
#else
constexpr std::size_t kStackBytes = std::size_t{64} << 20;
#endif
constexpr std::size_t kStackMargin = std::size_t{1} << 20;

void usage(std::FILE* to) {
  std::fprintf(to,
               "Usage: mal [options] [script [args...]]\n"
               "  --step=N           behave as step N of the mal process guide (0-9, A;\n"
               "                     default A: the whole language)\n"
               "  --gc-stats[=json]  print collector statistics to stderr at exit\n"
               "  --heap-limit=SIZE  cap the managed heap (K, M, G suffixes); exhausting it\n"
               "                     is the mal exception \"Out of memory\"\n"
               "  --gc-stress=N      collect every N allocations (moving everything)\n"
               "  --verify-heap      verify the heap before and after every collection\n"
               "  --heap-snapshot=PATH  at exit, write the heap as a Chrome DevTools\n"
               "                     .heapsnapshot\n"
               "  --gc-trace=PATH    write collections as Chrome trace-event JSON\n"
               "Environment: MARROW_* variables tune the heap (docs/tuning.md).\n");
}

struct Options {
  marrow::Config config;
  int step = mal::kStepA;
  bool gc_stats = false;
  bool gc_stats_json = false;
  std::string snapshot_path;
  const char* script = nullptr;
  std::vector<std::string> argv;  // *ARGV*
};

// ---- Line input -------------------------------------------------------------------------

/// libedit when stdin is a terminal (line editing, history with the arrow keys); plain
/// reads otherwise (pipes, files).
bool read_line(const char* prompt, std::string& line) {
  std::fflush(stdout);
  if (isatty(STDIN_FILENO)) {
    char* text = readline(prompt);
    if (text == nullptr) return false;
    line = text;
    std::free(text);
    if (!line.empty()) add_history(line.c_str());
    return true;
  }
  std::fputs(prompt, stdout);
  std::fflush(stdout);
  return static_cast<bool>(std::getline(std::cin, line));
}

// ---- Running ----------------------------------------------------------------------------

/// Prints an uncaught mal exception: strings as they are, other values readably.
void report(mal::Interp& in, mal::Value exc) {
  std::string text = "Error: ";
  if (mal::is_tag(exc, mal::Tag::kString)) {
    text += exc.as<mal::Str>()->view();
  } else {
    in.print(text, exc, true);
  }
  text.push_back('\n');
  std::fputs(text.c_str(), stdout);
}

/// Runs `body`; a mal exception (or a heap-limit or stack overflow) is reported and
/// false returned. The value stack is reset either way.
template <class Body>
bool guarded(mal::Interp& in, Body body) {
  mal::Value* base = in.sp();
  mal::Value exc;
  try {
    body();
    in.pop_to(base);
    in.disarm_heap_loan();
    return true;
  } catch (const mal::MalThrow&) {
    exc = in.take_exception();
  } catch (const mal::StackOverflow&) {
    exc = in.stack_overflow_value();
  } catch (const std::bad_alloc&) {
    exc = in.out_of_memory_value();
    in.arm_heap_loan();  // the next line may need a little memory to drop the data
  } catch (const std::length_error&) {
    exc = in.out_of_memory_value();
  }
  in.pop_to(base);
  report(in, exc);
  return false;
}

/// One line of the REPL: read, eval (from step 2), print.
void rep(mal::Interp& in, const std::string& line) {
  if (in.step() == 0) {
    std::printf("%s\n", line.c_str());
    return;
  }
  guarded(in, [&] {
    marrow::HandleScope scope(in.runtime());
    mal::Value* base = in.sp();
    if (!in.read(line)) return;
    mal::Value v = in.step() >= 2 ? in.eval(base[0], in.repl_env()) : base[0];
    std::string out = in.pr_str(v, true);
    out.push_back('\n');
    std::fputs(out.c_str(), stdout);
  });
}

void define_prelude(mal::Interp& in, const Options& o) {
  const int step = in.step();
  if (step >= 4) in.run_prelude("(def! not (fn* (a) (if a false true)))");
  if (step >= 6) {
    in.run_prelude(
        "(def! load-file (fn* (f) (eval (read-string (str \"(do \" (slurp f) \"\\nnil)\")))))");
    marrow::HandleScope scope(in.runtime());
    mal::Value* base = in.sp();
    for (const std::string& arg : o.argv) in.push(mal::Value::object(in.new_string(arg).get()));
    auto args = in.new_seq(mal::Tag::kList, base, static_cast<std::uint32_t>(o.argv.size()));
    in.pop_to(base);
    in.define(in.repl_env(), in.names().argv, mal::Value::object(args.get()));
  }
  if (step >= 8)
    in.run_prelude(
        "(defmacro! cond (fn* (& xs) (if (> (count xs) 0) (list 'if (first xs) (if (> (count "
        "xs) 1) (nth xs 1) (throw \"odd number of forms to cond\")) (cons 'cond (rest (rest "
        "xs)))))))");
  if (step >= mal::kStepA) in.run_prelude("(def! *host-language* \"c++-marrow\")");
}

int run(const Options& o) {
  int status = 0;
  mal::Interp in(o.config, o.step);
  in.read_line = read_line;
  define_prelude(in, o);
  if (o.script != nullptr) {
    bool ok = guarded(in, [&] {
      marrow::HandleScope scope(in.runtime());
      mal::Value* base = in.sp();
      in.push(in.eval(mal::Value::object(in.intern(mal::Tag::kSymbol, "load-file").get()),
                      in.repl_env()));
      in.push(mal::Value::object(in.new_string(o.script).get()));
      in.apply(base + 1, 1);
    });
    if (!ok) status = 1;
  } else {
    if (o.step >= mal::kStepA) in.run_prelude("(println (str \"Mal [\" *host-language* \"]\"))");
    std::string line;
    while (read_line("user> ", line)) rep(in, line);
    std::fputs("\n", stdout);
  }
  std::fflush(stdout);
  try {
    if (!o.snapshot_path.empty()) in.runtime().write_heap_snapshot(o.snapshot_path);
  } catch (const std::runtime_error& e) {
    std::fprintf(stderr, "mal: %s\n", e.what());
    status = kExitIoError;
  }
  if (o.gc_stats) {
    const marrow::HeapStats& s = in.runtime().stats();
    std::fputs(
        o.gc_stats_json ? (marrow::to_json(s) + "\n").c_str() : marrow::format_table(s).c_str(),
        stderr);
  }
  return status;
}

struct ThreadArgs {
  const Options* options;
  int status;
};

void* interpreter_thread(void* p) {
  auto* args = static_cast<ThreadArgs*>(p);
  pthread_attr_t attr;
  void* low = nullptr;
  std::size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstack(&attr, &low, &size);
    pthread_attr_destroy(&attr);
  }
  mal::Interp::set_stack_limit(static_cast<char*>(low) + kStackMargin);
  try {
    args->status = run(*args->options);
  } catch (const std::exception& e) {  // a marrow UsageError or the like: a bug of ours
    std::fflush(stdout);
    std::fprintf(stderr, "mal: internal error: %s\n", e.what());
    args->status = kExitSoftware;
  }
  return nullptr;
}

bool parse_step(const char* text, int& step) {
  if ((text[0] == 'A' || text[0] == 'a') && text[1] == '\0') {
    step = mal::kStepA;
    return true;
  }
  if (text[0] >= '0' && text[0] <= '9' && text[1] == '\0') {
    step = text[0] - '0';
    return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o.config = marrow::Config::from_env(o.config);
    int i = 1;
    for (; i < argc; ++i) {
      const char* arg = argv[i];
      if (std::strcmp(arg, "--gc-stats") == 0) {
        o.gc_stats = true;
      } else if (std::strcmp(arg, "--gc-stats=json") == 0) {
        o.gc_stats = o.gc_stats_json = true;
      } else if (std::strncmp(arg, "--heap-limit=", 13) == 0) {
        o.config.heap_limit_bytes = marrow::parse_size(arg + 13);
      } else if (std::strncmp(arg, "--gc-stress=", 12) == 0) {
        char* end = nullptr;
        unsigned long long n = std::strtoull(arg + 12, &end, 10);
        if (end == arg + 12 || *end != '\0' || arg[12] == '-')
          throw std::invalid_argument(std::string("--gc-stress needs a number: ") + arg);
        o.config.stress_interval = n;
      } else if (std::strncmp(arg, "--step=", 7) == 0) {
        if (!parse_step(arg + 7, o.step))
          throw std::invalid_argument(std::string("--step needs 0-9 or A: ") + arg);
      } else if (std::strncmp(arg, "--heap-snapshot=", 16) == 0 && arg[16] != '\0') {
        o.snapshot_path = arg + 16;
      } else if (std::strncmp(arg, "--gc-trace=", 11) == 0 && arg[11] != '\0') {
        o.config.gc_trace_path = arg + 11;
      } else if (std::strcmp(arg, "--verify-heap") == 0) {
        o.config.verify_heap = true;
      } else if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0) {
        usage(stdout);
        return 0;
      } else if (arg[0] == '-' && arg[1] == '-') {
        std::fprintf(stderr, "mal: unknown option '%s'\n", arg);
        usage(stderr);
        return kExitUsage;
      } else {
        break;
      }
    }
    if (i < argc) {
      o.script = argv[i];
      for (++i; i < argc; ++i) o.argv.emplace_back(argv[i]);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mal: %s\n", e.what());
    return kExitUsage;
  }

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kStackBytes);
  ThreadArgs args{&o, 0};
  pthread_t thread;
  if (pthread_create(&thread, &attr, interpreter_thread, &args) != 0) {
    std::fprintf(stderr, "mal: cannot start the interpreter thread\n");
    return kExitSoftware;
  }
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  return args.status;
}
