/*
 * test_live.c — vm_live: the live reference registers at chosen
 * instructions of compiled programs, as exact sets. Registers are taken
 * from the instructions' operands (the parameters are r0, r1, ...), so the
 * tests follow the register allocator but not its numbering.
 */
#include "../../vm/vm_live.h"
#include "unit.h"

typedef struct prog {
    vm_buf bytes;
    vm_image im;
    vm_live live;
    const vm_func *f;
} prog;

/* Compiles, reads and verifies `src`, and analyses its function `name`. */
static void load(prog *p, const char *src, const char *name)
{
    char err[256] = "";
    unit_compile("t.kn", src, &p->bytes);
    cr_assert(
        vm_image_read((const uint8_t *)p->bytes.data, p->bytes.len, true, &p->im, err, sizeof err),
        "%s", err);
    cr_assert(vm_verify(&p->im, err, sizeof err), "%s", err);
    p->f = &p->im.funcs[unit_func(&p->im, name)];
    cr_assert(vm_live_build(&p->im, p->f, &p->live));
    cr_assert_leq(p->f->nregs, 64, "the tests show sets as 64-bit masks");
}

static void unload(prog *p)
{
    vm_live_free(&p->live);
    vm_image_free(&p->im);
    vm_buf_free(&p->bytes);
}

/* The word of the nth (0-based) instruction of opcode op in p's function. */
static uint32_t find(const prog *p, uint32_t op, int nth)
{
    const vm_func *f = p->f;
    for (uint32_t pc = 0; pc < f->ncode; pc += VM_INS_WORDS(INS_OP(f->code[pc])))
        if (INS_OP(f->code[pc]) == op && nth-- == 0)
            return pc;
    cr_assert_fail("no %s in the function", vm_ops[op].name);
    return 0;
}

static uint32_t opnd(const prog *p, uint32_t pc, int i)
{
    uint32_t v[4];
    vm_ins_operands(INS_OP(p->f->code[pc]), &p->f->code[pc], v);
    return v[i];
}

/* The live set at `word` as a mask of register numbers. */
static uint64_t live(const prog *p, uint32_t word)
{
    const uint8_t *set = vm_live_at(&p->live, word);
    uint64_t m = 0;
    for (uint32_t i = 0; i < p->live.nrefs; i++)
        if (vm_live_has(set, i))
            m |= (uint64_t)1 << p->live.refs[i];
    return m;
}

#define R(r) ((uint64_t)1 << (r))
#define ASSERT_LIVE(p, pc, want) \
    cr_assert_eq(live(p, pc), (want), "live at %u (%s): 0x%llx, expected 0x%llx", (pc), \
                 vm_ops[INS_OP((p)->f->code[pc])].name, (unsigned long long)live(p, pc), \
                 (unsigned long long)(want))

Test(live, temporary_dead_after_last_use)
{
    prog p;
    load(&p,
         "fn f(a: str) -> int {\n"
         "    let t = a + \"x\"\n"
         "    print(t)\n"
         "    let u = [1, 2, 3]\n"
         "    return u.len() + a.len()\n"
         "}\n"
         "print(f(\"q\"))\n",
         "f");
    uint32_t call = find(&p, OP_CALLN, 0), newa = find(&p, OP_NEWA, 0);
    cr_assert_eq(opnd(&p, call, 0), 0, "print has no result: A is 0");
    /* print's argument is live; a (r0) stays live through the call even
     * though the call names r0 as A: a call without result writes nothing */
    ASSERT_LIVE(&p, call, R(0) | R(opnd(&p, call, 1)));
    /* t is dead once printed; the new array's register is written, not read */
    ASSERT_LIVE(&p, newa, R(0));
    unload(&p);
}

Test(live, concat_operands_live_while_it_allocates)
{
    prog p;
    load(&p, "fn f(a: str) -> str {\n    let t = a + \"x\"\n    return t\n}\nprint(f(\"q\"))\n",
         "f");
    uint32_t cat = find(&p, OP_CONCAT, 0);
    /* here A is also C: the read wins over the write, the operand
     * survives the allocation */
    cr_assert_eq(opnd(&p, cat, 0), opnd(&p, cat, 2));
    ASSERT_LIVE(&p, cat, R(opnd(&p, cat, 1)) | R(opnd(&p, cat, 2)));
    ASSERT_LIVE(&p, find(&p, OP_RET, 0), R(opnd(&p, cat, 0)));
    unload(&p);
}

Test(live, variable_live_across_loop_back_edge)
{
    prog p;
    load(&p,
         "fn f(a: str, n: int) -> str {\n"
         "    var s = \"\"\n"
         "    for i in 0..n {\n"
         "        s = s + a\n"
         "    }\n"
         "    return s\n"
         "}\n"
         "print(f(\"a\", 2))\n",
         "f");
    uint32_t s = opnd(&p, find(&p, OP_CONCAT, 0), 0), back = find(&p, OP_FORLT, 0);
    cr_assert_lt((int32_t)opnd(&p, back, 3), 0, "FORLT jumps back");
    /* a is read only in the body: live at the back-edge, dead after the loop */
    ASSERT_LIVE(&p, back, R(0) | R(s));
    ASSERT_LIVE(&p, find(&p, OP_RET, 0), R(s));
    unload(&p);
}

