namespace P2PNet.Peers.Packets;

/// <summary>
/// The channel-level greeting each side sends exactly once, as the first frame (type
/// <see cref="PacketCodec.HelloFrameType"/>), before any packet. It is not a <see cref="NetworkPacket"/>:
/// it is never handed to packet handlers.
/// </summary>
internal sealed class ChannelHello
{
    /// <summary>Creates an empty hello (for deserialization).</summary>
    public ChannelHello() { }

    /// <summary>Creates a hello for <paramref name="identifier"/>.</summary>
    public ChannelHello(string identifier, IEnumerable<string>? addresses = null, string? networkName = null, string? agentVersion = null)
    {
        Identifier = identifier;
        Addresses = addresses is null ? [] : [.. addresses];
        NetworkName = networkName;
        AgentVersion = agentVersion;
    }

    /// <summary>The sender's PeerId in text form (at most <see cref="PacketCodec.MaxIdentifierLength"/> characters).</summary>
    public string Identifier { get; set; } = "";

    /// <summary>Multiaddr texts the sender listens on (at most <see cref="PacketCodec.MaxAddressesPerPeer"/>).</summary>
    public List<string> Addresses { get; set; } = [];

    /// <summary>Optional name of the P2PNet network the sender belongs to.</summary>
    public string? NetworkName { get; set; }

    /// <summary>Optional display name of the sender's node.</summary>
    public string? DisplayName { get; set; }

    /// <summary>Optional software name and version.</summary>
    public string? AgentVersion { get; set; }

    /// <summary>
    /// The channel session (at most <see cref="PacketCodec.MaxSessionIdLength"/> characters): a dialer names a new one
    /// or the one it resumes, the listener answers with the same id (a new session, or resumed) or a fresh one (it
    /// does not hold the session asked for). Absent: a peer without acknowledgements or resumption.
    /// </summary>
    public string? Session { get; set; }

    /// <summary>
    /// Present when resuming <see cref="Session"/>: the sequence number of the last packet the sender received in it
    /// (0: none). The other side replays every packet after it.
    /// </summary>
    public long? Received { get; set; }
}
