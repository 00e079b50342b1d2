public import Foundation

/// How one step went.
public struct StepResult: Codable, Sendable {
    public var index: Int
    /// The step's line in its file.
    public var line: Int
    public var summary: String
    public var passed: Bool
    public var durationMs: Int
    public var failure: String?
    /// Not run, because an earlier step failed.
    public var skipped = false
    /// What the step recorded: a nemesis's faults, each with its time since the load started.
    public var notes: [String]?
}

/// How one scenario went.
public struct ScenarioResult: Codable, Sendable {
    public var file: String
    public var name: String
    public var totalSteps: Int
    public var steps: [StepResult] = []
    public var passed = false
    public var durationMs = 0
    public var failure: String?
    /// Where its data and logs were kept (failed scenarios, or with `--keep`).
    public var dataDirectory: String?
    /// Every thread's canonical state root when the scenario ended.
    public var roots: [String: String] = [:]
    /// The seed it ran with, when `--seed` or `--repeat` chose it.
    public var seed: UInt64?

    init(file: String, name: String, totalSteps: Int) {
        self.file = file
        self.name = name
        self.totalSteps = totalSteps
    }
}

/// The summary table, the JUnit XML and the JSON of a scenario run.
public enum ScenarioReport {
    public static func table(_ results: [ScenarioResult]) -> String {
        let rows = results.map { result in
            [
                result.name, "\(result.steps.filter(\.passed).count)/\(result.totalSteps)",
                result.passed ? "passed" : "FAILED", String(format: "%.2f s", Double(result.durationMs) / 1000),
            ]
        }
        let failed = results.filter { !$0.passed }.count
        return Table.render(header: ["SCENARIO", "STEPS", "RESULT", "TIME"], rows: rows)
            + "\n\(results.count - failed) passed, \(failed) failed"
    }

    /// One `testsuite` per scenario and one `testcase` per step; steps after a failure are skipped.
    public static func junit(_ results: [ScenarioResult]) -> String {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let failures = results.filter { !$0.passed }.count
        let time = Double(results.map(\.durationMs).reduce(0, +)) / 1000
        // One testcase per step, plus one for a devnet that did not start.
        func cases(_ result: ScenarioResult) -> Int {
            result.steps.count + (result.steps.allSatisfy(\.skipped) && result.failure != nil ? 1 : 0)
        }
        xml +=
            "<testsuites name=\"zkthreads-devnet scenarios\" tests=\"\(results.map(cases).reduce(0, +))\" failures=\"\(failures)\" time=\"\(time)\">\n"
        for result in results {
            let failed = result.steps.filter { !$0.passed && !$0.skipped }.count
            let skipped = result.steps.filter(\.skipped).count
            let errors = cases(result) - result.steps.count
            xml +=
                "  <testsuite name=\"\(escape(result.name))\" file=\"\(escape(result.file))\" tests=\"\(cases(result))\" failures=\"\(failed)\" errors=\"\(errors)\" skipped=\"\(skipped)\" time=\"\(Double(result.durationMs) / 1000)\">\n"
            if !result.roots.isEmpty || result.dataDirectory != nil {
                xml += "    <properties>\n"
                for (thread, root) in result.roots.sorted(by: { $0.key < $1.key }) {
                    xml += "      <property name=\"root.\(escape(thread))\" value=\"\(escape(root))\"/>\n"
                }
                if let directory = result.dataDirectory {
                    xml += "      <property name=\"data_dir\" value=\"\(escape(directory))\"/>\n"
                }
                xml += "    </properties>\n"
            }
            if errors > 0, let failure = result.failure {
                xml += "    <testcase name=\"start the devnet\" classname=\"\(escape(result.name))\">\n"
                xml += "      <error message=\"\(escape(failure))\"/>\n    </testcase>\n"
            }
            for step in result.steps {
                let name = "\(step.index): \(step.summary)"
                xml +=
                    "    <testcase name=\"\(escape(name))\" classname=\"\(escape(result.name))\" file=\"\(escape(result.file))\" line=\"\(step.line)\" time=\"\(Double(step.durationMs) / 1000)\""
                let output = step.notes.map {
                    "      <system-out>\(escape($0.joined(separator: "\n")))</system-out>\n"
                }
                if step.skipped {
                    xml += "><skipped message=\"not run after an earlier failure\"/></testcase>\n"
                } else if let failure = step.failure {
                    xml +=
                        ">\n      <failure message=\"\(escape(failure))\">\(escape(result.failure ?? failure))</failure>\n"
                        + (output ?? "") + "    </testcase>\n"
                } else if let output {
                    xml += ">\n" + output + "    </testcase>\n"
                } else {
                    xml += "/>\n"
                }
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    public static func json(_ results: [ScenarioResult]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(results)
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            case "\n": escaped += "&#10;"
            default:
                // XML 1.0 has no place for other control characters.
                if character.value < 0x20, character != "\t" {
                    escaped += " "
                } else {
                    escaped.unicodeScalars.append(character)
                }
            }
        }
        return escaped
    }
}
