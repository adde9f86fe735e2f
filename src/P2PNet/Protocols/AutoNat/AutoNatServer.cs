using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Negotiation;
using P2PNet.Swarm;
using P2PNet.Transports.Tcp;
using P2PNet.Upgrade;

namespace P2PNet.Protocols.AutoNat;

/// <summary>
/// The server side of <c>/libp2p/autonat/2/dial-request</c>: rate limits, picks the first address it is willing to
/// dial (a public IP literal with TCP, or one in <see cref="AutoNatOptions.PublicCidrs"/>), asks for 30–100 kB of
/// dial data when that IP is not the one the request came from, dials back and reports. The dial back is a plain TCP
/// dial from a fresh ephemeral port (never the listen port, so it cannot open a NAT mapping by accident), under a
/// separate throwaway identity as go-libp2p does, and must reach the requester's own PeerId: a server cannot be
/// used to probe a third peer. The connection exists only for the nonce and is closed right after.
/// </summary>
internal sealed class AutoNatServer : IDisposable
{
    private readonly SwarmHost _host;
    private readonly AutoNatOptions _options;
    private readonly AddressScope _scope;
    private readonly ILogger _logger;
    private readonly AutoNatRateLimiter _limiter;
    private readonly Identity _dialIdentity = Identity.Generate();
    private readonly Upgrader _upgrader;
    private readonly TcpTransport _transport;

    private readonly AutoNatMetrics _metrics;

    public AutoNatServer(SwarmHost host, AutoNatOptions options, AddressScope scope, ILoggerFactory loggerFactory, AutoNatMetrics metrics)
    {
        _metrics = metrics;
        _host = host;
        _options = options;
        _scope = scope;
        _logger = loggerFactory.CreateLogger<AutoNatService>();
        _limiter = new AutoNatRateLimiter(options);
        // Fresh defaults, not the host's TCP settings: whatever port reuse the host's transport does, this one dials
        // from an ephemeral port.
        _transport = new TcpTransport(new TcpTransportOptions { ConnectTimeout = options.DialBackTimeout });
        _upgrader = new Upgrader(_dialIdentity, null, host.Options.Muxers, host.Options.Upgrade, loggerFactory);
    }

    /// <summary>The PeerId dial backs come from (not the host's).</summary>
    public PeerId DialBackPeerId => _dialIdentity.PeerId;

