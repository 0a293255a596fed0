// The evaluator: EVAL with tail calls as a loop, function application, environments and
// quasiquote. Every allocation here can move every object: a raw pointer or Value is
// re-read from a Local, the value stack or a Member after anything that allocates.
#include <cstdio>
#include <new>
#include <stdexcept>
#include <string>

#include "interp.hpp"

namespace mal {

namespace {

/// The step of the process guide that introduces each special form.
int step_of(Special s) {
  switch (s) {
    case Special::kDef:
    case Special::kLet:
      return 3;
    case Special::kIf:
    case Special::kFn:
    case Special::kDo:
      return 4;
    case Special::kQuote:
    case Special::kQuasiquote:
    case Special::kQuasiquoteExpand:
      return 7;
    case Special::kDefmacro:
    case Special::kMacroexpand:
      return 8;
    case Special::kTry:
      return 9;
    case Special::kNone:
      break;
  }
  return 1000;
}

}  // namespace

// ---- Environments -----------------------------------------------------------------------

Value Interp::define(Env* env, Name* name, Value value) {
  if (name == names_.debug_eval) debug_eval_seen_ = true;
  if (Binding* b = env->find_here(name)) {
    b->value = value;
    return value;
  }
  if (env->count < env->capacity) {
    Binding& b = env->slots()[env->count];
    b.name = name;
    b.value = value;
    ++env->count;
    return value;
  }
  EnvTable* t = env->table.get();
  if (t == nullptr || (t->count + 1) * 2 > t->capacity) {
    // Growing allocates: root the operands on the value stack, re-read them after.
    Value* base = sp_;
    push(Value::object(env));
    push(Value::object(name));
    push(value);
    grow_table(base[0].as<Env>());
    env = base[0].as<Env>();
    name = base[1].as<Name>();
    value = base[2];
    pop_to(base);
    t = env->table.get();
  }
  std::uint32_t mask = t->capacity - 1;
  std::uint32_t i = name->hash & mask;
  while (t->slots()[i].name.get() != nullptr) i = (i + 1) & mask;
  t->slots()[i].name = name;
  t->slots()[i].value = value;
  ++t->count;
  return value;
}

void Interp::grow_table(Env* env_raw) {
  marrow::HandleScope scope(rt_);
  Local<Env> env = handle(env_raw);
  std::uint32_t old_capacity = env->table ? env->table->capacity : 0;
  std::uint32_t capacity = old_capacity == 0 ? 32 : old_capacity * 2;
  Local<EnvTable> grown = rt_.make_sized<EnvTable>(capacity * sizeof(Binding), capacity);
  if (EnvTable* old = env->table.get()) {
    std::uint32_t mask = capacity - 1;
    for (std::uint32_t j = 0; j < old->capacity; ++j) {
      Binding& from = old->slots()[j];
      if (from.name.get() == nullptr) continue;
      std::uint32_t i = from.name->hash & mask;
      while (grown->slots()[i].name.get() != nullptr) i = (i + 1) & mask;
      grown->slots()[i].name = from.name;
      grown->slots()[i].value = from.value;
    }
    grown->count = old->count;
  }
  env->table = grown;
}

Local<Env> Interp::bind(Value* args, std::uint32_t argc) {
  // The closure is args[-1]; it and the arguments are on the value stack.
  Fn* f = args[-1].as<Fn>();
  const std::uint32_t nfixed = f->nfixed;
  const bool variadic = f->variadic;
  Local<Seq> rest;
  if (variadic) rest = new_seq(Tag::kList, args + nfixed, argc > nfixed ? argc - nfixed : 0);
  const std::uint32_t capacity = nfixed + (variadic ? 1 : 0);
  Local<Env> env = new_env(capacity);
  f = args[-1].as<Fn>();  // may have moved
  env->outer = f->env;
  Seq* params = f->params.get();
  Binding* slots = env->slots();
  for (std::uint32_t i = 0; i < nfixed; ++i) {
    slots[i].name = params->at(i).as<Name>();
    slots[i].value = i < argc ? args[i] : Value::nil();
  }
  if (variadic) {
    slots[nfixed].name = params->at(nfixed + 1).as<Name>();
    slots[nfixed].value = Value::object(rest.get());
  }
  env->count = capacity;
  return env;
}

Value Interp::lookup(Name* name, Env* env) {
  if (Binding* b = env->find(name)) return b->value.get();
  error("'" + std::string(name->view()) + "' not found");
}

// ---- EVAL -------------------------------------------------------------------------------

Value Interp::apply(Value* args, std::uint32_t argc) {
  Value f = args[-1];
  if (is_tag(f, Tag::kBuiltin)) return f.as<Builtin>()->fn(*this, args, argc);
  if (!is_tag(f, Tag::kFn)) error("cannot apply " + pr_str(f, true));
  marrow::HandleScope scope(rt_);
  Local<Env> env = bind(args, argc);
  return eval(args[-1].as<Fn>()->body.get(), env.get());
}

void Interp::debug_print(Value ast, Env* env) {
  Binding* b = env->find(names_.debug_eval);
  if (b == nullptr || !truthy(b->value.get())) return;
  std::string line = "EVAL: ";
  print(line, ast, true);
  line.push_back('\n');
  std::fputs(line.c_str(), stdout);
}

Value Interp::eval(Value ast_in, Env* env_in) {
  // Fast paths that need no frame: self-evaluating values and symbol lookup.
  if (!debug_eval_seen_) [[likely]] {
    if (!ast_in.is_object()) return ast_in;
    MalObj* o = ast_in.as<MalObj>();
    if (o->tag == Tag::kSymbol) return lookup(static_cast<Name*>(o), env_in);
    if (o->tag != Tag::kList && o->tag != Tag::kVector && o->tag != Tag::kMap) return ast_in;
  } else if (!ast_in.is_object()) {
    debug_print(ast_in, env_in);
    return ast_in;
  }
  check_stack();

  // The frame: the form being evaluated and its environment, in Locals that the loop
  // re-points at each tail call (so a loop of a million tail calls uses two slots).
  // Everything else a form needs lives in the helpers below, so that this function's
  // native frame, one per level of mal recursion, stays small.
  marrow::HandleScope frame(rt_);
  Local<MalObj> ast = handle(ast_in.as<MalObj>());
  Local<Env> env = handle(env_in);
  auto form = [&] { return static_cast<Seq*>(ast.get()); };

  for (;;) {
    // Temporaries of one iteration; closed before the next, so nothing piles up.
    marrow::HandleScope scope(rt_);
    if (debug_eval_seen_) [[unlikely]]
      debug_print(Value::object(ast.get()), env.get());

    switch (ast->tag) {
      case Tag::kSymbol:
        return lookup(static_cast<Name*>(ast.get()), env.get());
      case Tag::kVector:
      case Tag::kMap:
        return eval_collection(ast, env);
      case Tag::kList:
        break;
      default:
        return Value::object(ast.get());
    }
    const std::uint32_t count = form()->count;
    if (count == 0) return Value::object(ast.get());
    Value head = form()->at(0);
    Special special = is_tag(head, Tag::kSymbol) ? head.as<Name>()->special : Special::kNone;
    if (special != Special::kNone && step_of(special) > step_) special = Special::kNone;

    Value next;  // the form in tail position, evaluated by the next iteration
    switch (special) {
      case Special::kDef: {
        if (count != 3 || !is_tag(form()->at(1), Tag::kSymbol)) error("def!: (def! symbol value)");
        Value v = eval(form()->at(2), env.get());
        return define(env.get(), form()->at(1).as<Name>(), v);
      }
      case Special::kLet:
        next = eval_let(ast, env);
        break;
      case Special::kIf: {
        if (count < 3 || count > 4) error("if: (if test then else?)");
        Value test = eval(form()->at(1), env.get());
        if (truthy(test)) {
          next = form()->at(2);
        } else if (count == 4) {
          next = form()->at(3);
        } else {
          return Value::nil();
        }
        break;
      }
      case Special::kFn:
        return eval_fn(ast, env);
      case Special::kDo: {
        if (count == 1) return Value::nil();
        for (std::uint32_t i = 1; i + 1 < count; ++i) eval(form()->at(i), env.get());
        next = form()->at(count - 1);
        break;
      }
      case Special::kQuote:
        if (count != 2) error("quote: (quote form)");
        return form()->at(1);
      case Special::kQuasiquote:
        if (count != 2) error("quasiquote: (quasiquote form)");
        next = quasiquote(form()->at(1));
        break;
      case Special::kDefmacro:
        return eval_defmacro(ast, env);
      case Special::kQuasiquoteExpand:
        if (count != 2) error("quasiquoteexpand: (quasiquoteexpand form)");
        return quasiquote(form()->at(1));
      case Special::kMacroexpand:
        if (count != 2) error("macroexpand: (macroexpand form)");
        return macroexpand(form()->at(1), env);
      case Special::kTry: {
        bool tail = false;
        next = eval_try(ast, env, tail);
        if (!tail) return next;
        break;
      }
      case Special::kNone: {
        // Application: evaluate the operator, then (unless it is a macro) the operands
        // onto the value stack, where a builtin reads them and a closure binds them.
        Value* base = sp_;
        push(eval(head, env.get()));
        if (is_tag(base[0], Tag::kFn) && base[0].as<Fn>()->is_macro) {
          next = expand_macro(ast, base);
          break;
        }
        for (std::uint32_t i = 1; i < count; ++i) push(eval(form()->at(i), env.get()));
        Value f = base[0];
        if (is_tag(f, Tag::kBuiltin)) {
          Value result = f.as<Builtin>()->fn(*this, base + 1, count - 1);
          pop_to(base);
          return result;
        }
        if (!is_tag(f, Tag::kFn)) error("cannot apply " + pr_str(f, true));
        Local<Env> callee = bind(base + 1, count - 1);
        next = base[0].as<Fn>()->body.get();
        pop_to(base);
        reseat(env, callee.get());
        break;
      }
    }

    // A tail position: loop instead of recursing.
    if (!next.is_object()) {
      if (debug_eval_seen_) debug_print(next, env.get());
      return next;
    }
    reseat(ast, next.as<MalObj>());
  }
}

Value Interp::eval_let(Local<MalObj> ast, Local<Env>& env) {
  // (let* (name value ...) body): a new frame sized for the bindings; body in tail position.
  auto form = [&] { return static_cast<Seq*>(ast.get()); };
  if (form()->count != 3 || !is_seq(form()->at(1)) || form()->at(1).as<Seq>()->count % 2 != 0)
    error("let*: (let* (symbol value ...) body)");
  const std::uint32_t n = form()->at(1).as<Seq>()->count / 2;
  Local<Env> inner = new_env(n);
  inner->outer = env;
  for (std::uint32_t i = 0; i < n; ++i) {
    Seq* bindings = form()->at(1).as<Seq>();
    if (!is_tag(bindings->at(2 * i), Tag::kSymbol)) error("let*: binding names are symbols");
    Value v = eval(bindings->at(2 * i + 1), inner.get());
    define(inner.get(), form()->at(1).as<Seq>()->at(2 * i).as<Name>(), v);
  }
  reseat(env, inner.get());
  return form()->at(2);
}

Value Interp::eval_fn(Local<MalObj> ast, Local<Env> env) {
  // (fn* (params) body): the closure keeps the parameter list of the form itself.
  auto form = [&] { return static_cast<Seq*>(ast.get()); };
  if (form()->count != 3 || !is_seq(form()->at(1))) error("fn*: (fn* (params) body)");
  Local<Fn> f = new_fn();
  Seq* params = form()->at(1).as<Seq>();
  std::uint32_t nfixed = params->count;
  for (std::uint32_t i = 0; i < params->count; ++i) {
    Value p = params->at(i);
    if (!is_tag(p, Tag::kSymbol)) error("fn*: parameters are symbols");
    if (p.as<Name>() == names_.debug_eval) debug_eval_seen_ = true;
    if (p.as<Name>() == names_.amp) {
      if (i + 2 != params->count || !is_tag(params->at(i + 1), Tag::kSymbol))
        error("fn*: & is followed by one symbol");
      nfixed = i;
      f->variadic = true;
      break;
    }
  }
  f->nfixed = nfixed;
  f->params = params;
  f->body = form()->at(2);
  f->env = env;
  return Value::object(f.get());
}

Value Interp::eval_defmacro(Local<MalObj> ast, Local<Env> env) {
  auto form = [&] { return static_cast<Seq*>(ast.get()); };
  if (form()->count != 3 || !is_tag(form()->at(1), Tag::kSymbol))
    error("defmacro!: (defmacro! symbol function)");
  Value* base = sp_;
  push(eval(form()->at(2), env.get()));
  if (!is_tag(base[0], Tag::kFn)) error("defmacro!: the value must be a function");
  // A copy: the function itself must stay a function.
  Local<Fn> m = new_fn();
  Fn* f = base[0].as<Fn>();
  m->is_macro = true;
  m->variadic = f->variadic;
  m->nfixed = f->nfixed;
  m->params = f->params;
  m->body = f->body;
  m->env = f->env;
  pop_to(base);
  return define(env.get(), form()->at(1).as<Name>(), Value::object(m.get()));
}

Value Interp::eval_try(Local<MalObj> ast, Local<Env>& env, bool& tail) {
  // (try* form (catch* name handler)): the handler is in tail position, the form is not.
  auto form = [&] { return static_cast<Seq*>(ast.get()); };
  const std::uint32_t count = form()->count;
  if (count != 2 && count != 3) error("try*: (try* form (catch* symbol handler))");
  Value* base = sp_;
  Value exc;
  try {
    return eval(form()->at(1), env.get());
  } catch (const MalThrow&) {
    exc = take_exception();
  } catch (const StackOverflow&) {
    exc = stack_overflow_value();
  } catch (const std::bad_alloc&) {  // marrow::OutOfMemory: the heap limit
    exc = out_of_memory_value();
  } catch (const std::length_error&) {  // marrow::InvalidSize: no heap holds that
    exc = out_of_memory_value();
  }
  // The Locals of the frames the exception left were released as it unwound (their
  // HandleScopes are destructors); the value stack is reset here.
  pop_to(base);
  Value clause = count == 3 ? form()->at(2) : Value::nil();
  if (!is_tag(clause, Tag::kList) || clause.as<Seq>()->count != 3 ||
      clause.as<Seq>()->at(0) != Value::object(names_.catch_) ||
      !is_tag(clause.as<Seq>()->at(1), Tag::kSymbol))
    throw_value(exc);
  push(exc);
  Local<Env> handler = new_env(1);
  handler->outer = env;
  define(handler.get(), form()->at(2).as<Seq>()->at(1).as<Name>(), base[0]);
  pop_to(base);
  reseat(env, handler.get());
  tail = true;
  return form()->at(2).as<Seq>()->at(2);
}

Value Interp::macroexpand(Value form, Local<Env> env) {
  // Expands while the form is a call of a macro; the result is not evaluated.
  Value* base = sp_;
  push(form);
  for (;;) {
    marrow::HandleScope scope(rt_);
    Value f = base[0];
    if (!is_tag(f, Tag::kList) || f.as<Seq>()->count == 0 ||
        !is_tag(f.as<Seq>()->at(0), Tag::kSymbol))
      break;
    Binding* b = env->find(f.as<Seq>()->at(0).as<Name>());
    if (b == nullptr || !is_tag(b->value.get(), Tag::kFn) || !b->value.get().as<Fn>()->is_macro)
      break;
    push(b->value.get());
    base[0] = expand_macro(handle(base[0].as<MalObj>()), base + 1);
  }
  Value result = base[0];
  pop_to(base);
  return result;
}

Value Interp::expand_macro(Local<MalObj> ast, Value* base) {
  // The macro is base[0]; its arguments are the form's operands, unevaluated.
  Seq* l = static_cast<Seq*>(ast.get());
  for (std::uint32_t i = 1; i < l->count; ++i) push(l->at(i));
  Value expansion = apply(base + 1, l->count - 1);
  pop_to(base);
  return expansion;
}

Value Interp::eval_collection(Local<MalObj> form, Local<Env> env) {
  Value* base = sp_;
  if (form->tag == Tag::kVector) {
    const std::uint32_t n = static_cast<Seq*>(form.get())->count;
    for (std::uint32_t i = 0; i < n; ++i)
      push(eval(static_cast<Seq*>(form.get())->at(i), env.get()));
    Local<Seq> v = new_seq(Tag::kVector, base, n);
    pop_to(base);
    return Value::object(v.get());
  }
  // A map: keys as they are (strings and keywords evaluate to themselves), values
  // evaluated, then one map built from the pairs.
  const std::uint32_t slots = static_cast<Map*>(form.get())->slot_count();
  for (std::uint32_t i = 0; i < slots; ++i) {
    Entry& e = static_cast<Map*>(form.get())->entries()[i];
    if (e.key.get() == no_key()) continue;
    push(e.key.get());
    push(eval(static_cast<Map*>(form.get())->entries()[i].value.get(), env.get()));
  }
  Value none = Value::nil();
  Local<Map> m = map_assoc(*this, &none, base, static_cast<std::uint32_t>((sp_ - base) / 2));
  pop_to(base);
  return Value::object(m.get());
}

// ---- Quasiquote -------------------------------------------------------------------------

Value Interp::quasiquote(Value ast) {
  check_stack();
  if (!ast.is_object()) return ast;
  marrow::HandleScope scope(rt_);
  Value* base = sp_;
  Value result;
  switch (ast.as<MalObj>()->tag) {
    case Tag::kSymbol:
    case Tag::kMap: {  // (quote ast)
      push(Value::object(names_.quote));
      push(ast);
      result = Value::object(new_seq(Tag::kList, base, 2).get());
      break;
    }
    case Tag::kList: {
      Seq* l = ast.as<Seq>();
      if (l->count == 2 && l->at(0) == Value::object(names_.unquote)) return l->at(1);
      push(ast);
      result = qq_list(base);
      break;
    }
    case Tag::kVector: {  // (vec <list expansion>)
      push(Value::object(names_.vec));
      push(ast);
      base[1] = qq_list(base + 1);
      result = Value::object(new_seq(Tag::kList, base, 2).get());
      break;
    }
    default:
      return ast;
  }
  pop_to(base);
  return result;
}

Value Interp::qq_list(Value* seq) {
  // Folds from the right: acc = (cons (quasiquote elt) acc), or (concat x acc) for an
  // element (splice-unquote x). `*seq` and the accumulator stay on the value stack.
  marrow::HandleScope scope(rt_);
  Value* acc = sp_;
  push(Value::object(new_seq_nil(Tag::kList, 0).get()));
  for (std::uint32_t i = seq->as<Seq>()->count; i-- > 0;) {
    marrow::HandleScope step(rt_);
    Value elt = seq->as<Seq>()->at(i);
    Value* parts = sp_;
    if (is_tag(elt, Tag::kList) && elt.as<Seq>()->count == 2 &&
        elt.as<Seq>()->at(0) == Value::object(names_.splice_unquote)) {
      push(Value::object(names_.concat));
      push(elt.as<Seq>()->at(1));
    } else {
      push(Value::object(names_.cons));
      push(quasiquote(elt));
    }
    push(*acc);
    *acc = Value::object(new_seq(Tag::kList, parts, 3).get());
    pop_to(parts);
  }
  Value result = *acc;
  pop_to(acc);
  return result;
}

}  // namespace mal
