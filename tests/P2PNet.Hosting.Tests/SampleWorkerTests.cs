using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Sample.Worker;

namespace P2PNet.Hosting.Tests;

/// <summary>The samples/ worker's host, in-process: starts, a second node joins it, messages flow, metrics count, it stops cleanly.</summary>
public sealed class SampleWorkerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_sample_starts_greets_a_second_node_logs_its_message_counts_it_and_stops_cleanly()
    {
        var logs = new CapturingLoggerProvider();
        var builder = SampleHost.CreateBuilder([], new Dictionary<string, string?>
        {
            ["P2PNet:ListenAddresses:0"] = "/ip4/127.0.0.1/tcp/0",
            ["P2PNet:NetworkName"] = "sample-test",
            ["Sample:ConsoleExporter"] = "false",
        });
        builder.Logging.AddProvider(logs);
        using var host = builder.Build();

        // The network's gauges, read through the host's own IMeterFactory (the meters it created carry it as scope).
        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        var channelCounts = new ConcurrentQueue<int>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meterFactory && instrument.Name == "p2pnet.channel.count") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<int>((_, value, _, _) => channelCounts.Enqueue(value));
        listener.Start();

        await host.StartAsync();
        var network = host.Services.GetRequiredService<PeerNetwork>();
        Assert.True(network.IsRunning);
        Assert.Equal("sample-test", network.Options.NetworkName);
        var address = network.ListenAddresses.Single().WithPeerId(network.Identifier);
        Assert.Contains(logs.Lines, l => l.Contains($"listening on {address}", StringComparison.Ordinal));

        await using var second = new PeerNetwork(new PeerNetworkOptions { NetworkName = "sample-test", ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")] });
        var greeting = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var removed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        second.MessageReceived += (_, e) => greeting.TrySetResult(e.Message);
        second.PeerRemoved += (_, _) => removed.TrySetResult();
        await second.StartAsync();
        var channel = await second.ConnectAsync(address).WaitAsync(Timeout);

        // The worker greets each new channel and logs what arrives.
        Assert.Equal($"hello from {network.Identifier}", await greeting.Task.WaitAsync(Timeout));
        await channel.SendAsync(new PureMessagePacket("hi sample"));
        await logs.WaitForAsync($"message from {second.Identifier}: hi sample", Timeout);

        listener.RecordObservableInstruments();
        Assert.Contains(1, channelCounts);

        // A clean stop: the second node is told (a DisconnectPacket), and nothing was logged as an error.
        await host.StopAsync().WaitAsync(Timeout);
        await removed.Task.WaitAsync(Timeout);
        Assert.False(network.IsRunning);
        Assert.DoesNotContain(logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains($"P2PNet node {network.Identifier} stopped", StringComparison.Ordinal));
    }
}
