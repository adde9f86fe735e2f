using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using P2PNet.Core;

namespace P2PNet.Transports.Memory;

/// <summary>
/// An in-process transport for fast, deterministic tests: <c>/memory/ID</c> addresses within one
/// <see cref="MemoryTransportHub"/>. Listening on <c>/memory/0</c> picks a free id. A connection is a pair of
/// bounded pipes (writes wait while the reader lags <see cref="MaxBufferedBytes"/> behind); disposing one end
/// is a close: the other end reads what was sent, then end-of-stream, and its writes fail.
/// </summary>
public sealed class MemoryTransport : ITransport
{
    /// <summary>The transport name in <see cref="TransportConnection.Transport"/>.</summary>
    public const string Name = "memory";

    /// <summary>Bytes a writer may get ahead of the reader before its writes wait.</summary>
    public const int MaxBufferedBytes = 64 * 1024;

    private static readonly PipeOptions PipeOptions = new(
        pauseWriterThreshold: MaxBufferedBytes, resumeWriterThreshold: MaxBufferedBytes / 2, useSynchronizationContext: false);

    private readonly MemoryTransportHub _hub;

    /// <summary>Creates a transport on <paramref name="hub"/>.</summary>
    public MemoryTransport(MemoryTransportHub hub) => _hub = hub ?? throw new ArgumentNullException(nameof(hub));

    /// <summary>Builds <c>/memory/ID</c>.</summary>
    public static Multiaddr Address(ulong id) => Multiaddr.Parse("/memory/" + id.ToString(CultureInfo.InvariantCulture));

    /// <inheritdoc />
    public bool CanHandle(Multiaddr address) => address is not null && IdOf(address) is not null;

    /// <inheritdoc />
    public ValueTask<TransportConnection> DialAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ulong id = IdOf(address) ?? throw new ArgumentException($"not a memory multiaddr: {address}", nameof(address));
        var listener = _hub.Find(id) ?? throw new SocketException((int)SocketError.ConnectionRefused);
        var toListener = new Pipe(PipeOptions);
        var toDialer = new Pipe(PipeOptions);
        var local = Address(_hub.NextId());
        var dialer = new TransportConnection(new MemoryDuplexStream(toDialer.Reader, toListener.Writer), local, listener.ListenAddress) { Transport = Name };
        var accepted = new TransportConnection(new MemoryDuplexStream(toListener.Reader, toDialer.Writer), listener.ListenAddress, local) { Transport = Name };
        if (!listener.TryEnqueue(accepted))
        {
            accepted.Stream.Dispose();
            dialer.Stream.Dispose();
            throw new SocketException((int)SocketError.ConnectionRefused);
        }
        return ValueTask.FromResult(dialer);
    }

    /// <inheritdoc />
    public ValueTask<ITransportListener> ListenAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ulong id = IdOf(address) ?? throw new ArgumentException($"not a memory multiaddr: {address}", nameof(address));
        if (id == 0)
        {
            while (true)
            {
                ulong fresh = _hub.NextId();
                var listener = new MemoryTransportListener(_hub, fresh);
                if (_hub.TryRegister(fresh, listener)) return ValueTask.FromResult<ITransportListener>(listener);
            }
        }
        var fixedListener = new MemoryTransportListener(_hub, id);
        if (!_hub.TryRegister(id, fixedListener)) throw new SocketException((int)SocketError.AddressAlreadyInUse);
        return ValueTask.FromResult<ITransportListener>(fixedListener);
    }

    private static ulong? IdOf(Multiaddr address)
    {
        var components = address.WithoutPeerId().Components;
        return components.Count == 1 && components[0].Protocol == MultiaddrProtocol.Memory
            ? ulong.Parse(components[0].Value, CultureInfo.InvariantCulture)
            : null;
    }
}
