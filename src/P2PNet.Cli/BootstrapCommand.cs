using System.CommandLine;
using P2PNet.Bootstrap;

namespace P2PNet.Cli;

/// <summary>
/// <c>p2pnet bootstrap</c>: runs the bootstrap server in-process (the same as
/// <c>dotnet run --project src/P2PNet.Bootstrap</c>). Further arguments go to the server's configuration,
/// e.g. <c>p2pnet bootstrap --urls http://0.0.0.0:5080 --Bootstrap:Mode Authority</c>; <c>p2pnet bootstrap
/// hash-password PASSWORD</c> prints a hash for <c>Bootstrap:Admin:PasswordHash</c>.
/// </summary>
internal static class BootstrapCommand
{
    public static Command Create()
    {
        var command = new Command("bootstrap", "Run a bootstrap server (peer registry, admin dashboard); extra arguments are ASP.NET configuration such as --urls and --Bootstrap:Mode")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction(async (parse, ct) => await BootstrapServer.RunAsync([.. parse.UnmatchedTokens], ct).ConfigureAwait(false));
        return command;
    }
}
