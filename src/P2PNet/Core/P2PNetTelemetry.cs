using System.Diagnostics;

namespace P2PNet.Core;

/// <summary>
/// The ActivitySource under which P2PNet publishes traces (meters: <c>SwarmHost.MeterName</c>, <c>PeerNetwork.MeterName</c>), for subscribing (OpenTelemetry's <c>AddMeter</c> and
/// <c>AddSource</c>, or a <see cref="System.Diagnostics.Metrics.MeterListener"/> / <see cref="ActivityListener"/>).
/// Instrument names follow the OpenTelemetry semantic conventions: a <c>p2pnet.</c> prefix, UCUM units
/// (seconds for durations, <c>{connection}</c>-style annotations for counts), <c>error.type</c> on failures.
/// </summary>
public static class P2PNetTelemetry
{
    /// <summary>The ActivitySource of dial (<c>p2pnet.dial</c>), handshake (<c>p2pnet.handshake</c>) and channel open (<c>p2pnet.channel.open</c>) spans.</summary>
    public const string ActivitySourceName = "P2PNet";

    // The meters are named beside their layer, SwarmHost.MeterName ("P2PNet.Swarm") and PeerNetwork.MeterName
    // ("P2PNet.Peers"), so that this lowest layer names nothing above it.

    // Stateless once created (listeners register with the runtime), like the BCL's own sources in System.Net.
    internal static ActivitySource Source { get; } = new(ActivitySourceName, typeof(P2PNetTelemetry).Assembly.GetName().Version?.ToString());
}
