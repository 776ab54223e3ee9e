import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyDaemon

/// The root command: only dispatches to subcommands.
struct TransferKeyd: AsyncParsableCommand {
    static let version = DaemonVersion.current

    static let configuration = CommandConfiguration(
        commandName: "transferkeyd",
        abstract: "Makes sure temporary AWS KMS transfer keys always die.",
        discussion: """
            Records each temporary KMS key and alias that an import creates, waits for the import \
            to finish, then schedules the key for deletion and removes its alias — also after \
            crashes. State lives in SQLite (see `database` in the config) and can be audited with SQL.

            Exit codes: 0 ok; 1 the command ran and found a problem (daemon down, a transfer stuck \
            or refused, a broken audit chain); 2 bad usage, config or input, including a file that \
            is not a transferkeyd database or one written by a newer transferkeyd (nothing was \
            changed); 3 AWS or the database unavailable.
            """,
        version: version,
        subcommands: [
            Run.self, Status.self, Track.self, Create.self, Complete.self, List.self, Show.self, Reconcile.self,
            Retry.self, Accept.self, Close.self, CancelDeletion.self, ApproveOrphans.self, Audit.self, Policy.self,
            Check.self,
            Migrate.self,
        ]
    )

    /// Parses, runs, and exits with the contract's codes: argument errors exit 2, not 64.
    static func runMain() async {
        let arguments = movingGlobalOptions(Array(CommandLine.arguments.dropFirst()))
        // No subcommand is bad usage (exit 2), with the help on stderr: a script whose subcommand
        // variable came out empty must not look successful. (argument-parser's default is help and
        // exit 0; `--help` still does that.)
        if arguments.isEmpty {
            Console.error(helpMessage())
            Foundation.exit(2)
        }
        if let unknown = unknownSubcommand(in: arguments) {
            let names = configuration.subcommands.map { $0._commandName }
            let suggestion = EditDistance.closest(to: unknown, among: names).map { " (did you mean \"\($0)\"?)" } ?? ""
            Console.error(
                "transferkeyd: unknown command \"\(unknown)\"\(suggestion); commands: \(names.joined(separator: ", "))")
            Foundation.exit(2)
        }
        let command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exitAfterParsing(error)
        }
        Foundation.exit(await run(command))
    }

    /// Runs a parsed command. This is the one place an error becomes an exit code: every command throws what it
    /// meets, and `CLIFailure.from` maps it (0 ok; 1 a problem found; 2 bad input, nothing changed; 3 AWS or the
    /// database unavailable), with one line on stderr.
    static func run(_ parsed: any ParsableCommand) async -> Int32 {
        var command = parsed
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch  where exitCode(for: error) == .success {
            // `--help` and `help COMMAND` parse into argument-parser's help command, which "fails" with the help.
            print(fullMessage(for: error))
            return 0
        } catch {
            let failure = CLIFailure.from(error)
            if !failure.message.isEmpty { Console.error(failure.message) }
            return failure.exitCode
        }
    }

    /// Ends the process after arguments that did not parse: `--help` and `--version` print and exit 0; anything
    /// else is one line naming what was wrong, exit 2.
    static func exitAfterParsing(_ error: any Error) -> Never {
        if exitCode(for: error) == .success {
            print(fullMessage(for: error))
            Foundation.exit(0)
        }
        // One line naming what was wrong; the usage is one `--help` away: the subcommand's, when there is one.
        var message = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        let arguments = movingGlobalOptions(Array(CommandLine.arguments.dropFirst()))
        let subcommand = arguments.first.flatMap { name in
            configuration.subcommands.first { $0._commandName == name }
        }
        if let subcommand, let unknown = unknownOption(in: message),
            let closest = EditDistance.closest(to: unknown, among: options(of: subcommand))
        {
            message += " (did you mean \"\(closest)\"?)"
        }
        let help = subcommand.map { "transferkeyd \($0._commandName) --help" } ?? "transferkeyd --help"
        Console.error("\(message) (see `\(help)`)")
        Foundation.exit(2)
    }

    /// The option argument-parser names in "Unknown option '--hlep'", if that is the message.
    static func unknownOption(in message: String) -> String? {
        guard message.contains("Unknown option"), let start = message.firstIndex(of: "'"),
            let end = message[message.index(after: start)...].firstIndex(of: "'")
        else { return nil }
        return String(message[message.index(after: start)..<end])
    }

    /// The long options a subcommand's help lists (`--reason`, `--json`, …), for a did-you-mean.
    static func options(of command: any ParsableCommand.Type) -> [String] {
        let help = command.helpMessage()
        var found: Set<String> = ["--help"]
        var index = help.startIndex
        while let range = help[index...].range(of: "--") {
            let name = help[range.lowerBound...].prefix { $0 == "-" || $0.isLetter || $0.isNumber }
            if name.count > 2 { found.insert(String(name)) }
            index = range.upperBound
        }
        return found.sorted()
    }

    /// `--config F` (or `--config=F`) given before the subcommand moved after it, where every subcommand takes it:
    /// the option is global, wherever it is written.
    static func movingGlobalOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var rest = arguments[...]
        while let first = rest.first {
            if first == "--config", rest.count >= 2 {
                leading += rest.prefix(2)
                rest = rest.dropFirst(2)
            } else if first.hasPrefix("--config=") {
                leading.append(first)
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        guard !leading.isEmpty, let subcommand = rest.first, !subcommand.hasPrefix("-") else { return arguments }
        return [subcommand] + leading + rest.dropFirst()
    }

    /// The first argument when it is meant as a subcommand (not an option) and names none.
    static func unknownSubcommand(in arguments: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-"), first != "help" else { return nil }
        let names = configuration.subcommands.map { $0._commandName }
        return names.contains(first) ? nil : first
    }
}
