// STARK prover and verifier over Goldilocks.
//
// Layout: Math/ (Goldilocks, its quadratic extension, NTTs and polynomials), Crypto/ (BLAKE3,
// Merkle trees with batch openings, the Fiat–Shamir transcript), Protocol/ (AIR interface, proof
// options, proof format, prover, verifier, FRI) and AIRs/ (Fibonacci and key/value consistency).
// Entry points: `Prover.prove(air:trace:publicInputs:options:)` and
// `Verifier.verify(air:proof:publicInputs:options:)`. See docs/stark.md.
