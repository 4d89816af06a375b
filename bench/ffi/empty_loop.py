# Baseline of abs_loop.py: the same loop calling a Python function in place
# of libc's abs; prints the same sum. ctypes and libc are loaded here too,
# so that the two programs differ only in the calls. N: the first argument
# (default 10000000).
import ctypes
import sys

libc = ctypes.CDLL("libc.so.6")
c_abs = libc.abs
c_abs.argtypes = [ctypes.c_int]
c_abs.restype = ctypes.c_int


def myabs(x):
    if x < 0:
        return -x
    return x


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000000
    f = myabs
    s = 0
    i = 0
    while i < n:
        s += f(i - 5)
        i += 1
    print(s)


main()
