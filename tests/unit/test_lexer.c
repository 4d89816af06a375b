/*
 * test_lexer.c — comp_lex: token kinds, the newline rule, number and
 * string literals, interpolation, and lexical errors.
 */
#include "unit.h"

/* Lexes `src`, asserting no diagnostics. */
static comp *lex_ok(const char *src, vm_buf *diags)
{
    comp *C = unit_front(src, UNTIL_LEX, diags);
    if (C->nerrors) {
        char *text = unit_diags(src);
        cr_assert_fail("lexing %s: %s", src, text);
    }
    return C;
}

/* Asserts the token types of C are exactly `want` (n of them). */
static void assert_types(const comp *C, const int *want, uint32_t n)
{
    cr_assert_eq(C->ntoks, n, "expected %u tokens, got %u", n, C->ntoks);
    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(C->toks[i].type, want[i], "token %u is %s, expected %s", i,
                     comp_token_name(C->toks[i].type), comp_token_name(want[i]));
}
#define ASSERT_TYPES(C, ...) \
    do { \
        const int want_[] = {__VA_ARGS__}; \
        assert_types(C, want_, sizeof want_ / sizeof want_[0]); \
    } while (0)

/* The first diagnostic line of `src` must be `want` (a lexical error
 * stops the compilation before parsing). */
static void assert_lex_error(const char *src, const char *want)
{
    char *first = unit_first_diag(src);
    cr_assert_str_eq(first, want, "for %s", src);
    free(first);
}

Test(lexer, statement_token_kinds)
{
    vm_buf d;
    comp *C = lex_ok("let x = 1 + 2.5", &d);
    ASSERT_TYPES(C, T_LET, T_IDENT, T_EQ, T_INT, T_PLUS, T_FLOAT, T_SEMI, T_EOF);
    cr_assert_eq(C->toks[1].len, 1);
    cr_assert_eq(C->toks[1].s[0], 'x');
    cr_assert_eq(C->toks[3].v.i, 1);
    cr_assert_float_eq(C->toks[5].v.f, 2.5, 0.0);
    cr_assert(C->toks[6].auto_semi, "the semicolon at end of input is inserted");
    unit_comp_free(C, &d);
}

Test(lexer, operators_longest_match)
{
    vm_buf d;
    comp *C = lex_ok("<<= >>= ..= .. -> += -= *= /= %= &= |= ^= << >> && || == != <= >= "
                     "( ) [ ] { } , : . + - * / % & | ^ ~ ! = < > ;",
                     &d);
    ASSERT_TYPES(C, T_SHL_EQ, T_SHR_EQ, T_DOTDOTEQ, T_DOTDOT, T_ARROW, T_PLUS_EQ, T_MINUS_EQ,
                 T_STAR_EQ, T_SLASH_EQ, T_PERCENT_EQ, T_AMP_EQ, T_PIPE_EQ, T_CARET_EQ, T_SHL, T_SHR,
                 T_ANDAND, T_OROR, T_EQEQ, T_NE, T_LE, T_GE, T_LPAREN, T_RPAREN, T_LBRACKET,
                 T_RBRACKET, T_LBRACE, T_RBRACE, T_COMMA, T_COLON, T_DOT, T_PLUS, T_MINUS, T_STAR,
                 T_SLASH, T_PERCENT, T_AMP, T_PIPE, T_CARET, T_TILDE, T_BANG, T_EQ, T_LT, T_GT,
                 T_SEMI, T_EOF);
    cr_assert_not(C->toks[C->ntoks - 2].auto_semi, "an explicit ';' is not auto-inserted");
    unit_comp_free(C, &d);

    C = lex_ok("a<<=b>>c", &d); /* no spaces: still the longest operator */
    ASSERT_TYPES(C, T_IDENT, T_SHL_EQ, T_IDENT, T_SHR, T_IDENT, T_SEMI, T_EOF);
    unit_comp_free(C, &d);
}

