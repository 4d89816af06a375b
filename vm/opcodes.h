/*
 * opcodes.h — the one table of Kiln's bytecode instructions.
 *
 * Each row is OP(NAME, FORMAT, A, B, C, X, FLAGS, "semantics"). The file is
 * an X-macro: whoever includes it defines OP first. The enum, the names,
 * the operand formats, the operand roles, the flags, the verifier's operand
 * rules, the disassembler, the liveness analysis and the interpreter's goto
 * table are all expanded from this list, so there is never a second list to
 * keep in sync.
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
 * A, B, C and X each have a role, a two-letter name of roles.h that says
 * what the operand is (a register of some type, a constant index, a jump
 * offset, ...) and what the verifier checks of it; __ is unused (0).
 *
 * FLAGS (OPF_* of vm.h, or 0) say what the instruction may do, for the
 * verifier, the liveness analysis (vm_live.c), the collector and a JIT:
 *   OPF_CALL       calls a function (guest or native); the caller's frame
 *                  waits at this instruction until the callee returns
 *   OPF_BRANCH     has a jump target: a JO operand
 *   OPF_TERM       never falls through to the next instruction (JMP, RET,
 *                  RET0, THROW, TRAP): code must end in one
 *   OPF_ALLOC      allocates in the GC heap itself (not in a callee), so
 *                  may collect; the allocation may fail: OutOfMemoryError
 *   OPF_THROW      may raise: a guest error, a callee's error passing
 *                  through a call, or a limit stop at a poll. A catch
 *                  clause covering it may take over (an exception edge).
 *                  Raising allocates the error object, so every OPF_THROW
 *                  instruction may also collect, on its error path
 *   OPF_SAFEPOINT  may collect or poll the limits on its normal path: the
 *                  OPF_ALLOC ones, calls (a callee may allocate; a call
 *                  polls) and branches (a taken backward jump polls)
 *   OPF_SETA       writes register A and does not read it: a definition.
 *                  A call writes A only when the callee has a result (A is
 *                  0 otherwise, and R[0] keeps its value)
 *   OPF_RWA        reads register A and writes it (FORLT, FORLE)
 *   OPF_RWC        reads register C and writes it (MNEXT)
 * Every other register operand is only read, and so are the registers a
 * role names implicitly: a call's arguments R[B], R[B+1], ... (one per
 * parameter of the callee; CALLF's start at R[B+1]), CALLP's B and C and
 * CALLVP's X bytes (as many as the callee takes), FNEW's captures R[B],
 * ... (one per captured value), MGETD's and ASLICE's R[X]. A catch
 * clause writes its register when it takes an error.
 */

/*  name     format A   B   C   X   flags
       semantics */
/* A table: one row per opcode, its columns aligned. */
/* clang-format off */
OP(NOP,      ABC,   __, __, __, __, 0,
   "do nothing")
OP(MOV,      ABC,   RA, RM, __, __, OPF_SETA,
   "R[A] = R[B]")
OP(LOADI,    AsBx,  RI, IM, __, __, OPF_SETA,
   "R[A] = sBx")
OP(LOADK,    ABx,   RA, KA, __, __, OPF_SETA,
   "R[A] = K[Bx]")
OP(LOADB,    ABC,   RB, IB, __, __, OPF_SETA,
   "R[A] = (bool)B")
OP(LOADNULL, ABC,   RR, __, __, __, OPF_SETA,
   "R[A] = null")
OP(GETG,     ABx,   RA, GR, __, __, OPF_SETA,
   "R[A] = G[Bx]")
OP(SETG,     ABx,   RA, GW, __, __, 0,
   "G[Bx] = R[A]")

OP(ADD_I,    ABC,   RI, RI, RI, __, OPF_SETA,
   "R[A] = R[B] + R[C] (wrapping)")
OP(SUB_I,    ABC,   RI, RI, RI, __, OPF_SETA,
   "R[A] = R[B] - R[C] (wrapping)")
OP(MUL_I,    ABC,   RI, RI, RI, __, OPF_SETA,
   "R[A] = R[B] * R[C] (wrapping)")
