/*
 * roles.h — the operand roles of opcodes.h: what an operand A, B, C or X
 * of an instruction is, one row per role.
 *
 * Each row is ROLE(NAME, KIND, "what the verifier checks"), an X-macro
 * like opcodes.h: vm.h expands it into the ROLE_* enum and vm_bytecode.c
 * into the role table vm_roles[]. The verifier has one rule per role
 * (vm_verify.c, check_operand); everything else asks the KIND (a VM_OPND_*
 * of vm.h), so "which roles are registers" is said here and nowhere else:
 *
 *   NONE    no operand (unused, or always 0)
 *   REG     one register
 *   RESULT  a call's result register: written when the callee has a result
 *   ARGS    the first of a block of registers, one per parameter of the
 *           callee (read by the call)
 *   CAPS    the first of a block of registers, one per value the function
 *           of X captures (read by FNEW)
 *   FNARGS  a register holding a function value; the call's arguments are
 *           the block of registers after it
 *   PARG    a register passed as argument i - 1 (i: the operand's position,
 *           B = 1) when the callee has that parameter
 *   PACKED  a word of registers, one a byte: the arguments after the
 *           receiver of a packed method call
 *   IMM, UIMM  an immediate, signed / unsigned
 *   JUMP    a jump offset
 *   CONST, CLASS, FIELD, SLOT, TYPE, GLOBAL, FUNC, NATIVE: an index
 *
 * "Readable", "storable", "may": the types are equal, or the value's class
 * is a subclass of the expected one. The enum order is the row order.
 */

/*   name kind    what the verifier checks */
/* A table: one row per role, its columns aligned. */
/* clang-format off */
ROLE(__, NONE,   "unused (must be 0)")
ROLE(RI, REG,    "int register")
ROLE(RF, REG,    "float register")
ROLE(RB, REG,    "bool register")
ROLE(RS, REG,    "str register")
ROLE(RR, REG,    "any reference register")
ROLE(RA, REG,    "any register")
ROLE(RM, REG,    "register whose value may be stored in the previous operand (MOV)")
ROLE(IM, IMM,    "immediate, any value")
ROLE(IB, UIMM,   "immediate 0 or 1")
ROLE(JO, JUMP,   "jump offset to an instruction start")
ROLE(KA, CONST,  "constant index of A's type")
ROLE(FN, FUNC,   "function index (call: A result, B args)")
ROLE(NT, NATIVE, "native index (call: A result, B args)")
ROLE(RT, REG,    "register whose value the function may return")
ROLE(RD, RESULT, "call result register")
ROLE(AR, ARGS,   "first of the call's argument registers")
ROLE(RV, NONE,   "0, in a function without result")
ROLE(KF, CONST,  "index of a float constant")
ROLE(RO, REG,    "register of a class type")
ROLE(SL, SLOT,   "vtable slot of B's class (call: A result, B args)")
ROLE(CA, CLASS,  "class index, A has its type")
ROLE(CL, CLASS,  "class index")
ROLE(FG, FIELD,  "field of B's class, readable into A")
ROLE(FS, FIELD,  "field of B's class, A storable in it")
ROLE(GR, GLOBAL, "global readable into A")
ROLE(GW, GLOBAL, "global A can be stored in")
ROLE(GI, GLOBAL, "global index")
ROLE(RY, REG,    "register of an array type")
ROLE(AT, TYPE,   "array type id, A has it")
ROLE(EG, REG,    "int index; B's array's element type is readable into A (AGET)")
ROLE(ES, REG,    "int index; A is storable as an element of B's array (ASET)")
ROLE(EV, REG,    "B is storable as an element of A's array (APUSH, AFILL)")
ROLE(EP, NONE,   "0; B's array's element type is readable into A (APOP)")
ROLE(RX, REG,    "register of the class Error or a subclass: something to throw")
ROLE(RP, REG,    "register of a map type")
ROLE(MT, TYPE,   "map type id, A has it")
ROLE(MK, REG,    "KY, and A can hold the map's value (MGET, MGETD)")
ROLE(MV, REG,    "register whose value can be stored as B's map's value (the default)")
ROLE(MW, REG,    "KY, and A's value can be stored as the map's value (MSET)")
ROLE(KY, REG,    "register of the key type of B's map")
ROLE(KR, REG,    "A can hold the key type of B's map")
ROLE(VR, REG,    "A can hold the value type of B's map")
ROLE(KS, REG,    "A is the array type of B's map's keys")
ROLE(RN, REG,    "register of a function type")
ROLE(CP, CAPS,   "first capture register (checked with FC)")
ROLE(FC, FUNC,   "function index: its signature is A's type, its captures are storable "
                 "from R[B], R[B+1], ... (FNEW)")
ROLE(FV, FNARGS, "register of a function type; the call passes R[B+1], ... and stores "
                 "the result in A (CALLF)")
ROLE(FT, TYPE,   "the function type of B's register (CALLF: the signature, for a JIT)")
ROLE(CE, REG,    "register of a cell type")
ROLE(CV, REG,    "storable in A's cell")
ROLE(CG, REG,    "cell whose value A can hold")
ROLE(CS, REG,    "cell that can hold A's value")
ROLE(PR, PARG,   "argument register of a packed call (checked with FP)")
ROLE(FP, FUNC,   "function index of a packed call: at most two parameters, passed from "
                 "R[B] and R[C]; an operand past the last parameter is 0")
ROLE(SV, SLOT,   "vtable slot of B's class (checked with VP)")
ROLE(VP, PACKED, "the other arguments of a packed method call: byte i of X is the "
                 "register of argument i + 1 (at most 4); bytes past the last are 0")
/* clang-format on */