Test(lexer, keywords_and_identifiers)
{
    vm_buf d;
    comp *C = lex_ok("let var fn return if else while for in break continue true false null "
                     "import class try catch throw is as self super",
                     &d);
    ASSERT_TYPES(C, T_LET, T_VAR, T_FN, T_RETURN, T_IF, T_ELSE, T_WHILE, T_FOR, T_IN, T_BREAK,
                 T_CONTINUE, T_TRUE, T_FALSE, T_NULL, T_IMPORT, T_CLASS, T_TRY, T_CATCH, T_THROW,
                 T_IS, T_AS, T_SELF, T_SUPER, T_EOF);
    unit_comp_free(C, &d);

    C = lex_ok("letter _x fn2 If x_1", &d);
    ASSERT_TYPES(C, T_IDENT, T_IDENT, T_IDENT, T_IDENT, T_IDENT, T_SEMI, T_EOF);
    cr_assert_eq(C->toks[0].len, 6);
    cr_assert(memcmp(C->toks[0].s, "letter", 6) == 0);
    cr_assert_eq(C->toks[4].len, 3);
    unit_comp_free(C, &d);
}

Test(lexer, newline_inserts_semicolon_after_statement_enders)
{
    /* Each of these, at the end of a line, ends the statement. */
    const char *const enders[] = {"x", "42", "1.5", "\"s\"",  "true",  "false",   "null",
                                  ")", "]",  "}",   "return", "break", "continue"};
    for (size_t i = 0; i < sizeof enders / sizeof enders[0]; i++) {
        char src[64];
        snprintf(src, sizeof src, "%s\ny", enders[i]);
        vm_buf d;
        comp *C = unit_front(src, UNTIL_LEX, &d);
        cr_assert_eq(C->ntoks, 5, "%s: %u tokens", enders[i], C->ntoks);
        cr_assert_eq(C->toks[1].type, T_SEMI, "no semicolon after %s", enders[i]);
        cr_assert(C->toks[1].auto_semi);
        cr_assert_eq(C->toks[1].line, 1);
        cr_assert_eq(C->toks[2].type, T_IDENT);
        cr_assert_eq(C->toks[2].line, 2);
        unit_comp_free(C, &d);
    }
}

Test(lexer, newline_after_operator_or_opener_continues)
{
    const char *const continuers[] = {"+", "-", "*", "&&",  "||", "=",  "(",
                                      "[", "{", ",", "let", "if", "->", ".."};
    for (size_t i = 0; i < sizeof continuers / sizeof continuers[0]; i++) {
        char src[64];
        snprintf(src, sizeof src, "%s\ny", continuers[i]);
        vm_buf d;
        comp *C = unit_front(src, UNTIL_LEX, &d);
        cr_assert_eq(C->nerrors, 0);
        for (uint32_t k = 0; k + 2 < C->ntoks; k++) /* the final ';' comes from end of input */
            cr_assert_neq(C->toks[k].type, T_SEMI, "semicolon inserted after %s", continuers[i]);
        unit_comp_free(C, &d);
    }
}

Test(lexer, newline_rule_with_comments_and_blank_lines)
{
    vm_buf d;
    /* A line comment does not hide the newline; blank lines add nothing. */
    comp *C = lex_ok("a // note\n\n\nb /* c1\n c2 */ c\nd /* same line */ + e", &d);
    ASSERT_TYPES(C, T_IDENT, T_SEMI, T_IDENT, T_SEMI, T_IDENT, T_SEMI, T_IDENT, T_PLUS, T_IDENT,
                 T_SEMI, T_EOF);
    cr_assert_eq(C->toks[2].line, 4);
    cr_assert_eq(C->toks[4].line, 5, "lines inside a block comment are counted");
    cr_assert_eq(C->toks[4].col, 8);
    cr_assert_eq(C->toks[6].line, 6);
    unit_comp_free(C, &d);

    C = lex_ok("x;\ny", &d); /* after an explicit ';' nothing is inserted */
    ASSERT_TYPES(C, T_IDENT, T_SEMI, T_IDENT, T_SEMI, T_EOF);
    cr_assert_not(C->toks[1].auto_semi);
    unit_comp_free(C, &d);

    C = lex_ok("", &d);
    ASSERT_TYPES(C, T_EOF);
    unit_comp_free(C, &d);
}

Test(lexer, line_and_column)
{
    vm_buf d;
    comp *C = lex_ok("let a = 1\n  \tfoo(bar)", &d);
    /* let a = 1 ; foo ( bar ) ; EOF */
    cr_assert_eq(C->toks[0].line, 1);
    cr_assert_eq(C->toks[0].col, 1);
    cr_assert_eq(C->toks[3].col, 9);
    cr_assert_eq(C->toks[5].line, 2);
    cr_assert_eq(C->toks[5].col, 4, "a tab counts as one column");
    cr_assert_eq(C->toks[7].col, 8);
    unit_comp_free(C, &d);
}

