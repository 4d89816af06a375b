/*
 * comp_lex.c — the lexer: source bytes to the token array C->toks.
 *
 * Semicolons are optional by Go's rule: at a newline, a T_SEMI is inserted
 * when the line's last token can end a statement (an identifier, a
 * literal, `)`, `]`, `}`, `return`, `break` or `continue`).
 *
 * String interpolation "a ${x} b" becomes T_INTERP("a "), the tokens of x,
 * then T_STRING(" b"): the lexer remembers, for each open `${`, the brace
 * depth at which its closing `}` resumes the string.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comp.h"

static const char *const TOKEN_NAMES[T__COUNT] = {"end of file", "';' or newline",
                                                  "identifier",  "integer",
                                                  "float",       "string",
                                                  "string",      "'('",
                                                  "')'",         "'{'",
                                                  "'}'",         "'['",
                                                  "']'",         "','",
                                                  "':'",         "'.'",
                                                  "'..'",        "'..='",
                                                  "'->'",        "'+'",
                                                  "'-'",         "'*'",
                                                  "'/'",         "'%'",
                                                  "'&'",         "'|'",
                                                  "'^'",         "'<<'",
                                                  "'>>'",        "'+='",
                                                  "'-='",        "'*='",
                                                  "'/='",        "'%='",
                                                  "'&='",        "'|='",
                                                  "'^='",        "'<<='",
                                                  "'>>='",       "'~'",
                                                  "'!'",         "'&&'",
                                                  "'||'",        "'='",
                                                  "'=='",        "'!='",
                                                  "'<'",         "'<='",
                                                  "'>'",         "'>='",
                                                  "'let'",       "'var'",
                                                  "'fn'",        "'return'",
                                                  "'if'",        "'else'",
                                                  "'while'",     "'for'",
                                                  "'in'",        "'break'",
                                                  "'continue'",  "'true'",
                                                  "'false'",     "'null'",
                                                  "'import'",    "'class'",
                                                  "'try'",       "'catch'",
                                                  "'throw'",     "'is'",
                                                  "'as'",        "'self'",
                                                  "'super'",     "'extern'",
                                                  "'...'",       "format spec",
                                                  "'=>'"};

const char *comp_token_name(int t)
{
    return t >= 0 && t < T__COUNT ? TOKEN_NAMES[t] : "?";
}

static const struct {
    const char *word;
    uint8_t len, type;
} KEYWORDS[] = {
    {"let", 3, T_LET},
    {"var", 3, T_VAR},
    {"fn", 2, T_FN},
    {"return", 6, T_RETURN},
    {"if", 2, T_IF},
    {"else", 4, T_ELSE},
    {"while", 5, T_WHILE},
    {"for", 3, T_FOR},
    {"in", 2, T_IN},
    {"break", 5, T_BREAK},
    {"continue", 8, T_CONTINUE},
    {"true", 4, T_TRUE},
    {"false", 5, T_FALSE},
    {"null", 4, T_NULL},
    {"import", 6, T_IMPORT},
    {"class", 5, T_CLASS},
    {"try", 3, T_TRY},
    {"catch", 5, T_CATCH},
    {"throw", 5, T_THROW},
    {"is", 2, T_IS},
    {"as", 2, T_AS},
    {"self", 4, T_SELF},
    {"super", 5, T_SUPER},
    {"extern", 6, T_EXTERN},
};

enum { MAX_INTERP_NESTING = 16 };

typedef struct lexer {
    comp *C;
    const char *p, *end, *line_start;
    uint32_t line;
    int braces;                     /* open '{' not yet closed */
    int interp[MAX_INTERP_NESTING]; /* brace depth of each open "${" */
    int ninterp;
    int groups;                            /* open '(' and '[' not yet closed */
    int interp_groups[MAX_INTERP_NESTING]; /* their depth at each open "${" */
    uint32_t interp_line, interp_col;      /* where the outermost open "${" is */
} lexer;

static uint32_t col_of(const lexer *L, const char *at)
{
    return (uint32_t)(at - L->line_start) + 1;
}

static comp_token *push(lexer *L, int type, const char *at)
{
    comp *C = L->C;
    if (C->ntoks == C->tok_cap) /* cannot happen: see comp_lex */
        longjmp(C->oom, 1);
    comp_token *t = &C->toks[C->ntoks++];
    memset(t, 0, sizeof *t);
    t->type = (uint8_t)type;
    t->line = L->line;
    t->col = col_of(L, at);
    return t;
}

