using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Protocols.Transfer;
using P2PNet.Swarm;

namespace P2PNet.Peers;

/// <summary>
/// Files on a <see cref="PeerNetwork"/> (<see cref="PeerNetwork.Files"/>): shares, offers over channels and
/// verified multi-source fetches, all done by <see cref="TransferService"/> on the network's host. By default a
/// share may be fetched by peers whose channel has <see cref="PeerTrustLevel.Enhanced"/> trust; a ticket share
/// (<see cref="ShareWithTicketAsync"/>) also by anyone presenting its secret.
/// </summary>
public sealed class PeerFiles : IDisposable
{
    private const int MaxRememberedOffers = 1024;

    private readonly PeerNetwork _network;
    private readonly ConcurrentDictionary<ContentId, FileOffer> _offers = new();
    private readonly ILogger _logger;

    internal PeerFiles(PeerNetwork network, TransferOptions? options, ILoggerFactory loggerFactory)
    {
        _network = network;
        _logger = loggerFactory.CreateLogger<PeerFiles>();
        Transfer = new TransferService(network.Host, options, loggerFactory)
        {
            Authorize = (peer, _) => network.FindChannel(peer)?.TrustLevel >= PeerTrustLevel.Enhanced,
        };
        network.DataTransmissionReceived += OnDataTransmission;
    }

    /// <summary>The transfer service underneath (shares, limits, raw fetches by connection).</summary>
    public TransferService Transfer { get; }

    /// <summary>Raised for each file offer that arrives on a channel (offers need Enhanced trust, as every DataTransmissionPacket).</summary>
    public event EventHandler<FileOfferedEventArgs>? FileOffered;

    /// <summary>Shares a file with peers whose channel has Enhanced trust; the tree is computed once and stored beside it.</summary>
    public Task<SharedFile> ShareAsync(string path, CancellationToken cancellationToken = default) =>
        Transfer.ShareAsync(path, withSecret: false, null, cancellationToken);

    /// <summary>Shares a file with a random 128-bit secret and returns the ticket (with this node's addresses) that lets anyone fetch it.</summary>
    public async Task<TransferTicket> ShareWithTicketAsync(string path, CancellationToken cancellationToken = default)
    {
        var share = await Transfer.ShareAsync(path, withSecret: true, null, cancellationToken).ConfigureAwait(false);
        return new TransferTicket(share.Id, share.Size, share.Name, share.Secret,
            [.. _network.ListenAddresses.Take(TransferTicket.MaxAddresses).Select(a => a.WithPeerId(_network.Identifier))]);
    }

    /// <summary>Offers a shared file on <paramref name="channel"/> as a DataTransmissionPacket.</summary>
    /// <exception cref="ArgumentException"><paramref name="id"/> is not shared here.</exception>
    public async Task<FileOffer> OfferAsync(PeerChannel channel, ContentId id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(id);
        var share = Transfer.FindShare(id) ?? throw new ArgumentException($"{id} is not shared here; share it first", nameof(id));
        var offer = new FileOffer(_network.Identifier, id, share.Name, share.Size);
        await channel.SendAsync(offer.ToPacket(), cancellationToken).ConfigureAwait(false);
        return offer;
    }

    /// <summary>
    /// Fetches <paramref name="id"/> from the given peers (over their open connections), verified, resumable. The
    /// size comes from an offer received for it or from a share of our own.
    /// </summary>
    /// <exception cref="ArgumentException">Neither an offer nor a share tells the size of <paramref name="id"/>.</exception>
    public Task<FetchResult> FetchAsync(ContentId id, IEnumerable<PeerId> providers, string destination,
        IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        long size = _offers.TryGetValue(id, out var offer) ? offer.Size
            : Transfer.FindShare(id)?.Size ?? throw new ArgumentException($"no offer or share tells the size of {id}", nameof(id));
        return FetchAsync(id, size, providers, destination, FetchOptions.Default, progress, cancellationToken);
    }

    /// <summary>Fetches <paramref name="id"/> of <paramref name="size"/> bytes from the given peers with explicit options (a ticket secret, overwrite).</summary>
    public Task<FetchResult> FetchAsync(ContentId id, long size, IEnumerable<PeerId> providers, string destination,
        FetchOptions? options, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(providers);
        var connections = new List<Connection>();
        foreach (var peer in providers.Distinct())
        {
            var connection = _network.FindChannel(peer)?.Connection is { IsOpen: true } c ? c : _network.Host.FindConnection(peer);
            if (connection is not null) connections.Add(connection);
        }
        return Transfer.FetchAsync(id, size, connections, destination, options, progress, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _network.DataTransmissionReceived -= OnDataTransmission;
        Transfer.Dispose();
    }

    private void OnDataTransmission(object? sender, DataTransmissionReceivedEventArgs e)
    {
        if (!FileOffer.TryFromPacket(e.Channel.Identifier, e.Packet, out var offer)) return;
        if (_offers.Count >= MaxRememberedOffers) _offers.Clear();
        _offers[offer.Id] = offer;
        try
        {
            FileOffered?.Invoke(this, new FileOfferedEventArgs(e.Channel, offer));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A subscriber's bug must not take the channel's receive loop down with it.
            TransferLog.OfferHandlerFailed(_logger, ex);
        }
    }
}
