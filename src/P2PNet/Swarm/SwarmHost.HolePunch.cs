using System.Net;
using P2PNet.Core;
using P2PNet.Transports.Tcp;
using P2PNet.Upgrade;

namespace P2PNet.Swarm;

// Hole punching (DCUtR) support: a TCP simultaneous open leaves both sockets "outbound", so the roles of the
// protocols on top are assigned, not derived from who connected. relay/DCUtR.md: the peer that answered the
// CONNECT (A, the dialer of the relayed connection) is the client (Noise initiator, multistream dialer), the one that
// sent it (B) the server, whichever SYN got through first. When B's SYN reaches A's listener before A dialed, A
// accepts it; the expectation registered here makes A upgrade it as the client all the same. It matches the peer's
// IP, not its port: behind a symmetric NAT, B's SYN comes from another port than the one B's CONNECT announced.
public sealed partial class SwarmHost
{
    private readonly Lock _punchLock = new();
    private readonly List<(PeerId Peer, IPEndPoint[] Remotes)> _holePunches = [];

    /// <summary>
    /// Until the returned handle is disposed, a connection accepted from the IP of one of <paramref name="remotes"/> is
    /// upgraded as the client of a hole punch with <paramref name="peer"/> (it must prove that PeerId).
    /// </summary>
    internal IDisposable ExpectHolePunch(PeerId peer, IReadOnlyList<IPEndPoint> remotes)
    {
        var entry = (peer, remotes.Select(Normalize).ToArray());
        lock (_punchLock) _holePunches.Add(entry);
        return new Expectation(this, entry);
    }

    private PeerId? HolePunchClientFor(TransportConnection raw)
    {
        if (raw.Transport != TcpTransport.Name || raw.RemoteAddress.ToIPEndPoint() is not { } remote) return null;
        var ip = Normalize(remote).Address;
        lock (_punchLock)
        {
            foreach (var (peer, remotes) in _holePunches)
                if (Array.Exists(remotes, r => r.Address.Equals(ip))) return peer;
        }
        return null;
    }

    private static IPEndPoint Normalize(IPEndPoint ep) => ep.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(ep.Address.MapToIPv4(), ep.Port) : ep;

    /// <summary>
    /// One hole-punch dial: a TCP connect from the listen port (no ephemeral fallback), then the upgrade in the
    /// role assigned (<paramref name="asClient"/>: Noise initiator and multistream dialer; else responder and
    /// listener), the remote proving <paramref name="peer"/>. The connection joins the table like any other.
    /// <paramref name="mark"/>, when given, is told when the TCP connection is up and when it is upgraded (timelines).
    /// </summary>
    internal async Task<Connection> DialHolePunchAsync(Multiaddr address, PeerId peer, bool asClient, CancellationToken cancellationToken, Action<string>? mark = null)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        CheckDial(peer, address, gated: false);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stoppingToken);
        var ct = linked.Token;
        var transport = TransportFor(address);
        var raw = transport is TcpTransport tcp
            ? await tcp.DialAsync(address.WithoutPeerId(), listenPortOnly: true, ct).ConfigureAwait(false)
            : await transport.DialAsync(address.WithoutPeerId(), ct).ConfigureAwait(false);
        mark?.Invoke($"tcp connected {address}");
        var upgraded = await UpgradeHolePunchAsync(raw, peer, asClient, ct).ConfigureAwait(false);
        mark?.Invoke("upgraded");
        if (AdmitSecured(upgraded) is { } refusal)
        {
            await upgraded.Muxer.DisposeAsync().ConfigureAwait(false);
            throw new ConnectionRefusedException(refusal, upgraded.RemotePeerId, byRemote: false);
        }
        return Register(upgraded, inboundSlot: null);
    }

    private async Task<UpgradedConnection> UpgradeHolePunchAsync(TransportConnection raw, PeerId peer, bool asClient, CancellationToken ct)
    {
        var direction = asClient ? ConnectionDirection.Outbound : ConnectionDirection.Inbound;
        var upgraded = await _metrics.TimeHandshakeAsync(direction, () => asClient
            ? _upgrader.UpgradeOutboundAsync(raw, peer, ct)
            : _upgrader.UpgradeInboundAsync(raw, ct)).ConfigureAwait(false);
        if (upgraded.RemotePeerId != peer)
        {
            await upgraded.Muxer.DisposeAsync().ConfigureAwait(false);
            throw new DialException(DialError.PeerIdMismatch, peer, $"the hole punch to {peer} at {raw.RemoteAddress} reached {upgraded.RemotePeerId}");
        }
        return upgraded;
    }

    private sealed class Expectation(SwarmHost host, (PeerId, IPEndPoint[]) entry) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            lock (host._punchLock) host._holePunches.Remove(entry);
        }
    }
}