OP(DIV_I,    ABC,   RI, RI, RI, __, OPF_SETA|OPF_THROW,
   "R[A] = R[B] / R[C], truncating; ArithmeticError if R[C] == 0")
OP(MOD_I,    ABC,   RI, RI, RI, __, OPF_SETA|OPF_THROW,
   "R[A] = R[B] % R[C], sign of R[B]; ArithmeticError if R[C] == 0")
OP(ADDI_I,   ABC,   RI, RI, IM, __, OPF_SETA,
   "R[A] = R[B] + (int8)C")
OP(BAND,     ABC,   RI, RI, RI, __, OPF_SETA,
   "R[A] = R[B] & R[C]")
OP(BOR,      ABC,   RI, RI, RI, __, OPF_SETA,
   "R[A] = R[B] | R[C]")
OP(BXOR,     ABC,   RI, RI, RI, __, OPF_SETA,
   "R[A] = R[B] ^ R[C]")
OP(SHL,      ABC,   RI, RI, RI, __, OPF_SETA,
   "R[A] = R[B] << (R[C] & 63)")
OP(SHR,      ABC,   RI, RI, RI, __, OPF_SETA,
   "R[A] = R[B] >> (R[C] & 63), arithmetic")
OP(NEG_I,    ABC,   RI, RI, __, __, OPF_SETA,
   "R[A] = -R[B] (wrapping)")
OP(BNOT,     ABC,   RI, RI, __, __, OPF_SETA,
   "R[A] = ~R[B]")

OP(ADD_F,    ABC,   RF, RF, RF, __, OPF_SETA,
   "R[A] = R[B] + R[C]")
OP(SUB_F,    ABC,   RF, RF, RF, __, OPF_SETA,
   "R[A] = R[B] - R[C]")
OP(MUL_F,    ABC,   RF, RF, RF, __, OPF_SETA,
   "R[A] = R[B] * R[C]")
OP(DIV_F,    ABC,   RF, RF, RF, __, OPF_SETA,
   "R[A] = R[B] / R[C] (IEEE)")
OP(MOD_F,    ABC,   RF, RF, RF, __, OPF_SETA,
   "R[A] = fmod(R[B], R[C])")
OP(ADDK_F,   ABC,   RF, RF, KF, __, OPF_SETA,
   "R[A] = R[B] + K[C]")
OP(SUBK_F,   ABC,   RF, RF, KF, __, OPF_SETA,
   "R[A] = R[B] - K[C]")
OP(MULK_F,   ABC,   RF, RF, KF, __, OPF_SETA,
   "R[A] = R[B] * K[C]")
OP(DIVK_F,   ABC,   RF, RF, KF, __, OPF_SETA,
   "R[A] = R[B] / K[C]")
OP(NEG_F,    ABC,   RF, RF, __, __, OPF_SETA,
   "R[A] = -R[B]")
OP(NOT,      ABC,   RB, RB, __, __, OPF_SETA,
   "R[A] = !R[B]")

OP(EQ_I,     ABC,   RB, RI, RI, __, OPF_SETA,
   "R[A] = R[B] == R[C]")
OP(NE_I,     ABC,   RB, RI, RI, __, OPF_SETA,
   "R[A] = R[B] != R[C]")
OP(LT_I,     ABC,   RB, RI, RI, __, OPF_SETA,
   "R[A] = R[B] < R[C]")
OP(LE_I,     ABC,   RB, RI, RI, __, OPF_SETA,
   "R[A] = R[B] <= R[C]")
OP(EQ_F,     ABC,   RB, RF, RF, __, OPF_SETA,
   "R[A] = R[B] == R[C]")
OP(NE_F,     ABC,   RB, RF, RF, __, OPF_SETA,
   "R[A] = R[B] != R[C]")
OP(LT_F,     ABC,   RB, RF, RF, __, OPF_SETA,
   "R[A] = R[B] < R[C]")
OP(LE_F,     ABC,   RB, RF, RF, __, OPF_SETA,
   "R[A] = R[B] <= R[C]")
OP(EQ_B,     ABC,   RB, RB, RB, __, OPF_SETA,
   "R[A] = R[B] == R[C]")
