using System.Net.Http.Json;
using System.Text.Json;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Bootstrap.Tests;

/// <summary>Test helpers: a real server (Kestrel on 127.0.0.1, ephemeral port, SQLite in a temp folder), networks, raw registrations.</summary>
internal static class TestServer
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    public static Task<BootstrapServer> StartAsync(string folder, Action<BootstrapServerOptions>? configure = null, TimeProvider? time = null) =>
        BootstrapServer.StartAsync(
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.AspNetCore.DataProtection=Error"],
            options =>
            {
                options.Database = Path.Combine(folder, "bootstrap.db");
                options.IdentityKeyFile = Path.Combine(folder, "bootstrap.key");
                configure?.Invoke(options);
            }, time);

    public static Uri Url(this BootstrapServer server) => server.Urls[0];

    public static async Task<PeerNetwork> NetworkAsync(string name = "test")
    {
        var network = new PeerNetwork(new PeerNetworkOptions { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")], NetworkName = name });
        await network.StartAsync();
        return network;
    }

    public static BootstrapChannel Channel(PeerNetwork network, BootstrapServer server, PeerId? pinned = null, HttpClient? http = null) =>
        new(network, new BootstrapChannelOptions { ServerUrl = server.Url(), PinnedAuthority = pinned, HeartbeatInterval = TimeSpan.FromMinutes(10) }, http);

    public static BootstrapRegistration Registration(Identity identity, string network = "test", long? timestamp = null, string address = "/ip4/127.0.0.1/tcp/4001") =>
        BootstrapSigning.Sign(new BootstrapRegistration
        {
            PeerId = identity.PeerId.ToString(),
            Addresses = [address],
            Network = network,
            Timestamp = timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        }, identity);

    public static async Task<HttpResponseMessage> PostAsync(HttpClient http, BootstrapServer server, BootstrapRegistration registration) =>
        await http.PostAsync(new Uri(server.Url(), "v1/register"), JsonContent.Create(registration, BootstrapJsonContext.Default.BootstrapRegistration));

    public static async Task<string> ErrorCodeAsync(HttpResponseMessage response)
    {
        var error = JsonSerializer.Deserialize(await response.Content.ReadAsByteArrayAsync(), BootstrapJsonContext.Default.BootstrapErrorAnswer);
        return error?.Error ?? "";
    }

    /// <summary>Unsigned view of a peers answer (tests read the payload directly).</summary>
    public static async Task<BootstrapPeersAnswer> PeersAsync(HttpClient http, BootstrapServer server, string network = "test", string? peerId = null)
    {
        var url = new Uri(server.Url(), $"v1/peers?network={Uri.EscapeDataString(network)}" + (peerId is null ? "" : $"&peerId={Uri.EscapeDataString(peerId)}"));
        using var response = await http.GetAsync(url);
        response.EnsureSuccessStatusCode();
        var envelope = JsonSerializer.Deserialize(await response.Content.ReadAsByteArrayAsync(), BootstrapJsonContext.Default.BootstrapEnvelope)!;
        return JsonSerializer.Deserialize(Convert.FromBase64String(envelope.Payload), BootstrapJsonContext.Default.BootstrapPeersAnswer)!;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <see cref="Wait"/> passes.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("timed out waiting for " + what);
            await Task.Delay(25);
        }
    }

    /// <summary>Polls an asynchronous <paramref name="condition"/> until it holds or <see cref="Wait"/> passes.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("timed out waiting for " + what);
            await Task.Delay(25);
        }
    }
}
