/*
 * test_parser.c — comp_parse: the shape of the AST (precedence and
 * associativity as docs/language.md gives them), statements, and error
 * recovery. Expressions are shown as S-expressions: (+ a (* b c)).
 */
#include <inttypes.h>
#include <stdio.h>

#include "unit.h"

static void sx(vm_buf *b, const comp_node *n);

static void sx_op(vm_buf *b, int op)
{
    const char *t = comp_token_name(op); /* "'+'" */
    vm_buf_put(b, t + 1, strlen(t) - 2);
}

static void sx_list(vm_buf *b, const comp_node *n)
{
    for (uint32_t i = 0; i < n->n; i++) {
        vm_buf_put(b, " ", 1);
        sx(b, n->list[i]);
    }
}

static void sx(vm_buf *b, const comp_node *n)
{
    if (!n) {
        vm_buf_put(b, "<none>", 6);
        return;
    }
    switch (n->kind) {
    case N_INT: vm_buf_printf(b, "%" PRId64, n->i); break;
    case N_FLOAT: vm_buf_printf(b, "%g", n->f); break;
    case N_BOOL: vm_buf_printf(b, "%s", n->i ? "true" : "false"); break;
    case N_NULL: vm_buf_printf(b, "null"); break;
    case N_STR: vm_buf_printf(b, "\"%.*s\"", (int)n->len, n->s); break;
    case N_NAME: vm_buf_printf(b, "%.*s", (int)n->len, n->s); break;
    case N_UNARY:
        vm_buf_put(b, "(", 1);
        sx_op(b, n->op);
        vm_buf_put(b, " ", 1);
        sx(b, n->a);
        vm_buf_put(b, ")", 1);
        break;
    case N_BINARY:
        vm_buf_put(b, "(", 1);
        sx_op(b, n->op);
        vm_buf_put(b, " ", 1);
        sx(b, n->a);
        vm_buf_put(b, " ", 1);
        sx(b, n->b);
        vm_buf_put(b, ")", 1);
        break;
    case N_CALL:
        vm_buf_put(b, "(call ", 6);
        sx(b, n->a);
        sx_list(b, n);
        vm_buf_put(b, ")", 1);
        break;
    case N_INDEX:
        vm_buf_put(b, "(index ", 7);
        sx(b, n->a);
        vm_buf_put(b, " ", 1);
        sx(b, n->b);
        vm_buf_put(b, ")", 1);
        break;
    case N_FIELD:
        vm_buf_put(b, "(. ", 3);
        sx(b, n->a);
        vm_buf_printf(b, " %.*s)", (int)n->len, n->s);
        break;
    case N_INTERP:
        vm_buf_put(b, "(interp", 7);
        sx_list(b, n);
        vm_buf_put(b, ")", 1);
        break;
    default: vm_buf_printf(b, "<kind %d>", n->kind); break;
    }
}

/* Parses "let e = <expr>" and compares the initializer's S-expression. */
static void assert_expr(const char *expr, const char *want)
{
    char src[512];
    snprintf(src, sizeof src, "let e = %s", expr);
    vm_buf d;
    comp *C = unit_front(src, UNTIL_PARSE, &d);
    cr_assert_eq(C->nerrors, 0, "errors parsing %s", expr);
    cr_assert_eq(C->mods[0]->ntop, 1);
    cr_assert_eq(C->mods[0]->top[0]->kind, N_LET);
    vm_buf got = {0};
    sx(&got, C->mods[0]->top[0]->a);
    cr_assert_str_eq(unit_text(&got), want, "parsing %s", expr);
    vm_buf_free(&got);
    unit_comp_free(C, &d);
}

Test(parser, multiplication_binds_tighter_than_addition)
{
    assert_expr("a + b * c", "(+ a (* b c))");
    assert_expr("a * b + c", "(+ (* a b) c)");
    assert_expr("a - b / c % d", "(- a (% (/ b c) d))");
}

Test(parser, ampersand_and_shifts_are_at_the_multiplication_level)
{
    /* Go's table: no C precedence trap for & */
    assert_expr("a & b + c", "(+ (& a b) c)");
    assert_expr("a + b & c", "(+ a (& b c))");
    assert_expr("a << 1 + 2", "(+ (<< a 1) 2)");
    assert_expr("a >> b * c", "(* (>> a b) c)");
}

