/*
 * test_opcodes.c — the opcode table (vm/opcodes.h) and the role table
 * (vm/roles.h) agree with themselves, with the semantics strings, and with
 * what the interpreter's handlers do: a flag forgotten on a new opcode
 * fails here, not in a collection that misses a root.
 */
#include "unit.h"

static bool has(int op, unsigned flags)
{
    return (vm_ops[op].flags & flags) == flags;
}
static int kind(int op, int i)
{
    return vm_roles[vm_ops[op].role[i]].kind;
}

Test(opcodes, table_is_consistent)
{
    for (int op = 0; op < OP__COUNT; op++) {
        const vm_opinfo *o = &vm_ops[op];
        cr_assert_not_null(o->name);
        cr_assert_not_null(o->doc);
        cr_assert_leq(o->format, FMT_AsBxX, "%s", o->name);
        bool two = VM_INS_WORDS(op) == 2;
        /* the second word is always used: a jump, or the callee of a call */
        cr_assert_eq(two, o->role[3] != ROLE___, "%s: X role vs format", o->name);
        if (o->format == FMT_sJ)
            cr_assert_eq(o->role[0], ROLE_JO, "%s", o->name);
        for (int i = 0; i < 4; i++)
            cr_assert_lt(o->role[i], ROLE__COUNT, "%s", o->name);
        for (int p = 0; p < op; p++)
            cr_assert_str_neq(vm_ops[p].name, o->name, "opcode name twice");
    }
    for (int r = 0; r < ROLE__COUNT; r++) {
        cr_assert_eq(strlen(vm_roles[r].name), 2, "role %d", r);
        cr_assert_leq(vm_roles[r].kind, VM_OPND_NATIVE, "role %s", vm_roles[r].name);
        for (int p = 0; p < r; p++)
            cr_assert_str_neq(vm_roles[p].name, vm_roles[r].name, "role name twice");
    }
    cr_assert_str_eq(vm_roles[ROLE___].name, "__");
    cr_assert_eq(vm_roles[ROLE___].kind, VM_OPND_NONE);
}

Test(opcodes, flags_agree_with_each_other)
{
    for (int op = 0; op < OP__COUNT; op++) {
        const char *n = vm_ops[op].name;
        int jumps = 0;
        for (int i = 0; i < 4; i++)
            jumps += kind(op, i) == VM_OPND_JUMP;
        cr_assert_eq(has(op, OPF_BRANCH), jumps == 1, "%s: BRANCH iff one jump operand", n);
        cr_assert_leq(jumps, 1, "%s", n);
        /* a taken backward jump polls, and a poll may stop the guest */
        if (has(op, OPF_BRANCH))
            cr_assert(has(op, OPF_SAFEPOINT | OPF_THROW), "%s: a branch polls", n);
        /* the only branch that never falls through has no condition */
        if (has(op, OPF_BRANCH | OPF_TERM))
            cr_assert_eq(vm_ops[op].format, FMT_sJ, "%s", n);
        if (has(op, OPF_TERM))
            cr_assert_not(has(op, OPF_SETA) || has(op, OPF_RWA) || has(op, OPF_ALLOC),
                          "%s: leaves the frame, writes nothing", n);
        /* calls: their result register is A, their frame waits in them */
        cr_assert_eq(has(op, OPF_CALL), kind(op, 0) == VM_OPND_RESULT, "%s: CALL iff RD", n);
        if (has(op, OPF_CALL))
            cr_assert(has(op, OPF_CALL | OPF_SAFEPOINT | OPF_THROW | OPF_SETA), "%s", n);
        /* an allocation may fail (OutOfMemoryError) and may collect */
        if (has(op, OPF_ALLOC))
            cr_assert(has(op, OPF_SAFEPOINT | OPF_THROW), "%s: ALLOC", n);
        cr_assert_eq(has(op, OPF_SAFEPOINT),
                     has(op, OPF_ALLOC) || has(op, OPF_CALL) || has(op, OPF_BRANCH),
                     "%s: SAFEPOINT is exactly ALLOC, CALL or BRANCH", n);
        /* the register flags name register operands */
        cr_assert_not(has(op, OPF_SETA) && has(op, OPF_RWA), "%s", n);
        if (has(op, OPF_SETA) || has(op, OPF_RWA))
            cr_assert(VM_OPND_ISREG(kind(op, 0)), "%s: A is a register", n);
        if (has(op, OPF_RWC))
            cr_assert(VM_OPND_ISREG(kind(op, 2)), "%s: C is a register", n);
    }
}

