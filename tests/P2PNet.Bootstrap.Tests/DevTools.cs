using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace P2PNet.Bootstrap.Tests;

/// <summary>
/// Headless Debian chromium driven over the Chrome DevTools protocol (one page, Runtime.evaluate,
/// Page.captureScreenshot). No browser download: it must be installed (<c>apt-get install -y chromium</c>).
/// </summary>
internal sealed class DevTools : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private readonly Process _process;
    private readonly ClientWebSocket _socket;
    private readonly string _profile;
    private int _nextId;

    private DevTools(Process process, ClientWebSocket socket, string profile)
    {
        _process = process;
        _socket = socket;
        _profile = profile;
    }

    public static async Task<DevTools> LaunchAsync(Uri url)
    {
        Assert.True(File.Exists(ChromiumPath),
            $"{ChromiumPath} is missing: the dashboard test needs Debian chromium (apt-get update && apt-get install -y chromium). It does not skip.");
        string profile = Path.Combine(Path.GetTempPath(), "p2pnet-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var start = new ProcessStartInfo(ChromiumPath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (string arg in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}", "--remote-debugging-port=0",
                     "--window-size=1280,900", url.ToString()])
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Chromium writes its port to DevToolsActivePort in the profile once it listens.
        string portFile = Path.Combine(profile, "DevToolsActivePort");
        await TestServer.UntilAsync(() => File.Exists(portFile) && File.ReadAllLines(portFile).Length >= 2, "chromium's DevToolsActivePort");
        int port = int.Parse(File.ReadAllLines(portFile)[0], System.Globalization.CultureInfo.InvariantCulture);
        using var http = new HttpClient();
        string? pageSocket = null;
        await TestServer.UntilAsync(async () =>
        {
            var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list").WaitAsync(TestServer.Wait))!.AsArray();
            pageSocket = targets.FirstOrDefault(t => (string?)t!["type"] == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
            return pageSocket is not null;
        }, "chromium to open a page target");
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(pageSocket!), CancellationToken.None).WaitAsync(TestServer.Wait);
        return new DevTools(process, socket, profile);
    }

    /// <summary>Sends a command and returns its result (events in between are skipped).</summary>
    public async Task<JsonNode> SendAsync(string method, JsonObject? parameters = null)
    {
        int id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[1 << 16];
        while (true)
        {
            using var text = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await _socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TestServer.Wait);
                text.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);
            var reply = JsonNode.Parse(text.ToArray())!;
            if ((int?)reply["id"] != id) continue;
            if (reply["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return reply["result"]!;
        }
    }

    /// <summary>Evaluates JavaScript in the page and returns its value.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result["exceptionDetails"] is { } exception) throw new InvalidOperationException($"{expression}: {exception.ToJsonString()}");
        return result["result"]?["value"];
    }

    /// <summary>Polls a JavaScript condition until it is true.</summary>
    public Task UntilAsync(string condition) =>
        TestServer.UntilAsync(async () => (await EvaluateAsync($"!!({condition})"))?.GetValue<bool>() == true, "the page condition " + condition);

    public async Task<byte[]> ScreenshotAsync()
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        return Convert.FromBase64String(result["data"]!.GetValue<string>());
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TestServer.Wait);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // chromium may still hold a file for a moment
        }
    }
}