OP(NE_B,     ABC,   RB, RB, RB, __, OPF_SETA,
   "R[A] = R[B] != R[C]")
OP(EQ_S,     ABC,   RB, RS, RS, __, OPF_SETA,
   "R[A] = R[B] == R[C], bytewise; null equals only null")
OP(NE_S,     ABC,   RB, RS, RS, __, OPF_SETA,
   "R[A] = R[B] != R[C], bytewise")
OP(LT_S,     ABC,   RB, RS, RS, __, OPF_SETA|OPF_THROW,
   "R[A] = R[B] < R[C], bytewise; NullError on null")
OP(LE_S,     ABC,   RB, RS, RS, __, OPF_SETA|OPF_THROW,
   "R[A] = R[B] <= R[C], bytewise; NullError on null")
OP(EQ_R,     ABC,   RB, RR, RR, __, OPF_SETA,
   "R[A] = R[B] is R[C] (identity)")
OP(NE_R,     ABC,   RB, RR, RR, __, OPF_SETA,
   "R[A] = R[B] is not R[C] (identity)")

OP(I2F,      ABC,   RF, RI, __, __, OPF_SETA,
   "R[A] = (float)R[B]")
OP(F2I,      ABC,   RI, RF, __, __, OPF_SETA|OPF_THROW,
   "R[A] = trunc(R[B]); ArithmeticError if NaN or out of range")
