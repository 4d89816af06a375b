/*
 * opcodes.h — the one table of Kiln's bytecode instructions.
 *
 * Each row is OP(NAME, FORMAT, A, B, C, X, "semantics"). The file is an
 * X-macro: whoever includes it defines OP first. The enum, the names, the
 * operand formats, the verifier's operand rules, the disassembler and the
 * interpreter's goto table are all expanded from this list, so there is
 * never a second list to keep in sync.
 *
 * An instruction is one 32-bit word: opcode in bits 0-7, then
 *   ABC    A (8) B (8) C (8)
 *   ABx    A (8) Bx (16, unsigned)
 *   AsBx   A (8) sBx (16, signed)
 *   sJ     sJ (24, signed): a jump offset
 * and the two-word formats add a second 32-bit word X:
 *   ABCX   A B C as above, X
 *   AsBxX  A sBx as above, X
 * Jump offsets (sJ, or X of a branch) count words from the start of the
 * next instruction.
 *
 * Operand roles (what the verifier checks of A, B, C and X):
 *   __  unused (must be 0)          IM  immediate, any value
 *   RI  int register                IB  immediate 0 or 1
 *   RF  float register              JO  jump offset to an instruction start
 *   RB  bool register               KA  constant index of A's type
 *   RS  str register                GA  global index of A's type
 *   RR  any reference register      FN  function index (call: A result, B args)
 *   RO  register of a class type    SL  vtable slot of B's class (call: A result, B args)
 *   CA  class index, A has its type CL  class index
 *   FG  field of B's class, readable into A   FS  field of B's class, A storable in it
 *   GR  global readable into A      GW  global A can be stored in
 *   RA  any register                NT  native index  (call: A result, B args)
 *   RM  register the previous operand's value may be stored in (MOV)
 *   RT  register whose value the function may return
 *   RD  call result register        AR  first of the call's argument registers
 *   RV  0, in a function without result
 *   KF  index of a float constant
 *   RY  register of an array type   AT  array type id, A has it
 *   EG  int index; B's array's element type is readable into A (AGET)
 *   EP  0; B's array's element type is readable into A (APOP)
 *   ES  int index; A is storable as an element of B's array (ASET)
 *   EV  B is storable as an element of A's array (APUSH, AFILL)
 *   RX  register of the class Error or a subclass: something to throw
 *   RP  register of a map type      MT  map type id, A has it
 *   KY  register of the key type of B's map
 *   MK  KY, and A can hold the map's value (MGET, MGETD)
 *   MW  KY, and A's value can be stored as the map's value (MSET)
 *   MV  register whose value can be stored as B's map's value (the default)
 *   KR / VR  A can hold the key / value type of B's map
 *   KS  A is the array type of B's map's keys
 *   RN  register of a function type
 *   CP  first capture register (checked with FC)
 *   FC  function index: its signature is A's type, its captures are
 *       storable from R[B], R[B+1], ... (FNEW)
 *   FV  register of a function type; the call passes R[B+1], ... and
 *       stores the result in A (CALLF)
 *   FT  the function type of B's register (CALLF: the signature, for a JIT)
 *   CE  register of a cell type      CV  storable in A's cell
 *   CG  cell whose value A can hold  CS  cell that can hold A's value
 *   PR  argument register of a packed call (checked with FP)
 *   FP  function index of a packed call: at most two parameters, passed
 *       from R[B] and R[C]; an operand past the last parameter is 0
 *   SV  vtable slot of B's class (checked with VP)
 *   VP  the other arguments of a packed method call: byte i of X is the
 *       register of argument i + 1 (at most 4); bytes past the last are 0
 * "Readable", "storable", "may": the types are equal, or the value's
 * class is a subclass of the expected one.
 */

/*  name      format  A   B   C   X   semantics */
OP(NOP,      ABC,   __, __, __, __, "do nothing")
OP(MOV,      ABC,   RA, RM, __, __, "R[A] = R[B]")
OP(LOADI,    AsBx,  RI, IM, __, __, "R[A] = sBx")
OP(LOADK,    ABx,   RA, KA, __, __, "R[A] = K[Bx]")
OP(LOADB,    ABC,   RB, IB, __, __, "R[A] = (bool)B")
OP(LOADNULL, ABC,   RR, __, __, __, "R[A] = null")
OP(GETG,     ABx,   RA, GR, __, __, "R[A] = G[Bx]")
OP(SETG,     ABx,   RA, GW, __, __, "G[Bx] = R[A]")

