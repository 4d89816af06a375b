/*
 * test_api.c — the public API (vm/kiln.h): loading source and images,
 * running with the output captured by the write hook, error codes and
 * texts, and misuse.
 */
#include <stdio.h>
#include <unistd.h>

#include "unit.h"

static kiln_status load(kiln_vm *vm, const char *name, const char *src)
{
    return kiln_load_source(vm, name, src, strlen(src));
}

Test(api, version_and_config)
{
    cr_assert_str_eq(kiln_version(), KILN_VERSION);
    kiln_config cfg;
    memset(&cfg, 0xff, sizeof cfg);
    kiln_config_init(&cfg);
    cr_assert_eq(cfg.heap_limit, 0);
    cr_assert_eq(cfg.flags, 0);
    cr_assert_null(cfg.write);
    cr_assert_null(cfg.userdata);
}

Test(api, run_source_with_captured_output)
{
    unit_out o;
    kiln_vm *vm = unit_vm(&o);
    cr_assert_str_eq(kiln_error(vm), "", "a new VM has no error");
    cr_assert_eq(load(vm, "prog.kn",
                      "fn main() { print(\"main runs last\") }\n"
                      "print(1 + 2)\n"
                      "let name = \"kiln\"\n"
                      "print(\"hi ${name} ${2.5 * 2.0}\")\n"
                      "print(true)\n"),
                 KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(unit_text(&o.out), "3\nhi kiln 5.0\ntrue\nmain runs last\n");
    cr_assert_str_eq(unit_text(&o.err), "");
    cr_assert_str_eq(kiln_error(vm), "");
    kiln_free(vm);
    unit_out_free(&o);
}

static int streams_seen;
static void record_stream(void *userdata, int stream, const char *bytes, size_t len)
{
    (void)userdata, (void)bytes, (void)len;
    streams_seen |= 1 << stream;
}

Test(api, print_writes_to_stream_1_with_userdata)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = record_stream;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    streams_seen = 0;
    cr_assert_eq(load(vm, "p.kn", "print(1)\n"), KILN_OK);
    cr_assert_eq(kiln_run(vm), KILN_OK);
    cr_assert_eq(streams_seen, 1 << 1);
    kiln_free(vm);
}

Test(api, compile_error)
{
    unit_out o;
    kiln_vm *vm = unit_vm(&o);
    cr_assert_eq(load(vm, "prog.kn", "print(y)\n"), KILN_ERR_COMPILE);
    /* the diagnostics, without the final newline */
    cr_assert_str_eq(kiln_error(vm), "prog.kn:1:7: error: unknown name 'y'\n"
                                     "    print(y)\n"
                                     "          ^");
    cr_assert_eq(kiln_run(vm), KILN_ERR_API, "nothing was loaded");
    cr_assert_str_eq(kiln_error(vm), "kiln_run: no program loaded");
    cr_assert_str_eq(unit_text(&o.out), "");
    /* a failed compilation leaves the VM empty: it can load again */
    cr_assert_eq(load(vm, "prog.kn", "print(2)\n"), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK);
    cr_assert_str_eq(unit_text(&o.out), "2\n");
    kiln_free(vm);
    unit_out_free(&o);
}

Test(api, compile_error_without_a_name)
{
    kiln_vm *vm = kiln_new(NULL);
    cr_assert_eq(kiln_load_source(vm, NULL, "let x = 1 +", 11), KILN_ERR_COMPILE);
    cr_assert(strncmp(kiln_error(vm), "<source>:1:", 11) == 0, "%s", kiln_error(vm));
    kiln_free(vm);
}

Test(api, runtime_error)
{
    unit_out o;
    kiln_vm *vm = unit_vm(&o);
    cr_assert_eq(load(vm, "prog.kn",
                      "fn d(a: int) -> int { return 10 / a }\n"
                      "print(d(5))\n"
                      "print(d(0))\n"
                      "print(\"not reached\")\n"),
                 KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_ERR_RUNTIME);
    cr_assert_str_eq(kiln_error(vm), "error: ArithmeticError: division by zero\n"
                                     "  at d (prog.kn:1)\n"
                                     "  at <module> (prog.kn:3)");
    cr_assert_str_eq(unit_text(&o.out), "2\n", "output before the error is kept");
    kiln_free(vm);
    unit_out_free(&o);
}

