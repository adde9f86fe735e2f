using System.Text.Json;
using System.Text.Json.Serialization;

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

/// <summary><c>{"type":"id","peerId":…,"keyFile":…,"created":…}</c> (<c>id</c>).</summary>
internal sealed record IdJson(string PeerId, string? KeyFile, bool Created)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "id";
}

/// <summary><c>{"type":"listening","addr":…}</c>, one per listen address (<c>listen</c>).</summary>
internal sealed record ListeningJson(string Addr)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "listening";
}

/// <summary><c>{"type":"connection","event":"opened"|"closed","peerId":…,"addr":…,"direction":…}</c> (<c>listen</c>, <c>ping</c>).</summary>
internal sealed record ConnectionJson(string Event, string PeerId, string Addr, string Direction)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "connection";
}

/// <summary><c>{"type":"discovered","peerId":…,"source":…,"addrs":[…]}</c> (<c>listen</c> with discovery).</summary>
internal sealed record DiscoveredJson(string PeerId, string Source, IReadOnlyList<string> Addrs)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "discovered";
}

/// <summary><c>{"type":"pong","peerId":…,"seq":…,"rttMs":…}</c> (<c>ping</c>).</summary>
internal sealed record PongJson(string PeerId, int Seq, double RttMs)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "pong";
}

/// <summary><c>{"type":"summary","peerId":…,"sent":…,"received":…,"lossPercent":…,"rttMinMs":…,"rttAvgMs":…,"rttMaxMs":…}</c> (<c>ping</c>, last line).</summary>
internal sealed record SummaryJson(string PeerId, int Sent, int Received, double LossPercent, double? RttMinMs, double? RttAvgMs, double? RttMaxMs)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "summary";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(IdJson))]
[JsonSerializable(typeof(ListeningJson))]
[JsonSerializable(typeof(ConnectionJson))]
[JsonSerializable(typeof(DiscoveredJson))]
[JsonSerializable(typeof(PongJson))]
[JsonSerializable(typeof(SummaryJson))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
