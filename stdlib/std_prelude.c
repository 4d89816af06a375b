/*
 * std_prelude.c — the Kiln source compiled in front of every program: the
 * built-in error classes of docs/language.md. The runtime finds them by name
 * when it turns a fault (division by zero, a bad index...) into a guest
 * error, so their names and the field `message` (field 0) are fixed.
 */
#include "std.h"

const char std_prelude[] = "class Error {\n"
                           "    message: str\n"
                           "    fn init(message: str) { self.message = message }\n"
                           "}\n"
                           "class NullError : Error {}\n"
                           "class IndexError : Error {}\n"
                           "class KeyError : Error {}\n"
                           "class ArithmeticError : Error {}\n"
                           "class CastError : Error {}\n"
                           "class ValueError : Error {}\n"
                           "class StackOverflowError : Error {}\n"
                           "class OutOfMemoryError : Error {}\n"
                           "class IOError : Error {}\n"
                           "class PermissionError : Error {}\n";
