using P2PNet.Core;

namespace P2PNet.Hosting;

/// <summary>
/// The identity loaded from <see cref="P2PNetSettings.KeyFile"/> (null without one: the network makes its own),
/// owned by the container so that it is disposed with it.
/// </summary>
internal sealed class NodeIdentity : IDisposable
{
    // A libp2p Ed25519 private-key protobuf is 68 bytes; anything much larger is not a key file.
    private const int MaxKeyFileLength = 4096;

    public NodeIdentity(string? keyFile) => Value = keyFile is null ? null : LoadOrCreate(keyFile);

    public Identity? Value { get; }

    // Synchronous on purpose: DI factories are synchronous, and this is one small read (or write) at start.
    private static Identity LoadOrCreate(string path)
    {
        var info = new FileInfo(path);
        if (info.Exists)
        {
            if (info.Length > MaxKeyFileLength) throw new FormatException($"{P2PNetSettings.SectionName}:KeyFile: {path} is too large to be a key file");
            return Identity.ImportPrivateKeyProtobuf(File.ReadAllBytes(path));
        }
        if (info.DirectoryName is { } dir) Directory.CreateDirectory(dir);
        var identity = Identity.Generate();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(path, options)) file.Write(identity.ExportPrivateKeyProtobuf());
        return identity;
    }

    public void Dispose() => Value?.Dispose();
}
