namespace P2PNet.Fuzz;

/// <summary>
/// One fuzzing target. <see cref="RunAsync"/> feeds the input to a parser and throws only when it finds a bug:
/// each harness catches the typed errors its parser documents, so any exception that escapes is a finding.
/// The same delegate runs under afl++ (Program) and in the corpus replay tests.
/// </summary>
/// <param name="Name">The harness name: the folder under fuzz/corpus and the argument of scripts/fuzz.sh.</param>
/// <param name="Target">What it feeds, for docs and error messages.</param>
/// <param name="RunAsync">Parses one input.</param>
public sealed record Harness(string Name, string Target, Func<byte[], Task> RunAsync);
