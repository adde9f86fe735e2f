using System.CommandLine;

namespace P2PNet.Cli;

/// <summary>
/// <c>p2pnet id</c>: prints the local PeerId (standard output) and whether the key file was created or loaded, and
/// where (standard error); with <c>--json</c>, <c>{"type":"id","peerId":…,"keyFile":…,"created":…}</c>.
/// </summary>
internal static class IdCommand
{
    public static Command Create()
    {
        var key = CliOptions.Key();
        var json = CliOptions.Json();
        var command = new Command("id", "Print this node's PeerId (creates the key file on first use)") { key, json };
        command.SetAction(CliRun.Guard(async (parse, ct) =>
        {
            string path = Path.GetFullPath(parse.GetValue(key)!);
            var (identity, created) = await KeyFile.LoadOrCreateAsync(path, ct).ConfigureAwait(false);
            using (identity)
            {
                if (parse.GetValue(json))
                {
                    CliJson.Write(new IdJson(identity.PeerId.ToString(), path, created), CliJsonContext.Default.IdJson);
                }
                else
                {
                    Console.Out.WriteLine(identity.PeerId);
                    Console.Error.WriteLine(created ? $"created key file {path}" : $"loaded key file {path}");
                }
            }
            return CliExit.Ok;
        }));
        return command;
    }
}
