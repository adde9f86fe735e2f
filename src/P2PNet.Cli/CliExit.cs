namespace P2PNet.Cli;

/// <summary>The documented exit codes of every command.</summary>
internal static class CliExit
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>A runtime failure: unreachable peer, port in use, unreadable key file.</summary>
    public const int Failure = 1;

    /// <summary>A usage error: unknown option, missing or malformed argument.</summary>
    public const int Usage = 2;

    /// <summary>Ctrl+C (SIGINT) before the command got going (128 + signal 2, as shells report it).</summary>
    public const int Interrupted = 130;
}