static bool ends_statement(int t)
{
    switch (t) {
    case T_IDENT:
    case T_INT:
    case T_FLOAT:
    case T_STRING:
    case T_TRUE:
    case T_FALSE:
    case T_NULL:
    case T_RPAREN:
    case T_RBRACKET:
    case T_RBRACE:
    case T_RETURN:
    case T_BREAK:
    case T_CONTINUE:
    case T_SELF: return true;
    default: return false;
    }
}

static void newline(lexer *L, const char *at)
{
    comp *C = L->C;
    if (C->ntoks && ends_statement(C->toks[C->ntoks - 1].type) && L->ninterp == 0)
        push(L, T_SEMI, at)->auto_semi = true;
    L->line++;
    L->line_start = at + 1;
}

static void put_utf8(vm_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    vm_buf_put(b, u, n);
}

/* \u{X...}: 1 to 6 hex digits naming a Unicode scalar value. */
static void escape_unicode(lexer *L, vm_buf *b, const char *esc)
{
    comp *C = L->C;
    if (L->p >= L->end || *L->p != '{') {
        comp_error(C, L->line, col_of(L, esc), "expected '{' after \\u");
        return;
    }
    L->p++;
    uint32_t cp = 0;
    int nd = 0;
    while (L->p < L->end && *L->p != '}' && *L->p != '"' && *L->p != '\n') {
        char c = *L->p++;
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0 || nd >= 6) {
            comp_error(C, L->line, col_of(L, esc), "bad \\u{...} escape");
            return;
        }
        cp = cp * 16 + (uint32_t)d;
        nd++;
    }
    if (L->p >= L->end || *L->p != '}' || nd == 0) {
        comp_error(C, L->line, col_of(L, esc), "bad \\u{...} escape");
        return;
    }
    L->p++;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        comp_error(C, L->line, col_of(L, esc), "\\u{%x} is not a Unicode scalar value", cp);
        return;
    }
    put_utf8(b, cp);
}

/* The escape sequence after a backslash (L->p just past it), its bytes
 * appended to b. */
static void escape(lexer *L, vm_buf *b)
{
    const char *esc = L->p - 1;
    char e = L->p < L->end ? *L->p++ : 0;
    switch (e) {
    case 'n': vm_buf_put(b, "\n", 1); break;
    case 't': vm_buf_put(b, "\t", 1); break;
    case 'r': vm_buf_put(b, "\r", 1); break;
    case '0': vm_buf_put(b, "", 1); break;
    case '\\': vm_buf_put(b, "\\", 1); break;
    case '"': vm_buf_put(b, "\"", 1); break;
    case '\'': vm_buf_put(b, "'", 1); break;
    case '$': vm_buf_put(b, "$", 1); break;
    case 'u': escape_unicode(L, b, esc); break;
    default:
        comp_error(L->C, L->line, col_of(L, esc), "unknown escape sequence '\\%c'",
                   e >= 32 && e < 127 ? e : '?');
    }
}

/* 'c': one character (a Unicode code point, or an escape like '\n' or
 * '\''), an int token of its code point. */