OP(ADD_I,    ABC,   RI, RI, RI, __, "R[A] = R[B] + R[C] (wrapping)")
OP(SUB_I,    ABC,   RI, RI, RI, __, "R[A] = R[B] - R[C] (wrapping)")
OP(MUL_I,    ABC,   RI, RI, RI, __, "R[A] = R[B] * R[C] (wrapping)")
OP(DIV_I,    ABC,   RI, RI, RI, __, "R[A] = R[B] / R[C], truncating; ArithmeticError if R[C] == 0")
OP(MOD_I,    ABC,   RI, RI, RI, __, "R[A] = R[B] % R[C], sign of R[B]; ArithmeticError if R[C] == 0")
OP(ADDI_I,   ABC,   RI, RI, IM, __, "R[A] = R[B] + (int8)C")
OP(BAND,     ABC,   RI, RI, RI, __, "R[A] = R[B] & R[C]")
OP(BOR,      ABC,   RI, RI, RI, __, "R[A] = R[B] | R[C]")
OP(BXOR,     ABC,   RI, RI, RI, __, "R[A] = R[B] ^ R[C]")
OP(SHL,      ABC,   RI, RI, RI, __, "R[A] = R[B] << (R[C] & 63)")
OP(SHR,      ABC,   RI, RI, RI, __, "R[A] = R[B] >> (R[C] & 63), arithmetic")
OP(NEG_I,    ABC,   RI, RI, __, __, "R[A] = -R[B] (wrapping)")
OP(BNOT,     ABC,   RI, RI, __, __, "R[A] = ~R[B]")

OP(ADD_F,    ABC,   RF, RF, RF, __, "R[A] = R[B] + R[C]")
OP(SUB_F,    ABC,   RF, RF, RF, __, "R[A] = R[B] - R[C]")
OP(MUL_F,    ABC,   RF, RF, RF, __, "R[A] = R[B] * R[C]")
OP(DIV_F,    ABC,   RF, RF, RF, __, "R[A] = R[B] / R[C] (IEEE)")
OP(MOD_F,    ABC,   RF, RF, RF, __, "R[A] = fmod(R[B], R[C])")
OP(ADDK_F,   ABC,   RF, RF, KF, __, "R[A] = R[B] + K[C]")
OP(SUBK_F,   ABC,   RF, RF, KF, __, "R[A] = R[B] - K[C]")
OP(MULK_F,   ABC,   RF, RF, KF, __, "R[A] = R[B] * K[C]")
OP(DIVK_F,   ABC,   RF, RF, KF, __, "R[A] = R[B] / K[C]")
OP(NEG_F,    ABC,   RF, RF, __, __, "R[A] = -R[B]")
OP(NOT,      ABC,   RB, RB, __, __, "R[A] = !R[B]")

OP(EQ_I,     ABC,   RB, RI, RI, __, "R[A] = R[B] == R[C]")
OP(NE_I,     ABC,   RB, RI, RI, __, "R[A] = R[B] != R[C]")
OP(LT_I,     ABC,   RB, RI, RI, __, "R[A] = R[B] < R[C]")
OP(LE_I,     ABC,   RB, RI, RI, __, "R[A] = R[B] <= R[C]")
OP(EQ_F,     ABC,   RB, RF, RF, __, "R[A] = R[B] == R[C]")
OP(NE_F,     ABC,   RB, RF, RF, __, "R[A] = R[B] != R[C]")
OP(LT_F,     ABC,   RB, RF, RF, __, "R[A] = R[B] < R[C]")
OP(LE_F,     ABC,   RB, RF, RF, __, "R[A] = R[B] <= R[C]")
OP(EQ_B,     ABC,   RB, RB, RB, __, "R[A] = R[B] == R[C]")
OP(NE_B,     ABC,   RB, RB, RB, __, "R[A] = R[B] != R[C]")
OP(EQ_S,     ABC,   RB, RS, RS, __, "R[A] = R[B] == R[C], bytewise; null equals only null")
OP(NE_S,     ABC,   RB, RS, RS, __, "R[A] = R[B] != R[C], bytewise")
OP(LT_S,     ABC,   RB, RS, RS, __, "R[A] = R[B] < R[C], bytewise; NullError on null")
OP(LE_S,     ABC,   RB, RS, RS, __, "R[A] = R[B] <= R[C], bytewise; NullError on null")
OP(EQ_R,     ABC,   RB, RR, RR, __, "R[A] = R[B] is R[C] (identity)")
OP(NE_R,     ABC,   RB, RR, RR, __, "R[A] = R[B] is not R[C] (identity)")

