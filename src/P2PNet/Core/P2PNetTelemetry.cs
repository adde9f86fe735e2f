using System.Diagnostics;

namespace P2PNet.Core;

/// <summary>
/// Names under which P2PNet publishes telemetry, for subscribing (OpenTelemetry's <c>AddMeter</c> and
/// <c>AddSource</c>, or a <see cref="System.Diagnostics.Metrics.MeterListener"/> / <see cref="ActivityListener"/>).
/// Instrument names follow the OpenTelemetry semantic conventions: a <c>p2pnet.</c> prefix, UCUM units
/// (seconds for durations, <c>{connection}</c>-style annotations for counts), <c>error.type</c> on failures.
/// </summary>
public static class P2PNetTelemetry
{
    /// <summary>The ActivitySource of dial (<c>p2pnet.dial</c>), handshake (<c>p2pnet.handshake</c>) and channel open (<c>p2pnet.channel.open</c>) spans.</summary>
    public const string ActivitySourceName = "P2PNet";

    /// <summary>The meter of the libp2p host: connections, streams, handshakes, dials.</summary>
    public const string SwarmMeterName = "P2PNet.Swarm";

    /// <summary>The meter of the peer network: channels, known peers, packets, refused peers.</summary>
    public const string PeersMeterName = "P2PNet.Peers";

    // Stateless once created (listeners register with the runtime), like the BCL's own sources in System.Net.
    internal static ActivitySource Source { get; } = new(ActivitySourceName, typeof(P2PNetTelemetry).Assembly.GetName().Version?.ToString());
}
