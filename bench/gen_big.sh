#!/usr/bin/env bash
# gen_big.sh N — prints a generated Kiln program of about N lines (default
# 10,000): many functions with locals, arithmetic, branches, loops, string
# interpolation and calls, for measuring compile speed (`kiln build`).
set -eu
n=${1:-10000}
funcs=$((n / 20))
for ((f = 0; f < funcs; f++)); do
    cat <<KN
fn f$f(a: int, b: float, s: str) -> int {
    var total = a * $f + 7
    let scale = b * 1.5 + float($f)
    for i in 0..a {
        if i % 3 == 0 && total > 100 {
            total -= i
        } else if i % 5 == 1 {
            total += i << 2
        } else {
            total = total ^ (i * 31)
        }
    }
    while total > 1000 { total = total / 2 }
    let msg = "f$f: \${total} \${scale} \${s.len()}"
    if msg.starts_with("f") && scale > 0.0 {
        total += msg.len()
    }
    return total + int(scale)
}

KN
done
echo "var acc = 0"
for ((f = 0; f < funcs; f++)); do
    echo "acc += f$f($((f % 17)), 0.5, \"x$f\")"
done
echo 'print(acc)'