    public async Task ServeAsync(MuxedStream stream, Connection connection, CancellationToken cancellationToken)
    {
        var peer = connection.RemotePeerId;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StreamTimeout);
        var ct = timeout.Token;
        if (!_limiter.TryAccept(peer))
        {
            AutoNatLog.RequestRejected(_logger, peer, "rate limit");
            _metrics.Served("rejected");
            await RespondAsync(stream, new DialResponse(ResponseStatus.RequestRejected, 0, DialStatus.Unused), ct).ConfigureAwait(false);
            return;
        }
        try
        {
            var request = await AutoNatProtocol.ReadExpectedAsync<DialRequest>(stream, ct).ConfigureAwait(false);
            if (Choose(request) is not var (index, address, endPoint))
            {
                AutoNatLog.DialRefused(_logger, peer, request.Addrs.Count);
                _metrics.Served("refused");
                await RespondAsync(stream, new DialResponse(ResponseStatus.DialRefused, 0, DialStatus.Unused), ct).ConfigureAwait(false);
                return;
            }
            if (NeedsDialData(connection, endPoint.Address))
            {
                if (!_limiter.TryAcceptDialData())
                {
                    AutoNatLog.RequestRejected(_logger, peer, "dial data rate limit");
                    _metrics.Served("rejected");
                    await RespondAsync(stream, new DialResponse(ResponseStatus.RequestRejected, 0, DialStatus.Unused), ct).ConfigureAwait(false);
                    return;
                }
                int bytes = RandomNumberGenerator.GetInt32(AutoNatProtocol.MinDialDataBytes, AutoNatProtocol.MaxDialDataBytes + 1);
                AutoNatLog.DialDataRequested(_logger, peer, bytes, address);
                await AutoNatProtocol.WriteAsync(stream, new DialDataRequest((uint)index, (ulong)bytes), ct).ConfigureAwait(false);
                await AutoNatProtocol.ReadDialDataAsync(stream, bytes, ct).ConfigureAwait(false);
                // Many servers asked at once must not hit one victim together.
                long wait = (long)_options.AmplificationDialDelay.TotalMilliseconds;
                if (wait > 0) await Task.Delay(TimeSpan.FromMilliseconds(RandomNumberGenerator.GetInt32(0, (int)Math.Min(wait, int.MaxValue - 1) + 1)), ct).ConfigureAwait(false);
            }
            var status = await DialBackAsync(peer, address, request.Nonce, ct).ConfigureAwait(false);
            AutoNatLog.DialedBack(_logger, peer, address, status.ToString());
            _metrics.Served(status switch { DialStatus.Ok => "ok", DialStatus.DialError => "dial_error", _ => "dial_back_error" });
            await RespondAsync(stream, new DialResponse(ResponseStatus.Ok, (uint)index, status), ct).ConfigureAwait(false);
        }
        catch (AutoNatException ex)
        {
            Bad(peer, ex.Error, ex.Message);
            stream.Reset();
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Bad(peer, AutoNatError.Timeout, $"not done within {_options.StreamTimeout.TotalSeconds:0.#} s");
            stream.Reset();
        }
        finally
        {
            _limiter.Complete(peer);
        }
    }

    private void Bad(PeerId peer, AutoNatError error, string reason)
    {
        _metrics.Served("bad_request");
        // A peer sending garbage in a loop must not flood the log.
        if (_host.Resources.ShouldLog("autonat/bad-request", out _, burst: 10)) AutoNatLog.BadRequest(_logger, peer, error, reason);
    }

    private static async Task RespondAsync(MuxedStream stream, DialResponse response, CancellationToken ct)
    {
        await AutoNatProtocol.WriteAsync(stream, response, ct).ConfigureAwait(false);
        await stream.CloseWriteAsync(ct).ConfigureAwait(false);
    }

    // The first address we are willing to dial: a parseable public IP literal with TCP, within the first 50.
    private (int Index, Multiaddr Address, IPEndPoint EndPoint)? Choose(DialRequest request)
    {
        for (int i = 0; i < request.Addrs.Count && i < AutoNatProtocol.MaxAddressesInspected; i++)
        {
            Multiaddr address;
            try
            {
                address = Multiaddr.FromBytes(request.Addrs[i]);
            }
            catch (FormatException)
            {
                continue;
            }
            if (_scope.PublicTcpEndPoint(address) is { } endPoint) return (i, address.WithoutPeerId(), endPoint);
        }
        return null;
    }

    // The amplification guard: dialing an IP other than the one the request came from costs the requester dial data.
    // A limited (relayed) connection tells us nothing about the requester's IP.
    private static bool NeedsDialData(Connection connection, IPAddress target)
    {
        if (connection.Info.IsLimited || connection.RemoteAddress.ToIPEndPoint()?.Address is not { } observed) return true;
        if (observed.IsIPv4MappedToIPv6) observed = observed.MapToIPv4();
        if (target.IsIPv4MappedToIPv6) target = target.MapToIPv4();
        return !observed.Equals(target);
    }

    private async Task<DialStatus> DialBackAsync(PeerId peer, Multiaddr address, ulong nonce, CancellationToken cancellationToken)
    {
        // Our own gater has the last word on whom we dial.
        if (_host.Gater is { } gater && !gater.InterceptDial(peer, address)) return DialStatus.DialError;
        UpgradedConnection upgraded;
        using (var dial = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            dial.CancelAfter(_options.DialBackTimeout);
            try
            {
                var raw = await _transport.DialAsync(address, dial.Token).ConfigureAwait(false);
                // The handshake must prove the requester's PeerId, or nothing is sent.
                upgraded = await _upgrader.UpgradeOutboundAsync(raw, peer, dial.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
            {
                return DialStatus.DialError;
            }
        }
        await using (upgraded.Muxer.ConfigureAwait(false))
        {
            using var exchange = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            exchange.CancelAfter(_options.DialBackStreamTimeout);
            try
            {
                var stream = await upgraded.Muxer.OpenStreamAsync(exchange.Token).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    await MultistreamSelect.SelectAsync(stream, [AutoNatProtocol.DialBackId], exchange.Token).ConfigureAwait(false);
                    await AutoNatProtocol.WriteDialBackAsync(stream, nonce, exchange.Token).ConfigureAwait(false);
                    await stream.CloseWriteAsync(exchange.Token).ConfigureAwait(false);
                    // Closing the connection drops what is still queued: wait for the answer (or the end) so the
                    // nonce has surely arrived. Its content does not matter.
                    byte[] one = new byte[1];
                    _ = await stream.ReadAsync(one, exchange.Token).ConfigureAwait(false);
                }
                return DialStatus.Ok;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
            {
                return DialStatus.DialBackError;
            }
        }
    }

    public void Dispose()
    {
        _upgrader.Dispose();
        _dialIdentity.Dispose();
    }
}
