using P2PNet.Core;

namespace P2PNet.Swarm;

/// <summary>Serves one inbound stream whose protocol was negotiated; the stream is disposed when it returns.</summary>
/// <param name="stream">The stream, with <see cref="MuxedStream.Protocol"/> set.</param>
/// <param name="connection">The connection the stream belongs to.</param>
/// <param name="cancellationToken">Cancelled when the connection or the host closes.</param>
public delegate Task StreamHandler(MuxedStream stream, Connection connection, CancellationToken cancellationToken);