OP(I2F,      ABC,   RF, RI, __, __, "R[A] = (float)R[B]")
OP(F2I,      ABC,   RI, RF, __, __, "R[A] = trunc(R[B]); ArithmeticError if NaN or out of range")
OP(CONCAT,   ABC,   RS, RS, RS, __, "R[A] = R[B] + R[C]; NullError on null")
OP(STRLEN,   ABC,   RI, RS, __, __, "R[A] = byte length of R[B]; NullError on null")
OP(STRIDX,   ABC,   RI, RS, RI, __, "R[A] = byte R[C] of R[B]; IndexError, NullError")

OP(JMP,      sJ,    JO, __, __, __, "pc += sJ")
OP(JT,       ABCX,  RB, __, __, JO, "if R[A] then pc += X")
OP(JF,       ABCX,  RB, __, __, JO, "if not R[A] then pc += X")
OP(JLT_I,    ABCX,  RI, RI, __, JO, "if R[A] < R[B] then pc += X")
OP(JLE_I,    ABCX,  RI, RI, __, JO, "if R[A] <= R[B] then pc += X")
OP(JEQ_I,    ABCX,  RI, RI, __, JO, "if R[A] == R[B] then pc += X")
OP(JNE_I,    ABCX,  RI, RI, __, JO, "if R[A] != R[B] then pc += X")
OP(JLTK_I,   AsBxX, RI, IM, __, JO, "if R[A] < sBx then pc += X")
OP(JLEK_I,   AsBxX, RI, IM, __, JO, "if R[A] <= sBx then pc += X")
OP(JGTK_I,   AsBxX, RI, IM, __, JO, "if R[A] > sBx then pc += X")
OP(JGEK_I,   AsBxX, RI, IM, __, JO, "if R[A] >= sBx then pc += X")
OP(JEQK_I,   AsBxX, RI, IM, __, JO, "if R[A] == sBx then pc += X")
OP(JNEK_I,   AsBxX, RI, IM, __, JO, "if R[A] != sBx then pc += X")
OP(JLT_F,    ABCX,  RF, RF, __, JO, "if R[A] < R[B] then pc += X")
OP(JLE_F,    ABCX,  RF, RF, __, JO, "if R[A] <= R[B] then pc += X")
OP(JEQ_F,    ABCX,  RF, RF, __, JO, "if R[A] == R[B] then pc += X")
OP(JNE_F,    ABCX,  RF, RF, __, JO, "if R[A] != R[B] then pc += X")
OP(JNLT_F,   ABCX,  RF, RF, __, JO, "if not (R[A] < R[B]) then pc += X (true for NaN)")
OP(JNLE_F,   ABCX,  RF, RF, __, JO, "if not (R[A] <= R[B]) then pc += X (true for NaN)")
OP(JLTK_F,   ABCX,  RF, KF, IB, JO, "if (R[A] < K[B]) != C then pc += X (C = 1: jump when not <, so also for NaN)")
OP(JLEK_F,   ABCX,  RF, KF, IB, JO, "if (R[A] <= K[B]) != C then pc += X")
OP(JGTK_F,   ABCX,  RF, KF, IB, JO, "if (R[A] > K[B]) != C then pc += X")
OP(JGEK_F,   ABCX,  RF, KF, IB, JO, "if (R[A] >= K[B]) != C then pc += X")
OP(JEQK_F,   ABCX,  RF, KF, IB, JO, "if (R[A] == K[B]) != C then pc += X")
OP(FORLT,    ABCX,  RI, RI, __, JO, "R[A] += 1; if R[A] < R[B] then pc += X")
OP(FORLE,    ABCX,  RI, RI, __, JO, "if R[A] < R[B] then R[A] += 1, pc += X")

OP(JNULL,    ABCX,  RR, __, __, JO, "if R[A] is null then pc += X")
OP(JNNULL,   ABCX,  RR, __, __, JO, "if R[A] is not null then pc += X")
OP(JEQ_R,    ABCX,  RR, RR, __, JO, "if R[A] is R[B] (identity) then pc += X")
OP(JNE_R,    ABCX,  RR, RR, __, JO, "if R[A] is not R[B] (identity) then pc += X")

