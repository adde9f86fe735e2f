using System.CommandLine;

namespace P2PNet.Cli;

/// <summary>Options shared by several commands.</summary>
internal static class CliOptions
{
    public static string DefaultKeyPath =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config"), "p2pnet", "identity.key");

    public static Option<string> Key() => new("--key")
    {
        Description = "Identity key file (libp2p private-key protobuf, created with mode 0600 on first use)",
        DefaultValueFactory = _ => DefaultKeyPath,
    };

    public static Option<bool> Verbose() => new("--verbose", "-v") { Description = "Log debug detail to standard error" };
}
