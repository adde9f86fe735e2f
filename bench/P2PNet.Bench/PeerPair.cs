using System.Diagnostics;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Packets;

namespace P2PNet.Bench;

/// <summary>
/// Two PeerNetworks on loopback, the sender connected to the receiver by one PeerChannel. The receiver counts
/// packets in <see cref="PeerNetwork.DataReceived"/> (the default handlers stay in place: a replaced handler
/// is given the packet's JSON form, which costs a serialization per packet); while <c>echo</c> is on it
/// answers each PureMessage from its MessageReceived handler.
/// </summary>
internal sealed class PeerPair : IAsyncDisposable
{
    private readonly PeerNetwork _sender;
    private readonly PeerNetwork _receiver;
    private PeerChannel _channel = null!;
    private long _count;
    private long _target = long.MaxValue;
    private TaskCompletionSource _done = new();
    private TaskCompletionSource? _reply;
    private volatile bool _echo;
    private volatile bool _echoUtf8;

    private PeerPair(PeerNetwork sender, PeerNetwork receiver)
    {
        _sender = sender;
        _receiver = receiver;
    }

    /// <summary>The sender's window waits and the receiver's lone acknowledgements so far (both 0 without sessions).</summary>
    public (long WindowWaits, long LoneAcks) AckCounters()
    {
        long lone = 0;
        foreach (var c in _receiver.ActivePeerChannels) lone += c.LoneAcksWritten;
        return (_channel.WindowWaits, lone);
    }

    /// <summary>Lets both channels write replies inline when their muxer is idle, or not (paired comparisons).</summary>
    public void SetInlineWrites(bool on)
    {
        _channel.WritesInline = on;
        foreach (var channel in _receiver.ActivePeerChannels) channel.WritesInline = on;
    }

    public long Dropped => _receiver.ActivePeerChannels.Sum(c => c.PacketsDropped);

    /// <summary>Starts the pair; <paramref name="withoutSessions"/>: both nodes as without sessions (no sequencing, no acknowledgements).</summary>
    public static async Task<PeerPair> StartAsync(bool withoutSessions = false)
    {
        var listen = new[] { Multiaddr.Parse("/ip4/127.0.0.1/tcp/0") };
        var options = new PeerNetworkOptions { ListenAddresses = listen, WithoutSessions = withoutSessions };
        var pair = new PeerPair(new PeerNetwork(options), new PeerNetwork(options));
        // DataTransmission needs Enhanced trust at the receiver.
        pair._receiver.TrustPolicy.AllowEnhancedPacketExchange = true;
        pair._receiver.DataReceived += pair.OnReceived;
        pair._receiver.MessageReceived += pair.OnMessageAtReceiver;
        pair._sender.MessageReceived += (_, _) => pair._reply?.TrySetResult();

        var added = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pair._receiver.PeerAdded += (_, _) => added.TrySetResult();
        await pair._receiver.StartAsync();
        await pair._sender.StartAsync();
        pair._channel = await pair._sender.ConnectAsync(pair._receiver.ListenAddresses[0].WithPeerId(pair._receiver.Identifier));
        await added.Task.WaitAsync(TimeSpan.FromSeconds(10));
        if ((pair._channel.SessionId is null) != withoutSessions) throw new InvalidOperationException("the channel's session is not as asked");
        return pair;
    }

    /// <summary>Sends <paramref name="count"/> copies of the packet; packets/s from the first send until the receiver counted the last.</summary>
    public async Task<double> ThroughputAsync(NetworkPacket packet, int count)
    {
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _count, 0);
        Interlocked.Exchange(ref _target, count);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < count; i++) await _channel.SendAsync(packet);
        await _done.Task.WaitAsync(TimeSpan.FromMinutes(2));
        double seconds = sw.Elapsed.TotalSeconds;
        Interlocked.Exchange(ref _target, long.MaxValue);
        return count / seconds;
    }

    /// <summary>
    /// PureMessage ping-pong: send, await the receiver's reply; round trips in microseconds. <paramref name="utf8"/>: the
    /// receiver echoes the message's UTF-8 bytes (<see cref="PureMessageReceivedEventArgs.Utf8"/>, as a binary user would)
    /// instead of its string, so the row shows the packet layer without a 64 KiB string made and encoded again per hop.
    /// </summary>
    public async Task<double[]> PingPongAsync(string message, int rounds, bool utf8 = false)
    {
        _echo = true;
        _echoUtf8 = utf8;
        var ping = new PureMessagePacket(message);
        var times = new double[rounds];
        try
        {
            for (int i = 0; i < rounds; i++)
            {
                // Continuations run inline (no RunContinuationsAsynchronously), as an awaiting socket read would.
                var reply = new TaskCompletionSource();
                _reply = reply;
                long start = Stopwatch.GetTimestamp();
                await _channel.SendAsync(ping);
                await reply.Task.WaitAsync(TimeSpan.FromSeconds(30));
                times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }
        finally
        {
            _echo = false;
        }
        return times;
    }

    private void OnReceived(object? sender, PacketReceivedEventArgs e)
    {
        if (Interlocked.Increment(ref _count) == Interlocked.Read(ref _target)) _done.TrySetResult();
    }

    private void OnMessageAtReceiver(object? sender, PureMessageReceivedEventArgs e)
    {
        if (!_echo) return;
        var send = e.Channel.SendAsync(_echoUtf8 ? new PureMessagePacket(e.Utf8) : new PureMessagePacket(e.Message));
        if (!send.IsCompletedSuccessfully) _ = send.AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        await _sender.DisposeAsync();
        await _receiver.DisposeAsync();
    }
}
