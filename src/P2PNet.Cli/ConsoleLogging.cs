using Microsoft.Extensions.Logging;

namespace P2PNet.Cli;

/// <summary>Logs go to standard error so that standard output stays machine-readable.</summary>
internal static class ConsoleLogging
{
    /// <param name="verbose">Debug detail.</param>
    /// <param name="quiet">Warnings and errors only (the chat keeps the terminal for the conversation).</param>
    public static ILoggerFactory Create(bool verbose, bool quiet = false) => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(verbose ? LogLevel.Debug : quiet ? LogLevel.Warning : LogLevel.Information)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        }));
}
