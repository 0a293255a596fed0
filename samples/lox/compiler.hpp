// The single-pass Lox compiler: a Pratt parser that emits bytecode as it parses.
// Allocates managed objects (strings, functions, constant arrays) as it goes, so its
// in-progress state is a root: the VM traces it through Compiler::trace_roots while a
// compilation runs.
#pragma once
#include <cstdint>
#include <memory_resource>
#include <string_view>
#include <vector>

#include <marrow/alloc/arena.hpp>

#include "chunk.hpp"
#include "object.hpp"
#include "scanner.hpp"

namespace lox {

class Vm;

class Compiler {
 public:
  Compiler(Vm& vm, std::string_view source);
  Compiler(const Compiler&) = delete;
  Compiler& operator=(const Compiler&) = delete;

  /// Compiles the whole source into the top-level function, or returns nullptr after
  /// reporting compile errors on stderr. The pointer is valid until the next allocation.
  ObjFunction* compile();

  /// Every managed reference the compiler holds in C++ memory: the constants and names of
  /// all functions being compiled, and the function objects under construction.
  void trace_roots(marrow::Tracer& t);

 private:
  enum class FunctionKind : std::uint8_t { kScript, kFunction, kMethod, kInitializer };
  enum class Prec : std::uint8_t {
    kNone,
    kAssignment,
    kOr,
    kAnd,
    kEquality,
    kComparison,
    kTerm,
    kFactor,
    kUnary,
    kCall,
    kPrimary
  };
  using ParseFn = void (Compiler::*)(bool can_assign);
  struct Rule {
    ParseFn prefix;
    ParseFn infix;
    Prec precedence;
  };
  struct LocalVar {
    Token name;
    int depth;  // -1 while its initializer is compiled
    bool captured;
  };
  struct UpvalueRef {
    std::uint8_t index;
    bool is_local;
  };
  // One function being compiled. Lives on the C++ stack; the chain through `enclosing`
  // is what trace_roots walks. Its growable arrays draw from the compiler's scratch
  // arena, freed in one go when the compilation ends (the finished code is copied out).
  struct FunctionState {
    explicit FunctionState(std::pmr::memory_resource* scratch)
        : constants(scratch), code(scratch), lines(scratch), locals(scratch), upvalues(scratch) {}
    FunctionState* enclosing = nullptr;
    FunctionKind kind = FunctionKind::kScript;
    ObjString* name = nullptr;             // root
    ObjFunction* object = nullptr;         // root: set while end_function builds it
    ValueArray* constant_array = nullptr;  // root: idem
    std::pmr::vector<Value> constants;     // roots
    std::pmr::vector<std::uint8_t> code;
    std::pmr::vector<std::uint32_t> lines;
    std::pmr::vector<LocalVar> locals;
    std::pmr::vector<UpvalueRef> upvalues;
    int arity = 0;
    int scope_depth = 0;
    // Value-stack depth at the current point of the code, and its maximum: the VM checks
    // at each call that the frame's maximum fits (so no push ever needs a check).
    // Where the last instruction starts, and the last offset a jump lands on: two
    // instructions may be fused only when no jump lands between them.
    int last_op_start = -1;
    int last_jump_target = -1;
    int stack_depth = 0;
    int max_stack_depth = 0;
  };
  struct ClassState {
    ClassState* enclosing;
    bool has_superclass;
  };

  static const Rule& rule(Tok type);

  // Tokens and errors.
  void advance();
  void consume(Tok type, const char* message);
  bool check(Tok type) const { return current_.type == type; }
  bool match(Tok type);
  void error_at(const Token& token, const char* message);
  void error(const char* message) { error_at(previous_, message); }
  void error_at_current(const char* message) { error_at(current_, message); }
  void synchronize();
  bool enter_nesting();
  void leave_nesting() { --nesting_; }

  // Emission.
  void emit_byte(std::uint8_t b);
  void emit_op(Op op);
  void emit_op(Op op, std::uint8_t operand);
  void adjust_stack(int delta);
  void emit_global(Op op, std::uint16_t slot);
  void emit_cache();  // the c operand of a property access: a new field cache
  int emit_jump(Op op);
  int emit_condition_jump(bool* fused);
  void patch_jump(int offset);
  void emit_loop(int loop_start);
  void emit_return();
  std::uint8_t make_constant(Value value);
  void emit_constant(Value value);

  // Functions and scopes.
  void begin_function(FunctionState& fs, FunctionKind kind);
  ObjFunction* end_function();
  void begin_scope() { ++fs_->scope_depth; }
  void end_scope();

  // Variables.
  std::uint8_t identifier_constant(const Token& name);
  ObjString* last_identifier_ = nullptr;  // the string identifier_constant interned
  int resolve_local(FunctionState* fs, const Token& name);
  int add_upvalue(FunctionState* fs, std::uint8_t index, bool is_local);
  int resolve_upvalue(FunctionState* fs, const Token& name);
  void add_local(const Token& name);
  void declare_variable();
  std::uint16_t parse_variable(const char* message);
  void mark_initialized();
  void define_variable(std::uint16_t global);
  void named_variable(const Token& name, bool can_assign);
  std::uint16_t global_slot_for(const Token& name);
  std::uint16_t last_global_slot();

  // Expressions.
  void expression();
  void parse_precedence(Prec precedence);
  std::uint8_t argument_list();
  void grouping(bool can_assign);
  void call(bool can_assign);
  void dot(bool can_assign);
  void unary(bool can_assign);
  void binary(bool can_assign);
  void number(bool can_assign);
  void string(bool can_assign);
  void literal(bool can_assign);
  void variable(bool can_assign);
  void and_(bool can_assign);
  void or_(bool can_assign);
  void this_(bool can_assign);
  void super_(bool can_assign);

  // Statements.
  void declaration();
  void statement();
  void block();
  void function(FunctionKind kind);
  void method();
  void class_declaration();
  void fun_declaration();
  void var_declaration();
  void expression_statement();
  void print_statement();
  void if_statement();
  void while_statement();
  void for_statement();
  void return_statement();

  Vm& vm_;
  marrow::Arena scratch_arena_;
  marrow::ArenaResource scratch_{scratch_arena_};
  Scanner scanner_;
  Token current_;
  Token previous_;
  bool had_error_ = false;
  bool panic_mode_ = false;
  bool gave_up_ = false;  // nesting too deep: every later error is suppressed
  int nesting_ = 0;
  FunctionState* fs_ = nullptr;
  ClassState* class_ = nullptr;
};

}  // namespace lox
