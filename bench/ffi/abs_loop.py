# FFI call overhead: N calls of libc's abs through ctypes, the loop of
# abs_loop.kn; prints the same sum. N: the first argument (default
# 10000000; make bench passes a smaller one).
import ctypes
import sys

libc = ctypes.CDLL("libc.so.6")
c_abs = libc.abs
c_abs.argtypes = [ctypes.c_int]
c_abs.restype = ctypes.c_int


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000000
    f = c_abs  # a local: no global lookup per call
    s = 0
    i = 0
    while i < n:
        s += f(i - 5)
        i += 1
    print(s)


main()
