using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;

namespace P2PNet.Cli;

/// <summary>How every command reports mistakes: one line on standard error and a documented exit code (<see cref="CliExit"/>).</summary>
internal static class CliRun
{
    /// <summary>
    /// Runs a command action, turning a <see cref="CliException"/> into its one line and exit code, and Ctrl+C that
    /// cancelled the action (the first dial, say) into <c>interrupted</c> and exit code 130.
    /// </summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Guard(Func<ParseResult, CancellationToken, Task<int>> action) =>
        async (parse, ct) =>
        {
            try
            {
                return await action(parse, ct).ConfigureAwait(false);
            }
            catch (CliException ex)
            {
                // A usage error found after parsing ends like the parser's own: with where to read more.
                Console.Error.WriteLine(ex.ExitCode == CliExit.Usage && !ex.Message.Contains("--help", StringComparison.Ordinal)
                    ? $"error: {ex.Message}; see '{CommandPath(parse.CommandResult)} --help'"
                    : $"error: {ex.Message}");
                return ex.ExitCode;
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                // Whatever failed after Ctrl+C (a cancelled dial surfaces as its layer's error) failed because of it.
                Console.Error.WriteLine("interrupted");
                return CliExit.Interrupted;
            }
        };

    /// <summary>
    /// A SIGINT/SIGTERM handler that cancels <paramref name="interrupted"/> (the actions' token) and keeps the
    /// process alive so that the action can stop gracefully.
    /// </summary>
    public static Action<PosixSignalContext> OnSignal(CancellationTokenSource interrupted) => context =>
    {
        context.Cancel = true;
        try
        {
            interrupted.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the invocation is over
        }
    };

    /// <summary>
    /// The first parse error as one line naming the option or argument, plus where to read more:
    /// <c>error: unrecognized option '--frob'; see 'p2pnet chat --help'</c>. Exit code 2.
    /// </summary>
    public static int UsageError(ParseResult parse)
    {
        var error = parse.Errors[0];
        Console.Error.WriteLine($"error: {Describe(error, parse)}; see '{CommandPath(parse.CommandResult)} --help'");
        return CliExit.Usage;
    }

    private static string Describe(ParseError error, ParseResult parse)
    {
        string message = error.Message.ReplaceLineEndings(" ").TrimEnd('.');
        if (message.StartsWith("Required argument missing", StringComparison.Ordinal) && (error.SymbolResult as CommandResult ?? parse.CommandResult).Command is
            { Arguments.Count: > 0 } command)
            return $"missing {command.Arguments[0].Name.ToUpperInvariant()}";
        if (error.SymbolResult is OptionResult { Option: var option } && error.SymbolResult.Tokens.Count > 0
            && message.StartsWith("Cannot parse argument", StringComparison.Ordinal))
            return $"{option.Name}: '{error.SymbolResult.Tokens[^1].Value}' is not {Expected(option.ValueType)}";
        if (message.StartsWith("Unrecognized command or argument ", StringComparison.Ordinal))
        {
            string token = message["Unrecognized command or argument ".Length..];
            return token.StartsWith("'-", StringComparison.Ordinal) ? $"unknown option {token}" : $"unexpected argument {token}";
        }
        return message;
    }

    /// <summary>What a value of <paramref name="type"/> looks like, for "'abc' is not …".</summary>
    private static string Expected(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(int) || type == typeof(long)) return "a whole number";
        if (type == typeof(double)) return "a number";
        if (type == typeof(Microsoft.Extensions.Logging.LogLevel))
            return "one of trace, debug, information, warning, error, critical, none";
        return "a valid value";
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
            if (r is CommandResult c) names.Insert(0, c.Command.Name);
        return string.Join(' ', names);
    }
}
