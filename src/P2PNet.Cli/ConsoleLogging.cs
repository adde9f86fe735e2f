using Microsoft.Extensions.Logging;

namespace P2PNet.Cli;

/// <summary>Logs go to standard error so that standard output stays machine-readable.</summary>
internal static class ConsoleLogging
{
    /// <param name="level">The least severe level written (<see cref="CliOptions.Level"/>).</param>
    public static ILoggerFactory Create(LogLevel level) => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(level)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        }));
}
