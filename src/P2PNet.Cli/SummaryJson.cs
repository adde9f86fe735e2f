using System.Text.Json.Serialization;

namespace P2PNet.Cli;

/// <summary><c>{"type":"summary","peerId":…,"sent":…,"received":…,"lossPercent":…,"rttMinMs":…,"rttAvgMs":…,"rttMaxMs":…}</c> (<c>ping</c>, last line).</summary>
internal sealed record SummaryJson(string PeerId, int Sent, int Received, double LossPercent, double? RttMinMs, double? RttAvgMs, double? RttMaxMs)
{
    [JsonPropertyOrder(-1)]
    public string Type { get; } = "summary";
}
