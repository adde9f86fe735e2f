using Microsoft.Win32.SafeHandles;
using P2PNet.Core;

namespace P2PNet.Protocols.Transfer;

/// <summary>A file served by a <see cref="TransferService"/>: its id, name, size and who may fetch it.</summary>
public sealed class SharedFile : IDisposable
{
    internal SharedFile(string path, TreeFile tree, SafeFileHandle data, byte[] secret, IReadOnlySet<PeerId>? allowedPeers)
    {
        Path = path;
        Tree = tree;
        Data = data;
        Secret = secret;
        AllowedPeers = allowedPeers;
    }

    /// <summary>The file's content id.</summary>
    public ContentId Id => Tree.Id;

    /// <summary>Full path of the shared file.</summary>
    public string Path { get; }

    /// <summary>File name offered to fetchers (no folders).</summary>
    public string Name => System.IO.Path.GetFileName(Path);

    /// <summary>Size in bytes.</summary>
    public long Size => Tree.Size;

    /// <summary>The ticket secret (16 random bytes) when shared by ticket, else empty.</summary>
    public ReadOnlyMemory<byte> Secret { get; }

    /// <summary>When set, exactly these peers may fetch (the secret and the service's authorization are not consulted).</summary>
    public IReadOnlySet<PeerId>? AllowedPeers { get; }

    internal TreeFile Tree { get; }

    internal SafeFileHandle Data { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Tree.Dispose();
        Data.Dispose();
    }
}
