using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using P2PNet.Core;
using P2PNet.Muxers.Yamux;
using P2PNet.Negotiation;
using P2PNet.Upgrade;

namespace P2PNet.Swarm;

/// <summary>
/// A secure, multiplexed connection to one authenticated peer. Open streams by protocol id; inbound
/// streams go to the handlers registered on the <see cref="SwarmHost"/>.
/// </summary>
public sealed partial class Connection : IAsyncDisposable
{
    private readonly UpgradedConnection _upgraded;
    private readonly SwarmHost _host;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _closing = new();
    private readonly ConcurrentDictionary<Task, byte> _handlers = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _acceptLoop = Task.CompletedTask;
    private volatile ConnectionRefusal? _refusal;
    private int _disposed;

    internal Connection(UpgradedConnection upgraded, SwarmHost host, ILogger logger)
    {
        _upgraded = upgraded;
        _host = host;
        _logger = logger;
        Info = new ConnectionInfo(upgraded.Transport, upgraded.LocalAddress, upgraded.RemoteAddress,
            upgraded.IsInitiator ? ConnectionDirection.Outbound : ConnectionDirection.Inbound,
            upgraded.SecurityProtocol, upgraded.MuxerProtocol, upgraded.IsLimited);
    }

    /// <summary>What this connection runs over: transport, addresses, direction, security and muxer, limited or not.</summary>
    public ConnectionInfo Info { get; }

    /// <summary>
    /// Set when the remote refused this connection after the handshake and said why; the connection is then
    /// closing, and opening a stream on it throws <see cref="ConnectionRefusedException"/>.
    /// </summary>
    public ConnectionRefusal? Refusal => _refusal;

    // The inbound-connection slot of the remote IP, released on close (null for outbound connections).
    internal ResourceManager.InboundSlot? InboundSlot { get; init; }

    /// <summary>The buffered-bytes account of the connection's streams (yamux only); released when it closes.</summary>
    internal ResourceManager.BufferScope? BufferScope { get; init; }

    /// <summary>The remote PeerId, proven by the Noise handshake.</summary>
    public PeerId RemotePeerId => _upgraded.RemotePeerId;

    /// <summary>The remote identity key.</summary>
    public PublicKey RemotePublicKey => _upgraded.RemotePublicKey;

    /// <summary>Our address on this connection.</summary>
    public Multiaddr LocalAddress => _upgraded.LocalAddress;

    /// <summary>The remote address on this connection (without <c>/p2p/</c>).</summary>
    public Multiaddr RemoteAddress => _upgraded.RemoteAddress;

    /// <summary>
    /// Runs through a relay: limited, or a <c>/p2p-circuit</c> connection even when the relay set no limit (0 =
    /// unlimited). A direct connection is preferred over it, and it is never closed as a duplicate of one.
    /// </summary>
    internal bool IsRelayed => Info.IsLimited || RemoteAddress.IsCircuit;

    /// <summary>
    /// The TCP socket underneath, for inspection (endpoints, options); null on other transports (see
    /// <see cref="Info"/>). Reading, writing or closing it directly bypasses Noise and yamux and breaks the connection.
    /// </summary>
    public System.Net.Sockets.Socket? Socket => _upgraded.Socket;

    /// <summary>Whether we dialed (outbound) or accepted (inbound).</summary>
    public ConnectionDirection Direction => _upgraded.IsInitiator ? ConnectionDirection.Outbound : ConnectionDirection.Inbound;

    /// <summary>Completes once the connection is closed, for whatever reason.</summary>
    public Task Completion => _closed.Task;

    /// <summary>
    /// True until the connection starts closing. False as soon as the muxer session has ended, even while the
    /// connection is still winding down its stream handlers, so that a dial never reuses a dead session.
    /// </summary>
    public bool IsOpen => Volatile.Read(ref _disposed) == 0 && _refusal is null && !_closed.Task.IsCompleted && !_upgraded.Muxer.Completion.IsCompleted;

    /// <summary>Raised once when the connection closes.</summary>
    public event EventHandler? Closed;

    /// <summary>Opens a stream and negotiates <paramref name="protocol"/> on it.</summary>
    public Task<MuxedStream> OpenStreamAsync(string protocol, CancellationToken cancellationToken = default) =>
        OpenStreamAsync([protocol], cancellationToken);

