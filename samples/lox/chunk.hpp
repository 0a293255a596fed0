// The bytecode: opcodes and their operands. Code is compiled into growable buffers and
// then frozen into the VM's code arena (off the managed heap), so `ip` pointers stay
// valid however often the collector moves the function objects that own the code.
#pragma once
#include <cstdint>

namespace lox {

// Operands follow the opcode: k = constant index (1 byte), g = global slot (2 bytes,
// big-endian), s = stack slot (1 byte), u = upvalue index, n = argument count,
// j = jump offset (2 bytes, big-endian), c = field cache (2 bytes, big-endian: an index
// into the VM's field caches, one per property access in the program).
#define LOX_OPCODES(X)                                                               \
  X(kConstant, 1) /* k          push constant                            */          \
  X(kNil, 0)                                                                         \
  X(kTrue, 0)                                                                        \
  X(kFalse, 0)                                                                       \
  X(kPop, 0)                                                                         \
  X(kGetLocal, 1)     /* s                                                   */      \
  X(kSetLocal, 1)     /* s                                                   */      \
  X(kGetGlobal, 2)    /* g                                                   */      \
  X(kDefineGlobal, 2) /* g                                                   */      \
  X(kSetGlobal, 2)    /* g                                                   */      \
  X(kGetUpvalue, 1)   /* u                                                   */      \
  X(kSetUpvalue, 1)   /* u                                                   */      \
  X(kGetProperty, 3)  /* k c (name, field cache)                             */      \
  X(kSetProperty, 3)  /* k c (name, field cache)                             */      \
  X(kGetSuper, 1)     /* k (name)                                            */      \
  X(kEqual, 0)                                                                       \
  X(kGreater, 0)                                                                     \
  X(kLess, 0)                                                                        \
  X(kAdd, 0)                                                                         \
  X(kSubtract, 0)                                                                    \
  X(kMultiply, 0)                                                                    \
  X(kDivide, 0)                                                                      \
  X(kNot, 0)                                                                         \
  X(kNegate, 0)                                                                      \
  X(kPrint, 0)                                                                       \
  X(kJump, 2)        /* j forward                                           */       \
  X(kJumpIfFalse, 2) /* j forward, condition stays on the stack             */       \
  X(kLoop, 2)        /* j backward                                          */       \
  X(kCall, 1)        /* n                                                   */       \
  X(kInvoke, 2)      /* k n: receiver.name(args)                            */       \
  X(kSuperInvoke, 2) /* k n: super.name(args), superclass on top             */      \
  X(kClosure, 1)     /* k, then (is_local, index) per upvalue               */       \
  X(kCloseUpvalue, 0)                                                                \
  X(kReturn, 0)                                                                      \
  X(kClass, 1) /* k (name)                                            */             \
  X(kInherit, 0)                                                                     \
  X(kMethod, 1)          /* k (name)                                            */   \
  X(kGetThisProperty, 3) /* k c: GetLocal 0 then GetProperty k c (`this.name`) */    \
  /* A comparison fused with the conditional jump of if/while/for: pops both     */  \
  /* operands and jumps unless the comparison holds (no boolean, no Pop).         */ \
  X(kJumpIfNotLess, 2)    /* j */                                                    \
  X(kJumpIfNotGreater, 2) /* j */                                                    \
  X(kJumpIfNotEqual, 2)   /* j */

enum class Op : std::uint8_t {
#define LOX_OP_ENUM(name, operands) name,
  LOX_OPCODES(LOX_OP_ENUM)
#undef LOX_OP_ENUM
      kCount
};

}  // namespace lox
