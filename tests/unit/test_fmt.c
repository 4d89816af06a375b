/*
 * test_fmt.c — format specs, "${x:SPEC}": the parser every spec goes
 * through (vm/vm_fmt.c: the compiler's check and the runtime's, which reads
 * specs from images that may be written by hand), which specs fit which
 * kind of value, and the text rt_format_spec makes, against Python's
 * format() for the same spec and value.
 */
#include "unit.h"

#include "../../runtime/rt.h"

static vm_fmtspec parsed(const char *spec)
{
    vm_fmtspec f;
    const char *bad = vm_fmtspec_parse(spec, strlen(spec), &f);
    cr_assert_null(bad, "'%s': %s", spec, bad ? bad : "");
    return f;
}

Test(fmt, parses_every_field)
{
    vm_fmtspec f = parsed("*^+#010,.3f");
    cr_assert_eq(f.fill[0], '*');
    cr_assert_eq(f.align, '^');
    cr_assert_eq(f.sign, '+');
    cr_assert(f.alt && f.zero && f.comma);
    cr_assert_eq(f.width, 10);
    cr_assert_eq(f.precision, 3);
    cr_assert_eq(f.type, 'f');
    f = parsed("");
    cr_assert_eq(f.precision, -1);
    cr_assert_eq(f.width, 0);
    f = parsed("05");
    cr_assert_eq(f.align, '='); /* zero padding goes after the sign */
    cr_assert_eq(f.fill[0], '0');
    f = parsed("\xc3\xa9<3"); /* a fill of two bytes: one character */
    cr_assert_eq(f.fill_len, 2);
    cr_assert_eq(f.align, '<');
}

Test(fmt, rejects_bad_specs_with_a_reason)
{
    const char *bad[] = {"q", "5q", ".", ".x", "1000001", ".1001", "<<<", "++", "\xff<"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vm_fmtspec f;
        const char *why = vm_fmtspec_parse(bad[i], strlen(bad[i]), &f);
        cr_assert_not_null(why, "'%s' was accepted", bad[i]);
    }
}

Test(fmt, specs_fit_only_their_kinds)
{
    vm_fmtspec f = parsed("d");
    cr_assert_null(vm_fmtspec_fits(&f, 'i'));
    cr_assert_not_null(vm_fmtspec_fits(&f, 'f'));
    cr_assert_not_null(vm_fmtspec_fits(&f, 's'));
    f = parsed(".2f");
    cr_assert_null(vm_fmtspec_fits(&f, 'i')); /* an int formats as a float */
    cr_assert_null(vm_fmtspec_fits(&f, 'f'));
    f = parsed(">5");
    cr_assert_null(vm_fmtspec_fits(&f, 's'));
    cr_assert_null(vm_fmtspec_fits(&f, 'b'));
    f = parsed("+");
    cr_assert_not_null(vm_fmtspec_fits(&f, 's'));
    f = parsed(",x");
    cr_assert_not_null(vm_fmtspec_fits(&f, 'i'));
}

/* The text of value v (kind k) by spec. */
static void expect(kiln_vm *vm, const char *spec, char k, vm_value v, const char *want)
{
    vm_fmtspec f = parsed(spec);
    cr_assert_null(vm_fmtspec_fits(&f, k), "'%s' for %c", spec, k);
    vm_str *s = rt_format_spec(vm, &f, k, v);
    cr_assert_not_null(s);
    cr_assert_str_eq(s->data, want, "'%s'", spec);
}

Test(fmt, formats_as_python_does)
{
    kiln_vm *vm = unit_linked_vm(0);
    expect(vm, ".2f", 'f', (vm_value){.f = 3.14159}, "3.14");
    expect(vm, "5d", 'i', (vm_value){.i = 42}, "   42");
    expect(vm, "<5", 'i', (vm_value){.i = 42}, "42   ");
    expect(vm, "x", 'i', (vm_value){.i = 255}, "ff");
    expect(vm, "#X", 'i', (vm_value){.i = -255}, "-0XFF");
    expect(vm, "03d", 'i', (vm_value){.i = 7}, "007");
    expect(vm, "05d", 'i', (vm_value){.i = -7}, "-0007");
    expect(vm, ",", 'i', (vm_value){.i = 1234567}, "1,234,567");
    expect(vm, ",", 'i', (vm_value){.i = INT64_MIN}, "-9,223,372,036,854,775,808");
    expect(vm, ".1%", 'f', (vm_value){.f = 0.25}, "25.0%");
    expect(vm, ",.2f", 'f', (vm_value){.f = 1234567.891}, "1,234,567.89");
    expect(vm, "e", 'f', (vm_value){.f = 1.5e10}, "1.500000e+10");
    expect(vm, ".3", 'f', (vm_value){.f = 2.0}, "2.0");
    expect(vm, "", 'f', (vm_value){.f = 0.1}, "0.1");
    expect(vm, "+", 'f', (vm_value){.f = 1.0}, "+1.0");
    expect(vm, " ", 'i', (vm_value){.i = 5}, " 5");
    expect(vm, "b", 'i', (vm_value){.i = 5}, "101");
    expect(vm, "*^7", 's', (vm_value){.s = vm_str_cstr(vm, "hi")}, "**hi***");
    expect(vm, ">4", 's', (vm_value){.s = NULL}, "null");
    expect(vm, ">6", 'b', (vm_value){.i = 1}, "  true");
    expect(vm, "-^5", 's', (vm_value){.s = vm_str_cstr(vm, "\xc3\xa9")}, "--\xc3\xa9--");
    expect(vm, ".2f", 'f', (vm_value){.f = -1.0 / 0.0}, "-inf");
    kiln_free(vm);
}
