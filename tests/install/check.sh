#!/usr/bin/env bash
# tests/install/check.sh — libkiln as an application gets it, from run.sh's
# cli section (make test; not make asan):
#   - build/libkiln.so exports exactly the KILN_API functions of vm/kiln.h
#     (nothing that does not start with kiln_) and has the soname;
#   - `make install PREFIX=tmp` installs the binary, both libraries with
#     their symlinks, kiln.h and kiln.pc;
#   - tests/install/app.c, copied outside the tree, builds with
#     `pkg-config --cflags --libs kiln` (shared, run with LD_LIBRARY_PATH)
#     and with `pkg-config --static` against libkiln.a, and both print
#     app.out;
#   - `make install DESTDIR=...` stages under DESTDIR with the .pc naming
#     the real PREFIX, and `make uninstall` removes every installed file.
# Prints one line per check: "ok WHAT" or "FAIL WHAT: why". Run from the
# root of the tree with BUILD (default build), MAKE and CC set as make does.
set -u
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
CC=${CC:-cc}
ok() { printf 'ok %s\n' "$1"; }
bad() { printf 'FAIL %s\n' "$(tr '\n' ' ' <<<"$*")"; }
# The install runs a make of its own: not part of the calling make's job server.
unset MAKEFLAGS MFLAGS MAKELEVEL
mk() { "$MAKE" -s --no-print-directory BUILD="$BUILD" CC="$CC" "$@"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-install.XXXXXX") || { bad "mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
version=$(sed -n 's/^#define KILN_VERSION "\(.*\)".*/\1/p' vm/config.h)

# ---- exported symbols ----
so=$BUILD/libkiln.so
want=$(grep '^KILN_API' vm/kiln.h | grep -o 'kiln_[a-z_0-9]*(' | sed -n 's/($//p' | sort -u)
got=$(nm -D --defined-only "$so" 2>"$tmp/nm.err" | awk '{print $NF}' | sort -u)
if [ -z "$got" ]; then
    bad "exports: nm -D $so listed nothing: $(head -c 200 "$tmp/nm.err")"
elif extra=$(grep -v '^kiln_' <<<"$got"); [ -n "$extra" ]; then
    bad "exports: $so exports symbols outside kiln_:" $extra
elif [ "$got" != "$want" ]; then
    bad "exports: $so exports" $got "; vm/kiln.h declares" $want
else
    ok "exports: $(wc -l <<<"$got") kiln_ symbols, as declared in vm/kiln.h"
fi
# The installed static library: only the kiln_ functions are global (a
# host's own gc_alloc, as app.c has, must not clash with Kiln's).
a=$BUILD/pub/libkiln.a
glob=$(nm -g --defined-only "$a" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u)
if [ -z "$glob" ]; then
    bad "static exports: nm $a listed nothing"
elif extra=$(grep -v '^kiln_' <<<"$glob"); [ -n "$extra" ]; then
    bad "static exports: $a defines globals outside kiln_:" $(head -n 10 <<<"$extra")
else
    ok "static exports: $a defines only $(wc -l <<<"$glob") kiln_ globals"
fi
soname=$(readelf -d "$so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
case "$soname" in
libkiln.so.[0-9]*) ok "soname $soname" ;;
*) bad "soname: '$soname'" ;;
esac

# ---- make install PREFIX= ----
prefix=$tmp/prefix
if ! mk install PREFIX="$prefix" >"$tmp/install.log" 2>&1; then
    bad "make install PREFIX=$prefix: $(tail -n 5 "$tmp/install.log")"
    exit 1
fi
missing=""
for f in bin/kiln lib/libkiln.a "lib/libkiln.so.$version" "lib/$soname" lib/libkiln.so \
    include/kiln.h lib/pkgconfig/kiln.pc; do
    [ -e "$prefix/$f" ] || missing="$missing $f"
done
[ -L "$prefix/lib/libkiln.so" ] && [ -L "$prefix/lib/$soname" ] || missing="$missing (symlinks)"
if [ -n "$missing" ]; then bad "install tree lacks:$missing"; else ok "install tree"; fi
"$prefix/bin/kiln" --version | grep -qF "kiln $version" && ok "installed kiln runs" ||
    bad "installed kiln --version"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
pcv=$(pkg-config --modversion kiln 2>&1)
[ "$pcv" = "$version" ] && ok "pkg-config version $pcv" || bad "pkg-config --modversion: $pcv"

# ---- the application, outside the tree ----
mkdir -p "$tmp/app"
cp tests/install/app.c "$tmp/app/"
sed "s/@VERSION@/$version/" tests/install/app.out >"$tmp/app/expected"
cd "$tmp/app" || exit 1
cflags=$(pkg-config --cflags kiln)
app() { # app NAME ENV...: runs ./NAME, compares with expected
    local name=$1
    shift
    env "$@" "./$name" >"$name.out" 2>"$name.err"
    local st=$?
    if [ "$st" != 0 ]; then
        bad "$name: exit $st: $(head -c 300 "$name.err")"
    elif ! cmp -s "$name.out" expected; then
        bad "$name: output differs:" "$(diff expected "$name.out" | head -10)"
    else
        ok "$name prints the guest output"
    fi
}
# shellcheck disable=SC2086 # the flags are words
if "$CC" -std=c99 -Wall -Wextra -Werror -pedantic $cflags -o app-shared app.c \
    $(pkg-config --libs kiln) >build.log 2>&1; then
    if readelf -d app-shared | grep -q "NEEDED.*\[$soname\]"; then
        app app-shared LD_LIBRARY_PATH="$prefix/lib"
    else
        bad "app-shared does not need $soname: $(readelf -d app-shared | grep NEEDED)"
    fi
else
    bad "app-shared: cc failed: $(head -c 500 build.log)"
fi
# --static names -lkiln too, and the linker prefers the .so beside the .a:
# -l:libkiln.a picks the archive, the rest of the flags are pkg-config's.
static_libs=$(pkg-config --static --libs kiln)
# shellcheck disable=SC2086
if "$CC" -std=c99 -Wall -Wextra -Werror -pedantic $cflags -o app-static app.c \
    ${static_libs/-lkiln/-l:libkiln.a} >build.log 2>&1; then
    if readelf -d app-static | grep -q 'NEEDED.*libkiln'; then
        bad "app-static needs a libkiln.so"
    else
        app app-static LD_LIBRARY_PATH=
    fi
else
    bad "app-static: cc failed: $(head -c 500 build.log)"
fi
cd - >/dev/null || exit 1

# ---- DESTDIR, uninstall ----
stage=$tmp/stage
if mk install DESTDIR="$stage" PREFIX=/opt/kiln >"$tmp/stage.log" 2>&1 &&
    grep -qx 'prefix=/opt/kiln' "$stage/opt/kiln/lib/pkgconfig/kiln.pc" &&
    [ -x "$stage/opt/kiln/bin/kiln" ]; then
    ok "make install DESTDIR= PREFIX=/opt/kiln"
else
    bad "make install DESTDIR=$stage PREFIX=/opt/kiln: $(tail -n 5 "$tmp/stage.log")"
fi
mk uninstall DESTDIR="$stage" PREFIX=/opt/kiln >>"$tmp/stage.log" 2>&1
left=$(find "$stage" ! -type d)
[ -z "$left" ] && ok "make uninstall" || bad "make uninstall left:" $left

# Leave $BUILD/kiln.pc made for the default PREFIX again.
mk "$BUILD/kiln.pc" >/dev/null 2>&1
