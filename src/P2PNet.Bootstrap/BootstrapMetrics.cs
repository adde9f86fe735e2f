using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Swarm;

namespace P2PNet.Bootstrap;

/// <summary>The server's Prometheus endpoint (OpenTelemetry's exporter; see <see cref="BootstrapServerOptions.MetricsPath"/>).</summary>
internal static class BootstrapMetrics
{
    // ASP.NET Core's own meters (requests, connections, rate-limiter rejections) and P2PNet's.
    private static readonly string[] Meters =
    [
        "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.RateLimiting",
        SwarmHost.MeterName, PeerNetwork.MeterName,
    ];

    public static void AddPrometheus(IServiceCollection services) =>
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(Meters).AddPrometheusExporter());

    public static void MapPrometheus(WebApplication app, string path) => app.MapPrometheusScrapingEndpoint(path);
}
