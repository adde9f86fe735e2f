using System.CommandLine;
using System.CommandLine.Help;
using System.Runtime.InteropServices;
using P2PNet.Cli;

// A named root rather than RootCommand, so that help shows "p2pnet" whatever the assembly file is called.
var root = new Command("p2pnet", "p2pnet: a libp2p-compatible peer-to-peer node (TCP, Noise, yamux, ping, identify) and peer chat.")
{
    new HelpOption(),
    new VersionOption(),
};
root.Subcommands.Add(ChatCommand.Create());
root.Subcommands.Add(ListenCommand.Create());
root.Subcommands.Add(PingCommand.Create());
root.Subcommands.Add(PerfCommand.Create());
root.Subcommands.Add(ShareCommand.Create());
root.Subcommands.Add(GetCommand.Create());
root.Subcommands.Add(IdCommand.Create());
root.Subcommands.Add(BootstrapCommand.Create());
root.SetAction(parse => new HelpAction().Invoke(parse));
// System.CommandLine 2.0 leaves Ctrl+C/SIGTERM alone unless a termination timeout is set: without it the
// actions' CancellationToken never fires and the process dies at once (no DisconnectPackets, no cleanup).
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(5) };
var parse = root.Parse(args);
// One line naming the option and exit code 2, instead of every error followed by the whole help.
if (parse.Errors.Count > 0) return CliRun.UsageError(parse);
// System.CommandLine registers its signal handlers only once the action has run to its first await (a key file
// read, a listener started, a TCP connect made): Ctrl+C before then would kill the process without a word.
using var interrupted = new CancellationTokenSource();
using var onSigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, CliRun.OnSignal(interrupted));
using var onSigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, CliRun.OnSignal(interrupted));
return await parse.InvokeAsync(invocation, interrupted.Token).ConfigureAwait(false);
