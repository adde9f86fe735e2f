using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;
using P2PNet.Tests.Support;
using static P2PNet.Tests.Peers.PeerTestNetwork;

namespace P2PNet.Tests.Peers;

// The sample of docs/peer-trust-handshake.md, run by the tests below (a test checks that the doc shows this code).

/// <summary>
/// The seed's PeerTrustHandshake: over a channel that starts at Default trust, both peers prove that they
/// hold the network's shared key; the channel keeps Enhanced trust only if they do.
/// </summary>
public static class PeerTrustHandshake
{
    private const string Request = "p2pnet/trust-request";
    private const string Ready = "p2pnet/trust-ready";
    private const string ProofName = "p2pnet/trust-proof";
    private const int NonceLength = 16;

    /// <summary>The trust protocol of <paramref name="network"/>, a member holding <paramref name="networkKey"/>.</summary>
    public static PeerTrustProtocol Create(PeerNetwork network, byte[] networkKey)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(networkKey);
        byte[] key = [.. networkKey];
        PeerId self = network.Identifier;
        return (channel, cancellationToken) => RunAsync(channel, self, key, cancellationToken);
    }

    /// <summary>Runs the handshake on a freshly opened channel; both peers run it at the same time.</summary>
    public static async Task RunAsync(PeerChannel channel, PeerId self, byte[] networkKey, CancellationToken cancellationToken)
    {
        // 1. PureMessage exchange (allowed at Default trust): each side sends a fresh nonce.
        byte[] ourNonce = RandomNumberGenerator.GetBytes(NonceLength);
        await channel.SendAsync(new PureMessagePacket($"{Request} {Convert.ToHexString(ourNonce)}"), cancellationToken);
        var request = (PureMessagePacket)await channel.ReceiveAsync(
            p => p is PureMessagePacket m && m.Message.StartsWith(Request + " ", StringComparison.Ordinal), cancellationToken);
        byte[] theirNonce = Convert.FromHexString(request.Message.AsSpan(Request.Length + 1));
        if (theirNonce.Length != NonceLength) throw new InvalidDataException("the peer's nonce has the wrong length");

        // 2. Temporary elevation, so that the peer's DataTransmission is accepted; say so, and wait until
        //    the peer has done the same before sending ours (the receiver's trust level decides).
        channel.ElevateTrust();
        await channel.SendAsync(new PureMessagePacket(Ready), cancellationToken);
        await channel.ReceiveAsync(p => p is PureMessagePacket { Message: Ready }, cancellationToken);

        // 3. DataTransmission swap: an HMAC-SHA256 with the network key over both identifiers and nonces.
        byte[] ours = Proof(networkKey, self, channel.Identifier, ourNonce, theirNonce);
        await channel.SendAsync(new DataTransmissionPacket(ours, name: ProofName), cancellationToken);
        var theirs = (DataTransmissionPacket)await channel.ReceiveAsync(
            p => p is DataTransmissionPacket { Name: ProofName }, cancellationToken);

        // 4. Keep the elevated trust, or demote and end the connection.
        byte[] expected = Proof(networkKey, channel.Identifier, self, theirNonce, ourNonce);
        if (CryptographicOperations.FixedTimeEquals(theirs.Data, expected)) return;
        channel.DemoteTrust();
        await channel.ClosePeerChannelAsync("untrusted", cancellationToken);
    }

    // What `sender` proves to `receiver`: bound to the pair and to this run's nonces, so it cannot be replayed.
    private static byte[] Proof(byte[] key, PeerId sender, PeerId receiver, byte[] senderNonce, byte[] receiverNonce)
    {
        byte[] message = [.. "p2pnet-trust/1"u8, .. sender.Bytes, .. receiver.Bytes, .. senderNonce, .. receiverNonce];
        return HMACSHA256.HashData(key, message);
    }
}

/// <summary>The PeerTrustHandshake sample between members and against an outsider.</summary>
public sealed class PeerTrustHandshakeTests
{
    private static readonly byte[] NetworkKey = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public async Task Two_members_end_at_Enhanced_trust_and_exchange_a_DataTransmission()
    {
        await using var a = await StartMemberAsync(NetworkKey);
        await using var b = await StartMemberAsync(NetworkKey);
        var added = Next<PeerChannel>(h => b.PeerAdded += h);

        var channel = await a.ConnectAsync(AddressOf(b)).WaitAsync(Wait);
        var inbound = await added;

        Assert.Equal(PeerTrustLevel.Enhanced, channel.TrustLevel);
        Assert.Equal(PeerTrustLevel.Enhanced, inbound.TrustLevel);
        Assert.Same(channel, Assert.Single(a.ActivePeerChannels));
        Assert.Same(inbound, Assert.Single(b.ActivePeerChannels));
        Assert.Equal(0, channel.PacketsDropped);
        Assert.Equal(0, inbound.PacketsDropped);

        var data = Next<DataTransmissionReceivedEventArgs>(h => b.DataTransmissionReceived += h, e => e.Packet.Name == "report.bin");
        await channel.SendAsync(new DataTransmissionPacket([1, 2, 3, 4], DataPayloadFormat.File, "report.bin"));
        var received = await data;
        Assert.Same(inbound, received.Channel);
        Assert.Equal([1, 2, 3, 4], received.Packet.Data);
    }

