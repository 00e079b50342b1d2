public import ThreadVM

/// Programs by hash: what the manager and the nodes pass as `programs:`.
public struct ProgramCatalog: Sendable {
    public private(set) var programs: [ProgramHash: Program]
    /// Contract name → hash, for programs added with a name.
    public private(set) var names: [String: ProgramHash] = [:]

    public init(_ programs: [Program] = []) {
        self.programs = Dictionary(programs.map { ($0.hash, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The shipped contracts (`Contracts.names`), with karts' `ACHIEVEMENTS_THREAD` set to
    /// `achievementsThread` (by default the id of a thread named `achievements`).
    public static func shipped(achievementsThread: Felt = ThreadId.derive(name: "achievements")) throws(ContractError)
        -> ProgramCatalog
    {
        var catalog = ProgramCatalog()
        for name in Contracts.names {
            let constants: [String: Felt] = name == "karts" ? ["ACHIEVEMENTS_THREAD": achievementsThread] : [:]
            catalog.add(try Contracts.named(name, constants: constants), named: name)
        }
        return catalog
    }

    public mutating func add(_ program: Program, named name: String? = nil) {
        programs[program.hash] = program
        if let name { names[name] = program.hash }
    }

    public func program(for hash: ProgramHash) -> Program? { programs[hash] }

    public func program(named name: String) -> Program? { names[name].flatMap { programs[$0] } }

    /// `catalog(hash)`, so a catalog can be passed as `programs: catalog.callAsFunction`.
    public func callAsFunction(_ hash: ProgramHash) -> Program? { programs[hash] }
}
