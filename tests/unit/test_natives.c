/*
 * test_natives.c — standard-library natives called directly, where a
 * language test cannot reach: sizes past 4 GiB, built from string headers
 * whose lengths are set by hand (no such string is ever allocated; the
 * natives must refuse before they copy a byte).
 */
#include <stdint.h>
#include <stdlib.h>

#include "unit.h"

#include "../../runtime/rt.h"
#include "../../stdlib/std.h"

static const vm_native *native(const char *name)
{
    for (size_t i = 0; i < std_natives_count(); i++)
        if (!strcmp(std_native(i)->sig.name, name))
            return std_native(i);
    cr_assert_fail("no native %s", name);
    return NULL;
}

/* str.join of a 2 GiB separator and a 2 GiB part: 4 GiB, more than a
 * string may hold. The sum was once made in 32 bits, wrapped to nothing,
 * and the copy wrote 4 GiB into a 0-byte string (#16 finding 5). */
Test(natives, join_size_past_4_gib_is_refused)
{
    kiln_vm *vm = unit_linked_vm(0);
    vm_str *empty = vm_str_cstr(vm, "");
    cr_assert_not_null(empty);
    unit_root(vm, empty);
    vm_array *parts = vm_array_new(vm, 2, 2, true);
    cr_assert_not_null(parts);
    unit_root(vm, parts);
    vm_str *big = calloc(1, sizeof(vm_str) + 1); /* a header only: never read past */
    cr_assert_not_null(big);
    big->len = UINT32_C(0x80000000);
    /* nothing allocates from here to the call: the collector never sees big */
    parts->buf->items[0].s = empty;
    parts->buf->items[1].s = big;
    vm_value args[2] = {{.s = big}, {.p = parts}}, result = {0};
    cr_assert_eq(native("str.join")->fn(vm, args, &result), -1);
    cr_assert_eq(vm->ctx->err_kind, RT_ERR_OOM);
    cr_assert(strstr(vm->ctx->err_msg, "string of 4294967296 bytes is too long"), "%s",
              vm->ctx->err_msg);
    parts->buf->items[1].s = empty;
    free(big);
    kiln_free(vm);
}
