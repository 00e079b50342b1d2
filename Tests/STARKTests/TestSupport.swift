@testable import STARK

extension Verifier {
    /// The verifier without its security floor: unit tests prove with fast, insecure options
    /// (``ProofOptions/testing``), which every public entry point refuses.
    static func verifyInsecure<A: AIR>(
        air: A.Type, proof: [UInt8], publicInputs: A.PublicInputs, options: ProofOptions
    ) throws(STARKError) {
        try verify(air: air, proof: proof, publicInputs: publicInputs, options: options, floor: .none)
    }

    /// The parsed-proof verifier without its security floor, requiring `options`.
    static func verifyInsecure<A: AIR>(air: A, proof: Proof, options: ProofOptions = .testing) throws(STARKError) {
        try verify(air: air, proof: proof, options: options, floor: .none)
    }
}
