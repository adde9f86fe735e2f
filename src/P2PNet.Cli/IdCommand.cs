using System.CommandLine;
using P2PNet.Core;

namespace P2PNet.Cli;

/// <summary><c>p2pnet id</c>: prints the local PeerId, creating the key file on first use.</summary>
internal static class IdCommand
{
    public static Command Create()
    {
        var key = CliOptions.Key();
        var command = new Command("id", "Print this node's PeerId (creates the key file on first use)") { key };
        command.SetAction(async (parse, ct) =>
        {
            using var identity = await Identity.LoadOrCreateAsync(parse.GetValue(key)!, ct).ConfigureAwait(false);
            Console.Out.WriteLine(identity.PeerId);
            return 0;
        });
        return command;
    }
}
