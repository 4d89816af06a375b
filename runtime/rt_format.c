/*
 * rt_format.c — numbers to text, exactly as docs/language.md specifies.
 *
 * Floats follow Python's repr: the fewest significant digits (1 to 17) that
 * read back to the same double, found by trying each precision with printf's
 * correctly rounded %e and strtod; positional notation when the decimal
 * exponent is in [-4, 16), scientific otherwise (sign and at least two
 * exponent digits); always a '.' or an exponent so a float never reads as
 * an int.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

size_t rt_format_int(int64_t v, char *buf)
{
    return (size_t)snprintf(buf, 24, "%lld", (long long)v);
}

size_t rt_format_float(double d, char *buf)
{
    if (isnan(d))
        return (size_t)snprintf(buf, 32, "nan");
    if (isinf(d))
        return (size_t)snprintf(buf, 32, d < 0 ? "-inf" : "inf");
    char tmp[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* tmp is "-d.ddde[+-]xx": pull out the sign, digits and exponent. */
    const char *p = tmp;
    bool neg = *p == '-';
    if (neg)
        p++;
    char digits[24];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int exp = atoi(p + 1);
    char *o = buf;
    if (neg)
        *o++ = '-';
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = -1; i > exp; i--)
                *o++ = '0';
            for (int i = 0; i < nd; i++)
                *o++ = digits[i];
        } else {
            for (int i = 0; i <= exp; i++)
                *o++ = i < nd ? digits[i] : '0';
            *o++ = '.';
            if (nd > exp + 1)
                for (int i = exp + 1; i < nd; i++)
                    *o++ = digits[i];
            else
                *o++ = '0';
        }
    } else {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            for (int i = 1; i < nd; i++)
                *o++ = digits[i];
        }
        o += sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
    *o = 0;
    return (size_t)(o - buf);
}

/* ---- Format specs: "${x:SPEC}" (the spec's grammar is vm_fmt.c's) ---- */

/* digits[0..n) with a ',' every three from the right, into out. */
static size_t group(const char *digits, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    return o;
}

/* The magnitude of v in `base`, into out (65 bytes); its length. */
static size_t in_base(uint64_t v, unsigned base, bool upper, char *out)
{
    const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[65];
    size_t n = 0;
    do {
        tmp[n++] = d[v % base];
        v /= base;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* A float's text by the spec (without its sign, which goes in *neg). */
static size_t float_body(double d, const vm_fmtspec *f, bool *neg, char *out, size_t cap)
{
    *neg = signbit(d) && !isnan(d);
    double a = fabs(d);
    char tmp[VM_FMT_MAX_PRECISION + 400];
    int prec = f->precision;
    size_t n;
    if (isnan(a) || isinf(a)) {
        n = (size_t)snprintf(tmp, sizeof tmp, "%s%s", isnan(a) ? "nan" : "inf",
                             f->type == '%' ? "%" : "");
    } else if (f->type == 'f' || f->type == '%') {
        n = (size_t)snprintf(tmp, sizeof tmp, "%.*f%s", prec < 0 ? 6 : prec,
                             f->type == '%' ? a * 100 : a, f->type == '%' ? "%" : "");
    } else if (f->type == 'e') {
        n = (size_t)snprintf(tmp, sizeof tmp, "%.*e", prec < 0 ? 6 : prec, a);
    } else if (f->type == 'g' || prec >= 0) {
        n = (size_t)snprintf(tmp, sizeof tmp, "%.*g", prec < 0 ? 6 : prec == 0 ? 1 : prec, a);
        if (!f->type && !strpbrk(tmp, ".e") && n + 2 < sizeof tmp) { /* 1.0, not 1 */
            memcpy(tmp + n, ".0", 3);
            n += 2;
        }
    } else {
        n = rt_format_float(a, tmp);
    }
    if (n >= sizeof tmp)
        n = sizeof tmp - 1;
    if (!f->comma) {
        memcpy(out, tmp, n < cap ? n : cap);
        return n < cap ? n : cap;
    }
    size_t ip = strspn(tmp, "0123456789"); /* the integer part gets the commas */
    size_t o = group(tmp, ip, out);
    memcpy(out + o, tmp + ip, n - ip);
    return o + n - ip;
}

vm_str *rt_format_spec(kiln_vm *vm, const vm_fmtspec *f, char kind, vm_value v)
{
    /* body: the text without sign or padding; at most a float's digits
     * with commas */
    char body[2 * (VM_FMT_MAX_PRECISION + 400)], sign[2] = {0};
    const char *text = body, *prefix = "";
    size_t n = 0;
    bool neg = false, number = kind == 'i' || kind == 'f';
    if (kind == 'i' && f->type && strchr("efg%", f->type))
        kind = 'f', v.f = (double)v.i;
    if (kind == 's' || kind == 'b') {
        text = kind == 'b' ? (v.i ? "true" : "false") : v.s ? v.s->data : "null";
        n = kind == 'b' ? (v.i ? 4 : 5) : v.s ? v.s->len : 4;
    } else if (kind == 'i') {
        neg = v.i < 0;
        uint64_t m = neg ? 0 - (uint64_t)v.i : (uint64_t)v.i;
        char t = f->type ? f->type : 'd';
        char dig[65];
        size_t k = in_base(m,
                           t == 'x' || t == 'X' ? 16
                           : t == 'o'           ? 8
                           : t == 'b'           ? 2
                                                : 10,
                           t == 'X', dig);
        n = f->comma ? group(dig, k, body) : (memcpy(body, dig, k), k);
        if (f->alt)
            prefix = t == 'x' ? "0x" : t == 'X' ? "0X" : t == 'o' ? "0o" : "0b";
    } else {
        n = float_body(v.f, f, &neg, body, sizeof body);
    }
    if (number)
        sign[0] = neg ? '-' : f->sign == '+' ? '+' : f->sign == ' ' ? ' ' : 0;
    size_t slen = strlen(sign), plen = strlen(prefix);
    /* width counts characters: code points */
    size_t chars = slen + plen;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)text[i] >> 6) != 2;
    size_t pad = f->width > chars ? f->width - chars : 0;
    char align = f->align ? f->align : number ? '>' : '<';
    size_t left = align == '>' || align == '=' ? pad : align == '^' ? pad / 2 : 0;
    size_t right = pad - left;
    uint64_t total = slen + plen + n + (uint64_t)pad * f->fill_len;
    if (vm_charge(vm, total / VM_BYTES_PER_TICK))
        return NULL;
    vm_str *out = vm_str_new(vm, NULL, (size_t)total);
    if (!out)
        return NULL;
    /* sign and prefix go before the fill for '=', after it otherwise */
    char *w = out->data + (align == '=' ? 0 : left * f->fill_len);
    memcpy(w, sign, slen);
    memcpy(w + slen, prefix, plen);
    w = align == '=' ? w + slen + plen : out->data;
    for (size_t i = 0; i < left; i++, w += f->fill_len)
        memcpy(w, f->fill, f->fill_len);
    if (align != '=')
        w += slen + plen;
    memcpy(w, text, n);
    w += n;
    for (size_t i = 0; i < right; i++, w += f->fill_len)
        memcpy(w, f->fill, f->fill_len);
    return out;
}
