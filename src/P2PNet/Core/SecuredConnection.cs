namespace P2PNet.Core;

/// <summary>A connection after its security handshake: an encrypted stream and the authenticated remote.</summary>
/// <param name="Stream">The secured stream; disposing it closes the connection.</param>
/// <param name="RemotePeerId">The remote PeerId, proven by the handshake.</param>
/// <param name="RemotePublicKey">The remote identity key.</param>
public sealed record SecuredConnection(Stream Stream, PeerId RemotePeerId, PublicKey RemotePublicKey);
