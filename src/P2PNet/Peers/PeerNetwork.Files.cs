using P2PNet.Protocols.Transfer;

namespace P2PNet.Peers;

public sealed partial class PeerNetwork
{
    private readonly Lock _filesLock = new();
    private PeerFiles? _files;

    /// <summary>
    /// Files: share, offer on channels, and fetch verified from several peers (<c>/p2pnet/transfer/1.0.0</c>).
    /// Created on first use, which registers the protocol on <see cref="Host"/>.
    /// </summary>
    public PeerFiles Files
    {
        get
        {
            if (Volatile.Read(ref _files) is { } files) return files;
            lock (_filesLock)
            {
                ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
                return _files ??= new PeerFiles(this, TransferOptions.Default, _loggerFactory);
            }
        }
    }
}