/* The heap limit raises OutOfMemoryError, a guest error; left uncaught,
 * the limit stopped the guest: KILN_ERR_LIMIT. */
Test(api, heap_limit_uncaught_is_a_limit)
{
    unit_out o;
    kiln_vm *vm = unit_vm_with(&o, 0, 64 * 1024);
    cr_assert_eq(load(vm, "prog.kn", "var s = \"x\"\nwhile true { s = s + s }\n"), KILN_OK, "%s",
                 kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_ERR_LIMIT);
    cr_assert(strncmp(kiln_error(vm), "error: OutOfMemoryError: ", 25) == 0, "%s", kiln_error(vm));
    kiln_free(vm);
    unit_out_free(&o);
}

Test(api, image_from_source_runs_the_same)
{
    unit_out o1, o2;
    kiln_vm *a = unit_vm(&o1);
    const char *src = "var t = 0\nfor i in 1..=4 { t += i * i }\nprint(\"t=${t}\")\n";
    cr_assert_eq(load(a, "sq.kn", src), KILN_OK);
    const void *bytes;
    size_t len;
    cr_assert_eq(kiln_image(a, &bytes, &len), KILN_OK);
    /* the VM's image is exactly what the compiler produces */
    vm_buf direct;
    unit_compile("sq.kn", src, &direct);
    cr_assert_eq(len, direct.len);
    cr_assert(memcmp(bytes, direct.data, len) == 0);
    vm_buf_free(&direct);

    kiln_vm *b = unit_vm(&o2);
    cr_assert_eq(kiln_load_image(b, bytes, len), KILN_OK, "%s", kiln_error(b));
    cr_assert_eq(kiln_run(a), KILN_OK);
    cr_assert_eq(kiln_run(b), KILN_OK);
    cr_assert_str_eq(unit_text(&o1.out), "t=30\n");
    cr_assert_str_eq(unit_text(&o2.out), "t=30\n");

    const char *dis;
    cr_assert_eq(kiln_disassemble(b, &dis), KILN_OK);
    cr_assert_not_null(strstr(dis, "module sq (sq.kn), init f0"), "%s", dis);
    cr_assert_not_null(strstr(dis, "FORLE"), "1..=4 loops with FORLE: %s", dis);
    kiln_free(a);
    kiln_free(b);
    unit_out_free(&o1);
    unit_out_free(&o2);
}

Test(api, vms_do_not_share_state)
{
    unit_out o1, o2;
    kiln_vm *a = unit_vm(&o1), *b = unit_vm(&o2);
    const char *src = "var n = 0\nfn main() { n += 1\n print(n) }\n";
    cr_assert_eq(load(a, "p.kn", src), KILN_OK);
    cr_assert_eq(load(b, "p.kn", src), KILN_OK);
    cr_assert_eq(kiln_run(a), KILN_OK);
    cr_assert_eq(kiln_run(a), KILN_OK, "running again re-runs the program");
    cr_assert_eq(kiln_run(b), KILN_OK);
    cr_assert_str_eq(unit_text(&o2.out), "1\n", "b does not see a's globals");
    cr_assert_eq(strncmp(unit_text(&o1.out), "1\n", 2), 0);
    kiln_free(a);
    kiln_free(b);
    unit_out_free(&o1);
    unit_out_free(&o2);
}

