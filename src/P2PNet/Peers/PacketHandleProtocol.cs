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
    private readonly AsyncLocal<PeerChannel?> _current = new();
    private readonly PeerNetwork _network;
    private readonly Action<string> _defaultIdentity;
    private readonly Action<string> _defaultDisconnect;
    private readonly Action<string> _defaultPeerGroup;
    private readonly Action<string> _defaultDataTransmission;
    private readonly Action<string> _defaultPureMessage;

    internal PacketHandleProtocol(PeerNetwork network)
    {
        _network = network;
        _defaultIdentity = json => _network.HandleIdentity(Require(), PacketCodec.FromJson<IdentityPacket>(json));
        _defaultDisconnect = json => _network.HandleDisconnect(Require(), PacketCodec.FromJson<DisconnectPacket>(json));
        _defaultPeerGroup = json => _network.HandlePeerGroup(Require(), PacketCodec.FromJson<CollectionSharePacket>(json));
        _defaultDataTransmission = json => _network.HandleDataTransmission(Require(), PacketCodec.FromJson<DataTransmissionPacket>(json));
        _defaultPureMessage = json => _network.HandlePureMessage(Require(), PacketCodec.FromJson<PureMessagePacket>(json));
        RestoreDefaults();
    }

    /// <summary>Handles inbound IdentityPackets. Default: updates the sender in KnownPeers (its identifier must match the channel's).</summary>
    public Action<string> HandleIdentityPacketAction { get; set; } = null!;

    /// <summary>Handles inbound DisconnectPackets. Default: closes that channel, without retry.</summary>
    public Action<string> HandleDisconnectPacketAction { get; set; } = null!;

    /// <summary>Handles inbound peer-group CollectionSharePackets. Default: merges the listed peers into KnownPeers (validated, bounded, never ourselves or blocked peers).</summary>
    public Action<string> HandlePeerGroupPacketAction { get; set; } = null!;

    /// <summary>Handles inbound DataTransmissionPackets. Default: raises <see cref="PeerNetwork.DataTransmissionReceived"/>.</summary>
    public Action<string> HandleDataTransmissionPacketAction { get; set; } = null!;

    /// <summary>Handles inbound PureMessagePackets. Default: raises <see cref="PeerNetwork.MessageReceived"/> and logs the message.</summary>
    public Action<string> HandlePureMessagePacketAction { get; set; } = null!;

    /// <summary>The channel whose packet is being handled, inside a handler call; null elsewhere.</summary>
    public PeerChannel? CurrentChannel => _current.Value;

    /// <summary>Puts every handler back to its default.</summary>
    public void RestoreDefaults()
    {
        HandleIdentityPacketAction = _defaultIdentity;
        HandleDisconnectPacketAction = _defaultDisconnect;
        HandlePeerGroupPacketAction = _defaultPeerGroup;
        HandleDataTransmissionPacketAction = _defaultDataTransmission;
        HandlePureMessagePacketAction = _defaultPureMessage;
    }

    /// <summary>
    /// Invokes the handler of the packet's type. A default handler gets the packet itself (the same
    /// behaviour as parsing its JSON, without the round trip); a replaced one gets the JSON form.
    /// </summary>
    internal void Dispatch(PeerChannel channel, NetworkPacket packet)
    {
        var previous = _current.Value;
        _current.Value = channel;
        try
        {
            switch (packet)
            {
                case IdentityPacket p:
                    if (ReferenceEquals(HandleIdentityPacketAction, _defaultIdentity)) _network.HandleIdentity(channel, p);
                    else HandleIdentityPacketAction(PacketCodec.ToJson(p));
                    break;
                case DisconnectPacket p:
                    if (ReferenceEquals(HandleDisconnectPacketAction, _defaultDisconnect)) _network.HandleDisconnect(channel, p);
                    else HandleDisconnectPacketAction(PacketCodec.ToJson(p));
                    break;
                case CollectionSharePacket p:
                    if (ReferenceEquals(HandlePeerGroupPacketAction, _defaultPeerGroup)) _network.HandlePeerGroup(channel, p);
                    else HandlePeerGroupPacketAction(PacketCodec.ToJson(p));
                    break;
                case DataTransmissionPacket p:
                    if (ReferenceEquals(HandleDataTransmissionPacketAction, _defaultDataTransmission)) _network.HandleDataTransmission(channel, p);
                    else HandleDataTransmissionPacketAction(PacketCodec.ToJson(p));
                    break;
                case PureMessagePacket p:
                    if (ReferenceEquals(HandlePureMessagePacketAction, _defaultPureMessage)) _network.HandlePureMessage(channel, p);
                    else HandlePureMessagePacketAction(PacketCodec.ToJson(p));
                    break;
            }
        }
        finally
        {
            _current.Value = previous;
        }
    }

    private PeerChannel Require() =>
        _current.Value ?? throw new InvalidOperationException("default packet handlers run inside a channel's dispatch (CurrentChannel is null)");
}