    /// <summary>Opens a stream and negotiates the first of <paramref name="protocols"/> the remote supports.</summary>
    /// <exception cref="ConnectionRefusedException">The remote refused this connection (see <see cref="Refusal"/>).</exception>
    public async Task<MuxedStream> OpenStreamAsync(IReadOnlyList<string> protocols, CancellationToken cancellationToken = default)
    {
        ThrowIfRefused(null);
        ObjectDisposedException.ThrowIf(!IsOpen, this);
        MuxedStream stream;
        try
        {
            stream = await _upgraded.Muxer.OpenStreamAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            ThrowIfRefused(ex);
            throw;
        }
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
            timeout.CancelAfter(_host.Options.StreamNegotiationTimeout);
            stream.Protocol = await MultistreamSelect.SelectAsync(stream, protocols, timeout.Token).ConfigureAwait(false);
            return stream;
        }
        catch (Exception ex)
        {
            stream.Reset();
            await stream.DisposeAsync().ConfigureAwait(false);
            if (!cancellationToken.IsCancellationRequested) ThrowIfRefused(ex);
            // Only the caller's own token surfaces as a cancellation; our limits are I/O failures.
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new P2PNetException(_closing.IsCancellationRequested
                    ? $"the connection to {RemotePeerId} closed while negotiating a stream"
                    : $"stream negotiation with {RemotePeerId} timed out after {_host.Options.StreamNegotiationTimeout.TotalSeconds:0.#} s", ex);
            }
            throw;
        }
    }

    private void ThrowIfRefused(Exception? inner)
    {
        if (_refusal is { } refusal) throw new ConnectionRefusedException(refusal, RemotePeerId, byRemote: true, inner);
    }

    /// <summary>Measures the round trip with a yamux ping (no protocol negotiation involved).</summary>
    public ValueTask<TimeSpan> PingMuxerAsync(CancellationToken cancellationToken = default) => _upgraded.Muxer.PingAsync(cancellationToken);

    internal void Start() => _acceptLoop = AcceptLoopAsync();

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (await _upgraded.Muxer.AcceptStreamAsync(_closing.Token).ConfigureAwait(false) is { } stream)
            {
                var task = ServeStreamAsync(stream);
                _handlers.TryAdd(task, 0);
                _ = task.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _),
                    _handlers, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            SwarmLog.ConnectionFailed(_logger, RemotePeerId, ex.Message);
        }
        finally
        {
            // The muxer has ended (remote close, go-away, protocol violation) or we are closing.
            _ = DisposeAsync().AsTask();
        }
    }

    private async Task ServeStreamAsync(MuxedStream stream)
    {
        await Task.Yield();
        try
        {
            string protocol;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token))
            {
                timeout.CancelAfter(_host.Options.StreamNegotiationTimeout);
                protocol = await MultistreamSelect.ListenAsync(stream, p => p == RefusalProtocol.Id || _host.HasHandler(p, Info.IsLimited), timeout.Token).ConfigureAwait(false);
            }
            stream.Protocol = protocol;
            if (protocol == RefusalProtocol.Id)
            {
                await ReceiveRefusalAsync(stream).ConfigureAwait(false);
                return;
            }
            var handler = _host.GetHandler(protocol);
            if (handler is null)
            {
                stream.Reset();
                return;
            }
            if (!_host.Resources.TryOpenInboundStream(RemotePeerId, protocol))
            {
                SwarmLog.StreamRefused(_logger, RemotePeerId, protocol, "resource limit");
                stream.Reset();
                return;
            }
            try
            {
                await handler(stream, this, _closing.Token).ConfigureAwait(false);
            }
            finally
            {
                _host.Resources.CloseInboundStream(RemotePeerId, protocol);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_closing.IsCancellationRequested)
        {
            SwarmLog.StreamFailed(_logger, RemotePeerId, stream.Protocol ?? "(negotiating)", ex.Message);
            stream.Reset();
        }
        catch (OperationCanceledException)
        {
            stream.Reset();
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ReceiveRefusalAsync(MuxedStream stream)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        timeout.CancelAfter(_host.Options.StreamNegotiationTimeout);
        var refusal = await RefusalProtocol.ReadAsync(stream, timeout.Token).ConfigureAwait(false);
        _refusal = refusal;
        // Rate-limited: a remote minting throwaway keys could otherwise make each of our dials log a line.
        if (_host.Resources.ShouldLog("refused/remote", out _, burst: 10))
            SwarmLog.RefusedByRemote(_logger, RemotePeerId, refusal.Reason, refusal.Message);
        // Close now (not awaited: disposal waits for this handler); the refuser closes its side once we have.
        _ = DisposeAsync().AsTask();
    }

    /// <summary>
    /// Refuses the remote on this live connection, telling it why: sends <paramref name="refusal"/> on a
    /// <c>/p2pnet/refusal/1.0.0</c> stream, waits up to 2 s for the remote to read it and close, then ends the
    /// muxer session. Use it for decisions made after the connection opened (another network, a duplicate, the
    /// application said no); the remote's <see cref="OpenStreamAsync(string, CancellationToken)"/> then fails with
    /// <see cref="ConnectionRefusedException"/>. A peer without the protocol just sees the close. Safe to call from
    /// a stream handler of this connection: it does not wait for the handlers; await <see cref="Completion"/> for that.
    /// </summary>
    public async Task RefuseAsync(ConnectionRefusal refusal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        if (!IsOpen) return;
        // The same rate limit as refusals at admission: a flood of throwaway-key peers must not flood the log.
        if (_host.Resources.ShouldLog("refused/secured", out _, burst: 10))
            SwarmLog.SecuredRefused(_logger, RemotePeerId, Direction, RemoteAddress, refusal.Reason, refusal.Message);
        try
        {
            await RefusalProtocol.SendAsync(_upgraded.Muxer, refusal, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (_host.Resources.ShouldLog("refused/not-sent", out _, burst: 10))
                SwarmLog.RefusalNotSent(_logger, RemotePeerId, ex.Message);
        }
        finally
        {
            // Ending the session ends the accept loop, which disposes the connection once its handlers are done.
            await _upgraded.Muxer.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Closes the connection: ends the yamux session and every stream on it.</summary>
    public ValueTask CloseAsync() => DisposeAsync();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await _closed.Task.ConfigureAwait(false);
            return;
        }
        _host.OnConnectionClosing(this); // no dial may pick it up from here on
        await _closing.CancelAsync().ConfigureAwait(false);
        try
        {
            await _upgraded.Muxer.DisposeAsync().ConfigureAwait(false);
            await _acceptLoop.ConfigureAwait(false);
            await Task.WhenAll(_handlers.Keys).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            SwarmLog.ConnectionFailed(_logger, RemotePeerId, ex.Message);
        }
        finally
        {
            _closing.Dispose();
            _host.OnConnectionClosed(this);
            _closed.TrySetResult();
            Closed?.Invoke(this, EventArgs.Empty);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{RemotePeerId} {Direction} {RemoteAddress}";
}
