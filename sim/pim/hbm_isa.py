"""The HBM-PIM (Aquabolt-XL) PU instruction set: CRF programs over GRF / SRF / bank operands.

Each PU holds a CRF of 32 x 32-bit instructions (a microkernel), GRF_A and GRF_B (8 x 256-bit registers
each: 16 FP16 lanes) and SRF scalars (PIMSimulator README; ISSCC'21). In all-bank-PIM mode every column
command the host sends (``PIM_RD`` / ``PIM_WR`` in :mod:`sim.pim.commands`) makes every PU execute the
instruction at its program counter with the addressed bank column as the BANK operand; ``JUMP`` is a
zero-cycle static loop (taken ``count`` times, then falls through), ``NOP n`` consumes ``n`` column
commands, ``EXIT`` ends the kernel. Operand indices auto-increment with the column address (``GRF_A[c mod
8]``), which is why the buffer entry of a MAC is its column modulo 8 in :mod:`sim.pim.mapping`.

This module is data plus a reference interpreter: the compiler builds the program a GEMV needs
(:func:`gemv_program`) and can check (:func:`run_program`) that the column commands it emits drive the
program exactly to its ``EXIT``. The kernel charges time per column command (the DRAM timing of that
command); the instruction decides only which registers change, not when.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.pim.errors import PimCommandError

OPCODES = ("NOP", "ADD", "MUL", "MAC", "MAD", "MOV", "FILL", "JUMP", "EXIT")
OPERANDS = ("GRF_A", "GRF_B", "SRF_M", "SRF_A", "BANK", "EVEN_BANK", "ODD_BANK", "")
#: opcodes that write a bank (need a column *write* command); the others need a column read
WRITES_BANK = {"MOV", "FILL"}


@dataclass(frozen=True)
class Instr:
    """One CRF instruction: ``op dst, src0, src1`` (``JUMP``: ``target``, ``count``; ``NOP``: ``count``)."""

    op: str
    dst: str = ""
    src0: str = ""
    src1: str = ""
    target: int = 0
    count: int = 0

    def __post_init__(self) -> None:
        if self.op not in OPCODES:
            raise PimCommandError(f"unknown HBM-PIM opcode {self.op!r}; expected one of {', '.join(OPCODES)}")
        for o in (self.dst, self.src0, self.src1):
            if o not in OPERANDS:
                raise PimCommandError(f"unknown HBM-PIM operand {o!r}")

    @property
    def trigger(self) -> str:
        """Column command that executes it: "read", "write", "none" (JUMP/EXIT) or "any" (NOP)."""
        if self.op in ("JUMP", "EXIT"):
            return "none"
        if self.op == "NOP":
            return "any"
        return "write" if self.op in WRITES_BANK and self.dst == "BANK" else "read"

    def encode(self) -> int:
        """A 32-bit word: opcode (4 bits), dst/src0/src1 (3 bits each), target (5), count (11)."""
        op = OPCODES.index(self.op)
        return ((op << 28) | (OPERANDS.index(self.dst) << 25) | (OPERANDS.index(self.src0) << 22)
                | (OPERANDS.index(self.src1) << 19) | ((self.target & 31) << 11) | (self.count & 0x7FF))


def gemv_program(n_mac: int, n_store: int) -> list[Instr]:
    """MAC GRF_B += BANK x GRF_A for ``n_mac`` column reads, then MOV BANK <- GRF_B for ``n_store`` writes."""
    prog = [Instr("MAC", "GRF_B", "BANK", "GRF_A")]
    if n_mac > 1:
        prog.append(Instr("JUMP", target=0, count=n_mac - 1))
    if n_store:
        prog.append(Instr("MOV", "BANK", "GRF_B"))
        if n_store > 1:
            prog.append(Instr("JUMP", target=len(prog) - 1, count=n_store - 1))
    prog.append(Instr("EXIT"))
    return prog


def crf_bursts(program: list[Instr]) -> int:
    """32-byte bursts (8 instructions each) that write ``program`` into the CRF."""
    return -(-len(program) // 8)


def run_program(program: list[Instr], triggers: list[str], crf_entries: int = 32) -> dict[str, int]:
    """Execute ``program`` for a sequence of column commands (``"read"`` / ``"write"``).

    Returns executed-instruction counts per opcode. Raises :class:`PimCommandError` if the program does
    not fit the CRF, a command finds an instruction that needs the other kind of command, commands are
    left over after ``EXIT``, or the program has not reached ``EXIT`` when the commands end.
    """
    if len(program) > crf_entries:
        raise PimCommandError(f"CRF program of {len(program)} instructions does not fit {crf_entries} entries")
    for ins in program:
        if ins.op == "JUMP" and not 0 <= ins.target < len(program):
            raise PimCommandError(f"JUMP target {ins.target} outside the program")
        if ins.op in ("JUMP",) and ins.count > 0x7FF:
            raise PimCommandError(f"JUMP count {ins.count} exceeds the 11-bit field (2047) by {ins.count - 0x7FF}")
    pc = 0
    left: dict[int, int] = {}
    nop_left = 0
    done: dict[str, int] = {}
    i = 0

    def settle() -> None:
        nonlocal pc
        while pc < len(program) and program[pc].op == "JUMP":
            ins = program[pc]
            n = left.get(pc, ins.count)
            if n > 0:
                left[pc] = n - 1
                pc = ins.target
            else:
                left.pop(pc, None)
                pc += 1

    settle()
    while i < len(triggers):
        if pc >= len(program) or program[pc].op == "EXIT":
            raise PimCommandError(f"{len(triggers) - i} column command(s) after the CRF program's EXIT")
        ins = program[pc]
        trig = triggers[i]
        if ins.trigger not in ("any", trig):
            raise PimCommandError(f"column {trig} at command {i} reaches {ins.op} (needs a {ins.trigger})")
        done[ins.op] = done.get(ins.op, 0) + 1
        i += 1
        if ins.op == "NOP":
            if nop_left == 0:
                nop_left = max(1, ins.count)
            nop_left -= 1
            if nop_left > 0:
                continue
        pc += 1
        settle()
    if pc >= len(program) or program[pc].op != "EXIT":
        raise PimCommandError(f"the column commands end before the CRF program's EXIT (at instruction {pc})")
    return done


__all__ = ["Instr", "OPCODES", "OPERANDS", "crf_bursts", "gemv_program", "run_program"]
