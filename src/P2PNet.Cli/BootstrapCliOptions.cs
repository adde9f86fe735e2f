using System.CommandLine;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Cli;

/// <summary>
/// <c>chat --bootstrap URL [--authority PEERID] [--must-be-authority]</c>: registers with a bootstrap server through
/// the library's <see cref="BootstrapChannel"/> (register, heartbeat, peer queries, auto-connect) and prints
/// <c>* bootstrap &lt;url&gt; &lt;mode&gt; (&lt;n&gt; peers)</c>, then <c>* discovered &lt;PeerId&gt; via bootstrap at &lt;addr&gt;…</c>
/// once per peer it hears of.
/// </summary>
internal sealed class BootstrapCliOptions
{
    private const int MaxRemembered = 4096;

    private readonly Option<string?> _url = new("--bootstrap")
    {
        HelpName = "url",
        Description = "Register with this bootstrap server (http or https), heartbeat, and connect to the peers it returns",
    };

    private readonly Option<string?> _authority = new("--authority")
    {
        HelpName = "peerid",
        Description = "The bootstrap server must be this authority (signs every answer with this PeerId's key)",
    };

    private readonly Option<bool> _mustBeAuthority = new("--must-be-authority")
    {
        Description = "Refuse a trustless bootstrap server (one that does not sign its answers)",
    };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_url);
        command.Options.Add(_authority);
        command.Options.Add(_mustBeAuthority);
    }

    /// <summary>What was asked for; null without --bootstrap.</summary>
    /// <exception cref="CliException">A malformed URL or PeerId, or --authority/--must-be-authority alone (exit code 2).</exception>
    public Settings? Parse(ParseResult parse)
    {
        string? text = parse.GetValue(_url);
        string? authority = parse.GetValue(_authority);
        bool must = parse.GetValue(_mustBeAuthority);
        if (text is null)
        {
            if (authority is not null || must) throw new CliException("--authority and --must-be-authority need --bootstrap", CliExit.Usage);
            return null;
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            throw new CliException($"--bootstrap '{text}' is not an http or https URL like http://127.0.0.1:5080", CliExit.Usage);
        PeerId? pinned = null;
        if (authority is not null)
        {
            if (!PeerId.TryParse(authority, out var id)) throw new CliException($"--authority '{authority}' is not a PeerId", CliExit.Usage);
            pinned = id;
        }
        return new Settings(text, url, pinned, must || pinned is not null);
    }

    /// <summary>
    /// Connects <paramref name="node"/> to the server and leaves the channel heartbeating; the caller disposes it.
    /// </summary>
    /// <exception cref="CliException">The server is unreachable, refused us, or is not the authority asked for (exit code 1).</exception>
    public static async Task<BootstrapChannel> ConnectAsync(PeerNetwork node, Settings settings, Action<string> line, ILoggerFactory loggers, CancellationToken ct)
    {
        // A pinned authority implies refusing trustless servers: an unsigned answer could not prove it.
        if (settings.MustBeAuthority) node.NetworkTrustPolicy.Bootstrap.MustBeAuthority = true;
        var channel = new BootstrapChannel(node, new BootstrapChannelOptions { ServerUrl = settings.Url, PinnedAuthority = settings.Authority }, loggerFactory: loggers);
        var heard = new HashSet<PeerId>();
        bool announced = false;
        // Raised before the channel dials the peers: the bootstrap line comes first, then what it found.
        channel.PeersReceived += (_, peers) =>
        {
            lock (heard)
            {
                if (!announced)
                {
                    announced = true;
                    string mode = channel.ServerMode == BootstrapMode.Authority ? "authority" : "trustless";
                    line($"* bootstrap {settings.Text} {mode} ({peers.Count} peers)");
                    if (channel.Authority is { } authority) line($"* authority {authority}");
                }
                if (heard.Count >= MaxRemembered) heard.Clear();
                foreach (var peer in peers)
                    if (heard.Add(peer.Identifier)) line($"* discovered {peer.Identifier} via bootstrap at {string.Join(' ', peer.Addresses)}");
            }
        };
        try
        {
            await channel.ConnectAsync(ct).ConfigureAwait(false);
            return channel;
        }
        catch (BootstrapException ex)
        {
            await channel.DisposeAsync().ConfigureAwait(false);
            throw new CliException($"bootstrap: {ex.Message}", CliExit.Failure, ex);
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
        {
            await channel.DisposeAsync().ConfigureAwait(false);
            throw new CliException($"bootstrap: server {settings.Text} did not answer in time", CliExit.Failure, ex);
        }
        catch
        {
            await channel.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The parsed options.</summary>
    /// <param name="Text">The URL as typed (printed back as typed).</param>
    /// <param name="Url">The parsed URL.</param>
    /// <param name="Authority">The pinned authority, if any.</param>
    /// <param name="MustBeAuthority">Refuse trustless servers.</param>
    public sealed record Settings(string Text, Uri Url, PeerId? Authority, bool MustBeAuthority);
}
