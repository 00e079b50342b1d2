import Testing
@testable import ThreadVM

@Test func placeholder() { #expect(Bool(true)) }