Test(parser, or_and_xor_are_at_the_addition_level)
{
    assert_expr("a | b & c", "(| a (& b c))");
    assert_expr("a ^ b | c", "(| (^ a b) c)");
    assert_expr("a | b == c", "(== (| a b) c)");
}

Test(parser, logical_operators)
{
    assert_expr("a || b && c", "(|| a (&& b c))");
    assert_expr("a && b || c && d", "(|| (&& a b) (&& c d))");
    assert_expr("a == b && c < d", "(&& (== a b) (< c d))");
    assert_expr("a || b || c", "(|| (|| a b) c)");
}

Test(parser, binary_operators_are_left_associative)
{
    assert_expr("a - b - c", "(- (- a b) c)");
    assert_expr("a / b / c", "(/ (/ a b) c)");
    assert_expr("a < b == c", "(== (< a b) c)");
}

Test(parser, unary_and_parentheses)
{
    assert_expr("-a * b", "(* (- a) b)");
    assert_expr("!a && b", "(&& (! a) b)");
    assert_expr("~a & b", "(& (~ a) b)");
    assert_expr("- -a", "(- (- a))");
    assert_expr("(a + b) * c", "(* (+ a b) c)");
    assert_expr("((a))", "a");
}

Test(parser, negative_literals_fold)
{
    assert_expr("-5", "-5");
    assert_expr("-2.5", "-2.5");
    assert_expr("-9223372036854775808", "-9223372036854775808");
    assert_expr("-5 * 2", "(* -5 2)");
    assert_expr("3 - -5", "(- 3 -5)");
}

Test(parser, postfix_calls_indexes_and_fields)
{
    assert_expr("f()", "(call f)");
    assert_expr("f(a, b + 1)[2]", "(index (call f a (+ b 1)) 2)");
    assert_expr("s.len() + 1", "(+ (call (. s len)) 1)");
    assert_expr("-s[0]", "(- (index s 0))");
    assert_expr("\"x=${a + 1}!\"", "(interp \"x=\" (+ a 1) \"!\")");
    assert_expr("true != null", "(!= true null)");
}

Test(parser, statements)
{
    vm_buf d;
    comp *C = unit_front("var x: int = 1\n"
                         "x += 2\n"
                         "if x > 1 { print(x) } else if x < 0 { } else { x = 0 }\n"
                         "for i in 0..=x { continue }\n"
                         "while false { break }\n"
                         "f(1)\n"
                         "{ let y = 2 }\n"
                         "fn f(a: int, b: str) -> bool { return true }\n",
                         UNTIL_PARSE, &d);
    cr_assert_eq(C->nerrors, 0);
    cr_assert_eq(C->mods[0]->ntop, 7);

    comp_node *n = C->mods[0]->top[0];
    cr_assert_eq(n->kind, N_LET);
    cr_assert_eq(n->op, 1, "var is mutable");
    cr_assert_eq(n->decl_type, VM_T_INT);

    n = C->mods[0]->top[1];
    cr_assert_eq(n->kind, N_ASSIGN);
    cr_assert_eq(n->op, T_PLUS_EQ);

    n = C->mods[0]->top[2];
    cr_assert_eq(n->kind, N_IF);
    cr_assert_eq(n->b->kind, N_BLOCK);
    cr_assert_eq(n->b->n, 1);
    cr_assert_eq(n->c->kind, N_IF, "else if nests an if");
    cr_assert_eq(n->c->c->kind, N_BLOCK);
    cr_assert_eq(n->c->c->list[0]->kind, N_ASSIGN);

    n = C->mods[0]->top[3];
    cr_assert_eq(n->kind, N_FOR);
    cr_assert_eq(n->i, 1, "..= is inclusive");
    cr_assert_eq(n->len, 1);
    cr_assert_eq(n->s[0], 'i');
    cr_assert_eq(n->c->list[0]->kind, N_CONTINUE);

    cr_assert_eq(C->mods[0]->top[4]->kind, N_WHILE);
    cr_assert_eq(C->mods[0]->top[4]->b->list[0]->kind, N_BREAK);
    cr_assert_eq(C->mods[0]->top[5]->kind, N_EXPR);
    cr_assert_eq(C->mods[0]->top[5]->a->kind, N_CALL);
    cr_assert_eq(C->mods[0]->top[6]->kind, N_BLOCK);

    /* fns[0] is the module initializer, then the declared functions */
    cr_assert_eq(C->nfns, 2);
    cr_assert_str_eq(C->fns[0]->name, "<module>");
    comp_fn *fn = C->fns[1];
    cr_assert_eq(fn->len, 1);
    cr_assert_eq(fn->name[0], 'f');
    cr_assert_eq(fn->nparams, 2);
    cr_assert_eq(fn->params[0]->type, VM_T_INT);
    cr_assert_eq(fn->params[1]->type, VM_T_STR);
    cr_assert_eq(fn->ret, VM_T_BOOL);
    cr_assert_eq(fn->body->list[0]->kind, N_RETURN);
    unit_comp_free(C, &d);
}

