#!/usr/bin/env python3
"""Writes the Lox tests too big to keep in the repository (absurd nesting, huge
literals, very long programs) into OUTDIR, in the conformance-test format.

Usage: tools/lox-gen-tests.py OUTDIR
"""

import os
import sys

DEPTH = 100_000  # far beyond the compiler's nesting limit (1000)


def write(outdir, name, text):
    with open(os.path.join(outdir, name), "w") as f:
        f.write(text)


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)

    # Nesting far beyond the limit: one compile error, exit 65, no C++ stack overflow.
    write(outdir, "deep_parens.lox",
          "print " + "(" * DEPTH + "1" + ")" * DEPTH + ";\n"
          "// [line 1] Error at '(': Too much nesting.\n")
    write(outdir, "deep_unary.lox",
          "print " + "-" * DEPTH + "1;\n"
          "// [line 1] Error at '-': Too much nesting.\n")
    write(outdir, "deep_not.lox",
          "print " + "!" * DEPTH + "true;\n"
          "// [line 1] Error at '!': Too much nesting.\n")
    write(outdir, "deep_blocks.lox",
          "{" * DEPTH + "}" * DEPTH + "\n"
          "// [line 1] Error at '{': Too much nesting.\n")
    write(outdir, "deep_if.lox",
          "if (true) " * DEPTH + "print 1;\n"
          "// [line 1] Error at 'true': Too much nesting.\n")
    write(outdir, "deep_functions.lox",
          "fun f() {" * 5000 + "}" * 5000 + "\n"
          "// [line 1] Error at '(': Too much nesting.\n")
    write(outdir, "deep_calls.lox",
          # A local function: a global's every use would take a constant slot.
          "{\n  fun f(x) { return x; }\n  print " + "f(" * DEPTH + "1" + ")" * DEPTH + ";\n}\n"
          "// [line 3] Error at 'f': Too much nesting.\n")

    # Deep but within the limit: compiles and runs.
    write(outdir, "nesting_within_limit.lox",
          "print " + "(" * 400 + "1" + ")" * 400 + "; // expect: 1\n"
          + "{" * 400 + "print 2;" + "}" * 400 + " // expect: 2\n"
          + "print " + "-" * 400 + "3; // expect: 3\n")

    # A flat expression of 100,000 terms (left-associative: no recursion).
    write(outdir, "long_expression.lox",
          "{\n  var a = 1;\n  print a" + " + a" * (DEPTH - 1) + "; // expect: 100000\n}\n")

    # 100,000 statements: a big chunk and line table.
    write(outdir, "many_statements.lox",
          "".join("print nil; // expect: nil\n" for _ in range(DEPTH)))

    # A 16 MiB string literal (a large object), compared and concatenated.
    big = "x" * (16 << 20)
    write(outdir, "huge_string.lox",
          f'var s = "{big}";\nvar t = "{big}";\n'
          "print s == t; // expect: true\n"
          'print s + "y" == t + "y"; // expect: true\n'
          'print s == t + ""; // expect: true\n'
          'print s + s == s; // expect: false\n')

    # An unterminated huge string: one compile error at the end.
    write(outdir, "huge_unterminated_string.lox",
          "// [line 3] Error: Unterminated string.\nvar s = \"" + "y" * (4 << 20) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