Test(lexer, integer_literals)
{
    vm_buf d;
    comp *C = lex_ok("42 0 0xff 0XFF 0x1F_ff 1_000_000 9223372036854775808 0xffffffffffffffff", &d);
    ASSERT_TYPES(C, T_INT, T_INT, T_INT, T_INT, T_INT, T_INT, T_INT, T_INT, T_SEMI, T_EOF);
    cr_assert_eq(C->toks[0].v.i, 42);
    cr_assert_not(C->toks[0].hex);
    cr_assert_eq(C->toks[1].v.i, 0);
    cr_assert_eq(C->toks[2].v.i, 255);
    cr_assert(C->toks[2].hex);
    cr_assert_eq(C->toks[3].v.i, 255);
    cr_assert_eq(C->toks[4].v.i, 0x1fff);
    cr_assert_eq(C->toks[5].v.i, 1000000);
    /* 2^63 lexes (it is valid negated; the checker rejects it otherwise) */
    cr_assert_eq(C->toks[6].v.i, (uint64_t)1 << 63);
    cr_assert_eq(C->toks[7].v.i, UINT64_MAX);
    unit_comp_free(C, &d);
}

Test(lexer, float_literals)
{
    vm_buf d;
    comp *C = lex_ok("1.0 2.5e-3 1e9 1E+2 0.5 1_0.2_5 3e0", &d);
    ASSERT_TYPES(C, T_FLOAT, T_FLOAT, T_FLOAT, T_FLOAT, T_FLOAT, T_FLOAT, T_FLOAT, T_SEMI, T_EOF);
    cr_assert_float_eq(C->toks[0].v.f, 1.0, 0.0);
    cr_assert_float_eq(C->toks[1].v.f, 2.5e-3, 0.0);
    cr_assert_float_eq(C->toks[2].v.f, 1e9, 0.0);
    cr_assert_float_eq(C->toks[3].v.f, 100.0, 0.0);
    cr_assert_float_eq(C->toks[4].v.f, 0.5, 0.0);
    cr_assert_float_eq(C->toks[5].v.f, 10.25, 0.0);
    cr_assert_float_eq(C->toks[6].v.f, 3.0, 0.0);
    unit_comp_free(C, &d);
}

Test(lexer, dot_after_integer_is_not_a_fraction)
{
    vm_buf d;
    comp *C = lex_ok("0..10 1..=n 1.x", &d);
    ASSERT_TYPES(C, T_INT, T_DOTDOT, T_INT, T_INT, T_DOTDOTEQ, T_IDENT, T_INT, T_DOT, T_IDENT,
                 T_SEMI, T_EOF);
    cr_assert_eq(C->toks[2].v.i, 10);
    unit_comp_free(C, &d);
}

Test(lexer, number_errors)
{
    assert_lex_error("let x = 18446744073709551616",
                     "t.kn:1:9: error: integer literal out of range");
    assert_lex_error("9223372036854775809", "t.kn:1:1: error: integer literal out of range");
    assert_lex_error("0x1_0000_0000_0000_0000", "t.kn:1:1: error: integer literal out of range");
    assert_lex_error("x = 0x", "t.kn:1:5: error: bad number literal");
    assert_lex_error("12abc", "t.kn:1:1: error: bad number literal");
    assert_lex_error("0xfg", "t.kn:1:1: error: bad number literal");
    assert_lex_error("1e", "t.kn:1:1: error: bad number literal");
    assert_lex_error("  1e400", "t.kn:1:3: error: float literal out of range");
}

Test(lexer, underscores_only_between_digits)
{
    assert_lex_error("let a = 1__0", "t.kn:1:9: error: misplaced '_' in number literal");
    assert_lex_error("let b = 1_", "t.kn:1:9: error: misplaced '_' in number literal");
    assert_lex_error("let c = 0x_1", "t.kn:1:9: error: misplaced '_' in number literal");
    assert_lex_error("let e = 1_.5", "t.kn:1:9: error: misplaced '_' in number literal");
}

Test(lexer, long_number_literal)
{
    char src[300];
    memset(src, '7', 200);
    src[200] = 0;
    assert_lex_error(src, "t.kn:1:1: error: number literal too long");
}

/* Regression tests for number() in comp_lex.c: at commit 6cb260d it
 * appended '.', 'e' and the exponent sign to its 128-byte digits[] without
 * a bounds check and did not stop at a second exponent. 127 digits and a
 * fraction wrote one byte past the array (seen under `make asan`); see
 * also the two tests below. */