    [Fact]
    public async Task An_outsider_with_the_wrong_key_is_closed_never_added_and_its_early_DataTransmission_is_dropped()
    {
        var log = new CapturingLoggerProvider();
        await using var member = await StartMemberAsync(NetworkKey, log);
        await using var outsider = await StartMemberAsync(RandomNumberGenerator.GetBytes(32));
        // The outsider also pushes a DataTransmission before the handshake: the member's channel is at Default then.
        var wrongKeyHandshake = outsider.TrustPolicy.DefaultTrustProtocol!;
        outsider.TrustPolicy.DefaultTrustProtocol = async (channel, ct) =>
        {
            await channel.SendAsync(new DataTransmissionPacket([6, 6, 6], name: "too early"), ct);
            await wrongKeyHandshake(channel, ct);
        };
        PeerChannel? atMember = null, atOutsider = null;
        member.ChannelOpening += (_, c) => atMember = c;
        outsider.ChannelOpening += (_, c) => atOutsider = c;
        int added = 0, dataEvents = 0;
        member.PeerAdded += (_, _) => Interlocked.Increment(ref added);
        member.DataTransmissionReceived += (_, e) => { if (e.Packet.Name == "too early") Interlocked.Increment(ref dataEvents); };

        var refused = await Assert.ThrowsAsync<PeerNetworkException>(() => outsider.ConnectAsync(AddressOf(member)).WaitAsync(Wait));

        Assert.Equal(PeerNetworkError.TrustRejected, refused.Error);
        Assert.NotNull(atMember);
        await atMember.Completion.WaitAsync(Wait);
        Assert.Equal(PeerChannelState.Closed, atMember.State);
        // The member closes it as untrusted, or is told so by the outsider, whose close also cancels the
        // member's (inbound) protocol: either way it is refused.
        Assert.NotNull(atMember.CloseReason);
        Assert.NotNull(atOutsider);
        Assert.Equal(PeerChannelState.Closed, atOutsider.State);
        Assert.Contains("untrusted", atOutsider.CloseReason, StringComparison.Ordinal);
        Assert.True(atMember.TrustLevel <= PeerTrustLevel.Default);
        Assert.Equal(1, atMember.PacketsDropped);
        Assert.Equal(0, Volatile.Read(ref added));
        Assert.Equal(0, Volatile.Read(ref dataEvents));
        Assert.Empty(member.ActivePeerChannels);
        Assert.Empty(outsider.ActivePeerChannels);
        await log.WaitForAsync(m => m.StartsWith($"Dropped a DataTransmission packet from {outsider.Identifier}: trust level Default is below Enhanced", StringComparison.Ordinal), Wait);
        await log.WaitForAsync(m => m.StartsWith($"Peer channel with {outsider.Identifier} closed: ", StringComparison.Ordinal), Wait);
    }

    [Fact]
    public async Task A_member_dialing_an_outsider_fails_too()
    {
        await using var member = await StartMemberAsync(NetworkKey);
        await using var outsider = await StartMemberAsync(RandomNumberGenerator.GetBytes(32));
        var closedAtOutsider = Next<PeerChannel>(h => outsider.ChannelOpening += h);

        var refused = await Assert.ThrowsAsync<PeerNetworkException>(() => member.ConnectAsync(AddressOf(outsider)).WaitAsync(Wait));

        Assert.Equal(PeerNetworkError.TrustRejected, refused.Error);
        await (await closedAtOutsider).Completion.WaitAsync(Wait);
        Assert.Empty(member.ActivePeerChannels);
        Assert.Empty(outsider.ActivePeerChannels);
    }

    [Fact]
    public void The_doc_shows_the_code_the_tests_run()
    {
        string doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "peer-trust-handshake.md"));
        string source = Normalize(File.ReadAllText(Path.Combine(RepoPaths.Root, "tests", "P2PNet.Tests", "Peers", "PeerTrustHandshakeTests.cs")));
        var blocks = doc.Split("```").Where((_, i) => i % 2 == 1).Where(b => b.StartsWith("csharp", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, blocks.Count);
        foreach (var block in blocks) Assert.Contains(Normalize(block["csharp".Length..]), source, StringComparison.Ordinal);
        Assert.Contains(blocks, b => b.Contains("public static class PeerTrustHandshake", StringComparison.Ordinal));

        static string Normalize(string text) =>
            string.Join('\n', text.ReplaceLineEndings("\n").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));
    }

    /// <summary>A member: the wiring shown in docs/peer-trust-handshake.md.</summary>
    private static async Task<PeerNetwork> StartMemberAsync(byte[] networkKey, CapturingLoggerProvider? log = null)
    {
        var options = new PeerNetworkOptions { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")], TrustProtocolTimeout = TimeSpan.FromSeconds(10) };
        var network = new PeerNetwork(options, log?.CreateFactory());
        network.TrustPolicy.AllowDefaultCommunication = true;
        network.TrustPolicy.AllowEnhancedPacketExchange = false;
        network.TrustPolicy.RunDefaultTrustProtocol = true;
        network.TrustPolicy.DefaultTrustProtocol = PeerTrustHandshake.Create(network, networkKey);
        await network.StartAsync();
        return network;
    }
}
