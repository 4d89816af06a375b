/*
 * test_check.c — comp_check: type errors and name resolution, through
 * comp_compile's diagnostics ("file:line:col: error: message", the source
 * line, a caret).
 */
#include "unit.h"

/* The first diagnostic line of compiling `src` must be `want`. */
static void assert_diag(const char *src, const char *want)
{
    char *first = unit_first_diag(src);
    cr_assert_str_eq(first, want, "for:\n%s", src);
    free(first);
}

static void assert_compiles(const char *src)
{
    char *text = unit_diags(src);
    cr_assert_str_eq(text, "", "for:\n%s", src);
    free(text);
}

Test(check, int_plus_float)
{
    assert_diag("let x = 1 + 2.0",
                "t.kn:1:11: error: operator '+' on int and float: no implicit conversion (use "
                "float(x) or int(x))");
    assert_diag("let f = 1.5\nlet b = f < 2",
                "t.kn:2:11: error: operator '<' on float and int: no implicit conversion (use "
                "float(x) or int(x))");
}

Test(check, full_diagnostic_text)
{
    char *text = unit_diags("let a = 1\nlet b = a * 2.5\n");
    cr_assert_str_eq(text, "t.kn:2:11: error: operator '*' on int and float: no implicit "
                           "conversion (use float(x) or int(x))\n"
                           "    let b = a * 2.5\n"
                           "              ^\n");
    free(text);
}

Test(check, caret_keeps_tabs)
{
    char *text = unit_diags("\tprint(nope)");
    cr_assert_str_eq(text, "t.kn:1:8: error: unknown name 'nope'\n"
                           "    \tprint(nope)\n"
                           "    \t      ^\n");
    free(text);
}

Test(check, operator_type_errors)
{
    assert_diag("let s = \"a\" + 1",
                "t.kn:1:13: error: operator '+' cannot be applied to str and int");
    assert_diag("let b = true < false",
                "t.kn:1:14: error: operator '<' cannot be applied to bool and bool");
    assert_diag("let x = 1.5 & 2.0",
                "t.kn:1:13: error: operator '&' cannot be applied to float and float");
    assert_diag("let x = 1 && true",
                "t.kn:1:11: error: operator '&&' cannot be applied to int and bool");
    assert_diag("let x = -\"s\"", "t.kn:1:9: error: operator '-' cannot be applied to str");
    assert_diag("let x = !1", "t.kn:1:9: error: operator '!' cannot be applied to int");
    assert_diag("let x = ~1.0", "t.kn:1:9: error: operator '~' cannot be applied to float");
    assert_diag("let x = null == null",
                "t.kn:1:14: error: operator '==' cannot be applied to null and null");
}

Test(check, names)
{
    assert_diag("print(y)", "t.kn:1:7: error: unknown name 'y'");
    assert_diag("let x = nope(1)", "t.kn:1:9: error: unknown function 'nope'");
    assert_diag("fn f() {}\nlet x: int = f",
                "t.kn:2:14: error: cannot initialize 'x' of type int with fn()");
    assert_diag("let p = print", "t.kn:1:9: error: built-in function 'print' cannot be used as a "
                                 "value (wrap it in a function literal)");
    assert_diag("let v = 1\nv(2)",
                "t.kn:2:1: error: 'v' is a variable of type int, not a function");
    assert_diag("{\n    let inner = 1\n}\nprint(inner)", "t.kn:4:7: error: unknown name 'inner'");
    assert_diag("for i in 0..3 { }\nprint(i)", "t.kn:2:7: error: unknown name 'i'");
}

Test(check, declarations)
{
    assert_diag("let x = 1\nlet x = 2",
                "t.kn:2:5: error: 'x' is already declared in this scope (at line 1)");
    assert_diag("fn f() {}\nlet f = 1", "t.kn:2:5: error: 'f' is already declared as a function");
    assert_diag(
        "let x",
        "t.kn:1:5: error: 'let x' needs an initial value (use var for a variable set later)");
    assert_diag("var x", "t.kn:1:5: error: 'var x' needs a type or an initial value");
    assert_diag("let s = null", "t.kn:1:9: error: cannot infer a type from null; annotate the "
                                "variable (let x: str = null)");
    assert_diag("var x: int = \"s\"",
                "t.kn:1:14: error: cannot initialize 'x' of type int with str");
    assert_diag("fn f() {}\nlet x = f()",
                "t.kn:2:9: error: a call without result has no value to store");
    assert_diag("fn f(a: int, a: int) {}", "t.kn:1:14: error: parameter 'a' is declared twice");
    assert_diag("fn print(x: int) {}",
                "t.kn:1:4: error: 'print' is a built-in function and cannot be redefined");
    /* shadowing in an inner block is allowed */
    assert_compiles("let x = 1\n{\n    let x = \"s\"\n    print(x)\n}\nprint(x)");
}