Test(api, load_errors)
{
    kiln_vm *vm = kiln_new(NULL);
    cr_assert_eq(kiln_load_image(vm, "print(1)", 8), KILN_ERR_LOAD);
    cr_assert_str_eq(kiln_error(vm), "invalid image: bad magic at offset 0");
    cr_assert_eq(kiln_load_image(vm, NULL, 0), KILN_ERR_LOAD);
    cr_assert_str_eq(kiln_error(vm), "invalid image: bad magic at offset 0");

    vm_buf img;
    unit_compile("p.kn", "print(1)\n", &img);
    img.data[img.len - 1] ^= 0x40; /* main index: checksum now wrong */
    cr_assert_eq(kiln_load_image(vm, img.data, img.len), KILN_ERR_LOAD);
    cr_assert_str_eq(kiln_error(vm), "invalid image: checksum mismatch at offset 16");
    img.data[img.len - 1] ^= 0x40;
    img.len -= 4;
    cr_assert_eq(kiln_load_image(vm, img.data, img.len), KILN_ERR_LOAD);
    cr_assert(strncmp(kiln_error(vm), "invalid image: ", 15) == 0, "%s", kiln_error(vm));
    img.len += 4;
    /* after failed loads the VM is still empty */
    cr_assert_eq(kiln_run(vm), KILN_ERR_API);
    cr_assert_eq(kiln_load_image(vm, img.data, img.len), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(kiln_error(vm), "");
    vm_buf_free(&img);
    kiln_free(vm);
}

Test(api, no_checksum_flag)
{
    vm_buf img;
    unit_compile("p.kn", "print(\"hello\")\n", &img);
    img.data[20] ^= 1; /* the checksum field itself */
    kiln_vm *vm = kiln_new(NULL);
    cr_assert_eq(kiln_load_image(vm, img.data, img.len), KILN_ERR_LOAD);
    kiln_free(vm);

    unit_out o;
    vm = unit_vm_with(&o, KILN_FLAG_NO_CHECKSUM, 0);
    cr_assert_eq(kiln_load_image(vm, img.data, img.len), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK);
    cr_assert_str_eq(unit_text(&o.out), "hello\n");
    kiln_free(vm);
    unit_out_free(&o);
    vm_buf_free(&img);
}

Test(api, verification_error_through_the_api)
{
    vm_buf img;
    unit_compile("p.kn", "fn f(a: int) -> int { return a }\nprint(1)\n", &img);
    vm_image im;
    char err[256];
    cr_assert(vm_image_read((const uint8_t *)img.data, img.len, true, &im, err, sizeof err), "%s",
              err);
    im.funcs[unit_func(&im, "f")].types[0] =
        VM_T_FLOAT; /* f's parameter, returned as its int result */
    vm_buf bad = {0};
    cr_assert(vm_image_write(&im, &bad));
    kiln_vm *vm = kiln_new(NULL);
    cr_assert_eq(kiln_load_image(vm, bad.data, bad.len), KILN_ERR_LOAD);
    cr_assert_str_eq(
        kiln_error(vm),
        "invalid image: operand A register 0 is float, cannot be stored as int at f:0");
    kiln_free(vm);
    vm_buf_free(&bad);
    vm_image_free(&im);
    vm_buf_free(&img);
}

Test(api, load_file)
{
    char dir[] = "/tmp/kiln-unit-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char src_path[256], img_path[256], bad_path[256];
    snprintf(src_path, sizeof src_path, "%s/a.kn", dir);
    snprintf(img_path, sizeof img_path, "%s/a.kbc", dir);
    snprintf(bad_path, sizeof bad_path, "%s/bad.kbc", dir);
    FILE *fp = fopen(src_path, "wb");
    cr_assert_not_null(fp);
    fputs("print(\"from file\")\n", fp);
    fclose(fp);

    unit_out o;
    kiln_vm *vm = unit_vm(&o);
    cr_assert_eq(kiln_load_file(vm, src_path), KILN_OK, "%s", kiln_error(vm));
    const void *bytes;
    size_t len;
    cr_assert_eq(kiln_image(vm, &bytes, &len), KILN_OK);
    fp = fopen(img_path, "wb");
    cr_assert_not_null(fp);
    fwrite(bytes, 1, len, fp);
    fclose(fp);
    fp = fopen(bad_path, "wb");
    cr_assert_not_null(fp);
    fwrite(bytes, 1, 30, fp); /* the header and a piece of STRS */
    fclose(fp);
    kiln_free(vm);
    unit_out_free(&o);

    vm = unit_vm(&o);
    cr_assert_eq(kiln_load_file(vm, img_path), KILN_OK, "an image, by its magic: %s",
                 kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK);
    cr_assert_str_eq(unit_text(&o.out), "from file\n");
    kiln_free(vm);
    unit_out_free(&o);

    vm = kiln_new(NULL);
    cr_assert_eq(kiln_load_file(vm, bad_path), KILN_ERR_LOAD);
    char want[512];
    snprintf(want, sizeof want, "%s: invalid image: ", bad_path);
    cr_assert(strncmp(kiln_error(vm), want, strlen(want)) == 0, "the error names the file: %s",
              kiln_error(vm));
    kiln_free(vm);

    vm = kiln_new(NULL);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.kn", dir);
    cr_assert_eq(kiln_load_file(vm, missing), KILN_ERR_LOAD);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", missing);
    cr_assert_str_eq(kiln_error(vm), want);
    kiln_free(vm);

    unlink(src_path);
    unlink(img_path);
    unlink(bad_path);
    rmdir(dir);
}

Test(api, misuse)
{
    kiln_vm *vm = kiln_new(NULL);
    cr_assert_not_null(vm);
    const void *bytes;
    size_t len;
    const char *text;
    cr_assert_eq(kiln_run(vm), KILN_ERR_API);
    cr_assert_str_eq(kiln_error(vm), "kiln_run: no program loaded");
    cr_assert_eq(kiln_image(vm, &bytes, &len), KILN_ERR_API);
    cr_assert_str_eq(kiln_error(vm), "kiln_image: no program loaded");
    cr_assert_eq(kiln_disassemble(vm, &text), KILN_ERR_API);
    cr_assert_str_eq(kiln_error(vm), "kiln_disassemble: no program loaded");
    cr_assert_eq(kiln_image(vm, NULL, &len), KILN_ERR_API);
    cr_assert_eq(kiln_disassemble(vm, NULL), KILN_ERR_API);
    cr_assert_eq(kiln_load_source(vm, "x.kn", NULL, 3), KILN_ERR_API);
    cr_assert_str_eq(kiln_error(vm), "kiln_load_source: NULL source");
    cr_assert_eq(kiln_load_image(vm, NULL, 3), KILN_ERR_API);
    cr_assert_str_eq(kiln_error(vm), "kiln_load_image: NULL bytes");
    cr_assert_eq(kiln_load_file(vm, NULL), KILN_ERR_API);
    cr_assert_str_eq(kiln_error(vm), "kiln_load_file: NULL path");

    /* one program per VM */
    cr_assert_eq(load(vm, "a.kn", "print(1)\n"), KILN_OK);
    cr_assert_eq(load(vm, "b.kn", "print(2)\n"), KILN_ERR_API);
    cr_assert_str_eq(kiln_error(vm), "kiln_load: this VM already has a program");
    cr_assert_eq(kiln_image(vm, &bytes, &len), KILN_OK);
    cr_assert_eq(kiln_load_image(vm, bytes, len), KILN_ERR_API);
    cr_assert_str_eq(kiln_error(vm), "kiln_load: this VM already has a program");
    kiln_free(vm);
}

Test(api, null_vm)
{
    const void *bytes;
    size_t len;
    const char *text;
    cr_assert_eq(kiln_load_source(NULL, "x.kn", "print(1)", 8), KILN_ERR_API);
    cr_assert_eq(kiln_load_image(NULL, "", 0), KILN_ERR_API);
    cr_assert_eq(kiln_load_file(NULL, "x.kn"), KILN_ERR_API);
    cr_assert_eq(kiln_run(NULL), KILN_ERR_API);
    cr_assert_eq(kiln_image(NULL, &bytes, &len), KILN_ERR_API);
    cr_assert_eq(kiln_disassemble(NULL, &text), KILN_ERR_API);
    cr_assert_str_eq(kiln_error(NULL), "kiln: no VM (NULL)");
    kiln_free(NULL); /* ignored */
}
