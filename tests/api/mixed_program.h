/*
 * mixed_program.h — one Kiln program for the tests that run VMs in every
 * JIT mode and on threads (tests/api/test_jit.c, tests/tsan/threads.c):
 * calls, loops, floats, strings, classes (an inlined init and getter),
 * closures, maps and a caught error, enough that every mode compiles a
 * good part of it. It prints MIXED_PROGRAM_OUTPUT.
 */
#ifndef KILN_TEST_MIXED_PROGRAM_H
#define KILN_TEST_MIXED_PROGRAM_H

static const char mixed_src[] =
    "class P {\n"
    "    x: float\n"
    "    fn init(x: float) { self.x = x }\n"
    "    fn scaled(k: float) -> float { return self.x * k }\n"
    "}\n"
    "fn fib(n: int) -> int {\n"
    "    if n < 2 { return n }\n"
    "    return fib(n - 1) + fib(n - 2)\n"
    "}\n"
    "fn main() {\n"
    "    var m: {str: int} = {}\n"
    "    var acc = 0.0\n"
    "    let add = fn(a: int, b: int) -> int { return a + b }\n"
    "    for i in 0..3000 {\n"
    "        acc = acc + P(float(i)).scaled(0.5)\n"
    "        m[\"k${i % 10}\"] = add(i, 1)\n"
    "    }\n"
    "    var d = 0\n"
    "    try { print(10 / d) } catch e: ArithmeticError { print(\"caught ${e.message}\") }\n"
    "    print(\"${fib(20)} ${acc} ${m[\"k7\"]} ${m.len()}\")\n"
    "}\n";

#define MIXED_PROGRAM_OUTPUT "caught division by zero\n6765 2249250.0 2998 10\n"

#endif
