/// The ThreadVM instruction set. Every instruction is four words: `[opcode, a, b, c]`.
///
/// Operand roles per opcode are given by ``Opcode/operands``; unused operands are 0. The machine
/// has 16 registers `r0`…`r15`; "quad" operands name the first of four consecutive registers.
public enum Opcode: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    case nop = 0x00
    /// `set rd, imm` — rd ← imm.
    case set = 0x01
    /// `mov rd, rs` — rd ← rs.
    case mov = 0x02
    /// `add rd, ra, rb` — rd ← ra + rb (mod p).
    case add = 0x03
    /// `addi rd, ra, imm` — rd ← ra + imm (mod p).
    case addi = 0x04
    /// `sub rd, ra, rb` — rd ← ra − rb (mod p).
    case sub = 0x05
    /// `mul rd, ra, rb` — rd ← ra · rb (mod p).
    case mul = 0x06
    /// `div rd, ra, rb` — rd ← ra · rb⁻¹ (field division); fails when rb = 0.
    case div = 0x07
    /// `inv rd, ra` — rd ← ra⁻¹; fails when ra = 0.
    case inv = 0x08
    /// `eq rd, ra, rb` — rd ← 1 if ra = rb else 0.
    case eq = 0x09
    /// `lt rd, ra, rb` — rd ← 1 if ra < rb as integers in [0, p) else 0.
    case lt = 0x0A
    /// `not rd, ra` — rd ← 1 if ra = 0 else 0.
    case not = 0x0B
    /// `jmp target` — pc ← target.
    case jmp = 0x10
    /// `jz ra, target` — pc ← target if ra = 0.
    case jz = 0x11
    /// `jnz ra, target` — pc ← target if ra ≠ 0.
    case jnz = 0x12
    /// `assert ra[, "message"]` — fails with the message when ra = 0.
    case assert = 0x13
    /// `fail ["message"]` — fails unconditionally.
    case fail = 0x14
    /// `ret [rs[, n]]` — stops successfully, returning registers rs…rs+n−1 (n ≤ 4).
    case ret = 0x15
    /// `arg rd, offset[, n]` — rd…rd+n−1 ← calldata[offset…offset+n−1] (n ≤ 4).
    case arg = 0x20
    /// `caller rd` — rd…rd+3 ← the transaction signer's address.
    case caller = 0x21
    /// `load rd, rk` — rd ← storage[rk…rk+3] (absent keys read 0).
    case load = 0x22
    /// `store rk, rv` — storage[rk…rk+3] ← rv.
    case store = 0x23
    /// `xload rd, rt, rk` — rd ← canonical storage[rk…rk+3] of thread rt.
    case xload = 0x24
    /// `hash rd, rs, n` — rd…rd+3 ← key derivation of rs…rs+n−1 (1 ≤ n ≤ 8).
    case hash = 0x25

    public var mnemonic: String {
        switch self {
        case .nop: "nop"
        case .set: "set"
        case .mov: "mov"
        case .add: "add"
        case .addi: "addi"
        case .sub: "sub"
        case .mul: "mul"
        case .div: "div"
        case .inv: "inv"
        case .eq: "eq"
        case .lt: "lt"
        case .not: "not"
        case .jmp: "jmp"
        case .jz: "jz"
        case .jnz: "jnz"
        case .assert: "assert"
        case .fail: "fail"
        case .ret: "ret"
        case .arg: "arg"
        case .caller: "caller"
        case .load: "load"
        case .store: "store"
        case .xload: "xload"
        case .hash: "hash"
        }
    }
    public var description: String { mnemonic }

    /// What each of the operands a, b, c means; `nil` marks an unused operand.
    public var operands: [OperandRole] {
        switch self {
        case .nop: []
        case .set: [.register, .immediate]
        case .mov, .inv, .not: [.register, .register]
        case .add, .sub, .mul, .div, .eq, .lt: [.register, .register, .register]
        case .addi: [.register, .register, .immediate]
        case .jmp: [.target]
        case .jz, .jnz: [.register, .target]
        case .assert: [.register, .message]
        case .fail: [.message]
        case .ret: [.register, .count(0...4)]
        case .arg: [.register, .immediate, .count(1...4)]
        case .caller: [.quad]
        case .load: [.register, .quad]
        case .store: [.quad, .register]
        case .xload: [.register, .register, .quad]
        case .hash: [.quad, .register, .count(1...KeyDerivation.maxWords)]
        }
    }

    /// The assembly form, e.g. `add rd, ra, rb`.
    public var syntax: String {
        switch self {
        case .nop: "nop"
        case .set: "set rd, imm"
        case .mov: "mov rd, rs"
        case .add, .sub, .mul, .div, .eq, .lt: "\(mnemonic) rd, ra, rb"
        case .addi: "addi rd, ra, imm"
        case .inv, .not: "\(mnemonic) rd, ra"
        case .jmp: "jmp label"
        case .jz, .jnz: "\(mnemonic) ra, label"
        case .assert: "assert ra[, \"message\"]"
        case .fail: "fail [\"message\"]"
        case .ret: "ret [rs[, n]]"
        case .arg: "arg rd, parameter | arg rd, offset[, n]"
        case .caller: "caller rd"
        case .load: "load rd, rk"
        case .store: "store rk, rv"
        case .xload: "xload rd, rt, rk"
        case .hash: "hash rd, rs, n"
        }
    }

    static let byMnemonic: [String: Opcode] = Dictionary(
        uniqueKeysWithValues: Opcode.allCases.map { ($0.mnemonic, $0) })
}

/// The meaning of one operand word.
public enum OperandRole: Hashable, Sendable {
    /// A register index 0…15.
    case register
    /// The first of four consecutive registers: an index 0…12.
    case quad
    /// Any field element.
    case immediate
    /// An instruction index (checked when the jump is taken).
    case target
    /// A small count in the given range; for `ret`, `arg` and `hash` it also bounds the register span.
    case count(ClosedRange<Int>)
    /// 0 for no message, else 1 + an index into the program's message table.
    case message
}

/// One instruction: an opcode and three operand words.
public struct Instruction: Hashable, Sendable, CustomStringConvertible {
    public var opcode: Opcode
    public var a: Felt
    public var b: Felt
    public var c: Felt

    public init(_ opcode: Opcode, _ a: Felt = 0, _ b: Felt = 0, _ c: Felt = 0) {
        self.opcode = opcode
        self.a = a
        self.b = b
        self.c = c
    }

    /// The fixed-width encoding: `[opcode, a, b, c]`.
    public var words: [Felt] { [Felt(UInt64(opcode.rawValue)), a, b, c] }

    /// Decodes the four-word encoding, or nil when the opcode is unknown.
    public init?(words: [Felt]) {
        guard words.count == 4, words[0].value <= UInt64(UInt8.max),
            let opcode = Opcode(rawValue: UInt8(words[0].value))
        else { return nil }
        self.init(opcode, words[1], words[2], words[3])
    }

    public var description: String {
        let operands = [a, b, c].prefix(opcode.operands.count).map(\.description)
        return ([opcode.mnemonic] + [operands.joined(separator: ", ")]).filter { !$0.isEmpty }
            .joined(separator: " ")
    }
}