Test(lexer, long_float_literal)
{
    char src[300];
    memset(src, '1', 127);
    strcpy(src + 127, ".5");
    assert_lex_error(src, "t.kn:1:1: error: number literal too long");
}

/* "1e1e1" was accepted as the float 10.0 (commit 6cb260d). */
Test(lexer, second_exponent_is_an_error)
{
    assert_lex_error("1e1e1", "t.kn:1:1: error: bad number literal");
}

/* Each further "e+1" wrote two bytes past number()'s digits[] (commit
 * 6cb260d): this source smashed the lexer's stack and killed the process
 * instead of being reported. */
Test(lexer, many_exponents_do_not_overflow)
{
    size_t n = 3000;
    char *src = malloc(1 + 3 * n + 1);
    cr_assert_not_null(src);
    src[0] = '1';
    for (size_t i = 0; i < n; i++)
        memcpy(src + 1 + 3 * i, "e+1", 3);
    src[1 + 3 * n] = 0;
    char *text = unit_diags(src);
    cr_assert_geq(unit_count_errors(text), 1, "a malformed literal must be reported");
    free(text);
    free(src);
}

Test(lexer, string_escapes)
{
    vm_buf d;
    comp *C = lex_ok("\"a\\tb\\n\\\"q\\\" \\\\ \\r\\$\\0z\"", &d);
    ASSERT_TYPES(C, T_STRING, T_SEMI, T_EOF);
    static const char want[] = "a\tb\n\"q\" \\ \r$\0z";
    cr_assert_eq(C->toks[0].len, sizeof want - 1);
    cr_assert(memcmp(C->toks[0].s, want, sizeof want - 1) == 0);
    unit_comp_free(C, &d);
}

Test(lexer, unicode_escapes_encode_utf8)
{
    vm_buf d;
    comp *C = lex_ok("\"\\u{41}\\u{e9}\\u{20AC}\\u{1F600}\\u{10FFFF}\\u{0}\"", &d);
    static const unsigned char want[] = {0x41, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f,
                                         0x98, 0x80, 0xf4, 0x8f, 0xbf, 0xbf, 0x00};
    cr_assert_eq(C->toks[0].type, T_STRING);
    cr_assert_eq(C->toks[0].len, sizeof want);
    cr_assert(memcmp(C->toks[0].s, want, sizeof want) == 0);
    unit_comp_free(C, &d);
}

Test(lexer, string_errors)
{
    assert_lex_error("let s = \"abc", "t.kn:1:9: error: unterminated string");
    assert_lex_error("x\n  \"ab\ncd\"", "t.kn:2:3: error: unterminated string");
    assert_lex_error("\"a\\qb\"", "t.kn:1:3: error: unknown escape sequence '\\q'");
    assert_lex_error("\"\\u41\"", "t.kn:1:2: error: expected '{' after \\u");
    assert_lex_error("\"\\u{}\"", "t.kn:1:2: error: bad \\u{...} escape");
    assert_lex_error("\"\\u{1234567}\"", "t.kn:1:2: error: bad \\u{...} escape");
    assert_lex_error("\"\\u{12g}\"", "t.kn:1:2: error: bad \\u{...} escape");
    assert_lex_error("\"xy\\u{D800}\"", "t.kn:1:4: error: \\u{d800} is not a Unicode scalar value");
    assert_lex_error("\"\\u{110000}\"",
                     "t.kn:1:2: error: \\u{110000} is not a Unicode scalar value");
}

Test(lexer, other_errors)
{
    assert_lex_error("a /* never closed\n\n", "t.kn:1:3: error: unterminated comment");
    assert_lex_error("x = 1 @ 2", "t.kn:1:7: error: unexpected character '@'");
    assert_lex_error("x = \xc3\xa9", "t.kn:1:5: error: unexpected byte 0xc3");
}

Test(lexer, error_shows_line_and_caret)
{
    char *text = unit_diags("let a = 1\nlet s = \"abc\n");
    cr_assert_str_eq(text, "t.kn:2:9: error: unterminated string\n"
                           "    let s = \"abc\n"
                           "            ^\n");
    free(text);
}