Test(check, assignments)
{
    assert_diag("fn f() {\n    let n = 1\n    n = 2\n}",
                "t.kn:3:5: error: cannot assign to 'n': it is declared with let (use var)");
    assert_diag("fn f() {\n    let n = 1\n    n *= 2\n}",
                "t.kn:3:5: error: cannot assign to 'n': it is declared with let (use var)");
    assert_diag("let g = 1 + 1\ng = 2",
                "t.kn:2:1: error: cannot assign to 'g': it is declared with let (use var)");
    assert_diag("var x = 1\nx = 2.5", "t.kn:2:5: error: cannot assign float to 'x' of type int");
    assert_diag("var f = 1.0\nf += 1",
                "t.kn:2:3: error: operator '+' on float and int: no implicit conversion (use "
                "float(x) or int(x))");
    assert_diag("var s = \"a\"\ns -= \"b\"",
                "t.kn:2:3: error: operator '-' cannot be applied to str and str");
    assert_diag("let s = \"abc\"\ns[0] = 1",
                "t.kn:2:2: error: strings are immutable; build a new one instead");
    assert_diag("var x = 1\nx + 1 = 2", "t.kn:2:3: error: cannot assign to this expression");
    assert_diag("var x = 1\nx", "t.kn:2:1: error: expression result is not used");
}

/* A global `let` with a literal value is replaced by the literal at each
 * use (sym->konst in comp_check.c); assigning to it must still be an
 * error, not a crash in the emitter (it was, at commit 6cb260d). */
Test(check, assign_to_global_let_constant)
{
    assert_diag("let x = 1\nx = 2",
                "t.kn:2:1: error: cannot assign to 'x': it is declared with let (use var)");
}

Test(check, compound_assign_to_global_let_constant)
{
    assert_diag("let s = \"a\"\ns += \"b\"",
                "t.kn:2:1: error: cannot assign to 's': it is declared with let (use var)");
}

Test(check, conditions_and_loops)
{
    assert_diag("if 1 { }", "t.kn:1:4: error: if condition must be bool, got int");
    assert_diag("while \"s\" { }", "t.kn:1:7: error: while condition must be bool, got str");
    assert_diag("for i in 0.5..3 { }", "t.kn:1:10: error: range start must be int, got float");
    assert_diag("for i in 0..true { }", "t.kn:1:13: error: range end must be int, got bool");
    assert_diag("break", "t.kn:1:1: error: break outside a loop");
    assert_diag("fn f() {\n    continue\n}", "t.kn:2:5: error: continue outside a loop");
    assert_diag("for i in 0..3 {\n    i = 2\n}",
                "t.kn:2:5: error: cannot assign to 'i': it is a loop variable");
    assert_diag("fn f(p: int) {\n    p += 1\n}",
                "t.kn:2:5: error: cannot assign to 'p': it is a parameter (copy it into a var)");
}

Test(check, calls)
{
    assert_diag("fn f(a: int) -> int { return a }\nprint(f(1.0))",
                "t.kn:2:9: error: argument 1 of f() is float, expected int");
    assert_diag("fn f(a: int, b: str) {}\nf(1)", "t.kn:2:1: error: f() takes 2 arguments, got 1");
    assert_diag("fn f(a: int) {}\nf(1, 2)", "t.kn:2:1: error: f() takes 1 argument, got 2");
    assert_diag("print(1, 2)", "t.kn:1:1: error: print() cannot be called with (int, int)");
    assert_diag("let n = parse_int(5)", "t.kn:1:9: error: parse_int() cannot be called with (int)");
    assert_diag("let n = int(\"5\")",
                "t.kn:1:9: error: int() needs an int or float, got str (use parse_int)");
    assert_diag("let n = float()", "t.kn:1:9: error: float() takes 1 argument, got 0");
    assert_diag("let s = \"a\"\nlet n = s.nope()", "t.kn:2:11: error: str has no method 'nope'");
    assert_diag("let s = \"a\"\nlet n = s.len(1)",
                "t.kn:2:11: error: str.len() takes no arguments");
    assert_diag("let x = 1\nlet n = x.len()", "t.kn:2:11: error: int has no method 'len'");
    assert_diag("let s = \"a\"\nlet n = s.len",
                "t.kn:2:11: error: str has no field 'len' (methods are called: s.len())");
    assert_diag("fn f() {}\nprint(\"${f()}\")",
                "t.kn:2:10: error: a call without result cannot be interpolated");
    assert_diag("let x = 1\nlet y = x[0]", "t.kn:2:10: error: int cannot be indexed");
    assert_diag("let s = \"ab\"\nlet y = s[true]", "t.kn:2:11: error: index must be int, got bool");
}

