using P2PNet.Core;
using P2PNet.Security.Noise;

namespace P2PNet.Tests.Security.Noise;

/// <summary>Test-only: runs both sides of a handshake at once.</summary>
internal static class NoisePair
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static async Task<(NoiseStream Client, NoiseStream Server)> HandshakeAsync(
        Stream clientInner, Stream serverInner, Identity client, Identity server, PeerId? expected = null)
    {
        var serverTask = NoiseHandshake.SecureInboundAsync(serverInner, server);
        var clientTask = NoiseHandshake.SecureOutboundAsync(clientInner, client, expected ?? server.PeerId);
        await Task.WhenAll(serverTask, clientTask).WaitAsync(Timeout);
        return (await clientTask, await serverTask);
    }
}
