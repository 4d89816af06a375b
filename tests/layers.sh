#!/usr/bin/env bash
# tests/layers.sh — checks that no source file includes a header of a layer
# above its own (docs/architecture.md, "Layers"). Prints one line per
# violation and exits 1 if there is any; silent and 0 otherwise.
#
# Layers, bottom up: the image layer (vm/image.h and its .c files), the
# compiler (sees the image layer only), the collector (sees nothing of the
# VM), the VM state (vm/vm.h, vm/frame.h, runtime/, stdlib/), execution
# (interp/, jit/), and the API and CLI on top (vm/kiln.h, vm/api.h, vm_core.c,
# vm_embed.c, vm_values.c, main.c).
set -u
cd "$(dirname "$0")/.."
bad=0

# check FILE ALLOWED...: every `#include "..."` of FILE, resolved against
# FILE's folder, must be one of ALLOWED (paths from the repository root).
declare -A placed
check() {
    local file=$1; shift
    placed[$file]=1
    local dir inc path
    dir=$(dirname "$file")
    while read -r inc; do
        path=$(realpath -m --relative-to=. "$dir/$inc")
        if [[ " $* " != *" $path "* ]]; then
            echo "layers: $file includes $path, above its layer"
            bad=1
        fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
}

IMAGE="vm/config.h vm/image.h vm/opcodes.h vm/roles.h vm/vm_live.h"
GC="gc/gc.h gc/pages.h vm/config.h"
VMSTATE="$IMAGE $GC vm/vm.h vm/frame.h runtime/rt.h stdlib/std.h"
EXEC="$VMSTATE interp/interp.h interp/ops.h jit/jit.h jit/jit_int.h jit/x64.h"

for f in vm/config.h vm/opcodes.h vm/roles.h vm/image.h vm/vm_image.c vm/vm_verify.c vm/vm_bytecode.c \
         vm/vm_live.h vm/vm_live.c vm/vm_fmt.c; do
    check "$f" $IMAGE
done
for f in compiler/*.c compiler/*.h; do check "$f" $IMAGE compiler/comp.h; done
for f in gc/*.c gc/*.h; do check "$f" $GC; done
for f in vm/vm.h vm/frame.h vm/vm_obj.c vm/vm_map.c vm/vm_ctx.c vm/vm_gc.c \
         runtime/*.c runtime/*.h stdlib/*.c stdlib/*.h; do
    check "$f" $VMSTATE
done
for f in interp/*.c interp/*.h jit/*.c jit/*.h; do check "$f" $EXEC; done

# Every source file of these folders belongs to a layer: a new file must be
# placed in one of the lists above, or be part of the API (on top).
for f in vm/*.c vm/*.h compiler/* gc/* runtime/* stdlib/* interp/* jit/*; do
    case $f in
    vm/kiln.h | vm/api.h | vm/vm_core.c | vm/vm_embed.c | vm/vm_values.c | vm/main.c) ;;
    *) [ -n "${placed[$f]:-}" ] || { echo "layers: $f is in no layer (tests/layers.sh)"; bad=1; } ;;
    esac
done
exit $bad
