/*
 * oom_wrap.h — the failure injection of oom_wrap.c, for a driver.
 */
#ifndef OOM_WRAP_H
#define OOM_WRAP_H

/* oom_arm: numbers allocations from 1 again; the `n`-th fails (0: none),
 * and with `fail_from` every one after it too. */
void oom_arm(long long n, int fail_from);
/* oom_count: allocations numbered since oom_arm. */
long long oom_count(void);
/* oom_injected: of those, how many were made to fail. */
long long oom_injected(void);
/* oom_live_blocks, oom_live_maps: heap blocks and mapped pages libkiln holds. */
long long oom_live_blocks(void);
long long oom_live_maps(void);

#endif
