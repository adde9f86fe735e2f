using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using P2PNet.Core;
using P2PNet.Peers;

namespace P2PNet.Hosting.Tests;

/// <summary><c>services.AddP2PNet</c>: configuration binding, the code adjustment, the key file, bad settings.</summary>
public sealed class AddP2PNetTests
{
    [Fact]
    public async Task Configuration_and_the_adjustment_make_the_options_and_the_key_file_keeps_the_identity()
    {
        string dir = Directory.CreateTempSubdirectory("p2pnet-hosting").FullName;
        try
        {
            string key = Path.Combine(dir, "sub", "node.key");
            PeerId? first = null;
            for (int run = 0; run < 2; run++)
            {
                var builder = Host.CreateApplicationBuilder();
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["P2PNet:KeyFile"] = key,
                    ["P2PNet:ListenAddresses:0"] = "/ip4/127.0.0.1/tcp/0",
                    ["P2PNet:NetworkName"] = "bound",
                    ["P2PNet:MaxKnownPeers"] = "7",
                    ["P2PNet:MaxConnections"] = "9",
                    ["P2PNet:HandshakeTimeout"] = "00:00:03",
                });
                builder.Services.AddP2PNet(o => o with { DisplayName = "adjusted", MaxKnownPeers = o.MaxKnownPeers + 1 });
                using var host = builder.Build();
                var network = host.Services.GetRequiredService<PeerNetwork>();
                Assert.Equal("bound", network.Options.NetworkName);
                Assert.Equal("adjusted", network.Options.DisplayName);
                Assert.Equal(8, network.Options.MaxKnownPeers);
                Assert.Equal(9, network.Options.Swarm.MaxConnections);
                Assert.Equal(TimeSpan.FromSeconds(3), network.Options.Swarm.Upgrade.HandshakeTimeout);
                Assert.Equal([Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")], network.Options.ListenAddresses);
                first ??= network.Identifier;
                Assert.Equal(first, network.Identifier); // the second run loads the key the first one created
                await host.StartAsync();
                Assert.True(network.IsRunning);
                await host.StopAsync();
            }
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_malformed_listen_address_names_its_setting()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["P2PNet:ListenAddresses:0"] = "/ip4/1.2.3.4/tcp/99999" });
        builder.Services.AddP2PNet();
        using var host = builder.Build();
        var ex = Assert.Throws<FormatException>(() => host.Services.GetRequiredService<PeerNetwork>());
        Assert.StartsWith("P2PNet:ListenAddresses:0: '/ip4/1.2.3.4/tcp/99999' is not a multiaddr", ex.Message);
    }

    [Fact]
    public void A_limit_out_of_range_names_its_setting()
    {
        var settings = new P2PNetSettings { MaxConnections = 0 };
        Assert.Equal("P2PNet:MaxConnections: 0 is out of range", Assert.Throws<FormatException>(settings.ToOptions).Message);
    }
}
