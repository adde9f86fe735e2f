using P2PNet.Peers;

namespace P2PNet.Sample.Worker;

/// <summary>Logs the channels that open and close and every message that arrives; greets each new peer.</summary>
internal sealed partial class MessageLogger(PeerNetwork network, ILogger<MessageLogger> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var added = System.Threading.Channels.Channel.CreateBounded<PeerChannel>(64);
        void OnAdded(object? sender, PeerChannel channel) => added.Writer.TryWrite(channel);
        void OnRemoved(object? sender, PeerChannel channel) => ChannelClosed(logger, channel.Identifier.ToString());
        void OnMessage(object? sender, PureMessageReceivedEventArgs e) => MessageReceived(logger, e.Sender.ToString(), e.Message);
        network.PeerAdded += OnAdded;
        network.PeerRemoved += OnRemoved;
        network.MessageReceived += OnMessage;
        try
        {
            await foreach (var channel in added.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                ChannelOpened(logger, channel.Identifier.ToString(), channel.Direction.ToString());
                try
                {
                    await channel.SendAsync(new Peers.Packets.PureMessagePacket($"hello from {network.Identifier}"), stoppingToken).ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                    // closed meanwhile
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            network.PeerAdded -= OnAdded;
            network.PeerRemoved -= OnRemoved;
            network.MessageReceived -= OnMessage;
        }
    }

    [LoggerMessage(7410, LogLevel.Information, "channel open with {PeerId} ({Direction})")]
    private static partial void ChannelOpened(ILogger logger, string peerId, string direction);

    [LoggerMessage(7411, LogLevel.Information, "channel closed with {PeerId}")]
    private static partial void ChannelClosed(ILogger logger, string peerId);

    [LoggerMessage(7412, LogLevel.Information, "message from {PeerId}: {Text}")]
    private static partial void MessageReceived(ILogger logger, string peerId, string text);
}
