using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace P2PNet.Peers.Bootstrap;

/// <summary>
/// How a node learns its public IPv4 address: from bootstrap servers' <c>/v1/my-ip</c> endpoint (or any URL
/// whose body is a bare address): one URL, URLs with failover, or a consensus over a list.
/// </summary>
public sealed class PublicIPv4GetPolicy
{
    /// <summary>Largest answer read from one URL.</summary>
    public const int MaxAnswerBytes = 4096;

    private PublicIPv4GetPolicy(PublicIPv4GetMode mode, IReadOnlyList<Uri> urls, int quorum)
    {
        if (urls.Count == 0) throw new ArgumentException("at least one URL is needed", nameof(urls));
        if (quorum < 1 || quorum > urls.Count) throw new ArgumentOutOfRangeException(nameof(quorum), quorum, $"quorum must be within 1..{urls.Count}");
        Mode = mode;
        Urls = urls;
        Quorum = quorum;
    }

    /// <summary>How the URLs are used.</summary>
    public PublicIPv4GetMode Mode { get; }

    /// <summary>The URLs, in order.</summary>
    public IReadOnlyList<Uri> Urls { get; }

    /// <summary>How many URLs must agree (consensus); 1 otherwise.</summary>
    public int Quorum { get; }

    /// <summary>Time allowed for each URL. Default 5 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Ask one URL.</summary>
    public static PublicIPv4GetPolicy SingleUrl(Uri url) => new(PublicIPv4GetMode.SingleUrl, [url ?? throw new ArgumentNullException(nameof(url))], 1);

    /// <summary>Ask the URLs in turn until one gives an IPv4 address.</summary>
    public static PublicIPv4GetPolicy Failover(IEnumerable<Uri> urls) => new(PublicIPv4GetMode.Failover, [.. urls], 1);

    /// <summary>Ask every URL; accept the address at least <paramref name="quorum"/> agree on (default: a strict majority).</summary>
    public static PublicIPv4GetPolicy Consensus(IEnumerable<Uri> urls, int? quorum = null)
    {
        Uri[] list = [.. urls];
        return new(PublicIPv4GetMode.Consensus, list, quorum ?? (list.Length / 2) + 1);
    }

    /// <summary>Finds the public IPv4 address under this policy.</summary>
    /// <exception cref="BootstrapException"><see cref="BootstrapError.PublicIPUnavailable"/>: no URL answered, or no quorum.</exception>
    public async Task<IPAddress> GetAsync(HttpClient http, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (Mode != PublicIPv4GetMode.Consensus)
        {
            var failures = new List<string>();
            foreach (var url in Urls)
            {
                try
                {
                    return await AskAsync(http, url, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    failures.Add($"{url}: {ex.Message}");
                }
            }
            throw new BootstrapException(BootstrapError.PublicIPUnavailable, "no public IP source answered: " + string.Join("; ", failures));
        }

        var answers = await Task.WhenAll(Urls.Select(async url =>
        {
            try
            {
                return await AskAsync(http, url, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        })).ConfigureAwait(false);
        var best = answers.OfType<IPAddress>().GroupBy(a => a).OrderByDescending(g => g.Count()).FirstOrDefault();
        if (best is null || best.Count() < Quorum)
            throw new BootstrapException(BootstrapError.PublicIPUnavailable,
                $"no public IPv4 address reached the quorum of {Quorum} out of {Urls.Count} sources (answers: {string.Join(", ", answers.Select(a => a?.ToString() ?? "none"))})");
        return best.Key;
    }

    private async Task<IPAddress> AskAsync(HttpClient http, Uri url, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        byte[] body = await BootstrapAnswers.ReadBoundedAsync(response.Content, MaxAnswerBytes, timeout.Token).ConfigureAwait(false);
        string text = Encoding.UTF8.GetString(body).Trim();
        if (text.StartsWith('{'))
        {
            // A bootstrap server's envelope: the address is inside its payload.
            try
            {
                var envelope = JsonSerializer.Deserialize(body, BootstrapJsonContext.Default.BootstrapEnvelope);
                var answer = envelope is null ? null : JsonSerializer.Deserialize(Convert.FromBase64String(envelope.Payload), BootstrapJsonContext.Default.BootstrapIpAnswer);
                text = answer?.Address ?? "";
            }
            catch (Exception ex) when (ex is JsonException or FormatException)
            {
                throw new BootstrapException(BootstrapError.MalformedAnswer, $"{url} gave malformed JSON", ex);
            }
        }
        if (!IPAddress.TryParse(text, out var address)) throw new BootstrapException(BootstrapError.MalformedAnswer, $"{url} did not give an IP address");
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetwork) throw new BootstrapException(BootstrapError.MalformedAnswer, $"{url} gave {address}, not an IPv4 address");
        return address;
    }
}
