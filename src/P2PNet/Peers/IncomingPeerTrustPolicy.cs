using System.Collections.Concurrent;
using System.Net;
using P2PNet.Core;
using P2PNet.Peers.Packets;

namespace P2PNet.Peers;

/// <summary>
/// What incoming peers may do, per network. The flags can be changed at any time and apply to channels
/// opened afterwards; the block lists apply at once (matching peers are disconnected).
/// </summary>
public sealed class IncomingPeerTrustPolicy
{
    private readonly ConcurrentDictionary<IPAddress, byte> _blockedIPs = new();
    private readonly ConcurrentDictionary<PeerId, byte> _blockedIdentifiers = new();

    /// <summary>Peers may exchange PureMessage and Disconnect packets. Default true.</summary>
    public bool AllowDefaultCommunication { get; set; } = true;

    /// <summary>Peers may exchange every other packet type (Identity, CollectionShare, DataTransmission). Default false.</summary>
    public bool AllowEnhancedPacketExchange { get; set; }

    /// <summary>Run <see cref="DefaultTrustProtocol"/> when a channel opens. Default false.</summary>
    public bool RunDefaultTrustProtocol { get; set; }

    /// <summary>The routine run when a channel opens, if <see cref="RunDefaultTrustProtocol"/> is set.</summary>
    public PeerTrustProtocol? DefaultTrustProtocol { get; set; }

    /// <summary>Where incoming peers go for a decision. Default <see cref="IncomingPeerPlacement.EventBased"/>.</summary>
    public IncomingPeerPlacement IncomingPeerPlacement { get; set; } = IncomingPeerPlacement.EventBased;

    /// <summary>IP addresses whose connections are refused right after the handshake.</summary>
    public ICollection<IPAddress> BlockedIPs => _blockedIPs.Keys;

    /// <summary>Identifiers (PeerIds) whose connections are refused right after the handshake.</summary>
    public ICollection<PeerId> BlockedIdentifiers => _blockedIdentifiers.Keys;

    /// <summary>Raised when a block list changes, so the network can disconnect matching peers.</summary>
    internal event EventHandler? BlockListChanged;

    /// <summary>Blocks an IP address.</summary>
    public void BlockIP(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (_blockedIPs.TryAdd(Canonical(address), 0)) BlockListChanged?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>Unblocks an IP address.</summary>
    public bool UnblockIP(IPAddress address) => address is not null && _blockedIPs.TryRemove(Canonical(address), out _);

    /// <summary>Blocks an identifier.</summary>
    public void BlockIdentifier(PeerId identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        if (_blockedIdentifiers.TryAdd(identifier, 0)) BlockListChanged?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>Unblocks an identifier.</summary>
    public bool UnblockIdentifier(PeerId identifier) => identifier is not null && _blockedIdentifiers.TryRemove(identifier, out _);

    /// <summary>True when the address is blocked.</summary>
    public bool IsBlocked(IPAddress? address) => address is not null && _blockedIPs.ContainsKey(Canonical(address));

    /// <summary>True when the identifier is blocked.</summary>
    public bool IsBlocked(PeerId? identifier) => identifier is not null && _blockedIdentifiers.ContainsKey(identifier);

    /// <summary>The trust level a new channel starts at under the current flags.</summary>
    public PeerTrustLevel InitialTrustLevel =>
        AllowEnhancedPacketExchange ? PeerTrustLevel.Enhanced
        : AllowDefaultCommunication ? PeerTrustLevel.Default
        : PeerTrustLevel.None;

    /// <summary>The level a packet type needs: Default for PureMessage and Disconnect, Enhanced for the rest.</summary>
    public static PeerTrustLevel RequiredLevel(PacketType type) =>
        type is PacketType.PureMessage or PacketType.Disconnect ? PeerTrustLevel.Default : PeerTrustLevel.Enhanced;

    private static IPAddress Canonical(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