Test(parser, function_without_result_type_returns_void)
{
    vm_buf d;
    comp *C = unit_front("fn g() { return }", UNTIL_PARSE, &d);
    cr_assert_eq(C->nerrors, 0);
    cr_assert_eq(C->fns[1]->ret, VM_T_VOID);
    cr_assert_null(C->fns[1]->body->list[0]->a, "a bare return has no value");
    unit_comp_free(C, &d);
}

/* ---- Errors ---- */

static void assert_parse_error(const char *src, const char *want_first)
{
    char *first = unit_first_diag(src);
    cr_assert_str_eq(first, want_first, "for %s", src);
    free(first);
}

Test(parser, error_messages)
{
    assert_parse_error("let = 1", "t.kn:1:5: error: expected a variable name, found '='");
    assert_parse_error("let x = 3 +* 2", "t.kn:1:12: error: expected an expression, found '*'");
    assert_parse_error("print(1\nprint(2)",
                       "t.kn:1:8: error: expected ')' after arguments, found newline");
    assert_parse_error("let x = 1 2",
                       "t.kn:1:11: error: expected newline or ';' after statement, found integer");
    assert_parse_error("if true {\n}\nelse { }",
                       "t.kn:3:1: error: 'else' must be on the line of the '}' before it (a "
                       "newline ends the if statement)");
    assert_parse_error(
        "for i in 0 { }",
        "t.kn:1:10: error: cannot iterate over int (a range a..b or an array is needed)");
    assert_parse_error("let x: list = 1", "t.kn:1:8: error: unknown type 'list'");
    assert_parse_error("fn f() {\n  fn g() {}\n}",
                       "t.kn:2:3: error: functions can only be declared at top level");
    /* "class A {}" and "let a = [1]" were "not supported yet" errors here;
     * classes and arrays are being added to the compiler (image version 2). */
    assert_parse_error("fn f() {}\nfn f() {}", "t.kn:2:4: error: function 'f' is already defined");
    assert_parse_error("let s = \"${}\"", "t.kn:1:10: error: empty interpolation ${}");
}

/* Brackets, operator chains, else-if chains and call chains all count
 * towards the tree depth limit, since the later passes recurse per level. */
static char *repeat(const char *head, const char *unit, int n, const char *tail)
{
    size_t len = strlen(head) + strlen(unit) * (size_t)n + strlen(tail) + 1;
    char *s = malloc(len);
    cr_assert_not_null(s);
    strcpy(s, head);
    for (int i = 0; i < n; i++)
        strcat(s, unit);
    strcat(s, tail);
    return s;
}

static void assert_too_deep(char *src, bool want)
{
    char *first = unit_first_diag(src);
    bool got = strstr(first, "error: program nested too deeply (more than 1000 levels)");
    cr_assert_eq(got, want, "%.200s -> %s", src, first);
    free(first);
    free(src);
}

Test(parser, nesting_limit)
{
    char *open = repeat("let x = ", "(", 1100, "1"), *src = repeat(open, ")", 1100, "\n");
    free(open);
    assert_too_deep(src, true);
    assert_too_deep(repeat("let x = 1", " + 1", 1200, "\n"), true);
    assert_too_deep(repeat("let s = \" a \"", ".trim()", 1200, "\n"), true);
    assert_too_deep(repeat("let x = 1\nif x == 0 { }", " else if x == 1 { }", 1200, "\n"), true);
    /* Long but legitimate: 500 terms, 300 else-ifs. */
    assert_too_deep(repeat("let x = 1", " + 1", 500, "\nprint(x)\n"), false);
    assert_too_deep(repeat("let x = 1\nif x == 0 { }", " else if x == 1 { }", 300, "\n"), false);
}