Test(lexer, lexing_goes_on_after_an_error)
{
    char *text = unit_diags("x = 1 @ 2\ny = \"\\q\"\nz = 3 # 4");
    cr_assert_eq(unit_count_errors(text), 3, "%s", text);
    cr_assert_not_null(strstr(text, "t.kn:1:7: error: unexpected character '@'"), "%s", text);
    cr_assert_not_null(strstr(text, "t.kn:2:6: error: unknown escape sequence '\\q'"), "%s", text);
    cr_assert_not_null(strstr(text, "t.kn:3:7: error: unexpected character '#'"), "%s", text);
    free(text);
}

/* ---- Interpolation ---- */

static void assert_str_tok(const comp_token *t, int type, const char *s)
{
    cr_assert_eq(t->type, type, "token is %s, expected %s", comp_token_name(t->type),
                 comp_token_name(type));
    cr_assert_eq(t->len, strlen(s), "string part of length %u, expected \"%s\"", t->len, s);
    cr_assert(memcmp(t->s, s, t->len) == 0, "string part differs from \"%s\"", s);
}

Test(lexer, interpolation_token_sequence)
{
    vm_buf d;
    comp *C = lex_ok("\"a ${x + 1} b\"", &d);
    ASSERT_TYPES(C, T_INTERP, T_IDENT, T_PLUS, T_INT, T_STRING, T_SEMI, T_EOF);
    assert_str_tok(&C->toks[0], T_INTERP, "a ");
    assert_str_tok(&C->toks[4], T_STRING, " b");
    unit_comp_free(C, &d);
}

Test(lexer, interpolation_adjacent_and_empty_parts)
{
    vm_buf d;
    comp *C = lex_ok("\"${a}${b}\"", &d);
    ASSERT_TYPES(C, T_INTERP, T_IDENT, T_INTERP, T_IDENT, T_STRING, T_SEMI, T_EOF);
    assert_str_tok(&C->toks[0], T_INTERP, "");
    assert_str_tok(&C->toks[2], T_INTERP, "");
    assert_str_tok(&C->toks[4], T_STRING, "");
    unit_comp_free(C, &d);
}

Test(lexer, interpolation_nested_and_braces)
{
    vm_buf d;
    comp *C = lex_ok("\"x${\"y${z}\"}w\"", &d);
    ASSERT_TYPES(C, T_INTERP, T_INTERP, T_IDENT, T_STRING, T_STRING, T_SEMI, T_EOF);
    assert_str_tok(&C->toks[0], T_INTERP, "x");
    assert_str_tok(&C->toks[1], T_INTERP, "y");
    assert_str_tok(&C->toks[3], T_STRING, "");
    assert_str_tok(&C->toks[4], T_STRING, "w");
    unit_comp_free(C, &d);

    /* A '}' that closes a '{' opened inside the interpolation does not
     * resume the string. */
    C = lex_ok("{ \"a${ {} }b\" }", &d);
    ASSERT_TYPES(C, T_LBRACE, T_INTERP, T_LBRACE, T_RBRACE, T_STRING, T_RBRACE, T_SEMI, T_EOF);
    assert_str_tok(&C->toks[4], T_STRING, "b");
    unit_comp_free(C, &d);
}

Test(lexer, dollar_without_brace_is_text)
{
    vm_buf d;
    comp *C = lex_ok("\"cost $5 \\${x}\"", &d);
    ASSERT_TYPES(C, T_STRING, T_SEMI, T_EOF);
    assert_str_tok(&C->toks[0], T_STRING, "cost $5 ${x}");
    unit_comp_free(C, &d);
}

Test(lexer, no_semicolon_inside_interpolation)
{
    vm_buf d;
    comp *C = lex_ok("\"${a +\nb}\"", &d);
    ASSERT_TYPES(C, T_INTERP, T_IDENT, T_PLUS, T_IDENT, T_STRING, T_SEMI, T_EOF);
    unit_comp_free(C, &d);
    C = lex_ok("\"${a\n}\"", &d);
    ASSERT_TYPES(C, T_INTERP, T_IDENT, T_STRING, T_SEMI, T_EOF);
    unit_comp_free(C, &d);
}

Test(lexer, token_names)
{
    cr_assert_str_eq(comp_token_name(T_EOF), "end of file");
    cr_assert_str_eq(comp_token_name(T_SHL_EQ), "'<<='");
    cr_assert_str_eq(comp_token_name(T_SUPER), "'super'");
    cr_assert_str_eq(comp_token_name(T__COUNT), "?");
    cr_assert_str_eq(comp_token_name(-1), "?");
}
