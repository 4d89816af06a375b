/*
 * config.h — every build switch and limit of Kiln, with its default and why.
 *
 * This is the one place to look for a number that bounds the VM. Other files
 * include it rather than defining their own limits.
 */
#ifndef KILN_CONFIG_H
#define KILN_CONFIG_H

#define KILN_VERSION "0.1.0"

/* Computed-goto dispatch (GCC/Clang "labels as values") is ~15-25% faster
 * than a switch on x86-64 because each handler gets its own indirect branch.
 * Define KILN_NO_COMPUTED_GOTO to force the portable switch. */
#if !defined(KILN_NO_COMPUTED_GOTO) && (defined(__GNUC__) || defined(__clang__))
#define KILN_COMPUTED_GOTO 1
#else
#define KILN_COMPUTED_GOTO 0
#endif

/* KILN_GC_MALLOC: allocate objects with plain malloc and keep them on a list
 * instead of a per-VM mimalloc heap, so AddressSanitizer and Valgrind see
 * every object. `make asan` builds with it. */

/* The collector runs when the heap has grown by KILN_GC_GROWTH percent
 * of what survived the last collection (Lua's default pause is 200%, Go's
 * GOGC 100%), and never for less than KILN_GC_MIN_HEAP new bytes, so that
 * small programs do not collect at all. */
#define KILN_GC_GROWTH 100
#define KILN_GC_MIN_HEAP (1u << 20)

/* Slots (64-bit) in a VM's frame stack: 1 Mi slots = 8 MiB. A frame of fib
 * uses ~8 slots, so recursion depth reaches ~100,000 before
 * StackOverflowError, deeper than Lua's default C-stack-bound limit
 * (LUAI_MAXCCALLS 200) for the same program, and still cheap to reserve. */
#define KILN_STACK_SLOTS (1u << 20)

/* Entries of the root stack (vm_root_push): C code holds a few objects
 * at a time (a map's growth the most: the map and four buffers), nested
 * at most KILN_MAX_REENTRY deep, so 64 Ki entries (512 KiB) are never
 * reached by correct code; pushes without pops in a loop stop there with
 * an OutOfMemoryError instead of taking all memory. */
#define KILN_MAX_ROOTS (1u << 16)

/* Frames printed in a stack trace before eliding the middle: a stack
 * overflow would otherwise print 100,000 lines. */
#define KILN_TRACE_HEAD 12
#define KILN_TRACE_TAIL 8

/* Registers per function: operands A, B, C are 8 bits wide (the instruction
 * encoding of vm/opcodes.h), so a function addresses at most 256 registers. */
#define KILN_MAX_REGS 256

/* Parameters per function: arguments are copied from consecutive caller
 * registers, so this must stay below KILN_MAX_REGS. */
#define KILN_MAX_PARAMS 64
/* Variables one function literal may capture (vm_func.ncaps is 8 bits,
 * and captures take registers). */
#define KILN_MAX_CAPTURES 128
/* Natives calling back into the guest (kiln_call), nested. */
#define KILN_MAX_REENTRY 32

/* Image format version; bumped whenever the layout of an image changes, so
 * an old kiln refuses a newer image with a clear message. */
#define KILN_IMAGE_VERSION 8

/* Upper bound of any count read from an image (strings, functions, code
 * words...): a corrupt count must not make the loader reserve gigabytes. */
#define KILN_IMAGE_MAX_COUNT (1u << 24)

/* Diagnostics kept per compilation; after that the compiler stops, since
 * later errors are mostly knock-on effects of earlier ones. */
#define KILN_MAX_DIAGS 20

/* Depth of the syntax tree the compiler accepts: brackets, blocks, each
 * operator of a chain (a + b + ... is as deep as it is long), else-if
 * chains, call/index chains. The parser, checker and emitter recurse once
 * per level, a few hundred bytes of C stack each, so 1000 levels need well
 * under 1 MiB: safe on a host thread with a small stack, and far beyond
 * what hand-written code reaches. */
#define KILN_MAX_NESTING 1000
#define KILN_STR_(x) #x
#define KILN_STR(x) KILN_STR_(x)

/* Bytes of an error message kept by the VM (message plus stack trace). */
#define KILN_ERRBUF 8192

#endif