OP(NEW,      ABx,   RR, CA, __, __, "R[A] = a new instance of class Bx, fields zero")
OP(GETF,     ABC,   RA, RO, FG, __, "R[A] = R[B].field[C]; NullError if R[B] is null")
OP(SETF,     ABC,   RA, RO, FS, __, "R[B].field[C] = R[A]; NullError if R[B] is null")
OP(IS,       ABCX,  RB, RO, __, CL, "R[A] = R[B] is an instance of class X or a subclass")
OP(AS,       ABCX,  RR, RO, __, CA, "R[A] = R[B] if null or an X; else CastError")

OP(NEWA,     ABCX,  RY, RI, __, AT, "R[A] = new array of type X, R[B] zero elements; ValueError if R[B] < 0")
OP(APUSH,    ABC,   RY, EV, __, __, "R[A].push(R[B]); NullError")
OP(AFILL,    ABC,   RY, EV, __, __, "every element of R[A] = R[B]")
OP(AGET,     ABC,   RA, RY, EG, __, "R[A] = R[B][R[C]]; NullError, IndexError")
OP(ASET,     ABC,   RA, RY, ES, __, "R[B][R[C]] = R[A]; NullError, IndexError")
OP(ALEN,     ABC,   RI, RY, __, __, "R[A] = length of R[B]; NullError")
OP(APOP,     ABC,   RA, RY, EP, __, "R[A] = R[B].pop(); NullError, IndexError when empty")
OP(ASLICE,   ABCX,  RY, RM, RI, RI, "R[A] = copy of R[B][R[C] .. R[X]]; NullError, IndexError")

OP(NEWM,     ABCX,  RP, __, __, MT, "R[A] = new empty map of type X")
OP(MGET,     ABC,   RA, RP, MK, __, "R[A] = R[B][R[C]]; KeyError if absent, NullError")
OP(MGETD,    ABCX,  RA, RP, MK, MV, "R[A] = R[B][R[C]] if present, else R[X]; NullError")
OP(MSET,     ABC,   RA, RP, MW, __, "R[B][R[C]] = R[A]; NullError")
OP(MHAS,     ABC,   RB, RP, KY, __, "R[A] = R[B] has the key R[C]; NullError")
OP(MDEL,     ABC,   __, RP, KY, __, "remove the key R[C] from R[B] (absent: nothing); NullError")
OP(MLEN,     ABC,   RI, RP, __, __, "R[A] = number of entries of R[B]; NullError")
OP(MKEYS,    ABC,   KS, RP, __, __, "R[A] = a new array of R[B]'s keys in order; NullError")
OP(MNEXT,    ABC,   RB, RP, RI, __, "R[C] = first live entry of R[B] at or after R[C]; R[A] = found")
OP(MKEYAT,   ABC,   KR, RP, RI, __, "R[A] = key of entry R[C] of R[B] (after MNEXT)")
OP(MVALAT,   ABC,   VR, RP, RI, __, "R[A] = value of entry R[C] of R[B] (after MNEXT)")

OP(FNEW,     ABCX,  RN, CP, __, FC, "R[A] = function value of F[X] capturing R[B], R[B+1], ...")
OP(NEWCELL,  ABC,   CE, CV, __, __, "R[A] = a new cell holding R[B]")
OP(GETCELL,  ABC,   RA, CG, __, __, "R[A] = the value in cell R[B]")
OP(SETCELL,  ABC,   RA, CS, __, __, "the value in cell R[B] = R[A]")

OP(CALL,     ABCX,  RD, AR, __, FN, "R[A] = F[X](R[B], R[B+1], ...)")
OP(CALLF,    ABCX,  RD, FV, __, FT, "R[A] = R[B](R[B+1], R[B+2], ...); NullError if R[B] is null")
OP(CALLV,    ABCX,  RD, AR, __, SL, "R[A] = (R[B].vtable[X])(R[B], R[B+1], ...); NullError")
OP(CALLP,    ABCX,  RD, PR, PR, FP, "R[A] = F[X](R[B], R[C]): arguments from any registers, 2 at most")
OP(CALLVP,   ABCX,  RD, RO, SV, VP, "R[A] = (R[B].vtable[C])(R[B], R[X.0], R[X.1], ...): X's bytes; NullError")
OP(CALLN,    ABCX,  RD, AR, __, NT, "R[A] = native N[X](R[B], R[B+1], ...)")
OP(RET,      ABC,   RT, __, __, __, "return R[A]")
OP(RET0,     ABC,   RV, __, __, __, "return (function without result)")
OP(THROW,    ABC,   RX, __, __, __, "throw R[A]: to the innermost matching catch; NullError if null")
OP(TRAP,     ABC,   __, __, __, __, "unreachable: raises an internal error")
