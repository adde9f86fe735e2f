using P2PNet.Swarm;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Swarm;

/// <summary>Refusals decided on a live connection are logged rate-limited on both sides.</summary>
public sealed class RefusalLogRateTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_flood_of_refusals_logs_at_most_the_burst_on_the_refuser_and_the_refused()
    {
        const int Rounds = 14; // more than the burst of 10 lines per interval
        var options = new SwarmOptions { Limits = new ResourceLimits { LogInterval = TimeSpan.FromHours(1) } };
        using var serverLog = new CapturingLoggerProvider();
        using var clientLog = new CapturingLoggerProvider();
        using var serverLoggers = serverLog.CreateFactory();
        using var clientLoggers = clientLog.CreateFactory();
        await using var hosts = new MemoryHosts();
        var (server, addr) = await hosts.StartAsync(options, serverLoggers);
        var (client, _) = await hosts.StartAsync(options, clientLoggers);
        server.SetStreamHandler("/test/hello/1.0.0", (_, connection, ct) =>
            connection.RefuseAsync(new ConnectionRefusal(RefusalReason.WrongNetwork, "we are network B"), ct));

        for (int i = 0; i < Rounds; i++)
        {
            var connection = await client.DialAsync(addr).WaitAsync(Timeout);
            await using (await connection.OpenStreamAsync("/test/hello/1.0.0").WaitAsync(Timeout))
                await connection.Completion.WaitAsync(Timeout);
            Assert.Equal(RefusalReason.WrongNetwork, connection.Refusal?.Reason);
        }
        await Poll.UntilAsync(() => server.Connections.Count == 0, Timeout, "the refusing side to close");

        int refusing = serverLog.Entries.Count(e => e.Message.StartsWith("Refusing ", StringComparison.Ordinal));
        int refused = clientLog.Entries.Count(e => e.Message.Contains("refused our connection", StringComparison.Ordinal));
        Assert.InRange(refusing, 1, 10);
        Assert.InRange(refused, 1, 10);
    }
}
