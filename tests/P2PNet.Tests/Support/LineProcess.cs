using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace P2PNet.Tests.Support;

/// <summary>
/// A child process driven by lines: standard output lines are queued for <see cref="ExpectAsync"/>,
/// standard error is kept for failure messages. Disposal closes stdin, then kills after a grace period.
/// </summary>
internal sealed class LineProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _transcript = new();
    private readonly StringBuilder _stderr = new();

    private LineProcess(Process process) => _process = process;

    public static LineProcess Start(string fileName, string workingDirectory, params string[] args) => Start(fileName, workingDirectory, args, null);

    private static LineProcess Start(string fileName, string workingDirectory, string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var self = new LineProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) { self._lines.Writer.TryComplete(); return; }
            lock (self._transcript) self._transcript.AppendLine(e.Data);
            self._lines.Writer.TryWrite(e.Data);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (self._stderr) self._stderr.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return self;
    }

    /// <summary>Starts the js-libp2p harness peer (interop/js/peer.mjs).</summary>
    public static LineProcess StartJs(params string[] args) =>
        Start("node", RepoPaths.JsInterop, ["--import", "./polyfill.mjs", "peer.mjs", .. args]);

    /// <summary>Starts another script of the js harness (interop/js/<paramref name="script"/>).</summary>
    public static LineProcess StartJsScript(string script, params string[] args) =>
        Start("node", RepoPaths.JsInterop, ["--import", "./polyfill.mjs", script, .. args]);

    /// <summary>Starts the p2pnet CLI built next to the tests.</summary>
    public static LineProcess StartCli(params string[] args)
    {
        string dll = CliDll();
        return Start("dotnet", Path.GetDirectoryName(dll)!, [dll, .. args]);
    }

    /// <summary>Starts the p2pnet CLI with extra environment variables (a temporary HOME, say).</summary>
    public static LineProcess StartCliWith(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        string dll = CliDll();
        return Start("dotnet", Path.GetDirectoryName(dll)!, [dll, .. args], environment);
    }

    /// <summary>Starts the p2pnet CLI inside the network namespace <paramref name="netns"/> (<c>ip netns exec</c>; needs root).</summary>
    public static LineProcess StartCliIn(string netns, params string[] args)
    {
        string dll = CliDll();
        return Start("ip", Path.GetDirectoryName(dll)!, ["netns", "exec", netns, "dotnet", dll, .. args]);
    }

    private static string CliDll()
    {
        // Built by the solution next to the tests: src/P2PNet.Cli/bin/<Configuration>/<tfm>/P2PNet.Cli.dll.
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string dir = Path.Combine(RepoPaths.Root, "src", "P2PNet.Cli", "bin", tfm.Parent!.Name, tfm.Name);
        string dll = Path.Combine(dir, "P2PNet.Cli.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("build the solution first: P2PNet.Cli.dll not found", dll);
        return dll;
    }

    public int Id => _process.Id;

    public string Transcript { get { lock (_transcript) return _transcript.ToString(); } }

    public string StandardError { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Waits for the next stdout line that starts with <paramref name="prefix"/>, skipping others.</summary>
    public async Task<string> ExpectAsync(string prefix, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        try
        {
            while (await _lines.Reader.WaitToReadAsync(cts.Token))
                while (_lines.Reader.TryRead(out var line))
                    if (line.StartsWith(prefix, StringComparison.Ordinal)) return line;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no line starting with '{prefix}' in time.\nstdout:\n{Transcript}\nstderr:\n{StandardError}");
        }
        throw new InvalidOperationException($"process ended before a line starting with '{prefix}'.\nstdout:\n{Transcript}\nstderr:\n{StandardError}");
    }

    /// <summary>Reads the next stdout line, whatever it is.</summary>
    public async Task<string> NextLineAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        try
        {
            return await _lines.Reader.ReadAsync(cts.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            throw new TimeoutException($"no further line.\nstdout:\n{Transcript}\nstderr:\n{StandardError}", ex);
        }
    }

    /// <summary>Every further stdout line, until the process ends (one consumer; do not mix with <see cref="ExpectAsync"/>).</summary>
    public IAsyncEnumerable<string> LinesAsync(CancellationToken cancellationToken) => _lines.Reader.ReadAllAsync(cancellationToken);

    public async Task SendAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"process did not exit in time.\nstdout:\n{Transcript}\nstderr:\n{StandardError}");
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                try { _process.StandardInput.Close(); } catch (IOException) { }
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                try { await _process.WaitForExitAsync(grace.Token); }
                catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync(); }
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