static const char CATCHER[] = "fn g(n: int) -> str { return \"${n}\" }\n"
                              "fn f(n: int) -> str {\n"
                              "    let w = \"w\" + str(n)\n"
                              "    var r = \"\"\n"
                              "    try {\n"
                              "        r = g(n)\n"
                              "    } catch e: Error {\n"
                              "        print(e.message)\n"
                              "        return w\n"
                              "    }\n"
                              "    return r\n"
                              "}\n"
                              "print(f(1))\n";

Test(live, register_live_into_catch_handler_across_call)
{
    prog p;
    load(&p, CATCHER, "f");
    cr_assert_eq(p.f->nhandlers, 1);
    const vm_handler *h = &p.f->handlers[0];
    uint32_t call = find(&p, OP_CALLP, 0), w = opnd(&p, find(&p, OP_RET, 0), 0);
    cr_assert(call >= h->start && call < h->end, "the call is in the try");
    /* w is read only by the handler: live during the call through the
     * exception edge. Not the call's result (written when it returns), not
     * the clause's register e (written when it catches), though the handler
     * reads it */
    ASSERT_LIVE(&p, call, R(w));
    cr_assert(live(&p, h->handler) & R(h->reg), "the handler reads e");
    /* after the try, the normal path needs only r */
    ASSERT_LIVE(&p, call + 2, R(opnd(&p, call, 0)));
    unload(&p);
}

Test(live, call_result_live_only_if_the_handler_reads_its_old_value)
{
    prog p;
    load(&p,
         "fn g(n: int) -> str { return \"${n}\" }\n"
         "fn f(n: int) -> str {\n"
         "    var r = \"old\" + str(n)\n"
         "    try {\n"
         "        r = g(n)\n"
         "    } catch e: Error {\n"
         "        return r\n"
         "    }\n"
         "    return r\n"
         "}\n"
         "print(f(1))\n",
         "f");
    uint32_t call = find(&p, OP_CALLP, 0), r = opnd(&p, call, 0);
    /* the call writes r only if g returns; if g raises, the handler
     * returns r's old value, which must survive the call */
    cr_assert_eq(opnd(&p, find(&p, OP_RET, 0), 0), r);
    ASSERT_LIVE(&p, call, R(r));
    unload(&p);
}

Test(live, implicit_register_operands)
{
    prog p;
    load(&p,
         "fn f(m: {str: str}, k: str, d: str) -> str {\n"
         "    let v = m.get(k, d)\n"
         "    print(v)\n"
         "    return v\n"
         "}\n"
         "print(f({\"a\": \"b\"}, \"a\", \"c\"))\n",
         "f");
    uint32_t get = find(&p, OP_MGETD, 0), v = opnd(&p, get, 0);
    cr_assert_eq(opnd(&p, get, 3), 2, "MGETD's default is d, in X");
    ASSERT_LIVE(&p, get, R(0) | R(1) | R(2)); /* map, key, default */
    ASSERT_LIVE(&p, get + 2, R(v));
    cr_assert_eq(vm_live_at(&p.live, get + 1), vm_live_at(&p.live, get), "X word, same set");
    unload(&p);

    load(&p,
         "fn f(a: str) -> str {\n"
         "    let c = fn(x: str) -> str { return x + a }\n"
         "    return c(\"y\")\n"
         "}\n"
         "print(f(\"z\"))\n",
         "f");
    uint32_t fnew = find(&p, OP_FNEW, 0), call = find(&p, OP_CALLF, 0);
    ASSERT_LIVE(&p, fnew, R(opnd(&p, fnew, 1))); /* the captured value */
    /* the function value and its argument after it, not the result */
    ASSERT_LIVE(&p, call, R(opnd(&p, call, 1)) | R(opnd(&p, call, 1) + 1));
    unload(&p);
}

Test(live, sets_for_every_word_and_none_past_the_code)
{
    prog p;
    load(&p, CATCHER, "f");
    const vm_live *l = &p.live;
    cr_assert_eq(l->ncode, p.f->ncode);
    for (uint32_t i = 0; i < l->nrefs; i++) {
        cr_assert(VM_T_ISREF(p.f->types[l->refs[i]]));
        cr_assert(i == 0 || l->refs[i] > l->refs[i - 1], "ascending");
        cr_assert(vm_live_has(vm_live_at(l, p.f->ncode), i), "past the code: every one");
    }
    for (uint32_t w = 0; w < l->ncode; w++)
        cr_assert_lt(l->at[w], l->nsets);
    for (uint32_t a = 0; a < l->nsets; a++) /* deduplicated */
        for (uint32_t b = 0; b < a; b++)
            cr_assert_neq(memcmp(l->sets + a * l->setbytes, l->sets + b * l->setbytes, l->setbytes),
                          0, "sets %u and %u are the same", a, b);
    unload(&p);

    load(&p, "fn f(n: int) -> int { return n + 1 }\nprint(f(1))\n", "f");
    cr_assert_eq(p.live.nrefs, 0);
    cr_assert_not_null(vm_live_at(&p.live, 0));
    unload(&p);
    vm_live_free(&p.live); /* freeing twice (an empty one) does nothing */
}
