import ArgumentParser
import TaskDispatchApp
import TaskDispatchBench

/// `taskdispatch`: the server, its administration, and the benchmark.
struct TaskDispatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskdispatch", abstract: TaskDispatchCommands.abstract, version: TaskDispatchCommands.version,
        subcommands: TaskDispatchCommands.all + [BenchCommand.self], defaultSubcommand: TaskDispatchCommands.serve)
}

TaskDispatchCommand.main()
