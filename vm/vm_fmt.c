/*
 * vm_fmt.c — the format specs of interpolation, "${x:SPEC}": a part of
 * Python's format-spec mini-language,
 *
 *     [[fill]align][sign][#][0][width][,][.precision][type]
 *
 * with align < > ^ (and = : padding after the sign), sign + - or space,
 * types d x X o b (int), e f g % (int or float), s (str and bool).
 * The compiler parses each spec to report a bad one where it is written;
 * the runtime parses it again from the image, which can be written by
 * hand, so both go through this one parser.
 */
#include <string.h>

#include "image.h"

/* The UTF-8 sequence at p (n bytes left): its length, 0 if malformed. */
static size_t utf8_len(const char *p, size_t n)
{
    unsigned char c = (unsigned char)p[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if (((unsigned char)p[i] >> 6) != 2)
            return 0;
    return len;
}

static bool is_align(char c)
{
    return c == '<' || c == '>' || c == '^' || c == '=';
}

/* Digits at s[*i..]: their value (at most max), or -1 if there are none;
 * -2 past max. */
static int64_t digits(const char *s, size_t n, size_t *i, int64_t max)
{
    if (*i >= n || s[*i] < '0' || s[*i] > '9')
        return -1;
    int64_t v = 0;
    for (; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
        v = v * 10 + (s[*i] - '0');
        if (v > max)
            return -2;
    }
    return v;
}

const char *vm_fmtspec_parse(const char *s, size_t n, vm_fmtspec *f)
{
    memset(f, 0, sizeof *f);
    memcpy(f->fill, " ", 1);
    f->fill_len = 1;
    f->precision = -1;
    size_t i = 0;
    size_t fl = n ? utf8_len(s, n) : 0;
    if (fl && fl < n && is_align(s[fl])) { /* fill and align */
        memcpy(f->fill, s, fl);
        f->fill_len = (uint8_t)fl;
        f->align = s[fl];
        i = fl + 1;
    } else if (n && is_align(s[0])) {
        f->align = s[0];
        i = 1;
    }
    if (i < n && (s[i] == '+' || s[i] == '-' || s[i] == ' '))
        f->sign = s[i++];
    if (i < n && s[i] == '#') {
        f->alt = true;
        i++;
    }
    if (i < n && s[i] == '0') { /* zero padding, after the sign */
        f->zero = true;
        i++;
    }
    int64_t w = digits(s, n, &i, VM_FMT_MAX_WIDTH);
    if (w == -2)
        return "the width is too large (at most 1000000)";
    f->width = w < 0 ? 0 : (uint32_t)w;
    if (i < n && s[i] == ',') {
        f->comma = true;
        i++;
    }
    if (i < n && s[i] == '.') {
        i++;
        int64_t p = digits(s, n, &i, VM_FMT_MAX_PRECISION);
        if (p == -1)
            return "'.' must be followed by a precision";
        if (p == -2)
            return "the precision is too large (at most 1000)";
        f->precision = (int32_t)p;
    }
    if (i < n && strchr("dxXobefg%s", s[i]) && s[i])
        f->type = s[i++];
    if (i != n)
        return "a format spec is [[fill]align][sign][#][0][width][,][.precision][type] with a "
               "type among d x X o b e f g % s";
    if (f->zero && !f->align) { /* 0 without an alignment: zeros after the sign */
        memcpy(f->fill, "0", 1);
        f->fill_len = 1;
        f->align = '=';
    }
    return NULL;
}

const char *vm_fmtspec_fits(const vm_fmtspec *f, char kind)
{
    bool number = kind == 'i' || kind == 'f';
    if (f->type == 's' || (!f->type && !number)) {
        if (number && f->type == 's')
            return "type 's' is for strings; a number takes d x X o b e f g %";
        if (f->sign || f->alt || f->comma || f->align == '=' || f->zero)
            return "sign, '#', ',', '=' and '0' are for numbers";
        if (f->precision >= 0)
            return "a precision is for floats";
        return NULL;
    }
    if (!number)
        return "only numbers take the types d x X o b e f g %";
    if (kind == 'f' && f->type && strchr("dxXob", f->type))
        return "a float takes e f g % (or none); d x X o b are for ints";
    if (kind == 'i' && f->precision >= 0 && (!f->type || strchr("dxXob", f->type)))
        return "an int takes no precision (use type f, e, g or %)";
    if (f->comma && f->type && strchr("xXob", f->type))
        return "',' is for decimal numbers";
    if (f->alt && !(f->type && strchr("xXob", f->type)))
        return "'#' is for x, X, o and b";
    return NULL;
}
