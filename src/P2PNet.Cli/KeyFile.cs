using P2PNet.Core;

namespace P2PNet.Cli;

/// <summary>
/// The identity key file as the commands use it: loaded or created (its folder 0700, the file 0600), a warning
/// when others may read it, and every way it can be unusable (garbage, empty, a directory, no permission) as one
/// <see cref="CliException"/> line instead of a stack trace.
/// </summary>
internal static class KeyFile
{
    private const UnixFileMode OthersMayRead = UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>Loads the identity in <paramref name="path"/>, or creates it there; <c>Created</c> says which.</summary>
    /// <exception cref="CliException">The file cannot be used (exit code 1).</exception>
    public static async Task<(Identity Identity, bool Created)> LoadOrCreateAsync(string path, CancellationToken ct)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new CliException($"key file {full} is a directory; pass a file with --key");
        bool exists = File.Exists(full);
        try
        {
            if (exists) WarnIfReadableByOthers(full);
            else if (Path.GetDirectoryName(full) is { } dir && !Directory.Exists(dir))
            {
                // The key is a secret: its folder (e.g. ~/.config/p2pnet) is private to the user.
                if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
                else Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            return (await Identity.LoadOrCreateAsync(full, ct).ConfigureAwait(false), !exists);
        }
        catch (FormatException ex)
        {
            throw new CliException($"key file {full} is not a libp2p private key ({ex.Message}); move it away or pass another --key", CliExit.Failure, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new CliException($"cannot {(exists ? "read" : "create")} key file {full}: permission denied", CliExit.Failure, ex);
        }
        catch (IOException ex)
        {
            throw new CliException($"cannot {(exists ? "read" : "create")} key file {full}: {ex.Message}", CliExit.Failure, ex);
        }
    }

    /// <summary>The identity in <paramref name="path"/>, or a throwaway one when it is null (commands with an optional --key).</summary>
    public static async Task<Identity> LoadOrEphemeralAsync(string? path, CancellationToken ct) =>
        path is null ? Identity.Generate() : (await LoadOrCreateAsync(path, ct).ConfigureAwait(false)).Identity;

    private static void WarnIfReadableByOthers(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        var mode = File.GetUnixFileMode(path);
        if ((mode & OthersMayRead) != 0)
            Console.Error.WriteLine($"warning: key file {path} is readable by others (mode {Convert.ToString((int)mode, 8)}); run chmod 600 {path}");
    }
}
