using System.Globalization;
using P2PNet.Peers;
using P2PNet.Protocols.Transfer;

namespace P2PNet.Cli;

/// <summary>
/// Files in the chat: <c>/send PATH</c> shares a file and offers it on every open channel; an offer that arrives
/// prints <c>* &lt;PeerId&gt; offers &lt;name&gt; (&lt;bytes&gt; bytes): /get &lt;n&gt;</c>; <c>/get N</c> fetches offer N
/// (verified, resumable) into the current folder with a progress line each second.
/// </summary>
internal sealed class ChatFiles
{
    private const int MaxOffers = 1000;

    private readonly PeerNetwork _node;
    private readonly Action<string> _line;
    private readonly Lock _lock = new();
    private readonly List<FileOffer> _offers = [];

    public ChatFiles(PeerNetwork node, Action<string> line)
    {
        _node = node;
        _line = line;
        node.Files.FileOffered += (_, e) =>
        {
            int n;
            lock (_lock)
            {
                if (_offers.Count >= MaxOffers) return;
                _offers.Add(e.Offer);
                n = _offers.Count;
            }
            _line($"* {e.Offer.From} offers {e.Offer.Name} ({e.Offer.Size} bytes): /get {n}");
        };
    }

    /// <summary>Runs /send or /get; false for any other command.</summary>
    public async Task<bool> TryRunAsync(string line, CancellationToken ct)
    {
        string[] parts = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        switch (parts[0])
        {
            case "/send" when parts.Length == 2:
                await SendAsync(parts[1], ct).ConfigureAwait(false);
                return true;
            case "/get" when parts.Length == 2:
                await GetAsync(parts[1], ct).ConfigureAwait(false);
                return true;
            default:
                return false;
        }
    }

    private async Task SendAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            _line($"* no such file: {path}");
            return;
        }
        SharedFile share;
        try
        {
            share = await _node.Files.ShareAsync(path, ct).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            _line($"* cannot share {path}: {ex.Message}");
            return;
        }
        int sent = 0;
        foreach (var channel in _node.ActivePeerChannels)
        {
            try
            {
                await _node.Files.OfferAsync(channel, share.Id, ct).ConfigureAwait(false);
                sent++;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _line($"* cannot offer to {channel.Identifier}: {ex.Message}");
            }
        }
        _line($"* offered {share.Name} ({share.Size} bytes) to {sent} peers");
    }

    private async Task GetAsync(string which, CancellationToken ct)
    {
        FileOffer? offer = null;
        lock (_lock)
        {
            if (int.TryParse(which, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= _offers.Count) offer = _offers[n - 1];
        }
        if (offer is null)
        {
            _line($"* no offer {which}");
            return;
        }
        // The offer's name was checked to be a plain file name, so this stays in the current folder.
        string destination = Path.Combine(Environment.CurrentDirectory, offer.Name);
        long last = 0;
        var progress = new LineProgress(p =>
        {
            long now = Environment.TickCount64;
            if (now - last < 1000) return;
            last = now;
            _line(string.Create(CultureInfo.InvariantCulture, $"* {offer.Name}: {p.BytesVerified}/{p.TotalBytes} bytes, {p.BytesPerSecond / 1e6:0.0} MB/s"));
        });
        try
        {
            var result = await _node.Files.FetchAsync(offer.Id, offer.Size, [offer.From], destination, null, progress, ct).ConfigureAwait(false);
            _line($"* saved {result.Path} {result.Size} bytes {result.Id}");
        }
        catch (Exception ex) when (ex is TransferException or IOException)
        {
            _line($"* cannot get {offer.Name}: {ex.Message}");
        }
    }

    private sealed class LineProgress(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => report(value);
    }
}