/* The semantics string says what the instruction writes ("R[A] = ..."
 * first, or after a "; ") and whether it raises; the flags must say the
 * same. */
Test(opcodes, flags_agree_with_semantics)
{
    for (int op = 0; op < OP__COUNT; op++) {
        const char *n = vm_ops[op].name, *doc = vm_ops[op].doc;
        bool sets_a = !strncmp(doc, "R[A] = ", 7) || strstr(doc, "; R[A] = ");
        cr_assert_eq(has(op, OPF_SETA), sets_a, "%s: SETA vs \"%s\"", n, doc);
        cr_assert_eq(has(op, OPF_RWA), strstr(doc, "R[A] += ") != NULL, "%s: RWA vs \"%s\"", n,
                     doc);
        cr_assert_eq(has(op, OPF_RWC), !strncmp(doc, "R[C] = ", 7), "%s: RWC vs \"%s\"", n, doc);
        if (strstr(doc, "Error") || strstr(doc, "raises"))
            cr_assert(has(op, OPF_THROW), "%s: \"%s\" raises", n, doc);
    }
}

/* ---- The table against the interpreter's handlers ---- */

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "cannot open %s (run the unit tests from the repository root)", path);
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
        n = fread(buf + len, 1, cap - len - 1, fp);
        len += n;
    } while (n > 0);
    fclose(fp);
    buf[len] = 0;
    return buf;
}

/* The text of the handler of `name` in interp.c: from its VM_CASE label
 * (past any labels that share its body) to the next handler's label. */
static char *handler_body(const char *src, const char *name)
{
    char label[64];
    snprintf(label, sizeof label, "VM_CASE(%s)", name);
    const char *p = strstr(src, label);
    cr_assert_not_null(p, "interp.c has no %s", label);
    for (;;) { /* skip this label and the ones stacked under it */
        p = strchr(p, ')') + 1;
        p += strspn(p, " \t\n:");
        if (strncmp(p, "VM_CASE(", 8) != 0)
            break;
    }
    const char *end = strstr(p, "VM_CASE(");
    const char *poll = strstr(p, "\npoll:");
    if (!end || (poll && poll < end))
        end = poll;
    cr_assert_not_null(end);
    return strndup(p, (size_t)(end - p));
}

Test(opcodes, flags_agree_with_interpreter)
{
    char *src = read_text("interp/interp.c");
    for (int op = 0; op < OP__COUNT; op++) {
        const char *n = vm_ops[op].name;
        char *body = handler_body(src, n);
        /* PROTECT() publishes the frame before anything that may collect */
        bool protects = strstr(body, "PROTECT()") != NULL;
        /* OP_CALL runs an instruction of ops.h and goes to unwind when it raises */
        bool raises = strstr(body, "goto unwind") || strstr(body, "goto throw_exc") ||
                      strstr(body, "goto call_overflow") || strstr(body, "OP_CALL(");
        bool jumps = strstr(body, "JUMP_X()") || strstr(body, "goto poll");
        if (!has(op, OPF_CALL)) /* a call's handler may share the poll of another */
            cr_assert_eq(protects, has(op, OPF_ALLOC), "%s: PROTECT() in the handler vs ALLOC", n);
        if (protects)
            cr_assert(has(op, OPF_SAFEPOINT), "%s: may collect, not a SAFEPOINT", n);
        if (raises)
            cr_assert(has(op, OPF_THROW), "%s: raises, not THROW", n);
        else
            cr_assert(!has(op, OPF_THROW) || has(op, OPF_CALL) || has(op, OPF_BRANCH),
                      "%s: THROW but its handler never raises", n);
        cr_assert_eq(jumps, has(op, OPF_BRANCH), "%s: jumps vs BRANCH", n);
        free(body);
    }
    free(src);
}