Test(check, returns)
{
    assert_diag("fn f() -> int {\n    let a = 1\n}",
                "t.kn:1:4: error: f() returns int, but control can reach the end without a return");
    assert_diag("fn f(b: bool) -> int {\n    if b { return 1 }\n}",
                "t.kn:1:4: error: f() returns int, but control can reach the end without a return");
    assert_diag("fn f() -> int {\n    while true { break }\n}",
                "t.kn:1:4: error: f() returns int, but control can reach the end without a return");
    assert_diag("fn f() -> str {\n    return 1\n}", "t.kn:2:12: error: f() returns str, not int");
    assert_diag("fn f() {\n    return 1\n}",
                "t.kn:2:12: error: f() has no result type, but returns a value");
    assert_diag("fn f() -> int {\n    return\n}",
                "t.kn:2:5: error: missing return value: f() returns int");
    assert_diag("return 1", "t.kn:1:1: error: return outside a function");
    assert_diag("fn main(a: int) {}",
                "t.kn:1:4: error: main() must take no parameters and return nothing");
    assert_diag("fn main() -> int { return 0 }",
                "t.kn:1:4: error: main() must take no parameters and return nothing");
    /* These all end in a terminating statement. */
    assert_compiles("fn f(b: bool) -> int {\n    if b { return 1 } else { return 2 }\n}");
    assert_compiles("fn f() -> int {\n    while true { }\n}");
    assert_compiles("fn f(b: bool) -> int {\n    if b { return 1 } else if !b { return 2 } else { "
                    "return 3 }\n}");
    assert_compiles("fn f() -> str {\n    return null\n}");
}

Test(check, integer_literal_range)
{
    assert_diag("let x = 9223372036854775808", "t.kn:1:9: error: integer literal out of range");
    assert_compiles(
        "let x = -9223372036854775808\nlet y = 9223372036854775807\nlet z = 0xffffffffffffffff");
}

Test(check, several_errors_in_order)
{
    char *text = unit_diags("let a = 1 + 1.5\nprint(b)\nlet c: bool = 3\n");
    const char *want[] = {"t.kn:1:11: error:", "t.kn:2:7: error: unknown name 'b'",
                          "t.kn:3:15: error: cannot initialize 'c' of type bool with int"};
    const char *at = text;
    for (size_t i = 0; i < 3; i++) {
        const char *hit = strstr(at, want[i]);
        cr_assert_not_null(hit, "missing or out of order: %s\nin:\n%s", want[i], text);
        at = hit + 1;
    }
    free(text);
}

Test(check, errors_stop_after_the_limit)
{
    char src[4096] = "";
    for (int i = 0; i < KILN_MAX_DIAGS + 5; i++)
        strcat(src, "print(nope)\n");
    char *text = unit_diags(src);
    int n = 0;
    for (const char *p = text; (p = strstr(p, ": error: unknown name 'nope'")); p++)
        n++;
    cr_assert_eq(n, KILN_MAX_DIAGS);
    cr_assert_not_null(strstr(text, "t.kn: too many errors, stopping\n"), "%s", text);
    free(text);
}

Test(check, valid_program_compiles)
{
    assert_compiles("fn fib(n: int) -> int {\n"
                    "    if n < 2 { return n }\n"
                    "    return fib(n - 1) + fib(n - 2)\n"
                    "}\n"
                    "var total = 0\n"
                    "for i in 0..10 { total += fib(i) }\n"
                    "let s: str = null\n"
                    "print(\"total ${total} ${s == null} ${float(total) / 2.0}\")\n"
                    "fn main() { print(helper(2)) }\n"
                    "fn helper(x: int) -> str { return str(x) + \"!\" }\n");
}
