namespace P2PNet.Cli;

/// <summary>
/// A failure the user can act on: <see cref="CliRun.Guard"/> prints <c>error: </c> and the message as one line on
/// standard error and exits with <see cref="ExitCode"/>, never with a stack trace.
/// </summary>
internal sealed class CliException(string message, int exitCode = CliExit.Failure, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The process exit code (<see cref="CliExit"/>).</summary>
    public int ExitCode { get; } = exitCode;
}