static void char_literal(lexer *L, const char *start)
{
    comp *C = L->C;
    vm_buf b = {0};
    uint32_t line = L->line, col = col_of(L, start);
    L->p++;
    while (L->p < L->end && *L->p != '\'' && *L->p != '\n') {
        if (*L->p == '\\') {
            L->p++;
            escape(L, &b);
        } else {
            vm_buf_put(&b, L->p++, 1);
        }
    }
    bool closed = L->p < L->end && *L->p == '\'';
    if (closed)
        L->p++;
    if (b.oom) {
        vm_buf_free(&b);
        longjmp(C->oom, 1);
    }
    /* decode: exactly one code point */
    const unsigned char *u = (const unsigned char *)b.data;
    size_t n = b.len, want = !n                  ? 0
                             : u[0] < 0x80       ? 1
                             : (u[0] >> 5) == 6  ? 2
                             : (u[0] >> 4) == 14 ? 3
                             : (u[0] >> 3) == 30 ? 4
                                                 : 0;
    uint32_t cp = !n          ? 0
                  : want == 1 ? u[0]
                  : want == 2 ? u[0] & 0x1f
                  : want == 3 ? u[0] & 0x0f
                              : u[0] & 7;
    for (size_t i = 1; i < want && i < n; i++) {
        if ((u[i] & 0xc0) != 0x80)
            want = 0; /* not a continuation byte */
        cp = cp << 6 | (u[i] & 0x3f);
    }
    /* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
    if ((want == 2 && cp < 0x80) || (want == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (want == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        want = 0;
    bool high = n && u[0] >= 0x80;
    vm_buf_free(&b);
    if (!closed)
        comp_error(C, line, col, "unterminated character literal");
    else if (n == 0)
        comp_error(C, line, col, "empty character literal ('' has no character)");
    else if (want == 0 && n <= 4 && high)
        comp_error(C, line, col, "a character literal that is not valid UTF-8");
    else if (want == 0 || n != want)
        comp_error(C, line, col,
                   "a character literal holds one character (use \"...\" for a string)");
    comp_token *t = push(L, T_INT, start);
    t->line = line;
    t->col = col;
    t->v.i = cp;
}

/* ":SPEC" ending an interpolation, "${x:SPEC}": a T_FMTSPEC token of the
 * bytes up to the '}' (checked by the compiler, vm_fmtspec_parse). */
static void format_spec(lexer *L, const char *start)
{
    const char *from = ++L->p;
    while (L->p < L->end && *L->p != '}' && *L->p != '\n' && *L->p != '"')
        L->p++;
    if (L->p >= L->end || *L->p != '}')
        comp_error(L->C, L->line, col_of(L, start), "unterminated format spec (close it with '}')");
    comp_token *t = push(L, T_FMTSPEC, start);
    t->s = comp_strdup(L->C, from, (size_t)(L->p - from));
    t->len = (uint32_t)(L->p - from);
}

/* Reads string bytes from L->p (just after the opening quote or the '}'
 * closing an interpolation) up to the closing quote or the next "${". */
static void string_part(lexer *L, const char *start)
{
    comp *C = L->C;
    vm_buf b = {0};
    uint32_t line = L->line, col = col_of(L, start);
    int type = T_STRING;
    for (;;) {
        if (L->p >= L->end || *L->p == '\n') {
            if (L->ninterp) /* likely "${x" without its '}': the '"' began a new string */
                comp_error(C, L->interp_line, L->interp_col,
                           "unterminated ${ in a string (close it with '}' before the '\"')");
            else
                comp_error(C, line, col, "unterminated string");
            break;
        }
        char c = *L->p++;
        if (c == '"')
            break;
        if (c == '$' && L->p < L->end && *L->p == '{') {
            L->p++;
            if (L->ninterp == MAX_INTERP_NESTING) {
                comp_error(C, line, col, "string interpolation nested too deeply");
                break;
            }
            if (L->ninterp == 0) {
                L->interp_line = L->line;
                L->interp_col = col_of(L, L->p - 2);
            }
            L->interp_groups[L->ninterp] = L->groups;
            L->interp[L->ninterp++] = L->braces;
            type = T_INTERP;
            const char *q = L->p;
            while (q < L->end && (*q == ' ' || *q == '\t'))
                q++;
            if (q < L->end && *q == '}')
                comp_error(C, L->line, col_of(L, L->p - 2), "empty interpolation ${}");
            break;
        }
        if (c != '\\') {
            vm_buf_put(&b, &c, 1);
            continue;
        }
        escape(L, &b);
    }
    uint32_t len = (uint32_t)b.len;
    const char *bytes = comp_take(C, &b);
    comp_token *t = push(L, type, start);
    t->line = line;
    t->col = col;
    t->s = bytes;
    t->len = len;
}

static bool is_digit_of(char c, bool hex)
{
    return (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
}

static void number(lexer *L, const char *start)
{
    comp *C = L->C;
    bool hex = L->p + 1 < L->end && L->p[0] == '0' && (L->p[1] == 'x' || L->p[1] == 'X');
    bool is_float = false, exponent = false;
    char digits[128];
    size_t nd = 0;
    bool too_long = false, bad_underscore = false;
    if (hex)
        L->p += 2;
    for (;;) {
        const char *q = L->p;
        char c = q < L->end ? *q : 0;
        char c1 = q + 1 < L->end ? q[1] : 0, c2 = q + 2 < L->end ? q[2] : 0;
        size_t take = 0; /* bytes of the literal this step consumes */
        if (is_digit_of(c, hex) || c == '_') {
            /* An underscore only separates digits: not first, last or doubled. */
            if (c == '_' &&
                (q == start + (hex ? 2 : 0) || !is_digit_of(q[-1], hex) || !is_digit_of(c1, hex)))
                bad_underscore = true;
            take = 1;
        } else if (!hex && !is_float && c == '.' && is_digit_of(c1, false)) {
            is_float = true; /* "1..2" stays a range: '.' must be followed by a digit */
            take = 1;
        } else if (!hex && !exponent && (c == 'e' || c == 'E') &&
                   (is_digit_of(c1, false) ||
                    ((c1 == '+' || c1 == '-') && is_digit_of(c2, false)))) {
            is_float = exponent = true;
            take = c1 == '+' || c1 == '-' ? 2 : 1;
        } else {
            break;
        }
        for (size_t k = 0; k < take; k++, L->p++) {
            if (*L->p == '_')
                continue;
            if (nd + 1 < sizeof digits)
                digits[nd++] = *L->p;
            else
                too_long = true;
        }
    }
    digits[nd] = 0;
    if (L->p < L->end && ((*L->p >= 'a' && *L->p <= 'z') || (*L->p >= 'A' && *L->p <= 'Z'))) {
        comp_error(C, L->line, col_of(L, start), "bad number literal");
        while (L->p < L->end && ((*L->p >= 'a' && *L->p <= 'z') || (*L->p >= 'A' && *L->p <= 'Z') ||
                                 is_digit_of(*L->p, false)))
            L->p++;
    }
    comp_token *t = push(L, is_float ? T_FLOAT : T_INT, start);
    t->hex = hex;
    if (bad_underscore) {
        comp_error(C, t->line, t->col, "misplaced '_' in number literal");
        return;
    }
    if (too_long || nd == 0) {
        comp_error(C, t->line, t->col, nd ? "number literal too long" : "bad number literal");
        return;
    }
    if (is_float) {
        t->v.f = strtod(digits, NULL);
        if (isinf(t->v.f))
            comp_error(C, t->line, t->col, "float literal out of range");
        return;
    }
    errno = 0;
    unsigned long long v = strtoull(digits, NULL, hex ? 16 : 10);
    if (errno == ERANGE || (!hex && v > (unsigned long long)INT64_MAX + 1))
        comp_error(C, t->line, t->col, "integer literal out of range");
    t->v.i = v;
}

static bool skip_space_and_comments(lexer *L)
{
    comp *C = L->C;
    while (L->p < L->end) {
        char c = *L->p;
        if (c == '\n') {
            newline(L, L->p);
            L->p++;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            L->p++;
        } else if (c == '/' && L->p + 1 < L->end && L->p[1] == '/') {
            while (L->p < L->end && *L->p != '\n')
                L->p++;
        } else if (c == '/' && L->p + 1 < L->end && L->p[1] == '*') {
            uint32_t line = L->line, col = col_of(L, L->p);
            L->p += 2;
            while (L->p < L->end && !(L->p[0] == '*' && L->p + 1 < L->end && L->p[1] == '/')) {
                if (*L->p == '\n') {
                    newline(L, L->p);
                }
                L->p++;
            }
            if (L->p >= L->end) {
                comp_error(C, line, col, "unterminated comment");
                return false;
            }
            L->p += 2;
        } else {
            return true;
        }
    }
    return false;
}

/* Operators, longest first so "<<=" wins over "<<" and "<". */
static const struct {
    const char *text;
    uint8_t type;
} OPERATORS[] = {
    {"...", T_ELLIPSIS}, {"<<=", T_SHL_EQ}, {">>=", T_SHR_EQ},  {"..=", T_DOTDOTEQ},
    {"..", T_DOTDOT},    {"->", T_ARROW},   {"=>", T_FATARROW}, {"+=", T_PLUS_EQ},
    {"-=", T_MINUS_EQ},  {"*=", T_STAR_EQ}, {"/=", T_SLASH_EQ}, {"%=", T_PERCENT_EQ},
    {"&=", T_AMP_EQ},    {"|=", T_PIPE_EQ}, {"^=", T_CARET_EQ}, {"<<", T_SHL},
    {">>", T_SHR},       {"&&", T_ANDAND},  {"||", T_OROR},     {"==", T_EQEQ},
    {"!=", T_NE},        {"<=", T_LE},      {">=", T_GE},       {"(", T_LPAREN},
    {")", T_RPAREN},     {"[", T_LBRACKET}, {"]", T_RBRACKET},  {"{", T_LBRACE},
    {"}", T_RBRACE},     {",", T_COMMA},    {":", T_COLON},     {".", T_DOT},
    {"+", T_PLUS},       {"-", T_MINUS},    {"*", T_STAR},      {"/", T_SLASH},
    {"%", T_PERCENT},    {"&", T_AMP},      {"|", T_PIPE},      {"^", T_CARET},
    {"~", T_TILDE},      {"!", T_BANG},     {"=", T_EQ},        {"<", T_LT},
    {">", T_GT},         {";", T_SEMI},
};

static void identifier(lexer *L, const char *start)
{
    while (L->p < L->end && (*L->p == '_' || (*L->p >= 'a' && *L->p <= 'z') ||
                             (*L->p >= 'A' && *L->p <= 'Z') || is_digit_of(*L->p, false)))
        L->p++;
    size_t n = (size_t)(L->p - start);
    for (size_t k = 0; n <= 8 && k < sizeof KEYWORDS / sizeof KEYWORDS[0]; k++)
        if (KEYWORDS[k].len == n && KEYWORDS[k].word[0] == start[0] &&
            memcmp(KEYWORDS[k].word, start, n) == 0) {
            push(L, KEYWORDS[k].type, start);
            return;
        }
    comp_token *t = push(L, T_IDENT, start);
    t->s = start;
    t->len = (uint32_t)n;
}

void comp_lex(comp *C)
{
    /* Every token but the last two consumes at least one byte (an inserted
     * semicolon, its newline), so srclen + 2 tokens always suffice. The
     * array is not zeroed: pages never reached cost nothing, and a 10,000
     * line program then touches its tokens' memory once, not once per
     * doubling. */
    C->tok_cap = (uint32_t)(C->srclen + 4);
    if (C->srclen > UINT32_MAX / 2 || !(C->toks = malloc(C->tok_cap * sizeof(comp_token))))
        longjmp(C->oom, 1);
    lexer L = {.C = C, .p = C->src, .end = C->src + C->srclen, .line_start = C->src, .line = 1};
    while (skip_space_and_comments(&L)) {
        const char *start = L.p;
        char c = *L.p;
        if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            identifier(&L, start);
            continue;
        }
        if (c >= '0' && c <= '9') {
            number(&L, start);
            continue;
        }
        if (c == '"') {
            L.p++;
            string_part(&L, start);
            continue;
        }
        if (c == '\'') {
            char_literal(&L, start);
            continue;
        }
        if (c == ':' && L.ninterp && L.interp[L.ninterp - 1] == L.braces &&
            L.interp_groups[L.ninterp - 1] == L.groups) {
            format_spec(&L, start); /* "${x:SPEC}" */
            continue;
        }
        if (c == '(' || c == '[')
            L.groups++;
        else if (c == ')' || c == ']')
            L.groups--;
        if (c == '{') {
            L.braces++;
        } else if (c == '}') {
            if (L.ninterp && L.interp[L.ninterp - 1] == L.braces) {
                L.ninterp--;
                L.p++;
                string_part(&L, start);
                continue;
            }
            L.braces--;
        }
        size_t k;
        for (k = 0; k < sizeof OPERATORS / sizeof OPERATORS[0]; k++) {
            if (OPERATORS[k].text[0] != c) /* most fail here, before strlen and memcmp */
                continue;
            size_t n = strlen(OPERATORS[k].text);
            if ((size_t)(L.end - L.p) >= n && memcmp(L.p, OPERATORS[k].text, n) == 0) {
                push(&L, OPERATORS[k].type, start);
                L.p += n;
                break;
            }
        }
        if (k == sizeof OPERATORS / sizeof OPERATORS[0]) {
            unsigned char u = (unsigned char)c;
            if (u >= 32 && u < 127)
                comp_error(C, L.line, col_of(&L, start), "unexpected character '%c'", c);
            else
                comp_error(C, L.line, col_of(&L, start), "unexpected byte 0x%02x", u);
            L.p++;
        }
    }
    if (C->ntoks && ends_statement(C->toks[C->ntoks - 1].type))
        push(&L, T_SEMI, L.p)->auto_semi = true;
    push(&L, T_EOF, L.p);
}
