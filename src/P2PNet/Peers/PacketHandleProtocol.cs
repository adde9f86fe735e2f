using P2PNet.Peers.Packets;

namespace P2PNet.Peers;

/// <summary>
/// The handlers a <see cref="PeerChannel"/> invokes for each packet type that passes the trust policy,
/// per network. Each is an <see cref="Action{T}"/> of the packet's JSON form, with a working default:
/// identity updates the peer in KnownPeers; disconnect closes that channel without retry; peer group merges
/// the listed peers into KnownPeers; data transmission raises <see cref="PeerNetwork.DataTransmissionReceived"/>;
/// pure message raises <see cref="PeerNetwork.MessageReceived"/> and logs it. The channel always invokes
/// them, whether or not DataReceived has subscribers: assign empty methods to route everything through
/// DataReceived alone. During a call, <see cref="CurrentChannel"/> tells which channel the packet came on.
/// </summary>
public sealed class PacketHandleProtocol
{
    /// <summary>One packet type's row: the handler in place, its default, and the default's direct (no JSON) form.</summary>
    private sealed class Entry(Action<PeerChannel, NetworkPacket> direct, Action<string> defaultAction)
    {
        public Action<PeerChannel, NetworkPacket> Direct { get; } = direct;
        public Action<string> Default { get; } = defaultAction;
        public Action<string> Current { get; set; } = defaultAction;
    }

    private readonly AsyncLocal<PeerChannel?> _current = new();
    // Indexed by PacketType; null for values that are no packet type.
    private readonly Entry?[] _table = new Entry?[(int)PacketType.PureMessage + 1];

    internal PacketHandleProtocol(
        Action<PeerChannel, IdentityPacket> identity,
        Action<PeerChannel, DisconnectPacket> disconnect,
        Action<PeerChannel, CollectionSharePacket> peerGroup,
        Action<PeerChannel, DataTransmissionPacket> dataTransmission,
        Action<PeerChannel, PureMessagePacket> pureMessage)
    {
        Register(PacketType.Identity, identity);
        Register(PacketType.Disconnect, disconnect);
        Register(PacketType.CollectionShare, peerGroup);
        Register(PacketType.DataTransmission, dataTransmission);
        Register(PacketType.PureMessage, pureMessage);
    }

    private void Register<T>(PacketType type, Action<PeerChannel, T> handler) where T : NetworkPacket =>
        _table[(int)type] = new Entry((channel, packet) => handler(channel, (T)packet), json => handler(Require(), PacketCodec.FromJson<T>(json)));

    /// <summary>Handles inbound IdentityPackets. Default: updates the sender in KnownPeers (its identifier must match the channel's).</summary>
    public Action<string> HandleIdentityPacketAction
    {
        get => Row(PacketType.Identity).Current;
        set => Row(PacketType.Identity).Current = value;
    }

    /// <summary>Handles inbound DisconnectPackets. Default: closes that channel, without retry.</summary>
    public Action<string> HandleDisconnectPacketAction
    {
        get => Row(PacketType.Disconnect).Current;
        set => Row(PacketType.Disconnect).Current = value;
    }

    /// <summary>Handles inbound peer-group CollectionSharePackets. Default: merges the listed peers into KnownPeers (validated, bounded, never ourselves or blocked peers).</summary>
    public Action<string> HandlePeerGroupPacketAction
    {
        get => Row(PacketType.CollectionShare).Current;
        set => Row(PacketType.CollectionShare).Current = value;
    }

    /// <summary>Handles inbound DataTransmissionPackets. Default: raises <see cref="PeerNetwork.DataTransmissionReceived"/>.</summary>
    public Action<string> HandleDataTransmissionPacketAction
    {
        get => Row(PacketType.DataTransmission).Current;
        set => Row(PacketType.DataTransmission).Current = value;
    }

    /// <summary>Handles inbound PureMessagePackets. Default: raises <see cref="PeerNetwork.MessageReceived"/> and logs the message.</summary>
    public Action<string> HandlePureMessagePacketAction
    {
        get => Row(PacketType.PureMessage).Current;
        set => Row(PacketType.PureMessage).Current = value;
    }

    /// <summary>
    /// The channel whose packet is being handled, inside a handler call (and inside that channel's DataReceived and
    /// network PacketReceived events, which run in the same dispatch); null elsewhere.
    /// </summary>
    public PeerChannel? CurrentChannel => _current.Value;

    /// <summary>Puts every handler back to its default.</summary>
    public void RestoreDefaults()
    {
        foreach (var entry in _table)
        {
            if (entry is not null) entry.Current = entry.Default;
        }
    }

    /// <summary>
    /// Invokes the handler of the packet's type (the channel has checked its trust level already). A default handler
    /// gets the packet itself (the same behaviour as parsing its JSON, without the round trip); a replaced one gets
    /// the JSON form.
    /// </summary>
    internal void Dispatch(PeerChannel channel, NetworkPacket packet)
    {
        var previous = Enter(channel);
        try
        {
            DispatchEntered(channel, packet);
        }
        finally
        {
            Exit(channel, previous);
        }
    }

    /// <summary>
    /// Makes <paramref name="channel"/> the <see cref="CurrentChannel"/> of the calling flow and returns the previous
    /// one for <see cref="Exit"/>. A channel's read loop enters once per batch of packets it has read, not per packet:
    /// setting an AsyncLocal allocates a new ExecutionContext each time.
    /// </summary>
    internal PeerChannel? Enter(PeerChannel channel)
    {
        var previous = _current.Value;
        if (!ReferenceEquals(previous, channel)) _current.Value = channel;
        return previous;
    }

    /// <summary>Puts back the <see cref="CurrentChannel"/> that <see cref="Enter"/> returned.</summary>
    internal void Exit(PeerChannel channel, PeerChannel? previous)
    {
        if (!ReferenceEquals(previous, channel)) _current.Value = previous;
    }

    /// <summary>As <see cref="Dispatch"/>, between <see cref="Enter"/> and <see cref="Exit"/> for <paramref name="channel"/>.</summary>
    internal void DispatchEntered(PeerChannel channel, NetworkPacket packet)
    {
        int index = (int)packet.Type;
        if ((uint)index >= (uint)_table.Length || _table[index] is not { } entry) return;
        var handler = entry.Current;
        if (ReferenceEquals(handler, entry.Default)) entry.Direct(channel, packet);
        else handler(PacketCodec.ToJson(packet));
    }

    private Entry Row(PacketType type) => _table[(int)type]!;

    private PeerChannel Require() =>
        _current.Value ?? throw new InvalidOperationException("default packet handlers run inside a channel's dispatch (CurrentChannel is null)");
}
