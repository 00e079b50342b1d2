import Testing

@testable import ThreadVM

@Suite struct ProgramHashTests {
    static let tiny = ".entry f() -> felt\n    set r0, 7\n    ret r0\n"

    @Test func hashIsSHA256OfTheDocumentedEncoding() throws {
        // Computed independently from the encoding in docs/threadvm.md:
        // "TVM1" ‖ u32 2 ‖ [1,0,7,0] ‖ [0x15,0,1,0] ‖ u32 0 ‖ u32 1 ‖ "f" ‖ pc 0 ‖ flags 0 ‖ ret felt(1) ‖ u32 0
        let program = try assemble(Self.tiny)
        #expect(program.hash.hex == "638f0ae0fca3fc603dfd0fb408eb5bf80d0b012edb986805340608cea041a2eb")
        #expect(program.hash.bytes.count == 32)
        #expect(ProgramHash(hex: program.hash.hex) == program.hash)
    }

    @Test func sameSourceSameHash() throws {
        for name in Contracts.names {
            #expect(try Contracts.named(name).hash == Contracts.named(name).hash, "\(name)")
        }
    }

    @Test func commentsAndLayoutDoNotChangeTheHash() throws {
        let reformatted = "; a comment\n\n.entry   f( )  ->  felt   ; trailing\nset r0,7\n\n  ret   r0 // done\n"
        #expect(try assemble(reformatted).hash == assemble(Self.tiny).hash)
    }

    @Test func changedSourceChangesTheHash() throws {
        let base = try assemble(Self.tiny).hash
        let variants = [
            ".entry f() -> felt\n    set r0, 8\n    ret r0\n",  // immediate
            ".entry f() -> felt\n    set r1, 7\n    ret r1\n",  // register
            ".entry g() -> felt\n    set r0, 7\n    ret r0\n",  // entrypoint name
            ".entry f() view -> felt\n    set r0, 7\n    ret r0\n",  // view flag
            ".entry f() -> u64\n    set r0, 7\n    ret r0\n",  // return type
            ".entry f(x: felt) -> felt\n    set r0, 7\n    ret r0\n",  // parameter
            ".entry f() -> felt\n    set r0, 7\n    assert r0, \"x\"\n    ret r0\n",  // instruction
        ]
        var seen: Set<ProgramHash> = [base]
        for source in variants {
            #expect(seen.insert(try assemble(source).hash).inserted, "\(source)")
        }
        let m1 = try assemble(".entry f()\n    assert r0, \"a\"\n    ret\n").hash
        let m2 = try assemble(".entry f()\n    assert r0, \"b\"\n    ret\n").hash
        #expect(m1 != m2)  // messages are hashed
    }

    @Test func contractsHaveDistinctHashesAndConstantsAreHashed() throws {
        let hashes = try Contracts.names.map { try Contracts.named($0).hash }
        #expect(Set(hashes).count == Contracts.names.count)
        let karts2 = try Contracts.named("karts")
        let karts9 = try Contracts.named("karts", constants: ["ACHIEVEMENTS_THREAD": 9])
        #expect(karts2.hash != karts9.hash)
    }
}
