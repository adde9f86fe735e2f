using System.Net;
using System.Text;
using P2PNet.Core;
using P2PNet.Tests.Support;
using static P2PNet.Tests.Cli.CliProcess;

namespace P2PNet.Tests.Cli;

/// <summary><c>p2pnet bootstrap</c> as a process, and <c>chat --bootstrap</c> against it.</summary>
[Collection(nameof(Interop.InteropCollection))]
public sealed class BootstrapCliTests
{
    /// <summary>Starts a trustless server on an ephemeral loopback port; returns it with its base URL.</summary>
    private static async Task<(LineProcess Server, string Url)> StartServerAsync(TempDir dir, params string[] extra)
    {
        var server = LineProcess.StartCli(["bootstrap", "--urls", "http://127.0.0.1:0", "--db", dir.File("bootstrap.db"), .. extra]);
        string line = await server.ExpectAsync("bootstrap server (Trustless) on ", Wait);
        return (server, line["bootstrap server (Trustless) on ".Length..]);
    }

    [Fact]
    public async Task The_server_prints_its_admin_url_answers_HEAD_keeps_its_keys_beside_the_database_and_logs_a_sign_in_as_information()
    {
        using var dir = new TempDir();
        var (server, url) = await StartServerAsync(dir, "--Logging:LogLevel:Default", "Information");
        await using (server)
        {
            Assert.Equal($"admin dashboard {url}admin", await server.ExpectAsync("admin dashboard ", Wait));
            string token = (await server.ExpectAsync("admin sign-in token", Wait)).Split(": ")[1];

            using var http = new HttpClient();
            using (var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, url + "admin")))
            {
                Assert.Equal(HttpStatusCode.OK, head.StatusCode);
                Assert.Equal("text/html; charset=utf-8", head.Content.Headers.ContentType?.ToString());
            }
            using var signIn = new HttpRequestMessage(HttpMethod.Post, url + "admin/api/sign-in")
            {
                Content = new StringContent($$"""{"password":"{{token}}"}""", Encoding.UTF8, "application/json"),
            };
            signIn.Headers.Add("X-P2PNet-Admin", "1");
            using (var answer = await http.SendAsync(signIn)) Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);

            // ASP.NET Core's console logger writes to standard output.
            await Poll.UntilAsync(() => server.Transcript.Contains("Admin sign-in from 127.0.0.1", StringComparison.Ordinal), Wait, "the sign-in log line");
            string log = server.Transcript + server.StandardError;
            Assert.Contains("info: P2PNet.Bootstrap.BootstrapServer[5050]", log, StringComparison.Ordinal);
            Assert.DoesNotContain("(null)", log, StringComparison.Ordinal);
            Assert.DoesNotContain("warn", log, StringComparison.Ordinal); // no "No XML encryptor configured" either
            Assert.NotEmpty(Directory.GetFiles(dir.File("bootstrap.db.keys"), "key-*.xml"));
        }
    }

    [Fact]
    public async Task Three_chats_with_the_same_bootstrap_server_form_a_mesh()
    {
        using var dir = new TempDir();
        var (server, url) = await StartServerAsync(dir);
        await using (server)
        {
            var chats = new List<(LineProcess Chat, PeerId Id)>();
            try
            {
                for (int i = 0; i < 3; i++)
                {
                    var chat = LineProcess.StartCli("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--bootstrap", url, "--name", $"node{i}");
                    var id = PeerId.Parse((await chat.ExpectAsync("peer id ", Wait))["peer id ".Length..]);
                    // Each registers and hears of the ones before it.
                    Assert.Equal($"* bootstrap {url} trustless ({i} peers)", await chat.ExpectAsync("* bootstrap ", Wait));
                    var heard = new HashSet<string>();
                    for (int k = 0; k < i; k++)
                    {
                        string line = await chat.ExpectAsync("* discovered ", Wait);
                        Assert.Matches(@"^\* discovered 12D3KooW\w+ via bootstrap at /ip4/127\.0\.0\.1/tcp/\d+$", line);
                        heard.Add(line.Split(' ')[2]);
                    }
                    Assert.True(heard.SetEquals(chats.Select(c => c.Id.ToString())));
                    await chat.ExpectAsync("type a message", Wait);
                    chats.Add((chat, id));
                }
                // Each has a channel with each other one, whichever side dialed (the lines may come before or after
                // the prompt, so they are looked for in the transcript).
                foreach (var (chat, id) in chats)
                {
                    foreach (var (_, other) in chats.Where(c => c.Id != id))
                    {
                        int index = chats.FindIndex(c => c.Id == other);
                        await Poll.UntilAsync(() => chat.Transcript.Contains($"* connected {other} (node{index})\n", StringComparison.Ordinal), Wait, $"{id} to connect to {other}");
                    }
                }
                await chats[2].Chat.SendAsync("hello mesh");
                foreach (var (chat, _) in chats.Take(2))
                    Assert.Equal($"{chats[2].Id} (node2): hello mesh", await chat.ExpectAsync($"{chats[2].Id}", Wait));
            }
            finally
            {
                foreach (var (chat, _) in chats) await chat.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task An_unreachable_bootstrap_server_is_one_line_and_exit_1()
    {
        int port = FreePort();
        var (code, _, stderr) = await RunAsync("chat", "--listen", "/ip4/127.0.0.1/tcp/0", "--bootstrap", $"http://127.0.0.1:{port}");
        Assert.Equal(1, code);
        Assert.StartsWith($"error: bootstrap: bootstrap server http://127.0.0.1:{port}/ is unreachable", AssertOneErrorLine(stderr), StringComparison.Ordinal);

        var (usage, _, usageErr) = await RunAsync("chat", "--must-be-authority");
        Assert.Equal(2, usage);
        Assert.Equal("error: --authority and --must-be-authority need --bootstrap", AssertOneErrorLine(usageErr));
    }
}
