using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Tests.Support;

namespace P2PNet.Tests.Peers;

/// <summary>Test helpers: networks on loopback, awaiting events with timeouts.</summary>
internal static class PeerTestNetwork
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    public static async Task<PeerNetwork> StartAsync(Func<PeerNetworkOptions, PeerNetworkOptions>? configure = null, CapturingLoggerProvider? log = null,
        TestMeterFactory? meters = null)
    {
        var options = new PeerNetworkOptions { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")] };
        if (configure is not null) options = configure(options);
        var network = new PeerNetwork(options, log?.CreateFactory(), meterFactory: meters);
        await network.StartAsync();
        return network;
    }

    public static Multiaddr AddressOf(PeerNetwork network) => network.ListenAddresses[0].WithPeerId(network.Identifier);

    /// <summary>Completes with the first event args for which <paramref name="match"/> holds.</summary>
    public static Task<T> Next<T>(Action<EventHandler<T>> subscribe, Func<T, bool>? match = null) => Events.Next(subscribe, match, Wait);

    /// <summary>Connects <paramref name="from"/> to <paramref name="to"/>; returns both ends once both are active.</summary>
    public static async Task<(PeerChannel Outbound, PeerChannel Inbound)> ConnectBothEndsAsync(PeerNetwork from, PeerNetwork to)
    {
        var added = Next<PeerChannel>(h => to.PeerAdded += h, c => c.Identifier == from.Identifier);
        var outbound = await from.ConnectAsync(AddressOf(to)).WaitAsync(Wait);
        return (outbound, await added);
    }

    /// <summary>Sends a pure message and waits until the receiver handled it: everything sent before it was handled too.</summary>
    public static async Task SendAndAwaitMessageAsync(PeerChannel channel, PeerNetwork receiver, string text)
    {
        var message = Next<PureMessageReceivedEventArgs>(h => receiver.MessageReceived += h, m => m.Message == text);
        await channel.SendAsync(new PureMessagePacket(text));
        await message;
    }
}