OP(CONCAT,   ABC,   RS, RS, RS, __, OPF_SETA|OPF_ALLOC|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = R[B] + R[C]; NullError on null")
OP(STRLEN,   ABC,   RI, RS, __, __, OPF_SETA|OPF_THROW,
   "R[A] = byte length of R[B]; NullError on null")
OP(STRIDX,   ABC,   RI, RS, RI, __, OPF_SETA|OPF_THROW,
   "R[A] = byte R[C] of R[B]; IndexError, NullError")

OP(JMP,      sJ,    JO, __, __, __, OPF_BRANCH|OPF_TERM|OPF_THROW|OPF_SAFEPOINT,
   "pc += sJ")
OP(JT,       ABCX,  RB, __, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] then pc += X")
OP(JF,       ABCX,  RB, __, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if not R[A] then pc += X")
OP(JLT_I,    ABCX,  RI, RI, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] < R[B] then pc += X")
OP(JLE_I,    ABCX,  RI, RI, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] <= R[B] then pc += X")
OP(JEQ_I,    ABCX,  RI, RI, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] == R[B] then pc += X")
OP(JNE_I,    ABCX,  RI, RI, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] != R[B] then pc += X")
OP(JLTK_I,   AsBxX, RI, IM, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] < sBx then pc += X")
OP(JLEK_I,   AsBxX, RI, IM, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] <= sBx then pc += X")
OP(JGTK_I,   AsBxX, RI, IM, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] > sBx then pc += X")
OP(JGEK_I,   AsBxX, RI, IM, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] >= sBx then pc += X")
OP(JEQK_I,   AsBxX, RI, IM, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] == sBx then pc += X")
OP(JNEK_I,   AsBxX, RI, IM, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] != sBx then pc += X")
OP(JLT_F,    ABCX,  RF, RF, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] < R[B] then pc += X")
OP(JLE_F,    ABCX,  RF, RF, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] <= R[B] then pc += X")
OP(JEQ_F,    ABCX,  RF, RF, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] == R[B] then pc += X")
OP(JNE_F,    ABCX,  RF, RF, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] != R[B] then pc += X")
OP(JNLT_F,   ABCX,  RF, RF, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if not (R[A] < R[B]) then pc += X (true for NaN)")
OP(JNLE_F,   ABCX,  RF, RF, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if not (R[A] <= R[B]) then pc += X (true for NaN)")
OP(JLTK_F,   ABCX,  RF, KF, IB, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if (R[A] < K[B]) != C then pc += X (C = 1: jump when not <, so also for NaN)")
OP(JLEK_F,   ABCX,  RF, KF, IB, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if (R[A] <= K[B]) != C then pc += X")
OP(JGTK_F,   ABCX,  RF, KF, IB, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if (R[A] > K[B]) != C then pc += X")
OP(JGEK_F,   ABCX,  RF, KF, IB, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if (R[A] >= K[B]) != C then pc += X")
OP(JEQK_F,   ABCX,  RF, KF, IB, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if (R[A] == K[B]) != C then pc += X")
OP(FORLT,    ABCX,  RI, RI, __, JO, OPF_RWA|OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "R[A] += 1; if R[A] < R[B] then pc += X")
OP(FORLE,    ABCX,  RI, RI, __, JO, OPF_RWA|OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] < R[B] then R[A] += 1, pc += X")

OP(JNULL,    ABCX,  RR, __, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] is null then pc += X")
OP(JNNULL,   ABCX,  RR, __, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] is not null then pc += X")
OP(JEQ_R,    ABCX,  RR, RR, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] is R[B] (identity) then pc += X")
OP(JNE_R,    ABCX,  RR, RR, __, JO, OPF_BRANCH|OPF_THROW|OPF_SAFEPOINT,
   "if R[A] is not R[B] (identity) then pc += X")

OP(NEW,      ABx,   RR, CA, __, __, OPF_SETA|OPF_ALLOC|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = a new instance of class Bx, fields zero")
OP(GETF,     ABC,   RA, RO, FG, __, OPF_SETA|OPF_THROW,
   "R[A] = R[B].field[C]; NullError if R[B] is null")
OP(SETF,     ABC,   RA, RO, FS, __, OPF_THROW,
   "R[B].field[C] = R[A]; NullError if R[B] is null")
OP(IS,       ABCX,  RB, RO, __, CL, OPF_SETA,
   "R[A] = R[B] is an instance of class X or a subclass")
OP(AS,       ABCX,  RR, RO, __, CA, OPF_SETA|OPF_THROW,
   "R[A] = R[B] if null or an X; else CastError")

OP(NEWA,     ABCX,  RY, RI, __, AT, OPF_SETA|OPF_ALLOC|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = new array of type X, R[B] zero elements; ValueError if R[B] < 0")
OP(APUSH,    ABC,   RY, EV, __, __, OPF_ALLOC|OPF_THROW|OPF_SAFEPOINT,
   "R[A].push(R[B]); NullError")
OP(AFILL,    ABC,   RY, EV, __, __, OPF_THROW,
   "every element of R[A] = R[B]")
OP(AGET,     ABC,   RA, RY, EG, __, OPF_SETA|OPF_THROW,
   "R[A] = R[B][R[C]]; NullError, IndexError")
OP(ASET,     ABC,   RA, RY, ES, __, OPF_THROW,
   "R[B][R[C]] = R[A]; NullError, IndexError")
OP(ALEN,     ABC,   RI, RY, __, __, OPF_SETA|OPF_THROW,
   "R[A] = length of R[B]; NullError")
OP(APOP,     ABC,   RA, RY, EP, __, OPF_SETA|OPF_THROW,
   "R[A] = R[B].pop(); NullError, IndexError when empty")
OP(ASLICE,   ABCX,  RY, RM, RI, RI, OPF_SETA|OPF_ALLOC|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = copy of R[B][R[C] .. R[X]]; NullError, IndexError")

OP(NEWM,     ABCX,  RP, __, __, MT, OPF_SETA|OPF_ALLOC|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = new empty map of type X")
OP(MGET,     ABC,   RA, RP, MK, __, OPF_SETA|OPF_THROW,
   "R[A] = R[B][R[C]]; KeyError if absent, NullError")
OP(MGETD,    ABCX,  RA, RP, MK, MV, OPF_SETA|OPF_THROW,
   "R[A] = R[B][R[C]] if present, else R[X]; NullError")
OP(MSET,     ABC,   RA, RP, MW, __, OPF_ALLOC|OPF_THROW|OPF_SAFEPOINT,
   "R[B][R[C]] = R[A]; NullError")
OP(MHAS,     ABC,   RB, RP, KY, __, OPF_SETA|OPF_THROW,
   "R[A] = R[B] has the key R[C]; NullError")
OP(MDEL,     ABC,   __, RP, KY, __, OPF_THROW,
   "remove the key R[C] from R[B] (absent: nothing); NullError")
OP(MLEN,     ABC,   RI, RP, __, __, OPF_SETA|OPF_THROW,
   "R[A] = number of entries of R[B]; NullError")
OP(MKEYS,    ABC,   KS, RP, __, __, OPF_SETA|OPF_ALLOC|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = a new array of R[B]'s keys in order; NullError")
OP(MNEXT,    ABC,   RB, RP, RI, __, OPF_SETA|OPF_RWC|OPF_THROW,
   "R[C] = first live entry of R[B] at or after R[C]; R[A] = found")
OP(MKEYAT,   ABC,   KR, RP, RI, __, OPF_SETA|OPF_THROW,
   "R[A] = key of entry R[C] of R[B] (after MNEXT)")
OP(MVALAT,   ABC,   VR, RP, RI, __, OPF_SETA|OPF_THROW,
   "R[A] = value of entry R[C] of R[B] (after MNEXT)")

OP(FNEW,     ABCX,  RN, CP, __, FC, OPF_SETA|OPF_ALLOC|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = function value of F[X] capturing R[B], R[B+1], ...")
OP(NEWCELL,  ABC,   CE, CV, __, __, OPF_SETA|OPF_ALLOC|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = a new cell holding R[B]")
OP(GETCELL,  ABC,   RA, CG, __, __, OPF_SETA|OPF_THROW,
   "R[A] = the value in cell R[B]")
OP(SETCELL,  ABC,   RA, CS, __, __, OPF_THROW,
   "the value in cell R[B] = R[A]")

OP(CALL,     ABCX,  RD, AR, __, FN, OPF_SETA|OPF_CALL|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = F[X](R[B], R[B+1], ...)")
OP(CALLF,    ABCX,  RD, FV, __, FT, OPF_SETA|OPF_CALL|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = R[B](R[B+1], R[B+2], ...); NullError if R[B] is null")
OP(CALLV,    ABCX,  RD, AR, __, SL, OPF_SETA|OPF_CALL|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = (R[B].vtable[X])(R[B], R[B+1], ...); NullError")
OP(CALLP,    ABCX,  RD, PR, PR, FP, OPF_SETA|OPF_CALL|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = F[X](R[B], R[C]): arguments from any registers, 2 at most")
OP(CALLVP,   ABCX,  RD, RO, SV, VP, OPF_SETA|OPF_CALL|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = (R[B].vtable[C])(R[B], R[X.0], R[X.1], ...): X's bytes; NullError")
OP(CALLN,    ABCX,  RD, AR, __, NT, OPF_SETA|OPF_CALL|OPF_THROW|OPF_SAFEPOINT,
   "R[A] = native N[X](R[B], R[B+1], ...)")
OP(RET,      ABC,   RT, __, __, __, OPF_TERM,
   "return R[A]")
OP(RET0,     ABC,   RV, __, __, __, OPF_TERM,
   "return (function without result)")
OP(THROW,    ABC,   RX, __, __, __, OPF_TERM|OPF_THROW,
   "throw R[A]: to the innermost matching catch; NullError if null")
OP(TRAP,     ABC,   __, __, __, __, OPF_TERM|OPF_THROW,
   "unreachable: raises an internal error")

/* Globals a function may read before their declaration ran (the others
 * are GETG's); last, so that adding them renumbered nothing. */
OP(GETGC,    ABx,   RA, GR, __, __, OPF_SETA|OPF_THROW,
   "R[A] = G[Bx]; InitError if G[Bx]'s declaration has not run (INITG)")
OP(INITG,    ABx,   __, GI, __, __, 0,
   "G[Bx]'s declaration has run: GETGC may read it")

/* A map's capacity hint. */
OP(MRESERVE, ABC,   __, RP, RI, __, OPF_ALLOC|OPF_THROW|OPF_SAFEPOINT,
   "make room in R[B] for R[C] entries in all; NullError, ValueError if R[C] < 0")
/* clang-format on */