Test(parser, recovery_reports_each_bad_statement)
{
    static const char SRC[] = "let = 1\n"
                              "let y = 3 +* 2\n"
                              "let ok = 4\n"
                              "print(ok 1)\n"
                              "let z = )\n";
    char *text = unit_diags(SRC);
    cr_assert_eq(unit_count_errors(text), 4, "%s", text);
    const char *want[] = {
        "t.kn:1:5: error: expected a variable name, found '='",
        "t.kn:2:12: error: expected an expression, found '*'",
        "t.kn:4:10: error: expected ')' after arguments, found integer",
        "t.kn:5:9: error: expected an expression, found ')'",
    };
    const char *at = text;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *hit = strstr(at, want[i]);
        cr_assert_not_null(hit, "missing or out of order: %s\nin:\n%s", want[i], text);
        at = hit + 1;
    }
    free(text);
    /* The statement between the errors was parsed. */
    vm_buf d;
    comp *C = unit_front(SRC, UNTIL_PARSE, &d);
    cr_assert_eq(C->nerrors, 4);
    bool found_ok = false;
    for (uint32_t i = 0; i < C->mods[0]->ntop; i++)
        if (C->mods[0]->top[i]->kind == N_LET && C->mods[0]->top[i]->len == 2 &&
            !memcmp(C->mods[0]->top[i]->s, "ok", 2))
            found_ok = true;
    cr_assert(found_ok, "the valid statement after two errors is kept");
    unit_comp_free(C, &d);
}

/* Regression: when an error is reported at the statement's own newline
 * (an unclosed '(' at the end of a line), end_statement used to consume
 * that ';' and the resync then skipped the whole next statement. */
Test(parser, recovery_after_error_at_newline)
{
    char *text = unit_diags("let a = (1\n"
                            "let b = )\n"
                            "let c = )\n");
    cr_assert_not_null(strstr(text, "t.kn:1:11: error: expected ')', found newline"), "%s", text);
    cr_assert_not_null(strstr(text, "t.kn:2:9: error: expected an expression, found ')'"),
                       "the statement after the error is skipped:\n%s", text);
    cr_assert_not_null(strstr(text, "t.kn:3:9: error: expected an expression, found ')'"), "%s",
                       text);
    cr_assert_eq(unit_count_errors(text), 3);
    free(text);
}

Test(parser, recovery_inside_blocks)
{
    static const char SRC[] = "fn f() {\n"
                              "    let = 1\n"
                              "    let b = 2\n"
                              "    let c = (1 + )\n"
                              "}\n"
                              "fn g() -> int { return 1 }\n"
                              "let c = *\n";
    char *text = unit_diags(SRC);
    cr_assert_eq(unit_count_errors(text), 3, "%s", text);
    cr_assert_not_null(strstr(text, "t.kn:2:9: error: expected a variable name, found '='"), "%s",
                       text);
    cr_assert_not_null(strstr(text, "t.kn:4:18: error: expected an expression, found ')'"), "%s",
                       text);
    cr_assert_not_null(strstr(text, "t.kn:7:9: error: expected an expression, found '*'"), "%s",
                       text);
    free(text);
    /* both functions were still declared */
    vm_buf d;
    comp *C = unit_front(SRC, UNTIL_PARSE, &d);
    cr_assert_eq(C->nfns, 3);
    unit_comp_free(C, &d);
}

Test(parser, one_error_per_statement)
{
    char *text = unit_diags("let x = ) + ) * (\nlet y = 1");
    cr_assert_eq(unit_count_errors(text), 1, "%s", text);
    free(text);
}

/* A class inside a function is one error: its body is skipped, not read
 * as statements (which used to add a spurious second error). */
Test(parser, class_inside_function_is_one_error)
{
    char *text = unit_diags("fn f() {\n"
                            "    class A {\n"
                            "        x: int\n"
                            "        fn g() { }\n"
                            "    }\n"
                            "    print(1)\n"
                            "}\n");
    cr_assert_not_null(strstr(text, "t.kn:2:5: error: classes can only be declared at top level"),
                       "%s", text);
    cr_assert_eq(unit_count_errors(text), 1, "%s", text);
    free(text);
}
