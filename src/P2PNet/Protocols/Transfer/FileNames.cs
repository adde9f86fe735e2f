namespace P2PNet.Protocols.Transfer;

/// <summary>Checks on names that come from peers, so a file is never written outside the folder it is meant for.</summary>
public static class FileNames
{
    /// <summary>Longest name accepted (bytes of UTF-8 are checked by the codecs; this is characters).</summary>
    public const int MaxLength = 255;

    /// <summary>True for a plain file name: no folder separators, not "." or "..", no control or invalid characters.</summary>
    public static bool IsSafe(string? name) =>
        !string.IsNullOrWhiteSpace(name) && name.Length <= MaxLength && name is not ("." or "..")
        && name.IndexOfAny(['/', '\\', ':']) < 0 && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0
        && !name.Any(char.IsControl) && !Path.IsPathRooted(name) && name.Trim() == name;
}
