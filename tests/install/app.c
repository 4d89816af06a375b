/*
 * app.c — an application embedding Kiln as an installed library would:
 * only <kiln.h>, built with `pkg-config --cflags --libs kiln` (shared) or
 * `--static`. tests/install/check.sh builds it outside the tree and
 * compares its output with app.out.
 */
#include <kiln.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char text[256];
    size_t len;
    int streams; /* bit n set: stream n was written */
} capture;

static void capture_write(void *userdata, int stream, const char *bytes, size_t len)
{
    capture *c = userdata;
    c->streams |= 1 << stream;
    if (len > sizeof c->text - 1 - c->len)
        len = sizeof c->text - 1 - c->len;
    memcpy(c->text + c->len, bytes, len);
    c->len += len;
    c->text[c->len] = '\0';
}

/* Names libkiln uses inside: a host may have its own (the installed
 * libraries keep theirs local). */
int gc_alloc(void);
int gc_alloc(void)
{
    return 7;
}
int vm_poll(int x);
int vm_poll(int x)
{
    return x + 1;
}

int main(void)
{
    static const char src[] = "fn square(n: int) -> int { return n * n }\n"
                              "print(\"hello from kiln ${square(7)}\")\n";
    printf("version %s\n", kiln_version());

    /* Output captured by the write hook. */
    capture cap = {0};
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = capture_write;
    cfg.userdata = &cap;
    kiln_vm *vm = kiln_new(&cfg);
    if (!vm || kiln_load_source(vm, "app.kn", src, strlen(src)) != KILN_OK ||
        kiln_run(vm) != KILN_OK) {
        fprintf(stderr, "app: %s\n", vm ? kiln_error(vm) : "kiln_new failed");
        return 1;
    }
    kiln_free(vm);
    printf("captured on streams %d: %s", cap.streams, cap.text);

    /* Default configuration: the guest writes to our stdout. */
    fflush(stdout);
    vm = kiln_new(NULL);
    if (!vm || kiln_load_source(vm, "app.kn", src, strlen(src)) != KILN_OK ||
        kiln_run(vm) != KILN_OK) {
        fprintf(stderr, "app: %s\n", vm ? kiln_error(vm) : "kiln_new failed");
        return 1;
    }
    kiln_free(vm);

    /* A compile error comes back as a status and a text. */
    vm = kiln_new(NULL);
    kiln_status st = kiln_load_source(vm, "bad.kn", "let x: int = \"no\"\n", 18);
    printf("bad source: status %d, error names the file: %s\n", (int)st,
           strstr(kiln_error(vm), "bad.kn") ? "yes" : "no");
    kiln_free(vm);
    return gc_alloc() + vm_poll(0) == 8 ? 0 : 1; /* the host's own, not Kiln's */
}
