using System.Net;
using System.Net.Sockets;
using P2PNet.Core;
using P2PNet.Tests.Support;
using static P2PNet.Tests.Cli.CliProcess;

namespace P2PNet.Tests.Cli;

/// <summary>Every everyday mistake is one line on standard error and a documented exit code (2 usage, 1 runtime, 130 Ctrl+C).</summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class CliErrorTests
{
    [Fact]
    public async Task An_unusable_key_file_is_one_line_without_a_stack_trace_in_every_command()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("garbage.key"), "this is not a key");
        File.WriteAllBytes(dir.File("empty.key"), []);
        Directory.CreateDirectory(dir.File("folder.key"));
        File.WriteAllText(dir.File("plain-file"), "x");
        (string Key, string Says)[] keys =
        [
            (dir.File("garbage.key"), "is not a libp2p private key"),
            (dir.File("empty.key"), "is not a libp2p private key"),
            (dir.File("folder.key"), "is a directory"),
            // Unwritable even for root: its folder would have to be a regular file.
            (Path.Combine(dir.File("plain-file"), "identity.key"), "cannot create key file"),
        ];
        using var target = Identity.Generate();
        foreach (var (key, says) in keys)
        {
            foreach (string[] args in new[]
                     {
                         new[] { "id", "--key", key },
                         ["chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", key],
                         ["listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", key],
                         ["ping", $"/ip4/127.0.0.1/tcp/1/p2p/{target.PeerId}", "--key", key],
                     })
            {
                File.SetUnixFileMode(dir.File("garbage.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite); // no "readable by others" warning here
                File.SetUnixFileMode(dir.File("empty.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
                var (code, stdout, stderr) = await RunAsync(args);
                Assert.True(code == 1, $"{string.Join(' ', args)}: exit {code}\n{stderr}");
                string line = AssertOneErrorLine(stderr);
                Assert.Contains(says, line, StringComparison.Ordinal);
                Assert.Equal("", stdout);
            }
        }
    }

    [Fact]
    public async Task Id_creates_the_default_key_in_a_private_folder_says_so_then_loads_it_and_warns_when_others_may_read_it()
    {
        using var home = new TempDir();
        var env = new Dictionary<string, string> { ["HOME"] = home.Path, ["XDG_CONFIG_HOME"] = "" };
        string folder = Path.Combine(home.Path, ".config", "p2pnet");
        string key = Path.Combine(folder, "identity.key");

        string first;
        await using (var id = LineProcess.StartCliWith(env, "id"))
        {
            first = await id.NextLineAsync(Wait);
            Assert.Equal(0, await id.WaitForExitAsync(Wait));
            Assert.Equal($"created key file {key}", id.StandardError.Trim());
        }
        PeerId.Parse(first);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));

        await using (var id = LineProcess.StartCliWith(env, "id", "--json"))
        {
            string json = await id.NextLineAsync(Wait);
            Assert.Equal(0, await id.WaitForExitAsync(Wait));
            Assert.Equal($$"""{"type":"id","peerId":"{{first}}","keyFile":"{{key}}","created":false}""", json);
            Assert.Equal("", id.StandardError);
        }

        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using (var id = LineProcess.StartCliWith(env, "id"))
        {
            Assert.Equal(first, await id.NextLineAsync(Wait));
            Assert.Equal(0, await id.WaitForExitAsync(Wait));
            var lines = Lines(id.StandardError);
            Assert.Equal($"warning: key file {key} is readable by others (mode 644); run chmod 600 {key}", lines[0]);
            Assert.Equal($"loaded key file {key}", lines[1]);
        }
    }

    [Fact]
    public async Task Usage_errors_exit_2_with_one_line_naming_the_option_and_a_hint_to_help()
    {
        (string[] Args, string Names, string Help)[] cases =
        [
            (["chat", "--frob"], "--frob", "p2pnet chat --help"),
            (["ping"], "MULTIADDR", "p2pnet ping --help"),
            (["ping", "/ip4/127.0.0.1/tcp/1", "-c", "abc"], "--count", "p2pnet ping --help"),
            (["ping", "/ip4/127.0.0.1/tcp/1", "-c", "0"], "--count", "p2pnet ping --help"),
            (["chat", "--target-peers", "-1"], "--target-peers", "p2pnet chat --help"),
            (["chat", "--broadcast", "--broadcast-port", "70000"], "--broadcast-port", "p2pnet chat --help"),
            (["listen", "--log-level", "loud"], "--log-level", "p2pnet listen --help"),
            (["bootstrap", "--url", "http://127.0.0.1:1"], "--url", "p2pnet bootstrap --help"),
            (["bootstrap", "--mode", "sometimes"], "--mode", "p2pnet bootstrap --help"),
            (["frob"], "frob", "p2pnet --help"),
            // Found after parsing, by the command itself: the same shape.
            (["chat", "--no-peer-exchange"], "--no-peer-exchange", "p2pnet chat --help"),
            (["chat", "--peer", "garbage"], "--peer", "p2pnet chat --help"),
            (["chat", "--must-be-authority"], "--must-be-authority", "p2pnet chat --help"),
            (["listen", "--listen", "garbage"], "--listen", "p2pnet listen --help"),
            (["ping", "garbage"], "garbage", "p2pnet ping --help"),
        ];
        foreach (var (args, names, help) in cases)
        {
            var (code, stdout, stderr) = await RunAsync(args);
            Assert.True(code == 2, $"{string.Join(' ', args)}: exit {code}\n{stderr}");
            string line = AssertOneErrorLine(stderr);
            Assert.Contains(names, line, StringComparison.Ordinal);
            Assert.Contains($"'{help}'", line, StringComparison.Ordinal);
            Assert.DoesNotContain("Usage:", stdout + stderr, StringComparison.Ordinal); // not the whole help
        }

        // A discovery option without its mechanism names only what was typed, never the hidden --discovery-interval.
        var (c, _, e) = await RunAsync("chat", "--discovery-interface", "lo");
        Assert.Equal(2, c);
        Assert.Equal("error: --discovery-interface needs --mdns or --broadcast; see 'p2pnet chat --help'", AssertOneErrorLine(e));
    }

    [Fact]
    public async Task Help_lists_what_each_command_has_and_nothing_else()
    {
        var (code, listen, _) = await RunAsync("listen", "--help");
        Assert.Equal(0, code);
        Assert.DoesNotMatch("--network(?!-name)", listen); // listen has no --network option
        Assert.Contains("--json", listen, StringComparison.Ordinal);
        Assert.Contains("--log-level", listen, StringComparison.Ordinal);
        // Every command that logs takes the level the README's "Logs and JSON" paragraph names.
        foreach (string command in new[] { "share", "get", "perf" })
        {
            var (helpCode, help, _) = await RunAsync(command, "--help");
            Assert.Equal(0, helpCode);
            Assert.Contains("--log-level <level>", help, StringComparison.Ordinal);
        }

        var (_, bootstrap, _) = await RunAsync("bootstrap", "--help");
        foreach (string option in new[] { "--urls <urls>", "--db <file>", "--mode <trustless|authority>", "--key <file>", "--admin-password-hash <hash>", "--Section:Key VALUE", "hash-password" })
            Assert.Contains(option, bootstrap, StringComparison.Ordinal);
        Assert.DoesNotContain("additional arguments", bootstrap, StringComparison.Ordinal);

        var (_, chat, _) = await RunAsync("chat", "--help");
        foreach (string option in new[] { "--bootstrap <url>", "--authority <peerid>", "--must-be-authority", "--name" })
            Assert.Contains(option, chat, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_C_during_the_first_dial_says_interrupted_and_exits_130()
    {
        // A peer that accepts the TCP connection and never answers the handshake: the dial hangs until Ctrl+C.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        int port = ((IPEndPoint)silent.LocalEndpoint).Port;
        using var nobody = Identity.Generate();
        string address = $"/ip4/127.0.0.1/tcp/{port}/p2p/{nobody.PeerId}";
        foreach (string[] args in new[] { new[] { "chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--peer", address }, ["ping", address, "--timeout", "60"] })
        {
            await using var cli = LineProcess.StartCli(args);
            using var accepted = await silent.AcceptTcpClientAsync().WaitAsync(Wait);
            await InterruptAsync(cli);
            Assert.Equal(130, await cli.WaitForExitAsync(Wait));
            Assert.Equal("interrupted", AssertOneErrorLine(cli.StandardError, "interrupted"));
        }
    }

    [Fact]
    public async Task Dialing_yourself_is_refused_before_any_dial()
    {
        using var dir = new TempDir();
        string key = dir.File("self.key");
        await using var listener = LineProcess.StartCli("listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", key);
        var self = PeerId.Parse(await listener.NextLineAsync(Wait));
        var address = Multiaddr.Parse(await listener.ExpectAsync("/ip4/127.0.0.1/tcp/", Wait));

        var (code, _, stderr) = await RunAsync("ping", address.ToString(), "--key", key);
        Assert.Equal(1, code);
        Assert.Equal($"error: cannot connect to yourself ({self})", AssertOneErrorLine(stderr));

        // chat: its own listen address, with or without /p2p/.
        int port = FreePort();
        await using var chat = LineProcess.StartCli("chat", "--listen", $"/ip4/127.0.0.1/tcp/{port}", "--peer", $"/ip4/127.0.0.1/tcp/{port}");
        Assert.Equal(1, await chat.WaitForExitAsync(Wait));
        string line = AssertOneErrorLine(chat.StandardError);
        Assert.Matches(@"^error: cannot connect to yourself \(12D3KooW\w+\)$", line);
        Assert.Contains($"peer id {line["error: cannot connect to yourself (".Length..^1]}", chat.Transcript, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_in_use_names_the_address_in_one_line()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int port = ((IPEndPoint)busy.LocalEndpoint).Port;
        using var dir = new TempDir();
        foreach (string[] args in new[]
                 {
                     new[] { "listen", "--listen", $"/ip4/127.0.0.1/tcp/{port}", "--key", dir.File("k") },
                     ["chat", "--listen", $"/ip4/127.0.0.1/tcp/{port}"],
                 })
        {
            var (code, _, stderr) = await RunAsync(args);
            Assert.Equal(1, code);
            Assert.StartsWith($"error: cannot listen on /ip4/127.0.0.1/tcp/{port}: ", AssertOneErrorLine(stderr), StringComparison.Ordinal);
        }
        var (bootstrapCode, bootstrapOut, bootstrapErr) = await RunAsync("bootstrap", "--urls", $"http://127.0.0.1:{port}", "--db", dir.File("b.db"));
        Assert.Equal(1, bootstrapCode);
        Assert.Contains($"127.0.0.1:{port}", AssertOneErrorLine(bootstrapErr), StringComparison.Ordinal);
        Assert.Equal("", bootstrapOut);
    }
}
