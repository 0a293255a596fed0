// The single-pass compiler (see compiler.hpp). Mirrors clox's grammar, error messages
// and limits; beyond clox it tracks each function's maximum value-stack depth and bounds
// the parser's recursion so no input can overflow the C++ stack.
//
// Moving-GC rule for this file: vm_.intern and end_function allocate, so any ObjString*
// or ObjFunction* they return goes into a root (a constants vector) before the next
// allocation.
#include "compiler.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "vm.hpp"

namespace lox {

namespace {

// How deep expressions and statements may nest. Each level costs a few C++ frames (a few
// hundred bytes; more under ASan), so 1000 levels stay far below the usual 8 MiB stack,
// and no real program nests that deep.
constexpr int kMaxNesting = 1000;
constexpr int kMaxLocals = 256;
constexpr int kMaxUpvalues = 256;
constexpr int kMaxConstants = 256;

// Net effect on the value stack of each opcode with a fixed effect (the others adjust
// the depth themselves).
int stack_effect(Op op) {
  switch (op) {
    case Op::kConstant:
    case Op::kNil:
    case Op::kTrue:
    case Op::kFalse:
    case Op::kGetLocal:
    case Op::kGetGlobal:
    case Op::kGetUpvalue:
    case Op::kClosure:
    case Op::kClass:
      return 1;
    case Op::kPop:
    case Op::kDefineGlobal:
    case Op::kSetProperty:
    case Op::kGetSuper:
    case Op::kEqual:
    case Op::kGreater:
    case Op::kLess:
    case Op::kAdd:
    case Op::kSubtract:
    case Op::kMultiply:
    case Op::kDivide:
    case Op::kPrint:
    case Op::kCloseUpvalue:
    case Op::kReturn:
    case Op::kInherit:
    case Op::kMethod:
      return -1;
    default:
      return 0;
  }
}

Token synthetic_token(const char* text) {
  return Token{Tok::kIdentifier, text, static_cast<std::uint32_t>(std::strlen(text)), 0};
}

bool identifiers_equal(const Token& a, const Token& b) {
  return a.length == b.length && std::memcmp(a.start, b.start, a.length) == 0;
}

}  // namespace

Compiler::Compiler(Vm& vm, std::string_view source) : vm_(vm), scanner_(source) {}

const Compiler::Rule& Compiler::rule(Tok type) {
  using C = Compiler;
  static const Rule rules[] = {
      /* kLeftParen    */ {&C::grouping, &C::call, Prec::kCall},
      /* kRightParen   */ {nullptr, nullptr, Prec::kNone},
      /* kLeftBrace    */ {nullptr, nullptr, Prec::kNone},
      /* kRightBrace   */ {nullptr, nullptr, Prec::kNone},
      /* kComma        */ {nullptr, nullptr, Prec::kNone},
      /* kDot          */ {nullptr, &C::dot, Prec::kCall},
      /* kMinus        */ {&C::unary, &C::binary, Prec::kTerm},
      /* kPlus         */ {nullptr, &C::binary, Prec::kTerm},
      /* kSemicolon    */ {nullptr, nullptr, Prec::kNone},
      /* kSlash        */ {nullptr, &C::binary, Prec::kFactor},
      /* kStar         */ {nullptr, &C::binary, Prec::kFactor},
      /* kBang         */ {&C::unary, nullptr, Prec::kNone},
      /* kBangEqual    */ {nullptr, &C::binary, Prec::kEquality},
      /* kEqual        */ {nullptr, nullptr, Prec::kNone},
      /* kEqualEqual   */ {nullptr, &C::binary, Prec::kEquality},
      /* kGreater      */ {nullptr, &C::binary, Prec::kComparison},
      /* kGreaterEqual */ {nullptr, &C::binary, Prec::kComparison},
      /* kLess         */ {nullptr, &C::binary, Prec::kComparison},
      /* kLessEqual    */ {nullptr, &C::binary, Prec::kComparison},
      /* kIdentifier   */ {&C::variable, nullptr, Prec::kNone},
      /* kString       */ {&C::string, nullptr, Prec::kNone},
      /* kNumber       */ {&C::number, nullptr, Prec::kNone},
      /* kAnd          */ {nullptr, &C::and_, Prec::kAnd},
      /* kClass        */ {nullptr, nullptr, Prec::kNone},
      /* kElse         */ {nullptr, nullptr, Prec::kNone},
      /* kFalse        */ {&C::literal, nullptr, Prec::kNone},
      /* kFor          */ {nullptr, nullptr, Prec::kNone},
      /* kFun          */ {nullptr, nullptr, Prec::kNone},
      /* kIf           */ {nullptr, nullptr, Prec::kNone},
      /* kNil          */ {&C::literal, nullptr, Prec::kNone},
      /* kOr           */ {nullptr, &C::or_, Prec::kOr},
      /* kPrint        */ {nullptr, nullptr, Prec::kNone},
      /* kReturn       */ {nullptr, nullptr, Prec::kNone},
      /* kSuper        */ {&C::super_, nullptr, Prec::kNone},
      /* kThis         */ {&C::this_, nullptr, Prec::kNone},
      /* kTrue         */ {&C::literal, nullptr, Prec::kNone},
      /* kVar          */ {nullptr, nullptr, Prec::kNone},
      /* kWhile        */ {nullptr, nullptr, Prec::kNone},
      /* kError        */ {nullptr, nullptr, Prec::kNone},
      /* kEof          */ {nullptr, nullptr, Prec::kNone},
  };
  static_assert(sizeof(rules) / sizeof(rules[0]) == static_cast<std::size_t>(Tok::kCount));
  return rules[static_cast<int>(type)];
}

// ---- Roots ----------------------------------------------------------------------------

void Compiler::trace_roots(marrow::Tracer& t) {
  for (FunctionState* fs = fs_; fs != nullptr; fs = fs->enclosing) {
    t.visit(fs->name);
    t.visit(fs->object);
    t.visit(fs->constant_array);
    for (Value& v : fs->constants) t.visit(v);
  }
  t.visit(last_identifier_);
}

// ---- Tokens and errors ----------------------------------------------------------------

void Compiler::advance() {
  previous_ = current_;
  for (;;) {
    current_ = scanner_.next();
    if (current_.type != Tok::kError) break;
    error_at_current(current_.start);
  }
}

void Compiler::consume(Tok type, const char* message) {
  if (current_.type == type) {
    advance();
    return;
  }
  error_at_current(message);
}

bool Compiler::match(Tok type) {
  if (!check(type)) return false;
  advance();
  return true;
}

void Compiler::error_at(const Token& token, const char* message) {
  if (panic_mode_ || gave_up_) return;
  panic_mode_ = true;
  std::fprintf(stderr, "[line %d] Error", token.line);
  if (token.type == Tok::kEof) {
    std::fprintf(stderr, " at end");
  } else if (token.type != Tok::kError) {
    std::fprintf(stderr, " at '%.*s'", static_cast<int>(token.length), token.start);
  }
  std::fprintf(stderr, ": %s\n", message);
  had_error_ = true;
}

void Compiler::synchronize() {
  panic_mode_ = false;
  while (current_.type != Tok::kEof) {
    if (previous_.type == Tok::kSemicolon) return;
    switch (current_.type) {
      case Tok::kClass:
      case Tok::kFun:
      case Tok::kVar:
      case Tok::kFor:
      case Tok::kIf:
      case Tok::kWhile:
      case Tok::kPrint:
      case Tok::kReturn:
        return;
      default:
        break;
    }
    advance();
  }
}

// Called on entry to every recursive grammar rule. Past the limit the compilation is
// abandoned: one error, then the rest of the input is skipped (iteratively) so that
// every active rule sees the end of input and unwinds without recursing further.
bool Compiler::enter_nesting() {
  if (++nesting_ <= kMaxNesting) return true;
  --nesting_;
  if (!gave_up_) {
    error_at_current("Too much nesting.");
    gave_up_ = true;
    while (current_.type != Tok::kEof) advance();
  }
  return false;
}

// ---- Emission -------------------------------------------------------------------------

void Compiler::adjust_stack(int delta) {
  fs_->stack_depth += delta;
  if (fs_->stack_depth > fs_->max_stack_depth) fs_->max_stack_depth = fs_->stack_depth;
}

void Compiler::emit_byte(std::uint8_t b) {
  fs_->code.push_back(b);
  fs_->lines.push_back(static_cast<std::uint32_t>(previous_.line));
}

void Compiler::emit_op(Op op) {
  fs_->last_op_start = static_cast<int>(fs_->code.size());
  emit_byte(static_cast<std::uint8_t>(op));
  adjust_stack(stack_effect(op));
}

void Compiler::emit_op(Op op, std::uint8_t operand) {
  emit_op(op);
  emit_byte(operand);
}

void Compiler::emit_cache() {
  std::uint16_t cache = vm_.new_field_cache();
  emit_byte(static_cast<std::uint8_t>(cache >> 8));
  emit_byte(static_cast<std::uint8_t>(cache & 0xff));
}

void Compiler::emit_global(Op op, std::uint16_t slot) {
  emit_op(op);
  emit_byte(static_cast<std::uint8_t>(slot >> 8));
  emit_byte(static_cast<std::uint8_t>(slot & 0xff));
}

int Compiler::emit_jump(Op op) {
  emit_op(op);
  emit_byte(0xff);
  emit_byte(0xff);
  return static_cast<int>(fs_->code.size()) - 2;
}

// The jump that skips a statement when its condition is false. When the condition ends
// in <, > or == (and no jump lands between the comparison and here), the comparison and
// the jump become one instruction that leaves nothing on the stack: *fused is set and
// the caller emits no Pop on either path.
int Compiler::emit_condition_jump(bool* fused) {
  FunctionState* fs = fs_;
  int end = static_cast<int>(fs->code.size());
  *fused = false;
  if (fs->last_op_start >= 0 && fs->last_op_start == end - 1 && fs->last_jump_target != end) {
    Op fused_op = Op::kCount;
    switch (static_cast<Op>(fs->code[static_cast<std::size_t>(end - 1)])) {
      case Op::kLess:
        fused_op = Op::kJumpIfNotLess;
        break;
      case Op::kGreater:
        fused_op = Op::kJumpIfNotGreater;
        break;
      case Op::kEqual:
        fused_op = Op::kJumpIfNotEqual;
        break;
      default:
        break;
    }
    if (fused_op != Op::kCount) {
      fs->code[static_cast<std::size_t>(end - 1)] = static_cast<std::uint8_t>(fused_op);
      emit_byte(0xff);
      emit_byte(0xff);
      adjust_stack(-1);  // the comparison's result is consumed too
      *fused = true;
      return end;
    }
  }
  return emit_jump(Op::kJumpIfFalse);
}

void Compiler::patch_jump(int offset) {
  fs_->last_jump_target = static_cast<int>(fs_->code.size());
  int jump = static_cast<int>(fs_->code.size()) - offset - 2;
  if (jump > 0xffff) error("Too much code to jump over.");
  fs_->code[offset] = static_cast<std::uint8_t>((jump >> 8) & 0xff);
  fs_->code[offset + 1] = static_cast<std::uint8_t>(jump & 0xff);
}

void Compiler::emit_loop(int loop_start) {
  emit_op(Op::kLoop);
  int offset = static_cast<int>(fs_->code.size()) - loop_start + 2;
  if (offset > 0xffff) error("Loop body too large.");
  emit_byte(static_cast<std::uint8_t>((offset >> 8) & 0xff));
  emit_byte(static_cast<std::uint8_t>(offset & 0xff));
}

void Compiler::emit_return() {
  if (fs_->kind == FunctionKind::kInitializer) {
    emit_op(Op::kGetLocal, 0);
  } else {
    emit_op(Op::kNil);
  }
  emit_op(Op::kReturn);
}

// Like clox, constants are never shared: every literal and every name use takes a slot,
// so programs hit "Too many constants in one chunk." exactly where clox's do.
std::uint8_t Compiler::make_constant(Value value) {
  fs_->constants.push_back(value);
  std::size_t index = fs_->constants.size() - 1;
  if (index >= static_cast<std::size_t>(kMaxConstants)) {
    error("Too many constants in one chunk.");
    return 0;
  }
  return static_cast<std::uint8_t>(index);
}

void Compiler::emit_constant(Value value) { emit_op(Op::kConstant, make_constant(value)); }

// ---- Functions and scopes -------------------------------------------------------------

void Compiler::begin_function(FunctionState& fs, FunctionKind kind) {
  fs.enclosing = fs_;
  fs.kind = kind;
  fs_ = &fs;
  if (kind != FunctionKind::kScript) {
    fs.name = vm_.intern(previous_.text());  // fs is a root already
  }
  // Slot 0 holds the callee (functions) or the receiver (methods).
  Token slot0 = synthetic_token(
      kind == FunctionKind::kFunction || kind == FunctionKind::kScript ? "" : "this");
  fs.locals.push_back(LocalVar{slot0, 0, false});
  adjust_stack(1);
}

ObjFunction* Compiler::end_function() {
  emit_return();
  FunctionState* fs = fs_;
  // Two allocations; fs->object and fs->constant_array are roots, so each survives the
  // other's collection. The raw pointers are re-read from them after each allocation.
  fs->object = vm_.make<ObjFunction>();
  auto count = static_cast<std::uint32_t>(fs->constants.size());
  fs->constant_array = vm_.make_sized<ValueArray>(count * sizeof(Member<Value>), count);
  ValueArray* constants = fs->constant_array;
  for (std::uint32_t i = 0; i < count; ++i) constants->values()[i] = fs->constants[i];
  ObjFunction* fn = fs->object;
  fn->constants = constants;
  fn->name = fs->name;
  fn->arity = static_cast<std::uint8_t>(fs->arity);
  fn->upvalue_count = static_cast<std::uint16_t>(fs->upvalues.size());
  fn->max_stack = static_cast<std::uint32_t>(fs->max_stack_depth);
  fn->code_size = static_cast<std::uint32_t>(fs->code.size());
  fn->code = vm_.freeze(fs->code);
  fn->lines = vm_.freeze(fs->lines);
  fs_ = fs->enclosing;
  return fn;  // no allocation since fs->object was last updated
}

void Compiler::end_scope() {
  FunctionState* fs = fs_;
  --fs->scope_depth;
  while (!fs->locals.empty() && fs->locals.back().depth > fs->scope_depth) {
    emit_op(fs->locals.back().captured ? Op::kCloseUpvalue : Op::kPop);
    fs->locals.pop_back();
  }
}

// ---- Variables ------------------------------------------------------------------------

std::uint8_t Compiler::identifier_constant(const Token& name) {
  last_identifier_ = vm_.intern(name.text());
  return make_constant(Value::object(last_identifier_));
}

std::uint16_t Compiler::global_slot_for(const Token& name) {
  identifier_constant(name);  // counts towards the constant limit, as in clox
  return last_global_slot();
}

std::uint16_t Compiler::last_global_slot() {
  int slot = vm_.global_slot(last_identifier_);
  if (slot < 0) {
    error("Too many global variables.");
    return 0;
  }
  return static_cast<std::uint16_t>(slot);
}

int Compiler::resolve_local(FunctionState* fs, const Token& name) {
  for (int i = static_cast<int>(fs->locals.size()) - 1; i >= 0; --i) {
    LocalVar& local = fs->locals[static_cast<std::size_t>(i)];
    if (identifiers_equal(name, local.name)) {
      if (local.depth == -1) error("Can't read local variable in its own initializer.");
      return i;
    }
  }
  return -1;
}

int Compiler::add_upvalue(FunctionState* fs, std::uint8_t index, bool is_local) {
  for (std::size_t i = 0; i < fs->upvalues.size(); ++i) {
    if (fs->upvalues[i].index == index && fs->upvalues[i].is_local == is_local)
      return static_cast<int>(i);
  }
  if (fs->upvalues.size() == static_cast<std::size_t>(kMaxUpvalues)) {
    error("Too many closure variables in function.");
    return 0;
  }
  fs->upvalues.push_back(UpvalueRef{index, is_local});
  return static_cast<int>(fs->upvalues.size()) - 1;
}

// Recursion depth is the number of enclosing functions, bounded by kMaxNesting.
int Compiler::resolve_upvalue(FunctionState* fs, const Token& name) {
  if (fs->enclosing == nullptr) return -1;
  int local = resolve_local(fs->enclosing, name);
  if (local != -1) {
    fs->enclosing->locals[static_cast<std::size_t>(local)].captured = true;
    return add_upvalue(fs, static_cast<std::uint8_t>(local), true);
  }
  int upvalue = resolve_upvalue(fs->enclosing, name);
  if (upvalue != -1) return add_upvalue(fs, static_cast<std::uint8_t>(upvalue), false);
  return -1;
}

void Compiler::add_local(const Token& name) {
  if (fs_->locals.size() == static_cast<std::size_t>(kMaxLocals)) {
    error("Too many local variables in function.");
    return;
  }
  fs_->locals.push_back(LocalVar{name, -1, false});
}

void Compiler::declare_variable() {
  if (fs_->scope_depth == 0) return;
  const Token& name = previous_;
  for (int i = static_cast<int>(fs_->locals.size()) - 1; i >= 0; --i) {
    LocalVar& local = fs_->locals[static_cast<std::size_t>(i)];
    if (local.depth != -1 && local.depth < fs_->scope_depth) break;
    if (identifiers_equal(name, local.name))
      error("Already a variable with this name in this scope.");
  }
  add_local(name);
}

std::uint16_t Compiler::parse_variable(const char* message) {
  consume(Tok::kIdentifier, message);
  declare_variable();
  if (fs_->scope_depth > 0) return 0;
  return global_slot_for(previous_);
}

void Compiler::mark_initialized() {
  if (fs_->scope_depth == 0) return;
  fs_->locals.back().depth = fs_->scope_depth;
}

void Compiler::define_variable(std::uint16_t global) {
  if (fs_->scope_depth > 0) {
    mark_initialized();  // the value stays in its stack slot
    return;
  }
  emit_global(Op::kDefineGlobal, global);
}

void Compiler::named_variable(const Token& name, bool can_assign) {
  Op get_op, set_op;
  int arg = resolve_local(fs_, name);
  bool global = false;
  if (arg != -1) {
    get_op = Op::kGetLocal;
    set_op = Op::kSetLocal;
  } else if ((arg = resolve_upvalue(fs_, name)) != -1) {
    get_op = Op::kGetUpvalue;
    set_op = Op::kSetUpvalue;
  } else {
    arg = global_slot_for(name);
    get_op = Op::kGetGlobal;
    set_op = Op::kSetGlobal;
    global = true;
  }
  Op op = get_op;
  if (can_assign && match(Tok::kEqual)) {
    expression();
    op = set_op;
  }
  if (global) {
    emit_global(op, static_cast<std::uint16_t>(arg));
  } else {
    emit_op(op, static_cast<std::uint8_t>(arg));
  }
}

// ---- Expressions ----------------------------------------------------------------------

void Compiler::expression() { parse_precedence(Prec::kAssignment); }

void Compiler::parse_precedence(Prec precedence) {
  if (!enter_nesting()) return;
  advance();
  ParseFn prefix = rule(previous_.type).prefix;
  if (prefix == nullptr) {
    error("Expect expression.");
    leave_nesting();
    return;
  }
  bool can_assign = precedence <= Prec::kAssignment;
  (this->*prefix)(can_assign);
  while (precedence <= rule(current_.type).precedence) {
    advance();
    (this->*rule(previous_.type).infix)(can_assign);
  }
  if (can_assign && match(Tok::kEqual)) error("Invalid assignment target.");
  leave_nesting();
}

std::uint8_t Compiler::argument_list() {
  int argc = 0;
  if (!check(Tok::kRightParen)) {
    do {
      expression();
      if (argc == 255) error("Can't have more than 255 arguments.");
      ++argc;
    } while (match(Tok::kComma));
  }
  consume(Tok::kRightParen, "Expect ')' after arguments.");
  return static_cast<std::uint8_t>(argc > 255 ? 255 : argc);
}

void Compiler::grouping(bool) {
  expression();
  consume(Tok::kRightParen, "Expect ')' after expression.");
}

void Compiler::call(bool) {
  std::uint8_t argc = argument_list();
  emit_op(Op::kCall, argc);
  adjust_stack(-argc);
}

void Compiler::dot(bool can_assign) {
  consume(Tok::kIdentifier, "Expect property name after '.'.");
  std::uint8_t name = identifier_constant(previous_);
  if (can_assign && match(Tok::kEqual)) {
    expression();
    emit_op(Op::kSetProperty, name);
    emit_cache();
  } else if (match(Tok::kLeftParen)) {
    std::uint8_t argc = argument_list();
    emit_op(Op::kInvoke, name);
    emit_byte(argc);
    adjust_stack(-argc);
  } else {
    FunctionState* fs = fs_;
    int end = static_cast<int>(fs->code.size());
    if (fs->last_op_start >= 0 && fs->last_op_start == end - 2 && fs->last_jump_target != end &&
        fs->code[static_cast<std::size_t>(end - 2)] == static_cast<std::uint8_t>(Op::kGetLocal) &&
        fs->code[static_cast<std::size_t>(end - 1)] == 0) {
      // `this.name`: fuse GetLocal 0 + GetProperty (one dispatch instead of two).
      fs->code[static_cast<std::size_t>(end - 2)] = static_cast<std::uint8_t>(Op::kGetThisProperty);
      fs->code[static_cast<std::size_t>(end - 1)] = name;
      fs->lines[static_cast<std::size_t>(end - 1)] = static_cast<std::uint32_t>(previous_.line);
      emit_cache();
      return;
    }
    emit_op(Op::kGetProperty, name);
    emit_cache();
  }
}

void Compiler::unary(bool) {
  Tok op = previous_.type;
  parse_precedence(Prec::kUnary);
  emit_op(op == Tok::kBang ? Op::kNot : Op::kNegate);
}

void Compiler::binary(bool) {
  Tok op = previous_.type;
  parse_precedence(static_cast<Prec>(static_cast<int>(rule(op).precedence) + 1));
  switch (op) {
    // a != b is !(a == b), a >= b is !(a < b), a <= b is !(a > b): as in clox, which
    // is what makes NaN >= 1 true.
    case Tok::kBangEqual:
      emit_op(Op::kEqual);
      emit_op(Op::kNot);
      break;
    case Tok::kEqualEqual:
      emit_op(Op::kEqual);
      break;
    case Tok::kGreater:
      emit_op(Op::kGreater);
      break;
    case Tok::kGreaterEqual:
      emit_op(Op::kLess);
      emit_op(Op::kNot);
      break;
    case Tok::kLess:
      emit_op(Op::kLess);
      break;
    case Tok::kLessEqual:
      emit_op(Op::kGreater);
      emit_op(Op::kNot);
      break;
    case Tok::kPlus:
      emit_op(Op::kAdd);
      break;
    case Tok::kMinus:
      emit_op(Op::kSubtract);
      break;
    case Tok::kStar:
      emit_op(Op::kMultiply);
      break;
    case Tok::kSlash:
      emit_op(Op::kDivide);
      break;
    default:
      break;
  }
}

void Compiler::number(bool) {
  double value = 0;
  const char* end = previous_.start + previous_.length;
  if (std::from_chars(previous_.start, end, value).ec == std::errc::result_out_of_range) {
    // from_chars leaves `value` alone when the literal is beyond double's range (a literal
    // of 1e309 or more would read as 0). clox uses strtod, which gives inf (or 0 for an
    // underflow): so do we, on a NUL-terminated copy of the digits.
    value = std::strtod(std::string(previous_.start, end).c_str(), nullptr);
  }
  emit_constant(Value::number(value));
}

void Compiler::string(bool) {
  ObjString* s = vm_.intern(std::string_view(previous_.start + 1, previous_.length - 2));
  emit_constant(Value::object(s));  // into the constants (a root) before anything allocates
}

void Compiler::literal(bool) {
  switch (previous_.type) {
    case Tok::kFalse:
      emit_op(Op::kFalse);
      break;
    case Tok::kNil:
      emit_op(Op::kNil);
      break;
    case Tok::kTrue:
      emit_op(Op::kTrue);
      break;
    default:
      break;
  }
}

void Compiler::variable(bool can_assign) { named_variable(previous_, can_assign); }

void Compiler::and_(bool) {
  int end_jump = emit_jump(Op::kJumpIfFalse);
  emit_op(Op::kPop);
  parse_precedence(Prec::kAnd);
  patch_jump(end_jump);
}

void Compiler::or_(bool) {
  int else_jump = emit_jump(Op::kJumpIfFalse);
  int end_jump = emit_jump(Op::kJump);
  patch_jump(else_jump);
  emit_op(Op::kPop);
  parse_precedence(Prec::kOr);
  patch_jump(end_jump);
}

void Compiler::this_(bool) {
  if (class_ == nullptr) {
    error("Can't use 'this' outside of a class.");
    return;
  }
  variable(false);
}

void Compiler::super_(bool) {
  if (class_ == nullptr) {
    error("Can't use 'super' outside of a class.");
  } else if (!class_->has_superclass) {
    error("Can't use 'super' in a class with no superclass.");
  }
  consume(Tok::kDot, "Expect '.' after 'super'.");
  consume(Tok::kIdentifier, "Expect superclass method name.");
  std::uint8_t name = identifier_constant(previous_);
  named_variable(synthetic_token("this"), false);
  if (match(Tok::kLeftParen)) {
    std::uint8_t argc = argument_list();
    named_variable(synthetic_token("super"), false);
    emit_op(Op::kSuperInvoke, name);
    emit_byte(argc);
    adjust_stack(-argc - 1);
  } else {
    named_variable(synthetic_token("super"), false);
    emit_op(Op::kGetSuper, name);
  }
}

// ---- Statements -----------------------------------------------------------------------

void Compiler::declaration() {
  if (match(Tok::kClass)) {
    class_declaration();
  } else if (match(Tok::kFun)) {
    fun_declaration();
  } else if (match(Tok::kVar)) {
    var_declaration();
  } else {
    statement();
  }
  if (panic_mode_) synchronize();
}

void Compiler::statement() {
  if (!enter_nesting()) return;
  if (match(Tok::kPrint)) {
    print_statement();
  } else if (match(Tok::kFor)) {
    for_statement();
  } else if (match(Tok::kIf)) {
    if_statement();
  } else if (match(Tok::kReturn)) {
    return_statement();
  } else if (match(Tok::kWhile)) {
    while_statement();
  } else if (match(Tok::kLeftBrace)) {
    begin_scope();
    block();
    end_scope();
  } else {
    expression_statement();
  }
  leave_nesting();
}

void Compiler::block() {
  while (!check(Tok::kRightBrace) && !check(Tok::kEof)) declaration();
  consume(Tok::kRightBrace, "Expect '}' after block.");
}

void Compiler::function(FunctionKind kind) {
  if (!enter_nesting()) return;
  FunctionState fs(&scratch_);
  begin_function(fs, kind);
  begin_scope();
  consume(Tok::kLeftParen, "Expect '(' after function name.");
  if (!check(Tok::kRightParen)) {
    do {
      ++fs.arity;
      if (fs.arity > 255) error_at_current("Can't have more than 255 parameters.");
      std::uint16_t constant = parse_variable("Expect parameter name.");
      define_variable(constant);
      adjust_stack(1);
    } while (match(Tok::kComma));
  }
  consume(Tok::kRightParen, "Expect ')' after parameters.");
  consume(Tok::kLeftBrace, "Expect '{' before function body.");
  block();
  // No end_scope: returning discards the whole frame.
  ObjFunction* fn = end_function();
  // `fn` must reach a root before anything else allocates: the enclosing constants.
  std::uint8_t constant = make_constant(Value::object(fn));
  emit_op(Op::kClosure, constant);
  for (const UpvalueRef& uv : fs.upvalues) {
    emit_byte(uv.is_local ? 1 : 0);
    emit_byte(uv.index);
  }
  leave_nesting();
}

void Compiler::method() {
  consume(Tok::kIdentifier, "Expect method name.");
  std::uint8_t constant = identifier_constant(previous_);
  FunctionKind kind = FunctionKind::kMethod;
  if (previous_.length == 4 && std::memcmp(previous_.start, "init", 4) == 0)
    kind = FunctionKind::kInitializer;
  function(kind);
  emit_op(Op::kMethod, constant);
}

void Compiler::class_declaration() {
  consume(Tok::kIdentifier, "Expect class name.");
  Token class_name = previous_;
  std::uint8_t name_constant = identifier_constant(previous_);
  declare_variable();
  // clox defines the class through the name constant it already made: no second one.
  std::uint16_t global = fs_->scope_depth > 0 ? 0 : last_global_slot();
  emit_op(Op::kClass, name_constant);
  define_variable(global);

  ClassState cs{class_, false};
  class_ = &cs;

  if (match(Tok::kLess)) {
    consume(Tok::kIdentifier, "Expect superclass name.");
    variable(false);
    if (identifiers_equal(class_name, previous_)) error("A class can't inherit from itself.");
    begin_scope();
    add_local(synthetic_token("super"));
    define_variable(0);
    named_variable(class_name, false);
    emit_op(Op::kInherit);
    cs.has_superclass = true;
  }

  named_variable(class_name, false);
  consume(Tok::kLeftBrace, "Expect '{' before class body.");
  while (!check(Tok::kRightBrace) && !check(Tok::kEof)) method();
  consume(Tok::kRightBrace, "Expect '}' after class body.");
  emit_op(Op::kPop);

  if (cs.has_superclass) end_scope();
  class_ = cs.enclosing;
}

void Compiler::fun_declaration() {
  std::uint16_t global = parse_variable("Expect function name.");
  mark_initialized();  // a local function may refer to itself
  function(FunctionKind::kFunction);
  define_variable(global);
}

void Compiler::var_declaration() {
  std::uint16_t global = parse_variable("Expect variable name.");
  if (match(Tok::kEqual)) {
    expression();
  } else {
    emit_op(Op::kNil);
  }
  consume(Tok::kSemicolon, "Expect ';' after variable declaration.");
  define_variable(global);
}

void Compiler::expression_statement() {
  expression();
  consume(Tok::kSemicolon, "Expect ';' after expression.");
  emit_op(Op::kPop);
}

void Compiler::print_statement() {
  expression();
  consume(Tok::kSemicolon, "Expect ';' after value.");
  emit_op(Op::kPrint);
}

void Compiler::if_statement() {
  consume(Tok::kLeftParen, "Expect '(' after 'if'.");
  expression();
  consume(Tok::kRightParen, "Expect ')' after condition.");
  bool fused;
  int then_jump = emit_condition_jump(&fused);
  if (!fused) emit_op(Op::kPop);
  statement();
  int else_jump = emit_jump(Op::kJump);
  patch_jump(then_jump);
  if (!fused) {
    adjust_stack(1);  // on this path the condition is still on the stack
    emit_op(Op::kPop);
  }
  if (match(Tok::kElse)) statement();
  patch_jump(else_jump);
}

void Compiler::while_statement() {
  int loop_start = static_cast<int>(fs_->code.size());
  fs_->last_jump_target = loop_start;
  consume(Tok::kLeftParen, "Expect '(' after 'while'.");
  expression();
  consume(Tok::kRightParen, "Expect ')' after condition.");
  bool fused;
  int exit_jump = emit_condition_jump(&fused);
  if (!fused) emit_op(Op::kPop);
  statement();
  emit_loop(loop_start);
  patch_jump(exit_jump);
  if (!fused) {
    adjust_stack(1);  // the exit path still has the condition
    emit_op(Op::kPop);
  }
}

void Compiler::for_statement() {
  begin_scope();
  consume(Tok::kLeftParen, "Expect '(' after 'for'.");
  if (match(Tok::kSemicolon)) {
    // No initializer.
  } else if (match(Tok::kVar)) {
    var_declaration();
  } else {
    expression_statement();
  }

  int loop_start = static_cast<int>(fs_->code.size());
  fs_->last_jump_target = loop_start;
  int exit_jump = -1;
  bool fused = false;
  if (!match(Tok::kSemicolon)) {
    expression();
    consume(Tok::kSemicolon, "Expect ';' after loop condition.");
    exit_jump = emit_condition_jump(&fused);
    if (!fused) emit_op(Op::kPop);
  }

  if (!match(Tok::kRightParen)) {
    int body_jump = emit_jump(Op::kJump);
    int increment_start = static_cast<int>(fs_->code.size());
    fs_->last_jump_target = increment_start;
    expression();
    emit_op(Op::kPop);
    consume(Tok::kRightParen, "Expect ')' after for clauses.");
    emit_loop(loop_start);
    loop_start = increment_start;
    patch_jump(body_jump);
  }

  statement();
  emit_loop(loop_start);
  if (exit_jump != -1) {
    patch_jump(exit_jump);
    if (!fused) {
      adjust_stack(1);
      emit_op(Op::kPop);
    }
  }
  end_scope();
}

void Compiler::return_statement() {
  if (fs_->kind == FunctionKind::kScript) error("Can't return from top-level code.");
  if (match(Tok::kSemicolon)) {
    emit_return();
  } else {
    if (fs_->kind == FunctionKind::kInitializer) error("Can't return a value from an initializer.");
    expression();
    consume(Tok::kSemicolon, "Expect ';' after return value.");
    emit_op(Op::kReturn);
  }
}

// ---- Entry point ----------------------------------------------------------------------

ObjFunction* Compiler::compile() {
  FunctionState fs(&scratch_);
  begin_function(fs, FunctionKind::kScript);
  advance();
  while (!match(Tok::kEof)) declaration();
  ObjFunction* fn = end_function();
  return had_error_ ? nullptr : fn;
}

}  // namespace lox
