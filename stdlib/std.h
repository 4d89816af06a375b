/*
 * std.h — the standard library's natives, as one table the linker (vm/)
 * resolves image references against and the compiler type-checks calls
 * against. A native is found by its name and parameter types, so builtins
 * such as print and str have one entry per parameter type.
 */
#ifndef KILN_STD_H
#define KILN_STD_H

#include "../vm/vm.h"

extern const vm_native std_natives[];
extern const size_t std_natives_count;

#endif
