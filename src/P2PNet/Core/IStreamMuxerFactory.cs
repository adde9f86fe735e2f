namespace P2PNet.Core;

/// <summary>
/// A stream multiplexer the upgrader can negotiate (by multistream-select, under <see cref="ProtocolId"/>) on a
/// secured connection. yamux is the default.
/// </summary>
public interface IStreamMuxerFactory
{
    /// <summary>The multistream-select id of the muxer, e.g. <c>/yamux/1.0.0</c>.</summary>
    string ProtocolId { get; }

    /// <summary>Starts a muxer session over <paramref name="secured"/>; the session owns and closes it.</summary>
    IStreamMuxer Create(Stream secured, bool isInitiator);
}
