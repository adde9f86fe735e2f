using System.Net;
using System.Text.Json;
using P2PNet.Bootstrap;
using P2PNet.Core;
using P2PNet.Peers;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Fuzz.Harnesses;

/// <summary>
/// Bootstrap JSON on both sides: the client's <see cref="BootstrapChannel"/> reading a server's answer (through
/// an HTTP handler that returns the fuzz input as the body), and the server reading and validating a registration.
/// </summary>
internal static class BootstrapHarnesses
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    // Not started: the channel only needs its identity, name and peer book. AutoConnectPeers = 0 keeps it from dialing.
    private static readonly PeerNetwork Network = new(new PeerNetworkOptions { NetworkName = "fuzz" });

    private static readonly BootstrapChannelOptions ChannelOptions = new()
    {
        ServerUrl = new Uri("http://bootstrap.invalid/"),
        AutoConnectPeers = 0,
        AdvertisedAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001")],
        HeartbeatInterval = TimeSpan.FromHours(1),
    };

    // input[0] % 5 picks the request: identity, register, peers, my-ip, or identity answered with a 400 and the body.
    // With bit 7 set the rest is the answer's payload JSON, which the harness wraps in an unsigned envelope of the
    // right kind after replacing every "NOW" with the current time: a hostile server sends fresh answers, and the
    // fuzzer could neither guess the clock nor mutate JSON through base64.
    public static async Task ClientAsync(byte[] input)
    {
        if (input.Length == 0) return;
        int request = input[0] % 5;
        byte[] body = (input[0] & 0x80) == 0 ? input[1..] : Wrap(request, input.AsSpan(1));
        using var http = new HttpClient(new AnswerHandler(body, request == 4 ? HttpStatusCode.BadRequest : HttpStatusCode.OK));
        var channel = new BootstrapChannel(Network, ChannelOptions, http);
        await using (channel.ConfigureAwait(false))
        {
            Task call = request switch
            {
                1 => channel.RegisterAsync(),
                2 => channel.RefreshPeersAsync(),
                3 => channel.GetMyIPAsync(),
                _ => channel.GetIdentityAsync(),
            };
            try
            {
                await FuzzFailureException.WithinAsync(call, Limit, "bootstrap client").ConfigureAwait(false);
            }
            catch (BootstrapException)
            {
            }
        }
    }

    private static byte[] Wrap(int request, ReadOnlySpan<byte> payload)
    {
        string now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        string json = System.Text.Encoding.Latin1.GetString(payload).Replace("NOW", now, StringComparison.Ordinal);
        var envelope = new BootstrapEnvelope
        {
            Kind = request switch { 1 => "register", 2 => "peers", 3 => "ip", _ => "identity" },
            Payload = Convert.ToBase64String(System.Text.Encoding.Latin1.GetBytes(json)),
        };
        return JsonSerializer.SerializeToUtf8Bytes(envelope, BootstrapJsonContext.Default.BootstrapEnvelope);
    }

    /// <summary>What the server does with a registration body before it touches its store.</summary>
    public static async Task ServerAsync(byte[] input)
    {
        BootstrapRegistration? registration;
        try
        {
            registration = await JsonSerializer.DeserializeAsync(new MemoryStream(input), BootstrapJsonContext.Default.BootstrapRegistration).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return;
        }
        if (registration is null || PublicEndpoints.Invalid(registration) is not null) return;
        _ = BootstrapSigning.VerifyRegistration(registration);
    }

    private sealed class AnswerHandler(byte[] body, HttpStatusCode status) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            return Task.FromResult(new HttpResponseMessage(status) { Content = content, RequestMessage = request });
        }
    }
}
