using System.Net.Sockets;
using System.Security.Cryptography;
using P2PNet.Core;
using P2PNet.Swarm;

namespace P2PNet.Protocols.AutoNat;

// The client: one dial request per address and server, and the dial-back handler that checks the nonce.
public sealed partial class AutoNatService
{
    /// <summary>
    /// Asks the AutoNAT server on <paramref name="server"/> to dial us back at <paramref name="address"/>, paying the
    /// dial data it asks for when <see cref="AutoNatOptions.SendDialData"/> allows. Public only when the dial back
    /// delivered our nonce on a connection of the same kind as <paramref name="address"/>; private when the server
    /// reports that its dial failed.
    /// </summary>
    /// <exception cref="AutoNatException">
    /// Declined (rate limit, address refused), DialBackMissing (the server claims success but no nonce came),
    /// DialDataRefused, Timeout, or a malformed answer. None of these says anything about our reachability.
    /// </exception>
    public async Task<AddressReachability> CheckAddressAsync(Connection server, Multiaddr address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(address);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ulong nonce;
        var dialBack = new TaskCompletionSource<Multiaddr>(TaskCreationOptions.RunContinuationsAsynchronously);
        do nonce = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)); while (nonce == 0 || !_pendingNonces.TryAdd(nonce, dialBack));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        timeout.CancelAfter(Options.StreamTimeout);
        var ct = timeout.Token;
        try
        {
            var stream = await server.OpenStreamAsync(AutoNatProtocol.DialRequestId, ct).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                DialResponse response;
                try
                {
                    response = await RequestAsync(stream, address, nonce, ct).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    stream.Reset();
                    throw;
                }
                return await VerdictAsync(response, address, dialBack.Task, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && !_stopping.IsCancellationRequested)
        {
            throw new AutoNatException(AutoNatError.Timeout, $"no answer from {server.RemotePeerId} within {Options.StreamTimeout.TotalSeconds:0.#} s", ex);
        }
        finally
        {
            _pendingNonces.TryRemove(nonce, out _);
        }
    }

    private async Task<DialResponse> RequestAsync(MuxedStream stream, Multiaddr address, ulong nonce, CancellationToken ct)
    {
        await AutoNatProtocol.WriteAsync(stream, new DialRequest([address.WithoutPeerId().ToBytes()], nonce), ct).ConfigureAwait(false);
        var message = await AutoNatProtocol.ReadAsync(stream, ct).ConfigureAwait(false)
            ?? throw new AutoNatException(AutoNatError.Truncated, "the server closed the stream without an answer");
        if (message is DialDataRequest data)
        {
            // Refusing the cost means resetting the stream (the caller does, on the exception).
            if (data.AddrIdx != 0) throw new AutoNatException(AutoNatError.DialDataRefused, $"dial data asked for address {data.AddrIdx}; we sent one");
            if (data.NumBytes > AutoNatProtocol.MaxDialDataBytes)
                throw new AutoNatException(AutoNatError.DialDataRefused, $"{data.NumBytes} bytes of dial data asked; at most {AutoNatProtocol.MaxDialDataBytes} paid");
            if (!Options.SendDialData) throw new AutoNatException(AutoNatError.DialDataRefused, "dial data asked and SendDialData is off");
            await AutoNatProtocol.WriteDialDataAsync(stream, (int)data.NumBytes, ct).ConfigureAwait(false);
            message = await AutoNatProtocol.ReadExpectedAsync<DialResponse>(stream, ct).ConfigureAwait(false);
        }
        if (message is not DialResponse response)
            throw new AutoNatException(AutoNatError.UnexpectedMessage, $"expected a DialResponse or DialDataRequest, got a {message.GetType().Name}");
        await stream.CloseWriteAsync(ct).ConfigureAwait(false);
        return response;
    }

    private async Task<AddressReachability> VerdictAsync(DialResponse response, Multiaddr address, Task<Multiaddr> dialBack, CancellationToken ct)
    {
        if (response.Status != ResponseStatus.Ok)
        {
            string why = response.Status switch
            {
                ResponseStatus.RequestRejected => "rejected the request (rate or resource limit)",
                ResponseStatus.DialRefused => "refused to dial the address",
                ResponseStatus.InternalError => "had an internal error",
                _ => $"answered with unknown status {(uint)response.Status}",
            };
            throw new AutoNatException(AutoNatError.Declined, $"the server {why}");
        }
        if (response.AddrIdx != 0) throw new AutoNatException(AutoNatError.Malformed, $"the server dialed address {response.AddrIdx}; we sent one");
        switch (response.DialStatus)
        {
            case DialStatus.DialError:
                return new AddressReachability(address, Reachability.Private);
            case DialStatus.Ok or DialStatus.DialBackError:
                // The nonce may come a moment after the answer; a dial-back error still counts once our nonce came.
                Multiaddr local;
                using (var wait = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    wait.CancelAfter(Options.DialBackStreamTimeout);
                    try
                    {
                        local = await dialBack.WaitAsync(wait.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
                    {
                        throw new AutoNatException(AutoNatError.DialBackMissing, "the server reports a dial back, but none with our nonce arrived", ex);
                    }
                }
                if (!SameKind(local, address))
                    throw new AutoNatException(AutoNatError.DialBackMissing, $"our nonce arrived on {local}, not an address like {address}");
                return new AddressReachability(address, Reachability.Public);
            default:
                throw new AutoNatException(AutoNatError.Malformed, $"dial status {(uint)response.DialStatus} is not one a server may send");
        }
    }

    // The dial back came in on the transport of the address tested (its IP, behind a NAT, may differ).
    private static bool SameKind(Multiaddr local, Multiaddr tested) =>
        local.ToIPEndPoint() is { } l && tested.ToIPEndPoint() is { } t
        && (l.Address.IsIPv4MappedToIPv6 ? AddressFamily.InterNetwork : l.AddressFamily) == (t.Address.IsIPv4MappedToIPv6 ? AddressFamily.InterNetwork : t.AddressFamily);

    // The dial-back stream: read the nonce, accept it only if a request of ours is waiting for it, answer OK.
    private async Task ReceiveDialBackAsync(MuxedStream stream, Connection connection, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.DialBackStreamTimeout);
        try
        {
            ulong nonce = await AutoNatProtocol.ReadDialBackAsync(stream, timeout.Token).ConfigureAwait(false);
            // A genuine dial back is a connection the server made to one of our listeners: a nonce sent back over a
            // connection we dialed (the request's own, say) proves nothing about our reachability.
            if (connection.Direction != ConnectionDirection.Inbound
                || !_pendingNonces.TryGetValue(nonce, out var waiting) || !waiting.TrySetResult(connection.LocalAddress))
            {
                if (_host.Resources.ShouldLog("autonat/nonce", out _, burst: 10)) AutoNatLog.UnknownNonce(_logger, connection.RemotePeerId);
                stream.Reset();
                return;
            }
            await AutoNatProtocol.WriteDialBackResponseAsync(stream, timeout.Token).ConfigureAwait(false);
            await stream.CloseWriteAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (AutoNatException ex)
        {
            if (_host.Resources.ShouldLog("autonat/bad-dial-back", out _, burst: 10)) AutoNatLog.BadDialBack(_logger, connection.RemotePeerId, ex.Error, ex.Message);
            stream.Reset();
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            stream.Reset();
        }
    }
}
