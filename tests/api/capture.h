/*
 * capture.h — the API tests' guest output: a write hook that gathers what
 * the guest prints (both streams) into an `out`, and a config using it.
 */
#ifndef KILN_TEST_CAPTURE_H
#define KILN_TEST_CAPTURE_H

#include <string.h>

#include "../../vm/kiln.h"

typedef struct out {
    char text[16384];
    size_t len;
} out;

static inline void capture(void *ud, int stream, const char *p, size_t n)
{
    (void)stream;
    out *o = ud;
    if (o->len + n >= sizeof o->text)
        n = sizeof o->text - 1 - o->len;
    memcpy(o->text + o->len, p, n);
    o->len += n;
    o->text[o->len] = 0;
}

/* The defaults, with the guest's output going into *o (emptied). */
static inline kiln_config out_config(out *o)
{
    memset(o, 0, sizeof *o);
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = capture;
    cfg.userdata = o;
    return cfg;
}

#endif
