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
