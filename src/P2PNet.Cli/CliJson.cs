using System.Text.Json;

namespace P2PNet.Cli;

/// <summary>
/// <c>--json</c> output: one object per line, its kind in <c>type</c> (first). Source-generated, so the CLI stays
/// trim- and AOT-clean.
/// </summary>
internal static class CliJson
{
    private static readonly Lock Sync = new();

    /// <summary>Writes <paramref name="value"/> as one line on standard output (whole lines: events arrive on several threads).</summary>
    public static void Write<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        string line = JsonSerializer.Serialize(value, type);
        lock (Sync)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }
}
