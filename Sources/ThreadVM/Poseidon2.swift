import STARK

/// The Poseidon2 permutation over Goldilocks with a state of 12 elements: the hash of OS version 2.
///
/// The permutation itself lives in the STARK library (`STARK.Poseidon2`, over its `Goldilocks`
/// type), which also proves it; this is its face over ``Felt``, the VM's word type. Parameters
/// are those of the HorizenLabs reference instance `POSEIDON2_GOLDILOCKS_12_PARAMS`: width 12,
/// used as rate 8 and capacity 4 by ``VMRules/hash(_:)``, S-box x⁷, 8 full and 22 partial rounds.
/// See the STARK library's documentation of the permutation for the round structure.
public enum Poseidon2 {
    /// Elements in the state.
    public static let width = STARK.Poseidon2.width
    /// Full rounds in all (half before and half after the partial rounds).
    public static let fullRounds = STARK.Poseidon2.fullRounds
    /// Partial rounds.
    public static let partialRounds = STARK.Poseidon2.partialRounds

    /// Permutes `state`, which must hold ``width`` elements.
    public static func permute(_ state: inout [Felt]) {
        var words = state.map(\.goldilocks)
        STARK.Poseidon2.permute(&words)
        state = words.map(Felt.init(goldilocks:))
    }

    /// The permutation of `state`.
    public static func permutation(of state: [Felt]) -> [Felt] {
        var copy = state
        permute(&copy)
        return copy
    }

    /// The constants of an instance over ``Felt``: the reference's, or (in tests) a variation.
    struct Constants {
        /// 8 rows of 12: the full rounds' constants, in order.
        var external: [[Felt]]
        /// 22: the partial rounds' constants.
        var partial: [Felt]
        /// 12: the internal layer's diagonal minus one.
        var diagonalMinusOne: [Felt]

        static let reference: Constants = {
            let constants = STARK.Poseidon2.Constants.reference
            return Constants(
                external: constants.external.map { $0.map(Felt.init(goldilocks:)) },
                partial: constants.partial.map(Felt.init(goldilocks:)),
                diagonalMinusOne: constants.diagonalMinusOne.map(Felt.init(goldilocks:)))
        }()

        var goldilocks: STARK.Poseidon2.Constants {
            STARK.Poseidon2.Constants(
                external: external.map { $0.map(\.goldilocks) }, partial: partial.map(\.goldilocks),
                diagonalMinusOne: diagonalMinusOne.map(\.goldilocks))
        }
    }

    static func permute(_ state: inout [Felt], with constants: Constants) {
        var words = state.map(\.goldilocks)
        STARK.Poseidon2.permute(&words, with: constants.goldilocks)
        state = words.map(Felt.init(goldilocks:))
    }
}

extension Felt {
    /// The same element as the STARK library's field type (both hold the canonical value).
    var goldilocks: Goldilocks { Goldilocks(value) }

    init(goldilocks: Goldilocks) { self.init(canonical: goldilocks.value) }
}
