using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Swarm;
using P2PNet.Hosting;

namespace P2PNet.Sample.Worker;

/// <summary>The sample's host: a P2PNet node from the <c>P2PNet</c> section, a worker that logs messages, OpenTelemetry console export.</summary>
public static class SampleHost
{
    /// <summary>Builds the host the way <c>Program</c> runs it; tests add configuration before <c>Build()</c>.</summary>
    public static HostApplicationBuilder CreateBuilder(string[] args, IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var builder = Host.CreateApplicationBuilder(args);
        if (overrides is not null) builder.Configuration.AddInMemoryCollection(overrides);

        // The network from configuration, adjusted in code where configuration has no say.
        builder.Services.AddP2PNet(options => options with { DisplayName = options.DisplayName ?? Environment.MachineName });
        builder.Services.AddHostedService<MessageLogger>();

        if (builder.Configuration.GetValue("Sample:ConsoleExporter", true))
        {
            int interval = builder.Configuration.GetValue("Sample:MetricsIntervalSeconds", 30);
            builder.Services.AddOpenTelemetry()
                .ConfigureResource(r => r.AddService("p2pnet-sample-worker"))
                .WithMetrics(m => m
                    .AddMeter(SwarmHost.MeterName, PeerNetwork.MeterName)
                    .AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval * 1000))
                .WithTracing(t => t
                    .AddSource(P2PNetTelemetry.ActivitySourceName)
                    .AddConsoleExporter());
        }
        return builder;
    }
}
